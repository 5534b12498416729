import Classification
import Foundation
import JSON
import Storage
import Synchronization

/// Cases over the database: every write validates (DOMAIN.md section 9), classifies (sections 3-6),
/// stores the case with its indexed columns, bumps the registry's data version and appends to the
/// audit trail, in one durable transaction. Sites never see each other's cases: every query is
/// scoped by site.
/// An `If-Match` precondition as the registry checks it.
public enum VersionRequirement: Sendable, Equatable {
    /// `If-Match: *`: the case must exist.
    case exists
    /// `If-Match: "N", "M"`: the case must be at one of these versions (RFC 9110 section 13.1.1:
    /// any listed tag may match; tags that are not versions are left out, so none may match).
    case versions([Int])

    func isSatisfied(byVersion version: Int?) -> Bool {
        switch self {
        case .exists: version != nil
        case .versions(let listed): version.map(listed.contains) ?? false
        }
    }
}

public final class CaseStore: Sendable {
    public let database: Database
    let now: @Sendable () -> Date
    /// The last data version read, with the write generation and time it was read at.
    private let versionCache = Mutex<(version: Int, generation: Int, at: ContinuousClock.Instant)?>(nil)
    /// Per site: the registry's data version and the site's own version at the same moment (CohortStore+Scope).
    let siteVersionCache = Mutex<[String: (global: Int, site: Int)]>([:])
    /// How long a data version read may be reused when this process has not written since: the
    /// bound on how late a write by another process (`icmm import` while serving) shows in ETags.
    public static let externalWriteDelay: Duration = .seconds(1)

