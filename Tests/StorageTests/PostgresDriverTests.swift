import Foundation
@testable import Storage
import Synchronization
import TestSupport
import Testing

/// The PostgreSQL servers to test against: the one `ICMM_TEST_POSTGRES_URL` names (`make test`
/// and `.ci/run` start a throwaway cluster and set it), else none.
let postgresServers: [String] = {
    guard let url = ProcessInfo.processInfo.environment["ICMM_TEST_POSTGRES_URL"], !url.isEmpty else { return [] }
    return [url]
}()

/// A database of its own on the server, dropped at the end of the test.
final class ScratchPostgresDatabase {
    let server: String
    let name = "icmm_test_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let url: String

    init(server: String) throws {
        self.server = server
        var components = URLComponents(string: server)!
        components.path = "/" + name
        url = components.string!
        try Self.onServer(server) { try $0.execute("CREATE DATABASE \(name)") }
    }

    func open(pool: Int = 4, wait: Duration = .seconds(10)) throws -> Database {
        var configuration = Database.PostgresConfiguration(url: url)
        configuration.poolSize = pool
        configuration.poolWait = wait
        return try Database(postgres: configuration)
    }

    func drop() { try? Self.onServer(server) { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }

    /// Runs `body` with a scratch database on `server` opened once per entry of `pools` (with that
    /// pool size): instances of the registry sharing one database. Closes them, then drops it.
    static func withInstances(server: String, pools: [Int], _ body: ([Database]) throws -> Void) throws {
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        var instances: [Database] = []
        defer { instances.forEach { $0.close() } }
        for pool in pools { instances.append(try scratch.open(pool: pool)) }
        try body(instances)
    }

    static func onServer(_ url: String, _ body: (Connection) throws -> Void) throws {
        var configuration = Database.PostgresConfiguration(url: url)
        configuration.poolSize = 1
        let server = try Database(postgres: configuration)
        defer { server.close() }
        try server.read(body)
    }
}

/// Runs `write(database, thread, call)` `perThread` times on each of `threads` threads, the even
/// threads on `a` and the odd ones on `b`, all at once. Returns whether they all ended within
/// `timeout` and how many calls threw.
func writeFromTwoInstances(
    _ a: Database, _ b: Database, threads: Int, perThread: Int, timeout: Double = 60,
    _ write: @escaping @Sendable (Database, Int, Int) throws -> Void
) -> (ended: DispatchTimeoutResult, failures: Int) {
    let done = DispatchGroup()
    let failures = Atomic<Int>(0)
    for t in 0..<threads {
        done.enter()
        Thread.detachNewThread {
            defer { done.leave() }
            let database = t % 2 == 0 ? a : b
            for i in 0..<perThread {
                do {
                    try write(database, t, i)
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
    }
    let ended = done.wait(timeout: .now() + timeout)
    return (ended, failures.load(ordering: .relaxed))
}

@Suite struct PostgresPlaceholderTests {
    @Test func questionMarksBecomeNumberedParametersOutsideQuotesAndComments() {
        let sql = "SELECT '?', ? FROM \"a?b\" WHERE x = ? -- why?\n AND y IN (?, ?)"
        #expect(
            PostgresConnection.numberedPlaceholders(sql)
                == "SELECT '?', $1 FROM \"a?b\" WHERE x = $2 -- why?\n AND y IN ($3, $4)")
        #expect(PostgresConnection.numberedPlaceholders("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1")
    }

    @Test func textIntegersParseInPlace() {
        func parse(_ text: String) -> Int64 { Array(text.utf8).withUnsafeBufferPointer { PostgresText.int64($0) } }
        #expect(parse("0") == 0)
        #expect(parse("-42") == -42)
        #expect(parse("9223372036854775807") == Int64.max)
        #expect(parse("12a") == 0)
    }

    @Test func onlyPostgresURLsSelectPostgreSQL() {
        #expect(Database.isPostgresURL("postgres://u@h:5432/db"))
        #expect(Database.isPostgresURL("postgresql://u@h/db?sslmode=require"))
        #expect(!Database.isPostgresURL("./var/icmm.sqlite"))
        #expect(!Database.isPostgresURL("/data/postgres://x.sqlite"))
    }
}

@Suite struct PostgresDriverTests {
    @Test(arguments: postgresServers) func valuesRoundTripThroughTheTextFormat(server: String) throws {
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        let database = try scratch.open()
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE v (i bigint, r double precision, t text, b bytea, n integer)") }
        try database.write {
            try $0.run("INSERT INTO v (i, r, t, b, n) VALUES (?, ?, ?, ?, ?)", [Int64.min + 1, 0.1, "é ? '--", DatabaseValue.blob([0, 255, 16]), nil as Int?])
        }
        let row = try database.read {
            try $0.queryOne("SELECT i, r, t, b, n FROM v") { row in
                (row.int64(0), row.double(1), row.string(2), row.bytes(3), row.optionalInt(4), row.isNull(4), row.columnCount)
            }
        }
        #expect(row?.0 == Int64.min + 1)
        #expect(row?.1 == 0.1)
        #expect(row?.2 == "é ? '--")
        #expect(row?.3 == [0, 255, 16])
        #expect(row?.4 == nil && row?.5 == true && row?.6 == 5)
        #expect(try database.write { try $0.run("UPDATE v SET n = ? WHERE i < ?", [1, 0]) } == 1)
    }

    @Test(arguments: postgresServers) func aUniqueViolationIsRecognisedAndNeverQuotesTheValue(server: String) throws {
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        let database = try scratch.open()
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE p (id text PRIMARY KEY)") }
        try database.write { try $0.run("INSERT INTO p (id) VALUES (?)", ["patient-secret-7"]) }
        do {
            try database.write { try $0.run("INSERT INTO p (id) VALUES (?)", ["patient-secret-7"]) }
            Issue.record("a duplicate key must fail")
        } catch let error as DatabaseError {
            #expect(error.isUniqueConstraintViolation)
            #expect(error.sqlState == "23505")
            #expect(error.description.contains("INSERT INTO p"))
            #expect(!error.description.contains("patient-secret-7"))
        }
        // The pool is still usable: the failed statement left no transaction open.
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM p") { $0.int(0) } } == 1)
    }

    @Test(arguments: postgresServers) func commitsAreSynchronousWhateverTheServerDefault(server: String) throws {
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        try ScratchPostgresDatabase.onServer(server) { try $0.execute("ALTER DATABASE \(scratch.name) SET synchronous_commit = off") }
        let database = try scratch.open()
        defer { database.close() }
        #expect(try database.read { try $0.queryOne("SHOW synchronous_commit") { $0.string(0) } } == "on")
        #expect(try database.write { try $0.queryOne("SHOW synchronous_commit") { $0.string(0) } } == "on")
    }

    @Test(arguments: postgresServers) func aTransactionRollsBackWhenItsBodyThrows(server: String) throws {
        struct Stop: Error {}
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        let database = try scratch.open()
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a integer)") }
        #expect(throws: Stop.self) {
            try database.write { connection in
                try connection.transaction {
                    try connection.run("INSERT INTO t (a) VALUES (?)", [1])
                    throw Stop()
                }
            }
        }
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 0)
    }

