import Foundation

/// Records produced on another thread while the import already validates and stores the first
/// ones (FHIR: a Bundle is mapped Patient by Patient while the registry imports the cases mapped so
/// far). A bounded queue: the producer waits when `capacity` chunks are waiting, so the import
/// holds a few chunks whatever the producer's size.
///
/// The producer calls `push` for each chunk, then exactly one of `finish()` (every record was
/// given) or `fail(_:)` (the import is rolled back and throws that error). `push` returns false
/// once the import stopped (it finished, failed or was cancelled): the producer then stops.
public final class ImportRecordStream: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`, except `pending`, which only the
    // consuming thread (the import's preparing thread) touches.
    private let condition = NSCondition()
    private var chunks: [[ImportRecord]] = []
    private var ended: Result<Void, any Error>?
    private var cancelled = false
    private let capacity: Int
    /// The chunk being consumed, reversed (records are taken from the end).
    private var pending: [ImportRecord] = []

    public init(capacity: Int = 4) { self.capacity = capacity }

    /// Waits for room, then queues the records; false once the import stopped reading.
    public func push(_ records: [ImportRecord]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity, !cancelled { condition.wait() }
        guard !cancelled, ended == nil else { return false }
        if !records.isEmpty { chunks.append(records) }
        condition.broadcast()
        return true
    }

    /// Every record was pushed.
    public func finish() { end(.success(())) }

    /// The producer could not go on: the import ends by throwing `error`, and nothing is stored.
    public func fail(_ error: any Error) { end(.failure(error)) }

    private func end(_ result: Result<Void, any Error>) {
        condition.lock()
        if ended == nil { ended = result }
        condition.broadcast()
        condition.unlock()
    }

    /// The import stopped reading (done or failed): a waiting producer is released and its next
    /// `push` returns false; a waiting consumer sees the end.
    public func cancel() {
        condition.lock()
        cancelled = true
        chunks.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// The next record, nil after the last (or once cancelled); throws the producer's failure.
    func next() throws -> ImportRecord? {
        if let record = pending.popLast() { return record }
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty, ended == nil, !cancelled { condition.wait() }
        if !chunks.isEmpty {
            pending = chunks.removeFirst().reversed()
            condition.broadcast()
            return pending.popLast()
        }
        if cancelled { return nil }
        switch ended {
        case .failure(let error)?: throw error
        default: return nil
        }
    }
}

extension CaseStore {
    /// `importCases` over records that another thread is still producing (`stream`): the same
    /// validator, classifier, audit and single transaction, all or nothing. If the producer calls
    /// `stream.fail(error)`, the import is rolled back and throws `error` (whatever records failed
    /// before); otherwise as `importCases(_:...)`, with records indexed in the order pushed.
    /// The stream is cancelled when this returns or throws, so a producer never waits forever.
    public func importCases(
        streaming stream: ImportRecordStream, site: String, mode: ImportMode, dryRun: Bool, keyID: String?,
        keepClassifications: Bool = false
    ) throws -> ImportSummary {
        defer { stream.cancel() }
        return try importCases(
            source: .stream(stream), site: site, mode: mode, dryRun: dryRun, keyID: keyID, timings: nil,
            keepClassifications: keepClassifications)
    }
}
