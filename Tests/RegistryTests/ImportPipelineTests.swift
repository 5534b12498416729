import Foundation
import JSON
@testable import Registry
import Synchronization
import Testing

@Suite struct ImportPipelineTests {
    /// The audit entry of a created case names the same paths as before its shortcut: the
    /// changes from an empty object, sorted, escaped as RFC 6901 asks.
    @Test func creationPathsAreTheChangesFromAnEmptyObject() throws {
        let values: [JSONValue] = [
            ["external_id": "A", "sex": "female", "intracranial": ["diagnosis_date": "2020-01-01"], "therapy": ["agents": ["x"]]],
            ["b": 1, "a": .null, "a/b": true, "~tilde": "x", "Z": [], "é": "accent", "e": "plain"],
            ["only": ["nested": ["deeper": 1]]],
            [:],
        ]
        for value in values {
            let old = CaseStore.auditPathsJSON(JSONValue.object([:]).changedPaths(to: value))
            #expect(CaseStore.creationPathsJSON(value) == old)
        }
        #expect(CaseStore.creationPathsJSON(["a/b": 1, "~": 2]) == #"["/a~1b","/~0"]"#)
    }

    /// The writer cancels when it stops: a preparing thread blocked on a full queue is released
    /// (its push answers false), and `waitForProducer` returns once that thread has ended.
    @Test func cancellingReleasesAProducerBlockedOnAFullQueue() throws {
        let queue = PreparedRecordQueue(capacity: 2)
        let pushes = Mutex<[Bool]>([])
        let thread = Thread {
            defer { queue.producerDidEnd() }
            for _ in 0..<10 {
                let accepted = queue.push([.failed(ImportRecordErrors(index: 0, externalID: nil, errors: []))])
                pushes.withLock { $0.append(accepted) }
                if !accepted { return }
            }
        }
        thread.start()
        // The producer fills the queue (two chunks) and then waits for room.
        let deadline = ContinuousClock.now + .seconds(30)
        while pushes.withLock({ $0.count }) < 2 {
            guard ContinuousClock.now < deadline else {
                Issue.record("the producer did not fill the queue within 30 s")
                return
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(pushes.withLock { $0 } == [true, true])  // the third push is waiting
        queue.cancel()
        while pushes.withLock({ $0.count }) < 3 {
            guard ContinuousClock.now < deadline else {
                Issue.record("the blocked producer was not released within 30 s")
                return
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        queue.waitForProducer()  // its thread is ending: it returned from push
        #expect(pushes.withLock { $0 } == [true, true, false])
        #expect(queue.isCancelled)
    }
}
