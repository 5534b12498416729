extension Classification {
    /// Response to therapy by the IMWG uniform response criteria, as summarised in DOMAIN.md section 4.
    ///
    /// Sources: Durie et al., Leukemia 2006;20:1467-73 (IMWG uniform response criteria) and
    /// Kumar et al., Lancet Oncol 2016;17:e328-46 (2016 update); response groups from Gozzetti et al.,
    /// Cancer 2012 (CR+VGPR versus PR+NR). DOMAIN.md decides where they differ or are vague.
    public struct Response: Sendable, Hashable {
        public typealias Category = CaseRecord.ResponseCategory
        public typealias Group = CaseRecord.ResponseGroup

        /// The category the baseline and best labs support, or nil when they do not allow a call
        /// (then `notEvaluable` says why).
        public let computed: Category?
        /// The category the site reported.
        public let reported: Category?
        /// `computed` when available, else `reported`.
        public var category: Category? { computed ?? reported }
        public var group: Group? { category?.group }
        /// Whether computed and reported agree; nil unless both are known.
        public var agreement: Bool? {
            guard let computed, let reported else { return nil }
            return computed == reported
        }
        /// The criteria behind `computed`, as stable strings (see `ResponseCriterion`); when only the
        /// reported category is known, `["reported_by_site"]`; empty when neither is.
        public let basis: [String]
        /// Why `computed` is nil; nil exactly when `computed` is not (DOMAIN.md section 4: "When no
        /// category can be computed, the output says why").
        public let notEvaluable: NotEvaluable?
        /// Every FLC ratio the engine derived from the free light chain values because the
        /// assessment gave no `flc_ratio_normal` (DOMAIN.md section 4: "The output says when a ratio
        /// was derived"), baseline first. `basis` names `flc_ratio_derived` when one of them decided
        /// a criterion that was met.
        public let derivedFLCRatios: [DerivedFLCRatio]

        public init(
            computed: Category?, reported: Category?, basis: [String], notEvaluable: NotEvaluable? = nil,
            derivedFLCRatios: [DerivedFLCRatio] = []
        ) {
            self.computed = computed
            self.reported = reported
            self.basis = basis
            self.notEvaluable = notEvaluable
            self.derivedFLCRatios = derivedFLCRatios
        }
    }

    /// Why no response category could be computed (DOMAIN.md section 4, last rule): a stable code
    /// for programs and one sentence for people.
    public struct NotEvaluable: Sendable, Hashable {
        public enum Code: String, Sendable, Hashable, CaseIterable, Codable {
            /// `response.baseline` is missing (or the whole `response` section is).
            case noBaseline = "no_baseline"
            /// `response.best` is missing, or lacks the value of the parameter that was measurable
            /// at baseline, so the two cannot be compared.
            case noAssessment = "no_assessment"
            /// No measurable disease at baseline by any path DOMAIN.md section 4 allows (M-protein,
            /// FLC, marrow), or the measurable FLC disease cannot be followed by its dFLC.
            case notMeasurable = "not_measurable"
        }

        public let code: Code
        /// One sentence for the clinician. Names parameters and thresholds, never a patient's values.
        public let reason: String

        public init(_ code: Code, _ reason: String) {
            self.code = code
            self.reason = reason
        }

        static let noBaseline = NotEvaluable(
            .noBaseline, "No baseline assessment was given, so there is nothing to measure the response against.")
        static let noBestAssessment = NotEvaluable(.noAssessment, "No best-response assessment was given.")
        static func bestLacksMProtein(serum: Bool, urine: Bool) -> NotEvaluable {
            let missing =
                serum && urine
                ? "serum and urine M-protein that were"
                : serum ? "serum M-protein that was" : "urine M-protein that was"
            return NotEvaluable(
                .noAssessment, "The best assessment does not give the \(missing) measurable at baseline.")
        }
        static let bestLacksFLC = NotEvaluable(
            .noAssessment,
            "The best assessment does not give both free light chains, so the dFLC that was measurable at baseline cannot be compared."
        )
        static let bestLacksMarrow = NotEvaluable(
            .noAssessment,
            "The best assessment does not give the bone marrow plasma cells, the only disease measurable at baseline.")
        static let baselineLacksUninvolvedFLC = NotEvaluable(
            .notMeasurable,
            "The baseline gives the involved but not the uninvolved FLC, so the dFLC of the FLC disease measurable at baseline cannot be computed."
        )
        static let dFLCNotPositive = NotEvaluable(
            .notMeasurable,
            "The involved FLC is not above the uninvolved FLC at baseline, so the FLC disease cannot be followed by its dFLC."
        )
        static let flcRatioUnknown = NotEvaluable(
            .notMeasurable,
            "No measurable disease at baseline: the involved FLC is at least 100 mg/L but the FLC ratio is unknown (not given and not derivable from the values and light chain), and no M-protein or marrow value reaches its threshold."
        )
        static let nothingMeasurable = NotEvaluable(
            .notMeasurable,
            "No measurable disease at baseline: serum M-protein below 1 g/dL, urine M-protein below 200 mg/24 h, involved FLC below 100 mg/L or without an abnormal ratio, and marrow plasma cells below 30% (or not given)."
        )
    }

    /// The state of the kappa/lambda free light chain ratio at one assessment.
    public enum FLCRatioStatus: String, Sendable, Hashable, CaseIterable, Codable {
        case normal, abnormal, unknown
    }

    /// An FLC ratio derived from the involved and uninvolved free light chains of one assessment
    /// (DOMAIN.md section 4, "FLC ratio"), with how it was derived.
    public struct DerivedFLCRatio: Sendable, Hashable {
        public enum Assessment: String, Sendable, Hashable, CaseIterable, Codable {
            case baseline, best
        }

        /// Which quotient `ratio` is: the kappa/lambda ratio is involved/uninvolved for a kappa
        /// myeloma and uninvolved/involved for a lambda one; with no light chain, involved/uninvolved.
        public enum Formula: String, Sendable, Hashable, CaseIterable, Codable {
            case involvedOverUninvolved = "involved/uninvolved"
            case uninvolvedOverInvolved = "uninvolved/involved"
        }

        public let assessment: Assessment
        /// `isotype.light_chain`; nil when the case does not give it.
        public let lightChain: CaseRecord.LightChain?
        public let formula: Formula
        /// The quotient `formula` names; nil when a zero denominator leaves it infinite or undefined.
        public let ratio: Double?
        public let status: FLCRatioStatus

        public init(
            assessment: Assessment, lightChain: CaseRecord.LightChain?, formula: Formula, ratio: Double?,
            status: FLCRatioStatus
        ) {
            self.assessment = assessment
            self.lightChain = lightChain
            self.formula = formula
            self.ratio = ratio
            self.status = status
        }
    }

    /// The stable names of the criteria that `basis` lists.
    public enum ResponseCriterion: String, Sendable, Hashable, CaseIterable, Codable {
        // CR and sCR
        case serumImmunofixationNegative = "serum_immunofixation_negative"
        case urineImmunofixationNegative = "urine_immunofixation_negative"
        case noPlasmacytoma = "no_plasmacytoma"
        case marrowBelow5 = "bone_marrow_plasma_cells<5%"
        case flcRatioNormal = "flc_ratio_normal"
        /// Precedes the criterion a derived FLC ratio decided: `flc_ratio_normal` of sCR, or the
        /// abnormal baseline ratio that made the FLC disease measurable (dFLC PR or SD).
        case flcRatioDerived = "flc_ratio_derived"
        case noClonalPlasmaCells = "no_clonal_plasma_cells_in_marrow"
        // VGPR
        case immunofixationOnly = "m_protein_on_immunofixation_only"
        case serumReduction90 = "serum_m_protein_reduction>=90%"
        case urineBelow100 = "urine_m_protein<100mg/24h"
        // PR
        case serumReduction50 = "serum_m_protein_reduction>=50%"
        case urineReduction90 = "urine_m_protein_reduction>=90%"
        case urineBelow200 = "urine_m_protein<200mg/24h"
        case dFLCReduction50 = "dflc_reduction>=50%"
        case marrowReduction50 = "bone_marrow_plasma_cells_reduction>=50%"
        case plasmacytomaReduction50 = "plasmacytoma_reduction>=50%"
        // MR
        case serumReduction25 = "serum_m_protein_reduction>=25%"
        case urineReduction50 = "urine_m_protein_reduction>=50%"
        // SD
        case noResponseOrProgression = "no_response_or_progression_criteria_met"
        // PD
        case serumIncrease = "serum_m_protein_increase>=25%_and>=0.5g/dL"
        case urineIncrease = "urine_m_protein_increase>=25%_and>=200mg/24h"
        case dFLCIncrease = "dflc_increase>=25%_and>100mg/L"
        case marrowIncrease = "bone_marrow_plasma_cells_increase>=25%_and>=10points"
        case newPlasmacytoma = "new_plasmacytoma"
        // No computed category
        case reportedBySite = "reported_by_site"
    }
}

