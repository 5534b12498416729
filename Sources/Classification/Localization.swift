extension Classification {
    /// Localization of the intracranial disease: osteodural (OD) versus true CNS myeloma.
    ///
    /// Source: DOMAIN.md section 3, the registry's operational reading of Gozzetti et al.
    /// (Cancer 2012;118:1574-84) and of the source letter: OD = a myeloma mass growing from the
    /// skull into the dura, or a dural-based mass; CNS = intraparenchymal lesions or clonal plasma
    /// cells in the CSF. CNS evidence beats OD evidence.
    public struct Localization: Sendable, Hashable {
        public enum Category: String, Sendable, Hashable, CaseIterable, Codable {
            case od = "OD"
            case cns = "CNS"
            case indeterminate
            case none
        }

        public enum Subtype: String, Sendable, Hashable, CaseIterable, Codable {
            case leptomeningeal, intraparenchymal, osteodural
            case primaryDural = "primary_dural"
            case suspectedLeptomeningeal = "suspected_leptomeningeal"
            case osseousOnly = "osseous_only"
        }

        public enum Certainty: String, Sendable, Hashable, CaseIterable, Codable {
            case confirmed, probable
        }

        /// The rules of DOMAIN.md section 3, in order of precedence (declaration order).
        public enum Rule: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
            /// CSF positive -> CNS, leptomeningeal.
            case cnsCSF = "CNS-CSF"
            /// `intraparenchymal_lesion` -> CNS, intraparenchymal.
            case cnsParenchymal = "CNS-PAR"
            /// A skull lesion with `dural_involvement` or `para_osseous_mass` -> OD, osteodural.
            case odBone = "OD-BONE"
            /// `dural_involvement` without a skull lesion -> OD, primary dural.
            case odDura = "OD-DURA"
            /// `leptomeningeal_enhancement` with an OD finding, CSF not positive -> OD (the letter's case).
            case odLepto = "OD-LEPTO"
            /// `leptomeningeal_enhancement` without an OD finding, CSF not positive -> indeterminate.
            case indeterminateLepto = "IND-LEPTO"
            /// Cranial nerve or orbital involvement without a CNS or OD finding -> indeterminate.
            case indeterminateOther = "IND-OTHER"
            /// Skull lesions only, nothing beyond the bone -> none, osseous only.
            case noneBone = "NONE-BONE"
            /// No intracranial finding -> none.
            case none = "NONE"

            public static func < (lhs: Rule, rhs: Rule) -> Bool {
                allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
            }
        }

        /// Actions a clinician can take, as stable cases with the sentence shown to people.
        public enum Recommendation: String, Sendable, Hashable, CaseIterable, Codable {
            case csfCytologyAndFlowCytometry = "csf_cytology_and_flow_cytometry"
            case biopsy

            /// The sentence the API returns, exactly as openapi.yaml lists it (`LocalizationResult.recommendations`).
            public var sentence: String {
                switch self {
                case .csfCytologyAndFlowCytometry:
                    "Send CSF for cytology and flow cytometry: CNS involvement is not excluded, "
                        + "and cytology alone misses many cases."
                case .biopsy:
                    "Biopsy the intraparenchymal lesion: the CNS classification rests on imaging alone."
                }
            }
        }

        public let category: Category
        public let subtype: Subtype?
        /// nil for indeterminate and none.
        public let certainty: Certainty?
        /// Every rule whose condition held, in precedence order; the first decided.
        public let rules: [Rule]
        public let recommendations: [Recommendation]

        public init(
            category: Category, subtype: Subtype?, certainty: Certainty?, rules: [Rule],
            recommendations: [Recommendation]
        ) {
            self.category = category
            self.subtype = subtype
            self.certainty = certainty
            self.rules = rules
            self.recommendations = recommendations
        }
    }

    /// The state of the CSF examination (DOMAIN.md section 3 terms).
    public enum CSFStatus: String, Sendable, Hashable, CaseIterable, Codable {
        /// Cytology or flow cytometry is positive.
        case positive
        /// At least one of the two was done and neither is positive.
        case negative
        /// Neither was done (absent counts as not done).
        case notDone = "not_done"

        public init(_ csf: CaseRecord.CSF?) {
            let results = [csf?.cytology, csf?.flowCytometry]
            if results.contains(.positive) {
                self = .positive
            } else if results.contains(.negative) {
                self = .negative
            } else {
                self = .notDone
            }
        }
    }
}

