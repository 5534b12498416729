import Classification
import JSON

/// One case built from a Patient and the resources that reference it (DOMAIN.md section 10), in the
/// data-dictionary JSON of section 9, not yet validated. It remembers which FHIR element each field
/// came from, so that the validator's errors can name the element.
public struct MappedCase: Sendable, Equatable {
    /// `Patient.identifier[0].value` when it is a string.
    public let externalID: String?
    public let json: JSONValue
    /// `Bundle.entry[i].resource` of the Patient.
    public let patientExpression: String
    /// Where each field (and array element) came from, in the data dictionary's order: read only
    /// to locate errors, so kept as numbers (`provenance` spells it out).
    let sources: [Source]

    /// A field of the case, or one element of an array field, and the element it came from.
    struct Source: Equatable, Sendable {
        /// The field's place in `CaseField.all`.
        let field: Int
        /// The array element's index; nil for the field itself.
        let element: Int?
        let path: ElementPath
    }

    /// JSON Pointer of a field (or array element) -> FHIRPath of the element it came from.
    var provenance: [String: String] {
        var provenance: [String: String] = [:]
        provenance.reserveCapacity(sources.count)
        for source in sources {
            let pointer = CaseField.pointers[source.field]
            provenance[source.element.map { pointer + "/\($0)" } ?? pointer] = source.path.expression
        }
        return provenance
    }

    /// The FHIRPath of the element a JSON Pointer of the case came from: the pointer's own, else its
    /// nearest parent's, else the Patient (a required field that no resource gave).
    public func expression(forPointer pointer: String) -> String {
        expression(forPointer: pointer, in: provenance)
    }

    private func expression(forPointer pointer: String, in provenance: [String: String]) -> String {
        var current = Substring(pointer)
        while !current.isEmpty {
            if let found = provenance[String(current)] { return found }
            guard let slash = current.lastIndex(of: "/") else { break }
            current = current[..<slash]
        }
        return patientExpression
    }

    /// The validator's errors of this case as OperationOutcome issues, located by FHIRPath.
    public func issues(for errors: [CaseValidationError]) -> [OutcomeIssue] {
        let provenance = self.provenance
        return errors.map { error in
            let field = error.pointer.tokens.filter { Int($0) == nil }.joined(separator: ".")
            var hint = ""
            if error.code == .required, provenance[error.path] == nil, let text = Self.requiredHints[field] { hint = " (" + text + ")" }
            return OutcomeIssue(
                code: Self.issueType(error.code), registryCode: error.code.rawValue,
                expression: [expression(forPointer: error.path, in: provenance)],
                diagnostics: "\(field.isEmpty ? "case" : field): \(error.code.rawValue): \(error.message)\(hint)")
        }
    }

    /// How a missing required field is sent in FHIR.
    static let requiredHints: [String: String] = [
        "external_id": "Patient.identifier[0].value",
        "sex": "Patient.gender",
        "mm_diagnosis_date": "no myeloma Condition (SNOMED CT 109989006 or ICD-10-CM C90.0x) with onsetDateTime or recordedDate references this Patient",
        "intracranial": "no Condition coded urn:icmm:condition intracranial-myeloma with onsetDateTime references this Patient",
        "intracranial.diagnosis_date": "no Condition coded urn:icmm:condition intracranial-myeloma with onsetDateTime references this Patient",
        "intracranial.imaging": "send one Observation coded urn:icmm:field intracranial.imaging.findings per finding, or one with urn:icmm:value none",
        "intracranial.imaging.findings": "send one Observation coded urn:icmm:field intracranial.imaging.findings per finding, or one with urn:icmm:value none",
        "outcome.last_followup_date": "an Observation coded urn:icmm:field outcome.last_followup_date, a disease-status Observation (LOINC 97509-4), or Patient.deceasedDateTime",
    ]

    /// Section 9 validation code -> R4 IssueType.
    static func issueType(_ code: CaseValidationError.Code) -> String {
        switch code {
        case .required: "required"
        case .unknownField: "not-supported"
        case .invalidEnum: "code-invalid"
        case .outOfRange, .invalidDate, .futureDate, .invalidFormat: "value"
        case .chronology: "business-rule"
        case .invalidType: "structure"
        case .conflict: "duplicate"
        }
    }
}
