import Classification
import FHIR
import JSON
import Registry

/// The two halves of `FHIRImport.run` for a caller that does not hold every Bundle at once
/// (`icmm import --fhir` reads a file one Bundle at a time).
extension FHIRImport {
    /// The registry's validation failures located in the Bundles: `mappedCase(index)` gives the
    /// Bundle number and the mapped case of the import's record `index`. With several Bundles, the
    /// diagnostics say which (counting from 1).
    public static func issues(
        for failures: [ImportRecordErrors], severalBundles: Bool, mappedCase: (Int) -> (bundle: Int, mapped: MappedCase)?
    ) -> [OutcomeIssue] {
        failures.flatMap { failure -> [OutcomeIssue] in
            guard let (bundle, mapped) = mappedCase(failure.index) else {
                return [OutcomeIssue(code: "invalid", registryCode: "invalid", diagnostics: "case: a case of the Bundle is invalid.")]
            }
            let issues = mapped.issues(for: failure.errors)
            guard severalBundles else { return issues }
            return issues.map {
                OutcomeIssue(
                    severity: $0.severity, code: $0.code, registryCode: $0.registryCode, expression: $0.expression,
                    diagnostics: "Bundle \(bundle + 1): " + $0.diagnostics)
            }
        }
    }

    /// What happened to each case of a stored Bundle, with its classification: the same pure
    /// validator and classifier the registry ran (the case passed it).
    public static func outcomes(of bundle: IngestedBundle, results: [String: WriteResult], today: CalendarDate) -> [CaseWriteOutcome] {
        bundle.cases.compactMap { mapped in
            guard let id = mapped.externalID, let result = results[id] else { return nil }
            let classification: JSONValue
            switch CaseRecord.validate(mapped.json, today: today) {
            case .success(let record): classification = ClassificationEngine.classify(record).toJSON()
            case .failure: classification = .null
            }
            return CaseWriteOutcome(externalID: id, result: result.rawValue, classification: classification)
        }
    }
}

extension FHIRImport {
    /// The import mode of Bundles: what their Patients' `request` asks (POST: create, PUT: create or
    /// replace), else `explicit` (the query's `mode`), else create. Bundles asking different writes,
    /// or a write that `explicit` contradicts, are refused naming the request (see `RequestedWrite`).
    public static func mode(for requests: [WriteRequest?], explicit: ImportMode?) throws(IngestError) -> ImportMode {
        func mode(_ write: RequestedWrite) -> ImportMode { write == .create ? .create : .upsert }
        let several = requests.count > 1
        var chosen: (mode: ImportMode, expression: String)?
        var issues: [OutcomeIssue] = []
        for (number, request) in requests.enumerated() {
            guard let request else { continue }
            let prefix = several ? "Bundle \(number + 1): " : ""
            let asked = mode(request.write)
            if let explicit, explicit != asked {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingRequest, expression: [request.expression],
                        diagnostics: prefix
                            + "request.method: \(MappingCode.conflictingRequest): \(request.write.method) asks mode=\(asked.rawValue), which contradicts mode=\(explicit.rawValue)."))
            } else if let first = chosen, first.mode != asked {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingRequest, expression: [request.expression],
                        diagnostics: prefix
                            + "request.method: \(MappingCode.conflictingRequest): the Patients of one import are all POST (create) or all PUT (create or replace)."))
            } else if chosen == nil {
                chosen = (asked, request.expression)
            }
        }
        guard issues.isEmpty else { throw .invalid(issues) }
        return chosen?.mode ?? explicit ?? .create
    }
}
