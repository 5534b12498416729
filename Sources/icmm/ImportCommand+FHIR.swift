import API
import ArgumentParser
import FHIR
import Foundation
import JSON
import Registry

extension Import {
    /// `icmm import --fhir FILE`: one Bundle, or NDJSON with one Bundle per line; all Bundles are
    /// stored in one transaction or none is. Prints a transaction-response Bundle per input Bundle
    /// (NDJSON), or the OperationOutcome of the problems (then exits 1, nothing stored).
    ///
    /// Memory stays bounded whatever the size of the file, like the NDJSON import: the file is read
    /// `readChunk` bytes at a time and one Bundle is parsed and mapped at a time; what is kept is
    /// the mapped cases as NDJSON (a case is about a tenth of its Bundle's bytes), which go through
    /// the registry's import. Where each case came from is not kept: the file is read again to
    /// locate the registry's validation errors in the Bundles, or to print the responses.
    func importFHIR(readChunk: Int) throws {
        let reader = BundleReader(terminology: try terminology.load())
        let path = file
        // Pass 1: map each Bundle; collect the cases, or every mapping problem.
        var cases: [UInt8] = []
        var problems: [(bundle: Int, issue: OutcomeIssue)] = []
        var writeRequests: [WriteRequest?] = []
        let bundleCount = try Self.forEachFHIRBundle(path: path, readChunk: readChunk, reader: reader) { number, read in
            switch read {
            case .success(let bundle):
                writeRequests.append(bundle.writeRequest)
                for mapped in bundle.cases {
                    mapped.json.write(into: &cases)
                    cases.append(0x0A)
                }
            case .failure(let error):
                problems += error.issues.map { (number, $0) }
            }
        }
        let severalBundles = bundleCount > 1
        if !problems.isEmpty {
            try fail(
                problems.map { problem in
                    guard severalBundles else { return problem.issue }
                    let issue = problem.issue
                    return OutcomeIssue(
                        severity: issue.severity, code: issue.code, registryCode: issue.registryCode, expression: issue.expression,
                        diagnostics: "Bundle \(problem.bundle + 1): " + issue.diagnostics)
                })
        }
        // What the Patients' request asks (POST/PUT), checked against an explicit --mode.
        let writeMode: ImportMode
        do {
            writeMode = try FHIRImport.mode(for: writeRequests, explicit: mode.flatMap(ImportMode.init(rawValue:)))
        } catch {
            try fail(error.issues)
        }
        // The registry's import: the same validator, classifier, audit and single transaction.
        let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
        defer { db.close() }
        let store = CaseStore(database: db)
        let summary: ImportSummary
        do {
            summary = try store.importCases(
                reading: ImportRecordReader(body: cases, format: .ndjson), site: site, mode: writeMode,
                dryRun: dryRun, keyID: "cli")
        } catch RegistryError.importRejected(let failures) {
            // Pass 2 (on failure): the failing cases again, to name the elements they came from.
            var failing: [Int: (bundle: Int, mapped: MappedCase)] = [:]
            let indices = Set(failures.map(\.index))
            var first = 0
            _ = try Self.forEachFHIRBundle(path: path, readChunk: readChunk, reader: reader) { number, read in
                guard case .success(let bundle) = read else { return }
                for (offset, mapped) in bundle.cases.enumerated() where indices.contains(first + offset) {
                    failing[first + offset] = (number, mapped)
                }
                first += bundle.cases.count
            }
            try fail(FHIRImport.issues(for: failures, severalBundles: severalBundles) { failing[$0] })
            return
        }
        // Pass 2 (stored): each Bundle's transaction-response, with the classification of its cases.
        var results: [String: WriteResult] = [:]
        for item in summary.items { results[item.externalID] = item.result }
        let today = store.today()
        _ = try Self.forEachFHIRBundle(path: path, readChunk: readChunk, reader: reader) { _, read in
            guard case .success(let bundle) = read else { return }
            let outcomes = FHIRImport.outcomes(of: bundle, results: results, today: today)
            print(TransactionResponse.bundle(outcomes, ignored: bundle.ignored, dryRun: dryRun).serializedString())
        }
    }

    private func fail(_ issues: [OutcomeIssue]) throws -> Never {
        print(operationOutcome(issues).serializedString())
        printError("icmm import: the FHIR file has \(issues.count) problem(s); nothing was stored.")
        throw ExitCode(1)
    }

    /// Reads and maps the Bundles of a file one at a time, calling `body` with each one's number
    /// (from 0) and mapping; returns how many there were. A file whose first non-blank line is a
    /// whole JSON value is NDJSON (one Bundle per line); otherwise the file is one Bundle (read
    /// whole: a Bundle is parsed at once anyway), unless it is not JSON as a whole, when its lines
    /// are read as NDJSON so that the problems are reported line by line.
    static func forEachFHIRBundle(
        path: String, readChunk: Int, reader: BundleReader, _ body: (Int, Result<IngestedBundle, IngestError>) throws -> Void
    ) throws -> Int {
        var lines = try LineReader(path: path, chunk: readChunk)
        defer { lines.close() }
        guard let firstLine = try lines.next() else { return 0 }
        if let firstBundle = try? JSONValue.parse(firstLine) {
            try body(0, Result { () throws(IngestError) in try reader.read(firstBundle) })
            var count = 1
            while let line = try lines.next() {
                try body(count, Result { () throws(IngestError) in try reader.read(line) })
                count += 1
            }
            return count
        }
        lines.close()
        guard let whole = FileManager.default.contents(atPath: path) else { throw LineReader.ReadError(path: path) }
        let bytes = [UInt8](whole)
        if let bundle = try? JSONValue.parse(bytes) {
            try body(0, Result { () throws(IngestError) in try reader.read(bundle) })
            return 1
        }
        var count = 0
        for line in bytes.split(separator: 0x0A) where !LineReader.isBlank(line) {
            try body(count, Result { () throws(IngestError) in try reader.read(Array(line)) })
            count += 1
        }
        return count
    }
}

/// The non-blank lines of a file, read `chunk` bytes at a time: memory holds one chunk and the
/// line being assembled, whatever the size of the file.
struct LineReader {
    struct ReadError: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot read \(path)" }
    }

    private let path: String
    private let handle: FileHandle
    private let chunk: Int
    private var buffer: [UInt8] = []
    /// Where the next line starts, and how far from there no newline was found.
    private var start = 0
    private var scanned = 0
    private var atEnd = false

    init(path: String, chunk: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReadError(path: path) }
        self.path = path
        self.handle = handle
        self.chunk = max(1, chunk)
    }

    static func isBlank<C: Collection<UInt8>>(_ line: C) -> Bool { line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }

    /// The next non-blank line without its newline, or nil at the end of the file.
    mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[max(start, scanned)...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                scanned = start
                if !Self.isBlank(line) { return line }
                continue
            }
            scanned = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return Self.isBlank(line) ? nil : line
            }
            // Drop what was consumed, then read the next chunk.
            buffer.removeFirst(start)
            scanned -= start
            start = 0
            let data: Data?
            do {
                data = try handle.read(upToCount: chunk)
            } catch {
                throw ReadError(path: path)
            }
            if let data, !data.isEmpty { buffer.append(contentsOf: data) } else { atEnd = true }
        }
    }

    func close() { try? handle.close() }
}
