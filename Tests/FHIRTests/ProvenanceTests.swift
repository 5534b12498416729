import Classification
import FHIR
import JSON
import Testing

/// Every element the mapping reads a field from is named by its FHIRPath when an error locates
/// the field (the mapping keeps the element as numbers and spells it out only then).
@Suite struct ProvenanceTests {
    static let v3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    static let patient = "urn:uuid:patient-1"
    static let other = "urn:uuid:patient-2"

    static func entry(_ resource: JSONValue, fullUrl: String? = nil) -> JSONValue {
        var members: JSONObject = ["resource": resource]
        if let fullUrl { members["fullUrl"] = .string(fullUrl) }
        return .object(members)
    }

    /// An Observation of `subject` coded `system`/`code`, with `value` members.
    static func observation(_ subject: String, _ system: String, _ code: String, _ value: JSONObject) -> JSONValue {
        var members: JSONObject = [
            "resourceType": "Observation", "status": "final", "subject": ["reference": .string(subject)],
            "code": ["coding": [["system": .string(system), "code": .string(code)]]],
        ]
        for (key, item) in value { members[key] = item }
        return entry(.object(members))
    }

    static func field(_ subject: String, _ name: String, _ value: JSONObject) -> JSONValue {
        observation(subject, "urn:icmm:field", name, value)
    }

    static let notMatching: JSONValue = ["system": "urn:example:other", "code": "x"]