    /// Two `Database`s on one PostgreSQL database stand for two instances: while one is inside a
    /// write, the other's write waits for it (the advisory lock), as two processes on one SQLite file do.
    @Test(arguments: postgresServers) func writesOfTwoInstancesNeverOverlap(server: String) throws {
        try ScratchPostgresDatabase.withInstances(server: server, pools: [4, 4]) { instances in
            let a = instances[0], b = instances[1]
            try a.write { try $0.execute("CREATE TABLE counter (n integer); INSERT INTO counter VALUES (0)") }
            // Read-then-write increments from both instances at once: with the writes serialized, none is lost.
            let perThread = 25
            let threads = 4
            let run = writeFromTwoInstances(a, b, threads: threads, perThread: perThread) { database, _, _ in
                try database.groupedWrite { connection in
                    let n = try connection.queryOne("SELECT n FROM counter") { $0.int(0) } ?? 0
                    try connection.run("UPDATE counter SET n = ?", [n + 1])
                }
            }
            #expect(run.ended == .success)
            #expect(run.failures == 0)
            #expect(try a.read { try $0.queryOne("SELECT n FROM counter") { $0.int(0) } } == perThread * threads)
        }
    }

    /// Row-locked grouped writes (single-case writes) of two instances run side by side; one that
    /// reads its row FOR UPDATE before writing it loses no update, and an exclusive write still
    /// keeps them all out while it runs (the writers' lock, taken shared by them).
    @Test(arguments: postgresServers) func rowLockedWritesOfTwoInstancesLoseNoUpdateAndWaitForAnExclusiveOne(server: String) throws {
        try ScratchPostgresDatabase.withInstances(server: server, pools: [4, 4]) { instances in
            let a = instances[0], b = instances[1]
            try a.write { try $0.execute("CREATE TABLE counter (id integer PRIMARY KEY, n integer); INSERT INTO counter VALUES (1, 0), (2, 0)") }
            let perThread = 25
            let threads = 4
            let run = writeFromTwoInstances(a, b, threads: threads, perThread: perThread) { database, t, i in
                try database.rowLockedGroupedWrite { connection in
                    let id = 1 + (t + i) % 2
                    let n = try connection.queryOne("SELECT n FROM counter WHERE id = ? FOR UPDATE", [id]) { $0.int(0) } ?? 0
                    try connection.run("UPDATE counter SET n = ? WHERE id = ?", [n + 1, id])
                }
            }
            #expect(run.ended == .success)
            #expect(run.failures == 0)
            #expect(try a.read { try $0.queryOne("SELECT sum(n) FROM counter") { $0.int(0) } } == perThread * threads)

            // An exclusive write on A: B's row-locked write waits until it has committed, and then sees it.
            let hold = try ExclusiveWriteHold(on: a) { connection in
                try connection.run("UPDATE counter SET n = 1000 WHERE id = 1")
            }
            let waited = Atomic<Bool>(false)
            let rowLocked = DispatchGroup()
            rowLocked.enter()
            Thread.detachNewThread {
                defer { rowLocked.leave() }
                // Another row than the exclusive write's: only the writers' lock can make it wait.
                try? b.rowLockedGroupedWrite { connection in
                    try connection.run("UPDATE counter SET n = n + 1 WHERE id = 2")
                }
                waited.store(true, ordering: .sequentiallyConsistent)
            }
            #expect(rowLocked.wait(timeout: .now() + 0.5) == .timedOut, "a row-locked write ran during an exclusive one")
            let ranEarly = waited.load(ordering: .sequentiallyConsistent)
            #expect(!ranEarly)
            try hold.end()
            #expect(rowLocked.wait(timeout: .now() + 30) == .success)
            #expect(try a.read { try $0.queryOne("SELECT n FROM counter WHERE id = 1") { $0.int(0) } } == 1000)
        }
    }

