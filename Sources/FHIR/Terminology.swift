/// The (system, code) -> case field rules of the FHIR R4 mapping (DOMAIN.md section 10), read from
/// one committed table (`fhir-terminology.tsv`) by both ingest and export, so that a deployment adds
/// local codes by editing its copy of the table, not the code.
///
/// Kinds of row:
/// - `code`: a resource's `code` (Condition, Observation, Procedure, Medication*) means a case field;
///   for medications the row's value is the section 6 agent, for procedures `true`.
/// - `value`: a coded value (`valueCodeableConcept` or `interpretation`) means a field's value.
/// - `absent`: a `dataAbsentReason` means a field's value (`not-performed` -> `not_done`).
/// - `unit`: a UCUM unit accepted for a quantity field, with the factor to the dictionary's unit.
///   A unit not listed for the field is refused, never converted.
public struct Terminology: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case code, value, absent, unit
    }

    public struct Rule: Sendable, Equatable {
        public let kind: Kind
        public let system: String
        public let code: String
        public let field: String
        public let value: String
        public let display: String
        public let source: String
        /// The field's place in `CaseField.all` (nil for `disease_status`): found once, here.
        let fieldPosition: Int?
    }

    /// A table line that cannot be read; the server refuses to start with it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Every rule, in table order (export writes the first rule of a field).
    public let rules: [Rule]

    private let byCode: NameIndex<Rule>
    private let byValue: NameIndex<[Rule]>
    private let byAbsent: NameIndex<[Rule]>
    /// (field, UCUM code) -> factor to the dictionary's unit: the first unit row of the pair.
    private let unitFactors: NameIndex<Double>

    /// The same rules (the indexes are made from them).
    public static func == (lhs: Terminology, rhs: Terminology) -> Bool { lhs.rules == rhs.rules }

    struct Key: Hashable, Sendable {
        let system: String
        let code: String
    }

    /// The field names the table may use besides section 9's: mCODE's cancer disease status.
    public static let diseaseStatus = "disease_status"

    public init(rules: [Rule]) {
        self.rules = rules
        var byCode: [Key: Rule] = [:]
        var byValue: [Key: [Rule]] = [:]
        var byAbsent: [Key: [Rule]] = [:]
        var unitFactors: [Key: Double] = [:]
        for rule in rules {
            let key = Key(system: rule.system, code: rule.code)
            switch rule.kind {
            case .code: if byCode[key] == nil { byCode[key] = rule }
            case .value: byValue[key, default: []].append(rule)
            case .absent: byAbsent[key, default: []].append(rule)
            case .unit:
                let unitKey = Key(system: rule.field, code: rule.code)
                if unitFactors[unitKey] == nil, let factor = Double(rule.value) { unitFactors[unitKey] = factor }
            }
        }
        func index<Value>(_ dictionary: [Key: Value]) -> NameIndex<Value> {
            NameIndex(dictionary.map { (NameIndex<Value>.Name(first: $0.key.system, second: $0.key.code), $0.value) })
        }
        self.byCode = index(byCode)
        self.byValue = index(byValue)
        self.byAbsent = index(byAbsent)
        self.unitFactors = index(unitFactors)
    }

    /// Reads the tab-separated table: a header line `kind system code field value display source`,
    /// then one rule per line; blank lines and lines starting with `#` are skipped.
    public init(tsv text: String) throws(ParseError) {
        var rules: [Rule] = []
        var sawHeader = false
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 7 else {
                throw ParseError(line: number, message: "expected 7 tab-separated columns, found \(columns.count)")
            }
            if !sawHeader {
                guard columns == ["kind", "system", "code", "field", "value", "display", "source"] else {
                    throw ParseError(line: number, message: "the first line must be the header: kind system code field value display source")
                }
                sawHeader = true
                continue
            }
            guard let kind = Kind(rawValue: columns[0]) else {
                throw ParseError(line: number, message: "kind must be one of code, value, absent, unit")
            }
            let rule = Rule(
                kind: kind, system: columns[1], code: columns[2], field: columns[3], value: columns[4], display: columns[5],
                source: columns[6], fieldPosition: CaseField.position(of: columns[3]))
            guard !rule.system.isEmpty, !rule.code.isEmpty else { throw ParseError(line: number, message: "system and code are required") }
            guard rule.field == Self.diseaseStatus || CaseField.kind(of: rule.field) != nil else {
                throw ParseError(line: number, message: "'\(rule.field)' is not a case field of DOMAIN.md section 9 (or disease_status)")
            }
            guard !rule.source.isEmpty else { throw ParseError(line: number, message: "every rule cites its source") }
            if kind == .unit {
                guard CaseField.kind(of: rule.field) == .quantity, let factor = Double(rule.value), factor > 0 else {
                    throw ParseError(line: number, message: "a unit row needs a quantity field and a positive factor")
                }
            }
            let needsValue = kind != .code || rule.field == "therapy.agents"
            guard !needsValue || !rule.value.isEmpty else { throw ParseError(line: number, message: "this row needs a value") }
            rules.append(rule)
        }
        guard sawHeader else { throw ParseError(line: 1, message: "the table is empty (no header line)") }
        self.init(rules: rules)
    }

    /// The rule for a resource's code, if the table knows it.
    public func codeRule(system: String, code: String) -> Rule? { byCode[system, code] }

    /// The value a coded value means for `field`.
    public func value(system: String, code: String, field: String) -> String? {
        byValue[system, code]?.first { $0.field == field }?.value
    }

    /// The value a `dataAbsentReason` means for `field`.
    public func absentValue(system: String, code: String, field: String) -> String? {
        byAbsent[system, code]?.first { $0.field == field }?.value
    }

    /// The factor from a UCUM unit to `field`'s dictionary unit, or nil when the unit is not accepted.
    public func unitFactor(code: String, field: String) -> Double? { unitFactors[field, code] }

    /// The units accepted for `field`, for error messages.
    public func units(for field: String) -> [String] {
        rules.filter { $0.kind == .unit && $0.field == field }.map(\.code)
    }

    /// Export: the first `code` rule of a field (and value, for agents and procedures).
    public func preferredCode(field: String, value: String? = nil) -> Rule? {
        rules.first { $0.kind == .code && $0.field == field && (value == nil || $0.value == value) }
    }

    /// Export: the first `value` rule that writes `value` for `field`.
    public func preferredValue(field: String, value: String) -> Rule? {
        rules.first { $0.kind == .value && $0.field == field && $0.value == value }
    }

    /// Export: the first `absent` rule that writes `value` for `field`.
    public func preferredAbsent(field: String, value: String) -> Rule? {
        rules.first { $0.kind == .absent && $0.field == field && $0.value == value }
    }

    /// Export: the unit in which a quantity field is written (the first with factor 1: the dictionary's unit).
    public func preferredUnit(field: String) -> Rule? {
        rules.first { $0.kind == .unit && $0.field == field && Double($0.value) == 1 }
    }
}
