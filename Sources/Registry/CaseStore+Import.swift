import Foundation
import Classification
import JSON
import Storage
import Synchronization

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
        /// The classification JSON as stored, when the import was asked to keep it (a FHIR answer
        /// carries it; a large NDJSON import does not hold it).
        public var classification: String? = nil
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

    /// `toJSON()` serialized (same text), written directly: an import of 100,000 records would
    /// otherwise build a tree of 100,000 dictionaries just to print it.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + items.count * 96)
        func append(_ text: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func append(number: Int) { out.append(contentsOf: String(number).utf8) }
        func append(string: String) { JSONValue.string(string).write(into: &out) }
        append(#"{"created":"#)
        append(number: count(.created))
        append(#","dry_run":"#)
        append(dryRun ? "true" : "false")
        append(#","ids":["#)
        for (i, item) in items.enumerated() {
            if i > 0 { append(",") }
            append(#"{"external_id":"#)
            append(string: item.externalID)
            append(#","id":"#)
            if let id = item.id { append(string: id) } else { append("null") }
            append(#","result":"#)
            append(string: item.result.rawValue)
            append("}")
        }
        append(#"],"mode":"#)
        append(string: mode.rawValue)
        append(#","unchanged":"#)
        append(number: count(.unchanged))
        append(#","updated":"#)
        append(number: count(.updated))
        append("}")
        return out
    }
}

/// Where an import's records come from: an import body read record by record, or records
/// already parsed (the demo cohort, FHIR bundles).
enum ImportRecordSource: Sendable {
    case reader(ImportRecordReader)
    case records([ImportRecord])
    /// Records handed over by a producer on another thread (see `CaseStore+ImportStream.swift`).
    case stream(ImportRecordStream)

    mutating func next(position: inout Int) throws -> ImportRecord? {
        switch self {
        case .stream(let stream):
            return try stream.next()
        case .reader(var reader):
            self = .records([])  // keep the reader uniquely owned while it advances
            defer { self = .reader(reader) }
            return try reader.next()
        case .records(let records):
            defer { position += 1 }
            return position < records.count ? records[position] : nil
        }
    }
}

/// A record of a mode=create import, prepared for its INSERT off the writer: the case's new id and
/// the statement's arguments are made on the preparing thread, and the record's parsed and
/// serialized trees are freed there.
struct PreparedInsert {
    let externalID: String
    let id: String
    /// `CaseStore.insertSQL`'s arguments, but for the change number (`changeSequenceSlot`), the writer's.
    let arguments: [any DatabaseValueConvertible]
    let creationPathsJSON: String
    /// Kept only when the import is asked for classifications (a FHIR answer carries them).
    let classificationText: String?

    static let changeSequenceSlot = 4

    init(_ prepared: PreparedCase, site: String, at: String, keepClassification: Bool) {
        id = CaseStore.newCaseID()
        externalID = prepared.externalID
        var arguments: [any DatabaseValueConvertible] = []
        arguments.reserveCapacity(10 + PreparedCase.indexedColumns.count)
        arguments += [
            id, site, externalID, 1, 0 /* change number */, at, at, prepared.dataText, prepared.classificationText,
            ClassificationEngine.version,
        ] as [any DatabaseValueConvertible]
        arguments += prepared.indexedValues
        self.arguments = arguments
        creationPathsJSON = prepared.creationPathsJSON
        classificationText = keepClassification ? prepared.classificationText : nil
    }

    /// The arguments with the writer's change number in place.
    func arguments(changeSequence: Int) -> [any DatabaseValueConvertible] {
        var arguments = arguments
        arguments[Self.changeSequenceSlot] = changeSequence
        return arguments
    }
}

extension ImportRecordErrors {
    /// mode=create, and the site already has a case with this external id.
    static func alreadyExists(index: Int, externalID: String) -> ImportRecordErrors {
        ImportRecordErrors(
            index: index, externalID: externalID,
            errors: [.registry("/external_id", code: .conflict, "a case with this external id already exists (mode=create)")])
    }
}

extension CaseStore {
    /// Stores a prepared INSERT and its audit entry.
    static func insert(
        _ row: PreparedInsert, site: String, keyID: String?, at: String, connection: Connection, changeSequence: Int,
        timings: ImportTimings?, clock: inout ContinuousClock.Instant
    ) throws {
        try connection.run(insertSQL, row.arguments(changeSequence: changeSequence))
        if let timings { clock = timings.add(.insert, since: clock) }
        try audit(
            connection, site: site, externalID: row.externalID, caseID: row.id, action: "create", keyID: keyID, at: at,
            version: 1, pathsJSON: row.creationPathsJSON)
        if let timings { clock = timings.add(.audit, since: clock) }
    }

    /// SQLite's answer to an INSERT of a case whose (site, external id) is taken. Only that unique
    /// index: a clash of ids or change numbers is a fault, not a conflict to report.
    static func isExistingCaseConflict(_ error: DatabaseError, dialect: SQLDialect) -> Bool {
        dialect == .sqlite && error.isUniqueConstraintViolation && error.message.hasSuffix("cases.site, cases.external_id")
    }

    /// The audit entry's changed paths for a created case: a pointer to each of its top-level
    /// fields, sorted, as a JSON array; the same text as `auditPathsJSON(JSONValue.object([:]).changedPaths(to: data))`
    /// without the tree walk, the set union and the pointer arrays.
    static func creationPathsJSON(_ data: JSONValue) -> String {
        guard case .object(let members) = data, !members.isEmpty else {
            return auditPathsJSON(JSONValue.object([:]).changedPaths(to: data))
        }
        var out: [UInt8] = [0x5B]
        out.reserveCapacity(16 * members.count)
        for (i, key) in members.keys.sorted().enumerated() {
            if i > 0 { out.append(0x2C) }
            // A plain key (the data dictionary's) is "/key" as it stands; others take the long way.
            let plain = key.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                guard !bytes.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x5C || $0 == 0x7E || $0 == 0x2F }) else {
                    return false
                }
                out.append(0x22)
                out.append(0x2F)
                out.append(contentsOf: bytes)
                out.append(0x22)
                return true
            }
            if plain != true { JSONValue.string(JSONPointer([key]).description).write(into: &out) }
        }
        out.append(0x5D)
        return String(decoding: out, as: UTF8.self)
    }
}

extension CaseStore {
    /// Validates and stores every record in one transaction: all or nothing. If any record fails
    /// (invalid, repeated in the import, or existing with mode=create), nothing is stored and every
    /// failing record is listed. A dry run does the same work and rolls back.
    public func importCases(
        _ records: [ImportRecord], site: String, mode: ImportMode, dryRun: Bool, keyID: String?, keepClassifications: Bool = false
    ) throws -> ImportSummary {
        try importCases(
            source: .records(records), site: site, mode: mode, dryRun: dryRun, keyID: keyID, timings: nil,
            keepClassifications: keepClassifications)
    }

    /// The same, reading records one at a time from an import body, so that memory stays bounded
    /// by a few hundred records (plus the summary) whatever the size of the import.
    /// - Throws: `ImportBodyError` when the body is not a well-formed array; `RegistryError.importRejected`.
    public func importCases(
        reading reader: ImportRecordReader, site: String, mode: ImportMode, dryRun: Bool, keyID: String?,
        timings: ImportTimings? = nil
    ) throws -> ImportSummary {
        try importCases(source: .reader(reader), site: site, mode: mode, dryRun: dryRun, keyID: keyID, timings: timings)
    }

    /// Two threads: a preparing thread reads, parses, validates, classifies and serializes records
    /// (the pure work, about half of the time) while the writer stores those already prepared, in
    /// order, in one transaction. After the first failure nothing more is written, but every record
    /// is still checked so that the answer lists every failure.
    func importCases(
        source: ImportRecordSource, site: String, mode: ImportMode, dryRun: Bool, keyID: String?, timings: ImportTimings?,
        keepClassifications: Bool = false
    ) throws -> ImportSummary {
        let started = ContinuousClock.now
        let startCPU = timings == nil ? nil : ImportTimings.ThreadCPU.now()
        let at = Timestamp.string(now())
        let queue = PreparedRecordQueue()
        startPreparing(
            source, into: queue, today: today(), timed: timings != nil,
            inserting: mode == .create ? (site: site, at: at, keepClassifications: keepClassifications) : nil)
        // The writer stopped (done or failed): the preparing thread stops too, and the import
        // returns only once it has ended, so that no import leaves a thread behind.
        defer {
            queue.cancel()
            queue.waitForProducer()
        }

        struct DryRunFinished: Error { let summary: ImportSummary }
        var clock = ContinuousClock.now
        do {
            let summary = try database.bulkWrite { connection in
                if let timings { clock = timings.add(.writerWait, since: clock) }
                return try connection.transaction {
                    var items: [ImportSummary.Item] = []
                    var failures: [ImportRecordErrors] = []
                    var seen: [String: Int] = [:]
                    /// The failure of a record whose external id an earlier record of the import has.
                    func repeated(_ externalID: String, index: Int) -> ImportRecordErrors? {
                        guard let first = seen.updateValue(index, forKey: externalID) else { return nil }
                        seen[externalID] = first
                        return ImportRecordErrors(
                            index: index, externalID: externalID,
                            errors: [.registry("/external_id", code: .conflict, "repeats the external id of record \(first)")])
                    }
                    var sequence = try ChangeSequenceBlock(connection)
                    clock = ContinuousClock.now
                    reading: while true {
                        let chunk = queue.pop()
                        if let timings { clock = timings.add(.writerIdle, since: clock) }
                        for item in chunk {
                            switch item {
                            case .end(let preparing):
                                if let timings, let preparing { timings.merge(preparing) }
                                break reading
                            case .stopped(let error):
                                throw error
                            case .failed(let failure):
                                failures.append(failure)
                            case .insert(let index, let row):
                                if let failure = repeated(row.externalID, index: index) {
                                    failures.append(failure)
                                    continue
                                }
                                // Once a record failed, nothing more is written (the import will be
                                // rolled back), but every record is still checked against the database.
                                guard failures.isEmpty else {
                                    if try Self.existing(connection, site: site, externalID: row.externalID) != nil {
                                        failures.append(.alreadyExists(index: index, externalID: row.externalID))
                                    }
                                    continue
                                }
                                if connection.dialect == .postgres {
                                    // A failed statement ends a PostgreSQL transaction: look before inserting.
                                    let existing = try Self.existing(connection, site: site, externalID: row.externalID)
                                    if let timings { clock = timings.add(.lookup, since: clock) }
                                    if existing != nil {
                                        failures.append(.alreadyExists(index: index, externalID: row.externalID))
                                        continue
                                    }
                                }
                                do {
                                    try Self.insert(row, site: site, keyID: keyID, at: at, connection: connection,
                                        changeSequence: try sequence.next(), timings: timings, clock: &clock)
                                } catch let error as DatabaseError where Self.isExistingCaseConflict(error, dialect: connection.dialect) {
                                    // SQLite: the unique index on (site, external_id) is the existence check; the
                                    // failed INSERT alone is undone, and the import is rejected below.
                                    failures.append(.alreadyExists(index: index, externalID: row.externalID))
                                    continue
                                }
                                items.append(
                                    .init(externalID: row.externalID, id: dryRun ? nil : row.id, result: .created, classification: row.classificationText))
                            case .prepared(let index, let prepared):
                                if let failure = repeated(prepared.externalID, index: index) {
                                    failures.append(failure)
                                    continue
                                }
                                guard failures.isEmpty else { continue }
                                let (stored, result) = try Self.upsert(
                                    prepared, site: site, ifMatch: nil, keyID: keyID, at: at, connection: connection,
                                    sequence: { try sequence.next() })
                                if let timings { clock = timings.add(.insert, since: clock) }
                                items.append(
                                    .init(
                                        externalID: prepared.externalID, id: dryRun && result == .created ? nil : stored.id, result: result,
                                        classification: keepClassifications ? prepared.classificationText : nil))
                            }
                        }
                    }
                    guard failures.isEmpty else { throw RegistryError.importRejected(failures.sorted { $0.index < $1.index }) }
                    try sequence.finish(connection)
                    let summary = ImportSummary(dryRun: dryRun, mode: mode, items: items)
                    if dryRun { throw DryRunFinished(summary: summary) }  // rolls the transaction back
                    return summary
                }
            }
            if let timings {
                _ = timings.add(.commit, since: clock)
                timings.wallSeconds = (ContinuousClock.now - started) / .seconds(1)
                if let startCPU { timings.writerCPU = ImportTimings.ThreadCPU.now() - startCPU }
            }
            return summary
        } catch let finished as DryRunFinished {
            return finished.summary
        }
    }

    /// Starts the preparing thread: every record is parsed, validated, classified and serialized
    /// there and handed to `queue` in order, ending with `.end` (or `.stopped`).
    /// With `inserting` (mode=create), records are handed over as `PreparedInsert`s: the arguments of
    /// their INSERTs, made here, so that the writer (which every write of the process waits for)
    /// neither builds them nor frees the parsed and serialized trees.
    private func startPreparing(
        _ source: ImportRecordSource, into queue: PreparedRecordQueue, today: CalendarDate, timed: Bool,
        inserting: (site: String, at: String, keepClassifications: Bool)?
    ) {
        let thread = Thread { [self] in
            defer { queue.producerDidEnd() }
            var source = source
            let timings = timed ? ImportTimings() : nil
            let startCPU = timed ? ImportTimings.ThreadCPU.now() : nil
            var position = 0
            var index = 0
            var chunk: [PreparedRecordQueue.Item] = []
            chunk.reserveCapacity(64)
            var clock = ContinuousClock.now
            while true {
                let record: ImportRecord?
                do {
                    record = try source.next(position: &position)
                } catch {
                    chunk.append(.stopped(error))
                    _ = queue.push(chunk)
                    return
                }
                guard let record else { break }
                guard !queue.isCancelled else { return }
                if let timings {
                    clock = timings.add(.read, since: clock)
                    timings.countRecord()
                }
                chunk.append(prepareItem(record, index: index, today: today, inserting: inserting, timings: timings, clock: &clock))
                index += 1
                if chunk.count == 64 {
                    guard queue.push(chunk) else { return }
                    if let timings { clock = timings.add(.preparerIdle, since: clock) }
                    chunk = []
                    chunk.reserveCapacity(64)
                }
            }
            if let timings, let startCPU { timings.preparerCPU = ImportTimings.ThreadCPU.now() - startCPU }
            chunk.append(.end(timings))
            _ = queue.push(chunk)
        }
        thread.name = "icmm-import"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func prepareItem(
        _ record: ImportRecord, index: Int, today: CalendarDate, inserting: (site: String, at: String, keepClassifications: Bool)?,
        timings: ImportTimings?, clock: inout ContinuousClock.Instant
    ) -> PreparedRecordQueue.Item {
        guard case .json(let json) = record else {
            return .failed(
                ImportRecordErrors(
                    index: index, externalID: nil,
                    errors: [.registry("", code: .invalidType, "must be one JSON object (the line is not valid JSON)")]))
        }
        do throws(RegistryError) {
            let prepared = try prepare(json, today: today, timings: timings, clock: &clock)
            guard let inserting else { return .prepared(index: index, prepared) }
            return .insert(
                index: index,
                PreparedInsert(prepared, site: inserting.site, at: inserting.at, keepClassification: inserting.keepClassifications))
        } catch {
            guard case .invalid(let errors) = error else { return .stopped(error) }
            let externalID = json["external_id"]?.stringValue.flatMap { Self.isValidExternalID($0) ? $0 : nil }
            return .failed(ImportRecordErrors(index: index, externalID: externalID, errors: errors))
        }
    }
}