/// Relative tolerance of the percentage comparisons: 1e-9 of the reference value.
///
/// Reductions are compared as `baseline - best >= fraction * baseline` rather than as a computed
/// percentage, and the tolerance absorbs binary rounding: 1.4 -> 0.14 g/dL is exactly 90% in
/// decimal, yet `1.4 - 0.14 < 0.9 * 1.4` in binary floating point (so are 1.2 -> 0.9 for 25%,
/// 2.2 -> 2.75 for a 25% rise, 1.8 -> 2.3 for a 0.5 g/dL rise). Halving is exact, so 50% needs
/// no help. Boundaries are inclusive as DOMAIN.md writes them (>=), except the dFLC progression
/// floor (> 100 mg/L). Submitted values carry at most a few decimals, so a difference of 1e-9 of
/// the value is never clinically real.
let relativeTolerance = 1e-9

/// `best` is at least `fraction` below `baseline` (e.g. 0.5 for ">=50% reduction"); false when baseline is 0.
func reduced(from baseline: Double, to best: Double, byAtLeast fraction: Double) -> Bool {
    guard baseline > 0 else { return false }
    return baseline - best >= fraction * baseline - relativeTolerance * baseline
}

/// IMWG progression on one parameter: a rise of >=25% from the lowest value (with two
/// assessments, the lower of the two) and an absolute rise of at least `floor` (strictly more
/// than `floor` when `strict`).
func progressed(baseline: Double, best: Double, absoluteFloor floor: Double, strict: Bool = false) -> Bool {
    let lowest = min(baseline, best)
    let rise = best - lowest
    let tolerance = relativeTolerance * max(1, abs(best), abs(floor))
    guard rise >= 0.25 * lowest - tolerance else { return false }
    return strict ? rise > floor + tolerance : rise >= floor - tolerance
}

