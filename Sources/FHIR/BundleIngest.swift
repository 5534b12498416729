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
    /// JSON Pointer of a field (or array element) -> FHIRPath of the element it came from.
    let provenance: [String: String]

    /// The FHIRPath of the element a JSON Pointer of the case came from: the pointer's own, else its
    /// nearest parent's, else the Patient (a required field that no resource gave).
    public func expression(forPointer pointer: String) -> String {
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
        errors.map { error in
            let field = error.pointer.tokens.filter { Int($0) == nil }.joined(separator: ".")
            var hint = ""
            if error.code == .required, provenance[error.path] == nil, let text = Self.requiredHints[field] { hint = " (" + text + ")" }
            return OutcomeIssue(
                code: Self.issueType(error.code), registryCode: error.code.rawValue,
                expression: [expression(forPointer: error.path)],
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

/// The cases of one Bundle and what the mapping did not use.
public struct IngestedBundle: Sendable, Equatable {
    /// `transaction` or `collection`.
    public let type: String
    /// One per Patient, in entry order.
    public let cases: [MappedCase]
    /// Resources the mapping did not use, counted by resource type (sorted by type).
    public let ignored: [IgnoredCount]
    /// What the Patient entries' `request` asks (create, or create or replace); nil when none has one.
    public var writeRequest: WriteRequest? = nil

    public struct IgnoredCount: Sendable, Equatable {
        public let resourceType: String
        public let count: Int
    }
}

/// Reads R4 Bundles into section 9 cases (DOMAIN.md section 10). Pure: values in, values out.
public struct BundleReader: Sendable {
    public let terminology: Terminology

    public init(terminology: Terminology) { self.terminology = terminology }

    /// The members an R4 Bundle may have (http://hl7.org/fhir/R4/bundle.html); any other member
    /// (R5's `issues`, say) means the Bundle is not R4.
    static let bundleMembers: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "identifier", "type", "timestamp", "total", "link", "entry",
        "signature",
    ]

    /// Parses and maps a request body.
    public func read(_ body: [UInt8]) throws(IngestError) -> IngestedBundle {
        try read(try parse(body))
    }

    /// Parses a request body (not yet checked to be a Bundle).
    public func parse(_ body: [UInt8]) throws(IngestError) -> JSONValue {
        do {
            // A large Bundle's entries are parsed on two threads (the same value or error).
            return try JSONValue.parse(body, splittingArrayMember: "entry")
        } catch {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "malformed_json", diagnostics: "The body is not JSON: \(error.description)"))
        }
    }

    /// Maps a parsed Bundle: one case per Patient, with every resource whose `subject` or `patient`
    /// references it. All or nothing: any problem throws, listing every problem found.
    public func read(_ bundle: JSONValue) throws(IngestError) -> IngestedBundle {
        guard case .object(let members) = bundle, members["resourceType"] == "Bundle" else {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "not_a_bundle", diagnostics: "The body must be a FHIR R4 Bundle resource (resourceType Bundle)."))
        }
        if members.keys.contains(where: { !Self.bundleMembers.contains($0) }) {
            // The member's name is the client's text: not repeated (no echo), the R4 ones are listed.
            throw .unreadable(
                OutcomeIssue(
                    code: "not-supported", registryCode: "fhir_version", expression: ["Bundle"],
                    diagnostics: "The Bundle has a member that is not an element of an R4 Bundle (\(Self.bundleMembers.sorted().joined(separator: ", "))); this service reads FHIR R4 (4.0.1) only."))
        }
        guard let type = members["type"]?.stringValue, type == "transaction" || type == "collection" else {
            throw .unreadable(
                OutcomeIssue(
                    code: "not-supported", registryCode: "bundle_type", expression: ["Bundle.type"],
                    diagnostics: "Bundle.type must be transaction or collection."))
        }
        guard let entries = (members["entry"] ?? .array([])).arrayValue else {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "not_a_bundle", expression: ["Bundle.entry"], diagnostics: "Bundle.entry must be an array."))
        }
        var mapping = Mapping(terminology: terminology, entries: entries)
        return try mapping.run(type: type)
    }
}

