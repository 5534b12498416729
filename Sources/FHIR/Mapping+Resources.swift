import Classification
import JSON

extension Mapping {
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
        var fieldKind: CaseField.Kind?
        switch target {
        case .field(let name):
            guard let kind = CaseField.kind(of: name), name != "external_id" else {
                fail(
                    "code-invalid", MappingCode.unknownCode, ["\(base).code.coding[\(codingIndex)]"],
                    "case: \(MappingCode.unknownCode): the urn:icmm:field code is not a field of the case data dictionary (external_id comes from Patient.identifier).")
                return true
            }
            fieldKind = kind
            field = name
        case .rule(let rule):
            field = rule.field
        }
        if field == Terminology.diseaseStatus {
            diseaseStatus(resource, base: base, into: &patient)
            return true
        }
        guard let kind = fieldKind ?? CaseField.kind(of: field) else { return false }
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