    /// Two Patients whose fields come from every kind of element the mapping reads.
    static let bundle: JSONValue = {
        let entries: [JSONValue] = [
            // 0
            entry(
                [
                    "resourceType": "Patient", "identifier": [["value": "P-1"]], "gender": "female", "birthDate": "1960-02-03",
                    "deceasedDateTime": "2024-01-05",
                ], fullUrl: patient),
            // 1
            entry([
                "resourceType": "Condition", "subject": ["reference": .string(patient)], "onsetDateTime": "2019-04-12",
                "code": ["coding": [["system": "http://snomed.info/sct", "code": "109989006"]]],
            ]),
            // 2
            entry([
                "resourceType": "Condition", "subject": ["reference": .string(patient)], "onsetDateTime": "2020-06-15",
                "code": ["coding": [["system": "urn:icmm:condition", "code": "intracranial-myeloma"]]],
            ]),
            // 3
            observation(
                patient, "http://loinc.org", "1751-7",
                ["valueQuantity": ["value": 35, "system": "http://unitsofmeasure.org", "code": "g/L"]]),
            // 4: interpretation[1].coding[1]
            observation(patient, "http://loinc.org", "2532-0", ["interpretation": [["text": "x"], ["coding": [notMatching, ["system": .string(v3), "code": "H"]]]]]),
            // 5
            field(patient, "intracranial.csf.contraindicated", ["valueBoolean": false]),
            // 6
            field(patient, "intracranial.prior_lines", ["valueInteger": 2]),
            // 7: valueCodeableConcept.coding[1]
            field(patient, "intracranial.csf.cytology", ["valueCodeableConcept": ["coding": [notMatching, ["system": .string(v3), "code": "POS"]]]]),
            // 8: dataAbsentReason.coding[1]
            field(
                patient, "intracranial.csf.flow_cytometry",
                ["dataAbsentReason": ["coding": [notMatching, ["system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"]]]]),
            // 9, 10: one element each
            field(patient, "intracranial.imaging.findings", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "dural_involvement"]]]]),
            field(patient, "intracranial.imaging.findings", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "skull_vault_lesion"]]]]),
            // 11: an empty list
            field(patient, "staging.fish", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "none"]]]]),
            // 12
            entry([
                "resourceType": "Procedure", "status": "completed", "subject": ["reference": .string(patient)],
                "code": ["coding": [["system": "http://snomed.info/sct", "code": "709115004"]]],
            ]),
            // 13
            entry([
                "resourceType": "MedicationStatement", "status": "completed", "subject": ["reference": .string(patient)],
                "medicationCodeableConcept": ["text": "bortezomib"],
            ]),
            // 14 (the Medication is entry 15)
            entry([
                "resourceType": "MedicationAdministration", "status": "completed", "subject": ["reference": .string(patient)],
                "medicationReference": ["reference": "Medication/m1"],
            ]),
            entry(["resourceType": "Medication", "id": "m1", "code": ["coding": [["system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6718"]]]]),
            // 16, 17: disease statuses (progression on 16, last follow-up on 17)
            observation(
                patient, "http://loinc.org", "97509-4",
                ["effectiveDateTime": "2021-02-01", "valueCodeableConcept": ["coding": [["system": "http://snomed.info/sct", "code": "271299001"]]]]),
            observation(
                patient, "http://loinc.org", "97509-4",
                ["effectiveDateTime": "2022-03-01", "valueCodeableConcept": ["coding": [["system": "http://snomed.info/sct", "code": "359746009"]]]]),
            // 18: the second Patient
            entry(["resourceType": "Patient", "identifier": [["value": "P-2"]], "gender": "male", "birthDate": "1955"], fullUrl: other),
            // 19
            entry([
                "resourceType": "Condition", "subject": ["reference": .string(other)], "recordedDate": "2018-01-02",
                "code": ["coding": [["system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C90.00"]]],
            ]),
            // 20
            field(other, "outcome.last_followup_date", ["valueDateTime": "2023-05-06"]),
            // 21
            field(other, "intracranial.biopsy.site", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "dura"]]]]),
        ]
        return ["resourceType": "Bundle", "type": "collection", "entry": .array(entries)]
    }()

    @Test func everyFieldNamesTheElementItCameFrom() throws {
        let cases = try mapped(Self.bundle).cases
        #expect(cases.count == 2)
        let first = "Bundle.entry[%d].resource"
        func at(_ entry: Int, _ element: String) -> String { String(format: first, entry) + element }
        let expected: [(pointer: String, expression: String)] = [
            ("/external_id", at(0, ".identifier[0].value")),
            ("/sex", at(0, ".gender")),
            ("/birth_year", at(0, ".birthDate")),
            ("/outcome/death_date", at(0, ".deceasedDateTime")),
            ("/mm_diagnosis_date", at(1, ".onsetDateTime")),
            ("/intracranial/diagnosis_date", at(2, ".onsetDateTime")),
            ("/staging/albumin_g_dl", at(3, ".valueQuantity")),
            ("/staging/ldh_elevated", at(4, ".interpretation[1].coding[1]")),
            ("/intracranial/csf/contraindicated", at(5, ".valueBoolean")),
            ("/intracranial/prior_lines", at(6, ".valueInteger")),
            ("/intracranial/csf/cytology", at(7, ".valueCodeableConcept.coding[1]")),
            ("/intracranial/csf/flow_cytometry", at(8, ".dataAbsentReason.coding[1]")),
            ("/intracranial/imaging/findings", at(9, ".valueCodeableConcept")),
            ("/intracranial/imaging/findings/0", at(9, ".valueCodeableConcept")),
            ("/intracranial/imaging/findings/1", at(10, ".valueCodeableConcept")),
            ("/staging/fish", at(11, ".valueCodeableConcept")),
            ("/therapy/asct", at(12, ".status")),
            ("/therapy/agents", at(13, ".medicationCodeableConcept")),
            ("/therapy/agents/0", at(13, ".medicationCodeableConcept")),
            ("/therapy/agents/1", at(14, ".medicationReference")),
            ("/outcome/progression_date", at(16, ".effectiveDateTime")),
            ("/outcome/last_followup_date", at(17, ".effectiveDateTime")),
            // The nearest parent that came from an element, else the Patient.
            ("/intracranial/imaging/findings/7", at(9, ".valueCodeableConcept")),
            ("/staging/fish/0", at(11, ".valueCodeableConcept")),
            ("/staging", at(0, "")),
            ("/isotype/heavy_chain", at(0, "")),
            ("", at(0, "")),
        ]
        for (pointer, expression) in expected {
            #expect(cases[0].expression(forPointer: pointer) == expression, "\(pointer)")
        }
        #expect(cases[0].json["outcome"] == ["death_date": "2024-01-05", "progression_date": "2021-02-01", "last_followup_date": "2022-03-01"])
        #expect(cases[0].json["therapy"]?["agents"] == ["bortezomib", "melphalan"])
        #expect(cases[0].json["staging"]?["fish"] == [])
        #expect(cases[1].expression(forPointer: "/external_id") == at(18, ".identifier[0].value"))
        #expect(cases[1].expression(forPointer: "/birth_year") == at(18, ".birthDate"))
        #expect(cases[1].expression(forPointer: "/mm_diagnosis_date") == at(19, ".recordedDate"))
        #expect(cases[1].expression(forPointer: "/outcome/last_followup_date") == at(20, ".valueDateTime"))
        #expect(cases[1].expression(forPointer: "/intracranial/biopsy/site") == at(21, ".valueCodeableConcept"))
        #expect(cases[1].expression(forPointer: "/intracranial/diagnosis_date") == at(18, ""))
    }

    /// The registry's validation errors of a mapped case, located through the same elements.
    @Test func validationErrorsAreLocatedAtTheirElements() throws {
        let cases = try mapped(Self.bundle).cases
        guard case .failure(let failure) = CaseRecord.validate(cases[1].json, today: today) else {
            Issue.record("the second case lacks required fields and was accepted")
            return
        }
        let issues = cases[1].issues(for: failure.errors)
        let required = issues.first { $0.diagnostics.hasPrefix("intracranial.diagnosis_date: required:") }
        #expect(required?.expression == ["Bundle.entry[18].resource"])
        #expect(required?.diagnostics.contains("no Condition coded urn:icmm:condition intracranial-myeloma") == true)
        #expect(issues.allSatisfy { $0.expression.count == 1 })
    }

    /// A field given twice with different values names both elements.
    @Test func aConflictNamesBothElements() throws {
        guard case .object(var members) = Self.bundle, var entries = members["entry"]?.arrayValue else { return }
        entries.append(Self.field(Self.patient, "intracranial.csf.cytology", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "negative"]]]]))
        entries.append(Self.field(Self.patient, "staging.fish", ["valueCodeableConcept": ["coding": [["system": "urn:icmm:value", "code": "del17p"]]]]))
        members["entry"] = .array(entries)
        let issues = mappingIssues(.object(members))?.issues ?? []
        #expect(
            issues.map(\.expression) == [
                ["Bundle.entry[7].resource.valueCodeableConcept.coding[1]", "Bundle.entry[22].resource.valueCodeableConcept"],
                ["Bundle.entry[11].resource.valueCodeableConcept", "Bundle.entry[23].resource.valueCodeableConcept"],
            ])
        #expect(
            issues.map(\.diagnostics) == [
                "intracranial.csf.cytology: conflicting_values: two elements give this field different values; send one.",
                "staging.fish: conflicting_values: urn:icmm:value none (an empty list) together with elements.",
            ])
    }
}
