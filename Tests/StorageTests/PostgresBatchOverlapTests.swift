import Foundation
@testable import Storage
import Testing

/// While a row-locked batch is under way, the next one starts only once `jobsToOverlap` jobs wait
/// for it (`GroupCommitQueue.submit`): fewer, larger batches, whose cost on the server is mostly
/// per batch. With no batch under way, a job starts one at once.
@Suite struct PostgresBatchOverlapTests {
    @Test(arguments: postgresServers) func aSecondBatchStartsOnlyOnceEnoughJobsWait(server: String) throws {
        // Pool 6: up to 3 batches at once. The second instance holds the writers' lock exclusively,
        // so that every batch of the first waits (under way) until it lets go.
        try ScratchPostgresDatabase.withInstances(server: server, pools: [6, 1]) { instances in
            let database = instances[0], holder = instances[1]
            let queue = database.rowLockedGroupCommit
            #expect(queue.maxLeaders == 3 && queue.jobsToOverlap == 8)
            try database.write { try $0.execute("CREATE TABLE t (a integer PRIMARY KEY)") }
            let hold = try ExclusiveWriteHold(on: holder)
            let threads = DetachedThreads()
            func insert(_ value: Int) {
                threads.start { _ = try? database.rowLockedGroupedWrite(statement: "INSERT INTO t (a) VALUES (?)", [value]) }
            }
            func waitFor(pending: Int, leaders: Int) throws {
                try waitForRowLockedQueue(database, pending: pending, leaders: leaders)
            }
            // The first job finds no batch under way: it starts one at once, alone.
            insert(0)
            try waitFor(pending: 0, leaders: 1)
            // Seven more wait, though two leaders' places are free.
            for value in 1...7 {
                insert(value)
                try waitFor(pending: value, leaders: 1)
            }
            Thread.sleep(forTimeInterval: 0.05)
            #expect(queue.queueState == (7, 1))
            // The eighth makes enough: it starts the second batch with all eight.
            insert(8)
            try waitFor(pending: 0, leaders: 2)
            try hold.end()
            try threads.join()
            #expect(try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } } == Array(0...8))
            #expect(queue.queueState == (0, 0))
        }
    }
}
