import Classification
import JSON
import Storage

public enum ImportMode: String, Sendable, CaseIterable {
    /// Every record must be new to the site.
    case create
    /// New records are created, existing ones replaced (or left unchanged when identical).
    case upsert
}

/// The outcome of an import (or of its dry run).
public struct ImportSummary: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public let externalID: String
        public let id: String?
        public let result: WriteResult
    }

    public let dryRun: Bool
    public let mode: ImportMode
    public let items: [Item]

    public func count(_ result: WriteResult) -> Int { items.filter { $0.result == result }.count }

    public func toJSON() -> JSONValue {
        [
            "dry_run": .bool(dryRun), "mode": .string(mode.rawValue),
            "created": .number(Double(count(.created))), "updated": .number(Double(count(.updated))),
            "unchanged": .number(Double(count(.unchanged))),
            "ids": .array(
                items.map {
                    ["external_id": .string($0.externalID), "id": $0.id.map(JSONValue.string) ?? .null,
                     "result": .string($0.result.rawValue)]
                }),
        ]
    }
}

/// One record of an import: parsed JSON, or the reason it could not be parsed.
public enum ImportRecord: Sendable {
    case json(JSONValue)
    case unparsable

    /// Splits NDJSON into records, one per non-blank line (CRLF accepted); a line that is not JSON
    /// is a failing record, so that its index is reported like any other invalid record.
    public static func ndjson(_ body: [UInt8]) -> [ImportRecord] {
        body.split(separator: 0x0A, omittingEmptySubsequences: true).compactMap { line -> ImportRecord? in
            var slice = line[...]
            while let last = slice.last, last == 0x0D || last == 0x20 || last == 0x09 { slice = slice.dropLast() }
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
            if let value = try? JSONValue.parse(Array(slice)) { return .json(value) }
            return .unparsable
        }
    }
}

extension CaseStore {
    /// Validates every record first; if any fails, nothing is stored and every failing record is
    /// listed. Otherwise all are stored in one transaction (or, for a dry run, only counted).
    public func importCases(
        _ records: [ImportRecord], site: String, mode: ImportMode, dryRun: Bool, keyID: String?
    ) throws -> ImportSummary {
        var prepared: [PreparedCase] = []
        prepared.reserveCapacity(records.count)
        var failures: [ImportRecordErrors] = []
        var seen: [String: Int] = [:]
        for (index, record) in records.enumerated() {
            guard case .json(let json) = record else {
                failures.append(
                    ImportRecordErrors(
                        index: index, externalID: nil,
                        errors: [.registry("", code: .invalidType, "must be one JSON object (the line is not valid JSON)")]))
                continue
            }
            let externalID = json["external_id"]?.stringValue.flatMap { Self.isValidExternalID($0) ? $0 : nil }
            let ready: PreparedCase
            switch Result(catching: { () throws(RegistryError) -> PreparedCase in try prepare(json) }) {
            case .success(let value):
                ready = value
            case .failure(let error):
                let errors: [CaseValidationError]
                if case .invalid(let found) = error { errors = found } else { throw error }
                failures.append(ImportRecordErrors(index: index, externalID: externalID, errors: errors))
                continue
            }
            if let first = seen[ready.externalID] {
                failures.append(
                    ImportRecordErrors(
                        index: index, externalID: externalID,
                        errors: [.registry("/external_id", code: .conflict, "repeats the external id of record \(first)")]))
                continue
            }
            seen[ready.externalID] = index
            prepared.append(ready)
        }
        guard failures.isEmpty else { throw RegistryError.importRejected(failures) }
        let indexOf = Dictionary(uniqueKeysWithValues: records.indices.compactMap { index -> (String, Int)? in
            guard case .json(let json) = records[index], let id = json["external_id"]?.stringValue else { return nil }
            return (id, index)
        })

        let at = Timestamp.string(now())
        struct DryRunFinished: Error { let summary: ImportSummary }
        do {
            return try database.write { connection in
                try connection.transaction {
                    var items: [ImportSummary.Item] = []
                    var conflicts: [ImportRecordErrors] = []
                    for case_ in prepared {
                        if mode == .create, let existing = try Self.existing(connection, site: site, externalID: case_.externalID) {
                            conflicts.append(
                                ImportRecordErrors(
                                    index: indexOf[case_.externalID] ?? -1, externalID: case_.externalID,
                                    errors: [.registry("/external_id", code: .conflict, "a case with this external id already exists (mode=create)")]))
                            items.append(.init(externalID: case_.externalID, id: existing.id, result: .unchanged))
                            continue
                        }
                        let (stored, result) = try Self.upsert(case_, site: site, ifMatch: nil, keyID: keyID, at: at, connection: connection)
                        items.append(.init(externalID: case_.externalID, id: dryRun && result == .created ? nil : stored.id, result: result))
                    }
                    if !conflicts.isEmpty { throw RegistryError.importRejected(conflicts) }
                    let summary = ImportSummary(dryRun: dryRun, mode: mode, items: items)
                    if dryRun { throw DryRunFinished(summary: summary) }  // rolls the transaction back
                    return summary
                }
            }
        } catch let finished as DryRunFinished {
            return finished.summary
        }
    }

    /// Recomputes the classification of every case stored by another engine version
    /// (run at start and by `icmm reclassify`). Returns how many were updated and how many no
    /// longer pass validation (those keep their old classification and are counted, not changed).
    public func reclassifyStale(keyID: String? = nil) throws -> (updated: Int, failed: Int) {
        var updated = 0
        var failed = 0
        let at = Timestamp.string(now())
        while true {
            let batch = try database.read { connection in
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
            let pending = batch
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
