import Foundation
import Storage
import Synchronization
import TestSupport
import Testing

/// What makes the writer, which every write of the process waits for, do work it does not need.
@Suite struct WriterCostTests {
    static let shippedMigrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Migrations/sqlite").standardizedFileURL.path

    static func explain(_ connection: Connection, _ sql: String) throws -> [String] {
        try connection.query("EXPLAIN " + sql) { $0.string(1) }
    }

    static let auditInsert = """
        INSERT INTO audit_log (site, external_id, case_id, action, key_id, at, version, changed_paths)
        VALUES ('S', 'E', 'id', 'create', NULL, '2026-01-01T00:00:00.000Z', 1, '[]')
        """

    /// sqlite/0008 rebuilds audit_log: rows written before keep their sequence numbers and values,
    /// both indexes are back, the CHECK still refuses an unknown action, and an insert no longer
    /// builds a temporary B-tree for the IN list (it did before: the test can fail).
    @Test func theRebuiltAuditLogKeepsItsRowsIndexesAndRule() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let shipped = try MigrationRunner(directory: Self.shippedMigrations).migrations
        #expect(shipped.contains { $0.version == 8 && $0.name == "audit_action_check" })
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try MigrationRunner(migrations: shipped.filter { $0.version < 8 }).migrate(database)
        let columns = "seq, site, external_id, case_id, action, key_id, at, version, changed_paths"
        try database.write { connection in
            #expect(try Self.explain(connection, Self.auditInsert).contains("OpenEphemeral"))
            for (i, action) in ["create", "update", "erase", "reclassify"].enumerated() {
                try connection.run(
                    "INSERT INTO audit_log (\(columns)) VALUES (?, 'S', ?, 'id', ?, ?, '2026-01-01T00:00:00.000Z', ?, ?)",
                    [10 * (i + 1), "E\(i)", action, i == 2 ? nil : "key-\(i)", i == 2 ? nil : i, #"["/sex"]"#])
            }
        }
        func rows() throws -> [[String?]] {
            try database.read { try $0.query("SELECT \(columns) FROM audit_log ORDER BY seq") { row in (0..<9).map { row.optionalString($0) } } }
        }
        let before = try rows()
        #expect(before.count == 4)

        try MigrationRunner(migrations: shipped).migrate(database)
        #expect(try rows() == before)
        let indexes = try database.read {
            try $0.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' ORDER BY name") { $0.string(0) }
        }
        #expect(indexes == ["audit_log_at", "audit_log_case"])
        try database.write { connection in
            #expect(!(try Self.explain(connection, Self.auditInsert).contains("OpenEphemeral")))
            try connection.run(Self.auditInsert)
            #expect(try connection.queryOne("SELECT max(seq) FROM audit_log") { $0.int(0) } == 41)
            #expect(throws: DatabaseError.self) {
                try connection.run(Self.auditInsert.replacingOccurrences(of: "'create'", with: "'delete'"))
            }
        }
    }

    /// A grouped write runs in a savepoint, and SQLite journals every existing page it changes.
    /// That journal stays in memory: past SQLite's default of 64 KiB it used to become a temporary
    /// file in the temp folder (`etilqs_*`), written page by page, for nearly every batch. A larger
    /// journal than the memory allowed still spills (so the test also sees a spill happen).
    @Test func aGroupedWritesSavepointJournalStaysInMemory() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { connection in
            try connection.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
            for i in 0..<240 { try connection.run("INSERT INTO t (a, b) VALUES (?, ?)", [i, String(repeating: "x", count: 1_000)]) }
        }
        /// The temporary files open while a grouped write changes `rows` existing rows (4 per page;
        /// SQLite leaves a row that does not change unwritten, so `value` must change each one).
        func temporaryFiles(updating rows: Int, to value: String) throws -> [String] {
            try database.groupedWrite { connection -> [String] in
                #expect(try connection.run("UPDATE t SET b = \(value) WHERE a < ?", [rows]) == rows)
                let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
                return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
                    .filter { $0.contains("etilqs") }
            }
        }
        // About 24 pages (98 KB): more than SQLite's default, less than the 128 KiB kept in memory.
        #expect(try temporaryFiles(updating: 96, to: "upper(b)") == [])
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t WHERE b = upper(b)") { $0.int(0) } } == 96)
        // About 60 pages (246 KB): more than that, so it spills to a file as before.
        #expect(try temporaryFiles(updating: 240, to: "'z' || substr(b, 2)").count == 1)
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t WHERE b LIKE 'z%'") { $0.int(0) } } == 240)
    }

    /// SQLite batches run without a savepoint per job. A job that fails before changing a row is
    /// answered alone and the rest of its batch is not run again (every successful body ran
    /// exactly once); a job that fails after changing rows sends its batch back job by job, in
    /// savepoints, and only its own rows are undone.
    @Test func failuresBeforeAWriteCostTheBatchNothingAndAfterAWriteAreUndoneAlone() throws {
        struct Refused: Error {}
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)") }
        let runs = Mutex<[Int: Int]>([:])
        let refused = Mutex<Set<Int>>([])
        DispatchQueue.concurrentPerform(iterations: 96) { i in
            do {
                try database.groupedWrite { connection in
                    runs.withLock { $0[i, default: 0] += 1 }
                    // Read first, refuse before writing (as a 409 does).
                    _ = try connection.queryOne("SELECT count(*) FROM t") { $0.int(0) }
                    if i % 6 == 0 { throw Refused() }
                    try connection.run("INSERT INTO t (a) VALUES (?)", [i])
                }
            } catch {
                if error is Refused { refused.withLock { _ = $0.insert(i) } }
            }
        }
        let stored = try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } }
        #expect(stored == (0..<96).filter { $0 % 6 != 0 })
        #expect(refused.withLock { $0 } == Set((0..<96).filter { $0 % 6 == 0 }))
        #expect(runs.withLock { $0 }.values.allSatisfy { $0 == 1 })

        // Fails after writing: undone alone, whether its batch ran again or not.
        try database.write { try $0.execute("DELETE FROM t") }
        DispatchQueue.concurrentPerform(iterations: 96) { i in
            _ = try? database.groupedWrite { connection in
                try connection.run("INSERT INTO t (a) VALUES (?)", [i])
                if i % 6 == 0 { throw Refused() }
            }
        }
        #expect(try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } } == (0..<96).filter { $0 % 6 != 0 })
    }
}