    /// A grouped write that fails in SQL (a duplicate key) or in Swift is undone alone; the others
    /// of its batch commit (savepoints sent with the next statement, see `Connection.control`).
    @Test(arguments: postgresServers) func aFailingGroupedWriteIsUndoneAloneAndTheBatchCommits(server: String) throws {
        struct Refused: Error {}
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        let database = try scratch.open()
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a integer PRIMARY KEY); INSERT INTO t VALUES (1000)") }
        let outcomes = Mutex<[Int: String]>([:])
        DispatchQueue.concurrentPerform(iterations: 48) { i in
            do {
                try database.groupedWrite { connection in
                    try connection.run("INSERT INTO t (a) VALUES (?)", [i % 12 == 0 ? 1000 : i])  // 1000 exists
                    if i % 8 == 0 { throw Refused() }
                    _ = try connection.queryOne("SELECT count(*) FROM t WHERE a = ?", [i]) { $0.int(0) }
                }
                outcomes.withLock { $0[i] = "ok" }
            } catch let error as DatabaseError where error.isUniqueConstraintViolation {
                outcomes.withLock { $0[i] = "duplicate" }
            } catch is Refused {
                outcomes.withLock { $0[i] = "refused" }
            } catch {
                outcomes.withLock { $0[i] = "other" }
            }
        }
        let stored = try database.read { try $0.query("SELECT a FROM t WHERE a < 1000 ORDER BY a") { $0.int(0) } }
        #expect(stored == (0..<48).filter { $0 % 12 != 0 && $0 % 8 != 0 })
        let all = outcomes.withLock { $0 }
        #expect(all.filter { $0.value == "duplicate" }.keys.sorted() == [0, 12, 24, 36])
        #expect(all.filter { $0.value == "refused" }.keys.sorted() == [8, 16, 32, 40])
        #expect(all.filter { $0.value == "other" }.isEmpty)
        #expect(database.poolStatistics?.inUse == 0)
    }

    @Test(arguments: postgresServers) func aFullPoolMakesCallersWaitThenAnswersBusy(server: String) throws {
        let scratch = try ScratchPostgresDatabase(server: server)
        defer { scratch.drop() }
        let database = try scratch.open(pool: 1, wait: .milliseconds(200))
        defer { database.close() }
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? database.read { _ in
                held.signal()
                _ = release.wait(timeout: .now() + 10)
            }
        }
        #expect(held.wait(timeout: .now() + 10) == .success)
        #expect(database.poolStatistics?.inUse == 1)
        #expect(database.poolStatistics?.idle == 0)
        do {
            _ = try database.read { try $0.queryOne("SELECT 1") { $0.int(0) } }
            Issue.record("the pool is full: the read must give up after the wait")
        } catch let error as DatabaseError {
            #expect(error.isBusy)
        }
        release.signal()
        try waitUntil("the connection is back in the pool") { database.poolStatistics?.idle == 1 }
        #expect((database.poolStatistics?.waits ?? 0) >= 1)
        #expect(database.ping())
    }

    @Test func anUnreachableServerIsUnavailable() throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var configuration = Database.PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
        configuration.poolSize = 1
        do {
            _ = try Database(postgres: configuration)
            Issue.record("no server: opening must fail")
        } catch let error as DatabaseError {
            #expect(error.isUnavailable)
        }
    }

    @Test(arguments: postgresServers) func theShippedMigrationsApplyOnceEvenFromTwoInstancesAtOnce(server: String) throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Migrations/postgres").standardizedFileURL.path
        let runner = try MigrationRunner(directory: folder)
        try ScratchPostgresDatabase.withInstances(server: server, pools: [4, 4]) { instances in
            let a = instances[0], b = instances[1]
            let applied = Mutex<[[Int]]>([])
            // One thread on each instance.
            let run = writeFromTwoInstances(a, b, threads: 2, perThread: 1) { database, _, _ in
                let versions = try runner.migrate(database)
                applied.withLock { $0.append(versions) }
            }
            #expect(run.ended == .success)
            #expect(run.failures == 0)
            // One instance applied all six, the other found nothing to do.
            #expect(applied.withLock { $0.map(\.count).sorted() } == [0, runner.migrations.count])
            #expect(runner.isCurrent(b))
            #expect(try runner.status(a).allSatisfy { $0.appliedAt != nil })
            // The names and order are SQLite's: one numbering for both dialects.
            let sqlite = try MigrationRunner(directory: folder.replacingOccurrences(of: "/postgres", with: "/sqlite"))
            #expect(sqlite.migrations.map { "\($0.version)_\($0.name)" } == runner.migrations.map { "\($0.version)_\($0.name)" })
        }
    }
}
