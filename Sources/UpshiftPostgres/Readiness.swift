import CLibPQ
import Foundation

/// What `PQpingParams` says about a server, without authenticating.
public enum PingStatus: String, Sendable, Hashable, Codable {
    /// Accepting connections.
    case ok
    /// Up but refusing (starting up, shutting down, in crash recovery).
    case rejecting
    /// No answer (not started, wrong host/port, firewall).
    case noResponse
    /// libpq did not even try: the parameters are invalid.
    case noAttempt
}

extension Connection {
    /// Pings the server once (blocking, bounded by `connectTimeout`).
    public static func ping(_ parameters: ConnectionParameters) -> PingStatus {
        let pairs = parameters.keywordValues
        let status = withCStringArrays(pairs.map(\.0), pairs.map(\.1)) { keys, values in
            PQpingParams(keys, values, 0)
        }
        switch status {
        case PQPING_OK: return .ok
        case PQPING_REJECT: return .rejecting
        case PQPING_NO_RESPONSE: return .noResponse
        default: return .noAttempt
        }
    }

    /// Polls `PQping` until the server accepts connections or `deadline` passes.
    ///
    /// Used after `compose up` of a new major: the container runs long before the server accepts
    /// connections (initdb, recovery). Each ping runs off the cooperative pool because it blocks.
    public static func waitUntilReady(
        _ parameters: ConnectionParameters,
        deadline: ContinuousClock.Instant,
        interval: Duration = .milliseconds(100)
    ) async throws -> Void {
        var probe = parameters
        probe.connectTimeout = max(2, min(parameters.connectTimeout, 5))
        var last = PingStatus.noResponse
        while true {
            let sendable = probe
            last = await Blocking.run { Connection.ping(sendable) }
            switch last {
            case .ok: return
            case .noAttempt:
                throw PostgresError(.invalidParameters, "libpq refused the connection parameters for \(parameters)")
            case .rejecting, .noResponse: break
            }
            if ContinuousClock.now >= deadline {
                throw PostgresError(.notReady, "\(parameters.host):\(parameters.port) not ready before the deadline (last ping: \(last.rawValue))")
            }
            try await Task.sleep(for: interval)
        }
    }
}

/// Runs blocking libpq work on its own thread, so a slow server never ties up the cooperative pool.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