/// The FLC ratio's reference range, kappa/lambda (DOMAIN.md section 4: "normal 0.26-1.65, the
/// serum assay's reference range"; Katzmann et al., Clin Chem 2002;48:1437-44). Both ends inclusive.
let flcRatioNormalRange = (lower: 0.26, upper: 1.65)

/// `value >= bound`, allowing binary rounding of a decimal edge (see `relativeTolerance`).
private func atLeast(_ value: Double, _ bound: Double) -> Bool { value >= bound - relativeTolerance * bound }
/// `value <= bound`, allowing binary rounding of a decimal edge.
private func atMost(_ value: Double, _ bound: Double) -> Bool { value <= bound + relativeTolerance * bound }

extension Classification.DerivedFLCRatio {
    /// Derives the FLC ratio of one assessment from its involved (`i`) and uninvolved (`u`) free
    /// light chains, as DOMAIN.md section 4 ("FLC ratio") says:
    /// - light chain `kappa`: ratio = i/u; `lambda`: ratio = u/i (both the kappa/lambda ratio);
    ///   normal when 0.26 <= ratio <= 1.65, else abnormal;
    /// - light chain not given: abnormal when i/u > 1/0.26 or i/u < 0.26 (abnormal whichever chain
    ///   is involved); normal when 1/1.65 <= i/u <= 1.65 (normal either way); otherwise unknown.
    ///
    /// Edges are compared with `relativeTolerance`, so a quotient that is exactly an edge in
    /// decimal is on it even when binary division misses it by a unit in the last place (100/26
    /// is one ulp above the double nearest 1/0.26, which a bare `>` would call abnormal).
    ///
    /// Division by zero (DOMAIN.md is silent; decided here): one chain at 0 and the other above 0
    /// is the most skewed ratio there is, so it is **abnormal** whatever the light chain (the
    /// quotient is 0 or infinite, outside every normal range); `ratio` is then nil when infinite,
    /// since JSON has no infinity. Both chains at 0 give no ratio at all: **unknown**, `ratio` nil.
    /// Measurability also needs an involved FLC >= 100 mg/L, so an involved chain at 0 can make a
    /// ratio abnormal but never makes disease measurable.
    public static func derive(
        involved i: Double, uninvolved u: Double, lightChain: CaseRecord.LightChain?,
        assessment: Assessment
    ) -> Self {
        let (lower, upper) = flcRatioNormalRange
        let formula: Formula = lightChain == .lambda ? .uninvolvedOverInvolved : .involvedOverUninvolved
        guard i > 0 || u > 0 else {
            return Self(assessment: assessment, lightChain: lightChain, formula: formula, ratio: nil, status: .unknown)
        }
        let ratio = formula == .involvedOverUninvolved ? i / u : u / i  // 0 or +infinity when one is 0
        let status: Classification.FLCRatioStatus
        switch lightChain {
        case .kappa, .lambda:
            status = atLeast(ratio, lower) && atMost(ratio, upper) ? .normal : .abnormal
        case nil:
            if ratio > (1 / lower) * (1 + relativeTolerance) || ratio < lower * (1 - relativeTolerance) {
                status = .abnormal
            } else if atLeast(ratio, 1 / upper) && atMost(ratio, upper) {
                status = .normal
            } else {
                status = .unknown
            }
        }
        return Self(
            assessment: assessment, lightChain: lightChain, formula: formula, ratio: ratio.isFinite ? ratio : nil,
            status: status)
    }
}

