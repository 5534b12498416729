import Foundation
@testable import Storage
import Synchronization
import Testing

/// Row-locked batches on PostgreSQL run first whole, without savepoints, their statements and
/// COMMIT sent in one round trip; if anything fails the batch is rolled back and run again job by
/// job (`GroupCommitQueue.commitOptimistically`). These tests line jobs up in ONE batch (behind
/// an exclusive write of another instance) and check that the second run gives every job what it
/// would get alone, and stores nothing of a failed one.
@Suite struct PostgresPipelinedBatchTests {
    struct Refused: Error {}

    /// Runs `jobs` so that each database's jobs form one batch: an exclusive write of `holder`
    /// blocks every row-locked batch; each database gets a first job that leads (and waits for
    /// the lock) and then the jobs, one after the other, in order; then the exclusive write ends.
    static func inOneBatchEach(holder: Database, _ jobs: [(Database, @Sendable () -> Void)]) throws {
        let hold = try ExclusiveWriteHold(on: holder)
        let threads = DetachedThreads()
        var databases: [ObjectIdentifier: Database] = [:]
        for (database, _) in jobs { databases[ObjectIdentifier(database)] = database }
        for database in databases.values {
            threads.start { _ = try? database.rowLockedGroupedWrite(statement: "SELECT 1", []) }
            try waitForRowLockedQueue(database, pending: 0, leaders: 1)
        }
        var queued: [ObjectIdentifier: Int] = [:]
        for (database, job) in jobs {
            threads.start(job)
            queued[ObjectIdentifier(database), default: 0] += 1
            try waitForRowLockedQueue(database, pending: queued[ObjectIdentifier(database)]!, leaders: 1)
        }
        try hold.end()
        try threads.join()
    }

    /// Nothing fails: the batch's statements, its one data-version-like bump (asked for by every
    /// job, run once) and COMMIT travel together; each job learns the rows it changed.
    @Test(arguments: postgresServers) func aBatchOfStatementsCommitsWithItsBumpOnce(server: String) throws {
        try ScratchPostgresDatabase.withInstances(server: server, pools: [2, 1]) { instances in
            let database = instances[0], holder = instances[1]
            try database.write {
                try $0.execute("CREATE TABLE t (a integer PRIMARY KEY); CREATE TABLE bumps (n integer); INSERT INTO bumps VALUES (0)")
            }
            let bump = "UPDATE bumps SET n = n + 1"
            let rows = Mutex<[Int: Int]>([:])
            try Self.inOneBatchEach(holder: holder, (0..<10).map { i in
                (database, { @Sendable in
                    let changed = try? database.rowLockedGroupedWrite(
                        statement: "INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING", [i % 8], beforeCommit: bump)
                    rows.withLock { $0[i] = changed ?? -1 }
                })
            })
            // 0 and 1 come twice: the second of each changes nothing (same transaction, sees the first).
            #expect(rows.withLock { $0 } == [0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 0, 9: 0])
            #expect(try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } } == Array(0..<8))
            // One bump for the leading job's batch (it asked for none) and one for the ten.
            #expect(try database.read { try $0.queryOne("SELECT n FROM bumps") { $0.int(0) } } == 1)
            #expect(database.poolStatistics?.inUse == 0)
        }
    }

