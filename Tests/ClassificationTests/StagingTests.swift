import Testing

@testable import Classification

@Suite("Staging and CNS risk (DOMAIN.md section 5)") struct StagingTests {
    @Test(
        "ISS: I if beta2m <3.5 mg/L and albumin >=3.5 g/dL; III if beta2m >=5.5; otherwise II",
        arguments: [
            (3.49, 3.5, Classification.Stage.i), (3.5, 3.5, .ii), (3.49, 3.49, .ii), (2.0, 5.0, .i), (5.49, 4.0, .ii),
            (5.5, 4.0, .iii), (5.5, 2.0, .iii), (12.0, 3.5, .iii), (0.0, 7.0, .i),
        ] as [(Double, Double, Classification.Stage)])
    func iss(b2m: Double, albumin: Double, stage: Classification.Stage) {
        #expect(Classification.Staging.iss(beta2MicroglobulinMgL: b2m, albuminGDl: albumin) == stage)
    }

    @Test(
        "ISS with a missing input: decided only when the missing value cannot change the stage",
        arguments: [
            (5.5, nil, Classification.Stage.iii), (4.0, nil, .ii), (3.5, nil, .ii), (3.49, nil, nil), (nil, 4.0, nil),
            (nil, nil, nil),
        ] as [(Double?, Double?, Classification.Stage?)])
    func issPartial(b2m: Double?, albumin: Double?, stage: Classification.Stage?) {
        #expect(Classification.Staging.iss(beta2MicroglobulinMgL: b2m, albuminGDl: albumin) == stage)
    }

    @Test(
        "R-ISS: I = ISS I, no high-risk FISH, normal LDH; III = ISS III with high-risk FISH or high LDH; else II",
        arguments: [
            (Classification.Stage.i, [], false, Classification.Stage.i),
            (.i, [.gain1q, .del13q, .t11_14, .del1p], false, .i),  // not high-risk abnormalities
            (.i, [.del17p], false, .ii),
            (.i, [], true, .ii),
            (.ii, [], false, .ii),
            (.ii, [.t4_14], true, .ii),
            (.iii, [.t4_14], false, .iii),
            (.iii, [.t14_16], false, .iii),
            (.iii, [], true, .iii),
            (.iii, [], false, .ii),
            (.iii, [.gain1q], false, .ii),
        ] as [(Classification.Stage, [CaseRecord.FISHAbnormality], Bool, Classification.Stage)])
    func riss(iss: Classification.Stage, fish: [CaseRecord.FISHAbnormality], ldh: Bool, stage: Classification.Stage) {
        #expect(Classification.Staging.riss(iss: iss, fish: fish, ldhElevated: ldh) == stage)
    }

    @Test(
        "R-ISS with a missing input: absent FISH is unknown; null unless the known inputs decide",
        arguments: [
            (nil, [], false, nil),
            (Classification.Stage.i, nil, false, nil),
            (.i, [], nil, nil),
            (.i, nil, true, .ii),
            (.i, [.del17p], nil, .ii),
            (.ii, nil, nil, .ii),
            (.iii, nil, true, .iii),
            (.iii, [.del17p], nil, .iii),
            (.iii, nil, false, nil),
            (.iii, [], nil, nil),
        ] as [(Classification.Stage?, [CaseRecord.FISHAbnormality]?, Bool?, Classification.Stage?)])
    func rissPartial(
        iss: Classification.Stage?, fish: [CaseRecord.FISHAbnormality]?, ldh: Bool?, stage: Classification.Stage?
    ) {
        #expect(Classification.Staging.riss(iss: iss, fish: fish, ldhElevated: ldh) == stage)
    }

    @Test("ISS and R-ISS from a case's staging section")
    func fromCase() {
        let staging = Classification.Staging(
            staging: CaseRecord.Staging(beta2MicroglobulinMgL: 6.1, albuminGDl: 2.9, ldhElevated: true, fish: []))
        #expect(staging.iss == .iii)
        #expect(staging.rISS == .iii)
        let empty = Classification.Staging(staging: nil)
        #expect(empty.iss == nil && empty.rISS == nil)
    }

    @Test(
        "CNS risk (Jurczyszyn 2016): +1 for >=1 prior line, +1 for more than one FISH abnormality",
        arguments: [
            (0, [], 0, []),
            (1, [], 1, [Classification.CNSRisk.Factor.priorLines]),
            (3, [.del17p], 1, [.priorLines]),  // exactly one abnormality is not "more than one"
            (0, [.gain1q, .del13q], 1, [.multipleFISHAbnormalities]),
            (2, [.del17p, .t4_14], 2, [.priorLines, .multipleFISHAbnormalities]),
        ] as [(Int, [CaseRecord.FISHAbnormality], Int, [Classification.CNSRisk.Factor])])
    func cnsRisk(
        priorLines: Int, fish: [CaseRecord.FISHAbnormality], score: Int, factors: [Classification.CNSRisk.Factor]
    ) {
        let risk = Classification.CNSRisk(priorLines: priorLines, fish: fish)
        #expect(risk.score == score)
        #expect(risk.factors == factors)
    }

    @Test("CNS risk: no score when an input is missing")
    func cnsRiskMissing() {
        #expect(Classification.CNSRisk(priorLines: nil, fish: [.gain1q]).score == nil)
        let noFISH = Classification.CNSRisk(priorLines: 2, fish: nil)
        #expect(noFISH.score == nil)
        #expect(noFISH.factors == [.priorLines])
    }

    @Test("CNS risk: computed for CNS cases only")
    func cnsRiskOnlyForCNS() throws {
        let od = try record(fullCase)
        #expect(classify(od).localizationCategory == .od)
        #expect(classify(od).cnsRisk == nil)
        #expect(classify(od).toJSON()["cns_risk"] == .null)

        var cns = od
        cns.intracranial.csf = CaseRecord.CSF(cytology: .positive)
        let result = classify(cns)
        #expect(result.localizationCategory == .cns)
        // prior_lines 2 and FISH [gain1q, t(4;14)] in the full case: both factors.
        #expect(result.cnsRiskScore == 2)
        #expect(result.cnsRisk?.factors == [.priorLines, .multipleFISHAbnormalities])
    }
}
