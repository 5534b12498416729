import Dispatch

/// Two pieces of work on two threads at once, for callers that opt in (`icmm analyze`: one
/// process, a million subjects, nothing else to do). Each closure gets its own data and writes
/// only its own results; the call returns when both have finished.
public enum Concurrently {
    /// Runs `first` and `second` at the same time (one on the calling thread, one on a
    /// Dispatch worker) when `parallel`, one after the other otherwise.
    public static func run(parallel: Bool = true, _ first: () -> Void, _ second: () -> Void) {
        guard parallel else {
            first()
            second()
            return
        }
        withoutActuallyEscaping(first) { first in
            withoutActuallyEscaping(second) { second in
                let work = Work(first: first, second: second)
                DispatchQueue.concurrentPerform(iterations: 2) { i in
                    if i == 0 { work.first() } else { work.second() }
                }
            }
        }
    }

    /// The two closures, handed to Dispatch. Unchecked: the callers' closures touch disjoint
    /// state, and `concurrentPerform` returns only after both have run.
    private final class Work: @unchecked Sendable {
        let first: () -> Void
        let second: () -> Void

        init(first: @escaping () -> Void, second: @escaping () -> Void) {
            self.first = first
            self.second = second
        }
    }
}
