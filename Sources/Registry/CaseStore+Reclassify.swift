import Foundation
import Classification
import JSON
import Storage

/// Reclassification of stored cases when the classification engine changes.
extension CaseStore {
    /// Recomputes the classification of every case stored by another engine version
    /// (run at start and by `icmm reclassify`). Returns how many were updated and how many no
    /// longer pass validation (those keep their old classification and are counted, not changed).
    public func reclassifyStale(keyID: String? = nil) throws -> (updated: Int, failed: Int) {
        var updated = 0
        var failed = 0
        let at = Timestamp.string(now())
        while true {
            let pending = try database.read { connection in
                try connection.query(
                    """
                    SELECT row_id, site, external_id, id, version, data, classification FROM cases
                    WHERE engine_version NOT IN (?, ?) ORDER BY row_id LIMIT 500
                    """,
                    [ClassificationEngine.version, Self.unvalidatedEngineVersion]
                ) { row in
                    (row.int64(0), row.string(1), row.string(2), row.string(3), row.int(4), row.string(5), row.string(6))
                }
            }
            if pending.isEmpty { break }
            try database.write { connection in
                try connection.transaction {
                    for (rowID, site, externalID, id, version, dataText, oldClassification) in pending {
                        guard let json = try? JSONValue.parse(dataText), let prepared = try? prepare(json, refusingDotOnlyIDs: false) else {
                            failed += 1
                            // Mark it as seen by this engine (so it is not retried forever); the old classification stays.
                            try connection.run(
                                "UPDATE cases SET engine_version = ? WHERE row_id = ?", [Self.unvalidatedEngineVersion, rowID])
                            continue
                        }
                        let sequence = try Self.nextChangeSequence(connection)
                        try connection.run(
                            "UPDATE cases SET version = ?, change_seq = ?, updated_at = ?, classification = ?, engine_version = ?, \(PreparedCase.indexedColumns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE row_id = ?",
                            [version + 1, sequence, at, prepared.classificationJSON.serializedString(), ClassificationEngine.version]
                                + prepared.indexedValues + [rowID])
                        let paths = ((try? JSONValue.parse(oldClassification)) ?? .null)
                            .changedPaths(to: prepared.classificationJSON, at: JSONPointer(["classification"]))
                        try Self.audit(
                            connection, site: site, externalID: externalID, caseID: id, action: "reclassify", keyID: keyID, at: at,
                            version: version + 1, paths: paths)
                        updated += 1
                    }
                }
            }
        }
        return (updated, failed)
    }

    /// Marks a case whose stored data no longer passes the current validator: it keeps the
    /// classification of the engine that accepted it, and a clinician must look at it.
    static var unvalidatedEngineVersion: String { ClassificationEngine.version + "+unvalidated" }
}
