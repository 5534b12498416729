import Foundation

/// Group commit: writers that arrive while a commit is being synced wait, then go to disk together
/// in one transaction and one fsync. Each write runs in its own savepoint, so a write that throws
/// (a conflict, a failed precondition) is undone alone and the others still commit.
///
/// Under `synchronous=FULL` one commit costs an fsync (about 240 us on this machine kind), which caps
/// one-at-a-time writes near 4,000/s; batching lifts that cap without weakening durability: no
/// caller is answered before the commit that holds its write is on disk.
final class GroupCommitQueue: @unchecked Sendable {
    // @unchecked: `pending`, `activeLeaders` and every job's `outcome`, `isPending` and
    // `statementResult` are guarded by `condition`.
    final class Job {
        enum Work {
            /// Any statements on the batch's connection; true when the write succeeded and must be kept.
            case body((Connection) -> Bool)
            /// One statement, sent with the rest of its batch (on PostgreSQL in one round trip);
            /// `beforeCommit` as `Connection.runBeforeCommit`, asked for when the statement succeeds.
            case statement(PipelinedStatement, beforeCommit: String?)
        }
        let work: Work
        var outcome: Result<Void, any Error>?
        /// A statement job's own result: the rows it changed, or its error (undone alone).
        var statementResult: Result<Int, DatabaseError>?
        /// In the queue, not yet taken into a batch.
        var isPending = true
        /// Signalled when the job has its outcome, or may lead the next batch.
        let wakeUp = DispatchSemaphore(value: 0)
        init(run: @escaping (Connection) -> Bool) { work = .body(run) }
        init(statement: PipelinedStatement, beforeCommit: String?) { work = .statement(statement, beforeCommit: beforeCommit) }
    }

    private let condition = NSCondition()
    private var pending: [Job] = []
    private var activeLeaders = 0
    let maxBatch: Int
    /// The batches of this queue rely on row locks, not on the writers' lock (`SQLDialect.beginGroupedWrite`).
    let rowLocked: Bool
    /// Batches in flight at once. One where writes are serialized anyway; several for row-locked
    /// writes on PostgreSQL, each on its own pooled connection, so that this instance's round trips
    /// to the server overlap instead of queueing (the server merges their WAL flushes).
    let maxLeaders: Int
    /// A batch starts while another is under way only once this many jobs wait for one (with no
    /// batch under way, the first job starts one at once). The server's cost is mostly per batch
    /// (BEGIN, lock, bump, COMMIT, WAL flush, waking a backend): started as soon as a leader's
    /// place was free, batches held ~3 cases, most of them one; held back until one would be
    /// worth it, they are larger where the machine is busy, and still overlap where the server is
    /// slow to answer (a slow WAL flush lets jobs pile up).
    let jobsToOverlap: Int

    init(maxBatch: Int = 512, rowLocked: Bool = false, maxLeaders: Int = 1, jobsToOverlap: Int = 8) {
        self.maxBatch = maxBatch
        self.rowLocked = rowLocked
        self.maxLeaders = max(1, maxLeaders)
        self.jobsToOverlap = max(1, jobsToOverlap)
    }

    /// Jobs waiting for a batch and batches under way (for tests that must line jobs up in one batch).
    var queueState: (pending: Int, leaders: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (pending.count, activeLeaders)
    }

    /// Enqueues the job and returns once the transaction that holds it has committed (or failed).
    /// A caller that finds a leader's place free leads: it takes the queue as one batch, runs it
    /// on a connection, and wakes the members of its batch (and one waiting caller to lead the
    /// next batch, if jobs are waiting). Each caller sleeps on its own semaphore and is woken
    /// only when it has its outcome or may lead: a wake-up for every waiter at every commit cost
    /// more CPU than the writes themselves once several batches were in flight.
    func submit(_ job: Job, database: Database) -> Result<Void, any Error> {
        condition.lock()
        pending.append(job)
        while job.outcome == nil {
            // No batch to start (every leader busy, too few jobs waiting to start one beside a batch
            // under way, or this job is in a batch under way): wait. A job that arrives and makes
            // enough waiting starts the batch itself; a finishing leader wakes the first waiting one.
            if activeLeaders >= maxLeaders || !job.isPending || (activeLeaders > 0 && pending.count < jobsToOverlap) {
                condition.unlock()
                job.wakeUp.wait()
                condition.lock()
                continue
            }
            activeLeaders += 1
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            for member in batch { member.isPending = false }
            condition.unlock()
            let outcome = GroupCommitQueue.commit(batch, rowLocked: rowLocked, database: database)
            condition.lock()
            for member in batch { member.outcome = outcome }
            activeLeaders -= 1
            // The next batch's leader: the first waiting job (it takes whatever is pending then).
            let nextLeader = pending.first
            condition.unlock()
            // Woken after the lock is released: a thread woken while the leader still holds it
            // would wake only to wait for the lock, a second sleep for every member. A job woken
            // to lead that another leader has taken meanwhile finds itself in a batch and waits on.
            for member in batch where member !== job { member.wakeUp.signal() }
            nextLeader?.wakeUp.signal()
            return outcome
        }
        let outcome = job.outcome!
        condition.unlock()
        return outcome
    }

