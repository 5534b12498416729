import JSON
import Testing

@testable import Classification

private typealias A = CaseRecord.ResponseAssessment

/// One FLC ratio derivation: the two values, the light chain, and what DOMAIN.md section 4 says
/// the ratio is. Expected ratios are written as exact quotients of the inputs, not read from the code.
struct DerivedRatioCase: CustomTestStringConvertible, Sendable {
    let name: String
    let involved: Double
    let uninvolved: Double
    let lightChain: CaseRecord.LightChain?
    let status: Classification.FLCRatioStatus
    /// The reported quotient; nil when it is infinite or undefined.
    let ratio: Double?
    let formula: Classification.DerivedFLCRatio.Formula

    var testDescription: String { name }
}

extension DerivedRatioCase {
    /// A row for `lightChain`, expecting DOMAIN.md section 4's formula: uninvolved/involved (kappa/lambda)
    /// for lambda, involved/uninvolved for kappa and when the light chain is not given.
    static func row(
        _ lightChain: CaseRecord.LightChain?, _ name: String, involved: Double, uninvolved: Double,
        _ status: Classification.FLCRatioStatus, ratio: Double?
    ) -> Self {
        Self(
            name: name, involved: involved, uninvolved: uninvolved, lightChain: lightChain, status: status,
            ratio: ratio, formula: lightChain == .lambda ? .uninvolvedOverInvolved : .involvedOverUninvolved)
    }
}

