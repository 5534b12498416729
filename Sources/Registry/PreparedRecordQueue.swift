import Foundation
import Synchronization

/// Records handed from the preparing thread to the writer, in order, in chunks; at most
/// `capacity` chunks wait, so memory holds a few hundred prepared records whatever the import size.
final class PreparedRecordQueue: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    enum Item {
        /// mode=create: the record's INSERT, ready to run.
        case insert(index: Int, PreparedInsert)
        /// mode=upsert: the prepared case (what to write depends on what is stored).
        case prepared(index: Int, PreparedCase)
        case failed(ImportRecordErrors)
        /// The body could not be read further (`ImportBodyError`) or preparing failed unexpectedly.
        case stopped(any Error)
        case end(ImportTimings?)
    }

    private let condition = NSCondition()
    private var chunks: [[Item]] = []
    private var cancelled = false
    private var producerEnded = false
    /// `cancelled`, readable without the lock: the producer looks at it once per record.
    private let cancelledFlag = Atomic<Bool>(false)
    let capacity: Int

    init(capacity: Int = 8) { self.capacity = capacity }

    /// Waits for room; false once the writer gave up (the producer then stops).
    func push(_ chunk: [Item]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    /// Waits for the next chunk. The producer always ends with `.end` or `.stopped`.
    func pop() -> [Item] {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty { condition.wait() }
        condition.broadcast()
        return chunks.removeFirst()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        cancelledFlag.store(true, ordering: .relaxed)
        chunks.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// True once the writer gave up or finished: the producer stops at its next record.
    var isCancelled: Bool { cancelledFlag.load(ordering: .relaxed) }

    /// Called by the producer as its thread ends, whatever the reason.
    func producerDidEnd() {
        condition.lock()
        producerEnded = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the producer's thread ended (after `cancel`, at most the record it was preparing).
    func waitForProducer() {
        condition.lock()
        while !producerEnded { condition.wait() }
        condition.unlock()
    }
}
