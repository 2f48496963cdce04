import Foundation
import Synchronization
import Testing
@testable import UpshiftSupport
import UpshiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Real subprocesses through `LiveCommandRunner`. Serialized: the memory test reads this process's
/// high-water mark.
@Suite(.serialized)
struct ProcessRunnerTests {
    let runner = LiveCommandRunner(terminationGrace: .milliseconds(500))

    private func tempDir(_ name: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("upshift-proc-\(name.filter(\.isLetter))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Every run's pipes are closed when it returns. They used to stay open until Foundation let go of the
    /// Process, and the end-to-end suite (thousands of commands in one process) crossed fd 1024, where
    /// Foundation's select(2) corrupted memory. Other suites run in parallel, so the bound is generous; a
    /// leak would add two descriptors per run (400 here).
    @Test func runsLeaveNoDescriptorOpen() async throws {
        func open() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }
        _ = try await runner.run(Command("true", []))
        let before = open()
        for _ in 0..<200 {
            _ = try await runner.run(Command("sh", ["-c", "echo out; echo err >&2"]))
        }
        let after = open()
        #expect(after - before < 60, "open descriptors \(before) -> \(after) after 200 runs")
    }

    @Test func bigStdoutAndStderrAtOnceDoNotDeadlock() async throws {
        let cmd = Command("sh", ["-c", "seq 1 500000 >&2; seq 1 1000000"], timeout: .seconds(60))
        let result = try await runner.run(cmd)
        #expect(result.termination == .exited(0))
        #expect(result.timedOut == false)
        #expect(result.standardOutput.count == 6_888_896)
        #expect(result.standardError.count == 3_388_895)
        #expect(result.stdoutText.hasSuffix("999999\n1000000\n"))
    }

    @Test func streamsFiftyMegabytesToAFileWithoutHoldingThem() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("dump.bin").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let before = Self.highWaterMarkKiB()
        let result = try await runner.run(Command("head", ["-c", "52428800", "/dev/urandom"]), stdout: .file(handle), onLine: nil)
        try handle.close()
        let after = Self.highWaterMarkKiB()
        #expect(result.termination == .exited(0))
        #expect(result.standardOutput.isEmpty)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 52_428_800)
        // The data went child -> file directly; the process high-water mark must not grow by the dump size.
        #expect(after - before < 20 * 1024, "high-water mark grew by \(after - before) KiB")
    }

    @Test func lineCallbackSeesEveryLineOfBothStreams() async throws {
        let counts = Mutex<(out: Int, err: Int, last: String)>((0, 0, ""))
        let cmd = Command("sh", ["-c", "seq 1 200000; echo oops >&2; printf 'no newline' >&2"])
        let result = try await runner.run(cmd, stdout: .discard) { line in
            counts.withLock {
                switch line.stream {
                case .stdout: $0.out += 1
                case .stderr: $0.err += 1; $0.last = line.text
                }
            }
        }
        #expect(result.termination == .exited(0))
        #expect(result.standardOutput.isEmpty)
        let c = counts.withLock { $0 }
        #expect(c.out == 200_000)
        #expect(c.err == 2)
        #expect(c.last == "no newline")
    }

