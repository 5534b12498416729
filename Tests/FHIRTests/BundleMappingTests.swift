import Classification
import FHIR
import JSON
import Testing

/// Hand-written mCODE-shaped Bundles map to the expected case and classification (DOMAIN.md section 10).
@Suite struct BundleMappingTests {
    @Test func odCaseMapsToTheExpectedCaseAndClassification() throws {
        let bundle = try mapped(try fixture("od-case.json"))
        #expect(bundle.type == "transaction")
        #expect(bundle.cases.count == 1)
        let expected: JSONValue = [
            "external_id": "OD-1", "sex": "female", "birth_year": 1958, "mm_diagnosis_date": "2020-09-14",
            "staging": ["albumin_g_dl": 3.8, "beta2_microglobulin_mg_l": 2.9, "ldh_elevated": false],
            "intracranial": [
                "diagnosis_date": "2022-01-20", "prior_lines": 1,
                "imaging": ["modalities": ["mri"], "findings": ["skull_vault_lesion", "dural_involvement"]],
                "csf": ["cytology": "negative", "flow_cytometry": "negative"],
            ],
            "therapy": ["agents": ["bortezomib", "dexamethasone"], "radiotherapy": true],
            "response": ["reported": "VGPR"],
            // Progression: the "worsened" status; last follow-up: the latest status (section 10).
            "outcome": ["progression_date": "2023-03-10", "last_followup_date": "2023-09-30"],
        ]
        #expect(bundle.cases[0].json == expected)
        let classification = ClassificationEngine.classify(try validated(bundle.cases[0]))
        #expect(classification.localization.category == .od)
        #expect(classification.localization.rules.map(\.rawValue) == ["OD-BONE"])
        #expect(classification.localization.certainty == .confirmed)
        #expect(classification.staging.iss?.rawValue == 1)
        #expect(classification.therapy.therapyClass == .novel)
        // The Encounter and the Practitioner are not used: counted by type.
        #expect(bundle.ignored.map { "\($0.resourceType) \($0.count)" } == ["Encounter 1", "Practitioner 1"])
    }

    @Test func cnsCaseWithAlbuminInGramsPerLitreAndADeath() throws {
        let bundle = try mapped(try fixture("cns-case.json"))
        #expect(bundle.type == "collection")
        let expected: JSONValue = [
            "external_id": "CNS-1", "sex": "male", "birth_year": 1949,
            // No onsetDateTime: recordedDate (section 10).
            "mm_diagnosis_date": "2019-06-03",
            // 29 g/L divided by 10; LDH interpretation H -> elevated.
            "staging": ["albumin_g_dl": 2.9, "beta2_microglobulin_mg_l": 6.1, "ldh_elevated": true, "fish": ["del17p", "t(4;14)"]],
            "intracranial": [
                "diagnosis_date": "2023-04-18", "prior_lines": 2,
                "imaging": ["findings": ["leptomeningeal_enhancement", "intraparenchymal_lesion"]],
                "csf": ["cytology": "positive", "flow_cytometry": "positive"],
            ],
            // carfilzomib through a Medication resource (RxNorm), methotrexate by its display; the
            // acyclovir statement names no section 6 agent and is ignored.
            "therapy": ["agents": ["carfilzomib", "methotrexate"], "intrathecal": true, "asct": false],
            "response": ["reported": "PD"],
            // The date part of deceasedDateTime, as written (not converted to UTC).
            "outcome": ["death_date": "2023-11-02", "progression_date": "2023-08-21", "last_followup_date": "2023-08-21"],
        ]
        #expect(bundle.cases[0].json == expected)
        let classification = ClassificationEngine.classify(try validated(bundle.cases[0]))
        #expect(classification.localization.category == .cns)
        #expect(classification.localization.rules.first?.rawValue == "CNS-CSF")
        #expect(classification.localization.certainty == .confirmed)
        #expect(classification.staging.iss?.rawValue == 3)
        #expect(classification.cnsRisk?.score == 2)
        #expect(bundle.ignored.map { "\($0.resourceType) \($0.count)" } == ["MedicationStatement 1"])
    }