/// The FLC ratio of one assessment as the rules use it.
struct AssessedFLCRatio {
    let status: Classification.FLCRatioStatus
    /// Set when the status was derived rather than given.
    let derived: Classification.DerivedFLCRatio?

    /// DOMAIN.md section 4: an explicit `flc_ratio_normal` always wins; otherwise the ratio is
    /// derived from both FLC values; with either value missing it is unknown. Unknown counts as
    /// "not abnormal" for measurability and "not normal" for sCR: the rules test `== .abnormal`
    /// and `== .normal`.
    init(
        _ assessment: CaseRecord.ResponseAssessment, _ which: Classification.DerivedFLCRatio.Assessment,
        lightChain: CaseRecord.LightChain?
    ) {
        if let given = assessment.flcRatioNormal {
            (status, derived) = (given ? .normal : .abnormal, nil)
        } else if let i = assessment.involvedFLCMgL, let u = assessment.uninvolvedFLCMgL {
            let ratio = Classification.DerivedFLCRatio.derive(
                involved: i, uninvolved: u, lightChain: lightChain, assessment: which)
            (status, derived) = (ratio.status, ratio)
        } else {
            (status, derived) = (.unknown, nil)
        }
    }
}

extension Classification.Response {
    /// Computes the response from `response.baseline` and `response.best` (DOMAIN.md section 4).
    ///
    /// Order: PD first (progression on any parameter overrides an apparent response), then sCR,
    /// CR, VGPR, PR, MR, and SD when the disease was evaluable; otherwise no computed category,
    /// and `notEvaluable` says why: `no_baseline`, `no_assessment` (the best assessment is missing,
    /// or lacks the parameter measurable at baseline), `not_measurable`.
    ///
    /// `lightChain` (`isotype.light_chain`) is needed to derive an FLC ratio that is not given
    /// (`DerivedFLCRatio.derive`).
    ///
    /// Decisions where DOMAIN.md is silent (each documented at its rule):
    /// - a missing value is unknown: a criterion that needs it is not met;
    /// - measurable disease (DOMAIN.md section 4) is judged on the baseline: serum M-protein
    ///   >= 1 g/dL, urine M-protein >= 200 mg/24 h, involved FLC >= 100 mg/L with an abnormal FLC
    ///   ratio (given, or derived); a missing value is "not measurable";
    /// - serum and urine conditions of VGPR, PR and MR apply to the components measurable at baseline
    ///   (the IMWG practice); a non-measurable component whose best value is given must still meet
    ///   the absolute part (urine < 100 mg/24 h for VGPR, < 200 mg/24 h for PR), and is waived
    ///   when not given;
    /// - "25-49%" and "50-89%" of MR are read as lower bounds: the upper ends only say that more
    ///   is PR, which precedence already handles (a 30% serum and 95% urine fall is MR, not SD);
    /// - a plasmacytoma at baseline means `present` or `reduced_50`; it must reach `reduced_50`,
    ///   `disappeared` or `none` at best for PR and MR (IMWG 2016 requires it for MR as well), and
    ///   `disappeared` or `none` for CR; absent at both assessments means none recorded;
    /// - PD by a new lesion: `plasmacytoma` `none` at baseline and `present` at best;
    /// - a best assessment that lacks the value of a parameter measurable at baseline is
    ///   `no_assessment` (that parameter was not assessed), not `not_measurable`.
    public init(response: CaseRecord.Response?, lightChain: CaseRecord.LightChain? = nil) {
        let reported = response?.reported
        let reportedBasis = reported == nil ? [] : [Classification.ResponseCriterion.reportedBySite.rawValue]
        guard let baseline = response?.baseline else {
            self.init(computed: nil, reported: reported, basis: reportedBasis, notEvaluable: .noBaseline)
            return
        }
        guard let best = response?.best else {
            self.init(computed: nil, reported: reported, basis: reportedBasis, notEvaluable: .noBestAssessment)
            return
        }
        let (evaluation, derived) = Self.evaluate(baseline: baseline, best: best, lightChain: lightChain)
        switch evaluation {
        case .computed(let computed, let criteria):
            self.init(
                computed: computed, reported: reported, basis: criteria.map(\.rawValue), derivedFLCRatios: derived)
        case .notEvaluable(let why):
            self.init(
                computed: nil, reported: reported, basis: reportedBasis, notEvaluable: why, derivedFLCRatios: derived)
        }
    }

