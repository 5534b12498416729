import Foundation
import Storage
import Synchronization
import TestSupport
import Testing

func writeMigrations(_ files: [String: String], in directory: TemporaryDirectory) -> String {
    let folder = directory.file("migrations")
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, sql) in files {
        FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(sql.utf8))
    }
    return folder
}

@Suite struct MigrationTests {
    @Test func appliesEachMigrationOnceInOrderAndRecordsIt() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let folder = writeMigrations(
            [
                "0002_add_column.sql": "ALTER TABLE t ADD COLUMN b TEXT;",
                "0001_create.sql": "CREATE TABLE t (a INTEGER);",
            ], in: tmp)
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        let runner = try MigrationRunner(directory: folder)
        #expect(runner.migrations.map(\.version) == [1, 2])
        #expect(!runner.isCurrent(database))
        #expect(try runner.migrate(database) == [1, 2])
        #expect(try runner.migrate(database) == [])
        #expect(runner.isCurrent(database))
        let status = try runner.status(database)
        #expect(status.map(\.name) == ["create", "add_column"])
        #expect(status.allSatisfy { $0.appliedAt != nil })
        // The second migration ran after the first: the column exists.
        try database.write { try $0.run("INSERT INTO t (a, b) VALUES (?, ?)", [1, "x"]) }
    }

    @Test func refusesAMigrationEditedAfterItWasApplied() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let folder = writeMigrations(["0001_create.sql": "CREATE TABLE t (a INTEGER);"], in: tmp)
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try MigrationRunner(directory: folder).migrate(database)
        _ = writeMigrations(["0001_create.sql": "CREATE TABLE t (a INTEGER, b TEXT);"], in: tmp)
        let edited = try MigrationRunner(directory: folder)
        #expect(throws: MigrationError.checksumMismatch(version: 1, name: "create")) { try edited.migrate(database) }
        #expect(!edited.isCurrent(database))
    }

    @Test func refusesADatabaseNewerThanTheFiles() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try MigrationRunner(migrations: [
            Migration(version: 1, name: "a", sql: "CREATE TABLE a (x);"), Migration(version: 2, name: "b", sql: "CREATE TABLE b (x);"),
        ]).migrate(database)
        let older = MigrationRunner(migrations: [Migration(version: 1, name: "a", sql: "CREATE TABLE a (x);")])
        #expect(throws: MigrationError.unknownAppliedMigration(version: 2, name: "b")) { try older.migrate(database) }
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        let runner = MigrationRunner(migrations: [
            Migration(version: 1, name: "broken", sql: "CREATE TABLE t (a); INSERT INTO nowhere VALUES (1);")
        ])
        #expect(throws: DatabaseError.self) { try runner.migrate(database) }
        let tables = try database.read { try $0.query("SELECT name FROM sqlite_master WHERE name = 't'") { $0.string(0) } }
        #expect(tables.isEmpty)
        #expect(try runner.status(database).first?.appliedAt == nil)
    }

    @Test func rejectsBadFileNamesAndMissingFolders() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let folder = writeMigrations(["create.sql": "SELECT 1;"], in: tmp)
        #expect(throws: MigrationError.badFileName("create.sql")) { try MigrationRunner(directory: folder) }
        #expect(throws: MigrationError.directoryNotFound(tmp.file("none"))) { try MigrationRunner(directory: tmp.file("none")) }
    }

    @Test func theShippedMigrationsApplyCleanly() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let repoMigrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Migrations/sqlite").standardizedFileURL.path
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        let runner = try MigrationRunner(directory: repoMigrations)
        #expect(!runner.migrations.isEmpty)
        try runner.migrate(database)
        #expect(runner.isCurrent(database))
    }
}

