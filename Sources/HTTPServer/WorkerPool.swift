import Foundation

/// A fixed set of threads for handlers that may block. Fixed, not Dispatch's pool, so that many
/// writers waiting on the disk cannot make the process start hundreds of threads. Its threads
/// start in `init` (from `HTTPServer.start()`) and end in `shutdown` (from `HTTPServer.stop()`).
final class WorkerPool: @unchecked Sendable {
    // @unchecked: every var is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var busy = 0
    private var running = 0
    private var closing = false
    private var threads: [pthread_t] = []

    init(threads count: Int) {
        condition.lock()
        running = count
        condition.unlock()
        threads = (0..<count).map { index in
            startThread(name: "icmm-worker-\(index)") { [self] in loop() }
        }
    }

    /// Queues a job; false (and the job is not run) once the pool is shutting down.
    @discardableResult
    func run(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        guard !closing else {
            condition.unlock()
            return false
        }
        jobs.append(job)
        condition.unlock()
        // Signalled after unlocking, so the woken worker does not wake only to block on the lock
        // (issue 11: fewer context switches per POST). No wake-up is lost: a worker checks
        // `jobs` under the lock before each wait, so it either sees this job or is already waiting.
        condition.signal()
        return true
    }

    /// Jobs queued or running.
    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count + busy
    }

    /// Lets the queued jobs finish, then ends the threads. Threads that are done by `deadline` are
    /// joined; any still running a job then (a handler slower than the drain) is detached and ends
    /// when its job does. Returns the number detached so.
    func shutdown(deadline: ContinuousClock.Instant) -> Int {
        condition.lock()
        closing = true
        condition.broadcast()
        while running > 0 && ContinuousClock.now < deadline {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.02))
        }
        let stillRunning = running
        condition.unlock()
        let all = threads
        threads = []
        if stillRunning == 0 {
            for thread in all { pthread_join(thread, nil) }
        } else {
            // Which ones are still running is not known here: detach all of them (a thread that
            // already returned is released by pthread_detach as well).
            for thread in all { pthread_detach(thread) }
        }
        return stillRunning
    }

    private func loop() {
        condition.lock()
        while true {
            while jobs.isEmpty && !closing { condition.wait() }
            if jobs.isEmpty { break }  // closing, and nothing left to do
            let job = jobs.removeFirst()
            busy += 1
            condition.unlock()
            job()
            condition.lock()
            busy -= 1
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}
