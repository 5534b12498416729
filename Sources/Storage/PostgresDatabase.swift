import Foundation

/// The PostgreSQL driver: a pool of libpq connections opened as needed, up to `poolSize`.
/// Exclusive writes (`write`, `groupedWrite`) are serialized twice: by a lock within the process
/// (a waiting writer holds no pooled connection) and by an advisory lock on the server that every
/// instance takes (one writer across instances, as SQLite has one per file). Row-locked writes
/// (`rowLockedGroupedWrite`: single cases) take that advisory lock shared, on any pooled connection.
final class PostgresDatabase: @unchecked Sendable {
    // @unchecked: `idle`, `open`, `inUse`, `waits` and `closed` are guarded by `condition`.
    let configuration: Database.PostgresConfiguration
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var open = 0
    private var inUse = 0
    private var waits = 0
    private var closed = false
    private let writerLock = NSLock()

    init(configuration: Database.PostgresConfiguration) {
        var configuration = configuration
        configuration.poolSize = max(1, configuration.poolSize)
        self.configuration = configuration
    }

    var statistics: PoolStatistics {
        condition.lock()
        defer { condition.unlock() }
        return PoolStatistics(size: configuration.poolSize, idle: idle.count, inUse: inUse, waits: waits)
    }

    /// Lends a connection to `body` and takes it back.
    func with<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// Reads are idempotent: one that failed because its pooled connection had died (the server
    /// restarted since) is tried once more on a fresh connection.
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try with(body)
        } catch let error as DatabaseError where error.isUnavailable {
            return try with(body)
        }
    }

    /// The writer's block: session-level advisory lock held from before `body` to after it.
    func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try withWriterConnection { connection in
            try connection.execute("SELECT pg_advisory_lock(\(SQLDialect.writerLockKey))")
            defer { try? connection.execute("SELECT pg_advisory_unlock(\(SQLDialect.writerLockKey))") }
            return try body(connection)
        }
    }

    /// A connection for this process's one writer; the caller's transaction takes the
    /// cross-instance lock (`SQLDialect.begin(immediate: true)`).
    func withWriterConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        return try with(body)
    }

    private func acquire() throws -> Connection {
        let deadline = Date().addingTimeInterval(configuration.poolWait.timeIntervalValue)
        condition.lock()
        var waited = false
        while true {
            if closed {
                condition.unlock()
                throw DatabaseError(postgres: "08003", message: "database is closed")
            }
            if let connection = idle.popLast() {
                inUse += 1
                condition.unlock()
                return connection
            }
            if open < configuration.poolSize {
                open += 1
                inUse += 1
                condition.unlock()
                do {
                    return Connection(.postgres(try PostgresConnection(conninfo: configuration.url)))
                } catch {
                    condition.lock()
                    open -= 1
                    inUse -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !waited {
                waits += 1
                waited = true
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw DatabaseError(postgres: "53300", message: "every pooled connection stayed in use")
            }
        }
    }

    /// Back to the pool, unless it broke or was left inside a transaction it cannot leave.
    private func release(_ connection: Connection) {
        var keep = false
        if case .postgres(let pg) = connection.driver, !pg.isBroken {
            if !pg.isIdle { try? pg.execute("ROLLBACK") }
            keep = !pg.isBroken && pg.isIdle
        }
        condition.lock()
        inUse -= 1
        if keep && !closed { idle.append(connection) } else { open -= 1 }
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        let dropped = idle
        idle.removeAll()
        open -= dropped.count
        condition.broadcast()
        condition.unlock()
        _ = dropped  // released here: PQfinish in each connection's deinit
    }
}

extension Duration {
    var timeIntervalValue: TimeInterval {
        let (s, attoseconds) = components
        return TimeInterval(s) + TimeInterval(attoseconds) / 1e18
    }
}
