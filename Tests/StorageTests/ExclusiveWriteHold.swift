import Foundation
@testable import Storage
import Testing

/// An exclusive write transaction held open on its own thread, so that a test can line up
/// row-locked grouped writes behind the writers' lock it holds. Every wait has a deadline.
final class ExclusiveWriteHold: Sendable {
    private let release = DispatchSemaphore(value: 0)
    private let ended = DispatchGroup()

    /// Returns once the transaction is open and `insideTransaction` has run in it.
    init(on database: Database, insideTransaction: @escaping @Sendable (Connection) throws -> Void = { _ in }) throws {
        let entered = DispatchSemaphore(value: 0)
        let release = self.release
        ended.enter()
        Thread.detachNewThread { [ended] in
            defer { ended.leave() }
            _ = try? database.write { connection in
                try connection.transaction {
                    try insideTransaction(connection)
                    entered.signal()
                    _ = release.wait(timeout: .now() + 30)
                }
            }
        }
        try #require(entered.wait(timeout: .now() + 30) == .success, "the exclusive write did not begin")
    }

    /// Lets the transaction commit and waits until it has.
    func end() throws {
        release.signal()
        try #require(ended.wait(timeout: .now() + 30) == .success, "the exclusive write did not end")
    }
}

/// Threads started one by one and joined together, with a deadline.
final class DetachedThreads: Sendable {
    private let running = DispatchGroup()

    func start(_ body: @escaping @Sendable () -> Void) {
        running.enter()
        Thread.detachNewThread { [running] in
            defer { running.leave() }
            body()
        }
    }

    func join() throws {
        try #require(running.wait(timeout: .now() + 60) == .success, "a thread did not end")
    }
}

/// Waits until `database`'s row-locked queue has `pending` jobs waiting and `leaders` batches under way.
func waitForRowLockedQueue(_ database: Database, pending: Int, leaders: Int) throws {
    let queue = database.rowLockedGroupCommit
    let deadline = Date().addingTimeInterval(20)
    while queue.queueState != (pending, leaders) {
        try #require(Date() < deadline, "queue \(queue.queueState), expected (\(pending), \(leaders))")
        Thread.sleep(forTimeInterval: 0.005)
    }
}