@Suite struct DatabaseTests {
    @Test func opensInWALWithForeignKeysAndFullSync() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        let mode = try database.write { try $0.queryOne("PRAGMA journal_mode") { $0.string(0) } }
        #expect(mode == "wal")
        #expect(try database.read { try $0.pragmaInteger("foreign_keys") } == 1)
        #expect(try database.read { try $0.pragmaInteger("synchronous") } == 2)  // FULL
    }

    @Test func errorsCarryCodesAndSQLButNeverBoundValues() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE p (id TEXT PRIMARY KEY)") }
        try database.write { try $0.run("INSERT INTO p (id) VALUES (?)", ["patient-secret-7"]) }
        do {
            try database.write { try $0.run("INSERT INTO p (id) VALUES (?)", ["patient-secret-7"]) }
            Issue.record("a duplicate key must fail")
        } catch let error as DatabaseError {
            #expect(error.isUniqueConstraintViolation)
            #expect(error.resultCode == 19)
            #expect(error.description.contains("INSERT INTO p"))
            #expect(!error.description.contains("patient-secret-7"))
        }
    }

    @Test func transactionsRollBackWhenTheBodyThrows() throws {
        struct Abort: Error {}
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER)") }
        #expect(throws: Abort.self) {
            try database.write { connection in
                try connection.transaction {
                    try connection.run("INSERT INTO t (a) VALUES (1)")
                    throw Abort()
                }
            }
        }
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 0)
    }

    @Test func readersKeepReadingTheLastCommitWhileAWriteIsOpen() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        var configuration = Database.Configuration(path: tmp.file("db.sqlite"))
        configuration.readers = 3
        let database = try Database(configuration: configuration)
        defer { database.close() }
        try database.write { connection in
            try connection.execute("CREATE TABLE t (a INTEGER)")
            try connection.run("INSERT INTO t (a) VALUES (1)")
        }
        let writeOpen = Atomic<Bool>(false)
        let writeDone = Atomic<Bool>(false)
        let releaseWrite = Atomic<Bool>(false)
        // Every wait has a deadline: a failed step fails the test instead of hanging it, and the
        // writer is released however the test ends.
        defer { releaseWrite.store(true, ordering: .sequentiallyConsistent) }
        let writer = Thread {
            try? database.write { connection in
                try connection.transaction {
                    try connection.run("INSERT INTO t (a) VALUES (2)")
                    writeOpen.store(true, ordering: .sequentiallyConsistent)
                    let deadline = ContinuousClock.now + .seconds(60)
                    while !releaseWrite.load(ordering: .sequentiallyConsistent) && ContinuousClock.now < deadline { usleep(1_000) }
                }
            }
            writeDone.store(true, ordering: .sequentiallyConsistent)
        }
        writer.start()
        try waitUntil("the write transaction is open") {
            writeOpen.load(ordering: .sequentiallyConsistent) || writeDone.load(ordering: .sequentiallyConsistent)
        }
        let failedEarly = writeDone.load(ordering: .sequentiallyConsistent)
        try #require(!failedEarly, "the write transaction failed before it was held open")
        // Several readers at once, while the write transaction holds the lock: none blocks, none sees row 2.
        let counts = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let count = (try? database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } }) ?? -1
            counts.withLock { $0.append(count ?? -1) }
        }
        #expect(counts.withLock { $0 } == [1, 1, 1, 1, 1, 1])
        releaseWrite.store(true, ordering: .sequentiallyConsistent)
        try waitUntil("the write transaction commits") { writeDone.load(ordering: .sequentiallyConsistent) }
        #expect(try database.read { try $0.queryOne("SELECT count(*) FROM t") { $0.int(0) } } == 2)
    }

    @Test func closingRemovesTheWriteAheadLog() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);") }
        database.close()
        #expect(!FileManager.default.fileExists(atPath: tmp.file("db.sqlite-wal")))
        #expect(throws: DatabaseError.self) { try database.read { _ in 1 } }
    }
}

@Suite struct GroupCommitTests {
    @Test func concurrentWritesAllCommitAndAFailingOneIsUndoneAlone() throws {
        struct Refused: Error {}
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)") }
        let outcomes = Mutex<[Int: Bool]>([:])
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do {
                try database.groupedWrite { connection in
                    try connection.run("INSERT INTO t (a) VALUES (?)", [i])
                    if i % 8 == 0 { throw Refused() }  // its insert must not survive
                }
                outcomes.withLock { $0[i] = true }
            } catch {
                outcomes.withLock { $0[i] = error is Refused ? false : true }
            }
        }
        let stored = try database.read { try $0.query("SELECT a FROM t ORDER BY a") { $0.int(0) } }
        #expect(stored == (0..<64).filter { $0 % 8 != 0 })
        #expect(outcomes.withLock { $0 }.filter { !$0.value }.keys.sorted() == [0, 8, 16, 24, 32, 40, 48, 56])
    }

    @Test func aGroupedWriteSeesEarlierWritesOfItsBatch() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let database = try Database(configuration: .init(path: tmp.file("db.sqlite")))
        defer { database.close() }
        try database.write { try $0.execute("CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);") }
        DispatchQueue.concurrentPerform(iterations: 100) { _ in
            _ = try? database.groupedWrite { try $0.run("UPDATE counter SET n = n + 1") }
        }
        #expect(try database.read { try $0.queryOne("SELECT n FROM counter") { $0.int(0) } } == 100)
    }
}