    @Test func timeoutTerminatesTheChild() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await runner.run(Command("sleep", ["30"], timeout: .milliseconds(300)))
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(clock.now - start < .seconds(5))
        #expect(throws: CommandFailure.self) { try result.check() }
    }

    @Test func timeoutKillsAChildThatIgnoresSIGTERM() async throws {
        // The shell ignores TERM and its `sleep` grandchild keeps the pipes open after the shell dies.
        let cmd = Command("sh", ["-c", "trap '' TERM; echo ready; sleep 30; echo never"], timeout: .milliseconds(300))
        // A drain far longer than timeout + grace (0.8 s), so that the bound below tells the two apart on a
        // loaded machine.
        let runner = LiveCommandRunner(terminationGrace: .milliseconds(500), drainAfterExit: .seconds(20))
        let start = ContinuousClock.now
        let result = try await runner.run(cmd)
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGKILL))
        #expect(result.stdoutText == "ready\n")
        // The grandchild went with the process group, so the pipes closed without waiting out drainAfterExit.
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func reportsSignaledTermination() async throws {
        let result = try await runner.run(Command("sh", ["-c", "kill -KILL $$"]))
        #expect(result.termination == .signaled(SIGKILL))
        #expect(!result.termination.isSuccess)
    }

    @Test func nonZeroExitIsAResult() async throws {
        let result = try await runner.run(Command("sh", ["-c", "exit 7"]))
        #expect(result.termination == .exited(7))
    }

    @Test func environmentOverridesUnsetsAndPWD() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cmd = Command(
            "sh", ["-c", "printf '%s|%s|%s|%s' \"$UPSHIFT_T\" \"$PWD\" \"$(pwd -P)\" \"${HOME-unset}\""],
            environment: ["UPSHIFT_T": "a b$c"], unsetEnvironment: ["HOME"], workingDirectory: dir.path
        )
        let result = try await runner.check(cmd)
        let resolved = dir.resolvingSymlinksInPath().path
        #expect(result.stdoutText == "a b$c|\(dir.path)|\(resolved)|unset")
        let env = LiveCommandRunner.environment(for: cmd, inherited: ["HOME": "/root", "PATH": "/bin", "PWD": "/elsewhere"])
        #expect(env == ["PATH": "/bin", "UPSHIFT_T": "a b$c", "PWD": dir.path])
    }

    /// Children start with default signal handling: nothing blocked or ignored that upshift (or the Swift
    /// concurrency thread that spawned them) blocks or ignores.
    @Test func childrenGetDefaultSignalDispositions() async throws {
        let result = try await runner.check(Command("grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"]))
        var masks: [String: UInt64] = [:]
        for line in result.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            masks[parts[0]] = UInt64(parts[1], radix: 16)
        }
        for sig in [SIGINT, SIGTERM, SIGPIPE] {
            let bit = UInt64(1) << UInt64(sig - 1)
            #expect(try #require(masks["SigBlk"]) & bit == 0, "signal \(sig) blocked in the child")
            #expect(try #require(masks["SigIgn"]) & bit == 0, "signal \(sig) ignored in the child")
        }
    }

    @Test func stdinDataIsFedAndClosed() async throws {
        let input = Data((0..<300_000).map { "line \($0)\n" }.joined().utf8)
        let result = try await runner.check(Command("cat", standardInput: input))
        #expect(result.standardOutput == input)
        let empty = try await runner.check(Command("cat"))
        #expect(empty.standardOutput.isEmpty)  // /dev/null, not the test's own stdin
    }

    @Test func stdinToAChildThatDoesNotReadDoesNotKillUpshift() async throws {
        let input = Data(count: 4 << 20)
        let result = try await runner.run(Command("true", standardInput: input))
        #expect(result.termination == .exited(0))
    }

    @Test func missingExecutableAndDirectoryAreLaunchFailures() async throws {
        await #expect(throws: CommandLaunchFailure.self) { try await runner.run(Command("upshift-no-such-tool-\(UUID().uuidString)")) }
        await #expect(throws: CommandLaunchFailure.self) { try await runner.run(Command("true", workingDirectory: "/nonexistent-\(UUID().uuidString)")) }
        let abs = try await runner.run(Command("/bin/sh", ["-c", "exit 0"]))
        #expect(abs.termination == .exited(0))
    }

    @Test func checkMasksSecretsAndShowsStderrTail() async throws {
        let secret = "s3cret-\(UUID().uuidString.prefix(8))"
        let script = "for i in $(seq 1 30); do echo \"line $i\" >&2; done; echo \"auth failed for $1\" >&2; exit 3"
        let cmd = Command("sh", ["-c", script, "sh", secret, "it's"], environment: ["PGPASSWORD": secret])
        let redactor = Redactor(secrets: [secret])
        do {
            try await runner.check(cmd, redactor: redactor)
            Issue.record("check did not throw")
        } catch let failure as CommandFailure {
            let text = failure.description
            #expect(!text.contains(secret))
            #expect(text.hasPrefix("exited(3): sh -c "))
            #expect(text.contains("'******' 'it'\\''s'"))
            #expect(text.contains("    auth failed for ******"))
            #expect(text.contains("line 30"))
            #expect(!text.contains("line 10\n"))
            #expect(failure.stderrTail.count == CommandFailure.tailLineCount)
        }
        let rendered = cmd.rendered(redactor: redactor)
        #expect(!rendered.contains(secret))
        #expect(rendered.hasPrefix("env 'PGPASSWORD=******' sh -c"))
    }

    /// Forwarding logic on a private registry, so children of other suites running in parallel are untouched.
    @Test func forwardsSIGINTToTheRunningChild() async throws {
        let registry = ChildProcessRegistry()
        let runner = LiveCommandRunner(terminationGrace: .milliseconds(500), registry: registry)
        let seen = Mutex<[Int32]>([])
        let observer = registry.addObserver { sig in seen.withLock { $0.append(sig) } }
        defer { registry.removeObserver(observer) }
        let task = Task { try await runner.run(Command("sleep", ["30"])) }
        let deadline = ContinuousClock.now + .seconds(10)
        while registry.runningPIDs.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try #require(!registry.runningPIDs.isEmpty)
        registry.forward(SIGINT)
        do {
            _ = try await task.value
            Issue.record("an interrupted command must throw")
        } catch let interrupted as CommandInterrupted {
            #expect(interrupted.signal == SIGINT)
            #expect(interrupted.termination == .signaled(SIGINT))
        }
        #expect(seen.withLock { $0 } == [SIGINT])
        #expect(registry.runningPIDs.isEmpty)
    }

    /// The real path (signal handler, self-pipe, forwarding thread) in a separate process: this test binary
    /// re-run with only `signalForwardingHelper` enabled, then sent a real SIGINT.
    @Test func aRealSIGINTReachesTheChildOfAnotherUpshiftProcess() async throws {
        let registry = ChildProcessRegistry()
        let runner = LiveCommandRunner(terminationGrace: .milliseconds(500), registry: registry)
        let ready = Mutex(false)
        let helper = Command(CommandLine.arguments[0], ["--testing-library", "swift-testing", "--filter", "signalForwardingHelper"],
                             environment: ["UPSHIFT_SIGNAL_HELPER": "1"], timeout: .seconds(60))
        let task = Task {
            try await runner.run(helper, stdout: .capture) { line in
                if line.text.contains("HELPER ready") { ready.withLock { $0 = true } }
            }
        }
        let deadline = ContinuousClock.now + .seconds(45)
        while !ready.withLock({ $0 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let pid = try #require(registry.runningPIDs.first)
        try #require(ready.withLock { $0 })
        kill(pid, SIGINT)
        let result = try await task.value
        #expect(result.stdoutText.contains("HELPER interrupted signal=2 termination=signaled(2)"), "\(result.stdoutText)\n\(result.stderrText)")
        #expect(result.termination == .exited(0), "\(result.stdoutText)\n\(result.stderrText)")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["UPSHIFT_SIGNAL_HELPER"] != nil))
    func signalForwardingHelper() async throws {
        let registry = ChildProcessRegistry.shared
        let task = Task { try await LiveCommandRunner().run(Command("sleep", ["30"])) }
        while registry.runningPIDs.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        print("HELPER ready")
        do {
            _ = try await task.value
            Issue.record("not interrupted")
        } catch let interrupted as CommandInterrupted {
            print("HELPER interrupted signal=\(interrupted.signal) termination=\(interrupted.termination)")
        }
    }

    @Test func cancellationTerminatesTheChild() async throws {
        let registry = ChildProcessRegistry()
        let runner = LiveCommandRunner(terminationGrace: .milliseconds(500), registry: registry)
        let start = ContinuousClock.now
        let task = Task { try await runner.run(Command("sleep", ["30"])) }
        let deadline = ContinuousClock.now + .seconds(10)
        while registry.runningPIDs.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let pid = try #require(registry.runningPIDs.first)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(kill(pid, 0) != 0 || Self.isZombie(pid), "the cancelled child must be gone")
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    static func highWaterMarkKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
}

struct ShellQuoteTests {
    @Test(arguments: [
        ("plain-word_1.2/x:y@z", "plain-word_1.2/x:y@z"),
        ("", "''"),
        ("a b", "'a b'"),
        ("it's", "'it'\\''s'"),
        ("$HOME", "'$HOME'"),
        ("a\nb", "'a\nb'"),
    ])
    func quotesWords(input: String, expected: String) {
        #expect(ShellQuote.quote(input) == expected)
    }

    @Test func rendersCommandsWithSecretsMasked() {
        let cmd = Command("docker", ["compose", "-f", "/srv/my app/compose.yml", "exec", "-e", "PW=hunter22", "db"],
                          environment: ["POSTGRES_PASSWORD": "other", "LANG": "C"], workingDirectory: "/srv/my app")
        let text = cmd.rendered(redactor: Redactor(secrets: ["hunter22"]))
        #expect(text == "cd '/srv/my app' && env LANG=C 'POSTGRES_PASSWORD=******' docker compose -f '/srv/my app/compose.yml' exec -e 'PW=******' db")
    }
}

struct RecordingRunnerTests {
    @Test func recordsAndAnswersByLongestRecentPrefix() async throws {
        let fake = RecordingRunner()
        fake.stub(["docker", "compose"], stdout: "generic")
        fake.stub(["docker", "compose", "up"], exit: 1, stderr: "port is already allocated", times: 1)
        let up1 = try await fake.run(Command("docker", ["compose", "up", "-d"]))
        let up2 = try await fake.run(Command("docker", ["compose", "up", "-d"]))
        let other = try await fake.run(Command("pg_dump"))
        #expect(up1.termination == .exited(1))
        #expect(up1.stderrText == "port is already allocated")
        #expect(up2.stdoutText == "generic")
        #expect(other.termination == .exited(0))
        #expect(fake.argvs == [["docker", "compose", "up", "-d"], ["docker", "compose", "up", "-d"], ["pg_dump"]])
    }
}
