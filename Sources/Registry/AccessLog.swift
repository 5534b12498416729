import Foundation
import JSON
import Storage
import Synchronization

/// One read of patient-level data: who, which route, when, which request, how many cases.
/// Never a value and never an external id (issue #12, "Read-access audit").
public struct AccessEntry: Sendable, Equatable {
    public let at: String
    public let keyID: String?
    /// The site whose cases were returned.
    public let site: String
    /// The route pattern (`/v1/cases/{external_id}`), never the raw path.
    public let route: String
    public let requestID: String
    public let caseCount: Int

    public init(at: String, keyID: String?, site: String, route: String, requestID: String, caseCount: Int) {
        self.at = at
        self.keyID = keyID
        self.site = site
        self.route = route
        self.requestID = requestID
        self.caseCount = caseCount
    }
}

/// The read-access trail. A read costs one append to a buffer in memory; a background thread writes
/// the buffer in one transaction every `flushInterval` (or sooner when it fills), so reads never
/// wait for the disk. The price: a crash of the process loses the reads of the last interval at
/// most (writes are audited in their own transaction and lose nothing). Stopping flushes.
public final class AccessLog: Sendable {
    public static let flushInterval: Duration = .milliseconds(500)
    static let bufferLimit = 4_096

    let database: Database
    let now: @Sendable () -> Date
    /// Entries older than this are deleted (hourly, and at start); nil keeps everything.
    public let retention: Duration?
    /// A read as buffered: the time as a number, formatted by the flushing thread, not the request's.
    struct PendingEntry {
        let at: Date
        let keyID: String?
        let site: String
        let route: String
        let requestID: String
        let caseCount: Int
    }

    private struct State {
        var buffer: [PendingEntry] = []
        var stopped = false
        var lastPrune: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    private let wakeUp = NSCondition()
    private let droppedCount = Atomic<Int>(0)

    public init(database: Database, retention: Duration? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.retention = retention
        self.now = now
    }

    /// Starts the thread that writes the buffer (the server does; tests may call `flush` instead).
    public func startFlushing() {
        let thread = Thread { [self] in
            while true {
                wakeUp.lock()
                _ = wakeUp.wait(until: Date().addingTimeInterval(AccessLog.flushInterval.seconds))
                wakeUp.unlock()
                flush()
                pruneIfDue()
                if state.withLock({ $0.stopped }) { return }
            }
        }
        thread.name = "icmm-access-log"
        thread.start()
    }

    /// Writes what is buffered, then lets the flushing thread end.
    public func stop() {
        state.withLock { $0.stopped = true }
        wakeUp.lock()
        wakeUp.signal()
        wakeUp.unlock()
        flush()
    }

    /// Records a read. Cheap: a lock and an append.
    public func record(keyID: String?, site: String, route: String, requestID: String, caseCount: Int) {
        let entry = PendingEntry(at: now(), keyID: keyID, site: site, route: route, requestID: requestID, caseCount: caseCount)
        let full = state.withLock { state -> Bool in
            state.buffer.append(entry)
            return state.buffer.count >= AccessLog.bufferLimit
        }
        if full {
            wakeUp.lock()
            wakeUp.signal()
            wakeUp.unlock()
        }
    }

    /// Writes the buffered entries in one transaction, grouped with concurrent case writes.
    /// On failure the entries go back to the buffer for the next attempt.
    public func flush() {
        let batch = state.withLock { state -> [PendingEntry] in
            let batch = state.buffer
            state.buffer = []
            return batch
        }
        guard !batch.isEmpty else { return }
        do {
            try database.groupedWrite { connection in
                for entry in batch {
                    // One cached statement, reset between rows.
                    try connection.run(
                        "INSERT INTO access_log (at, key_id, site, route, request_id, case_count) VALUES (?, ?, ?, ?, ?, ?)",
                        [Timestamp.string(entry.at), entry.keyID, entry.site, entry.route, entry.requestID, entry.caseCount])
                }
            }
        } catch {
            state.withLock { state in
                // Keep at most a bounded backlog: a database that stays down must not exhaust memory.
                let room = max(0, AccessLog.bufferLimit * 16 - state.buffer.count)
                if batch.count > room { droppedCount.add(batch.count - room, ordering: .relaxed) }
                state.buffer.insert(contentsOf: batch.prefix(room), at: 0)
            }
        }
    }

