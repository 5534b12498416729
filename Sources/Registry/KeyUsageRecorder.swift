import Foundation
import Storage
import Synchronization

/// Last use of each key, to the minute: a request only compares its minute with the one already
/// noted; a new minute is queued, and queued minutes are written in one transaction at most every
/// `interval` (by the request that finds the interval passed), so steady traffic costs one small
/// write per key per minute, never one per request.
final class KeyUsageRecorder: Sendable {
    static let interval: Duration = .seconds(60)
    private struct State {
        var noted: [String: Int64] = [:]  // key id -> minute (Unix minutes) last noted
        var pending: [String: Int64] = [:]
        var lastFlush = ContinuousClock.now
    }
    private let state = Mutex(State())

    /// The Unix minute of `date`.
    static func minute(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 60).rounded(.down)) }

    func note(_ keyID: String, at date: Date, database: Database) {
        let minute = KeyUsageRecorder.minute(date)
        let due = state.withLock { state -> Bool in
            if state.noted[keyID] == minute { return false }
            state.noted[keyID] = minute
            state.pending[keyID] = minute
            return ContinuousClock.now - state.lastFlush >= KeyUsageRecorder.interval || state.noted.count == 1
        }
        if due { flush(database) }
    }

    /// `note` for a caller that must not write: false (and nothing noted) when the minute is new
    /// and the queued minutes are due to be written, which `note` would do at once.
    func noteWithoutWriting(_ keyID: String, at date: Date) -> Bool {
        let minute = KeyUsageRecorder.minute(date)
        return state.withLock { state -> Bool in
            if state.noted[keyID] == minute { return true }
            if ContinuousClock.now - state.lastFlush >= KeyUsageRecorder.interval || state.noted.isEmpty { return false }
            state.noted[keyID] = minute
            state.pending[keyID] = minute
            return true
        }
    }

    func flush(_ database: Database) {
        let batch = state.withLock { state -> [String: Int64] in
            let batch = state.pending
            state.pending = [:]
            state.lastFlush = ContinuousClock.now
            return batch
        }
        guard !batch.isEmpty else { return }
        // Best effort: a failed write (the database busy) loses a last-use minute, never a request.
        _ = try? database.write { connection in
            try connection.transaction {
                for (id, minute) in batch {
                    let text = Timestamp.string(Date(timeIntervalSince1970: TimeInterval(minute * 60)))
                    try connection.run(
                        "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                        [text, id, text])
                }
            }
        }
    }
}
