import Classification
import JSON

/// One run of the mapping over the entries of a Bundle.
struct Mapping {
    let terminology: Terminology
    let entries: [JSONValue]
    var issues: [OutcomeIssue] = []
    var ignored: [String: Int] = [:]

    struct Patient {
        let index: Int
        var builder: CaseBuilder
        var statuses: [(date: String, status: String, path: ElementPath)] = []
    }

    var patients: [Patient] = []
    /// `urn:uuid:...`, absolute URLs and `Patient/<id>` -> index into `patients`.
    var patientKeys: [String: Int] = [:]
    /// The last reference found in `patientKeys` and its Patient: a Patient's resources usually
    /// follow one another, and comparing a String is cheaper than hashing it.
    var lastPatientReference: (reference: String, position: Int)?
    /// `fullUrl` and `Medication/<id>` -> the Medication resource.
    var medications: [String: JSONValue] = [:]
    /// fullUrls of every entry with a resource: a reference to one of them that is no Patient is
    /// not unresolved. Built when first needed (a reference that names no Patient of the Bundle).
    var fullUrls: Set<String>?
    /// The entries whose resource is a Medication.
    var medicationEntries: [Int] = []

    init(terminology: Terminology, entries: [JSONValue]) {
        self.terminology = terminology
        self.entries = entries
    }

    /// `Bundle.entry[i].resource`, with room for the element paths appended to it.
    static func resourcePath(_ index: Int) -> String {
        var path = "Bundle.entry["
        path.reserveCapacity(48)
        path += String(index)
        path += "].resource"
        return path
    }

    mutating func fail(_ code: String, _ registryCode: String, _ expression: [String], _ diagnostics: String) {
        issues.append(OutcomeIssue(code: code, registryCode: registryCode, expression: expression, diagnostics: diagnostics))
    }

    mutating func ignore(_ resource: JSONValue) {
        ignored[ResourceTypes.displayName(resource["resourceType"]?.stringValue), default: 0] += 1
    }

    /// Each entry's resource and its type (nil: an entry without resource), read by pass 1.
    typealias Resources = [(resource: JSONValue, type: String?)?]

    /// The whole mapping: every problem of the Bundle is listed (in entry order), or every case built.
    mutating func run(type: String) throws(IngestError) -> IngestedBundle {
        let (resources, writeRequest) = readPatients(type: type)
        // Pass 2: every other resource, to the Patient it references.
        var usedMedications: Set<String> = []
        for (index, read) in resources.enumerated() {
            guard let (resource, resourceType) = read else { continue }
            if resourceType == "Patient" { continue }
            if resourceType == "Medication" { continue }  // counted below, unless a medication statement used it
            guard let position = owner(of: resource, type: resourceType, entry: index) else { continue }
            // Taken out while mapped into, so that its storage is not shared (and not copied).
            var patient = patients[position]
            patients[position] = Patient(index: -1, builder: .taken)
            map(resource, type: resourceType, entry: index, into: &patient, usedMedications: &usedMedications)
            patients[position] = patient
        }
        countUnusedMedications(resources, used: usedMedications)
        // Derived outcome dates from the disease-status Observations.
        for position in patients.indices { Self.deriveOutcome(&patients[position]) }
        var cases: [MappedCase] = []
        for patient in patients {
            let (mapped, found) = patient.builder.build()
            issues += found
            cases.append(mapped)
        }
        guard issues.isEmpty else { throw .invalid(issues) }
        return bundle(type: type, cases: cases, writeRequest: writeRequest)
    }

    /// The mapping Patient by Patient, after `readPatients` found no problem: each case is handed to
    /// `emit` as soon as it is built (in Patient order, as `run` lists them), so that the registry
    /// can import the first cases while the next are mapped. The cases are those `run` builds (each
    /// Patient's resources are read in entry order, as there). Returns nil at the first problem
    /// (then `run` gives the whole list, in its order) or when `emit` returns false.
    mutating func stream(type: String, resources: Resources, writeRequest: WriteRequest?, emit: (MappedCase) -> Bool) -> IngestedBundle? {
        // Which Patient each resource is about, in entry order.
        var owned = [[Int]](repeating: [], count: patients.count)
        for (index, read) in resources.enumerated() {
            guard let (resource, resourceType) = read else { continue }
            if resourceType == "Patient" || resourceType == "Medication" { continue }
            if let position = owner(of: resource, type: resourceType, entry: index) { owned[position].append(index) }
        }
        guard issues.isEmpty else { return nil }
        var usedMedications: Set<String> = []
        var cases: [MappedCase] = []
        cases.reserveCapacity(patients.count)
        for position in patients.indices {
            var patient = patients[position]
            patients[position] = Patient(index: -1, builder: .taken)
            for index in owned[position] {
                let (resource, resourceType) = resources[index]!
                map(resource, type: resourceType, entry: index, into: &patient, usedMedications: &usedMedications)
            }
            Self.deriveOutcome(&patient)
            let (mapped, found) = patient.builder.build()
            guard issues.isEmpty, found.isEmpty else { return nil }
            cases.append(mapped)
            guard emit(mapped) else { return nil }
        }
        countUnusedMedications(resources, used: usedMedications)
        return bundle(type: type, cases: cases, writeRequest: writeRequest)
    }

