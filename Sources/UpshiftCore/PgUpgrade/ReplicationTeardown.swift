import Foundation
import UpshiftPlans
import UpshiftPostgres
import UpshiftSupport

/// The SQL that creates and removes what the logical replica needs, in one place so that the staging, the
/// window and the undo name exactly the same objects: the run's publications and slots on the serving
/// cluster, its subscriptions on the replica.
enum ReplicationTeardown {
    /// The replica's system identifier, noted as soon as it exists: a table copy's slot is named after it
    /// (`pg_<subscription>_sync_<table>_<identifier>`) and outlives a killed run.
    static func identifierPath(_ folder: RunFolder) -> String { identifierPath(folderPath: folder.path) }
    static func identifierPath(folderPath: String) -> String { folderPath + "/subscriber-identifier.json" }

    /// Notes the replica's system identifier (a private file, as every file of the run folder).
    static func saveIdentifier(_ identifier: String, folderPath: String) throws {
        try PrivateJSON.write(["systemIdentifier": identifier], to: identifierPath(folderPath: folderPath))
    }

    /// The noted identifier, if any.
    static func identifier(folderPath: String) -> String? {
        guard let data = FileManager.default.contents(atPath: identifierPath(folderPath: folderPath)),
              let object = try? JSONDecoder().decode([String: String].self, from: data) else { return nil }
        return object["systemIdentifier"]
    }

    /// The run's publications of `database` on the serving cluster.
    static func publicationNames(_ database: LogicalSources.Database, runID: RunID) -> [String] {
        (database.replicated.isEmpty ? [] : [SubscriberServer.objectName(runID)]) + (database.insertOnly.isEmpty ? [] : [SubscriberServer.insertOnlyName(runID)])
    }

    static func publicationStatements(_ database: LogicalSources.Database, runID: RunID) -> [String] {
        var out: [String] = []
        if !database.replicated.isEmpty {
            out.append("CREATE PUBLICATION \(SubscriberServer.objectName(runID)) FOR TABLE " + database.replicated.map(\.sql).joined(separator: ", "))
        }
        if !database.insertOnly.isEmpty {
            out.append("CREATE PUBLICATION \(SubscriberServer.insertOnlyName(runID)) FOR TABLE " + database.insertOnly.map(\.sql).joined(separator: ", ") + " WITH (publish = 'insert')")
        }
        return out
    }

    /// The replica's subscription to `database`: the serving server on 127.0.0.1 of the shared network
    /// namespace, no password in the connection string (libpq takes `PGPASSWORD` from the server's
    /// environment), the slot named by upshift.
    ///
    /// `existingSlot`: the slot was created before the replica's contents were fixed (`PromoteAtSlotsStep`),
    /// so nothing is copied and the subscription starts disabled, to be pointed at the slot's start first
    /// (`startAtSlotStatements`).
    static func subscriptionStatement(_ database: LogicalSources.Database, runID: RunID, slot: String, superuser: String, existingSlot: Bool = false) -> String {
        let conninfo = "host=127.0.0.1 port=5432 user=\(StandbyServer.conninfoValue(superuser)) dbname=\(StandbyServer.conninfoValue(database.name)) application_name=upshift_replica"
        let options = existingSlot ? ", create_slot = false, copy_data = false, enabled = false" : ""
        return "CREATE SUBSCRIPTION \(SubscriberServer.objectName(runID)) CONNECTION \(literal(conninfo)) PUBLICATION "
            + publicationNames(database, runID: runID).joined(separator: ", ") + " WITH (slot_name = \(literal(slot))\(options))"
    }

    /// Points the run's disabled subscription at `lsn` and enables it: its origin (`pg_<oid>`, as the apply
    /// worker names it) asks the slot for what committed from `lsn` on, as `pg_createsubscriber` does.
    static func startAtSlotStatements(runID: RunID, lsn: String) -> [String] {
        let name = literal(SubscriberServer.objectName(runID))
        return [
            "SELECT pg_replication_origin_advance('pg_' || oid, \(literal(lsn))::pg_lsn) FROM pg_subscription WHERE subname = \(name) AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            "ALTER SUBSCRIPTION \(SubscriberServer.objectName(runID)) ENABLE",
        ]
    }

    /// The physical slot that keeps the serving cluster's WAL while the standby is stopped and started
    /// again to be promoted at the logical slots' start.
    static func standbySlotName(_ runID: RunID) -> String { SubscriberServer.objectName(runID) + "_standby" }

    /// Ends the replica's subscription without reaching the serving server (its slot is dropped there by
    /// `sourceCleanup`); the apply worker exits, which also flushes its table counters.
    static func dropSubscriptionStatements(runID: RunID) -> [String] {
        let name = SubscriberServer.objectName(runID)
        return ["ALTER SUBSCRIPTION \(name) DISABLE", "ALTER SUBSCRIPTION \(name) SET (slot_name = NONE)", "DROP SUBSCRIPTION \(name)"]
    }

    /// On the serving cluster, in any database: ends the walsenders of the run's slots (and of the table
    /// copies' slots named after the replica), waits for them, drops the slots.
    static func dropSlotsSQL(slots: [String], identifier: String?) -> String {
        let names = slots.map(literal).joined(separator: ", ")
        var match = "slot_name = ANY (ARRAY[\(names.isEmpty ? "NULL" : names)]::text[])"
        if let identifier, !identifier.isEmpty, identifier.allSatisfy(\.isNumber) {
            match += " OR (slot_name LIKE 'pg\\_%\\_sync\\_%' AND slot_name LIKE \(literal("%\\_" + identifier)))"
        }
        return """
            DO $upshift$
            DECLARE s record;
            BEGIN
              FOR s IN SELECT slot_name FROM pg_replication_slots WHERE \(match) LOOP
                FOR i IN 1..1000 LOOP
                  EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_replication_slots r WHERE r.slot_name = s.slot_name AND r.active_pid IS NOT NULL);
                  PERFORM pg_terminate_backend(r.active_pid) FROM pg_replication_slots r WHERE r.slot_name = s.slot_name AND r.active_pid IS NOT NULL;
                  PERFORM pg_sleep(0.01);
                END LOOP;
                PERFORM pg_drop_replication_slot(s.slot_name);
              END LOOP;
            END
            $upshift$
            """
    }

    /// In each database of the serving cluster: the run's publications.
    static func dropPublicationsSQL(runID: RunID) -> String {
        "DROP PUBLICATION IF EXISTS \(SubscriberServer.objectName(runID)), \(SubscriberServer.insertOnlyName(runID))"
    }

    /// Keeps the server's notices ("created replication slot", "does not exist, skipping") off upshift's
    /// output: libpq prints them to stderr.
    static let quiet = "SET client_min_messages = warning"

    /// A SQL string literal.
    static func literal(_ text: String) -> String { quoteLiteral(text) }

    /// Removes the run's slots and publications from the serving cluster through libpq (the window).
    static func cleanSource(_ server: ConnectionParameters, runID: RunID, slots: [String], identifier: String?, databases: [String]) async throws {
        let slotsSQL = dropSlotsSQL(slots: slots, identifier: identifier)
        let publications = dropPublicationsSQL(runID: runID)
        // The slots and each database's publications at once: independent, and in the window.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Blocking.run { () throws in _ = try Connection(server).execute(slotsSQL) } }
            for name in databases {
                let target = server.with(database: name)
                group.addTask {
                    try await Blocking.run { () throws in
                        let conn = try Connection(target)
                        _ = try conn.execute(quiet)
                        _ = try conn.execute(publications)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
