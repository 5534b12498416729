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
    func importFHIR(_ bytes: [UInt8]) throws {
        let reader = BundleReader(terminology: try terminology.load())
        var bundles: [IngestedBundle] = []
        var issues: [OutcomeIssue] = []
        let documents = Self.fhirDocuments(bytes)
        for (number, document) in documents.enumerated() {
            do {
                bundles.append(try reader.read(document))
            } catch {
                let prefix = documents.count > 1 ? "Bundle \(number + 1): " : ""
                issues += error.issues.map {
                    OutcomeIssue(
                        severity: $0.severity, code: $0.code, registryCode: $0.registryCode, expression: $0.expression,
                        diagnostics: prefix + $0.diagnostics)
                }
            }
        }
        if issues.isEmpty {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            do {
                let outcomes = try FHIRImport.run(
                    bundles, cases: CaseStore(database: db), site: site, mode: ImportMode(rawValue: mode)!, dryRun: dryRun, keyID: "cli")
                for (bundle, outcome) in zip(bundles, outcomes) {
                    print(TransactionResponse.bundle(outcome, ignored: bundle.ignored, dryRun: dryRun).serializedString())
                }
                return
            } catch let error as IngestError {
                issues = error.issues
            }
        }
        print(operationOutcome(issues).serializedString())
        printError("icmm import: the FHIR file has \(issues.count) problem(s); nothing was stored.")
        throw ExitCode(1)
    }

    /// The whole file when it is one JSON document, else its non-blank lines (NDJSON).
    static func fhirDocuments(_ bytes: [UInt8]) -> [[UInt8]] {
        if (try? JSONValue.parse(bytes)) != nil { return [bytes] }
        return bytes.split(separator: 0x0A).map(Array.init).filter { line in
            line.contains { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }
        }
    }
}
