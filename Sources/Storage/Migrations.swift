import Crypto
import Foundation
import Logging

/// One `Migrations/NNNN_name.sql` file.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    /// SHA-256 of the file's text: a shipped migration must never change.
    public var checksum: String {
        hexString(Array(SHA256.hash(data: Data(sql.utf8))))
    }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every `NNNN_name.sql` of a directory, in version order.
    public static func load(from directory: String) throws -> [Migration] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationError.directoryNotFound(directory)
        }
        var migrations: [Migration] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]),
                stem[..<underscore].allSatisfy(\.isNumber), underscore != stem.index(before: stem.endIndex)
            else { throw MigrationError.badFileName(file) }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw MigrationError.duplicateVersion(a.version)
        }
        return migrations
    }
}

/// The state of one migration in a database.
public struct MigrationStatus: Sendable, Equatable {
    public let version: Int
    public let name: String
    /// ISO 8601 time it was applied, nil while pending.
    public let appliedAt: String?
}

/// Applies migrations in order, each once, each in its own immediate transaction together with the
/// row that records it; refuses to go on when an applied migration's file has changed. The whole
/// run holds the writer's lock (on PostgreSQL the advisory lock every instance takes), so two
/// instances starting together do not both migrate: the second finds the work done.
public struct MigrationRunner: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations }

    public init(directory: String) throws { self.migrations = try Migration.load(from: directory) }

    /// The migrations of `dialect` under a `Migrations/` root: its `sqlite/` or `postgres/`
    /// subfolder. An SQLite root without subfolders (the layout before PostgreSQL) is read as is.
    public init(root: String, dialect: SQLDialect) throws {
        let folder = root + "/" + dialect.migrationsFolder
        var isDirectory: ObjCBool = false
        if dialect == .sqlite, !(FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) {
            try self.init(directory: root)
        } else {
            try self.init(directory: folder)
        }
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
        """

    /// Applies what is pending; returns the versions applied now.
    @discardableResult
    public func migrate(_ database: Database, logger: Logger? = nil) throws -> [Int] {
        try database.write { connection in
            try connection.execute(MigrationRunner.createTable)
            let applied = try appliedRecords(connection)
            try verify(applied)
            var done: [Int] = []
            for migration in migrations where applied[migration.version] == nil {
                try connection.transaction {
                    try connection.execute(migration.sql)
                    try connection.run(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                        [migration.version, migration.name, migration.checksum, Self.now()])
                }
                logger?.info("migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }

    /// Every known migration with its state; throws when the database and the files disagree.
    public func status(_ database: Database) throws -> [MigrationStatus] {
        let applied = try database.read { connection -> [Int: (name: String, checksum: String, appliedAt: String)] in
            let exists = try connection.queryOne(connection.dialect.tableExists("schema_migrations")) { $0.int(0) }
            return exists == 1 ? try appliedRecords(connection) : [:]
        }
        try verify(applied)
        return migrations.map { MigrationStatus(version: $0.version, name: $0.name, appliedAt: applied[$0.version]?.appliedAt) }
    }

    /// True when every migration is applied and none has changed.
    public func isCurrent(_ database: Database) -> Bool {
        guard let status = try? status(database) else { return false }
        return status.allSatisfy { $0.appliedAt != nil }
    }

    private func appliedRecords(_ connection: Connection) throws -> [Int: (name: String, checksum: String, appliedAt: String)] {
        var records: [Int: (name: String, checksum: String, appliedAt: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum, applied_at FROM schema_migrations", [], { row in
            (row.int(0), row.string(1), row.string(2), row.string(3))
        }) {
            records[row.0] = (row.1, row.2, row.3)
        }
        return records
    }

    private func verify(_ applied: [Int: (name: String, checksum: String, appliedAt: String)]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw MigrationError.unknownAppliedMigration(version: version, name: record.name)
            }
            if migration.checksum != record.checksum {
                throw MigrationError.checksumMismatch(version: version, name: migration.name)
            }
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// Lowercase hex of bytes (checksums, key hashes, key ids), without Foundation's formatting.
public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
        for (i, byte) in bytes.enumerated() {
            buffer[2 * i] = digits[Int(byte >> 4)]
            buffer[2 * i + 1] = digits[Int(byte & 0x0F)]
        }
        return bytes.count * 2
    }
}