/// A FHIR date or dateTime read as the registry needs it: the `YYYY-MM-DD` part as written.
enum FHIRDate: Equatable {
    case full(String)
    case partial(year: Int)
    case invalid

    init(_ text: String) {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 } }
        switch bytes.count {
        case 4 where digits(0..<4): self = .partial(year: Int(text)!)
        case 7 where digits(0..<4) && bytes[4] == 0x2D && digits(5..<7): self = .partial(year: Int(text.prefix(4))!)
        case 10...:
            guard digits(0..<4), bytes[4] == 0x2D, digits(5..<7), bytes[7] == 0x2D, digits(8..<10), bytes.count == 10 || bytes[10] == 0x54
            else {
                self = .invalid
                return
            }
            self = .full(String(decoding: bytes[0..<10], as: UTF8.self))
        default: self = .invalid
        }
    }
}

/// One run of the mapping over the entries of a Bundle.
private struct Mapping {
    let terminology: Terminology
    let entries: [JSONValue]
    var issues: [OutcomeIssue] = []
    var ignored: [String: Int] = [:]

    struct Patient {
        let index: Int
        var builder: CaseBuilder
        var statuses: [(date: String, status: String, path: String)] = []
    }

    var patients: [Patient] = []
    /// `urn:uuid:...`, absolute URLs and `Patient/<id>` -> index into `patients`.
    var patientKeys: [String: Int] = [:]
    /// `fullUrl` and `Medication/<id>` -> the Medication resource.
    var medications: [String: JSONValue] = [:]
    /// fullUrls of every entry: a reference to one of them that is no Patient is not unresolved.
    var fullUrls: Set<String> = []

    init(terminology: Terminology, entries: [JSONValue]) {
        self.terminology = terminology
        self.entries = entries
    }

    static func resourcePath(_ index: Int) -> String { "Bundle.entry[\(index)].resource" }

    mutating func fail(_ code: String, _ registryCode: String, _ expression: [String], _ diagnostics: String) {
        issues.append(OutcomeIssue(code: code, registryCode: registryCode, expression: expression, diagnostics: diagnostics))
    }

    mutating func ignore(_ resource: JSONValue) {
        ignored[ResourceTypes.displayName(resource["resourceType"]?.stringValue), default: 0] += 1
    }