    /// Entries lost because the database refused them for too long (for `/metrics`).
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Deletes read entries older than the retention, at most once an hour.
    func pruneIfDue() {
        guard let retention else { return }
        let due = state.withLock { state -> Bool in
            let clock = ContinuousClock.now
            if let last = state.lastPrune, clock - last < .seconds(3_600) { return false }
            state.lastPrune = clock
            return true
        }
        if due { try? prune(olderThan: retention) }
    }

    /// Deletes read entries older than `age`; returns how many.
    @discardableResult
    public func prune(olderThan age: Duration) throws -> Int {
        let cutoff = Timestamp.string(now().addingTimeInterval(-age.seconds))
        return try database.write { connection in try connection.run("DELETE FROM access_log WHERE at < ?", [cutoff]) }
    }
}

// MARK: - Reading the trail

/// Filters and page of `GET /v1/audit` and `icmm audit export`.
public struct AuditQuery: Sendable {
    /// Inclusive lower and exclusive upper bound on `at` (normalised UTC timestamps).
    public var since: String?
    public var until: String?
    public var site: String?
    public var keyID: String?
    /// `read`, or a write action (`create`, `update`, `erase`, `reclassify`).
    public var action: String?
    public var limit: Int = 100
    /// Where the previous page ended.
    public var after: AuditPosition?

    public init() {}

    public static let maximumLimit = 500
    public static let actions = ["read", "create", "update", "erase", "reclassify"]
}

/// A place in the trail's order (newest first): time, then source (reads after writes), then sequence.
public struct AuditPosition: Sendable, Equatable {
    public let at: String
    /// 1 for a read, 0 for a write.
    public let source: Int
    public let seq: Int64

    public init(at: String, source: Int, seq: Int64) {
        self.at = at
        self.source = source
        self.seq = seq
    }
}

/// One entry of the trail: a read (route, request, number of cases) or a write (case, version).
public struct AuditRecord: Sendable, Equatable {
    public let position: AuditPosition
    public let action: String
    public let keyID: String?
    public let site: String
    public let route: String?
    public let requestID: String?
    public let caseCount: Int?
    public let externalID: String?
    public let version: Int?

