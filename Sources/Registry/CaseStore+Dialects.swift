import Classification
import Foundation
import Storage

/// Statements that differ by dialect because one dialect can do in one round trip what the other
/// does in several. SQLite runs in-process (a statement costs no round trip); PostgreSQL is a
/// server, and every write of every instance waits behind the writers' lock, so a case created
/// in one statement instead of four is what lets several instances keep up with one SQLite file.
extension CaseStore {
    /// PostgreSQL: the next change number, the case and its audit entry in one statement
    /// (data-modifying CTEs), which the group commit sends with the rest of its batch and the
    /// COMMIT in one round trip (`Database.rowLockedGroupedWrite(statement:)`). A case that
    /// exists already is left alone (`ON CONFLICT DO NOTHING`: no error, so no savepoint is
    /// needed to undo one) and the statement changes no row; a create of the same key by another
    /// instance that has not committed yet makes this one wait for it and then do nothing the
    /// same way. The existing case is then read, committed, to report its id as SQLite's path
    /// does; if it was erased meanwhile, the create is tried again. The data version moves at
    /// COMMIT (`nextChangeSequence`).
    func createInOneStatement(_ prepared: PreparedCase, site: String, keyID: String?, at: String) throws -> StoredCase {
        var attempts = 0
        while true {
            attempts += 1
            let id = Self.newCaseID()
            let inserted = try database.rowLockedGroupedWrite(
                statement: Self.createCaseWithAuditSQL,
                [id, site, prepared.externalID, at, at, prepared.dataText, prepared.classificationText,
                 ClassificationEngine.version] + prepared.indexedValues + [keyID, at, prepared.creationPathsJSON],
                beforeCommit: Self.bumpDataVersionSQL)
            if inserted == 1 {
                return StoredCase(
                    id: id, site: site, externalID: prepared.externalID, version: 1, createdAt: at, updatedAt: at,
                    data: prepared.data, classification: prepared.classificationJSON, engineVersion: ClassificationEngine.version,
                    serialized: prepared.serialized)
            }
            let existingID = try database.read { connection in
                try connection.queryOne(
                    "SELECT id FROM cases WHERE site = ? AND external_id = ?", [site, prepared.externalID]) { $0.string(0) }
            }
            if let existingID { throw RegistryError.duplicate(externalID: prepared.externalID, caseID: existingID) }
            // Erased between this create's statement and the read: the key is free again.
            guard attempts < 5 else {
                throw DatabaseError(postgres: "40001", message: "the case was created and erased repeatedly meanwhile")
            }
        }
    }

    /// SQLite: the case first, its change number read in the same statement, and a taken
    /// (site, external id) left to the unique index (`ON CONFLICT DO NOTHING`): one statement
    /// where a read of the existing case, the insert and a read of the new data version were three,
    /// on the writer every write waits for. A taken key inserts nothing and changes nothing (so
    /// the batch needs no undo, see `GroupCommitQueue.commitWithoutSavepoints`); the existing
    /// case's id is then read, in this transaction, for the 409. The data version moves with the
    /// case (`nextChangeSequence`: the change number is the new data version).
    static func createInsertingFirst(
        _ prepared: PreparedCase, site: String, keyID: String?, at: String, connection: Connection
    ) throws -> StoredCase {
        let id = newCaseID()
        let inserted = try connection.run(
            createCaseInsertingFirstSQL,
            [id, site, prepared.externalID, at, at, prepared.dataText, prepared.classificationText, ClassificationEngine.version]
                + prepared.indexedValues)
        guard inserted == 1 else {
            let existingID = try connection.queryOne(
                "SELECT id FROM cases WHERE site = ? AND external_id = ?", [site, prepared.externalID]) { $0.string(0) }
            guard let existingID else {
                throw DatabaseError(resultCode: 19, message: "a case was not inserted and no case holds its key")
            }
            throw RegistryError.duplicate(externalID: prepared.externalID, caseID: existingID)
        }
        try connection.run(bumpSQLiteDataVersionSQL)
        try audit(
            connection, site: site, externalID: prepared.externalID, caseID: id, action: "create", keyID: keyID, at: at,
            version: 1, pathsJSON: prepared.creationPathsJSON)
        return StoredCase(
            id: id, site: site, externalID: prepared.externalID, version: 1, createdAt: at, updatedAt: at, data: prepared.data,
            classification: prepared.classificationJSON, engineVersion: ClassificationEngine.version,
            serialized: prepared.serialized)
    }

    /// One row when the case was created, none when (site, external_id) is taken. Its change number
    /// is the data version plus one, as `nextChangeSequence` hands out; the bump follows it.
    static let createCaseInsertingFirstSQL = """
        INSERT INTO cases (id, site, external_id, version, change_seq, created_at, updated_at, data, classification,
            engine_version, \(PreparedCase.indexedColumns.joined(separator: ", ")))
        VALUES (?, ?, ?, 1, (SELECT CAST(value AS BIGINT) + 1 FROM registry_meta WHERE key = 'data_version'), ?, ?, ?, ?, ?,
            \(PreparedCase.indexedColumns.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT (site, external_id) DO NOTHING
        """

    /// PostgreSQL: a PUT that found no case and lost the race to create it (another instance
    /// inserted the same (site, external id) and committed first) is undone to a savepoint and
    /// run again: it now finds the case, locked, and replaces it, as it would have one moment later.
    static func upsertRetryingCreateRace(
        _ prepared: PreparedCase, site: String, ifMatch: VersionRequirement?, keyID: String?, at: String, connection: Connection
    ) throws -> (StoredCase, WriteResult) {
        try connection.control(["SAVEPOINT upsert_case"])
        do {
            let result = try upsert(prepared, site: site, ifMatch: ifMatch, keyID: keyID, at: at, connection: connection)
            try connection.control(["RELEASE upsert_case"])
            return result
        } catch let error as DatabaseError where error.isUniqueConstraintViolation {
            try connection.control(["ROLLBACK TO upsert_case", "RELEASE upsert_case"])
            return try upsert(prepared, site: site, ifMatch: ifMatch, keyID: keyID, at: at, connection: connection)
        }
    }

    /// One row changed when the case was created (its audit entry), none when (site, external_id) is taken.
    static let createCaseWithAuditSQL = """
        WITH inserted AS (
            INSERT INTO cases (id, site, external_id, version, change_seq, created_at, updated_at, data, classification,
                engine_version, \(PreparedCase.indexedColumns.joined(separator: ", ")))
            VALUES (?, ?, ?, 1, nextval('cases_change_seq'), ?, ?, ?, ?, ?, \(PreparedCase.indexedColumns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT (site, external_id) DO NOTHING
            RETURNING id, site, external_id
        )
        INSERT INTO audit_log (site, external_id, case_id, action, key_id, at, version, changed_paths)
        SELECT site, external_id, id, 'create', ?, ?, 1, ? FROM inserted
        """
}
