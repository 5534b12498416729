import JSON

/// Writes cases as R4 Bundles in the mapping of DOMAIN.md section 10, preferring standard codes
/// (the first rule of a field in the terminology table), so that reading the export back gives
/// the same case field by field. Pure: values in, values out.
public struct BundleWriter: Sendable {
    public let terminology: Terminology

    public init(terminology: Terminology) { self.terminology = terminology }

    static let patientID = "patient"
    static let subject: JSONValue = ["reference": "Patient/patient"]
    static let ucum = "http://unitsofmeasure.org"

    /// A `collection` Bundle of one case (its section 9 JSON, as stored).
    ///
    /// Decisions where section 10 is silent: resource ids are `patient`, `r1`, `r2`... (an export
    /// is one case); a false therapy fact is a Procedure with status `not-done`; the progression date
    /// is a disease-status Observation (LOINC 97509-4, worsened) when the case has a last follow-up
    /// date (sent by the generic rule, which wins over the disease statuses on reading), else a
    /// generic Observation, so that reading it back never invents a follow-up date; an empty array
    /// is one generic Observation with `urn:icmm:value` `none`.
    public func export(_ record: JSONValue) -> JSONValue {
        var resources: [JSONValue] = [patient(record)]
        func field(_ path: String) -> JSONValue? {
            var current: JSONValue? = record
            for key in path.split(separator: ".") { current = current?[String(key)] }
            return current
        }
        let hasFollowup = field("outcome.last_followup_date")?.stringValue != nil
        for (path, kind) in CaseField.all {
            guard let value = field(path), !value.isNull else { continue }
            switch path {
            case "external_id", "sex", "birth_year", "outcome.death_date": continue  // on the Patient
            case "mm_diagnosis_date", "intracranial.diagnosis_date":
                resources.append(condition(path, date: value))
                continue
            case "therapy.agents" where !(value.arrayValue ?? []).isEmpty:
                for agent in value.arrayValue ?? [] { resources.append(medication(agent)) }
                continue
            case "therapy.radiotherapy", "therapy.asct", "therapy.intrathecal", "therapy.neurosurgery":
                resources.append(procedure(path, done: value.boolValue ?? false))
                continue
            case "outcome.progression_date" where hasFollowup:
                if let rule = terminology.preferredCode(field: Terminology.diseaseStatus),
                    let worsened = terminology.preferredValue(field: Terminology.diseaseStatus, value: "worsened")
                {
                    resources.append(
                        observation(
                            coding(rule), [
                                "valueCodeableConcept": ["coding": [coding(worsened)]], "effectiveDateTime": value,
                            ]))
                    continue
                }
            default: break
            }
            resources += observations(path, kind: kind, value: value)
        }
        var entries: [JSONValue] = []
        for (index, resource) in resources.enumerated() {
            var members = resource.objectValue ?? [:]
            if members["id"] == nil { members["id"] = .string("r\(index)") }
            entries.append(["resource": .object(members)])
        }
        return ["resourceType": "Bundle", "type": "collection", "entry": .array(entries)]
    }

    func patient(_ record: JSONValue) -> JSONValue {
        var members: JSONObject = ["resourceType": "Patient", "id": .string(Self.patientID)]
        if let id = record["external_id"] { members["identifier"] = [["value": id]] }
        if let sex = record["sex"]?.stringValue { members["gender"] = .string(sex) }
        // Only the year is stored; FHIR's date type allows a year alone.
        if let year = record["birth_year"]?.integerValue { members["birthDate"] = .string(Self.year(year)) }
        if let death = record["outcome"]?["death_date"], death.stringValue != nil { members["deceasedDateTime"] = death }
        return .object(members)
    }

