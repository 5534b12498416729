import Foundation

/// Where an import's time goes, stage by stage (filled only when asked for: `icmm import --timings`
/// and the import benchmark; production imports pass none and pay nothing).
///
/// An import runs on two threads: one reads, validates, classifies and serializes records, the
/// writer stores them. The first five stages are the preparing thread's time, the last
/// six the writer's; the import takes about the larger of the two, not their sum.
public final class ImportTimings: @unchecked Sendable {
    // @unchecked: each thread fills its own instance; they are merged after the import's threads met.
    public enum Stage: String, CaseIterable, Sendable {
        /// Finding the record in the body and parsing its JSON (preparing thread).
        case read, validate, classify, serialize
        /// The preparing thread waited for the writer (the queue of prepared records was full).
        case preparerIdle = "preparer_idle"
        /// Writer thread: the wait for the writer connection (and for the background checkpoint of an
        /// earlier large write), the existence check, the case row, the audit row, the commit, and
        /// the time it waited for the preparing thread.
        case writerWait = "writer_wait"
        case lookup, insert, audit, commit, writerIdle = "writer_idle"
    }
    public private(set) var seconds: [Stage: Double] = [:]
    public private(set) var records = 0
    /// Wall time of the whole import.
    public internal(set) var wallSeconds = 0.0
    /// CPU seconds of each thread (user and system): unlike wall times, these hold on a busy machine.
    public internal(set) var preparerCPU = ThreadCPU()
    public internal(set) var writerCPU = ThreadCPU()

    /// CPU time used by one thread.
    public struct ThreadCPU: Sendable {
        public var user = 0.0
        public var system = 0.0

        /// The calling thread's CPU time so far (`getrusage(RUSAGE_THREAD)`).
        static func now() -> ThreadCPU {
            #if os(Linux)
            var usage = rusage()
            guard getrusage(__rusage_who_t(1) /* RUSAGE_THREAD, a GNU name Swift does not see */, &usage) == 0 else { return ThreadCPU() }
            func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
            return ThreadCPU(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
            #else
            return ThreadCPU()
            #endif
        }

        static func - (a: ThreadCPU, b: ThreadCPU) -> ThreadCPU { ThreadCPU(user: a.user - b.user, system: a.system - b.system) }
    }

    public init() {}

    func add(_ stage: Stage, since start: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        seconds[stage, default: 0] += (now - start) / .seconds(1)
        return now
    }

    func countRecord() { records += 1 }

    func merge(_ other: ImportTimings) {
        for (stage, value) in other.seconds { seconds[stage, default: 0] += value }
        records += other.records
        preparerCPU = other.preparerCPU
    }

    /// The same figures on one line (`stage=seconds ...`), for a log: the server logs it at debug level.
    public var line: String {
        Stage.allCases.map { "\($0.rawValue)=\(String(format: "%.3f", seconds[$0] ?? 0))" }.joined(separator: " ")
            + String(format: " wall=%.3f records=%d preparer_cpu=%.3f writer_cpu=%.3f", wallSeconds, records,
                preparerCPU.user + preparerCPU.system, writerCPU.user + writerCPU.system)
    }

    /// One line per stage: seconds and share of the wall time.
    public var report: String {
        let wall = max(wallSeconds, 1e-9)
        return Stage.allCases.map { stage in
            let value = seconds[stage] ?? 0
            return "\(stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%7.3f s  %5.1f %% of wall", value, 100 * value / wall))"
        }.joined(separator: "\n") + "\n" + "wall           \(String(format: "%7.3f s", wallSeconds)) for \(records) records"
            + "\n" + "preparer_cpu   \(String(format: "%7.3f s user %7.3f s system", preparerCPU.user, preparerCPU.system))"
            + "\n" + "writer_cpu     \(String(format: "%7.3f s user %7.3f s system", writerCPU.user, writerCPU.system))"
    }
}