    mutating func run(type: String) throws(IngestError) -> IngestedBundle {
        // Pass 1: Patients and Medications, which other resources reference.
        var seenIdentifiers: [String: Int] = [:]
        // Each entry's resource and type, read once.
        var resources: [(resource: JSONValue, type: String?)?] = []
        resources.reserveCapacity(entries.count)
        fullUrls.reserveCapacity(entries.count)
        var writeRequest: WriteRequest?
        for (index, entry) in entries.enumerated() {
            if let request = entry["request"] {
                let (found, write) = RequestCheck.check(request, entry: index, bundleType: type, resource: entry["resource"])
                issues += found
                // A refused request without resource (a DELETE) is one problem, not two.
                if !found.isEmpty, entry["resource"] == nil {
                    resources.append(nil)
                    continue
                }
                if let write {
                    let expression = "Bundle.entry[\(index)].request.method"
                    if let first = writeRequest, first.write != write {
                        fail(
                            "business-rule", MappingCode.conflictingRequest, [expression, first.expression],
                            "request.method: \(MappingCode.conflictingRequest): the Patients of a Bundle are all POST (create) or all PUT (create or replace).")
                    } else if writeRequest == nil {
                        writeRequest = WriteRequest(write: write, expression: expression)
                    }
                }
            }
            guard let resource = entry["resource"], resource.objectValue != nil else {
                resources.append(nil)
                fail("required", MappingCode.missingElement, ["Bundle.entry[\(index)]"], "Bundle.entry[\(index)] has no resource.")
                continue
            }
            let resourceType = resource["resourceType"]?.stringValue
            resources.append((resource, resourceType))
            let fullUrl = entry["fullUrl"]?.stringValue
            if let fullUrl { fullUrls.insert(fullUrl) }
            switch resourceType {
            case "Patient":
                let base = Self.resourcePath(index)
                var patient = Patient(index: index, builder: CaseBuilder(patientExpression: base))
                readPatient(resource, base: base, into: &patient.builder)
                if let identifier = patient.builder.externalID {
                    if let first = seenIdentifiers[identifier] {
                        fail(
                            "duplicate", MappingCode.duplicatePatient,
                            ["\(base).identifier[0].value", "\(Self.resourcePath(first)).identifier[0].value"],
                            "external_id: \(MappingCode.duplicatePatient): two Patients of the Bundle have the same identifier; send each case once.")
                    } else {
                        seenIdentifiers[identifier] = index
                    }
                }
                let position = patients.count
                patients.append(patient)
                if let fullUrl { patientKeys[fullUrl] = position }
                if let id = resource["id"]?.stringValue { patientKeys["Patient/" + id] = position }
            case "Medication":
                if let fullUrl { medications[fullUrl] = resource }
                if let id = resource["id"]?.stringValue { medications["Medication/" + id] = resource }
            default: break
            }
        }
        if patients.isEmpty && issues.isEmpty {
            fail("required", "required", ["Bundle.entry"], "case: required: the Bundle has no Patient resource; each Patient is one case.")
        }
        // Pass 2: every other resource, to the Patient it references.
        var usedMedications: Set<String> = []
        for (index, read) in resources.enumerated() {
            guard let (resource, resourceType) = read else { continue }
            if resourceType == "Patient" { continue }
            if resourceType == "Medication" { continue }  // counted below, unless a medication statement used it
            let base = Self.resourcePath(index)
            let referenceElement: String?
            let referenceValue: JSONValue?
            if let subject = resource["subject"] {
                (referenceElement, referenceValue) = ("subject", subject)
            } else if let patient = resource["patient"] {
                (referenceElement, referenceValue) = ("patient", patient)
            } else {
                (referenceElement, referenceValue) = (nil, nil)
            }
            var patientPosition: Int?
            if let referenceElement {
                let reference = referenceValue?["reference"]?.stringValue
                if let reference, let position = patientKeys[reference] ?? patientKeys[Self.relative(reference)] {
                    patientPosition = position
                } else if let reference, reference.hasPrefix("Patient/") || (reference.contains(":") && !fullUrls.contains(reference))
                    || reference.hasSuffix("/Patient/" + (reference.split(separator: "/").last.map(String.init) ?? ""))
                {
                    fail(
                        "not-found", MappingCode.unresolvedReference, ["\(base).\(referenceElement)"],
                        "\(ResourceTypes.displayName(resourceType)).\(referenceElement): \(MappingCode.unresolvedReference): the reference names no Patient of this Bundle (use Patient/<id> or the Patient entry's fullUrl).")
                    continue
                }
            }
            guard let position = patientPosition else {
                // Not about a Patient of the Bundle (no subject, or a Group...): the mapping cannot use it.
                if mapsToField(resource) {
                    fail(
                        "required", MappingCode.missingElement, ["\(base).subject"],
                        "\(ResourceTypes.displayName(resourceType)).subject: \(MappingCode.missingElement): a resource the mapping reads must reference its Patient.")
                } else {
                    ignore(resource)
                }
                continue
            }
            var used = false
            // Taken out while mapped into, so that its storage is not shared (and not copied).
            var patient = patients[position]
            patients[position] = Patient(index: -1, builder: CaseBuilder(patientExpression: ""))
            switch resourceType {
            case "Condition": used = condition(resource, base: base, into: &patient.builder)
            case "Observation": used = observation(resource, base: base, patient: &patient)
            case "Procedure": used = procedure(resource, base: base, into: &patient.builder)
            case "MedicationAdministration", "MedicationStatement", "MedicationRequest":
                if let key = medication(resource, base: base, into: &patient.builder) {
                    used = true
                    if !key.isEmpty { usedMedications.insert(key) }
                }
            default: used = false
            }
            patients[position] = patient
            if !used { ignore(resource) }
        }
        for (index, read) in resources.enumerated() where read?.type == "Medication" {
            let keys = [entries[index]["fullUrl"]?.stringValue, read?.resource["id"]?.stringValue.map { "Medication/" + $0 }].compactMap { $0 }
            if !keys.contains(where: usedMedications.contains) { ignore(read!.resource) }
        }
        // Derived outcome dates from the disease-status Observations.
        for position in patients.indices { Self.deriveOutcome(&patients[position]) }
        var cases: [MappedCase] = []
        for patient in patients {
            let (mapped, found) = patient.builder.build()
            issues += found
            cases.append(mapped)
        }
        guard issues.isEmpty else { throw .invalid(issues) }
        return IngestedBundle(
            type: type, cases: cases,
            ignored: ignored.keys.sorted().map { IngestedBundle.IgnoredCount(resourceType: $0, count: ignored[$0]!) },
            writeRequest: writeRequest)
    }

