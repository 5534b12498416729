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