    static func year(_ year: Int) -> String {
        let digits = String(year)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    func coding(_ rule: Terminology.Rule) -> JSONValue {
        var members: JSONObject = ["system": .string(rule.system), "code": .string(rule.code)]
        if !rule.display.isEmpty { members["display"] = .string(rule.display) }
        return .object(members)
    }

    func fieldCoding(_ path: String) -> JSONValue { ["system": .string(CaseField.fieldSystem), "code": .string(path)] }

    func code(for path: String) -> JSONValue { terminology.preferredCode(field: path).map(coding) ?? fieldCoding(path) }

    func observation(_ code: JSONValue, _ members: JSONObject) -> JSONValue {
        var resource: JSONObject = [
            "resourceType": "Observation", "status": "final", "code": ["coding": [code]], "subject": Self.subject,
        ]
        for (key, value) in members { resource[key] = value }
        return .object(resource)
    }

    func condition(_ path: String, date: JSONValue) -> JSONValue {
        [
            "resourceType": "Condition", "code": ["coding": [code(for: path)]], "subject": Self.subject, "onsetDateTime": date,
        ]
    }

    func medication(_ agent: JSONValue) -> JSONValue {
        let name = agent.stringValue ?? ""
        var concept: JSONObject = ["text": .string(name)]
        if let rule = terminology.preferredCode(field: "therapy.agents", value: name) { concept["coding"] = [coding(rule)] }
        return [
            "resourceType": "MedicationStatement", "status": "completed", "medicationCodeableConcept": .object(concept),
            "subject": Self.subject,
        ]
    }

    func procedure(_ path: String, done: Bool) -> JSONValue {
        let rule = terminology.preferredCode(field: path, value: "true")
        return [
            "resourceType": "Procedure", "status": done ? "completed" : "not-done",
            "code": ["coding": [rule.map(coding) ?? fieldCoding(path)]], "subject": Self.subject,
        ]
    }

    /// The Observations of one field: one per array element, else one.
    func observations(_ path: String, kind: CaseField.Kind, value: JSONValue) -> [JSONValue] {
        switch kind {
        case .codeArray:
            let elements = value.arrayValue ?? []
            if elements.isEmpty { return [codedObservation(path, CaseField.emptyArrayValue)] }
            return elements.map { codedObservation(path, $0.stringValue ?? "") }
        case .code:
            return [codedObservation(path, value.stringValue ?? "")]
        case .boolean:
            let flag = value.boolValue ?? false
            if terminology.preferredCode(field: path) != nil,
                let interpretation = terminology.preferredValue(field: path, value: flag ? "true" : "false")
            {
                return [observation(code(for: path), ["interpretation": [["coding": [coding(interpretation)]]]])]
            }
            return [observation(code(for: path), ["valueBoolean": value])]
        case .integer:
            return [observation(code(for: path), ["valueInteger": value])]
        case .date:
            return [observation(code(for: path), ["valueDateTime": value])]
        case .quantity:
            let unit = terminology.preferredUnit(field: path)
            var quantity: JSONObject = ["value": value]
            if let unit {
                quantity["system"] = .string(unit.system)
                quantity["code"] = .string(unit.code)
                quantity["unit"] = .string(unit.display.isEmpty ? unit.code : unit.display)
            }
            return [observation(code(for: path), ["valueQuantity": .object(quantity)])]
        }
    }

    /// A coded value: the table's standard code (or data-absent reason) first, else `urn:icmm:value`.
    func codedObservation(_ path: String, _ value: String) -> JSONValue {
        if let rule = terminology.preferredValue(field: path, value: value) {
            return observation(code(for: path), ["valueCodeableConcept": ["coding": [coding(rule)]]])
        }
        if let rule = terminology.preferredAbsent(field: path, value: value) {
            return observation(code(for: path), ["dataAbsentReason": ["coding": [coding(rule)]]])
        }
        return observation(
            code(for: path), ["valueCodeableConcept": ["coding": [["system": .string(CaseField.valueSystem), "code": .string(value)]]]])
    }
}

/// What a `POST /v1/fhir` did to one case.
public struct CaseWriteOutcome: Sendable {
    public let externalID: String
    /// `created`, `updated` or `unchanged`.
    public let result: String
    /// The registry's classification JSON of the case, serialized (as the registry stores it).
    public let classificationText: String