@Suite("FLC ratio derived from the involved and uninvolved FLC (DOMAIN.md section 4)")
struct FLCRatioDerivationTests {
    private static func check(_ row: DerivedRatioCase) {
        let derived = Classification.DerivedFLCRatio.derive(
            involved: row.involved, uninvolved: row.uninvolved, lightChain: row.lightChain, assessment: .baseline)
        #expect(derived.status == row.status, "\(row.name)")
        #expect(derived.formula == row.formula, "\(row.name)")
        #expect(derived.lightChain == row.lightChain, "\(row.name)")
        if let ratio = row.ratio {
            #expect(
                derived.ratio.map { abs($0 - ratio) <= 1e-12 * ratio } == true,
                "\(row.name): \(String(describing: derived.ratio))")
        } else {
            #expect(derived.ratio == nil, "\(row.name)")
        }
    }

    @Test(
        "kappa: ratio = involved/uninvolved, normal 0.26 <= ratio <= 1.65 (edges inclusive)",
        arguments: [
            .row(.kappa, "exactly 0.26 (26/100) is normal", involved: 26, uninvolved: 100, .normal, ratio: 0.26),
            .row(.kappa, "exactly 1.65 (165/100) is normal", involved: 165, uninvolved: 100, .normal, ratio: 1.65),
            .row(.kappa, "0.26 in decimal, 0.25999999999999995 in binary (16.9/65), is normal",
                involved: 16.9, uninvolved: 65, .normal, ratio: 0.26),
            .row(.kappa, "1.65 in decimal, 1.6500000000000001 in binary (9.9/6), is normal",
                involved: 9.9, uninvolved: 6, .normal, ratio: 1.65),
            .row(.kappa, "0.25 is abnormal", involved: 25, uninvolved: 100, .abnormal, ratio: 0.25),
            .row(.kappa, "1.66 is abnormal", involved: 166, uninvolved: 100, .abnormal, ratio: 1.66),
            .row(.kappa, "kappa myeloma 500/10 = 50 is abnormal", involved: 500, uninvolved: 10, .abnormal, ratio: 50),
            .row(.kappa, "uninvolved 0: infinite ratio, abnormal, reported as null",
                involved: 150, uninvolved: 0, .abnormal, ratio: nil),
            .row(.kappa, "involved 0: ratio 0, abnormal", involved: 0, uninvolved: 10, .abnormal, ratio: 0),
            .row(.kappa, "both 0: no ratio, unknown", involved: 0, uninvolved: 0, .unknown, ratio: nil),
        ] as [DerivedRatioCase])
    func kappa(_ row: DerivedRatioCase) { Self.check(row) }

    @Test(
        "lambda: ratio = uninvolved/involved (kappa/lambda), normal 0.26 <= ratio <= 1.65 (edges inclusive)",
        arguments: [
            .row(.lambda, "exactly 0.26 (26/100) is normal", involved: 100, uninvolved: 26, .normal, ratio: 0.26),
            .row(.lambda, "exactly 1.65 (165/100) is normal", involved: 100, uninvolved: 165, .normal, ratio: 1.65),
            .row(.lambda, "0.25 is abnormal", involved: 100, uninvolved: 25, .abnormal, ratio: 0.25),
            .row(.lambda, "1.66 is abnormal", involved: 100, uninvolved: 166, .abnormal, ratio: 1.66),
            .row(.lambda, "lambda myeloma 10/500 = 0.02 is abnormal",
                involved: 500, uninvolved: 10, .abnormal, ratio: 0.02),
            .row(.lambda, "the same values read as kappa would be 50: the light chain decides the direction",
                involved: 10, uninvolved: 500, .abnormal, ratio: 50),
            .row(.lambda, "uninvolved 0: ratio 0, abnormal", involved: 150, uninvolved: 0, .abnormal, ratio: 0),
            .row(.lambda, "involved 0: infinite ratio, abnormal, reported as null",
                involved: 0, uninvolved: 10, .abnormal, ratio: nil),
        ] as [DerivedRatioCase])
    func lambda(_ row: DerivedRatioCase) { Self.check(row) }

    @Test(
        "light chain not given: abnormal when i/u > 1/0.26 or < 0.26, normal when 1/1.65 <= i/u <= 1.65, else unknown",
        arguments: [
            .row(nil, "exactly 1/0.26 (100/26, one ulp above the double 1/0.26) is not abnormal: unknown",
                involved: 100, uninvolved: 26, .unknown, ratio: 100.0 / 26),
            .row(nil, "above 1/0.26 (101/26) is abnormal", involved: 101, uninvolved: 26, .abnormal, ratio: 101.0 / 26),
            .row(nil, "exactly 0.26 (26/100) is not abnormal: unknown",
                involved: 26, uninvolved: 100, .unknown, ratio: 0.26),
            .row(nil, "below 0.26 (25/100) is abnormal", involved: 25, uninvolved: 100, .abnormal, ratio: 0.25),
            .row(nil, "exactly 1.65 (165/100) is normal", involved: 165, uninvolved: 100, .normal, ratio: 1.65),
            .row(nil, "exactly 1/1.65 (100/165) is normal",
                involved: 100, uninvolved: 165, .normal, ratio: 100.0 / 165),
            .row(nil, "just above 1.65 (166/100) is unknown", involved: 166, uninvolved: 100, .unknown, ratio: 1.66),
            .row(nil, "just below 1/1.65 (100/166) is unknown",
                involved: 100, uninvolved: 166, .unknown, ratio: 100.0 / 166),
            .row(nil, "1 is normal", involved: 12, uninvolved: 12, .normal, ratio: 1),
            .row(nil, "50 is abnormal", involved: 500, uninvolved: 10, .abnormal, ratio: 50),
            .row(nil, "uninvolved 0 is abnormal (infinite, null)", involved: 150, uninvolved: 0, .abnormal, ratio: nil),
            .row(nil, "involved 0 is abnormal (0)", involved: 0, uninvolved: 10, .abnormal, ratio: 0),
            .row(nil, "both 0 is unknown", involved: 0, uninvolved: 0, .unknown, ratio: nil),
        ] as [DerivedRatioCase])
    func lightChainNotGiven(_ row: DerivedRatioCase) { Self.check(row) }
}

/// A best assessment that meets CR whatever the FLC (both immunofixations negative, marrow 2%, no
/// clonal plasma cells), with the given FLC values: whether it is sCR turns on the FLC ratio alone.
private func completeResponse(involved: Double, uninvolved: Double, flcRatioNormal: Bool? = nil) -> A {
    A(
        involvedFLCMgL: involved, uninvolvedFLCMgL: uninvolved, flcRatioNormal: flcRatioNormal,
        serumImmunofixation: .negative, urineImmunofixation: .negative, boneMarrowPlasmaCellsPct: 2,
        clonalPlasmaCellsInMarrow: false)
}