    /// `http://host/fhir/Patient/1` -> `Patient/1` (a server's absolute reference to a Bundle Patient).
    static func relative(_ reference: String) -> String {
        let parts = reference.split(separator: "/")
        guard parts.count >= 2 else { return reference }
        return parts[parts.count - 2] + "/" + parts[parts.count - 1]
    }

    // MARK: Codes

    enum Target {
        case field(String)
        case rule(Terminology.Rule)
    }

    /// The field a resource's code maps to: the generic rule (`urn:icmm:field`) or a table code.
    func target(_ concept: JSONValue?) -> (Target, Int)? {
        for (position, coding) in (concept?["coding"]?.arrayValue ?? []).enumerated() {
            guard let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue else { continue }
            if system == CaseField.fieldSystem { return (.field(code), position) }
            if let rule = terminology.codeRule(system: system, code: code) { return (.rule(rule), position) }
        }
        return nil
    }

    func mapsToField(_ resource: JSONValue) -> Bool {
        switch resource["resourceType"]?.stringValue {
        case "Condition", "Observation", "Procedure": target(resource["code"]) != nil
        case "MedicationAdministration", "MedicationStatement", "MedicationRequest": resource["medicationCodeableConcept"] != nil
        default: false
        }
    }

    // MARK: Patient

    mutating func readPatient(_ resource: JSONValue, base: String, into builder: inout CaseBuilder) {
        if let value = resource["identifier"]?.arrayValue?.first?["value"] {
            builder.set("external_id", value, at: "\(base).identifier[0].value")
        }
        if let gender = resource["gender"]?.stringValue {
            builder.set("sex", .string(gender == "female" || gender == "male" ? gender : "unknown"), at: "\(base).gender")
        } else if resource["gender"] != nil {
            builder.set("sex", resource["gender"]!, at: "\(base).gender")
        }
        if let birthDate = resource["birthDate"] {
            // Only the year is kept: the rest of the birth date is discarded, never stored.
            switch birthDate.stringValue.map(FHIRDate.init) {
            case .full(let text)?: builder.set("birth_year", .number(Double(Int(text.prefix(4))!)), at: "\(base).birthDate")
            case .partial(let year)?: builder.set("birth_year", .number(Double(year)), at: "\(base).birthDate")
            default:
                fail("value", "invalid_date", ["\(base).birthDate"], "birth_year: invalid_date: Patient.birthDate must be a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).")
            }
        }
        if let deceased = resource["deceasedDateTime"] {
            date(deceased, field: "outcome.death_date", at: "\(base).deceasedDateTime", into: &builder)
        } else if resource["deceasedBoolean"] == .bool(true) {
            fail(
                "required", MappingCode.deathDateMissing, ["\(base).deceasedBoolean"],
                "outcome.death_date: \(MappingCode.deathDateMissing): deceasedBoolean true without a date; send Patient.deceasedDateTime.")
        }
    }

    /// Sets a date field from a FHIR date/dateTime: the `YYYY-MM-DD` part; partial dates are refused.
    mutating func date(_ value: JSONValue, field: String, at path: String, into builder: inout CaseBuilder) {
        if let text = fullDate(value, field: field, at: path) { builder.set(field, .string(text), at: path) }
    }

    /// The `YYYY-MM-DD` part of a FHIR date/dateTime, or nil after recording why not.
    mutating func fullDate(_ value: JSONValue, field: String, at path: String) -> String? {
        switch value.stringValue.map(FHIRDate.init) {
        case .full(let text)?:
            return text
        case .partial?:
            fail("value", MappingCode.partialDate, [path], "\(field): \(MappingCode.partialDate): a full date (YYYY-MM-DD) is required; a year or a year and month is not enough.")
        default:
            fail("value", "invalid_date", [path], "\(field): invalid_date: must be a FHIR dateTime with a full date (YYYY-MM-DD...).")
        }
        return nil
    }