    func bundle(type: String, cases: [MappedCase], writeRequest: WriteRequest?) -> IngestedBundle {
        IngestedBundle(
            type: type, cases: cases,
            ignored: ignored.keys.sorted().map { IngestedBundle.IgnoredCount(resourceType: $0, count: ignored[$0]!) },
            writeRequest: writeRequest)
    }

    /// Pass 1: the entries' requests, Patients and Medications, which other resources reference.
    mutating func readPatients(type: String) -> (Resources, WriteRequest?) {
        var seenIdentifiers: [String: Int] = [:]
        // Each entry's resource and type, read once.
        var resources: Resources = []
        resources.reserveCapacity(entries.count)
        var writeRequest: WriteRequest?
        for (index, entry) in entries.enumerated() {
            let resource = entry["resource"]
            let resourceType = resource?["resourceType"]?.stringValue
            if let request = entry["request"] {
                let (found, write) = RequestCheck.check(request, entry: index, bundleType: type, resource: resource, resourceType: resourceType)
                if !found.isEmpty { issues += found }
                // A refused request without resource (a DELETE) is one problem, not two.
                if !found.isEmpty, resource == nil {
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
            guard let resource, case .object = resource else {
                resources.append(nil)
                fail("required", MappingCode.missingElement, ["Bundle.entry[\(index)]"], "Bundle.entry[\(index)] has no resource.")
                continue
            }
            resources.append((resource, resourceType))
            switch resourceType {
            case "Patient":
                let fullUrl = entry["fullUrl"]?.stringValue
                let base = Self.resourcePath(index)
                var patient = Patient(index: index, builder: CaseBuilder(patientExpression: base))
                readPatient(resource, entry: index, into: &patient.builder)
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
                lastPatientReference = nil
                if let fullUrl { patientKeys[fullUrl] = position }
                if let id = resource["id"]?.stringValue { patientKeys["Patient/" + id] = position }
            case "Medication":
                medicationEntries.append(index)
                if let fullUrl = entry["fullUrl"]?.stringValue { medications[fullUrl] = resource }
                if let id = resource["id"]?.stringValue { medications["Medication/" + id] = resource }
            default: break
            }
        }
        if patients.isEmpty && issues.isEmpty {
            fail("required", "required", ["Bundle.entry"], "case: required: the Bundle has no Patient resource; each Patient is one case.")
        }
        return (resources, writeRequest)
    }

    /// The position of the Patient a resource references; nil when it is about no Patient of the
    /// Bundle (then it is refused, if the mapping reads it, or counted as ignored).
    mutating func owner(of resource: JSONValue, type resourceType: String?, entry index: Int) -> Int? {
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
            if let reference, let last = lastPatientReference, last.reference == reference {
                patientPosition = last.position
            } else if let reference, let position = patientKeys[reference] ?? patientKeys[Self.relative(reference)] {
                patientPosition = position
                lastPatientReference = (reference, position)
            } else if let reference, reference.hasPrefix("Patient/") || (reference.contains(":") && !isFullUrl(reference))
                || reference.hasSuffix("/Patient/" + (reference.split(separator: "/").last.map(String.init) ?? ""))
            {
                fail(
                    "not-found", MappingCode.unresolvedReference, ["\(Self.resourcePath(index)).\(referenceElement)"],
                    "\(ResourceTypes.displayName(resourceType)).\(referenceElement): \(MappingCode.unresolvedReference): the reference names no Patient of this Bundle (use Patient/<id> or the Patient entry's fullUrl).")
                return nil
            }
        }
        guard let position = patientPosition else {
            // Not about a Patient of the Bundle (no subject, or a Group...): the mapping cannot use it.
            if mapsToField(resource) {
                fail(
                    "required", MappingCode.missingElement, ["\(Self.resourcePath(index)).subject"],
                    "\(ResourceTypes.displayName(resourceType)).subject: \(MappingCode.missingElement): a resource the mapping reads must reference its Patient.")
            } else {
                ignore(resource)
            }
            return nil
        }
        return position
    }

    /// Whether `reference` is the fullUrl of an entry that has a resource.
    mutating func isFullUrl(_ reference: String) -> Bool {
        if fullUrls == nil {
            fullUrls = Set(entries.compactMap { entry in entry["resource"]?.objectValue == nil ? nil : entry["fullUrl"]?.stringValue })
        }
        return fullUrls!.contains(reference)
    }

    /// Maps one resource into its Patient's case (or counts it as ignored).
    mutating func map(_ resource: JSONValue, type resourceType: String?, entry: Int, into patient: inout Patient, usedMedications: inout Set<String>) {
        var used = false
        switch resourceType {
        case "Condition": used = condition(resource, entry: entry, into: &patient.builder)
        case "Observation": used = observation(resource, entry: entry, patient: &patient)
        case "Procedure": used = procedure(resource, entry: entry, into: &patient.builder)
        case "MedicationAdministration", "MedicationStatement", "MedicationRequest":
            if let key = medication(resource, entry: entry, into: &patient.builder) {
                used = true
                if !key.isEmpty { usedMedications.insert(key) }
            }
        default: used = false
        }
        if !used { ignore(resource) }
    }

    /// Medications no medication resource used are ignored resources.
    mutating func countUnusedMedications(_ resources: Resources, used usedMedications: Set<String>) {
        for index in medicationEntries {
            let read = resources[index]
            let keys = [entries[index]["fullUrl"]?.stringValue, read?.resource["id"]?.stringValue.map { "Medication/" + $0 }].compactMap { $0 }
            if !keys.contains(where: usedMedications.contains) { ignore(read!.resource) }
        }
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

    mutating func readPatient(_ resource: JSONValue, entry: Int, into builder: inout CaseBuilder) {
        if let value = resource["identifier"]?.arrayValue?.first?["value"] {
            builder.set(CaseField.externalID, value, at: ElementPath(entry: entry, .identifierValue))
        }
        if let gender = resource["gender"] {
            if let text = gender.stringValue {
                builder.set(CaseField.sex, .string(text == "female" || text == "male" ? text : "unknown"), at: ElementPath(entry: entry, .gender))
            } else {
                builder.set(CaseField.sex, gender, at: ElementPath(entry: entry, .gender))
            }
        }
        if let birthDate = resource["birthDate"] {
            // Only the year is kept: the rest of the birth date is discarded, never stored.
            let path = ElementPath(entry: entry, .birthDate)
            switch birthDate.stringValue.map(FHIRDate.init) {
            case .full(let text)?: builder.set(CaseField.birthYear, .number(Double(Int(text.prefix(4))!)), at: path)
            case .partial(let year)?: builder.set(CaseField.birthYear, .number(Double(year)), at: path)
            default:
                fail("value", "invalid_date", [path.expression], "birth_year: invalid_date: Patient.birthDate must be a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).")
            }
        }
        if let deceased = resource["deceasedDateTime"] {
            date(deceased, field: CaseField.deathDate, at: ElementPath(entry: entry, .deceasedDateTime), into: &builder)
        } else if resource["deceasedBoolean"] == .bool(true) {
            fail(
                "required", MappingCode.deathDateMissing, ["\(Self.resourcePath(entry)).deceasedBoolean"],
                "outcome.death_date: \(MappingCode.deathDateMissing): deceasedBoolean true without a date; send Patient.deceasedDateTime.")
        }
    }

    /// Sets a date field (a place in `CaseField.all`) from a FHIR date/dateTime: the `YYYY-MM-DD`
    /// part; partial dates are refused.
    mutating func date(_ value: JSONValue, field: Int, at path: ElementPath, into builder: inout CaseBuilder) {
        if let text = fullDate(value, field: CaseField.all[field].path, at: path) { builder.set(field, .string(text), at: path) }
    }

    /// The `YYYY-MM-DD` part of a FHIR date/dateTime, or nil after recording why not.
    mutating func fullDate(_ value: JSONValue, field: String, at path: ElementPath) -> String? {
        switch value.stringValue.map(FHIRDate.init) {
        case .full(let text)?:
            return text
        case .partial?:
            fail("value", MappingCode.partialDate, [path.expression], "\(field): \(MappingCode.partialDate): a full date (YYYY-MM-DD) is required; a year or a year and month is not enough.")
        default:
            fail("value", "invalid_date", [path.expression], "\(field): invalid_date: must be a FHIR dateTime with a full date (YYYY-MM-DD...).")
        }
        return nil
    }
}
