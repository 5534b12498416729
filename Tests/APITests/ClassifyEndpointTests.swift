import Foundation
import JSON
import TestSupport
import Testing

/// `POST /v1/classify`: the letter's case, several invalid fields at once, malformed JSON, wrong media type.
@Suite struct ClassifyEndpointTests {
    /// The case of the letter (source-letter.txt): a para-osseous mass from the skull base with
    /// leptomeningeal enhancement, CSF cytology negative and no flow cytometry (DOMAIN.md section 3).
    static let lettersCase = """
        {"external_id":"LETTER-1","sex":"male","mm_diagnosis_date":"2022-03-01",
         "intracranial":{"diagnosis_date":"2024-01-15",
           "imaging":{"findings":["skull_base_lesion","para_osseous_mass","leptomeningeal_enhancement"]},
           "csf":{"cytology":"negative","flow_cytometry":"not_done"}},
         "therapy":{"agents":["carfilzomib","dexamethasone"],"radiotherapy":true},
         "outcome":{"last_followup_date":"2025-01-10"}}
        """

    @Test func theLettersCaseIsOsteoduralProbableWithAFlowCytometryRecommendation() throws {
        let service = try TestService()
        let response = try service.client.send("POST", "/v1/classify", json: Self.lettersCase)
        #expect(response.status == 200)
        let localization = try #require(response.jsonValue?["classification"]?["localization"])
        #expect(localization["category"] == "OD")
        #expect(localization["subtype"] == "osteodural")
        #expect(localization["certainty"] == "probable")
        #expect(localization["rules"] == ["OD-BONE", "OD-LEPTO"])
        let recommendations = localization["recommendations"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(recommendations.contains { $0.contains("flow cytometry") })
        #expect(response.jsonValue?["classification"]?["therapy"]?["class"] == "novel")
        // Nothing was stored.
        #expect(try service.cases().isEmpty)
    }

    @Test func aCSFPositiveCaseWithAnOsteoduralLesionIsCNS() throws {
        let service = try TestService()
        let body = Self.lettersCase.replacingOccurrences(of: #""cytology":"negative""#, with: #""cytology":"positive""#)
        let localization = try service.client.send("POST", "/v1/classify", json: body).jsonValue?["classification"]?["localization"]
        #expect(localization?["category"] == "CNS")
        #expect(localization?["certainty"] == "confirmed")
        #expect(localization?["rules"]?.arrayValue?.first == "CNS-CSF")
    }

    @Test func everyInvalidFieldIsListedIn422() throws {
        let service = try TestService()
        let body = #"{"external_id":"a b","sex":"x","mm_diagnosis_date":"2022-02-30","intracranial":{"imaging":{"findings":["brain"]}},"colour":1}"#
        let response = try service.client.send("POST", "/v1/classify", json: body)
        #expect(response.status == 422)
        #expect(response.header("content-type") == "application/problem+json")
        let errors = response.jsonValue?["errors"]?.arrayValue ?? []
        let pairs = Set(errors.compactMap { e in e["path"]?.stringValue.map { $0 + " " + (e["code"]?.stringValue ?? "") } })
        for expected in [
            "/external_id invalid_format", "/sex invalid_enum", "/mm_diagnosis_date invalid_date",
            "/intracranial/imaging/findings/0 invalid_enum", "/intracranial/diagnosis_date required", "/colour unknown_field",
        ] {
            #expect(pairs.contains(expected), "\(expected)")
        }
        #expect(!response.text.contains("brain"))
    }

    @Test func malformedJSONIs400AndAnotherMediaTypeIs415() throws {
        let service = try TestService()
        let malformed = try service.client.send("POST", "/v1/classify", json: #"{"sex": "male""#)
        #expect(malformed.status == 400)
        #expect(malformed.jsonValue?["type"] == "https://icmm-registry.example/problems/malformed-json")
        let wrongType = try service.client.send("POST", "/v1/classify", json: Self.lettersCase, contentType: "text/plain")
        #expect(wrongType.status == 415)
        #expect(try service.client.send("POST", "/v1/classify?verbose=1", json: Self.lettersCase).status == 400)
        #expect(try service.client.get("/v1/classify").status == 405)
    }
}