    // MARK: Condition

    mutating func condition(_ resource: JSONValue, base: String, into builder: inout CaseBuilder) -> Bool {
        guard let (target, _) = target(resource["code"]), case .rule(let rule) = target, CaseField.kind(of: rule.field) == .date else {
            return false
        }
        let verification = resource["verificationStatus"]?["coding"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
        if verification.contains("refuted") || verification.contains("entered-in-error") { return false }
        if let onset = resource["onsetDateTime"] {
            date(onset, field: rule.field, at: "\(base).onsetDateTime", into: &builder)
        } else if rule.field == "mm_diagnosis_date", let recorded = resource["recordedDate"] {
            date(recorded, field: rule.field, at: "\(base).recordedDate", into: &builder)
        } else {
            fail(
                "required", MappingCode.missingElement, ["\(base).onsetDateTime"],
                "\(rule.field): \(MappingCode.missingElement): the Condition needs onsetDateTime\(rule.field == "mm_diagnosis_date" ? " (or recordedDate)" : "").")
        }
        return true
    }

    // MARK: Observation

    static let voidStatuses: Set<String> = ["entered-in-error", "cancelled"]

    mutating func observation(_ resource: JSONValue, base: String, patient: inout Patient) -> Bool {
        if let status = resource["status"]?.stringValue, Self.voidStatuses.contains(status) { return false }
        guard let (target, codingIndex) = target(resource["code"]) else { return false }
        let field: String
        switch target {
        case .field(let name):
            guard let kind = CaseField.kind(of: name), name != "external_id" else {
                fail(
                    "code-invalid", MappingCode.unknownCode, ["\(base).code.coding[\(codingIndex)]"],
                    "case: \(MappingCode.unknownCode): the urn:icmm:field code is not a field of the case data dictionary (external_id comes from Patient.identifier).")
                return true
            }
            _ = kind
            field = name
        case .rule(let rule):
            field = rule.field
        }
        if field == Terminology.diseaseStatus {
            diseaseStatus(resource, base: base, into: &patient)
            return true
        }
        guard let kind = CaseField.kind(of: field) else { return false }
        if let value = observationValue(resource, base: base, field: field, kind: kind) {
            if kind == .codeArray {
                if value.json == .string(CaseField.emptyArrayValue) {
                    patient.builder.markEmpty(field, at: value.path)
                } else {
                    patient.builder.append(field, value.json, at: value.path)
                }
            } else {
                patient.builder.set(field, value.json, at: value.path)
            }
        }
        return true
    }

    /// The value of an Observation for a field of `kind`, or nil after recording why not.
    mutating func observationValue(
        _ resource: JSONValue, base: String, field: String, kind: CaseField.Kind
    ) -> (json: JSONValue, path: String)? {
        let expected: String
        switch kind {
        case .quantity:
            expected = "valueQuantity"
            if let quantity = resource["valueQuantity"] {
                let path = "\(base).valueQuantity"
                guard let number = quantity["value"]?.numberValue else {
                    fail("required", MappingCode.missingElement, ["\(path).value"], "\(field): \(MappingCode.missingElement): valueQuantity needs a value.")
                    return nil
                }
                guard quantity["system"]?.stringValue == "http://unitsofmeasure.org", let unit = quantity["code"]?.stringValue,
                    let factor = terminology.unitFactor(code: unit, field: field)
                else {
                    let accepted = terminology.units(for: field)
                    fail(
                        "not-supported", MappingCode.unsupportedUnit, [path],
                        "\(field): \(MappingCode.unsupportedUnit): the unit must be UCUM (system http://unitsofmeasure.org) \(accepted.joined(separator: " or ")); other units are refused, never converted.")
                    return nil
                }
                return (.number(Self.convert(number, factor: factor)), path)
            }
        case .boolean:
            expected = "valueBoolean"
            if let value = resource["valueBoolean"] { return (value, "\(base).valueBoolean") }
            if let (value, path) = codedValue(resource["interpretation"], base: "\(base).interpretation", field: field, list: true) {
                return (.bool(value == "true"), path)
            }
        case .integer:
            expected = "valueInteger"
            if let value = resource["valueInteger"] { return (value, "\(base).valueInteger") }
        case .date:
            expected = "valueDateTime"
            if let value = resource["valueDateTime"] {
                let path = "\(base).valueDateTime"
                guard let text = fullDate(value, field: field, at: path) else { return nil }
                return (.string(text), path)
            }
        case .code, .codeArray:
            expected = "valueCodeableConcept"
            if let concept = resource["valueCodeableConcept"] {
                let path = "\(base).valueCodeableConcept"
                if let value = Self.genericValue(concept) { return (.string(value), path) }
                if let (value, path) = codedValue(concept, base: path, field: field, list: false) { return (.string(value), path) }
                fail(
                    "code-invalid", MappingCode.unknownCode, [path],
                    "\(field): \(MappingCode.unknownCode): valueCodeableConcept needs a coding of urn:icmm:value or of the terminology table for this field.")
                return nil
            }
            if let (value, path) = codedValue(resource["interpretation"], base: "\(base).interpretation", field: field, list: true) {
                return (.string(value), path)
            }
            if let reason = resource["dataAbsentReason"] {
                for (position, coding) in (reason["coding"]?.arrayValue ?? []).enumerated() {
                    if let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                        let value = terminology.absentValue(system: system, code: code, field: field)
                    {
                        return (.string(value), "\(base).dataAbsentReason.coding[\(position)]")
                    }
                }
            }
        }
        if let other = resource.objectValue?.keys.sorted().first(where: { $0.hasPrefix("value") }) {
            fail(
                "structure", MappingCode.wrongValueType, ["\(base).\(other)"],
                "\(field): \(MappingCode.wrongValueType): this field takes \(expected).")
        } else {
            fail(
                "required", MappingCode.missingElement, ["\(base).value"],
                "\(field): \(MappingCode.missingElement): the Observation has no \(expected).")
        }
        return nil
    }

    /// `g/L` x 0.1 -> `g/dL`: divided by the reciprocal so that 35 g/L is exactly 3.5 g/dL.
    static func convert(_ value: Double, factor: Double) -> Double {
        let reciprocal = 1 / factor
        if factor < 1, abs(reciprocal - reciprocal.rounded()) < 1e-9 { return value / reciprocal.rounded() }
        return value * factor
    }

    static func genericValue(_ concept: JSONValue) -> String? {
        for coding in concept["coding"]?.arrayValue ?? [] where coding["system"]?.stringValue == CaseField.valueSystem {
            if let code = coding["code"]?.stringValue { return code }
        }
        return nil
    }

    /// A table value row matched by a CodeableConcept (or a list of them, as `interpretation` is).
    func codedValue(_ concept: JSONValue?, base: String, field: String, list: Bool) -> (String, String)? {
        guard let concept else { return nil }
        let concepts = list ? (concept.arrayValue ?? []) : [concept]
        for (conceptIndex, item) in concepts.enumerated() {
            for (position, coding) in (item["coding"]?.arrayValue ?? []).enumerated() {
                guard let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                    let value = terminology.value(system: system, code: code, field: field)
                else { continue }
                return (value, list ? "\(base)[\(conceptIndex)].coding[\(position)]" : "\(base).coding[\(position)]")
            }
        }
        return nil
    }

    mutating func diseaseStatus(_ resource: JSONValue, base: String, into patient: inout Patient) {
        guard let concept = resource["valueCodeableConcept"],
            let (status, _) = codedValue(concept, base: "\(base).valueCodeableConcept", field: Terminology.diseaseStatus, list: false)
        else {
            fail(
                "code-invalid", MappingCode.unknownCode, ["\(base).valueCodeableConcept"],
                "outcome.progression_date: \(MappingCode.unknownCode): a disease-status Observation needs a valueCodeableConcept of the terminology table (SNOMED CT 268910001, 359746009, 271299001 or 709137006).")
            return
        }
        guard let effective = resource["effectiveDateTime"] else {
            fail(
                "required", MappingCode.missingElement, ["\(base).effectiveDateTime"],
                "outcome.progression_date: \(MappingCode.missingElement): a disease-status Observation needs effectiveDateTime.")
            return
        }
        let field = status == "worsened" ? "outcome.progression_date" : "outcome.last_followup_date"
        guard let text = fullDate(effective, field: field, at: "\(base).effectiveDateTime") else { return }
        patient.statuses.append((text, status, "\(base).effectiveDateTime"))
    }

    /// Section 10: progression = the earliest "worsened" on or after the intracranial diagnosis; last
    /// follow-up = the latest disease status. A field sent by the generic rule is kept as sent.
    /// Static: a method of `self` given `&patients[i]` would copy `self`, and so the whole array.
    static func deriveOutcome(_ patient: inout Patient) {
        guard !patient.statuses.isEmpty else { return }
        if !patient.builder.has("outcome.progression_date"),
            let diagnosis = patient.builder.value("intracranial.diagnosis_date")?.stringValue.flatMap(CalendarDate.init(iso:))
        {
            let worsened = patient.statuses.filter { $0.status == "worsened" }
                .compactMap { status in CalendarDate(iso: status.date).map { ($0, status.path) } }
                .filter { $0.0 >= diagnosis }
                .min { $0.0 < $1.0 }
            if let (date, path) = worsened { patient.builder.set("outcome.progression_date", .string(date.description), at: path) }
        }
        if !patient.builder.has("outcome.last_followup_date") {
            let latest = patient.statuses.compactMap { status in CalendarDate(iso: status.date).map { ($0, status.path) } }
                .max { $0.0 < $1.0 }
            if let (date, path) = latest { patient.builder.set("outcome.last_followup_date", .string(date.description), at: path) }
        }
    }

    // MARK: Procedure

    mutating func procedure(_ resource: JSONValue, base: String, into builder: inout CaseBuilder) -> Bool {
        guard let (target, codingIndex) = target(resource["code"]) else { return false }
        let field: String
        switch target {
        case .field(let name): field = name
        case .rule(let rule): field = rule.field
        }
        guard CaseField.kind(of: field) == .boolean, field.hasPrefix("therapy.") else {
            fail(
                "code-invalid", MappingCode.unknownCode, ["\(base).code.coding[\(codingIndex)]"],
                "\(field): \(MappingCode.unknownCode): a Procedure maps only to therapy.radiotherapy, therapy.asct, therapy.intrathecal or therapy.neurosurgery.")
            return true
        }
        let status = resource["status"]?.stringValue
        if status == "entered-in-error" { return false }
        // A Procedure whose status is not-done says the treatment was not given.
        builder.set(field, .bool(status != "not-done"), at: "\(base).status")
        return true
    }

    // MARK: Medications

    static let notGivenStatuses: Set<String> = ["entered-in-error", "not-taken", "not-done", "cancelled"]

    /// Adds the agent of a medication resource; returns the key of the Medication it used ("" for
    /// none), or nil when the resource names no section 6 agent (ignored).
    mutating func medication(_ resource: JSONValue, base: String, into builder: inout CaseBuilder) -> String? {
        if let status = resource["status"]?.stringValue, Self.notGivenStatuses.contains(status) { return nil }
        var concept = resource["medicationCodeableConcept"]
        var path = "\(base).medicationCodeableConcept"
        var key = ""
        if concept == nil, let reference = resource["medicationReference"]?["reference"]?.stringValue,
            let medication = medications[reference] ?? medications[Self.relative(reference)]
        {
            concept = medication["code"]
            path = "\(base).medicationReference"
            key = medications[reference] != nil ? reference : Self.relative(reference)
        }
        guard let concept, let agent = agent(concept) else { return nil }
        builder.append("therapy.agents", .string(agent), at: path)
        return key
    }

    /// An RxNorm ingredient of the table, else a coding display or the text equal to a section 6 name.
    func agent(_ concept: JSONValue) -> String? {
        let codings = concept["coding"]?.arrayValue ?? []
        for coding in codings {
            if let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                let rule = terminology.codeRule(system: system, code: code), rule.field == "therapy.agents"
            {
                return rule.value
            }
        }
        let names = codings.compactMap { $0["display"]?.stringValue } + [concept["text"]?.stringValue].compactMap { $0 }
        for name in names {
            let normalized = name.trimmingSpaces().lowercased()
            if let agent = CaseRecord.Agent(rawValue: normalized) { return agent.rawValue }
        }
        return nil
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Collects the fields of one case by dotted path, with the element each came from.
struct CaseBuilder {
    let patientExpression: String
    private var scalars: [String: (value: JSONValue, path: String)] = [:]
    private var arrays: [String: [(value: JSONValue, path: String)]] = [:]
    private var empty: [String: String] = [:]
    private(set) var issues: [OutcomeIssue] = []

    init(patientExpression: String) { self.patientExpression = patientExpression }

    var externalID: String? { scalars["external_id"]?.value.stringValue }

    func has(_ field: String) -> Bool { scalars[field] != nil }
    func value(_ field: String) -> JSONValue? { scalars[field]?.value }

    /// A scalar field; the same field given again with another value is a conflict (both named).
    mutating func set(_ field: String, _ value: JSONValue, at path: String) {
        if let existing = scalars[field] {
            if existing.value != value && existing.path != path {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [existing.path, path],
                        diagnostics: "\(field): \(MappingCode.conflictingValues): two elements give this field different values; send one."))
            }
            return
        }
        scalars[field] = (value, path)
    }

    mutating func append(_ field: String, _ value: JSONValue, at path: String) {
        arrays[field, default: []].append((value, path))
    }

    /// `urn:icmm:value none` on an array field: the list is empty (e.g. FISH done, nothing found).
    mutating func markEmpty(_ field: String, at path: String) { empty[field] = path }

    /// The case, with the conflicts found while building it.
    func build() -> (MappedCase, [OutcomeIssue]) {
        // Every field as its keys and value; the objects are then made once each, from the fields
        // grouped by key (sorted), rather than by setting one field at a time into nested objects.
        var leaves: [(keys: ArraySlice<String>, value: JSONValue)] = []
        leaves.reserveCapacity(scalars.count + empty.count + arrays.count)
        var provenance: [String: String] = [:]
        provenance.reserveCapacity(scalars.count + arrays.count * 3)
        for (field, entry) in scalars {
            let (keys, pointer) = CaseField.keysAndPointer(field)
            leaves.append((keys[...], entry.value))
            provenance[pointer] = entry.path
        }
        var issues = self.issues
        for (field, path) in empty {
            if let elements = arrays[field], !elements.isEmpty {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [path, elements[0].path],
                        diagnostics: "\(field): \(MappingCode.conflictingValues): urn:icmm:value none (an empty list) together with elements."))
                continue
            }
            let (keys, pointer) = CaseField.keysAndPointer(field)
            leaves.append((keys[...], .array([])))
            provenance[pointer] = path
        }
        for (field, elements) in arrays {
            let (keys, pointer) = CaseField.keysAndPointer(field)
            leaves.append((keys[...], .array(elements.map(\.value))))
            provenance[pointer] = elements[0].path
            for (index, element) in elements.enumerated() { provenance[pointer + "/\(index)"] = element.path }
        }
        leaves.sort { $0.keys.lexicographicallyPrecedes($1.keys) }
        let json = Self.object(leaves[...])
        return (MappedCase(externalID: externalID, json: json, patientExpression: patientExpression, provenance: provenance), issues)
    }

    /// The object of leaves sorted by keys: a leaf of one key is a member; the leaves that share a
    /// first key make the object under it.
    static func object(_ leaves: ArraySlice<(keys: ArraySlice<String>, value: JSONValue)>) -> JSONValue {
        var members = [String: JSONValue](minimumCapacity: leaves.count)
        var position = leaves.startIndex
        while position < leaves.endIndex {
            let key = leaves[position].keys.first!
            if leaves[position].keys.count == 1 {
                members[key] = leaves[position].value
                position += 1
                continue
            }
            var children: [(keys: ArraySlice<String>, value: JSONValue)] = []
            while position < leaves.endIndex, leaves[position].keys.count > 1, leaves[position].keys.first == key {
                children.append((leaves[position].keys.dropFirst(), leaves[position].value))
                position += 1
            }
            members[key] = object(children[...])
        }
        return .object(members)
    }
}
