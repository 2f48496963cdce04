import Foundation
import Synchronization
import UpshiftSupport

#if canImport(Glibc)
import Glibc
#endif

/// A listener on this host's 127.0.0.1 that carries every libpq connection into the database service's
/// container on the docker engine, through `docker exec -i` (bash's `/dev/tcp`, or busybox `nc`, to the
/// server's 127.0.0.1:5432 inside the container).
///
/// Why: with a remote engine (`DOCKER_HOST=tcp://…`, `ssh://…`, a context) neither the containers' addresses
/// nor ports published on the engine's loopback are reachable from here, and publishing the database on the
/// engine host's network would let other clients in during the window. `docker exec` reaches the container
/// wherever the engine is, over the same channel every other docker call uses, and needs nothing installed on
/// the engine's host. The container is looked up for each connection, so the tunnel follows the service
/// across the window's stop, recreate and image switch. Each connection costs one `docker exec` (~0.1 s):
/// fine for the handful of connections a run opens, not for a connection pool.
public final class DatabaseTunnel: @unchecked Sendable {
    /// The local port libpq connects to (127.0.0.1).
    public let port: Int
    private let project: String
    private let service: String
    private let engine: DockerEngine
    private let docker: String
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var stopped = false
        var children: [Int32: Process] = [:]
        var nextID: Int32 = 0
    }

    /// The relay inside the container: a fixed script, no data in it (the port is 5432 inside the container).
    /// - `dd` copies each read as it comes (no `iflag=fullblock`), so a protocol message is passed on at once;
    ///   busybox `cat` lost the server's replies behind `docker exec` in about half of the tries, `dd` in none.
    /// - Whichever direction ends first (the client left, the server closed) ends the other, so a client that
    ///   leaves without a goodbye (`PQping`) does not hold a server session open.
    /// - Every child is reaped by this shell before it exits. An orphan would be adopted by the container's
    ///   PID 1, which is the postmaster, and a reaped stranger that died of a signal makes the postmaster
    ///   restart every backend as after a crash (seen with `kill $!; exit`: "server process … was terminated by
    ///   signal 15", then crash recovery).
    /// The postgres images have bash and coreutils (Debian) or busybox `nc` (Alpine, one process).
    static let relayScript = """
        if command -v bash >/dev/null 2>&1; then
          exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432 || exit 1; exec 4<&0; dd <&4 >&3 bs=65536 status=none 2>/dev/null & dd <&3 bs=65536 status=none & wait -n; kill $(jobs -pr) 2>/dev/null; wait; exit 0'
        fi
        exec nc 127.0.0.1 5432
        """

    /// Starts listening on 127.0.0.1:`port`; connections are relayed until `stop()`.
    /// - Parameters:
    ///   - project: the compose project name (the `com.docker.compose.project` label).
    ///   - service: the database service (its non-one-off container is the target).
    ///   - engine: the engine every `docker` child must reach, as the run's other children do.
    public init(port: Int, project: String, service: String, engine: DockerEngine, docker: String = "docker") throws {
        self.port = port
        self.project = project
        self.service = service
        self.engine = engine
        self.docker = ExecutableLocator.locate(docker, path: ProcessInfo.processInfo.environment["PATH"]) ?? docker
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UpshiftError("cannot open a socket for the database tunnel") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw UpshiftError(
                "cannot listen on 127.0.0.1:\(port) for the tunnel to the database on the remote engine: \(reason)",
                hint: "free that port on this machine (another upshift run, a local server) and run the command again")
        }
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "upshift-tunnel-\(port)"
        thread.start()
    }

    /// Closes the listener and ends every relayed connection.
    public func stop() {
        let children = state.withLock { state -> [Process]? in
            guard !state.stopped else { return nil }
            state.stopped = true
            return Array(state.children.values)
        }
        // Once only: a second close could hit a descriptor the process has reused since.
        guard let children else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for child in children where child.isRunning { child.terminate() }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if state.withLock({ $0.stopped }) {
                close(client)
                return
            }
            let thread = Thread { [self] in relay(client) }
            thread.start()
        }
    }

    /// The container serving the service now, or nil.
    private func currentContainer() -> String? {
        let args = ["ps", "-q", "--no-trunc"] + ContainerState.labelFilters(project: project, service: service) + ["--filter", "status=running"]
        guard let output = try? runToEnd(args) else { return nil }
        return output.split(whereSeparator: \.isNewline).first.map(String.init)
    }

    private func process(_ args: [String]) -> Process {
        let command = engine.applied(to: Command(docker, args))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        var environment = ProcessInfo.processInfo.environment
        for name in command.unsetEnvironment { environment[name] = nil }
        environment.merge(command.environment) { _, new in new }
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        return process
    }

    private func runToEnd(_ args: [String]) throws -> String {
        let child = process(args)
        let out = Pipe()
        child.standardOutput = out
        child.standardInput = FileHandle.nullDevice
        try child.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0 else { throw UpshiftError("docker ps failed") }
        return String(decoding: data, as: UTF8.self)
    }

    private func relay(_ client: Int32) {
        Self.blockSIGPIPE()
        guard let container = currentContainer() else {
            close(client)
            return
        }
        let child = process(["exec", "-i", container, "sh", "-c", Self.relayScript])
        let input = Pipe()
        let output = Pipe()
        child.standardInput = input
        child.standardOutput = output
        do { try child.run() } catch {
            close(client)
            return
        }
        let id = state.withLock { state -> Int32 in
            state.nextID += 1
            state.children[state.nextID] = child
            return state.nextID
        }
        let upstreamDone = DispatchSemaphore(value: 0)
        let upstream = Thread {
            // client -> container; EOF from the client closes the container's stdin.
            Self.blockSIGPIPE()
            Self.pump(from: client, to: input.fileHandleForWriting.fileDescriptor, socket: false)
            try? input.fileHandleForWriting.close()
            upstreamDone.signal()
        }
        upstream.start()
        // container -> client; EOF from the container ends the client's connection.
        Self.pump(from: output.fileHandleForReading.fileDescriptor, to: client, socket: true)
        shutdown(client, Int32(SHUT_RDWR))
        upstreamDone.wait()
        if child.isRunning { child.terminate() }
        child.waitUntilExit()
        close(client)
        state.withLock { _ = $0.children.removeValue(forKey: id) }
    }

    /// Copies until EOF or an error on either side.
    private static func pump(from source: Int32, to target: Int32, socket: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0, writeAll(target, buffer, n, socket: socket) else { return }
        }
    }

    /// A peer that went away gives EPIPE on this thread instead of killing upshift.
    private static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int, socket: Bool) -> Bool {
        var offset = 0
        while offset < count {
            let n = buffer.withUnsafeBytes {
                socket ? send(fd, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) : write(fd, $0.baseAddress! + offset, count - offset)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
