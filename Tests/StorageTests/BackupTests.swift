import CSQLite
import Foundation
import Storage
import Synchronization
import TestSupport
import Testing

/// Waits for `condition` until `seconds` pass; false when the deadline passed first.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(1_000)
    }
    return true
}

@Suite struct BackupTests {
    /// A writer thread commits rows one by one (each acknowledged only once durable) before,
    /// during and after the backup. The copy must pass integrity_check and hold every row
    /// acknowledged before the backup started.
    @Test func aBackupUnderConcurrentWritesIsCompleteAndIntact() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("live.sqlite")))
        defer { database.close() }
        // Enough pages (about 16 MB) that the copy takes a while, with writes landing meanwhile.
        try database.write { connection in
            try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, padding BLOB NOT NULL)")
            try connection.transaction {
                for _ in 0..<4_000 { try connection.run("INSERT INTO t (padding) VALUES (randomblob(4000))") }
            }
        }
        let base = 4_000
        let acknowledged = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let writerDone = Atomic<Bool>(false)
        let writerFailure = Mutex<String?>(nil)
        let writer = Thread {
            defer { writerDone.store(true, ordering: .sequentiallyConsistent) }
            var n = 0
            while !stop.load(ordering: .sequentiallyConsistent) {
                n += 1
                do {
                    try database.groupedWrite { connection in
                        try connection.run("INSERT INTO t (id, padding) VALUES (?, randomblob(100))", [base + n])
                    }
                    acknowledged.store(n, ordering: .sequentiallyConsistent)
                } catch {
                    writerFailure.withLock { $0 = "\(error)" }
                    return
                }
            }
        }
        writer.start()
        defer {
            stop.store(true, ordering: .sequentiallyConsistent)
            _ = waitUntil(seconds: 10) { writerDone.load(ordering: .sequentiallyConsistent) }
        }
        #expect(waitUntil(seconds: 20) { acknowledged.load(ordering: .sequentiallyConsistent) >= 50 }, "the writer made no progress")

        let acknowledgedBefore = acknowledged.load(ordering: .sequentiallyConsistent)
        let summary = try Database.backup(from: tmp.file("live.sqlite"), to: tmp.file("copies/backup.sqlite"))
        let acknowledgedAfter = acknowledged.load(ordering: .sequentiallyConsistent)
        stop.store(true, ordering: .sequentiallyConsistent)
        #expect(waitUntil(seconds: 10) { writerDone.load(ordering: .sequentiallyConsistent) }, "the writer did not stop")
        #expect(writerFailure.withLock { $0 } == nil)
        // The writer was never blocked by the copy.
        #expect(acknowledgedAfter > acknowledgedBefore)
        #expect(summary.pages > 4_000)

        let copy = try Connection(path: tmp.file("copies/backup.sqlite"), readOnly: true)
        #expect(try copy.query("PRAGMA integrity_check") { $0.string(0) } == ["ok"])
        #expect(try copy.queryOne("PRAGMA journal_mode") { $0.string(0) } == "delete")
        let ids = Set(try copy.query("SELECT id FROM t WHERE id > ?", [base]) { $0.int(0) })
        for n in 1...acknowledgedBefore { #expect(ids.contains(base + n), "acknowledged row \(n) is missing") }
        // A snapshot: consecutive rows, no hole (a row is in it only if every earlier one is).
        #expect(ids.count == (ids.max() ?? base) - base)
        #expect(try copy.queryOne("SELECT count(*) FROM t WHERE id <= ?", [base]) { $0.int(0) } == base)
        // No temporary file is left beside the copy.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.file("copies")) == ["backup.sqlite"])
    }

    @Test func aSecondBackupReplacesTheFirst() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("live.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);") }
        try Database.backup(from: tmp.file("live.sqlite"), to: tmp.file("backup.sqlite"))
        try database.write { try $0.execute("INSERT INTO t VALUES (2);") }
        try Database.backup(from: tmp.file("live.sqlite"), to: tmp.file("backup.sqlite"))
        let copy = try Connection(path: tmp.file("backup.sqlite"), readOnly: true)
        #expect(try copy.query("SELECT a FROM t ORDER BY a") { $0.int(0) } == [1, 2])
    }

    @Test func refusesAMissingSourceAndCopyingOntoItself() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        #expect(throws: BackupError.sourceMissing(tmp.file("none.sqlite"))) {
            try Database.backup(from: tmp.file("none.sqlite"), to: tmp.file("copy.sqlite"))
        }
        let database = try Database(configuration: .init(path: tmp.file("live.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER)") }
        #expect(throws: BackupError.sameFile(tmp.path + "/./live.sqlite")) {
            try Database.backup(from: tmp.file("live.sqlite"), to: tmp.path + "/./live.sqlite")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.file("copy.sqlite")))
    }
}
