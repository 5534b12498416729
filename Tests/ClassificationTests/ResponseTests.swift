import Testing

@testable import Classification

private typealias A = CaseRecord.ResponseAssessment

/// One response row: baseline, best, expected computed category and basis (from DOMAIN.md section 4).
struct ResponseCase: CustomTestStringConvertible, Sendable {
    let name: String
    let baseline: CaseRecord.ResponseAssessment
    let best: CaseRecord.ResponseAssessment
    let computed: CaseRecord.ResponseCategory?
    var basis: [String]? = nil
    /// `isotype.light_chain`, which the FLC ratio derivation reads.
    var lightChain: CaseRecord.LightChain? = nil
    /// The expected `not_evaluable` code; checked when given, and must be nil when `computed` is not.
    var notEvaluable: Classification.NotEvaluable.Code? = nil

    var testDescription: String { name }

    func check() {
        let result = Classification.Response(
            response: CaseRecord.Response(baseline: baseline, best: best), lightChain: lightChain)
        #expect(result.computed == computed, "\(name)")
        if let basis { #expect(result.basis == basis, "\(name)") }
        if computed != nil {
            #expect(result.notEvaluable == nil, "\(name)")
        } else {
            #expect(result.notEvaluable != nil, "\(name): a null computed category must say why")
        }
        if let notEvaluable { #expect(result.notEvaluable?.code == notEvaluable, "\(name)") }
    }
}

extension ResponseCase {
    /// Serum-only measurable disease (urine not measured): the serum M-protein at baseline and at best, in g/dL.
    init(
        name: String, serum: (baseline: Double, best: Double), computed: CaseRecord.ResponseCategory?,
        basis: [String]? = nil
    ) {
        self.init(
            name: name, baseline: A(serumMProteinGDl: serum.baseline), best: A(serumMProteinGDl: serum.best),
            computed: computed, basis: basis)
    }
}

@Suite("Response (DOMAIN.md section 4, IMWG)") struct ResponseTests {
    @Test(
        "sCR and CR: negative immunofixation, no plasmacytoma, marrow <5%",
        arguments: [
            ResponseCase(
                name: "sCR: CR plus normal FLC ratio and no clonal plasma cells",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(
                    serumMProteinGDl: 0, flcRatioNormal: true, serumImmunofixation: .negative,
                    urineImmunofixation: .negative,
                    boneMarrowPlasmaCellsPct: 2, clonalPlasmaCellsInMarrow: false),
                computed: .sCR,
                basis: [
                    "serum_immunofixation_negative", "urine_immunofixation_negative", "no_plasmacytoma",
                    "bone_marrow_plasma_cells<5%", "flc_ratio_normal", "no_clonal_plasma_cells_in_marrow",
                ]),
            ResponseCase(
                name: "CR: abnormal FLC ratio is not sCR",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(
                    serumMProteinGDl: 0, flcRatioNormal: false, serumImmunofixation: .negative,
                    urineImmunofixation: .negative,
                    boneMarrowPlasmaCellsPct: 4.9, clonalPlasmaCellsInMarrow: false),
                computed: .CR,
                basis: [
                    "serum_immunofixation_negative", "urine_immunofixation_negative", "no_plasmacytoma",
                    "bone_marrow_plasma_cells<5%",
                ]),
            ResponseCase(
                name: "CR: clonal plasma cells in marrow is not sCR",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(
                    flcRatioNormal: true, serumImmunofixation: .negative, urineImmunofixation: .negative,
                    boneMarrowPlasmaCellsPct: 1, clonalPlasmaCellsInMarrow: true),
                computed: .CR),
            ResponseCase(
                name: "CR: marrow clonality not reported is not sCR",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(
                    flcRatioNormal: true, serumImmunofixation: .negative, urineImmunofixation: .negative,
                    boneMarrowPlasmaCellsPct: 1),
                computed: .CR),
            ResponseCase(
                name: "CR: a baseline plasmacytoma that disappeared",
                baseline: A(serumMProteinGDl: 3.0, plasmacytoma: .present),
                best: A(
                    serumImmunofixation: .negative, urineImmunofixation: .negative, boneMarrowPlasmaCellsPct: 1,
                    plasmacytoma: .disappeared),
                computed: .CR),
            ResponseCase(
                name: "not CR: marrow plasma cells exactly 5% (falls to VGPR by the 90% serum rule)",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(
                    serumMProteinGDl: 0, urineMProteinMg24h: 0, serumImmunofixation: .negative,
                    urineImmunofixation: .negative, boneMarrowPlasmaCellsPct: 5),
                computed: .VGPR, basis: ["serum_m_protein_reduction>=90%", "urine_m_protein<100mg/24h"]),
            ResponseCase(
                name: "not CR: a plasmacytoma left (reduced by half only)",
                baseline: A(serumMProteinGDl: 3.0, urineMProteinMg24h: 0, plasmacytoma: .present),
                best: A(
                    serumMProteinGDl: 0, urineMProteinMg24h: 0, serumImmunofixation: .negative,
                    urineImmunofixation: .negative, boneMarrowPlasmaCellsPct: 1, plasmacytoma: .reduced50),
                computed: .VGPR,
                basis: ["serum_m_protein_reduction>=90%", "urine_m_protein<100mg/24h", "plasmacytoma_reduction>=50%"]),
            ResponseCase(
                name: "not CR: urine immunofixation unknown",
                baseline: A(serumMProteinGDl: 3.0),
                best: A(serumMProteinGDl: 0.5, serumImmunofixation: .negative, boneMarrowPlasmaCellsPct: 1),
                computed: .PR),
        ])
    func completeResponse(_ row: ResponseCase) { row.check() }

    @Test(
        "VGPR: M-protein on immunofixation only, or serum down >=90% with urine <100 mg/24 h",
        arguments: [
            ResponseCase(
                name: "immunofixation positive, electrophoresis negative",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 300),
                best: A(serumMProteinGDl: 0, urineMProteinMg24h: 0, serumImmunofixation: .positive),
                computed: .VGPR, basis: ["m_protein_on_immunofixation_only"]),
            ResponseCase(
                name: "serum exactly 90% down (2.0 -> 0.2), urine 99",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 150),
                best: A(serumMProteinGDl: 0.2, urineMProteinMg24h: 99),
                computed: .VGPR, basis: ["serum_m_protein_reduction>=90%", "urine_m_protein<100mg/24h"]),
            ResponseCase(
                name: "serum exactly 90% down in decimal but not in binary (1.4 -> 0.14)",
                baseline: A(serumMProteinGDl: 1.4), best: A(serumMProteinGDl: 0.14, urineMProteinMg24h: 40),
                computed: .VGPR),
            ResponseCase(
                name: "serum 89.5% down is PR",
                baseline: A(serumMProteinGDl: 2.0), best: A(serumMProteinGDl: 0.21, urineMProteinMg24h: 40),
                computed: .PR),
            ResponseCase(
                name: "urine exactly 100 mg/24 h is not below 100: PR",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 150),
                best: A(serumMProteinGDl: 0.1, urineMProteinMg24h: 100),
                computed: .PR, basis: ["serum_m_protein_reduction>=50%", "urine_m_protein<200mg/24h"]),
            ResponseCase(
                name: "urine-only measurable disease: urine below 100 mg/24 h",
                baseline: A(serumMProteinGDl: 0, urineMProteinMg24h: 1200),
                best: A(serumMProteinGDl: 0, urineMProteinMg24h: 80),
                computed: .VGPR, basis: ["urine_m_protein<100mg/24h"]),
        ])
    func veryGoodPartialResponse(_ row: ResponseCase) { row.check() }

    @Test(
        "PR: serum >=50% and urine >=90% or <200; dFLC, then marrow, when M-protein is not measurable",
        arguments: [
            ResponseCase(
                name: "serum exactly 50% down (1.0 -> 0.5)", serum: (1.0, 0.5),
                computed: .PR, basis: ["serum_m_protein_reduction>=50%"]),
            ResponseCase(
                name: "serum exactly 50% down with a decimal value (3.3 -> 1.65)",
                serum: (3.3, 1.65), computed: .PR),
            ResponseCase(
                name: "serum 49% down is MR", serum: (1.0, 0.51),
                computed: .MR, basis: ["serum_m_protein_reduction>=25%"]),
            ResponseCase(
                name: "serum 50% and urine exactly 90% down (500 -> 50)",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 500),
                best: A(serumMProteinGDl: 1.0, urineMProteinMg24h: 50),
                computed: .PR, basis: ["serum_m_protein_reduction>=50%", "urine_m_protein_reduction>=90%"]),
            ResponseCase(
                name: "urine 80% down to 199 mg/24 h (<200)",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 1000),
                best: A(serumMProteinGDl: 1.0, urineMProteinMg24h: 199),
                computed: .PR, basis: ["serum_m_protein_reduction>=50%", "urine_m_protein<200mg/24h"]),
            ResponseCase(
                name: "urine 80% down to exactly 200 mg/24 h is not PR: MR (the MR ranges read as lower bounds)",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 1000),
                best: A(serumMProteinGDl: 1.0, urineMProteinMg24h: 200),
                computed: .MR, basis: ["serum_m_protein_reduction>=25%", "urine_m_protein_reduction>=50%"]),
            ResponseCase(
                name: "dFLC path: M-protein not measurable, dFLC exactly 50% down (490 -> 245)",
                baseline: A(
                    serumMProteinGDl: 0.5, urineMProteinMg24h: 100, involvedFLCMgL: 500, uninvolvedFLCMgL: 10,
                    flcRatioNormal: false),
                best: A(serumMProteinGDl: 0.4, urineMProteinMg24h: 90, involvedFLCMgL: 255, uninvolvedFLCMgL: 10),
                computed: .PR, basis: ["dflc_reduction>=50%"]),
            ResponseCase(
                name: "dFLC path: 49.8% down is stable disease",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(involvedFLCMgL: 256, uninvolvedFLCMgL: 10),
                computed: .SD, basis: ["no_response_or_progression_criteria_met"]),
            ResponseCase(
                name: "dFLC ignored when serum M-protein is measurable",
                baseline: A(serumMProteinGDl: 1.5, involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(serumMProteinGDl: 1.4, involvedFLCMgL: 50, uninvolvedFLCMgL: 10),
                computed: .SD),
            ResponseCase(
                name: "serum exactly 1 g/dL is measurable",
                baseline: A(serumMProteinGDl: 1.0, involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(serumMProteinGDl: 0.95, involvedFLCMgL: 50, uninvolvedFLCMgL: 10),
                computed: .SD),
            ResponseCase(
                name: "urine exactly 200 mg/24 h is measurable",
                baseline: A(urineMProteinMg24h: 200, involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(urineMProteinMg24h: 200, involvedFLCMgL: 50, uninvolvedFLCMgL: 10),
                computed: .SD),
            ResponseCase(
                name: "urine-only disease falling to below 200 mg/24 h is PR by the 'or to <200' clause",
                baseline: A(urineMProteinMg24h: 200), best: A(urineMProteinMg24h: 190),
                computed: .PR, basis: ["urine_m_protein<200mg/24h"]),
            ResponseCase(
                name: "marrow path: nothing else measurable, baseline exactly 30%, halved",
                baseline: A(
                    serumMProteinGDl: 0.3, involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: true,
                    boneMarrowPlasmaCellsPct: 30),
                best: A(serumMProteinGDl: 0.2, boneMarrowPlasmaCellsPct: 15),
                computed: .PR, basis: ["bone_marrow_plasma_cells_reduction>=50%"]),
            ResponseCase(
                name: "marrow path: involved FLC 99 mg/L is not measurable",
                baseline: A(
                    involvedFLCMgL: 99, uninvolvedFLCMgL: 5, flcRatioNormal: false, boneMarrowPlasmaCellsPct: 60),
                best: A(involvedFLCMgL: 90, uninvolvedFLCMgL: 5, boneMarrowPlasmaCellsPct: 30),
                computed: .PR, basis: ["bone_marrow_plasma_cells_reduction>=50%"]),
            ResponseCase(
                name: "marrow baseline below 30%: no call",
                baseline: A(serumMProteinGDl: 0.3, boneMarrowPlasmaCellsPct: 29.9),
                best: A(serumMProteinGDl: 0.2, boneMarrowPlasmaCellsPct: 5),
                computed: nil),
            ResponseCase(
                name: "a baseline plasmacytoma must shrink >=50%: still present is not PR (nor MR)",
                baseline: A(serumMProteinGDl: 2.0, plasmacytoma: .present),
                best: A(serumMProteinGDl: 0.8, plasmacytoma: .present),
                computed: .SD),
            ResponseCase(
                name: "a baseline plasmacytoma reduced by half: PR",
                baseline: A(serumMProteinGDl: 2.0, plasmacytoma: .present),
                best: A(serumMProteinGDl: 0.8, plasmacytoma: .reduced50),
                computed: .PR, basis: ["serum_m_protein_reduction>=50%", "plasmacytoma_reduction>=50%"]),
            ResponseCase(
                name: "a baseline plasmacytoma with no best assessment of it: not PR",
                baseline: A(serumMProteinGDl: 2.0, plasmacytoma: .present), best: A(serumMProteinGDl: 0.8),
                computed: .SD),
            ResponseCase(
                name: "dFLC PR also needs the plasmacytoma to shrink",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: false, plasmacytoma: .present),
                best: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 10, plasmacytoma: .present),
                computed: .SD),
        ])
    func partialResponse(_ row: ResponseCase) { row.check() }

    @Test(
        "MR: serum down 25-49% and urine down 50-89%",
        arguments: [
            ResponseCase(
                name: "serum exactly 25% down (2.0 -> 1.5)", serum: (2.0, 1.5),
                computed: .MR, basis: ["serum_m_protein_reduction>=25%"]),
            ResponseCase(
                name: "serum exactly 25% down in decimal but not in binary (1.2 -> 0.9)", serum: (1.2, 0.9),
                computed: .MR),
            ResponseCase(
                name: "serum 24.5% down is SD", serum: (2.0, 1.51),
                computed: .SD, basis: ["no_response_or_progression_criteria_met"]),
            ResponseCase(
                name: "serum 25% and urine exactly 50% down",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 1000),
                best: A(serumMProteinGDl: 1.5, urineMProteinMg24h: 500),
                computed: .MR, basis: ["serum_m_protein_reduction>=25%", "urine_m_protein_reduction>=50%"]),
            ResponseCase(
                name: "urine 49.9% down is SD",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 1000),
                best: A(serumMProteinGDl: 1.5, urineMProteinMg24h: 501),
                computed: .SD),
            ResponseCase(
                name: "serum 30% with urine 95% down is MR, not SD",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 1000),
                best: A(serumMProteinGDl: 1.4, urineMProteinMg24h: 50),
                computed: .MR),
        ])
    func minimalResponse(_ row: ResponseCase) { row.check() }

    @Test(
        "PD: >=25% rise from the lowest value with absolute floors, or a new lesion",
        arguments: [
            ResponseCase(
                name: "serum +25% and +0.5 g/dL exactly (2.0 -> 2.5)", serum: (2.0, 2.5),
                computed: .PD, basis: ["serum_m_protein_increase>=25%_and>=0.5g/dL"]),
            ResponseCase(
                name: "serum +25% exactly, not exact in binary (2.2 -> 2.75)", serum: (2.2, 2.75), computed: .PD),
            ResponseCase(
                name: "serum +0.5 g/dL exactly, not exact in binary (1.8 -> 2.3)", serum: (1.8, 2.3), computed: .PD),
            ResponseCase(
                name: "serum +0.49 g/dL is not PD", serum: (2.0, 2.49),
                computed: .SD),
            ResponseCase(
                name: "serum +40% but only +0.4 g/dL is below the absolute floor", serum: (1.0, 1.4), computed: .SD),
            ResponseCase(
                name: "serum 0.4 -> 0.9 reaches the absolute floor (binary-inexact)",
                baseline: A(serumMProteinGDl: 0.4, urineMProteinMg24h: 300),
                best: A(serumMProteinGDl: 0.9, urineMProteinMg24h: 300),
                computed: .PD, basis: ["serum_m_protein_increase>=25%_and>=0.5g/dL"]),
            ResponseCase(
                name: "serum +0.6 g/dL but only +20% is not PD", serum: (3.0, 3.6),
                computed: .SD),
            ResponseCase(
                name: "urine +25% and +200 mg/24 h exactly (800 -> 1000)",
                baseline: A(urineMProteinMg24h: 800), best: A(urineMProteinMg24h: 1000),
                computed: .PD, basis: ["urine_m_protein_increase>=25%_and>=200mg/24h"]),
            ResponseCase(
                name: "urine 800 -> 999 is not PD", baseline: A(urineMProteinMg24h: 800),
                best: A(urineMProteinMg24h: 999),
                computed: .SD),
            ResponseCase(
                name: "urine +66% but +199 mg/24 h is below the floor",
                baseline: A(urineMProteinMg24h: 300), best: A(urineMProteinMg24h: 499), computed: .SD),
            ResponseCase(
                name: "urine +200 mg/24 h exactly, not exact in binary (56.4 -> 256.4)",
                baseline: A(urineMProteinMg24h: 56.4), best: A(urineMProteinMg24h: 256.4),
                computed: .PD),
            ResponseCase(
                name: "urine +200 mg/24 h from 300", baseline: A(urineMProteinMg24h: 300),
                best: A(urineMProteinMg24h: 500),
                computed: .PD),
            ResponseCase(
                name: "dFLC +25% but exactly +100 mg/L is not above 10 mg/dL",
                baseline: A(involvedFLCMgL: 410, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(involvedFLCMgL: 510, uninvolvedFLCMgL: 10), computed: .SD),
            ResponseCase(
                name: "dFLC +100.5 mg/L is PD when M-protein is not measurable",
                baseline: A(serumMProteinGDl: 0.2, involvedFLCMgL: 410, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(serumMProteinGDl: 0.2, involvedFLCMgL: 510.5, uninvolvedFLCMgL: 10),
                computed: .PD, basis: ["dflc_increase>=25%_and>100mg/L"]),
            ResponseCase(
                name: "dFLC rise ignored when M-protein is measurable",
                baseline: A(serumMProteinGDl: 1.5, involvedFLCMgL: 410, uninvolvedFLCMgL: 10, flcRatioNormal: false),
                best: A(serumMProteinGDl: 1.5, involvedFLCMgL: 1000, uninvolvedFLCMgL: 10), computed: .SD),
            ResponseCase(
                name: "marrow +10 points and +50% (20 -> 30), nothing else measurable",
                baseline: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 20),
                best: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 30),
                computed: .PD, basis: ["bone_marrow_plasma_cells_increase>=25%_and>=10points"]),
            ResponseCase(
                name: "marrow +9 points is below the floor (4 -> 13): not PD, and nothing measurable",
                baseline: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 4),
                best: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 13), computed: nil,
                notEvaluable: .notMeasurable),
            ResponseCase(
                name: "marrow +12 points but +24% is not PD (50 -> 62)",
                baseline: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 50),
                best: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 62), computed: .SD),
            ResponseCase(
                name: "marrow +25% and +12.5 points (50 -> 62.5)",
                baseline: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 50),
                best: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 62.5), computed: .PD),
            ResponseCase(
                name: "new plasmacytoma",
                baseline: A(serumMProteinGDl: 2.0, plasmacytoma: CaseRecord.Plasmacytoma.none),
                best: A(serumMProteinGDl: 0.5, plasmacytoma: .present),
                computed: .PD, basis: ["new_plasmacytoma"]),
            ResponseCase(
                name: "progression on urine overrides a serum response",
                baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 800),
                best: A(serumMProteinGDl: 0.1, urineMProteinMg24h: 1000),
                computed: .PD, basis: ["urine_m_protein_increase>=25%_and>=200mg/24h"]),
        ])
    func progressiveDisease(_ row: ResponseCase) { row.check() }

    @Test(
        "SD and no call: evaluable disease without response is SD; unevaluable labs give no computed category",
        arguments: [
            ResponseCase(name: "serum 10% down", serum: (2.0, 1.8), computed: .SD),
            ResponseCase(
                name: "nothing measurable", baseline: A(serumMProteinGDl: 0.5, boneMarrowPlasmaCellsPct: 10),
                best: A(serumMProteinGDl: 0.4, boneMarrowPlasmaCellsPct: 8), computed: nil, basis: [],
                notEvaluable: .notMeasurable),
            ResponseCase(
                name: "measurable serum but no best serum value", baseline: A(serumMProteinGDl: 2.0),
                best: A(boneMarrowPlasmaCellsPct: 8), computed: nil, notEvaluable: .noAssessment),
            ResponseCase(
                name: "FLC measurable only with an abnormal ratio (given as normal here)",
                baseline: A(involvedFLCMgL: 500, uninvolvedFLCMgL: 10, flcRatioNormal: true),
                best: A(involvedFLCMgL: 100, uninvolvedFLCMgL: 10),
                computed: nil, notEvaluable: .notMeasurable),
        ])
    func stableDisease(_ row: ResponseCase) { row.check() }

    @Test("category, group and agreement: computed beats reported; groups CR+VGPR and PR+NR")
    func categoryGroupAgreement() {
        let labs = CaseRecord.Response(
            reported: .CR, baseline: A(serumMProteinGDl: 2.0, urineMProteinMg24h: 0),
            best: A(serumMProteinGDl: 0.1, urineMProteinMg24h: 0))
        let disagreeing = Classification.Response(response: labs)
        #expect(disagreeing.computed == .VGPR)
        #expect(disagreeing.reported == .CR)
        #expect(disagreeing.category == .VGPR)
        #expect(disagreeing.group == .crVGPR)
        #expect(disagreeing.agreement == false)

        var agreeing = labs
        agreeing.reported = .VGPR
        #expect(Classification.Response(response: agreeing).agreement == true)

        let reportedOnly = Classification.Response(response: CaseRecord.Response(reported: .PR))
        #expect(reportedOnly.computed == nil)
        #expect(reportedOnly.category == .PR)
        #expect(reportedOnly.group == .prNR)
        #expect(reportedOnly.agreement == nil)
        #expect(reportedOnly.basis == ["reported_by_site"])

        let unknown = Classification.Response(response: nil)
        #expect(unknown.category == nil)
        #expect(unknown.group == nil)
        #expect(unknown.agreement == nil)
        #expect(unknown.basis == [])

        let groups = CaseRecord.ResponseCategory.allCases.map { "\($0.rawValue):\($0.group.rawValue)" }
        #expect(
            groups == ["sCR:CR+VGPR", "CR:CR+VGPR", "VGPR:CR+VGPR", "PR:PR+NR", "MR:PR+NR", "SD:PR+NR", "PD:PR+NR"])
    }
}
