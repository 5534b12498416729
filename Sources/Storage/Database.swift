import CSQLite
import Foundation
import Logging
import Synchronization

/// How commits reach the disk. The registry's default is `full`: see `Database.Configuration.synchronous`.
public enum SynchronousMode: String, Sendable, CaseIterable {
    case full = "FULL"
    case normal = "NORMAL"
}

/// The registry's database: one writer connection behind a lock and a pool of reader connections,
/// all in WAL mode, so reads never wait for a write (shared/notes/libmicrohttpd.md, "SQLite").
public final class Database: Sendable {
    public struct Configuration: Sendable {
        public var path: String
        public var readers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)
        public var busyTimeoutMilliseconds: Int32 = 5_000
        /// FULL, deliberately: in WAL mode NORMAL already survives a crash of the process, but a
        /// power cut or kernel crash can lose the last commits, and an acknowledged case is a promise
        /// to a hospital. FULL syncs the WAL on every commit, so an answered write is on disk.
        /// Throughput is recovered by committing concurrent writes together where it matters.
        public var synchronous: SynchronousMode = .full
        /// Bytes of the file the readers memory-map (SQLite's `mmap_size`).
        public var mmapBytes: Int = 1 << 30
        /// The writer's page cache in KiB (SQLite's default is 2 MB). A large import touches the
        /// random-order index on case ids all over; with 2 MB it spills and rereads pages for every
        /// few records. Pages are allocated only as they are used.
        public var writerCacheKiB: Int = 32 * 1024

        public init(path: String) { self.path = path }
    }

    public let configuration: Configuration
    private let writer: ConnectionSlot
    let groupCommit = GroupCommitQueue()
    var writerSlot: ConnectionSlot { writer }
    private let readers: [ConnectionSlot]
    private let nextReader = Atomic<Int>(0)
    private let committedWrites = Atomic<Int>(0)

    /// Counts the write blocks this process has finished (committed or not). Caches of derived
    /// values compare it to know that this process may have changed the data.
    public var writeGeneration: Int { committedWrites.load(ordering: .acquiring) }

    /// Opens the writer first (it creates the file and switches it to WAL), then the readers.
    public init(configuration: Configuration) throws(DatabaseError) {
        self.configuration = configuration
        let writerConnection = try Connection(path: configuration.path)
        try Database.configure(writerConnection, configuration: configuration)
        try writerConnection.execute("PRAGMA journal_mode=WAL")
        try writerConnection.execute("PRAGMA cache_size=-\(configuration.writerCacheKiB)")
        writer = ConnectionSlot(writerConnection)
        var pool: [ConnectionSlot] = []
        for _ in 0..<max(1, configuration.readers) {
            let reader = try Connection(path: configuration.path)
            try Database.configure(reader, configuration: configuration)
            try reader.execute("PRAGMA query_only=ON")
            // Readers map the file: cohort scans read pages without a system call each.
            try reader.execute("PRAGMA mmap_size=\(configuration.mmapBytes)")
            pool.append(ConnectionSlot(reader))
        }
        readers = pool
    }

    private static func configure(_ connection: Connection, configuration: Configuration) throws(DatabaseError) {
        sqlite3_busy_timeout(connection.handle, configuration.busyTimeoutMilliseconds)
        try connection.execute("PRAGMA foreign_keys=ON")
        try connection.execute("PRAGMA synchronous=\(configuration.synchronous.rawValue)")
    }

    /// Runs `body` on the writer connection (exclusive). Use `Connection.transaction` inside.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        defer { committedWrites.wrappingAdd(1, ordering: .releasing) }
        return try writer.with(body)
    }

    func noteWrite() { committedWrites.wrappingAdd(1, ordering: .releasing) }

    /// Runs `body` on a reader connection. Readers see the last committed state (WAL snapshot).
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let start = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        // Prefer a free reader; if all are busy, wait for the one whose turn it is.
        for offset in 0..<readers.count {
            if let result = try readers[(start &+ offset) % readers.count].withIfAvailable(body) { return result }
        }
        return try readers[start % readers.count].with(body)
    }

    /// Closes readers first and the writer last, so that the WAL is checkpointed and removed.
    public func close() {
        for reader in readers { reader.close(checkpoint: false) }
        writer.close(checkpoint: true)
    }

    /// The size of the database in bytes (pages in use), for metrics.
    public func sizeInBytes() throws -> Int64 {
        try read { connection in
            try connection.pragmaInteger("page_count") * connection.pragmaInteger("page_size")
        }
    }

    /// True when a trivial query answers.
    public func ping() -> Bool {
        (try? read { try $0.queryOne("SELECT 1") { $0.int(0) } }) == 1
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
