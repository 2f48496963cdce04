import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftPlans
import UpshiftSupport

/// What the import steps share: the checked context, the run folder and the host file to copy in.
public struct RecordsImportWorld: Sendable {
    public var context: RecordsImportContext
    public var runFolder: RunFolder
    /// The UTF-8 export file on the host that is copied into the target.
    public var hostFile: String

    public init(context: RecordsImportContext, runFolder: RunFolder, hostFile: String) {
        self.context = context
        self.runFolder = runFolder
        self.hostFile = hostFile
    }

    var target: InvenTreeEndpoint { context.target }
    var redactor: Redactor { target.redactor }

    /// The undo of anything that changed the target's database: stop its application, restore upshift's dump.
    func restoreSpec() throws -> CompensationSpec {
        try RestoreDumpCompensator.spec(RestoreDumpPayload(
            handle: target.handle, service: target.database.service, applicationServices: target.appServices,
            dumpPath: context.dumpPath, readyTimeout: context.readyTimeout))
    }
}
