import UpshiftSupport

extension CommandResult {
    /// Details for a `command.finished` record: the redacted shell-like rendering, the argv words, the
    /// termination, duration and the last stderr lines. Environment values are never included, only the
    /// names of the variables that were set or unset.
    public func auditDetails(redactor: Redactor, stderrLines: Int = 20) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "command": .string(command.rendered(redactor: redactor, includeEnvironment: false)),
            "argv": .array(command.argv.map { .string(redactor.redact($0)) }),
            "seconds": .number(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18),
            "timed_out": .bool(timedOut),
        ]
        switch termination {
        case .exited(let code): details["exit"] = .number(Double(code))
        case .signaled(let signal): details["signal"] = .number(Double(signal))
        }
        if let dir = command.workingDirectory { details["cwd"] = .string(redactor.redact(dir)) }
        if !command.environment.isEmpty { details["env_set"] = .array(command.environment.keys.sorted().map { .string($0) }) }
        if !command.unsetEnvironment.isEmpty { details["env_unset"] = .array(command.unsetEnvironment.sorted().map { .string($0) }) }
        let tail = stderrText.split(whereSeparator: \.isNewline).suffix(stderrLines).map { redactor.redact(String($0)) }
        if !tail.isEmpty { details["stderr_tail"] = .string(tail.joined(separator: "\n")) }
        return details
    }
}
