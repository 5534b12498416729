import Classification
import FHIR
import Foundation
import JSON
import Testing

/// Export then ingest gives back the same case, field by field, for every fixture case.
@Suite struct RoundTripTests {
    /// The canonical JSON of a case after export -> read -> validate.
    func roundTrip(_ json: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        let exported = writer.export(json)
        let bundle = try mapped(exported, sourceLocation: sourceLocation)
        #expect(bundle.cases.count == 1, sourceLocation: sourceLocation)
        #expect(bundle.ignored.isEmpty, "\(bundle.ignored)", sourceLocation: sourceLocation)
        return try validated(bundle.cases[0], sourceLocation: sourceLocation).toJSON()
    }

    func canonical(_ json: JSONValue) throws -> JSONValue { try CaseRecord(validating: json, today: today).toJSON() }

    @Test func theClassificationFixtures() throws {
        for json in [minimalCase, fullCase] {
            #expect(try roundTrip(json) == (try canonical(json)))
        }
    }

    @Test func everyCaseOfTheCohortFixture() throws {
        let text = try String(
            contentsOfFile: repositoryRoot + "/Tests/APITests/Fixtures/cohort/cases.ndjson", encoding: .utf8)
        let cases = try text.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(cases.count == 227)
        let cohortToday = CalendarDate(year: 2026, month: 11, day: 18)!
        for json in cases {
            let original = try CaseRecord(validating: json, today: cohortToday).toJSON()
            let bundle = try mapped(writer.export(original))
            let back = try CaseRecord(validating: bundle.cases[0].json, today: cohortToday).toJSON()
            #expect(back == original, "\(json["external_id"] ?? nil)")
        }
    }

    @Test func theHandWrittenBundlesCasesSurviveTheirOwnExport() throws {
        for name in ["od-case.json", "cns-case.json", "letter-case.json"] {
            let original = try validated(try mapped(try fixture(name)).cases[0]).toJSON()
            #expect(try roundTrip(original) == original, "\(name)")
        }
    }

    @Test func emptyListsAndFalseFactsSurvive() throws {
        let json = minimalCase
            .setting(["staging", "fish"], .array([]))
            .setting(["therapy"], ["agents": [], "radiotherapy": false, "asct": true])
        #expect(try roundTrip(json) == (try canonical(json)))
    }

    @Test func theExportPrefersStandardCodes() throws {
        let exported = writer.export(try canonical(fullCase))
        let resources = exported["entry"]!.arrayValue!.map { $0["resource"]! }
        func codings(_ type: String) -> [String] {
            resources.filter { $0["resourceType"]?.stringValue == type }.flatMap { resource in
                (resource["code"] ?? resource["medicationCodeableConcept"])?["coding"]?.arrayValue?.map {
                    "\($0["system"]!.stringValue!)|\($0["code"]!.stringValue!)"
                } ?? []
            }
        }
        #expect(codings("Condition") == ["http://snomed.info/sct|109989006", "urn:icmm:condition|intracranial-myeloma"])
        #expect(codings("MedicationStatement") == ["http://www.nlm.nih.gov/research/umls/rxnorm|1302966"])
        #expect(codings("Procedure").first == "http://snomed.info/sct|1217123003")
        let observations = codings("Observation")
        #expect(observations.contains("http://loinc.org|1751-7"))
        #expect(observations.contains("http://loinc.org|1952-1"))
        #expect(observations.contains("http://loinc.org|2532-0"))
        #expect(observations.contains("http://loinc.org|97509-4"))
        let patient = resources[0]
        #expect(patient["birthDate"] == "1951")
        #expect(patient["identifier"]?.at("0.value") == "rome.2024_07-a")
    }
}
