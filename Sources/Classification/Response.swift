extension Classification {
    /// Response to therapy by the IMWG uniform response criteria, as summarised in DOMAIN.md section 4.
    ///
    /// Sources: Durie et al., Leukemia 2006;20:1467-73 (IMWG uniform response criteria) and
    /// Kumar et al., Lancet Oncol 2016;17:e328-46 (2016 update); response groups from Gozzetti et al.,
    /// Cancer 2012 (CR+VGPR versus PR+NR). DOMAIN.md decides where they differ or are vague.
    public struct Response: Sendable, Hashable {
        public typealias Category = CaseRecord.ResponseCategory
        public typealias Group = CaseRecord.ResponseGroup

        /// The category the baseline and best labs support, or nil when they do not allow a call.
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

        public init(computed: Category?, reported: Category?, basis: [String]) {
            self.computed = computed
            self.reported = reported
            self.basis = basis
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

extension Classification.Response {
    /// Computes the response from `response.baseline` and `response.best` (DOMAIN.md section 4).
    ///
    /// Order: PD first (progression on any parameter overrides an apparent response), then sCR,
    /// CR, VGPR, PR, MR, and SD when the disease was evaluable; otherwise no computed category.
    ///
    /// Decisions where DOMAIN.md is silent (each documented at its rule):
    /// - a missing value is unknown: a criterion that needs it is not met;
    /// - measurable disease (DOMAIN.md section 4) is judged on the baseline: serum M-protein
    ///   >= 1 g/dL, urine M-protein >= 200 mg/24 h, involved FLC >= 100 mg/L with
    ///   `flc_ratio_normal == false`; a missing value is "not measurable";
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
    /// - the marrow PD criterion applies whatever the baseline, as DOMAIN.md writes it (IMWG 2016
    ///   restricts it to patients without measurable M-protein and FLC).
    public init(response: CaseRecord.Response?) {
        let reported = response?.reported
        guard let baseline = response?.baseline, let best = response?.best,
            let (computed, criteria) = Self.compute(baseline: baseline, best: best)
        else {
            self.init(
                computed: nil, reported: reported,
                basis: reported == nil ? [] : [Classification.ResponseCriterion.reportedBySite.rawValue])
            return
        }
        self.init(computed: computed, reported: reported, basis: criteria.map(\.rawValue))
    }

    static func compute(baseline b: CaseRecord.ResponseAssessment, best a: CaseRecord.ResponseAssessment)
        -> (Category, [Classification.ResponseCriterion])?
    {
        let measurableSerum = (b.serumMProteinGDl ?? 0) >= 1
        let measurableUrine = (b.urineMProteinMg24h ?? 0) >= 200
        let measurableFLC = (b.involvedFLCMgL ?? 0) >= 100 && b.flcRatioNormal == false
        let measurableMProtein = measurableSerum || measurableUrine

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
        if !measurableMProtein, let d0 = b.dFLCMgL, let d1 = a.dFLCMgL,
            progressed(baseline: d0, best: d1, absoluteFloor: 100, strict: true)
        {
            progression.append(.dFLCIncrease)
        }
        if let m0 = b.boneMarrowPlasmaCellsPct, let m1 = a.boneMarrowPlasmaCellsPct,
            progressed(baseline: m0, best: m1, absoluteFloor: 10)
        {
            progression.append(.marrowIncrease)
        }
        if b.plasmacytoma == CaseRecord.Plasmacytoma.none, a.plasmacytoma == .present {
            progression.append(.newPlasmacytoma)
        }
        if !progression.isEmpty { return (.PD, progression) }

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

        // CR: negative serum and urine immunofixation, no plasmacytoma, <5% marrow plasma cells.
        // sCR: CR plus normal FLC ratio and no clonal plasma cells in marrow.
        if a.serumImmunofixation == .negative, a.urineImmunofixation == .negative, plasmacytomaGone,
            let marrow = a.boneMarrowPlasmaCellsPct, marrow < 5
        {
            let cr: [Classification.ResponseCriterion] = [
                .serumImmunofixationNegative, .urineImmunofixationNegative, .noPlasmacytoma, .marrowBelow5,
            ]
            if a.flcRatioNormal == true, a.clonalPlasmaCellsInMarrow == false {
                return (.sCR, cr + [.flcRatioNormal, .noClonalPlasmaCells])
            }
            return (.CR, cr)
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
                return (.VGPR, [.immunofixationOnly] + shrinkCriteria)
            }
            let urineBelow100 = a.urineMProteinMg24h.map { $0 < 100 } ?? !measurableUrine
            if measurableMProtein, serumReduced(0.9) ?? true, urineBelow100 {
                var criteria: [Classification.ResponseCriterion] = measurableSerum ? [.serumReduction90] : []
                if a.urineMProteinMg24h != nil { criteria.append(.urineBelow100) }
                return (.VGPR, criteria + shrinkCriteria)
            }
        }

        // PR, by the first of: M-protein, dFLC (M-protein not measurable), marrow (neither measurable,
        // baseline >= 30%). A baseline plasmacytoma must shrink >= 50%.
        var evaluable = false
        if measurableMProtein {
            evaluable =
                (!measurableSerum || a.serumMProteinGDl != nil) && (!measurableUrine || a.urineMProteinMg24h != nil)
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
                return (.PR, criteria + shrinkCriteria)
            }
            // MR: serum down >=25% and urine down >=50% (when measurable), plasmacytoma shrunk.
            var urineMR = !measurableUrine
            if measurableUrine, let u0 = b.urineMProteinMg24h, let u1 = a.urineMProteinMg24h {
                urineMR = reduced(from: u0, to: u1, byAtLeast: 0.5)
            }
            if plasmacytomaShrunk, serumReduced(0.25) ?? true, urineMR {
                var criteria: [Classification.ResponseCriterion] = measurableSerum ? [.serumReduction25] : []
                if measurableUrine { criteria.append(.urineReduction50) }
                return (.MR, criteria + shrinkCriteria)
            }
        } else if measurableFLC {
            if let d0 = b.dFLCMgL, let d1 = a.dFLCMgL, d0 > 0 {
                evaluable = true
                if plasmacytomaShrunk, reduced(from: d0, to: d1, byAtLeast: 0.5) {
                    return (.PR, [.dFLCReduction50] + shrinkCriteria)
                }
            }
        } else if let m0 = b.boneMarrowPlasmaCellsPct, m0 >= 30 {
            if let m1 = a.boneMarrowPlasmaCellsPct {
                evaluable = true
                if plasmacytomaShrunk, reduced(from: m0, to: m1, byAtLeast: 0.5) {
                    return (.PR, [.marrowReduction50] + shrinkCriteria)
                }
            }
        }

        // SD: none of the above and not PD, on evaluable disease only.
        return evaluable ? (.SD, [.noResponseOrProgression]) : nil
    }
}
