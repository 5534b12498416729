import Foundation
import Logging
import Synchronization

/// How commits reach the disk. The registry's default is `full`: see `Database.Configuration.synchronous`.
public enum SynchronousMode: String, Sendable, CaseIterable {
    case full = "FULL"
    case normal = "NORMAL"
}

/// The registry's database, whichever driver serves it: an SQLite file (the default: one writer
/// connection behind a lock and a pool of readers, all in WAL mode) or a PostgreSQL database
/// shared by several instances (a pool of libpq connections, writes serialized across instances
/// by an advisory lock, except the single-case writes of `rowLockedGroupedWrite`, which lock rows).
/// Registry code sees only `read`, `write`, `groupedWrite`, `rowLockedGroupedWrite` and `Connection`.
public final class Database: Sendable {
    /// An SQLite database file.
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

    /// A PostgreSQL database, by libpq connection URI.
    public struct PostgresConfiguration: Sendable {
        /// `postgres://user@host:port/dbname` or `postgresql://...` (any libpq URI parameter allowed).
        public var url: String
        /// Connections of this instance's pool, opened as needed: reads take any, exclusive writes
        /// one at a time, single-case write batches up to half of them. Default: 2 x cores + 2.
        public var poolSize: Int = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        /// How long a request waits for a pooled connection before it is answered 503.
        public var poolWait: Duration = .seconds(10)

        public init(url: String) { self.url = url }
    }

    enum Backend: Sendable {
        case sqlite(SQLiteDatabase)
        case postgres(PostgresDatabase)
    }

    let backend: Backend
    let groupCommit = GroupCommitQueue()
    /// Single-case writes (`rowLockedGroupedWrite`); on PostgreSQL up to half the pool's connections
    /// commit batches at once (see `GroupCommitQueue.maxLeaders` and `jobsToOverlap`), the rest stay for reads.
    let rowLockedGroupCommit: GroupCommitQueue
    private let committedWrites = Atomic<Int>(0)

    /// True for a `postgres://` or `postgresql://` URI: the `--db` value that selects PostgreSQL.
    public static func isPostgresURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Opens an SQLite file: the writer first (it creates the file and switches it to WAL), then the readers.
    public init(configuration: Configuration) throws(DatabaseError) {
        backend = .sqlite(try SQLiteDatabase(configuration: configuration))
        rowLockedGroupCommit = GroupCommitQueue(rowLocked: true)
    }

    /// Connects to PostgreSQL (one connection now, so that a wrong URL fails at once; the rest as needed).
    public init(postgres configuration: PostgresConfiguration) throws {
        let pool = PostgresDatabase(configuration: configuration)
        _ = try pool.with { _ in }
        backend = .postgres(pool)
        rowLockedGroupCommit = GroupCommitQueue(rowLocked: true, maxLeaders: max(1, configuration.poolSize / 2))
    }

    /// The dialect of every connection of this database.
    public var dialect: SQLDialect {
        switch backend {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// Counts the write blocks this process has finished (committed or not). Caches of derived
    /// values compare it to know that this process may have changed the data.
    public var writeGeneration: Int { committedWrites.load(ordering: .acquiring) }

    func noteWrite() { committedWrites.wrappingAdd(1, ordering: .releasing) }

    /// Runs `body` as the registry's only writer (exclusive across threads and, on PostgreSQL,
    /// across instances). Use `Connection.transaction` inside.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        defer { noteWrite() }
        switch backend {
        case .sqlite(let db): return try db.writer.with(body)
        case .postgres(let db): return try db.write(body)
        }
    }

    /// `write` for a write of many pages (an import): on SQLite it first lets a background checkpoint
    /// of an earlier large write finish (up to `checkpointWait`), so that this write starts the WAL
    /// over instead of appending to it (see `BackgroundCheckpointer.waitUntilIdle`). The wait comes
    /// before the writer is taken: other writes go on meanwhile.
    public func bulkWrite<T>(checkpointWait: Duration = .seconds(60), _ body: (Connection) throws -> T) throws -> T {
        if case .sqlite(let db) = backend { db.checkpointer.waitUntilIdle(timeout: checkpointWait) }
        return try write(body)
    }

    /// Runs `body` on a reader connection. Readers see the last committed state.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        switch backend {
        case .sqlite(let db): try db.read(body)
        case .postgres(let db): try db.read(body)
        }
    }

    /// Runs `body` on the connection a group commit uses, with the group's transaction open by the caller.
    /// Row-locked batches on PostgreSQL take any pooled connection (several run at once).
    func withGroupWriter(rowLocked: Bool, _ body: (Connection) throws -> Void) throws {
        switch backend {
        case .sqlite(let db): try db.writer.with(body)
        case .postgres(let db): try rowLocked ? db.with(body) : db.withWriterConnection(body)
        }
    }

    /// Closes every connection (SQLite: readers first, the writer last, so that the WAL is checkpointed and removed).
    public func close() {
        switch backend {
        case .sqlite(let db): db.close()
        case .postgres(let db): db.close()
        }
    }

    /// The size of the database in bytes, for metrics.
    public func sizeInBytes() throws -> Int64 {
        try read { connection in
            switch connection.dialect {
            case .sqlite: try connection.pragmaInteger("page_count") * connection.pragmaInteger("page_size")
            case .postgres: try connection.queryOne("SELECT pg_database_size(current_database())") { $0.int64(0) } ?? 0
            }
        }
    }

    /// True when a trivial query answers (PostgreSQL: through the pool, on a live connection).
    public func ping() -> Bool {
        (try? read { try $0.queryOne("SELECT 1") { $0.int(0) } }) == 1
    }

    /// The pool's state for metrics (PostgreSQL); nil for SQLite, whose connections are fixed.
    public var poolStatistics: PoolStatistics? {
        switch backend {
        case .sqlite: nil
        case .postgres(let db): db.statistics
        }
    }
}

/// What a connection pool is doing.
public struct PoolStatistics: Sendable, Equatable {
    public let size: Int
    public let idle: Int
    public let inUse: Int
    /// Times a caller found every connection in use and waited.
    public let waits: Int
}