    /// The batch in one transaction. Row-locked batches (PostgreSQL) are first tried whole, without
    /// savepoints (`commitOptimistically`), and so are SQLite's (`commitWithoutSavepoints`); a batch
    /// in which something fails that must be undone is rolled back and run again job by job, each
    /// job in a savepoint (`commitJobByJob`), so a job that fails is undone alone and the others
    /// still commit, as if there were no first try.
    private static func commit(_ batch: [Job], rowLocked: Bool, database: Database) -> Result<Void, any Error> {
        Result {
            try database.withGroupWriter(rowLocked: rowLocked) { connection in
                if rowLocked, case .postgres(let driver) = connection.driver,
                    try commitOptimistically(batch, connection: connection, driver: driver)
                {
                    return
                }
                if case .sqlite(let driver) = connection.driver, try commitWithoutSavepoints(batch, connection: connection, driver: driver) {
                    return
                }
                try commitJobByJob(batch, rowLocked: rowLocked, connection: connection)
            }
        }
    }

    /// SQLite: the batch in one transaction without a savepoint per job. A savepoint made SQLite
    /// copy every page a job changed into a journal first (about a dozen pages per case write),
    /// only to be thrown away at its release: the writer's work, which every write waits for.
    /// A job that fails without having changed a row (a 409, 404 or 412 is decided by reading
    /// first) has nothing to undo: the others go on. A job that fails after changing rows, or an
    /// error that ended the transaction, rolls the whole transaction back (false): the batch is
    /// then run again job by job, each in a savepoint, as if there had been no first try.
    private static func commitWithoutSavepoints(_ batch: [Job], connection: Connection, driver: SQLiteConnection) throws -> Bool {
        connection.beforeCommit.removeAll()
        try connection.control(connection.dialect.begin(immediate: true))
        for job in batch {
            let changesBefore = driver.totalChanges
            let askedBefore = connection.beforeCommit.count
            if run(job, connection) { continue }
            guard driver.isInTransaction, driver.totalChanges == changesBefore, connection.beforeCommit.count == askedBefore else {
                connection.rollback()
                return false
            }
        }
        do {
            try connection.commit()
        } catch {
            connection.rollback()
            throw error
        }
        return true
    }

    /// PostgreSQL, row-locked batches: savepoints are subtransactions there, with a cost in server
    /// CPU per job, and failures are rare (a conflict, a failed precondition). So the batch runs
    /// first without them: body jobs one after the other, then every statement job, the data
    /// version bump and COMMIT in one round trip (`PostgresConnection.commitPipelined`). True
    /// when committed; false when something failed and the whole transaction is rolled back
    /// (nothing of it stored), to be run again job by job.
    private static func commitOptimistically(_ batch: [Job], connection: Connection, driver: PostgresConnection) throws -> Bool {
        connection.beforeCommit.removeAll()
        try connection.control(connection.dialect.beginGroupedWrite)
        var statements: [PipelinedStatement] = []
        var statementJobs: [Job] = []
        for job in batch {
            switch job.work {
            case .body(let run):
                guard run(connection) else {
                    connection.rollback()
                    return false
                }
            case .statement(let statement, let beforeCommit):
                statements.append(statement)
                statementJobs.append(job)
                if let beforeCommit { connection.runBeforeCommit(beforeCommit) }
            }
        }
        let beforeCommit = connection.beforeCommit
        connection.beforeCommit.removeAll()
        let outcome: PipelinedCommitOutcome
        do {
            outcome = try driver.commitPipelined(statements, beforeCommit: beforeCommit)
        } catch {
            connection.rollback()
            throw error
        }
        switch outcome {
        case .committed(let rows):
            for (job, count) in zip(statementJobs, rows) { job.statementResult = .success(count) }
            return true
        case .rolledBack:
            return false
        }
    }