    @Test func theLettersCaseMapsToTheLettersFixtureFieldByField() throws {
        let bundle = try mapped(try fixture("letter-case.json"))
        // fullCase (Tests/ClassificationTests/Fixtures.swift) is the source letter's patient.
        let record = try validated(bundle.cases[0])
        #expect(record.toJSON() == (try CaseRecord(validating: fullCase, today: today)).toJSON())
        #expect(bundle.cases[0].json == fullCase)
        let classification = ClassificationEngine.classify(record)
        #expect(classification.localization.category == .od)
        #expect(classification.localization.rules.map(\.rawValue) == ["OD-BONE", "OD-LEPTO"])
        #expect(classification.localization.certainty == .probable)
        #expect(bundle.ignored.isEmpty)
    }

    @Test func albuminInBothUnitsGivesTheSameCase() throws {
        let base = try fixture("od-case.json")
        let albumin = "entry.8.resource.valueQuantity"
        let inGramsPerLitre = base.replacing(albumin, with: ["value": 38, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"])
        let a = try mapped(base).cases[0].json
        let b = try mapped(inGramsPerLitre).cases[0].json
        #expect(a == b)
        #expect(b.at("staging.albumin_g_dl") == 3.8)
    }

    @Test func progressionIsTheEarliestWorsenedStatusOnOrAfterTheIntracranialDiagnosis() throws {
        var bundle = try fixture("od-case.json")
        // A "worsened" before the intracranial diagnosis does not count; the earliest after it does.
        bundle = bundle.replacing("entry.15.resource.effectiveDateTime", with: "2021-12-01")  // improved -> before IC
        bundle = bundle.replacing(
            "entry.15.resource.valueCodeableConcept", with: ["coding": [["system": "http://snomed.info/sct", "code": "271299001"]]])
        var outcome = try mapped(bundle).cases[0].json["outcome"]
        #expect(outcome == ["progression_date": "2023-03-10", "last_followup_date": "2023-09-30"])
        // Without any worsened status: no progression; the latest status is the last follow-up.
        bundle = try fixture("od-case.json").replacing(
            "entry.16.resource.valueCodeableConcept", with: ["coding": [["system": "http://snomed.info/sct", "code": "359746009"]]])
        outcome = try mapped(bundle).cases[0].json["outcome"]
        #expect(outcome == ["last_followup_date": "2023-09-30"])
    }

    @Test func medicationsByRxNormCodeAndByName() throws {
        let bundle = try mapped(try fixture("od-case.json"))
        // entry 12: RxNorm 358258 (bortezomib); entry 13: text "Dexamethasone" (case-insensitive name).
        #expect(bundle.cases[0].json.at("therapy.agents") == ["bortezomib", "dexamethasone"])
        #expect(bundle.cases[0].expression(forPointer: "/therapy/agents/0") == "Bundle.entry[12].resource.medicationCodeableConcept")
        #expect(bundle.cases[0].expression(forPointer: "/therapy/agents/1") == "Bundle.entry[13].resource.medicationCodeableConcept")
    }

    @Test func twoPatientsAreTwoCases() throws {
        let od = try fixture("od-case.json")
        let cns = try fixture("cns-case.json")
        let entries = (od["entry"]?.arrayValue ?? []) + (cns["entry"]?.arrayValue ?? [])
        let bundle = try mapped(["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)])
        #expect(bundle.cases.map(\.externalID) == ["OD-1", "CNS-1"])
        #expect(bundle.cases[1].patientExpression == "Bundle.entry[\(od["entry"]!.arrayValue!.count)].resource")
    }

    @Test func aLocalCodeAddedToTheTableMapsWithoutCodeChanges() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/fhir-terminology.tsv", encoding: .utf8)
            + "code\thttp://hospital.example/lab\tALB-S\tstaging.albumin_g_dl\t\tAlbumin (local)\tlocal laboratory catalogue\n"
        let local = BundleReader(terminology: try Terminology(tsv: text))
        let bundle = try fixture("od-case.json").replacing(
            "entry.8.resource.code", with: ["coding": [["system": "http://hospital.example/lab", "code": "ALB-S"]]])
        #expect(try local.read(bundle).cases[0].json.at("staging.albumin_g_dl") == 3.8)
        // The committed table does not know the local code: the Observation is ignored, counted.
        let plain = try mapped(bundle)
        #expect(plain.cases[0].json.at("staging.albumin_g_dl") == nil)
        #expect(plain.ignored.first { $0.resourceType == "Observation" }?.count == 1)
    }
}
