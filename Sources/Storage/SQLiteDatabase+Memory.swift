import CSQLite

/// SQLite's own allocations in this process, every connection together: on `/metrics` and in the
/// import benchmark, so that the server's resident memory can be split into SQLite's page caches
/// (bounded by each connection's `cache_size`) and the rest.
public struct SQLiteMemoryStatistics: Sendable, Equatable {
    /// Bytes SQLite holds from the allocator now (`SQLITE_STATUS_MEMORY_USED`).
    public let bytesInUse: Int64
    /// Of those, the page caches' (`SQLITE_STATUS_PAGECACHE_OVERFLOW`: with no preallocated
    /// page-cache buffer configured, every cached page is allocated from the heap and counted here).
    public let pageCacheBytes: Int64

    /// The figures now.
    public static func current() -> SQLiteMemoryStatistics {
        var used: Int64 = 0, pageCache: Int64 = 0, highwater: Int64 = 0
        _ = sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &highwater, 0)
        _ = sqlite3_status64(SQLITE_STATUS_PAGECACHE_OVERFLOW, &pageCache, &highwater, 0)
        return SQLiteMemoryStatistics(bytesInUse: used, pageCacheBytes: pageCache)
    }
}

extension SQLiteConnection {
    /// Bytes of this connection's page cache (`SQLITE_DBSTATUS_CACHE_USED`), at most its `cache_size`.
    var pageCacheBytes: Int {
        var current: Int32 = 0, highwater: Int32 = 0
        _ = sqlite3_db_status(handle, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0)
        return Int(current)
    }
}
