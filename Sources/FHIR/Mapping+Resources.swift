import Classification
import JSON

extension Mapping {
    // MARK: Condition

    mutating func condition(_ resource: JSONValue, entry: Int, into builder: inout CaseBuilder) -> Bool {
        guard let (target, _) = target(resource["code"]), case .rule(let rule) = target, let field = rule.fieldPosition,
            CaseField.all[field].kind == .date
        else {
            return false
        }
        let verification = resource["verificationStatus"]?["coding"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
        if verification.contains("refuted") || verification.contains("entered-in-error") { return false }
        if let onset = resource["onsetDateTime"] {
            date(onset, field: field, at: ElementPath(entry: entry, .onsetDateTime), into: &builder)
        } else if field == CaseField.mmDiagnosisDate, let recorded = resource["recordedDate"] {
            date(recorded, field: field, at: ElementPath(entry: entry, .recordedDate), into: &builder)
        } else {
            fail(
                "required", MappingCode.missingElement, [ElementPath(entry: entry, .onsetDateTime).expression],
                "\(rule.field): \(MappingCode.missingElement): the Condition needs onsetDateTime\(field == CaseField.mmDiagnosisDate ? " (or recordedDate)" : "").")
        }
        return true
    }

    // MARK: Observation

    /// Statuses that void an Observation (`entered-in-error`, `cancelled`).
    static func isVoid(_ status: String) -> Bool { status == "entered-in-error" || status == "cancelled" }

    mutating func observation(_ resource: JSONValue, entry: Int, patient: inout Patient) -> Bool {
        if let status = resource["status"]?.stringValue, Self.isVoid(status) { return false }
        guard let (target, codingIndex) = target(resource["code"]) else { return false }
        let name: String
        let field: Int
        switch target {
        case .field(let code):
            guard let found = CaseField.position(of: code), code != "external_id" else {
                fail(
                    "code-invalid", MappingCode.unknownCode, ["\(Self.resourcePath(entry)).code.coding[\(codingIndex)]"],
                    "case: \(MappingCode.unknownCode): the urn:icmm:field code is not a field of the case data dictionary (external_id comes from Patient.identifier).")
                return true
            }
            name = code
            field = found
        case .rule(let rule):
            if rule.field == Terminology.diseaseStatus {
                diseaseStatus(resource, entry: entry, into: &patient)
                return true
            }
            guard let found = rule.fieldPosition else { return false }
            name = rule.field
            field = found
        }
        let kind = CaseField.all[field].kind
        if let value = observationValue(resource, entry: entry, field: name, kind: kind) {
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
        _ resource: JSONValue, entry: Int, field: String, kind: CaseField.Kind
    ) -> (json: JSONValue, path: ElementPath)? {
        let expected: String
        switch kind {
        case .quantity:
            expected = "valueQuantity"
            if let quantity = resource["valueQuantity"] {
                let path = ElementPath(entry: entry, .valueQuantity)
                guard let number = quantity["value"]?.numberValue else {
                    fail("required", MappingCode.missingElement, [path.expression + ".value"], "\(field): \(MappingCode.missingElement): valueQuantity needs a value.")
                    return nil
                }
                guard quantity["system"]?.stringValue == "http://unitsofmeasure.org", let unit = quantity["code"]?.stringValue,
                    let factor = terminology.unitFactor(code: unit, field: field)
                else {
                    let accepted = terminology.units(for: field)
                    fail(
                        "not-supported", MappingCode.unsupportedUnit, [path.expression],
                        "\(field): \(MappingCode.unsupportedUnit): the unit must be UCUM (system http://unitsofmeasure.org) \(accepted.joined(separator: " or ")); other units are refused, never converted.")
                    return nil
                }
                return (.number(Self.convert(number, factor: factor)), path)
            }
        case .boolean:
            expected = "valueBoolean"
            if let value = resource["valueBoolean"] { return (value, ElementPath(entry: entry, .valueBoolean)) }
            if let found = codedValue(resource["interpretation"], field: field, list: true) {
                return (.bool(found.value == "true"), ElementPath(entry: entry, .interpretationCoding, found.concept, found.coding))
            }
        case .integer:
            expected = "valueInteger"
            if let value = resource["valueInteger"] { return (value, ElementPath(entry: entry, .valueInteger)) }
        case .date:
            expected = "valueDateTime"
            if let value = resource["valueDateTime"] {
                let path = ElementPath(entry: entry, .valueDateTime)
                guard let text = fullDate(value, field: field, at: path) else { return nil }
                return (.string(text), path)
            }
        case .code, .codeArray:
            expected = "valueCodeableConcept"
            if let concept = resource["valueCodeableConcept"] {
                let path = ElementPath(entry: entry, .valueCodeableConcept)
                if let value = Self.genericValue(concept) { return (.string(value), path) }
                if let found = codedValue(concept, field: field, list: false) {
                    return (.string(found.value), ElementPath(entry: entry, .valueCoding, found.coding))
                }
                fail(
                    "code-invalid", MappingCode.unknownCode, [path.expression],
                    "\(field): \(MappingCode.unknownCode): valueCodeableConcept needs a coding of urn:icmm:value or of the terminology table for this field.")
                return nil
            }
            if let found = codedValue(resource["interpretation"], field: field, list: true) {
                return (.string(found.value), ElementPath(entry: entry, .interpretationCoding, found.concept, found.coding))
            }
            if let reason = resource["dataAbsentReason"] {
                for (position, coding) in (reason["coding"]?.arrayValue ?? []).enumerated() {
                    if let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                        let value = terminology.absentValue(system: system, code: code, field: field)
                    {
                        return (.string(value), ElementPath(entry: entry, .dataAbsentReasonCoding, position))
                    }
                }
            }
        }
        if let other = resource.objectValue?.keys.sorted().first(where: { $0.hasPrefix("value") }) {
            fail(
                "structure", MappingCode.wrongValueType, ["\(Self.resourcePath(entry)).\(other)"],
                "\(field): \(MappingCode.wrongValueType): this field takes \(expected).")
        } else {
            fail(
                "required", MappingCode.missingElement, ["\(Self.resourcePath(entry)).value"],
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

    /// A table value row matched by a CodeableConcept (or a list of them, as `interpretation` is),
    /// with the places of the concept (in the list) and of the coding that matched.
    func codedValue(_ concept: JSONValue?, field: String, list: Bool) -> (value: String, concept: Int, coding: Int)? {
        guard let concept else { return nil }
        let concepts = list ? (concept.arrayValue ?? []) : [concept]
        for (conceptIndex, item) in concepts.enumerated() {
            for (position, coding) in (item["coding"]?.arrayValue ?? []).enumerated() {
                guard let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                    let value = terminology.value(system: system, code: code, field: field)
                else { continue }
                return (value, conceptIndex, position)
            }
        }
        return nil
    }

    mutating func diseaseStatus(_ resource: JSONValue, entry: Int, into patient: inout Patient) {
        guard let concept = resource["valueCodeableConcept"],
            let (status, _, _) = codedValue(concept, field: Terminology.diseaseStatus, list: false)
        else {
            fail(
                "code-invalid", MappingCode.unknownCode, [ElementPath(entry: entry, .valueCodeableConcept).expression],
                "outcome.progression_date: \(MappingCode.unknownCode): a disease-status Observation needs a valueCodeableConcept of the terminology table (SNOMED CT 268910001, 359746009, 271299001 or 709137006).")
            return
        }
        let path = ElementPath(entry: entry, .effectiveDateTime)
        guard let effective = resource["effectiveDateTime"] else {
            fail(
                "required", MappingCode.missingElement, [path.expression],
                "outcome.progression_date: \(MappingCode.missingElement): a disease-status Observation needs effectiveDateTime.")
            return
        }
        let field = status == "worsened" ? "outcome.progression_date" : "outcome.last_followup_date"
        guard let text = fullDate(effective, field: field, at: path) else { return }
        patient.statuses.append((text, status, path))
    }

    /// Section 10: progression = the earliest "worsened" on or after the intracranial diagnosis; last
    /// follow-up = the latest disease status. A field sent by the generic rule is kept as sent.
    /// Static: a method of `self` given `&patients[i]` would copy `self`, and so the whole array.
    static func deriveOutcome(_ patient: inout Patient) {
        guard !patient.statuses.isEmpty else { return }
        if !patient.builder.has(CaseField.progressionDate),
            let diagnosis = patient.builder.value(CaseField.intracranialDiagnosisDate)?.stringValue.flatMap(CalendarDate.init(iso:))
        {
            let worsened = patient.statuses.filter { $0.status == "worsened" }
                .compactMap { status in CalendarDate(iso: status.date).map { ($0, status.path) } }
                .filter { $0.0 >= diagnosis }
                .min { $0.0 < $1.0 }
            if let (date, path) = worsened { patient.builder.set(CaseField.progressionDate, .string(date.description), at: path) }
        }
        if !patient.builder.has(CaseField.lastFollowupDate) {
            let latest = patient.statuses.compactMap { status in CalendarDate(iso: status.date).map { ($0, status.path) } }
                .max { $0.0 < $1.0 }
            if let (date, path) = latest { patient.builder.set(CaseField.lastFollowupDate, .string(date.description), at: path) }
        }
    }

    // MARK: Procedure

    mutating func procedure(_ resource: JSONValue, entry: Int, into builder: inout CaseBuilder) -> Bool {
        guard let (target, codingIndex) = target(resource["code"]) else { return false }
        let name: String
        let position: Int?
        switch target {
        case .field(let code): (name, position) = (code, CaseField.position(of: code))
        case .rule(let rule): (name, position) = (rule.field, rule.fieldPosition)
        }
        guard let field = position, CaseField.all[field].kind == .boolean, name.hasPrefix("therapy.") else {
            fail(
                "code-invalid", MappingCode.unknownCode, ["\(Self.resourcePath(entry)).code.coding[\(codingIndex)]"],
                "\(name): \(MappingCode.unknownCode): a Procedure maps only to therapy.radiotherapy, therapy.asct, therapy.intrathecal or therapy.neurosurgery.")
            return true
        }
        let status = resource["status"]?.stringValue
        if status == "entered-in-error" { return false }
        // A Procedure whose status is not-done says the treatment was not given.
        builder.set(field, .bool(status != "not-done"), at: ElementPath(entry: entry, .status))
        return true
    }

    // MARK: Medications

    /// Statuses that say a medication was not given.
    static func isNotGiven(_ status: String) -> Bool {
        status == "entered-in-error" || status == "not-taken" || status == "not-done" || status == "cancelled"
    }

    /// Adds the agent of a medication resource; returns the key of the Medication it used ("" for
    /// none), or nil when the resource names no section 6 agent (ignored).
    mutating func medication(_ resource: JSONValue, entry: Int, into builder: inout CaseBuilder) -> String? {
        if let status = resource["status"]?.stringValue, Self.isNotGiven(status) { return nil }
        var concept = resource["medicationCodeableConcept"]
        var path = ElementPath(entry: entry, .medicationCodeableConcept)
        var key = ""
        if concept == nil, let reference = resource["medicationReference"]?["reference"]?.stringValue,
            let medication = medications[reference] ?? medications[Self.relative(reference)]
        {
            concept = medication["code"]
            path = ElementPath(entry: entry, .medicationReference)
            key = medications[reference] != nil ? reference : Self.relative(reference)
        }
        guard let concept, let agent = agent(concept) else { return nil }
        builder.append(CaseField.agents, .string(agent), at: path)
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