    public init(externalID: String, result: String, classification: JSONValue) {
        self.init(externalID: externalID, result: result, classificationText: classification.serializedString())
    }

    /// With the registry's own serialized classification: nothing computed again.
    public init(externalID: String, result: String, classificationText: String) {
        self.externalID = externalID
        self.result = result
        self.classificationText = classificationText
    }
}

/// The `transaction-response` Bundle of `POST /v1/fhir`.
///
/// One entry per case, in Patient order: `response.status` `201 Created` (created) or `200 OK`
/// (updated or unchanged), `response.location` `/v1/cases/{external_id}`, and in
/// `response.extension` the write result (`created`/`updated`/`unchanged`, valueCode), the dry-run
/// flag and the registry's classification JSON (valueString, the same object as
/// `GET /v1/cases/{id}` returns under `classification`). When resources were ignored, one last
/// entry without a location carries an OperationOutcome in `response.outcome` with one
/// informational issue per resource type, counted.
public enum TransactionResponse {
    public static let classificationURL = "https://icmm-registry.example/fhir/StructureDefinition/classification"
    public static let writeResultURL = "https://icmm-registry.example/fhir/StructureDefinition/write-result"
    public static let dryRunURL = "https://icmm-registry.example/fhir/StructureDefinition/dry-run"

    public static func bundle(_ outcomes: [CaseWriteOutcome], ignored: [IngestedBundle.IgnoredCount], dryRun: Bool) -> JSONValue {
        var entries: [JSONValue] = outcomes.map { outcome in
            [
                "response": [
                    "status": .string(outcome.result == "created" ? "201 Created" : "200 OK"),
                    "location": .string("/v1/cases/\(outcome.externalID)"),
                    "extension": [
                        ["url": .string(writeResultURL), "valueCode": .string(outcome.result)],
                        ["url": .string(dryRunURL), "valueBoolean": .bool(dryRun)],
                        ["url": .string(classificationURL), "valueString": .string(outcome.classificationText)],
                    ],
                ]
            ]
        }
        if !ignored.isEmpty {
            let issues = ignored.map { count in
                OutcomeIssue(
                    severity: .information, code: "informational", registryCode: "ignored_resource",
                    diagnostics: "\(count.resourceType): \(count.count) resource(s) not used by the mapping were ignored.")
            }
            entries.append(["response": ["status": "200 OK", "outcome": operationOutcome(issues)]])
        }
        return ["resourceType": "Bundle", "type": "transaction-response", "entry": .array(entries)]
    }

    /// `bundle(outcomes, ignored: ignored, dryRun: dryRun)` written as compact JSON with sorted
    /// names (the same bytes as `JSONValue.write`), without building the tree first: each entry is
    /// the same text around the case's own strings, and the classification text is escaped
    /// straight into the answer.
    public static func write(_ outcomes: [CaseWriteOutcome], ignored: [IngestedBundle.IgnoredCount], dryRun: Bool, into out: inout [UInt8]) {
        let text = EntryText.shared
        out.append(contentsOf: text.start)
        for (index, outcome) in outcomes.enumerated() {
            if index > 0 { out.append(0x2C) }
            out.append(contentsOf: text.beforeResult)
            appendString(outcome.result, into: &out)
            out.append(contentsOf: dryRun ? text.dryRunTrue : text.dryRunFalse)
            appendString(outcome.classificationText, into: &out)
            out.append(contentsOf: text.beforeLocation)
            appendString("/v1/cases/" + outcome.externalID, into: &out)
            out.append(contentsOf: outcome.result == "created" ? text.created : text.ok)
        }
        if !ignored.isEmpty {
            // The last entry: an OperationOutcome of the ignored resources, as `bundle` writes it.
            let all = bundle([], ignored: ignored, dryRun: dryRun)
            if !outcomes.isEmpty { out.append(0x2C) }
            all["entry"]?.arrayValue?.last?.write(into: &out)
        }
        out.append(contentsOf: text.end)
    }