    public init(database: Database, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    /// Today's date in UTC: the validator's bound for "not in the future".
    public func today() -> CalendarDate {
        let seconds = Int(now().timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        // 1970-01-01 as a day number of CalendarDate.
        let epoch = CalendarDate(year: 1970, month: 1, day: 1)!.dayNumber
        return CalendarDate(dayNumber: epoch + days)!
    }

    /// True for 1-64 characters of `[A-Za-z0-9._-]` (DOMAIN.md section 9).
    /// Not only dots: `.` and `..` would give `Location: /v1/cases/..`, which clients and proxies
    /// that normalise paths cannot reach (issue #12, "Strict HTTP where ambiguity is a risk").
    public static func isValidExternalID(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 64 && value.utf8.allSatisfy(isIdentifierByte) && !isOnlyDots(value)
    }

    static func isOnlyDots(_ value: String) -> Bool { value.utf8.allSatisfy { $0 == 0x2E } }

    // MARK: - Preparing

    /// Validates and classifies a case. With `pathExternalID` (PUT), a body without `external_id`
    /// takes the URL's, and a different one is an error.
    /// - Parameter refusingDotOnlyIDs: false only to reclassify cases stored before ids made of
    ///   dots were refused (they keep their classification up to date; new ones cannot be written).
    func prepare(_ json: JSONValue, pathExternalID: String? = nil, refusingDotOnlyIDs: Bool = true) throws(RegistryError)
        -> PreparedCase
    {
        var clock = ContinuousClock.now
        return try prepare(
            json, pathExternalID: pathExternalID, today: today(), timings: nil, clock: &clock, refusingDotOnlyIDs: refusingDotOnlyIDs)
    }

    /// `prepare`, with the date injected and each stage timed when `timings` is given (imports).
    func prepare(
        _ json: JSONValue, pathExternalID: String? = nil, today: CalendarDate, timings: ImportTimings?,
        clock: inout ContinuousClock.Instant, refusingDotOnlyIDs: Bool = true
    ) throws(RegistryError) -> PreparedCase {
        var json = json
        var extra: [CaseValidationError] = []
        if let pathExternalID, case .object(var members) = json {
            if members["external_id"] == nil {
                members["external_id"] = .string(pathExternalID)
                json = .object(members)
            } else if members["external_id"] != .string(pathExternalID) {
                extra.append(.registry("/external_id", code: .conflict, "must equal the external id in the URL"))
            }
        }
        let validated = CaseRecord.validate(json, today: today)
        if let timings { clock = timings.add(.validate, since: clock) }
        switch validated {
        case .failure(let errors):
            throw .invalid(extra + errors.errors)
        case .success(let record):
            if refusingDotOnlyIDs && Self.isOnlyDots(record.externalID) {
                extra.append(.registry("/external_id", code: .invalidFormat, "must not consist of dots only"))
            }
            guard extra.isEmpty else { throw .invalid(extra) }
            let classification = ClassificationEngine.classify(record)
            if let timings { clock = timings.add(.classify, since: clock) }
            let data = record.toJSON()
            let classificationJSON = classification.toJSON()
            let prepared = PreparedCase(
                record: record, data: data, dataText: data.serializedString(), classification: classification,
                classificationJSON: classificationJSON, classificationText: classificationJSON.serializedString(),
                creationPathsJSON: Self.creationPathsJSON(data))
            if let timings { clock = timings.add(.serialize, since: clock) }
            return prepared
        }
    }

    // MARK: - Reading

    static let caseColumns = "id, site, external_id, version, created_at, updated_at, data, classification, engine_version"

    static func storedCase(_ row: Row) throws -> StoredCase {
        StoredCase(
            id: row.string(0), site: row.string(1), externalID: row.string(2), version: row.int(3),
            createdAt: row.string(4), updatedAt: row.string(5), data: try JSONValue.parse(row.string(6)),
            classification: try JSONValue.parse(row.string(7)), engineVersion: row.string(8))
    }

    public func get(site: String, externalID: String) throws -> StoredCase {
        let found = try database.read { connection in
            try connection.queryOne(
                "SELECT \(Self.caseColumns) FROM cases WHERE site = ? AND external_id = ?", [site, externalID],
                Self.storedCase)
        }
        guard let found else { throw RegistryError.notFound }
        return found
    }

    /// The registry-wide data version: +1 on every write to any case. Exact after any write by this
    /// process; a write by another process is seen within `externalWriteDelay`.
    public func dataVersion() throws -> Int {
        if let version = dataVersionWithoutReading() { return version }
        let generation = database.writeGeneration
        let now = ContinuousClock.now
        let version = try database.read { connection in
            try connection.queryOne(Self.dataVersionSQL(connection.dialect)) { $0.int(0) }
                ?? 0
        }
        versionCache.withLock { $0 = (version, generation, now) }
        return version
    }

    /// `dataVersion()` when it needs no database read (the version read less than
    /// `externalWriteDelay` ago, with no write by this process since); nil otherwise. For callers
    /// that must not block, such as an event loop answering a cached result.
    public func dataVersionWithoutReading() -> Int? {
        let generation = database.writeGeneration
        guard let cached = versionCache.withLock({ $0 }), cached.generation == generation,
            ContinuousClock.now - cached.at < Self.externalWriteDelay
        else { return nil }
        return cached.version
    }

    /// `scopedDataVersion(site:)` when it needs no database read (both versions cached and
    /// current); nil otherwise. For callers that must not block.
    public func scopedDataVersionWithoutReading(site: String?) -> (global: Int, scoped: Int)? {
        guard let global = dataVersionWithoutReading() else { return nil }
        guard let site else { return (global, global) }
        guard let cached = siteVersionCache.withLock({ $0[site] }), cached.global == global else { return nil }
        return (cached.global, cached.site)
    }

    /// The audit trail of a case, oldest first; it outlives the case's erasure.
    public func history(site: String, externalID: String) throws -> [AuditEntry] {
        let entries = try database.read { connection in
            try connection.query(
                "SELECT action, key_id, at, version, changed_paths FROM audit_log WHERE site = ? AND external_id = ? ORDER BY seq",
                [site, externalID]
            ) { row in
                AuditEntry(
                    action: row.string(0), keyID: row.optionalString(1), at: row.string(2), version: row.optionalInt(3),
                    changedPaths: (try JSONValue.parse(row.string(4))).arrayValue?.compactMap(\.stringValue) ?? [])
            }
        }
        guard !entries.isEmpty else { throw RegistryError.notFound }
        return entries
    }

    // MARK: - Writing

    /// Creates a case; a second case with the same external id in the site is refused.
    public func create(_ json: JSONValue, site: String, keyID: String?) throws -> StoredCase {
        let prepared = try prepare(json)
        let at = Timestamp.string(now())
        if database.dialect == .postgres {
            return try createInOneStatement(prepared, site: site, keyID: keyID, at: at)
        }
        return try database.rowLockedGroupedWrite { connection in
            try Self.createInsertingFirst(prepared, site: site, keyID: keyID, at: at, connection: connection)
        }
    }

    /// Full replacement, creating the case if absent: a retried PUT is harmless.
    /// - Parameter ifMatch: the version the caller last saw; another current version -> `versionMismatch`.
    public func put(
        _ json: JSONValue, site: String, externalID: String, ifMatch: VersionRequirement?, keyID: String?
    ) throws -> (StoredCase, WriteResult) {
        let prepared = try prepare(json, pathExternalID: externalID)
        let at = Timestamp.string(now())
        return try database.rowLockedGroupedWrite { connection in
            if connection.dialect == .postgres {
                return try Self.upsertRetryingCreateRace(
                    prepared, site: site, ifMatch: ifMatch, keyID: keyID, at: at, connection: connection)
            }
            return try Self.upsert(prepared, site: site, ifMatch: ifMatch, keyID: keyID, at: at, connection: connection)
        }
    }

    /// Applies a JSON Merge Patch (RFC 7396) to the stored case and validates the result as a whole.
    public func patch(
        _ patch: JSONValue, site: String, externalID: String, ifMatch: VersionRequirement?, keyID: String?
    ) throws -> (StoredCase, WriteResult) {
        let at = Timestamp.string(now())
        return try database.rowLockedGroupedWrite { [self] connection in
            guard let existing = try Self.existing(connection, site: site, externalID: externalID) else {
                throw RegistryError.notFound
            }
            if let ifMatch, !ifMatch.isSatisfied(byVersion: existing.version) {
                throw RegistryError.versionMismatch(current: existing.version)
            }
            let merged = try JSONValue.parse(existing.dataText).merging(patch: patch)
            let prepared = try prepare(merged, pathExternalID: externalID)
            return try Self.upsert(prepared, site: site, ifMatch: nil, keyID: keyID, at: at, connection: connection)
        }
    }

    /// Erases a case's clinical data. The audit trail keeps who erased it and when.
    public func erase(site: String, externalID: String, ifMatch: VersionRequirement?, keyID: String?) throws {
        let at = Timestamp.string(now())
        try database.rowLockedGroupedWrite { connection in
            guard let existing = try Self.existing(connection, site: site, externalID: externalID) else {
                throw RegistryError.notFound
            }
            if let ifMatch, !ifMatch.isSatisfied(byVersion: existing.version) {
                throw RegistryError.versionMismatch(current: existing.version)
            }
            _ = try Self.nextChangeSequence(connection)
            try connection.run("DELETE FROM cases WHERE row_id = ?", [existing.rowID])
            try Self.audit(
                connection, site: site, externalID: externalID, caseID: existing.id, action: "erase", keyID: keyID, at: at,
                version: existing.version, paths: [])
        }
    }

    struct ExistingCase {
        let rowID: Int64
        let id: String
        let version: Int
        let dataText: String
        let createdAt: String
    }

    /// The case as it is now, for a read-then-write. On PostgreSQL its row is locked until the
    /// transaction ends (`FOR UPDATE`): grouped writes of several instances run side by side
    /// (`SQLDialect.beginGroupedWrite`), and the row lock is what makes a second writer of the same
    /// case wait and then read the first one's committed version. SQLite's writer is alone anyway.
    static func existing(_ connection: Connection, site: String, externalID: String) throws -> ExistingCase? {
        try connection.queryOne(
            connection.dialect == .postgres ? existingSQL + " FOR UPDATE" : existingSQL, [site, externalID]
        ) { row in
            ExistingCase(rowID: row.int64(0), id: row.string(1), version: row.int(2), dataText: row.string(3), createdAt: row.string(4))
        }
    }

    static let existingSQL = "SELECT row_id, id, version, data, created_at FROM cases WHERE site = ? AND external_id = ?"

    /// Takes the next registry-wide change number and moves the data version.
    ///
    /// SQLite: the change number IS the new data version (one writer: read-then-write of the
    /// counter cannot be overtaken).
    ///
    /// PostgreSQL: the change number comes from a sequence (`nextval`: never waits, never rolls
    /// back; a gap or a lower number committing after a higher one is harmless: change numbers
    /// only order cases newest first and page them, `change_seq < cursor`). The data version is
    /// bumped by the transaction's LAST statement, sent with its COMMIT (`runBeforeCommit`).
    /// Why a poller can miss no commit: every transaction that changes cases bumps the counter,
    /// and bumping takes the counter row's lock until the transaction ends, so bumping
    /// transactions commit one after the other, in counter order, and a transaction is visible
    /// to everyone before the next one's bump returns. A snapshot that shows the counter at v
    /// therefore shows exactly the changes of the transactions that set it to 1...v: no later one
    /// (it would show a higher v) and no earlier one missing. The same v means the same data, so a
    /// cached cohort or an ETag keyed by v is never stale. Taking the lock last keeps it for the
    /// commit alone, not for the whole batch of writes before it.
    static func nextChangeSequence(_ connection: Connection) throws -> Int {
        if connection.dialect == .postgres {
            connection.runBeforeCommit(bumpDataVersionSQL)
            return try connection.queryOne("SELECT nextval('cases_change_seq')") { $0.int(0) } ?? 0
        }
        // Two statements, not one UPDATE ... RETURNING: SQLite collects RETURNING rows in a
        // temporary B-tree, built and dropped for every case written.
        try connection.run(bumpSQLiteDataVersionSQL)
        return try connection.queryOne(dataVersionSQL(.sqlite)) { $0.int(0) } ?? 0
    }

    /// SQLite: moves the data version by one (the writer is alone: nothing can come between).
    static let bumpSQLiteDataVersionSQL =
        "UPDATE registry_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'data_version'"

    /// PostgreSQL: moves the data version by one: adds one to the first of its slots that no other
    /// transaction holds now (`SKIP LOCKED`: never waits for one; only when every slot is held, it
    /// waits for the first). See `dataVersionSQL`.
    static let bumpDataVersionSQL = """
        UPDATE registry_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)
        WHERE key = coalesce((SELECT key FROM registry_meta WHERE key = 'data_version' OR key LIKE 'data_version.%'
            ORDER BY key LIMIT 1 FOR UPDATE SKIP LOCKED), 'data_version')
        """

    /// The registry-wide data version. SQLite: the one counter. PostgreSQL: the sum of the counter's
    /// slots (`data_version` and `data_version.1`...`.15`, migration postgres/0007), so that the
    /// commits of several instances do not wait for each other's WAL flush on one row. Why the sum
    /// is as good as one counter: each slot is a counter of its own (bumps of one slot commit one
    /// after the other, each visible before the next one's bump returns, see
    /// `nextChangeSequence`), so a snapshot's value of a slot says exactly which of that slot's
    /// transactions it shows. A later snapshot shows every commit an earlier one shows, so its
    /// slots are each at least as high; an equal sum therefore means equal slots, the same
    /// transactions shown and the same data; a higher sum means a later state.
    static func dataVersionSQL(_ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: "SELECT CAST(value AS BIGINT) FROM registry_meta WHERE key = 'data_version'"
        case .postgres:
            "SELECT CAST(sum(CAST(value AS BIGINT)) AS BIGINT) FROM registry_meta WHERE key = 'data_version' OR key LIKE 'data_version.%'"
        }
    }

    /// Change numbers for a long write (an import). SQLite: read once, handed out in memory, stored
    /// once at the end; only valid inside one transaction on the writer, which no other write can
    /// enter. PostgreSQL: taken from the sequence a block at a time (single-case writes of other
    /// instances take numbers meanwhile), the data version bumped before COMMIT (`nextChangeSequence`).
    struct ChangeSequenceBlock {
        private(set) var last: Int
        private let first: Int
        private let connection: Connection
        private var reserved: [Int] = []

        init(_ connection: Connection) throws {
            self.connection = connection
            if connection.dialect == .postgres {
                connection.runBeforeCommit(CaseStore.bumpDataVersionSQL)
                last = 0
            } else {
                last = try connection.queryOne(
                    "SELECT CAST(value AS BIGINT) FROM registry_meta WHERE key = 'data_version'") { $0.int(0) } ?? 0
            }
            first = last
        }

        mutating func next() throws -> Int {
            guard connection.dialect == .postgres else {
                last += 1
                return last
            }
            if reserved.isEmpty {
                reserved = try connection.query(
                    "SELECT nextval('cases_change_seq') FROM generate_series(1, 256)") { $0.int(0) }.sorted(by: >)
            }
            last = reserved.removeLast()
            return last
        }

        func finish(_ connection: Connection) throws {
            guard connection.dialect == .sqlite, last != first else { return }
            try connection.run("UPDATE registry_meta SET value = CAST(? AS TEXT) WHERE key = 'data_version'", [last])
        }
    }

    static let insertSQL = """
        INSERT INTO cases (id, site, external_id, version, change_seq, created_at, updated_at, data, classification,
            engine_version, \(PreparedCase.indexedColumns.joined(separator: ", ")))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \(PreparedCase.indexedColumns.map { _ in "?" }.joined(separator: ", ")))
        """

    static let updateSQL = """
        UPDATE cases SET version = ?, change_seq = ?, updated_at = ?, data = ?, classification = ?, engine_version = ?,
            \(PreparedCase.indexedColumns.map { "\($0) = ?" }.joined(separator: ", "))
        WHERE row_id = ?
        """

    /// Inserts a new case and its audit entry; returns the case's id. `sequence` hands out change
    /// numbers (nil: take each from the database).
    static func insert(
        _ prepared: PreparedCase, site: String, keyID: String?, at: String, connection: Connection,
        sequence: (() throws -> Int)?, timings: ImportTimings?, clock: inout ContinuousClock.Instant
    ) throws -> String {
        let id = newCaseID()
        let changeSequence = try sequence?() ?? nextChangeSequence(connection)
        try connection.run(
            insertSQL,
            [id, site, prepared.externalID, 1, changeSequence, at, at, prepared.dataText, prepared.classificationText,
             ClassificationEngine.version] + prepared.indexedValues)
        if let timings { clock = timings.add(.insert, since: clock) }
        try audit(
            connection, site: site, externalID: prepared.externalID, caseID: id, action: "create", keyID: keyID, at: at,
            version: 1, pathsJSON: prepared.creationPathsJSON)
        if let timings { clock = timings.add(.audit, since: clock) }
        return id
    }

    /// A time-ordered (version 7) UUID in lowercase, the case's registry-wide id: the milliseconds
    /// since 1970 in its first 48 bits, then 74 random bits (RFC 9562 section 5.7).
    ///
    /// Time-ordered because the unique index on `cases.id` then takes each new case at its right
    /// edge. With random (version 4) ids each new case went to a random leaf of that index, so an
    /// import of n cases rewrote min(n, all) of its leaves: its work and its WAL grew with the
    /// registry (issue 11: a 100,000-case import wrote 246 MB of WAL into an empty registry and
    /// 302 MB into one of 1.1 million cases). The time it shows is the case's `created_at`,
    /// which the case's representation already gives to the same millisecond.
    /// Formatted by hand: Foundation's `UUID()` opens and reads /dev/urandom on every call here.
    static func newCaseID(milliseconds: UInt64 = currentMilliseconds()) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for half in 0..<2 {
            let random: UInt64 = generator.next()
            for i in 0..<8 { bytes[half * 8 + i] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(i))) }
        }
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * UInt64(5 - i))) }  // big-endian
        bytes[6] = (bytes[6] & 0x0F) | 0x70  // version 7
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // variant 10
        let hex = hexString(bytes)
        let utf8 = Array(hex.utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (i, byte) in utf8.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { text.append(0x2D) }
            text.append(byte)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Milliseconds since 1970 by the system clock (the id's time; not the injectable `now`).
    static func currentMilliseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000 + UInt64(time.tv_nsec) / 1_000_000
    }

    static func upsert(
        _ prepared: PreparedCase, site: String, ifMatch: VersionRequirement?, keyID: String?, at: String, connection: Connection,
        sequence: (() throws -> Int)? = nil
    ) throws -> (StoredCase, WriteResult) {
        guard let existing = try existing(connection, site: site, externalID: prepared.externalID) else {
            // If-Match cannot match a case that does not exist (RFC 9110 section 13.1.1).
            if ifMatch != nil { throw RegistryError.versionMismatch(current: 0) }
            var clock = ContinuousClock.now
            let id = try insert(
                prepared, site: site, keyID: keyID, at: at, connection: connection, sequence: sequence, timings: nil, clock: &clock)
            let stored = StoredCase(
                id: id, site: site, externalID: prepared.externalID, version: 1, createdAt: at, updatedAt: at, data: prepared.data,
                classification: prepared.classificationJSON, engineVersion: ClassificationEngine.version,
                serialized: prepared.serialized)
            return (stored, .created)
        }
        if let ifMatch, !ifMatch.isSatisfied(byVersion: existing.version) {
            throw RegistryError.versionMismatch(current: existing.version)
        }
        if existing.dataText == prepared.dataText {
            let current = try connection.queryOne(
                "SELECT \(caseColumns) FROM cases WHERE row_id = ?", [existing.rowID], storedCase)
            guard let current else { throw RegistryError.notFound }
            return (current, .unchanged)
        }
        let version = existing.version + 1
        let changeSequence = try sequence?() ?? nextChangeSequence(connection)
        try connection.run(
            updateSQL,
            [version, changeSequence, at, prepared.dataText, prepared.classificationText,
             ClassificationEngine.version] + prepared.indexedValues + [existing.rowID])
        let old = try JSONValue.parse(existing.dataText)
        try audit(
            connection, site: site, externalID: prepared.externalID, caseID: existing.id, action: "update", keyID: keyID,
            at: at, version: version, paths: old.changedPaths(to: prepared.data))
        let stored = StoredCase(
            id: existing.id, site: site, externalID: prepared.externalID, version: version, createdAt: existing.createdAt,
            updatedAt: at, data: prepared.data, classification: prepared.classificationJSON,
            engineVersion: ClassificationEngine.version,
            serialized: prepared.serialized)
        return (stored, .updated)
    }

    static func audit(
        _ connection: Connection, site: String, externalID: String, caseID: String, action: String, keyID: String?,
        at: String, version: Int?, paths: [JSONPointer]
    ) throws {
        try audit(
            connection, site: site, externalID: externalID, caseID: caseID, action: action, keyID: keyID, at: at,
            version: version, pathsJSON: auditPathsJSON(paths))
    }

    /// The `changed_paths` column: the JSON Pointers as a JSON array of strings.
    static func auditPathsJSON(_ paths: [JSONPointer]) -> String {
        JSONValue.array(paths.map { .string($0.description) }).serializedString()
    }

    /// `audit`, with the changed paths already serialized (an import prepares them off the writer).
    static func audit(
        _ connection: Connection, site: String, externalID: String, caseID: String, action: String, keyID: String?,
        at: String, version: Int?, pathsJSON: String
    ) throws {
        try connection.run(
            """
            INSERT INTO audit_log (site, external_id, case_id, action, key_id, at, version, changed_paths)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [site, externalID, caseID, action, keyID, at, version, pathsJSON])
    }
}