    /// One batch with statements that fail in SQL (duplicate key, check constraint, a table that
    /// does not exist), a body that writes and then throws, and jobs that succeed: every job gets
    /// what it would get alone, the failed ones leave nothing behind, the rest commit, the bump
    /// runs once.
    @Test(arguments: postgresServers) func failuresInABatchAreUndoneAloneAndTheRestCommits(server: String) throws {
        try ScratchPostgresDatabase.withInstances(server: server, pools: [2, 1]) { instances in
            let database = instances[0], holder = instances[1]
            try database.write {
                try $0.execute(
                    "CREATE TABLE t (a integer PRIMARY KEY CHECK (a >= 0)); INSERT INTO t VALUES (1000); "
                        + "CREATE TABLE bumps (n integer); INSERT INTO bumps VALUES (0)")
            }
            let bump = "UPDATE bumps SET n = n + 1"
            let outcomes = Mutex<[String: String]>([:])
            @Sendable func statement(
                _ name: String, _ value: Int, into table: String = "t", beforeCommit: String? = bump
            ) -> (Database, @Sendable () -> Void) {
                (database, {
                    let outcome: String
                    do {
                        outcome = "rows \(try database.rowLockedGroupedWrite(statement: "INSERT INTO \(table) (a) VALUES (?)", [value], beforeCommit: beforeCommit))"
                    } catch let error as DatabaseError {
                        outcome = error.sqlState ?? "?"
                    } catch {
                        outcome = "other"
                    }
                    outcomes.withLock { $0[name] = outcome }
                })
            }
            // A statement the server cannot even prepare (no such table): it fails alone too.
            let unpreparable = statement("unpreparable", 7, into: "no_such_table", beforeCommit: nil)
            @Sendable func body(_ name: String, _ value: Int, refuse: Bool) -> (Database, @Sendable () -> Void) {
                (database, {
                    let outcome: String
                    do {
                        try database.rowLockedGroupedWrite { connection in
                            try connection.run("INSERT INTO t (a) VALUES (?)", [value])
                            connection.runBeforeCommit(bump)
                            if refuse { throw Refused() }
                        }
                        outcome = "ok"
                    } catch is Refused {
                        outcome = "refused"
                    } catch {
                        outcome = "other"
                    }
                    outcomes.withLock { $0[name] = outcome }
                })
            }
            try Self.inOneBatchEach(holder: holder, [
                statement("s1", 1), statement("duplicate", 1000), body("refused", 3, refuse: true), statement("negative", -4),
                body("b5", 5, refuse: false), statement("s6", 6), unpreparable, statement("again", 6),
            ])
            #expect(outcomes.withLock { $0 } == [
                "s1": "rows 1", "duplicate": "23505", "refused": "refused", "negative": "23514", "b5": "ok", "s6": "rows 1",
                "again": "23505", "unpreparable": "42P01",
            ])
            #expect(try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } } == [1, 5, 6, 1000])
            #expect(try database.read { try $0.queryOne("SELECT n FROM bumps") { $0.int(0) } } == 1)
            #expect(database.poolStatistics?.inUse == 0)
        }
    }

    /// Two instances' batches lock two rows in crossed order (each statement sleeps before it
    /// locks, so they cross for sure): PostgreSQL fails one batch with a deadlock, which is rolled
    /// back and run again job by job after the other commits. No increment is lost or doubled.
    @Test(arguments: postgresServers) func crossedBatchesOfTwoInstancesDeadlockAndAreRunAgain(server: String) throws {
        try ScratchPostgresDatabase.withInstances(server: server, pools: [2, 2, 1]) { instances in
            let a = instances[0], b = instances[1], holder = instances[2]
            try a.write { try $0.execute("CREATE TABLE counter (id integer PRIMARY KEY, n integer); INSERT INTO counter VALUES (1, 0), (2, 0)") }
            let slowIncrement = "UPDATE counter SET n = n + 1 WHERE id = ? AND (SELECT true FROM pg_sleep(0.3))"
            let failures = Atomic<Int>(0)
            func increment(_ database: Database, _ id: Int) -> (Database, @Sendable () -> Void) {
                (database, {
                    do {
                        let changed = try database.rowLockedGroupedWrite(statement: slowIncrement, [id])
                        if changed != 1 { failures.add(1, ordering: .relaxed) }
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                })
            }
            let deadlocksBefore = try Self.deadlocks(a)
            try Self.inOneBatchEach(holder: holder, [increment(a, 1), increment(a, 2), increment(b, 2), increment(b, 1)])
            #expect(failures.load(ordering: .relaxed) == 0)
            #expect(try a.read { try $0.query("SELECT n FROM counter ORDER BY id") { $0.int(0) } } == [2, 2])
            // The server counts the deadlock (its statistics arrive within a second or so).
            let deadline = Date().addingTimeInterval(10)
            var deadlocks = try Self.deadlocks(a)
            while deadlocks == deadlocksBefore && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
                deadlocks = try Self.deadlocks(a)
            }
            #expect(deadlocks > deadlocksBefore, "the batches did not cross: the test proved nothing")
        }
    }

    static func deadlocks(_ database: Database) throws -> Int {
        try database.read { connection in
            try connection.execute("SELECT pg_stat_clear_snapshot()")
            return try connection.queryOne(
                "SELECT CAST(deadlocks AS BIGINT) FROM pg_stat_database WHERE datname = current_database()") { $0.int(0) } ?? 0
        }
    }
}
