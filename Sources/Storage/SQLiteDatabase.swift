import CSQLite
import Foundation
import Logging
import Synchronization


/// The SQLite driver: one writer connection behind a lock and a pool of reader connections,
/// all in WAL mode, so reads never wait for a write (shared/notes/libmicrohttpd.md, "SQLite").
final class SQLiteDatabase: Sendable {
    typealias Configuration = Database.Configuration

    let configuration: Configuration
    let writer: ConnectionSlot
    private let readers: [ConnectionSlot]
    private let nextReader = Atomic<Int>(0)
    /// Copies a large WAL into the file off the commit that left it (see BackgroundCheckpointer).
    let checkpointer: BackgroundCheckpointer

    /// Opens the writer first (it creates the file and switches it to WAL), then the readers.
    init(configuration: Configuration) throws(DatabaseError) {
        self.configuration = configuration
        let writerConnection = try SQLiteConnection(path: configuration.path)
        try SQLiteDatabase.configure(writerConnection, configuration: configuration)
        try writerConnection.execute("PRAGMA journal_mode=WAL")
        try writerConnection.execute("PRAGMA cache_size=-\(configuration.writerCacheKiB)")
        checkpointer = BackgroundCheckpointer(configuration: configuration)
        checkpointer.install(on: writerConnection)
        writer = ConnectionSlot(Connection(.sqlite(writerConnection)))
        var pool: [ConnectionSlot] = []
        for _ in 0..<max(1, configuration.readers) {
            let reader = try SQLiteConnection(path: configuration.path)
            try SQLiteDatabase.configure(reader, configuration: configuration)
            try reader.execute("PRAGMA query_only=ON")
            // Readers map the file: cohort scans read pages without a system call each.
            try reader.execute("PRAGMA mmap_size=\(configuration.mmapBytes)")
            pool.append(ConnectionSlot(Connection(.sqlite(reader))))
        }
        readers = pool
    }

    private static func configure(_ connection: SQLiteConnection, configuration: Configuration) throws(DatabaseError) {
        sqlite3_busy_timeout(connection.handle, configuration.busyTimeoutMilliseconds)
        try connection.execute("PRAGMA foreign_keys=ON")
        try connection.execute("PRAGMA synchronous=\(configuration.synchronous.rawValue)")
    }

    /// Runs `body` on a reader connection. Readers see the last committed state (WAL snapshot).
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let start = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        // Prefer a free reader; if all are busy, wait for the one whose turn it is.
        for offset in 0..<readers.count {
            if let result = try readers[(start &+ offset) % readers.count].withIfAvailable(body) { return result }
        }
        return try readers[start % readers.count].with(body)
    }

    /// Closes readers first and the writer last, so that the WAL is checkpointed and removed.
    func close() {
        checkpointer.stop()
        for reader in readers { reader.close(checkpoint: false) }
        writer.close(checkpoint: true)
    }

}

/// A connection and the lock that serializes its use.
final class ConnectionSlot: @unchecked Sendable {
    // @unchecked: `connection` is only touched while `lock` is held.
    private let lock = NSLock()
    private var connection: Connection?

    init(_ connection: Connection) { self.connection = connection }

    func with<T>(_ body: (Connection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let connection else { throw DatabaseError(resultCode: SQLITE_MISUSE, message: "database is closed") }
        return try body(connection)
    }

    /// Nil without waiting when another thread holds the connection.
    func withIfAvailable<T>(_ body: (Connection) throws -> T) throws -> T? {
        guard lock.try() else { return nil }
        defer { lock.unlock() }
        guard let connection else { throw DatabaseError(resultCode: SQLITE_MISUSE, message: "database is closed") }
        return try body(connection)
    }

    func close(checkpoint: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if checkpoint { try? connection?.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        connection = nil
    }
}