    enum Evaluation: Equatable {
        case computed(Category, [Classification.ResponseCriterion])
        case notEvaluable(Classification.NotEvaluable)
    }

    static func evaluate(
        baseline b: CaseRecord.ResponseAssessment, best a: CaseRecord.ResponseAssessment,
        lightChain: CaseRecord.LightChain?
    ) -> (Evaluation, [Classification.DerivedFLCRatio]) {
        let baselineRatio = AssessedFLCRatio(b, .baseline, lightChain: lightChain)
        let bestRatio = AssessedFLCRatio(a, .best, lightChain: lightChain)
        let derived = [baselineRatio.derived, bestRatio.derived].compactMap { $0 }
        return (compute(baseline: b, best: a, baselineRatio: baselineRatio, bestRatio: bestRatio), derived)
    }

    private static func compute(
        baseline b: CaseRecord.ResponseAssessment, best a: CaseRecord.ResponseAssessment,
        baselineRatio: AssessedFLCRatio, bestRatio: AssessedFLCRatio
    ) -> Evaluation {
        let measurableSerum = (b.serumMProteinGDl ?? 0) >= 1
        let measurableUrine = (b.urineMProteinMg24h ?? 0) >= 200
        let measurableFLC = (b.involvedFLCMgL ?? 0) >= 100 && baselineRatio.status == .abnormal
        let measurableMProtein = measurableSerum || measurableUrine
        // Listed before the FLC-path criteria when a derived ratio made the FLC disease measurable.
        let flcMeasurability: [Classification.ResponseCriterion] =
            measurableFLC && baselineRatio.derived != nil ? [.flcRatioDerived] : []

        // PD: any one parameter (DOMAIN.md section 4; Kumar 2016, Table 2).
        var progression: [Classification.ResponseCriterion] = []
        if let s0 = b.serumMProteinGDl, let s1 = a.serumMProteinGDl,
            progressed(baseline: s0, best: s1, absoluteFloor: 0.5)
        {
            progression.append(.serumIncrease)
        }
        if let u0 = b.urineMProteinMg24h, let u1 = a.urineMProteinMg24h,
            progressed(baseline: u0, best: u1, absoluteFloor: 200)
        {
            progression.append(.urineIncrease)
        }
        // dFLC: only when M-protein is not measurable (DOMAIN.md section 4).
        if !measurableMProtein, let d0 = b.dFLCMgL, let d1 = a.dFLCMgL,
            progressed(baseline: d0, best: d1, absoluteFloor: 100, strict: true)
        {
            progression.append(.dFLCIncrease)
        }
        // Marrow plasma cells: only when neither M-protein nor FLC is measurable (DOMAIN.md
        // section 4; IMWG 2016, Kumar et al., Lancet Oncol 2016;17:e328, Table 2: "in patients
        // without measurable serum and urine M-protein levels and without measurable involved FLC
        // levels, bone marrow plasma-cell percentage irrespective of baseline status").
        if !measurableMProtein, !measurableFLC, let m0 = b.boneMarrowPlasmaCellsPct,
            let m1 = a.boneMarrowPlasmaCellsPct,
            progressed(baseline: m0, best: m1, absoluteFloor: 10)
        {
            progression.append(.marrowIncrease)
        }
        if b.plasmacytoma == CaseRecord.Plasmacytoma.none, a.plasmacytoma == .present {
            progression.append(.newPlasmacytoma)
        }
        if !progression.isEmpty { return .computed(.PD, progression) }

        // Plasmacytoma requirements.
        let plasmacytomaAtBaseline = b.plasmacytoma == .present || b.plasmacytoma == .reduced50
        let plasmacytomaGone: Bool =
            plasmacytomaAtBaseline
            ? (a.plasmacytoma == .disappeared || a.plasmacytoma == CaseRecord.Plasmacytoma.none)
            : (a.plasmacytoma != .present && a.plasmacytoma != .reduced50)
        let plasmacytomaShrunk =
            !plasmacytomaAtBaseline
            || [.reduced50, .disappeared, CaseRecord.Plasmacytoma.none].contains(a.plasmacytoma)
        let shrinkCriteria: [Classification.ResponseCriterion] =
            plasmacytomaAtBaseline ? [.plasmacytomaReduction50] : []

        // CR: negative serum and urine immunofixation, no plasmacytoma, <5% plasma cells in marrow.
        // sCR: CR plus normal FLC ratio (given, or derived from the best assessment's values) and no
        // clonal plasma cells in marrow (DOMAIN.md section 4).
        if a.serumImmunofixation == .negative, a.urineImmunofixation == .negative, plasmacytomaGone,
            let marrow = a.boneMarrowPlasmaCellsPct, marrow < 5
        {
            let cr: [Classification.ResponseCriterion] = [
                .serumImmunofixationNegative, .urineImmunofixationNegative, .noPlasmacytoma, .marrowBelow5,
            ]
            if bestRatio.status == .normal, a.clonalPlasmaCellsInMarrow == false {
                let derived: [Classification.ResponseCriterion] = bestRatio.derived != nil ? [.flcRatioDerived] : []
                return .computed(.sCR, cr + derived + [.flcRatioNormal, .noClonalPlasmaCells])
            }
            return .computed(.CR, cr)
        }

        // Serum and urine M-protein conditions on the components measurable at baseline.
        func serumReduced(_ fraction: Double) -> Bool? {
            guard measurableSerum else { return nil }  // not applicable
            guard let s0 = b.serumMProteinGDl, let s1 = a.serumMProteinGDl else { return false }
            return reduced(from: s0, to: s1, byAtLeast: fraction)
        }

        // VGPR: M-protein on immunofixation but not on electrophoresis, or serum >=90% down with
        // urine <100 mg/24 h. VGPR is better than PR, so PR's plasmacytoma requirement holds too.
        // With urine-only measurable disease the serum condition is not applicable and urine
        // <100 mg/24 h decides (IMWG practice; DOMAIN.md names serum only).
        if plasmacytomaShrunk {
            let electrophoresisNegative =
                a.serumMProteinGDl == 0
                && (a.urineMProteinMg24h == 0 || (a.urineMProteinMg24h == nil && !measurableUrine))
            if electrophoresisNegative, a.serumImmunofixation == .positive || a.urineImmunofixation == .positive {
                return .computed(.VGPR, [.immunofixationOnly] + shrinkCriteria)
            }
            let urineBelow100 = a.urineMProteinMg24h.map { $0 < 100 } ?? !measurableUrine
            if measurableMProtein, serumReduced(0.9) ?? true, urineBelow100 {
                var criteria: [Classification.ResponseCriterion] = measurableSerum ? [.serumReduction90] : []
                if a.urineMProteinMg24h != nil { criteria.append(.urineBelow100) }
                return .computed(.VGPR, criteria + shrinkCriteria)
            }
        }

        // PR, by the first of: M-protein, dFLC (M-protein not measurable), marrow (neither measurable,
        // baseline >= 30%). A baseline plasmacytoma must shrink >= 50%.
        if measurableMProtein {
            let serumMissing = measurableSerum && a.serumMProteinGDl == nil
            let urineMissing = measurableUrine && a.urineMProteinMg24h == nil
            var urineCriterion: Classification.ResponseCriterion?
            var urineMet = !measurableUrine
            if let u1 = a.urineMProteinMg24h {
                if measurableUrine, let u0 = b.urineMProteinMg24h, reduced(from: u0, to: u1, byAtLeast: 0.9) {
                    (urineMet, urineCriterion) = (true, .urineReduction90)
                } else if u1 < 200 {
                    (urineMet, urineCriterion) = (true, .urineBelow200)
                } else {
                    urineMet = false
                }
            }
            if plasmacytomaShrunk, serumReduced(0.5) ?? true, urineMet {
                var criteria: [Classification.ResponseCriterion] = measurableSerum ? [.serumReduction50] : []
                if let urineCriterion { criteria.append(urineCriterion) }
                return .computed(.PR, criteria + shrinkCriteria)
            }
            // MR: serum down >=25% and urine down >=50% (when measurable), plasmacytoma shrunk.
            var urineMR = !measurableUrine
            if measurableUrine, let u0 = b.urineMProteinMg24h, let u1 = a.urineMProteinMg24h {
                urineMR = reduced(from: u0, to: u1, byAtLeast: 0.5)
            }
            if plasmacytomaShrunk, serumReduced(0.25) ?? true, urineMR {
                var criteria: [Classification.ResponseCriterion] = measurableSerum ? [.serumReduction25] : []
                if measurableUrine { criteria.append(.urineReduction50) }
                return .computed(.MR, criteria + shrinkCriteria)
            }
            if serumMissing || urineMissing {
                return .notEvaluable(.bestLacksMProtein(serum: serumMissing, urine: urineMissing))
            }
        } else if measurableFLC {
            guard let d0 = b.dFLCMgL else { return .notEvaluable(.baselineLacksUninvolvedFLC) }
            guard d0 > 0 else { return .notEvaluable(.dFLCNotPositive) }
            guard let d1 = a.dFLCMgL else { return .notEvaluable(.bestLacksFLC) }
            if plasmacytomaShrunk, reduced(from: d0, to: d1, byAtLeast: 0.5) {
                return .computed(.PR, flcMeasurability + [.dFLCReduction50] + shrinkCriteria)
            }
        } else if let m0 = b.boneMarrowPlasmaCellsPct, m0 >= 30 {
            guard let m1 = a.boneMarrowPlasmaCellsPct else { return .notEvaluable(.bestLacksMarrow) }
            if plasmacytomaShrunk, reduced(from: m0, to: m1, byAtLeast: 0.5) {
                return .computed(.PR, [.marrowReduction50] + shrinkCriteria)
            }
        } else {
            let flcRatioUnknown = (b.involvedFLCMgL ?? 0) >= 100 && baselineRatio.status == .unknown
            return .notEvaluable(flcRatioUnknown ? .flcRatioUnknown : .nothingMeasurable)
        }

        // SD: none of the above and not PD, on evaluable disease only.
        return .computed(.SD, flcMeasurability + [.noResponseOrProgression])
    }
}
