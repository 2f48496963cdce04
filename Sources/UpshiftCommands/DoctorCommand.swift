import ArgumentParser
import Foundation
import UpshiftCompose
import UpshiftCore
import UpshiftSupport

extension Upshift {
    /// `upshift doctor`: every preflight check of pg-upgrade and update, read-only, one line each.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check whether the deployment is ready for pg-upgrade and update, changing nothing.",
            discussion: """
                Runs every preflight check read-only and prints one line per check: PASS, INFO, WARN, FAIL or SKIP, \
                what was found, and how to fix it. Nothing is changed: no container is recreated, no file edited, \
                no image pulled (the target image is looked up with docker image inspect / docker manifest inspect).

                Exit codes: 0 nothing failed, 1 at least one check failed, 64 usage, 69 docker/compose unavailable.

                Examples:
                  upshift doctor
                  upshift doctor --to 17 -C /srv/inventree
                  upshift doctor --json | jq '.checks[] | select(.status == "fail")'
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("to"), help: "The PostgreSQL major to check an upgrade to (default: the latest, \(DatabaseService.latestMajor)).")
        var targetMajor: Int?

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            let interactive = OutputStyle.redrawOnStandardError() && !json
            let doctor = UpshiftCore.Doctor(
                options: global.composeOptions, targetMajor: targetMajor, runner: try await global.runner(),
                progress: { message in
                    guard interactive else { return }
                    FileHandle.standardError.write(Data("\u{1B}[2K\r… \(message)".utf8))
                })
            let report = try await doctor.run()
            if interactive { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
            print(json ? try DoctorRenderer.json(report) : DoctorRenderer.text(report, color: DoctorRenderer.useColor()))
            let code = report.exitCode
            if code != .ok {
                fflush(nil)
                Foundation.exit(code.rawValue)
            }
        }
    }
}

/// Text and JSON renderings of `DoctorReport`.
enum DoctorRenderer {
    static func json(_ report: DoctorReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    /// Colour only on a terminal and when NO_COLOR is unset (https://no-color.org).
    static func useColor(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        OutputStyle.colorOnStandardOutput(environment: environment)
    }

    static func text(_ report: DoctorReport, color: Bool) -> String {
        var out: [String] = []
        if let project = report.project {
            out.append("upshift doctor: project \(project) (\(report.directory ?? "?")), checks for pg-upgrade --to \(report.targetMajor) and update")
        } else {
            out.append("upshift doctor: \(report.directory ?? "?")")
        }
        out.append("")
        let width = (report.checks.map(\.id.count).max() ?? 0) + 2
        for check in report.checks {
            let label = check.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)
            out.append("\(paint(label, check.status, color))  \(check.id.padding(toLength: width, withPad: " ", startingAt: 0))\(check.found)")
            if let fix = check.fix, check.status != .pass {
                out.append(String(repeating: " ", count: 6 + width) + "fix: \(fix)")
            }
        }
        out.append("")
        let counts = report.counts
        let summary = DoctorCheck.Status.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }.joined(separator: ", ")
        if report.unavailable {
            out.append("docker or compose is unavailable: fix that first (\(summary))")
        } else if report.failed {
            out.append("NOT READY: \(counts[.fail] ?? 0) check(s) failed (\(summary)); pg-upgrade/update would refuse or break")
        } else {
            out.append("ready: nothing failed (\(summary))")
        }
        return out.joined(separator: "\n")
    }

    static func paint(_ text: String, _ status: DoctorCheck.Status, _ color: Bool) -> String {
        guard color else { return text }
        let code: String
        switch status {
        case .pass: code = "32"
        case .info: code = "36"
        case .warn: code = "33"
        case .fail: code = "31;1"
        case .skip: code = "2"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
