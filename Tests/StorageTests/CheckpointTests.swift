import Foundation
@testable import Storage
import TestSupport
import Testing

@Suite struct BackgroundCheckpointTests {
    func backgroundCheckpointer(_ database: Database) -> BackgroundCheckpointer? {
        guard case .sqlite(let sqlite) = database.backend else { return nil }
        return sqlite.checkpointer
    }

    func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
    }

    /// A database with one table `t`, whose rows (`insertPageRows`) take about one page each.
    func databaseWithPageTable(_ configuration: Database.Configuration) throws -> Database {
        let database = try Database(configuration: configuration)
        try database.write { try $0.run("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)") }
        return database
    }

    /// Inserts the rows `ids` into `t` in one transaction, each about one 4 KiB page.
    func insertPageRows(_ connection: Connection, _ ids: Range<Int>) throws {
        let payload = String(repeating: "x", count: 3_000)
        try connection.transaction {
            for i in ids { try connection.run("INSERT INTO t (id, payload) VALUES (?, ?)", [i, payload]) }
        }
    }

    /// A write that leaves a WAL of more than 4,096 pages is answered without copying it into the
    /// file; a background thread does that; small writes are checkpointed as SQLite always did.
    @Test func aLargeWriteIsCheckpointedInTheBackgroundAndSmallOnesInline() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.file("db.sqlite")
        let database = try databaseWithPageTable(.init(path: path))
        let checkpointer = try #require(backgroundCheckpointer(database))
        for batch in 0..<3 {
            try database.write { connection in try insertPageRows(connection, (batch * 300)..<(batch * 300 + 300)) }
        }
        #expect(checkpointer.completedCount == 0)  // 900 pages and fewer: SQLite's own inline checkpoint
        try database.write { connection in try insertPageRows(connection, 10_000..<16_000) }
        let deadline = ContinuousClock.now + .seconds(60)
        while checkpointer.completedCount == 0 || checkpointer.isRunning {
            guard ContinuousClock.now < deadline else {
                Issue.record("no background checkpoint finished within 60 s")
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(checkpointer.completedCount >= 1)
        #expect(walBytes(path) > Int(BackgroundCheckpointer.deferAbovePages) * 4_096)  // the WAL the large write left
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 6_900)
        database.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// Closing waits for a checkpoint under way and starts none after it.
    @Test func closingWaitsForTheRunningCheckpoint() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.file("db.sqlite")
        let database = try databaseWithPageTable(.init(path: path))
        let checkpointer = try #require(backgroundCheckpointer(database))
        try database.write { connection in
            try insertPageRows(connection, 0..<5_000)
        }
        database.close()  // returns only after the background checkpoint (if it started) ended
        #expect(!checkpointer.isRunning)
        checkpointer.request()
        #expect(!checkpointer.isRunning)  // stopped: no new one
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let reopened = try Database(configuration: .init(path: path))
        defer { reopened.close() }
        #expect(try reopened.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 5_000)
    }

    /// A large write that begins while the background checkpoint of the previous one still runs
    /// could not start the WAL over, and appended to it: 100,000-case imports sent one after the
    /// other grew the WAL by 250 MB each. `bulkWrite` lets that checkpoint finish first, so the
    /// second write reuses the WAL from its start and the file stays the size of one write.
    @Test func aBulkWriteRightAfterALargeOneStartsTheWALOver() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.file("db.sqlite")
        let database = try databaseWithPageTable(.init(path: path))
        defer { database.close() }
        let checkpointer = try #require(backgroundCheckpointer(database))
        func largeWrite(from first: Int) throws {
            try database.bulkWrite { connection in try insertPageRows(connection, first..<(first + 6_000)) }
        }
        try largeWrite(from: 0)
        // The commit asked for a background checkpoint before it returned; it is copying now.
        let afterFirst = walBytes(path)
        #expect(afterFirst > Int(BackgroundCheckpointer.deferAbovePages) * 4_096)
        try largeWrite(from: 10_000)
        let afterSecond = walBytes(path)
        #expect(afterSecond < afterFirst + afterFirst / 4, "the second write appended to the WAL: \(afterFirst) then \(afterSecond) bytes")
        #expect(checkpointer.waitUntilIdle(timeout: .seconds(60)))
        #expect(checkpointer.completedCount >= 2)
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 12_000)
    }

    /// The writer's page cache is what a successful import leaves in the server's memory (about
    /// 33 MB at the default `writerCacheKiB`): it fills up to its cap and no further, however
    /// large and however many the writes.
    @Test func theWritersPageCacheStaysWithinItsCap() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        var configuration = Database.Configuration(path: tmp.file("db.sqlite"))
        configuration.writerCacheKiB = 2 * 1024
        let database = try databaseWithPageTable(configuration)
        defer { database.close() }
        var sizes: [Int] = []
        for round in 0..<3 {
            // 1,500 pages (6 MB) per write: three times the cap.
            sizes.append(
                try database.write { connection in
                    try insertPageRows(connection, (round * 10_000)..<(round * 10_000 + 1_500))
                    guard case .sqlite(let sqlite) = connection.driver else { return 0 }
                    return sqlite.pageCacheBytes
                })
        }
        // The cap counts pages and their extra bytes; SQLite's figure adds its page headers (a few %).
        let cap = configuration.writerCacheKiB * 1_024
        for size in sizes { #expect(size > cap / 2 && size <= cap + cap / 20, "page cache \(size) bytes, cap \(cap)") }
    }
}
