import JSON

/// One problem found in a Bundle, rendered as one `OperationOutcome.issue`.
///
/// `diagnostics` names the case field and the registry's stable code (`field: code: rule`); it
/// never quotes a submitted value (no patient data in errors).
public struct OutcomeIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable {
        case fatal, error, warning, information
    }

    public let severity: Severity
    /// The R4 IssueType code: `invalid`, `structure`, `required`, `value`, `not-supported`,
    /// `duplicate`, `not-found`, `code-invalid`, `business-rule`, `conflict`, `too-long`, `security`,
    /// `forbidden`, `login`, `informational`, `exception`.
    public let code: String
    /// The registry's stable code (section 9 validation codes, or the FHIR mapping's own), if any.
    public let registryCode: String?
    /// FHIRPath expressions of the elements concerned, e.g. `Bundle.entry[3].resource.valueQuantity`.
    public let expression: [String]
    public let diagnostics: String

    public init(
        severity: Severity = .error, code: String, registryCode: String? = nil, expression: [String] = [], diagnostics: String
    ) {
        self.severity = severity
        self.code = code
        self.registryCode = registryCode
        self.expression = expression
        self.diagnostics = diagnostics
    }

    public var description: String { "\(code) \(expression.joined(separator: ",")): \(diagnostics)" }

    /// The system of `details.coding`: the registry's stable codes.
    public static let registryCodeSystem = "https://icmm-registry.example/fhir/CodeSystem/registry-code"

    public func toJSON() -> JSONValue {
        var members: JSONObject = [
            "severity": .string(severity.rawValue), "code": .string(code), "diagnostics": .string(diagnostics),
        ]
        if !expression.isEmpty { members["expression"] = .array(expression.map(JSONValue.string)) }
        if let registryCode {
            members["details"] = ["coding": [["system": .string(Self.registryCodeSystem), "code": .string(registryCode)]]]
        }
        return .object(members)
    }
}

/// An R4 `OperationOutcome` resource: what every FHIR route answers on failure.
public func operationOutcome(_ issues: [OutcomeIssue]) -> JSONValue {
    ["resourceType": "OperationOutcome", "issue": .array(issues.map { $0.toJSON() })]
}

/// Why a Bundle cannot become cases; nothing is stored.
public enum IngestError: Error, Sendable, Equatable {
    /// Not JSON, not a Bundle, not R4 or not a transaction/collection: answered with 400.
    case unreadable(OutcomeIssue)
    /// A readable Bundle whose cases cannot be built: answered with 422, one issue per problem.
    case invalid([OutcomeIssue])

    public var issues: [OutcomeIssue] {
        switch self {
        case .unreadable(let issue): [issue]
        case .invalid(let issues): issues
        }
    }
}

/// The stable codes of the FHIR mapping's own problems (besides the section 9 validation codes).
public enum MappingCode {
    /// A date with only a year or a year and month where a full date is needed.
    public static let partialDate = "partial_date"
    /// A quantity whose unit the terminology table does not list for the field.
    public static let unsupportedUnit = "unsupported_unit"
    /// A `subject`/`patient` reference to no Patient of the Bundle.
    public static let unresolvedReference = "unresolved_reference"
    /// Two Patients with the same identifier.
    public static let duplicatePatient = "duplicate_patient"
    /// `deceasedBoolean: true` without a date.
    public static let deathDateMissing = "death_date_missing"
    /// A code the mapping cannot read (an `urn:icmm:field` that is no case field, a coded value the table lacks).
    public static let unknownCode = "unknown_code"
    /// A value of another FHIR type than the field takes.
    public static let wrongValueType = "wrong_value_type"
    /// A required element of a mapped resource is missing.
    public static let missingElement = "missing_element"
    /// Two resources give the same field different values.
    public static let conflictingValues = "conflicting_values"
}
