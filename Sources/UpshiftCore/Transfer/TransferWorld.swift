import Foundation
import UpshiftApps
import UpshiftPlans
import UpshiftSupport

/// What the transfer steps share.
public struct TransferWorld: Sendable {
    public var context: TransferContext
    /// The run folder, in the target project (the side that changes).
    public var runFolder: RunFolder

    public init(context: TransferContext, runFolder: RunFolder) {
        self.context = context
        self.runFolder = runFolder
    }

    public var exportPath: String { runFolder.path + "/export.json" }
    public var mediaArchivePath: String { runFolder.path + "/media-source.tar" }
    public var mediaSnapshotPath: String { runFolder.path + "/media-target-before.tar" }
    public var mediaHashesPath: String { runFolder.path + "/media-source.sha256" }

    /// The import half as known at plan time (the file's counts come from the export step).
    var planningImportWorld: RecordsImportWorld {
        RecordsImportWorld(context: context.importContext(file: RecordsFile(metadata: nil, counts: [:], invalidEntries: 0, bytes: 0), path: exportPath),
                           runFolder: runFolder, hostFile: exportPath)
    }

    /// The import half with the real export file.
    func importWorld() throws -> RecordsImportWorld {
        let (file, _) = try RecordsFile.read(path: exportPath)
        return RecordsImportWorld(context: context.importContext(file: file, path: exportPath), runFolder: runFolder, hostFile: exportPath)
    }
}