    /// Appends `text` as a JSON string, escaped as `JSONValue.write` escapes it (a quote, a backslash,
    /// `\n`, `\r`, `\t`, `\b`, `\f`, any other control character as `\u00xx`): measured first, then
    /// written byte by byte into a buffer of that size, since a classification text has a quote
    /// every few bytes.
    static func appendString(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            escapeWidths.withUnsafeBufferPointer { table in
                let widths = table.baseAddress!
                var extra = 0
                for byte in bytes { extra &+= Int(widths[Int(byte)]) }
                let length = bytes.count + extra + 2
                let escaped = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                    var target = buffer.baseAddress!
                    target.pointee = 0x22
                    target += 1
                    let hex: StaticString = "0123456789abcdef"
                    for byte in bytes {
                        guard widths[Int(byte)] != 0 else {
                            target.pointee = byte
                            target += 1
                            continue
                        }
                        target.pointee = 0x5C
                        switch byte {
                        case 0x22: target[1] = 0x22
                        case 0x5C: target[1] = 0x5C
                        case 0x0A: target[1] = 0x6E
                        case 0x0D: target[1] = 0x72
                        case 0x09: target[1] = 0x74
                        case 0x08: target[1] = 0x62
                        case 0x0C: target[1] = 0x66
                        default:
                            target[1] = 0x75
                            target[2] = 0x30
                            target[3] = 0x30
                            target[4] = hex.utf8Start[Int(byte >> 4)]
                            target[5] = hex.utf8Start[Int(byte & 0xF)]
                            target += 4
                        }
                        target += 2
                    }
                    target.pointee = 0x22
                    initialized = length
                }
                out.append(contentsOf: escaped)
            }
        }
    }

    /// How many bytes escaping adds to each byte of a JSON string (0: written as it is).
    private static let escapeWidths: [UInt8] = (0..<256).map { byte in
        switch byte {
        case 0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x08, 0x0C: 1
        case 0..<0x20: 5
        default: 0
        }
    }

    /// The constant text of the answer, around each case's strings.
    private struct EntryText: Sendable {
        let start: [UInt8]
        let beforeResult: [UInt8]
        let dryRunTrue: [UInt8]
        let dryRunFalse: [UInt8]
        let beforeLocation: [UInt8]
        let created: [UInt8]
        let ok: [UInt8]
        let end: [UInt8]

        static let shared = EntryText()

        private init() {
            func json(_ text: String) -> [UInt8] {
                var bytes: [UInt8] = []
                JSONValue.string(text).write(into: &bytes)
                return bytes
            }
            start = Array(#"{"entry":["#.utf8)
            beforeResult = Array(#"{"response":{"extension":[{"url":"#.utf8) + json(writeResultURL) + Array(#","valueCode":"#.utf8)
            let dryRunStart = Array(#"},{"url":"#.utf8) + json(dryRunURL) + Array(#","valueBoolean":"#.utf8)
            let classificationStart = Array(#"},{"url":"#.utf8) + json(classificationURL) + Array(#","valueString":"#.utf8)
            dryRunTrue = dryRunStart + Array("true".utf8) + classificationStart
            dryRunFalse = dryRunStart + Array("false".utf8) + classificationStart
            beforeLocation = Array(#"}],"location":"#.utf8)
            created = Array(#","status":"#.utf8) + json("201 Created") + Array("}}".utf8)
            ok = Array(#","status":"#.utf8) + json("200 OK") + Array("}}".utf8)
            end = Array(#"],"resourceType":"Bundle","type":"transaction-response"}"#.utf8)
        }
    }
}