@Suite("Response rules of the 2026.11.2 engine: derived FLC ratio, marrow PD, not_evaluable (DOMAIN.md section 4)")
struct ResponseFLCRatioMarrowNotEvaluableTests {
    @Test(
        "FLC ratio derived: measurability at baseline and sCR at best use it; basis names flc_ratio_derived",
        arguments: [
            ResponseCase(
                name: "kappa 500/10 at baseline is abnormal: FLC measurable, dFLC 490 -> 190 is PR",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10),
                computed: .PR, basis: ["flc_ratio_derived", "dflc_reduction>=50%"], lightChain: .kappa),
            ResponseCase(
                name: "lambda 500/10 at baseline (kappa/lambda 0.02) is abnormal: PR",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10),
                computed: .PR, basis: ["flc_ratio_derived", "dflc_reduction>=50%"], lightChain: .lambda),
            ResponseCase(
                name: "light chain not given, 500/10 is abnormal either way: PR",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10),
                computed: .PR, basis: ["flc_ratio_derived", "dflc_reduction>=50%"]),
            ResponseCase(
                name: "kappa, derived abnormal, dFLC not halved: SD on the FLC path",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10),
                best: A(involvedFLCMgL: 400, uninvolvedFLCMgL: 10),
                computed: .SD, basis: ["flc_ratio_derived", "no_response_or_progression_criteria_met"],
                lightChain: .kappa),
            ResponseCase(
                name: "kappa 150/100 = 1.5 is normal: FLC not measurable",
                baseline: A(involvedFLCMgL: 150, uninvolvedFLCMgL: 100),
                best: A(involvedFLCMgL: 50, uninvolvedFLCMgL: 100),
                computed: nil, lightChain: .kappa, notEvaluable: .notMeasurable),
            ResponseCase(
                name: "light chain not given, 300/100 = 3 is unknown: not abnormal, so not measurable",
                baseline: A(involvedFLCMgL: 300, uninvolvedFLCMgL: 100),
                best: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 100),
                computed: nil, notEvaluable: .notMeasurable),
            ResponseCase(
                name: "light chain not given, exactly 1/0.26 (100/26) is unknown, not abnormal: not measurable",
                baseline: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 26),
                best: A(involvedFLCMgL: 20, uninvolvedFLCMgL: 26),
                computed: nil, notEvaluable: .notMeasurable),
            ResponseCase(
                name: "light chain not given, just above 1/0.26 (101/26) is abnormal: measurable, PR",
                baseline: A(involvedFLCMgL: 101, uninvolvedFLCMgL: 26),
                best: A(involvedFLCMgL: 20, uninvolvedFLCMgL: 26),
                computed: .PR, basis: ["flc_ratio_derived", "dflc_reduction>=50%"]),
            ResponseCase(
                name: "only the involved FLC given: ratio unknown, not measurable",
                baseline: A(involvedFLCMgL: 500), best: A(involvedFLCMgL: 100),
                computed: nil, lightChain: .kappa, notEvaluable: .notMeasurable),
            ResponseCase(
                name: "sCR by a ratio derived normal at best (kappa 12/10 = 1.2)",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 12, uninvolved: 10),
                computed: .sCR,
                basis: [
                    "serum_immunofixation_negative", "urine_immunofixation_negative", "no_plasmacytoma",
                    "bone_marrow_plasma_cells<5%", "flc_ratio_derived", "flc_ratio_normal",
                    "no_clonal_plasma_cells_in_marrow",
                ],
                lightChain: .kappa),
            ResponseCase(
                name: "CR, not sCR: ratio derived abnormal at best (kappa 20/10 = 2)",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 20, uninvolved: 10),
                computed: .CR, lightChain: .kappa),
            ResponseCase(
                name: "CR, not sCR: ratio unknown at best (light chain not given, 2.0) counts as not normal",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 20, uninvolved: 10),
                computed: .CR),
            ResponseCase(
                name: "sCR with the light chain not given: 10/12 lies within 1/1.65..1.65, normal either way",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 10, uninvolved: 12),
                computed: .sCR),
        ])
    func flcRatioDerived(_ row: ResponseCase) { row.check() }

    @Test("the derived ratios are listed, baseline first, with light chain, formula, value and result")
    func derivedRatiosAreReported() {
        let response = Classification.Response(
            response: CaseRecord.Response(
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10)),
            lightChain: .lambda)
        #expect(
            response.derivedFLCRatios == [
                .init(
                    assessment: .baseline, lightChain: .lambda, formula: .uninvolvedOverInvolved, ratio: 0.02,
                    status: .abnormal),
                .init(
                    assessment: .best, lightChain: .lambda, formula: .uninvolvedOverInvolved, ratio: 0.05,
                    status: .abnormal),
            ])
        #expect(
            response.toJSON()["flc_ratio_derived"] == [
                [
                    "assessment": "baseline", "light_chain": "lambda", "formula": "uninvolved/involved", "ratio": 0.02,
                    "result": "abnormal",
                ],
                [
                    "assessment": "best", "light_chain": "lambda", "formula": "uninvolved/involved", "ratio": 0.05,
                    "result": "abnormal",
                ],
            ])
        // A zero denominator: the ratio is infinite, JSON gets null and the result stays abnormal.
        let infinite = Classification.Response(
            response: CaseRecord.Response(baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 0), best: A()),
            lightChain: .kappa)
        #expect(infinite.toJSON()["flc_ratio_derived"]?.arrayValue?.first?["ratio"] == .null)
        #expect(infinite.toJSON()["flc_ratio_derived"]?.arrayValue?.first?["result"] == "abnormal")
    }

    @Test(
        "an explicit flc_ratio_normal always wins over the derived ratio",
        arguments: [
            ResponseCase(
                name: "baseline given normal although kappa 500/10 derives abnormal: FLC not measurable",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: true),
                best: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 10),
                computed: nil, lightChain: .kappa, notEvaluable: .notMeasurable),
            ResponseCase(
                name:
                    "baseline given abnormal although kappa 150/100 derives normal: FLC measurable, PR without flc_ratio_derived",
                baseline: A(involvedFLCMgL: 150, uninvolvedFLCMgL: 100, flcRatioNormal: false),
                best: A(involvedFLCMgL: 120, uninvolvedFLCMgL: 100),
                computed: .PR, basis: ["dflc_reduction>=50%"], lightChain: .kappa),
            ResponseCase(
                name: "best given abnormal although kappa 12/10 derives normal: CR, not sCR",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 12, uninvolved: 10, flcRatioNormal: false),
                computed: .CR, lightChain: .kappa),
            ResponseCase(
                name: "best given normal although kappa 20/10 derives abnormal: sCR without flc_ratio_derived",
                baseline: A(serumMProteinGDl: 3.0),
                best: completeResponse(involved: 20, uninvolved: 10, flcRatioNormal: true),
                computed: .sCR,
                basis: [
                    "serum_immunofixation_negative", "urine_immunofixation_negative", "no_plasmacytoma",
                    "bone_marrow_plasma_cells<5%", "flc_ratio_normal", "no_clonal_plasma_cells_in_marrow",
                ],
                lightChain: .kappa),
        ])
    func explicitFlagOverridesDerived(_ row: ResponseCase) { row.check() }

    @Test("an explicit flag is not derived, so nothing is listed as derived")
    func explicitFlagIsNotListedAsDerived() {
        let response = Classification.Response(
            response: CaseRecord.Response(
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10, flcRatioNormal: false)),
            lightChain: .kappa)
        #expect(response.derivedFLCRatios == [])
        #expect(response.toJSON()["flc_ratio_derived"] == [])
    }

    @Test(
        "marrow PD (+25% and +10 points) applied only when neither M-protein nor FLC is measurable (IMWG 2016)",
        arguments: [
            ResponseCase(
                name: "applied: nothing else measured",
                baseline: A(boneMarrowPlasmaCellsPct: 20), best: A(boneMarrowPlasmaCellsPct: 30),
                computed: .PD, basis: ["bone_marrow_plasma_cells_increase>=25%_and>=10points"]),
            ResponseCase(
                name: "applied: serum 0.9 g/dL and urine 190 mg/24 h are below measurable",
                baseline: A(serumMProteinGDl: 0.9, urineMProteinMg24h: 190, boneMarrowPlasmaCellsPct: 40),
                best: A(serumMProteinGDl: 0.9, urineMProteinMg24h: 190, boneMarrowPlasmaCellsPct: 50),
                computed: .PD, basis: ["bone_marrow_plasma_cells_increase>=25%_and>=10points"]),
            ResponseCase(
                name: "applied: involved FLC 500 mg/L with a ratio given normal is not measurable",
                baseline: A(
                    involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: true, boneMarrowPlasmaCellsPct: 20),
                best: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, boneMarrowPlasmaCellsPct: 30),
                computed: .PD, basis: ["bone_marrow_plasma_cells_increase>=25%_and>=10points"]),
            ResponseCase(
                name: "applied: light chain not given, FLC ratio 3 unknown, so FLC not measurable",
                baseline: A(involvedFLCMgL: 300, uninvolvedFLCMgL: 100, boneMarrowPlasmaCellsPct: 20),
                best: A(involvedFLCMgL: 300, uninvolvedFLCMgL: 100, boneMarrowPlasmaCellsPct: 30),
                computed: .PD, basis: ["bone_marrow_plasma_cells_increase>=25%_and>=10points"]),
            ResponseCase(
                name: "not applied: serum M-protein measurable (2.0 g/dL, unchanged) is SD",
                baseline: A(serumMProteinGDl: 2.0, boneMarrowPlasmaCellsPct: 20),
                best: A(serumMProteinGDl: 2.0, boneMarrowPlasmaCellsPct: 30),
                computed: .SD, basis: ["no_response_or_progression_criteria_met"]),
            ResponseCase(
                name: "not applied: urine M-protein measurable (200 mg/24 h) is SD",
                baseline: A(urineMProteinMg24h: 200, boneMarrowPlasmaCellsPct: 20),
                best: A(urineMProteinMg24h: 200, boneMarrowPlasmaCellsPct: 30),
                computed: .SD),
            ResponseCase(
                name: "not applied: FLC measurable by a ratio given abnormal is SD",
                baseline: A(
                    involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false, boneMarrowPlasmaCellsPct: 20),
                best: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, boneMarrowPlasmaCellsPct: 30),
                computed: .SD, basis: ["no_response_or_progression_criteria_met"]),
            ResponseCase(
                name: "not applied: FLC measurable by a derived ratio (kappa 500/10) is SD",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, boneMarrowPlasmaCellsPct: 20),
                best: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, boneMarrowPlasmaCellsPct: 30),
                computed: .SD, basis: ["flc_ratio_derived", "no_response_or_progression_criteria_met"],
                lightChain: .kappa),
            ResponseCase(
                name: "not applied, yet PD on another parameter: serum rise with a marrow rise lists the serum only",
                baseline: A(serumMProteinGDl: 2.0, boneMarrowPlasmaCellsPct: 20),
                best: A(serumMProteinGDl: 2.5, boneMarrowPlasmaCellsPct: 30),
                computed: .PD, basis: ["serum_m_protein_increase>=25%_and>=0.5g/dL"]),
        ])
    func marrowProgression(_ row: ResponseCase) { row.check() }

    @Test(
        "not_evaluable: every null computed category gets a code",
        arguments: [
            ResponseCase(
                name: "no_assessment: serum measurable, best lacks serum", baseline: A(serumMProteinGDl: 2.0),
                best: A(urineMProteinMg24h: 50), computed: nil, notEvaluable: .noAssessment),
            ResponseCase(
                name: "no_assessment: urine measurable, best lacks urine", baseline: A(urineMProteinMg24h: 500),
                best: A(serumMProteinGDl: 0.2), computed: nil, notEvaluable: .noAssessment),
            ResponseCase(
                name: "no_assessment: FLC measurable, best lacks the uninvolved FLC",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(involvedFLCMgL: 200), computed: nil, notEvaluable: .noAssessment),
            ResponseCase(
                name: "no_assessment: only marrow measurable (>=30%), best lacks marrow",
                baseline: A(boneMarrowPlasmaCellsPct: 40), best: A(serumMProteinGDl: 0.1), computed: nil,
                notEvaluable: .noAssessment),
            ResponseCase(
                name: "not_measurable: empty baseline", baseline: A(), best: A(serumMProteinGDl: 0.1), computed: nil,
                notEvaluable: .notMeasurable),
            ResponseCase(
                name: "not_measurable: FLC measurable by its flag but the uninvolved FLC missing at baseline",
                baseline: A(involvedFLCMgL: 500, flcRatioNormal: false),
                best: A(involvedFLCMgL: 200, uninvolvedFLCMgL: 10),
                computed: nil, notEvaluable: .notMeasurable),
            ResponseCase(
                name:
                    "not_measurable: involved not above uninvolved (kappa 100/500 derives abnormal), no dFLC to follow",
                baseline: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 500),
                best: A(involvedFLCMgL: 50, uninvolvedFLCMgL: 500),
                computed: nil, lightChain: .kappa, notEvaluable: .notMeasurable),
        ])
    func notEvaluableCodes(_ row: ResponseCase) { row.check() }

    @Test("not_evaluable: no_baseline and no_assessment when a whole assessment is missing; reasons are sentences")
    func missingAssessments() {
        let cases: [(CaseRecord.Response?, Classification.NotEvaluable.Code)] = [
            (nil, .noBaseline),
            (CaseRecord.Response(reported: .PR), .noBaseline),
            (CaseRecord.Response(best: A(serumMProteinGDl: 1)), .noBaseline),
            (CaseRecord.Response(baseline: A(serumMProteinGDl: 2)), .noAssessment),
            (CaseRecord.Response(reported: .CR, baseline: A(serumMProteinGDl: 2)), .noAssessment),
        ]
        for (input, code) in cases {
            let response = Classification.Response(response: input)
            #expect(response.computed == nil)
            #expect(response.notEvaluable?.code == code)
            let reason = response.notEvaluable?.reason ?? ""
            #expect(
                reason.first?.isUppercase == true && reason.hasSuffix(".") && reason.filter { $0 == "." }.count == 1)
        }
        // The reported category stays usable, and its basis is unchanged.
        let reportedOnly = Classification.Response(response: CaseRecord.Response(reported: .PR))
        #expect(reportedOnly.category == .PR)
        #expect(reportedOnly.basis == ["reported_by_site"])
    }

    @Test("not_evaluable reasons name what is missing")
    func reasonsNameTheGap() {
        func reason(_ baseline: A, _ best: A, _ lightChain: CaseRecord.LightChain? = nil) -> String {
            Classification.Response(
                response: CaseRecord.Response(baseline: baseline, best: best), lightChain: lightChain
            )
            .notEvaluable?.reason ?? ""
        }
        #expect(reason(A(serumMProteinGDl: 2), A()).contains("serum M-protein"))
        #expect(reason(A(serumMProteinGDl: 2, urineMProteinMg24h: 300), A()).contains("serum and urine M-protein"))
        #expect(reason(A(urineMProteinMg24h: 300), A(serumMProteinGDl: 0)).contains("urine M-protein"))
        #expect(reason(A(involvedFLCMgL: 300, uninvolvedFLCMgL: 100), A()).contains("FLC ratio is unknown"))
        #expect(reason(A(serumMProteinGDl: 0.2), A()).contains("No measurable disease"))
        #expect(reason(A(boneMarrowPlasmaCellsPct: 40), A()).contains("bone marrow"))
    }

    @Test("JSON: not_evaluable and not_evaluable_reason present exactly when computed is null")
    func notEvaluableJSON() {
        let none = Classification.Response(response: CaseRecord.Response(reported: .VGPR)).toJSON()
        #expect(none["computed"] == .null)
        #expect(none["not_evaluable"] == "no_baseline")
        #expect(none["not_evaluable_reason"]?.stringValue?.isEmpty == false)
        #expect(none["basis"] == ["reported_by_site"])

        let computed = Classification.Response(
            response: CaseRecord.Response(baseline: A(serumMProteinGDl: 2), best: A(serumMProteinGDl: 0.9))
        ).toJSON()
        #expect(computed["computed"] == "PR")
        #expect(computed.objectValue?.keys.contains("not_evaluable") == false)
        #expect(computed.objectValue?.keys.contains("not_evaluable_reason") == false)
        #expect(
            Set((computed.objectValue ?? [:]).keys) == [
                "computed", "reported", "category", "group", "agreement", "basis", "flc_ratio_derived",
            ])
    }

    @Test("end to end: classify() reads isotype.light_chain to derive the ratio")
    func classifyUsesTheLightChain() throws {
        // The full case's best FLC 15/9 without its flag: kappa 1.67 is abnormal (CR); lambda 0.6 is normal (sCR).
        let withoutFlag = fullCase.setting("/response/best/flc_ratio_normal", nil)
        let kappa = classify(try record(withoutFlag))
        #expect(kappa.response.computed == .CR)
        #expect(kappa.response.derivedFLCRatios.map(\.status) == [.abnormal])
        let lambda = classify(try record(withoutFlag.setting("/isotype/light_chain", "lambda")))
        #expect(lambda.response.computed == .sCR)
        #expect(lambda.response.basis.contains("flc_ratio_derived"))
        let unknown = classify(try record(withoutFlag.setting("/isotype/light_chain", nil)))
        #expect(unknown.response.computed == .CR)  // 15/9 = 1.67: between 1.65 and 1/0.26, unknown, not normal
        #expect(unknown.response.derivedFLCRatios.map(\.status) == [.unknown])
    }
}
