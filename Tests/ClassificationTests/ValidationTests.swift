import Foundation
import JSON
import Testing

@testable import Classification

@Suite("Case validation (DOMAIN.md section 9)") struct ValidationTests {
    @Test("a minimal case with only the required fields is valid")
    func minimal() throws {
        let record = try record(minimalCase)
        #expect(record.externalID == "SITE-001")
        #expect(record.sex == .male)
        #expect(record.mmDiagnosisDate == date("2023-03-01"))
        #expect(record.intracranial.imaging.findings.isEmpty)
        #expect(record.outcome?.lastFollowupDate == date("2025-01-15"))
        #expect(record.staging == nil && record.response == nil && record.birthYear == nil)
    }

    @Test(
        "round trip: valid JSON -> CaseRecord -> canonical JSON equals the input", arguments: [minimalCase, fullCase])
    func roundTrip(json: JSONValue) throws {
        #expect(try record(json).toJSON() == json)
    }

    @Test("round trip through text: parsed JSON with integers written as 2.0 keeps its values")
    func roundTripText() throws {
        let text = fullCase.serializedString()
        let parsed = try JSONValue.parse(text)
        #expect(try record(parsed).toJSON() == fullCase)
        #expect(try record(parsed.setting("/intracranial/prior_lines", 2.0)).intracranial.priorLines == 2)
    }

    @Test("canonical JSON: null progression and death dates are accepted and left out")
    func nullDates() throws {
        let json = minimalCase.setting("/outcome/death_date", .null).setting("/outcome/progression_date", .null)
        let record = try record(json)
        #expect(record.outcome?.deathDate == nil)
        #expect(record.toJSON() == minimalCase)
    }

    @Test("duplicates in enum arrays are dropped, first occurrence and order kept")
    func duplicates() throws {
        let json =
            fullCase
            .setting("/therapy/agents", ["dexamethasone", "bortezomib", "dexamethasone"])
            .setting(
                "/intracranial/imaging/findings", ["dural_involvement", "skull_vault_lesion", "dural_involvement"])
        let record = try record(json)
        #expect(record.therapy?.agents == [.dexamethasone, .bortezomib])
        #expect(record.intracranial.imaging.findings == [.duralInvolvement, .skullVaultLesion])
        #expect(record.toJSON()["therapy"]?["agents"] == ["dexamethasone", "bortezomib"])
    }

    @Test(
        "required: missing required fields, each at its path",
        arguments: [
            ("/external_id", "/external_id"), ("/sex", "/sex"), ("/mm_diagnosis_date", "/mm_diagnosis_date"),
            ("/intracranial", "/intracranial"), ("/intracranial/diagnosis_date", "/intracranial/diagnosis_date"),
            ("/intracranial/imaging", "/intracranial/imaging"),
            ("/intracranial/imaging/findings", "/intracranial/imaging/findings"),
            ("/outcome/last_followup_date", "/outcome/last_followup_date"),
            ("/outcome", "/outcome/last_followup_date"),
        ])
    func required(removed: String, path: String) {
        #expect(summary(errors(minimalCase.setting(removed, nil))) == ["\(path) required"])
    }

    @Test("required: last follow-up is not required when the patient died")
    func deadNeedsNoFollowup() throws {
        let json = minimalCase.setting("/outcome", ["death_date": "2024-12-01"])
        #expect(try record(json).outcome?.deathDate == date("2024-12-01"))
        // A null death date is "not dead": the follow-up is required again.
        let nullDeath = minimalCase.setting("/outcome", ["death_date": nil])
        #expect(summary(errors(nullDeath)) == ["/outcome/last_followup_date required"])
    }

    @Test(
        "unknown_field: unknown keys are rejected at every level",
        arguments: [
            "/name", "/isotype/subclass", "/staging/iss", "/intracranial/side", "/intracranial/imaging/contrast",
            "/intracranial/csf/opening_pressure", "/intracranial/biopsy/date", "/workup/pet", "/therapy/lines",
            "/response/best/m_spike", "/response/baseline/foo", "/response/worst", "/outcome/cause_of_death",
        ])
    func unknownField(path: String) {
        let json = fullCase.setting(path, "x")
        #expect(summary(errors(json)) == ["\(path) unknown_field"])
    }

    @Test(
        "invalid_enum: values outside each enumeration, exact spelling",
        arguments: [
            ("/sex", "F", "/sex"),
            ("/isotype/heavy_chain", "igg", "/isotype/heavy_chain"),
            ("/isotype/light_chain", "Kappa", "/isotype/light_chain"),
            ("/staging/fish", ["del17p", "del(17p)"], "/staging/fish/1"),
            ("/intracranial/imaging/modalities", ["pet"], "/intracranial/imaging/modalities/0"),
            (
                "/intracranial/imaging/findings", ["skull_vault_lesion", "meningioma"],
                "/intracranial/imaging/findings/1"
            ),
            ("/intracranial/csf/cytology", "suspicious", "/intracranial/csf/cytology"),
            ("/intracranial/csf/flow_cytometry", "done", "/intracranial/csf/flow_cytometry"),
            ("/intracranial/biopsy/site", "skin", "/intracranial/biopsy/site"),
            ("/therapy/agents", ["bortezomib", "dexamethasone", "Bortezomib"], "/therapy/agents/2"),
            ("/response/reported", "nCR", "/response/reported"),
            ("/response/best/serum_immunofixation", "weak", "/response/best/serum_immunofixation"),
            ("/response/baseline/plasmacytoma", "reduced", "/response/baseline/plasmacytoma"),
        ] as [(String, JSONValue, String)])
    func invalidEnum(field: String, value: JSONValue, path: String) {
        let found = errors(fullCase.setting(field, value))
        #expect(summary(found) == ["\(path) invalid_enum"])
    }

    @Test("invalid_enum: the message lists the allowed values")
    func enumMessage() {
        let found = errors(minimalCase.setting("/sex", "F"))
        #expect(found.first?.message == "must be one of: female, male, unknown")
    }

    @Test(
        "invalid_format: external_id is 1-64 of [A-Za-z0-9._-]",
        arguments: [
            "", "a b", "patient/1", "é1", .string(String(repeating: "a", count: 65)), "id#1",
        ] as [JSONValue])
    func externalIDFormat(value: JSONValue) {
        #expect(summary(errors(minimalCase.setting("/external_id", value))) == ["/external_id invalid_format"])
    }

    @Test("external_id: 64 characters and every allowed character are accepted")
    func externalIDAccepted() throws {
        _ = try record(minimalCase.setting("/external_id", .string(String(repeating: "Z", count: 64))))
        _ = try record(minimalCase.setting("/external_id", "aZ09._-"))
    }

    @Test(
        "out_of_range: plausible ranges and years",
        arguments: [
            ("/birth_year", 1899), ("/birth_year", 2026), ("/staging/beta2_microglobulin_mg_l", -0.1),
            ("/staging/beta2_microglobulin_mg_l", 100.5), ("/staging/albumin_g_dl", 0.49),
            ("/staging/albumin_g_dl", 7.01),
            ("/intracranial/prior_lines", 21), ("/intracranial/prior_lines", -1),
            ("/response/baseline/serum_m_protein_g_dl", 20.01), ("/response/best/serum_m_protein_g_dl", -1),
            ("/response/baseline/urine_m_protein_mg_24h", 50001), ("/response/baseline/involved_flc_mg_l", 100_001),
            ("/response/best/uninvolved_flc_mg_l", -0.5), ("/response/baseline/bone_marrow_plasma_cells_pct", 100.1),
            ("/mm_diagnosis_date", "1899-12-31"),
        ] as [(String, JSONValue)])
    func outOfRange(path: String, value: JSONValue) {
        #expect(summary(errors(fullCase.setting(path, value))) == ["\(path) out_of_range"])
    }

    @Test(
        "ranges are inclusive at both ends",
        arguments: [
            ("/birth_year", 1900), ("/staging/albumin_g_dl", 0.5),
            ("/staging/albumin_g_dl", 7), ("/staging/beta2_microglobulin_mg_l", 0),
            ("/staging/beta2_microglobulin_mg_l", 100),
            ("/intracranial/prior_lines", 0), ("/intracranial/prior_lines", 20),
            ("/response/best/serum_m_protein_g_dl", 20),
            ("/response/best/urine_m_protein_mg_24h", 50000), ("/response/best/involved_flc_mg_l", 100_000),
            ("/response/best/bone_marrow_plasma_cells_pct", 100),
        ] as [(String, JSONValue)])
    func inclusiveRanges(path: String, value: JSONValue) throws {
        _ = try record(fullCase.setting(path, value))
    }

    @Test("birth_year: the current year (of the injected today) is accepted")
    func birthYearCurrent() throws {
        let json = minimalCase.setting("/birth_year", 2025).setting("/mm_diagnosis_date", "2025-01-10")
            .setting("/intracranial/diagnosis_date", "2025-01-20").setting("/outcome/last_followup_date", "2025-06-01")
        #expect(try record(json).birthYear == 2025)
    }

    @Test(
        "invalid_date: impossible dates and other formats",
        arguments: [
            "2023-02-30", "2023-02-29", "2023-13-01", "31/01/2023", "2023-1-5", "2023-01-05T10:00:00Z",
        ])
    func invalidDate(value: String) {
        #expect(
            summary(errors(minimalCase.setting("/mm_diagnosis_date", .string(value)))) == [
                "/mm_diagnosis_date invalid_date"
            ])
    }

    @Test("future_date: dates after the injected today are rejected; today itself is accepted")
    func futureDate() throws {
        let json = minimalCase.setting("/outcome/last_followup_date", "2025-07-01")
        #expect(summary(errors(json)) == ["/outcome/last_followup_date future_date"])
        _ = try record(minimalCase.setting("/outcome/last_followup_date", "2025-06-30"))
        // The same case is valid when "today" is later: the rule reads the injected date only.
        let later = CalendarDate(year: 2025, month: 7, day: 1)!
        #expect((try? CaseRecord.validate(json, today: later).get()) != nil)
    }

    @Test(
        "invalid_type: wrong JSON types",
        arguments: [
            ("/sex", 1), ("/external_id", 42), ("/birth_year", "1950"), ("/birth_year", 1950.5),
            ("/mm_diagnosis_date", 20_230_301), ("/isotype", "IgG"), ("/staging/ldh_elevated", "yes"),
            ("/staging/fish", "del17p"), ("/staging/albumin_g_dl", "3.5"), ("/staging/albumin_g_dl", .null),
            ("/intracranial/imaging/findings", "skull_vault_lesion"), ("/intracranial/csf", "negative"),
            ("/intracranial/csf/contraindicated", 0), ("/workup/serum_total_protein", "done"),
            ("/therapy/agents", .null),
            ("/response/best", .array([])), ("/outcome/last_followup_date", .null), ("/outcome/death_date", false),
            ("/intracranial/prior_lines", 1.5),
        ] as [(String, JSONValue)])
    func invalidType(path: String, value: JSONValue) {
        #expect(summary(errors(fullCase.setting(path, value))) == ["\(path) invalid_type"])
    }

    @Test("invalid_type: a document that is not an object")
    func notAnObject() {
        #expect(summary(errors(["external_id", "x"])) == [" invalid_type"])
        #expect(summary(errors(.null)) == [" invalid_type"])
    }

    @Test(
        "chronology: death on or after every other date",
        arguments: [
            ("/mm_diagnosis_date", "2022-01-10"), ("/intracranial/diagnosis_date", "2022-01-10"),
            ("/outcome/progression_date", "2022-01-10"), ("/outcome/last_followup_date", "2022-01-10"),
        ])
    func deathLast(other: String, otherDate: String) {
        // Everything else lies on or before 2022-01-10; death one day earlier than the named field.
        let json =
            minimalCase
            .setting("/mm_diagnosis_date", "2021-12-01").setting("/intracranial/diagnosis_date", "2021-12-05")
            .setting("/outcome", ["death_date": "2022-01-09"])
            .setting(other, .string(otherDate))
        let found = errors(json)
        #expect(summary(found) == ["/outcome/death_date chronology"])
        #expect(found.first?.message == "must be on or after \(other)")
    }

    @Test("chronology: death on the same day as the last follow-up is allowed")
    func deathSameDay() throws {
        _ = try record(minimalCase.setting("/outcome/death_date", "2025-01-15"))
    }

    @Test("chronology: progression and last follow-up on or after the intracranial diagnosis")
    func afterIntracranialDiagnosis() throws {
        let progression = minimalCase.setting("/outcome/progression_date", "2023-03-09")
        #expect(summary(errors(progression)) == ["/outcome/progression_date chronology"])
        let followup = minimalCase.setting("/outcome/last_followup_date", "2023-03-09")
        #expect(summary(errors(followup)) == ["/outcome/last_followup_date chronology"])
        _ = try record(minimalCase.setting("/outcome/progression_date", "2023-03-10"))
        _ = try record(minimalCase.setting("/outcome/last_followup_date", "2023-03-10"))
    }

    @Test("chronology: the intracranial diagnosis at most 365 days before the myeloma diagnosis")
    func intracranialFirst() throws {
        // 2023-03-01 minus 365 days is 2022-03-01; one day more is rejected.
        _ = try record(minimalCase.setting("/intracranial/diagnosis_date", "2022-03-01"))
        let tooEarly = minimalCase.setting("/intracranial/diagnosis_date", "2022-02-28")
        let found = errors(tooEarly)
        #expect(summary(found) == ["/intracranial/diagnosis_date chronology"])
        #expect(found.first?.message == "must be at most 365 days before /mm_diagnosis_date")
    }

    @Test("chronology: no diagnosis in a year before the birth year")
    func birthYear() throws {
        _ = try record(minimalCase.setting("/birth_year", 2023))
        #expect(
            summary(errors(minimalCase.setting("/birth_year", 2024))) == [
                "/mm_diagnosis_date chronology", "/intracranial/diagnosis_date chronology",
            ])
    }

    @Test("several errors at once: every violation is reported, not only the first")
    func severalErrors() {
        let json =
            fullCase
            .setting("/sex", "M")
            .setting("/external_id", nil)
            .setting("/intracranial/csf/cytology", "maybe")
            .setting("/intracranial/imaging/findings", ["skull_vault_lesion", 3])
            .setting("/therapy/agents", ["bortezomib", "aspirin"])
            .setting("/response/best/serum_m_protein_g_dl", 25)
            .setting("/outcome/death_date", "2023-02-30")
            .setting("/outcome/progression_date", "2030-01-01")
            .setting("/staging/extra", true)
        #expect(
            Set(summary(errors(json))) == [
                "/external_id required", "/sex invalid_enum", "/staging/extra unknown_field",
                "/intracranial/imaging/findings/1 invalid_type", "/intracranial/csf/cytology invalid_enum",
                "/therapy/agents/1 invalid_enum", "/response/best/serum_m_protein_g_dl out_of_range",
                "/outcome/progression_date future_date", "/outcome/death_date invalid_date",
            ])
        #expect(errors(json).count == 9)
    }

    @Test("error messages never contain the submitted values")
    func noPatientDataInMessages() {
        let json =
            fullCase
            .setting("/external_id", "Rossi Mario 1951")
            .setting("/sex", "Mario")
            .setting("/birth_year", 1789)
            .setting("/mm_diagnosis_date", "1871-04-17")
            .setting("/intracranial/diagnosis_date", "2021-02-31")
            .setting("/staging/albumin_g_dl", 93.25)
            .setting("/therapy/agents", ["Rossi-regimen"])
            .setting("/outcome/death_date", "2025-01-19")
            .setting("/outcome/last_followup_date", "2030-12-24")
            .setting("/response/best/plasmacytoma", 4711)
        let found = errors(json)
        #expect(found.count >= 10)
        let secrets = [
            "Rossi", "Mario", "1789", "1871", "04-17", "2021-02-31", "93.25", "2030", "12-24", "4711", "01-19",
        ]
        for error in found {
            for secret in secrets {
                #expect(!error.message.contains(secret), "\(error.path) quotes a submitted value")
            }
        }
        let description = CaseValidationErrors(found).description
        #expect(secrets.allSatisfy { !description.contains($0) })
    }

    @Test("errors encode as {path, code, message} with JSON Pointer paths")
    func errorEncoding() throws {
        let found = errors(fullCase.setting("/therapy/agents", ["bortezomib", "x", "y"]))
        #expect(
            CaseValidationErrors(found).toJSON() == [
                ["path": "/therapy/agents/1", "code": "invalid_enum", "message": .string(found[0].message)],
                ["path": "/therapy/agents/2", "code": "invalid_enum", "message": .string(found[1].message)],
            ])
        let data = try JSONEncoder().encode(found[0])
        #expect(try JSONValue.parse(data) == found[0].toJSON())
        #expect(try JSONDecoder().decode(CaseValidationError.self, from: data) == found[0])
        // Keys with "/" and "~" are escaped as RFC 6901 says.
        let escaped = errors(minimalCase.setting(["intracranial", "a/b~c"], 1))
        #expect(summary(escaped) == ["/intracranial/a~1b~0c unknown_field"])
    }

    @Test("every error code is produced by some invalid case")
    func everyCode() {
        let cases: [JSONValue] = [
            minimalCase.setting("/sex", nil), minimalCase.setting("/x", 1), minimalCase.setting("/sex", "x"),
            minimalCase.setting("/birth_year", 1800), minimalCase.setting("/mm_diagnosis_date", "2023-02-30"),
            minimalCase.setting("/mm_diagnosis_date", "2099-01-01"),
            minimalCase.setting("/outcome/last_followup_date", "2020-01-01"), minimalCase.setting("/sex", true),
            minimalCase.setting("/external_id", "a b"),
        ]
        let codes = Set(cases.flatMap { errors($0).map(\.code) })
        // `conflict` is the registry's (URL/body mismatch, duplicates in an import): covered by APITests.
        #expect(codes == Set(CaseValidationError.Code.allCases).subtracting([.conflict]))
    }
}
