import Foundation
import JSON
import Testing

@testable import Classification

@Suite("Classification end to end") struct ClassificationTests {
    @Test("the letter's case: para-osseous mass, leptomeningeal enhancement, negative cytology is OD, probable")
    func lettersCase() throws {
        let result = classify(try record(fullCase))
        #expect(result.localization.category == .od)
        #expect(result.localization.subtype == .osteodural)
        #expect(result.localization.certainty == .probable)
        #expect(result.localization.rules == [.odBone, .odLepto])
        #expect(result.localization.recommendations == [.csfCytologyAndFlowCytometry])

        let json = result.toJSON()
        #expect(json["localization"]?["rules"] == ["OD-BONE", "OD-LEPTO"])
        #expect(json["localization"]?["category"] == "OD")
        #expect(json["localization"]?["certainty"] == "probable")
        let sentence = try #require(json["localization"]?["recommendations"]?.arrayValue?.first?.stringValue)
        #expect(sentence.contains("flow cytometry"))
    }

    @Test("the full case: every part of the classification from DOMAIN.md")
    func fullCaseParts() throws {
        let result = classify(try record(fullCase))
        // Response: baseline serum 2.4, urine 350; best immunofixation negative, marrow 2%, plasmacytoma
        // gone, FLC ratio normal, no clonal cells: sCR; the site reported CR.
        #expect(result.response.computed == .sCR)
        #expect(result.response.reported == .CR)
        #expect(result.response.agreement == false)
        #expect(result.responseGroup == .crVGPR)
        // beta2m 4.2 -> ISS II -> R-ISS II whatever FISH and LDH.
        #expect(result.iss == .ii)
        #expect(result.staging.rISS == .ii)
        #expect(result.therapyClass == .novel)
        #expect(result.therapy.novelAgents == [.carfilzomib])
        #expect(result.workup.complete)
        #expect(result.workup.optionalMissing == [.serumFreeLightChains])
        #expect(result.cnsRiskScore == nil)
        // 2021-05-03 to 2024-02-12: 1015 days.
        #expect(result.timing.intervalDays == 1015)
        #expect(result.timing.phase == .atRelapseOrProgression)
        #expect(result.engineVersion == ClassificationEngine.version)
    }

    @Test("JSON: snake_case keys exactly as specified and explicit nulls")
    func jsonShape() throws {
        let result = classify(try record(minimalCase))
        let json = result.toJSON()
        #expect(
            Set((json.objectValue ?? [:]).keys) == [
                "engine_version", "localization", "workup", "response", "staging", "cns_risk", "therapy", "timing",
            ])
        #expect(
            json["localization"] == [
                "category": "none", "subtype": nil, "certainty": nil, "rules": ["NONE"], "recommendations": [],
            ])
        #expect(
            json["response"] == [
                "computed": nil, "reported": nil, "category": nil, "group": nil, "agreement": nil, "basis": [],
                "flc_ratio_derived": [], "not_evaluable": "no_baseline",
                "not_evaluable_reason": "No baseline assessment was given, so there is nothing to measure the response against.",
            ])
        #expect(json["staging"] == ["iss": nil, "r_iss": nil])
        #expect(json["cns_risk"] == .null)
        #expect(
            json["therapy"] == [
                "class": "none", "novel_agents": [], "radiotherapy": nil, "asct": nil, "intrathecal": nil,
                "neurosurgery": nil,
            ])
        #expect(json["timing"]?["phase"] == "at_mm_diagnosis")
        #expect(json["timing"]?["interval_days"] == 9)
        #expect(json["engine_version"] == .string(ClassificationEngine.version))

        // Encodable gives the same document, nulls included.
        let encoded = try JSONEncoder().encode(result)
        #expect(try JSONValue.parse(encoded) == json)
        #expect(String(decoding: encoded, as: UTF8.self).contains("\"subtype\":null"))
    }

    @Test("JSON: a CNS case with staging and risk")
    func cnsJSON() throws {
        let json =
            fullCase
            .setting("/intracranial/imaging/findings", ["intraparenchymal_lesion"])
            .setting("/intracranial/csf", ["cytology": "negative", "flow_cytometry": "negative"])
            .setting("/intracranial/biopsy", nil)
            .setting("/staging", ["beta2_microglobulin_mg_l": 6, "ldh_elevated": true])
        let result = classify(try record(json)).toJSON()
        #expect(
            result["localization"] == [
                "category": "CNS", "subtype": "intraparenchymal", "certainty": "probable", "rules": ["CNS-PAR"],
                "recommendations": [.string(Classification.Localization.Recommendation.biopsy.sentence)],
            ])
        #expect(result["staging"] == ["iss": 3, "r_iss": 3])
        // prior_lines 2, FISH not reported: one factor known, score unknown.
        #expect(result["cns_risk"] == ["score": nil, "factors": ["prior_lines>=1"]])
    }

    @Test("the engine is deterministic and versioned")
    func deterministic() throws {
        let record = try record(fullCase)
        #expect(classify(record) == classify(record))
        #expect(ClassificationEngine.version.hasPrefix("classification-"))
    }
}