    public func toJSON() -> JSONValue {
        var members: JSONObject = [
            "at": .string(position.at), "action": .string(action), "key_id": keyID.map(JSONValue.string) ?? .null,
            "site": .string(site),
        ]
        if position.source == 1 {
            members["route"] = .string(route ?? "")
            members["request_id"] = .string(requestID ?? "")
            members["case_count"] = .number(Double(caseCount ?? 0))
        } else {
            members["external_id"] = .string(externalID ?? "")
            members["version"] = version.map { .number(Double($0)) } ?? .null
        }
        return .object(members)
    }
}

public struct AuditPage: Sendable {
    public let records: [AuditRecord]
    /// Where the next page starts, nil on the last page.
    public let next: AuditPosition?
}

extension AccessLog {
    /// Reads and writes together, newest first, by keyset pagination (stable while entries arrive).
    /// Buffered reads are flushed first, so a page includes every read answered before it.
    public func page(_ query: AuditQuery) throws -> AuditPage {
        flush()
        var writeWhere: [String] = []
        var readWhere: [String] = []
        var writeArguments: [any DatabaseValueConvertible] = []
        var readArguments: [any DatabaseValueConvertible] = []
        func both(_ clause: String, _ value: String) {
            writeWhere.append(clause)
            readWhere.append(clause)
            writeArguments.append(value)
            readArguments.append(value)
        }
        if let since = query.since { both("at >= ?", since) }
        if let until = query.until { both("at < ?", until) }
        if let site = query.site {
            // A cross-site read (site `*`) may have touched any site: it answers "who read site X?" too.
            writeWhere.append("site = ?")
            writeArguments.append(site)
            readWhere.append("(site = ? OR site = '*')")
            readArguments.append(site)
        }
        if let key = query.keyID { both("key_id = ?", key) }
        var includeWrites = true
        var includeReads = true
        if let action = query.action {
            if action == "read" {
                includeWrites = false
            } else {
                includeReads = false
                writeWhere.append("action = ?")
                writeArguments.append(action)
            }
        }
        func whereClause(_ clauses: [String]) -> String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
        var parts: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if includeWrites {
            parts.append(
                """
                SELECT at, 0 AS source, seq, action, key_id, site, NULL AS route, NULL AS request_id, NULL AS case_count,
                    external_id, version FROM audit_log\(whereClause(writeWhere))
                """)
            arguments += writeArguments
        }
        if includeReads {
            parts.append(
                """
                SELECT at, 1 AS source, seq, 'read' AS action, key_id, site, route, request_id, case_count, NULL AS external_id,
                    NULL AS version FROM access_log\(whereClause(readWhere))
                """)
            arguments += readArguments
        }
        // The alias: PostgreSQL before 16 requires one for a subquery in FROM.
        var sql = "SELECT * FROM (" + parts.joined(separator: " UNION ALL ") + ") AS trail"
        if let after = query.after {
            sql += " WHERE (at, source, seq) < (?, ?, ?)"
            arguments += [after.at, after.source, after.seq] as [any DatabaseValueConvertible]
        }
        let limit = min(max(query.limit, 1), AuditQuery.maximumLimit)
        sql += " ORDER BY at DESC, source DESC, seq DESC LIMIT ?"
        arguments.append(limit + 1)
        let rows = try database.read { connection in
            try connection.query(sql, arguments) { row in
                AuditRecord(
                    position: AuditPosition(at: row.string(0), source: row.int(1), seq: row.int64(2)), action: row.string(3),
                    keyID: row.optionalString(4), site: row.string(5), route: row.optionalString(6), requestID: row.optionalString(7),
                    caseCount: row.optionalInt(8), externalID: row.optionalString(9), version: row.optionalInt(10))
            }
        }
        let page = Array(rows.prefix(limit))
        return AuditPage(records: page, next: rows.count > limit ? page.last?.position : nil)
    }
}

extension Timestamp {
    /// A date (`YYYY-MM-DD`, its midnight UTC) or a UTC time (`YYYY-MM-DDThh:mm:ss[.sss]Z`) in the
    /// stored form, so that text order is time order; nil for anything else.
    public static func bound(_ text: String) -> String? {
        let b = Array(text.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.allSatisfy { $0 < b.count && b[$0] >= 0x30 && b[$0] <= 0x39 } }
        guard b.count >= 10, digits(0..<4), b[4] == 0x2D, digits(5..<7), b[7] == 0x2D, digits(8..<10) else { return nil }
        if b.count == 10 { return text + "T00:00:00.000Z" }
        guard b.count >= 20, b[10] == 0x54, digits(11..<13), b[13] == 0x3A, digits(14..<16), b[16] == 0x3A, digits(17..<19),
            b.last == 0x5A, b.count == 20 || (b[19] == 0x2E && b.count > 21 && digits(20..<(b.count - 1)))
        else { return nil }
        let fraction = b.count > 20 ? String(decoding: b[20..<(b.count - 1)], as: UTF8.self) : ""
        return String(decoding: b[0..<19], as: UTF8.self) + "." + String((fraction + "000").prefix(3)) + "Z"
    }
}
