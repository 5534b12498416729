import CSQLite
import Foundation
import Synchronization

/// Copies a large write-ahead log into the database file on a thread of its own, instead of in
/// the commit that left it.
///
/// SQLite checkpoints in the commit that takes the WAL past 1,000 pages (its auto-checkpoint): for
/// small writes that is a few pages at a time, and stays so. A 100,000-case import leaves about
/// 250 MB of WAL; copying that into the file and syncing it took a second or more of that import's
/// answer, although the import was already durable (synchronous=FULL syncs the WAL at commit).
/// So the writer's WAL hook checkpoints inline below `deferAbovePages`, as SQLite would, and above
/// it wakes this checkpointer, which runs a PASSIVE checkpoint on a connection of its own: writers
/// and readers go on meanwhile. Nothing about durability changes, only who copies the pages, when.
final class BackgroundCheckpointer: Sendable {
    /// SQLite's own auto-checkpoint threshold (`SQLITE_DEFAULT_WAL_AUTOCHECKPOINT`).
    static let inlinePages: Int32 = 1_000
    /// A WAL of more pages than this (16 MB at 4 KiB pages) is checkpointed in the background.
    static let deferAbovePages: Int32 = 4_096

    private struct State {
        var running = false
        /// Asked again while a checkpoint was running: run another once it ends.
        var again = false
        var stopped = false
        var completed = 0
    }

    private let path: String
    private let configuration: Database.Configuration
    private let state = Mutex(State())
    private let finished = NSCondition()

    init(configuration: Database.Configuration) {
        self.path = configuration.path
        self.configuration = configuration
    }

    /// Installs the hook on the writer connection; `self` must outlive it (SQLiteDatabase owns both).
    func install(on writer: SQLiteConnection) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            writer.handle,
            { context, handle, schema, pages in
                guard let context else { return SQLITE_OK }
                let checkpointer = Unmanaged<BackgroundCheckpointer>.fromOpaque(context).takeUnretainedValue()
                if pages > BackgroundCheckpointer.deferAbovePages {
                    checkpointer.request()
                } else if pages >= BackgroundCheckpointer.inlinePages {
                    // What SQLite's default hook does (sqlite3WalDefaultHook): a PASSIVE checkpoint now.
                    _ = sqlite3_wal_checkpoint(handle, schema)
                }
                return SQLITE_OK
            }, context)
    }

    /// Starts a background checkpoint, or asks for one more after the running one. Never waits.
    func request() {
        let start = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in run() }
        thread.name = "sqlite-checkpoint"
        thread.stackSize = 256 * 1024
        thread.start()
    }

    private func run() {
        repeat {
            checkpointOnce()
        } while state.withLock { state -> Bool in
            state.completed += 1
            guard state.again, !state.stopped else {
                state.running = false
                return false
            }
            state.again = false
            return true
        }
        finished.lock()
        finished.broadcast()
        finished.unlock()
    }

    private func checkpointOnce() {
        // A failure here (a busy lock past the timeout, say) loses nothing: the pages stay in the
        // WAL, readers see them there, and the next large commit asks again.
        guard let connection = try? SQLiteConnection(path: path) else { return }
        sqlite3_busy_timeout(connection.handle, configuration.busyTimeoutMilliseconds)
        try? connection.execute("PRAGMA synchronous=\(configuration.synchronous.rawValue)")
        _ = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }

    /// Background checkpoints finished so far (for tests).
    var completedCount: Int { state.withLock { $0.completed } }

    /// True while a background checkpoint runs.
    var isRunning: Bool { state.withLock { $0.running } }

    /// Waits until no background checkpoint runs, or until `timeout` has passed (then returns false).
    ///
    /// A large write should begin on a fully checkpointed WAL: SQLite starts the WAL over only
    /// when a write transaction begins after every frame was copied into the file. One that begins
    /// while the checkpoint of the previous large write still runs appends to it instead, and so
    /// does the one after it: ten 100,000-case imports in a row, each sent as soon as the previous
    /// was answered, left a 2.5 GB WAL, and its index (the -shm file, mapped by the process) grew
    /// by 0.5 MB per import.
    @discardableResult
    func waitUntilIdle(timeout: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        finished.lock()
        defer { finished.unlock() }
        while state.withLock({ $0.running }) {
            guard finished.wait(until: deadline) else { return !state.withLock { $0.running } }
        }
        return true
    }

    /// No new checkpoints; waits for the running one (the writer's close then checkpoints the rest).
    func stop() {
        state.withLock { $0.stopped = true }
        finished.lock()
        while state.withLock({ $0.running }) { finished.wait() }
        finished.unlock()
    }
}
