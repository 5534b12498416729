import Classification
import JSON

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Collects the fields of one case by their place in the data dictionary (`CaseField.all`), with
/// the element each came from.
struct CaseBuilder {
    let patientExpression: String

    struct Scalar {
        let value: JSONValue
        let path: ElementPath
    }

    struct Element {
        let value: JSONValue
        let path: ElementPath
    }

    /// The elements of one array field.
    struct Elements {
        let field: Int
        var elements: [Element]
    }

    /// One slot per field of `CaseField.all` (nil: not given).
    private var scalars: [Scalar?]
    /// The array fields given, in the order first given (a case has a few).
    private var arrays: [Elements] = []
    /// Array fields sent as empty (`urn:icmm:value none`), with the element that said so.
    private var empty: [(field: Int, path: ElementPath)] = []
    private(set) var issues: [OutcomeIssue] = []

    init(patientExpression: String) {
        self.patientExpression = patientExpression
        scalars = Array(repeating: nil, count: CaseField.all.count)
    }

    /// What a Patient's place holds while its builder is taken out to be mapped into (no storage).
    static let taken = CaseBuilder()

    private init() {
        patientExpression = ""
        scalars = []
    }

    var externalID: String? { scalars[CaseField.externalID]?.value.stringValue }

    func has(_ field: Int) -> Bool { scalars[field] != nil }
    func value(_ field: Int) -> JSONValue? { scalars[field]?.value }

    /// A scalar field; the same field given again with another value is a conflict (both named).
    /// A field given twice keeps its first value.
    mutating func set(_ field: Int, _ value: JSONValue, at path: ElementPath) {
        guard let existing = scalars[field] else {
            scalars[field] = Scalar(value: value, path: path)
            return
        }
        if existing.value != value && existing.path != path {
            issues.append(
                OutcomeIssue(
                    code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [existing.path.expression, path.expression],
                    diagnostics: "\(CaseField.all[field].path): \(MappingCode.conflictingValues): two elements give this field different values; send one."))
        }
    }

    mutating func append(_ field: Int, _ value: JSONValue, at path: ElementPath) {
        if let index = arrays.firstIndex(where: { $0.field == field }) {
            arrays[index].elements.append(Element(value: value, path: path))
        } else {
            arrays.append(Elements(field: field, elements: [Element(value: value, path: path)]))
        }
    }

    /// `urn:icmm:value none` on an array field: the list is empty (e.g. FISH done, nothing found).
    /// Given twice, the last element is the one named.
    mutating func markEmpty(_ field: Int, at path: ElementPath) {
        if let index = empty.firstIndex(where: { $0.field == field }) {
            empty[index].path = path
        } else {
            empty.append((field, path))
        }
    }

    /// The case, with the conflicts found while building it.
    func build() -> (MappedCase, [OutcomeIssue]) {
        var issues = self.issues
        var sources: [MappedCase.Source] = []
        sources.reserveCapacity(CaseField.all.count)
        let members = object(CaseField.shape, sources: &sources, issues: &issues) ?? JSONObject()
        return (
            MappedCase(externalID: externalID, json: .object(members), patientExpression: patientExpression, sources: sources),
            issues
        )
    }

    /// The members of one object of the case: every field given, in the data dictionary's order
    /// (nil when none is).
    private func object(_ nodes: [CaseField.Node], sources: inout [MappedCase.Source], issues: inout [OutcomeIssue]) -> JSONObject? {
        var members: JSONObject?
        for node in nodes {
            switch node {
            case .field(let key, let field):
                guard let value = value(of: field, sources: &sources, issues: &issues) else { continue }
                if members == nil { members = JSONObject(minimumCapacity: nodes.count) }
                members!.updateValue(value, forKey: key)
            case .object(let key, let children):
                guard let child = object(children, sources: &sources, issues: &issues) else { continue }
                if members == nil { members = JSONObject(minimumCapacity: nodes.count) }
                members!.updateValue(.object(child), forKey: key)
            }
        }
        return members
    }

    /// A field's value, with where it came from (nil when not given, or in conflict).
    private func value(of field: Int, sources: inout [MappedCase.Source], issues: inout [OutcomeIssue]) -> JSONValue? {
        if let scalar = scalars[field] {
            sources.append(MappedCase.Source(field: field, element: nil, path: scalar.path))
            return scalar.value
        }
        let elements = arrays.first { $0.field == field }?.elements
        if let marked = empty.first(where: { $0.field == field }) {
            if let elements, !elements.isEmpty {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [marked.path.expression, elements[0].path.expression],
                        diagnostics: "\(CaseField.all[field].path): \(MappingCode.conflictingValues): urn:icmm:value none (an empty list) together with elements."))
                return nil
            }
            sources.append(MappedCase.Source(field: field, element: nil, path: marked.path))
            return .array([])
        }
        guard let elements else { return nil }
        sources.append(MappedCase.Source(field: field, element: nil, path: elements[0].path))
        var values: [JSONValue] = []
        values.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            values.append(element.value)
            sources.append(MappedCase.Source(field: field, element: index, path: element.path))
        }
        return .array(values)
    }
}