    /// The batch in one transaction, each job in a savepoint. The transaction-control statements
    /// are prepared once and reused on SQLite (not compiled per job): they run inside the one
    /// section that every write of the process goes through. On PostgreSQL they travel with the
    /// next statement (`Connection.control`): a savepoint costs no round trip of its own.
    private static func commitJobByJob(_ batch: [Job], rowLocked: Bool, connection: Connection) throws {
        connection.beforeCommit.removeAll()
        try connection.control(
            rowLocked ? connection.dialect.beginGroupedWrite : connection.dialect.begin(immediate: true))
        do {
            for job in batch {
                try connection.control(["SAVEPOINT grouped_write"])
                if run(job, connection) {
                    try connection.control(["RELEASE grouped_write"])
                } else {
                    try connection.control(["ROLLBACK TO grouped_write", "RELEASE grouped_write"])
                }
            }
            try connection.commit()
        } catch {
            connection.rollback()
            throw error
        }
    }

    /// Runs one job on its own; true when its write must be kept.
    private static func run(_ job: Job, _ connection: Connection) -> Bool {
        switch job.work {
        case .body(let run): return run(connection)
        case .statement(let statement, let beforeCommit):
            do {
                job.statementResult = .success(try connection.run(statement.sql, statement.arguments))
                if let beforeCommit { connection.runBeforeCommit(beforeCommit) }
                return true
            } catch {
                job.statementResult = .failure(error)
                return false
            }
        }
    }
}

extension Database {
    /// Runs `body` in a transaction on the writer, grouped with the writes of other threads that
    /// arrive meanwhile (one commit, one fsync for all). Returns after the commit is durable.
    /// If `body` throws, its changes alone are rolled back and the error is rethrown.
    /// `body` must not begin or end transactions itself.
    public func groupedWrite<T>(_ body: @escaping (Connection) throws -> T) throws -> T {
        try groupedWrite(on: groupCommit, body)
    }

    /// As `groupedWrite`, but on PostgreSQL the writes of several instances run side by side:
    /// `body` must make its own read-then-write safe by locking the rows it reads first
    /// (`SELECT ... FOR UPDATE`) and rely on unique keys for what it creates; an exclusive write
    /// (`write`, `groupedWrite`) still waits for these and excludes them (`SQLDialect.beginGroupedWrite`).
    /// On SQLite the same as `groupedWrite` (one writer, one queue).
    public func rowLockedGroupedWrite<T>(_ body: @escaping (Connection) throws -> T) throws -> T {
        switch backend {
        case .sqlite: try groupedWrite(on: groupCommit, body)
        case .postgres: try groupedWrite(on: rowLockedGroupCommit, body)
        }
    }

    /// As `rowLockedGroupedWrite`, for a write that is one statement: on PostgreSQL it travels
    /// with the other statements of its batch, the data version bump and the COMMIT in one round
    /// trip. Returns the number of rows it changed, once its batch has committed; if it fails,
    /// it alone is undone and its error is thrown. `beforeCommit`: as `Connection.runBeforeCommit`,
    /// asked for when the statement succeeds.
    public func rowLockedGroupedWrite(
        statement sql: String, _ arguments: [any DatabaseValueConvertible], beforeCommit: String? = nil
    ) throws -> Int {
        let queue: GroupCommitQueue
        switch backend {
        case .sqlite: queue = groupCommit
        case .postgres: queue = rowLockedGroupCommit
        }
        return try retryingDeadlocks(on: queue) {
            let job = GroupCommitQueue.Job(statement: PipelinedStatement(sql: sql, arguments: arguments), beforeCommit: beforeCommit)
            defer { noteWrite() }
            try queue.submit(job, database: self).get()
            // The job ran (statementResult set) before its batch committed.
            return try job.statementResult!.get()
        }
    }

    private func groupedWrite<T>(on queue: GroupCommitQueue, _ body: @escaping (Connection) throws -> T) throws -> T {
        try retryingDeadlocks(on: queue) { try groupedWriteOnce(on: queue, body) }
    }

    /// Row-locked writes of two instances can lock rows in crossed order; PostgreSQL then fails
    /// one of them (deadlock, 40P01), which its savepoint has undone, locks included. Run anew,
    /// in a later batch, it finds the other transaction committed.
    private func retryingDeadlocks<T>(on queue: GroupCommitQueue, _ attempt: () throws -> T) throws -> T {
        guard queue.rowLocked else { return try attempt() }
        var attempts = 1
        while true {
            do {
                return try attempt()
            } catch let error as DatabaseError where error.sqlState == "40P01" && attempts < 5 {
                attempts += 1
            }
        }
    }

    private func groupedWriteOnce<T>(on queue: GroupCommitQueue, _ body: @escaping (Connection) throws -> T) throws -> T {
        var result: Result<T, any Error>?
        let job = GroupCommitQueue.Job { connection in
            do {
                result = .success(try body(connection))
                return true
            } catch {
                result = .failure(error)
                return false
            }
        }
        defer { noteWrite() }
        try queue.submit(job, database: self).get()
        // The job ran (result set) before its batch committed.
        return try result!.get()
    }
}
