import Classification
import Foundation
import Storage

/// Statements that differ by dialect because one dialect can do in one round trip what the other
/// does in several. SQLite runs in-process (a statement costs no round trip); PostgreSQL is a
/// server, and every write of every instance waits behind the writers' lock, so a case created
/// in one statement instead of four is what lets several instances keep up with one SQLite file.
extension CaseStore {
    /// PostgreSQL: the next change number, the case and its audit entry in one statement
    /// (data-modifying CTEs). A case that exists already is found by the unique key on
    /// (site, external_id), undone to the savepoint, and reported as SQLite's path reports it;
    /// a create of the same key by another instance that has not committed yet makes this one
    /// wait for it and then fail the same way. The data version moves at COMMIT (`nextChangeSequence`).
    static func createInOneStatement(
        _ prepared: PreparedCase, site: String, keyID: String?, at: String, connection: Connection
    ) throws -> StoredCase {
        let id = newCaseID()
        try connection.control(["SAVEPOINT create_case"])
        do {
            try connection.run(
                createCaseWithAuditSQL,
                [id, site, prepared.externalID, at, at, prepared.dataText, prepared.classificationText,
                 ClassificationEngine.version] + prepared.indexedValues
                    + [site, prepared.externalID, id, keyID, at, prepared.creationPathsJSON])
        } catch let error as DatabaseError where error.isUniqueConstraintViolation {
            try connection.control(["ROLLBACK TO create_case", "RELEASE create_case"])
            if let existing = try existing(connection, site: site, externalID: prepared.externalID) {
                throw RegistryError.duplicate(externalID: prepared.externalID, caseID: existing.id)
            }
            throw error
        }
        try connection.control(["RELEASE create_case"])
        connection.runBeforeCommit(bumpDataVersionSQL)
        return StoredCase(
            id: id, site: site, externalID: prepared.externalID, version: 1, createdAt: at, updatedAt: at, data: prepared.data,
            classification: prepared.classificationJSON, engineVersion: ClassificationEngine.version)
    }

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

    static let createCaseWithAuditSQL = """
        WITH change AS (
            SELECT nextval('cases_change_seq') AS seq
        ), inserted AS (
            INSERT INTO cases (id, site, external_id, version, change_seq, created_at, updated_at, data, classification,
                engine_version, \(PreparedCase.indexedColumns.joined(separator: ", ")))
            VALUES (?, ?, ?, 1, (SELECT seq FROM change), ?, ?, ?, ?, ?, \(PreparedCase.indexedColumns.map { _ in "?" }.joined(separator: ", ")))
        )
        INSERT INTO audit_log (site, external_id, case_id, action, key_id, at, version, changed_paths)
        VALUES (?, ?, ?, 'create', ?, ?, 1, ?)
        """
}
