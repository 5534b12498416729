import FHIR
import Foundation
import JSON
import Registry

/// `POST /v1/fhir` with the mapping overlapped with the import: one thread maps the Bundle Patient
/// by Patient while the registry validates, classifies and stores the cases already mapped (two
/// more threads), instead of mapping the whole Bundle first.
extension FHIRImport {
    /// Maps a parsed Bundle and stores its cases, all or nothing, with the answers of `run`:
    /// a mapping problem anywhere is the mapping's OperationOutcome (every problem, as
    /// `BundleReader.read` lists them) and nothing is stored, even if the registry had already
    /// received, or refused, earlier cases; then the mode check; then the registry's failures.
    /// - Parameter explicitMode: the query's `mode`, when given.
    public static func ingest(
        _ tree: JSONValue, reader: BundleReader, cases: CaseStore, site: String, explicitMode: ImportMode?, dryRun: Bool,
        keyID: String?
    ) throws -> (bundle: IngestedBundle, outcomes: [CaseWriteOutcome]) {
        guard let stream = try reader.stream(tree) else {
            // The first pass found a problem: the whole mapping lists every problem.
            let bundle = try reader.read(tree)
            // Not reached (read finds what the first pass found); kept whole rather than trusted.
            return try whole(bundle, cases: cases, site: site, explicitMode: explicitMode, dryRun: dryRun, keyID: keyID)
        }
        let mode: ImportMode
        do {
            mode = try FHIRImport.mode(for: [stream.writeRequest], explicit: explicitMode)
        } catch {
            // As before streaming: the mapping's problems are the answer when there are any.
            _ = try reader.read(tree)
            throw error
        }
        let records = ImportRecordStream()
        let mapper = StreamedMapping()
        // Handed over in a box the thread empties: a stream captured by the closure would stay
        // shared with it, and every Patient's builder be copied on its first write.
        let handOver = StreamHandOver(consume stream)
        let thread = Thread { mapper.run(handOver.take(), into: records) }
        thread.stackSize = 1 << 20
        thread.start()
        let summary: ImportSummary
        do {
            summary = try cases.importCases(
                streaming: records, site: site, mode: mode, dryRun: dryRun, keyID: keyID, keepClassifications: true)
        } catch {
            // The import stopped (and cancelled the stream): the mapping thread ends soon.
            let bundle = mapper.wait()
            if error is StreamedMapping.Stopped || bundle == nil {
                // The mapping stopped at a problem: the whole mapping lists every problem.
                _ = try reader.read(tree)
            }
            if case RegistryError.importRejected(let failures) = error, let bundle {
                throw IngestError.invalid(
                    issues(for: failures, severalBundles: false) { bundle.cases.indices.contains($0) ? (0, bundle.cases[$0]) : nil })
            }
            throw error
        }
        guard let bundle = mapper.wait() else {
            // Not reached: the import ends without error only after the mapping finished.
            throw StreamedMapping.Stopped()
        }
        return (bundle, outcomes(of: bundle.cases, summary: summary))
    }

    /// The Bundle already mapped whole, imported (the path `run` takes).
    private static func whole(
        _ bundle: IngestedBundle, cases: CaseStore, site: String, explicitMode: ImportMode?, dryRun: Bool, keyID: String?
    ) throws -> (bundle: IngestedBundle, outcomes: [CaseWriteOutcome]) {
        let mode = try FHIRImport.mode(for: [bundle.writeRequest], explicit: explicitMode)
        let outcomes = try run([bundle], cases: cases, site: site, mode: mode, dryRun: dryRun, keyID: keyID)
        return (bundle, outcomes[0])
    }

    /// Each case's result and stored classification, in the Bundle's order.
    static func outcomes(of mapped: [MappedCase], summary: ImportSummary) -> [CaseWriteOutcome] {
        var results: [String: ImportSummary.Item] = [:]
        for item in summary.items { results[item.externalID] = item }
        return mapped.compactMap { mapped in
            guard let id = mapped.externalID, let item = results[id], let classification = item.classification else { return nil }
            return CaseWriteOutcome(externalID: id, result: item.result.rawValue, classificationText: classification)
        }
    }
}

/// The mapping thread of `FHIRImport.ingest`: maps the cases into the import's stream, a few at a
/// time, and keeps the mapped Bundle for the answer (and to locate the registry's failures).
private final class StreamedMapping: @unchecked Sendable {
    // @unchecked: `bundle` is written by the mapping thread before it signals `done`, and read
    // only after `wait()`.
    /// The mapping found a problem (the import is rolled back; the whole mapping then lists them).
    struct Stopped: Error {}

    private let done = DispatchSemaphore(value: 0)
    private var bundle: IngestedBundle?
    private var waited = false

    /// Cases handed to the import at a time: fewer hand-overs, while the import starts early.
    static let chunkSize = 8

    func run(_ stream: consuming BundleStream, into records: ImportRecordStream) {
        var chunk: [ImportRecord] = []
        chunk.reserveCapacity(Self.chunkSize)
        let mapped = stream.mapCases { mapped in
            chunk.append(.json(mapped.json))
            guard chunk.count == Self.chunkSize else { return true }
            defer { chunk.removeAll(keepingCapacity: true) }
            return records.push(chunk)
        }
        if let mapped, records.push(chunk) {
            bundle = mapped
            records.finish()
        } else {
            records.fail(Stopped())
        }
        done.signal()
    }

    /// Waits for the mapping thread (the import cancels the stream when it ends, so a mapping
    /// thread waiting for room returns); the Bundle when the mapping finished without problem.
    func wait() -> IngestedBundle? {
        if !waited {
            done.wait()
            waited = true
        }
        return bundle
    }
}

/// A `BundleStream` handed to the mapping thread, taken out once (so that nothing else holds it).
private final class StreamHandOver: @unchecked Sendable {
    // @unchecked: set at creation, taken once by the one thread that runs the mapping.
    private var stream: BundleStream?
    init(_ stream: consuming BundleStream) { self.stream = stream }
    func take() -> BundleStream { stream.take()! }
}
