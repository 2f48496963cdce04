import Foundation
import UpshiftSupport

/// A compose deployment as the engine knows it: the labels compose puts on every container it creates.
/// The fleet view starts from these, not from folders on disk, so it finds what actually runs (or ran).
public struct FleetDeployment: Sendable, Hashable {
    public var project: String
    /// `com.docker.compose.project.working_dir`: the project directory on the host compose ran on.
    public var workingDirectory: String
    /// `com.docker.compose.project.config_files`: the `-f` files, comma-separated in the label.
    public var configFiles: [String]
    /// `com.docker.compose.project.environment_file`: the `--env-file`s, when compose recorded them.
    public var environmentFiles: [String]

    public init(project: String, workingDirectory: String, configFiles: [String], environmentFiles: [String] = []) {
        self.project = project
        self.workingDirectory = workingDirectory
        self.configFiles = configFiles
        self.environmentFiles = environmentFiles
    }

    static let projectLabel = "com.docker.compose.project"
    static let labels = [projectLabel, projectLabel + ".working_dir", projectLabel + ".config_files", projectLabel + ".environment_file"]

    /// `docker ps -a` of every container compose labelled, one tab-separated line of labels each.
    static let listCommand = Command(
        "docker",
        ["ps", "-a", "--no-trunc", "--filter", "label=\(projectLabel)", "--format", labels.map { "{{.Label \"\($0)\"}}" }.joined(separator: "\t")],
        timeout: .seconds(30))

    /// One deployment per project name, sorted by name; a project whose containers disagree about their
    /// directory (two checkouts under one name) keeps the first one listed.
    static func parse(_ text: String) -> [FleetDeployment] {
        var byName: [String: FleetDeployment] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let project = fields.first, !project.isEmpty, byName[project] == nil else { continue }
            func list(_ index: Int) -> [String] {
                guard index < fields.count else { return [] }
                return fields[index].split(separator: ",").map(String.init).filter { !$0.isEmpty }
            }
            byName[project] = FleetDeployment(
                project: project, workingDirectory: fields.count > 1 ? fields[1] : "", configFiles: list(2), environmentFiles: list(3))
        }
        return byName.values.sorted { $0.project < $1.project }
    }
}