extension Classification.Localization {
    /// Applies DOMAIN.md section 3 to one case's imaging findings, CSF and biopsy.
    ///
    /// Definitions used (DOMAIN.md section 3, "Terms"):
    /// - *skull lesion*: `skull_vault_lesion`, `skull_base_lesion` or `para_osseous_mass`;
    /// - *OD finding*: a skull lesion with `dural_involvement` or `para_osseous_mass`, or
    ///   `dural_involvement` alone; since a para-osseous mass is itself a skull lesion, this is
    ///   `dural_involvement` or `para_osseous_mass`;
    /// - *CNS finding* (IND-OTHER): the condition of CNS-CSF or CNS-PAR. Leptomeningeal
    ///   enhancement alone is not one (it is what IND-LEPTO is for);
    /// - *beyond the bone* (NONE-BONE): any finding other than `skull_vault_lesion` and
    ///   `skull_base_lesion` (a para-osseous mass is soft tissue outside the bone), or a positive CSF;
    /// - *intracranial finding* (NONE, recommendations): any imaging finding; a positive CSF also
    ///   counts for NONE.
    public init(intracranial: CaseRecord.Intracranial) {
        let findings = Set(intracranial.imaging.findings)
        let csf = Classification.CSFStatus(intracranial.csf)
        let csfPositive = csf == .positive

        let skullLesion = !findings.isDisjoint(with: [.skullVaultLesion, .skullBaseLesion, .paraOsseousMass])
        let dural = findings.contains(.duralInvolvement)
        let paraOsseous = findings.contains(.paraOsseousMass)
        let lepto = findings.contains(.leptomeningealEnhancement)
        let parenchymal = findings.contains(.intraparenchymalLesion)
        let odFinding = (skullLesion && (dural || paraOsseous)) || dural
        let cnsFinding = csfPositive || parenchymal
        let beyondBone = csfPositive || !findings.isSubset(of: [.skullVaultLesion, .skullBaseLesion])

        var rules: [Rule] = []
        if csfPositive { rules.append(.cnsCSF) }
        if parenchymal { rules.append(.cnsParenchymal) }
        if skullLesion && (dural || paraOsseous) { rules.append(.odBone) }
        if dural && !skullLesion { rules.append(.odDura) }
        if lepto && odFinding && !csfPositive { rules.append(.odLepto) }
        if lepto && !odFinding && !csfPositive { rules.append(.indeterminateLepto) }
        if !findings.isDisjoint(with: [.cranialNerveInvolvement, .orbitalLesion]) && !cnsFinding && !odFinding {
            rules.append(.indeterminateOther)
        }
        if skullLesion && !beyondBone { rules.append(.noneBone) }
        if findings.isEmpty && !csfPositive { rules.append(.none) }

        let category: Category
        let subtype: Subtype?
        var certainty: Certainty?
        // The conditions above cover every combination of findings and CSF (tested exhaustively).
        switch rules.first ?? .none {
        case .cnsCSF:
            (category, subtype, certainty) = (.cns, .leptomeningeal, .confirmed)
        case .cnsParenchymal:
            let biopsyProven =
                intracranial.biopsy?.site == .parenchyma && intracranial.biopsy?.plasmaCellInfiltrate == true
            (category, subtype, certainty) = (.cns, .intraparenchymal, biopsyProven ? .confirmed : .probable)
        case .odBone, .odDura, .odLepto:
            // OD-LEPTO never decides alone: an OD finding always fires OD-BONE or OD-DURA first.
            category = .od
            subtype = rules.contains(.odBone) ? .osteodural : .primaryDural
            certainty = csf == .negative && !lepto ? .confirmed : .probable
        case .indeterminateLepto:
            (category, subtype, certainty) = (.indeterminate, .suspectedLeptomeningeal, nil)
        case .indeterminateOther:
            (category, subtype, certainty) = (.indeterminate, nil, nil)
        case .noneBone:
            (category, subtype, certainty) = (.none, .osseousOnly, nil)
        case .none:
            (category, subtype, certainty) = (.none, nil, nil)
        }

        var recommendations: [Recommendation] = []
        let contraindicated = intracranial.csf?.contraindicated == true
        let flowDone = intracranial.csf?.flowCytometry == .positive || intracranial.csf?.flowCytometry == .negative
        if !findings.isEmpty && !csfPositive && !contraindicated && (csf == .notDone || (lepto && !flowDone)) {
            recommendations.append(.csfCytologyAndFlowCytometry)
        }
        if category == .cns && rules.first == .cnsParenchymal && certainty == .probable {
            recommendations.append(.biopsy)
        }

        self.init(
            category: category, subtype: subtype, certainty: certainty, rules: rules, recommendations: recommendations)
    }
}
