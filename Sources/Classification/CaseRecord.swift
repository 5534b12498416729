/// One case in the registry's data-dictionary format, version 1 (DOMAIN.md section 9), after validation.
///
/// Build it with `CaseRecord.validate(_:today:)`, the one validator that the registry and
/// `POST /v1/classify` share. Optional fields are nil when the submitted JSON left them out;
/// `toJSON()` turns the record back into its canonical JSON form.
///
/// Arrays of enum values are sets by meaning (a finding is present or not, an agent was given or
/// not): the validator drops repeated entries, keeping the first occurrence and the submitted order.
public struct CaseRecord: Sendable, Hashable {
    /// The site's own pseudonymous id: 1-64 of `[A-Za-z0-9._-]`.
    public var externalID: String
    public var sex: Sex
    public var birthYear: Int?
    public var mmDiagnosisDate: CalendarDate
    public var isotype: Isotype?
    public var staging: Staging?
    public var intracranial: Intracranial
    public var workup: Workup?
    public var therapy: Therapy?
    public var response: Response?
    public var outcome: Outcome?

    public init(
        externalID: String, sex: Sex, birthYear: Int? = nil, mmDiagnosisDate: CalendarDate,
        isotype: Isotype? = nil, staging: Staging? = nil, intracranial: Intracranial,
        workup: Workup? = nil, therapy: Therapy? = nil, response: Response? = nil, outcome: Outcome? = nil
    ) {
        self.externalID = externalID
        self.sex = sex
        self.birthYear = birthYear
        self.mmDiagnosisDate = mmDiagnosisDate
        self.isotype = isotype
        self.staging = staging
        self.intracranial = intracranial
        self.workup = workup
        self.therapy = therapy
        self.response = response
        self.outcome = outcome
    }

    public enum Sex: String, Sendable, Hashable, CaseIterable, Codable {
        case female, male, unknown
    }

    public struct Isotype: Sendable, Hashable {
        public var heavyChain: HeavyChain?
        public var lightChain: LightChain?
        public init(heavyChain: HeavyChain? = nil, lightChain: LightChain? = nil) {
            self.heavyChain = heavyChain
            self.lightChain = lightChain
        }
    }

    public enum HeavyChain: String, Sendable, Hashable, CaseIterable, Codable {
        case igG = "IgG"
        case igA = "IgA"
        case igD = "IgD"
        case igM = "IgM"
        case igE = "IgE"
        case lightChainOnly = "light_chain_only"
        case nonSecretory = "non_secretory"
    }

    public enum LightChain: String, Sendable, Hashable, CaseIterable, Codable {
        case kappa, lambda
    }

    /// Staging inputs at myeloma diagnosis (DOMAIN.md section 5).
    public struct Staging: Sendable, Hashable {
        public var beta2MicroglobulinMgL: Double?
        public var albuminGDl: Double?
        public var ldhElevated: Bool?
        /// FISH abnormalities found. nil: FISH not reported (unknown); empty: done, none found.
        public var fish: [FISHAbnormality]?
        public init(
            beta2MicroglobulinMgL: Double? = nil, albuminGDl: Double? = nil, ldhElevated: Bool? = nil,
            fish: [FISHAbnormality]? = nil
        ) {
            self.beta2MicroglobulinMgL = beta2MicroglobulinMgL
            self.albuminGDl = albuminGDl
            self.ldhElevated = ldhElevated
            self.fish = fish
        }
    }

    public enum FISHAbnormality: String, Sendable, Hashable, CaseIterable, Codable {
        case del17p
        case t4_14 = "t(4;14)"
        case t14_16 = "t(14;16)"
        case gain1q
        case del13q
        case t11_14 = "t(11;14)"
        case del1p

        /// The high-risk abnormalities of the R-ISS (Palumbo et al., JCO 2015): del(17p), t(4;14), t(14;16).
        public var isRISSHighRisk: Bool { self == .del17p || self == .t4_14 || self == .t14_16 }
    }

    public struct Intracranial: Sendable, Hashable {
        public var diagnosisDate: CalendarDate
        /// Lines of therapy before the intracranial diagnosis, 0-20.
        public var priorLines: Int?
        public var imaging: Imaging
        public var csf: CSF?
        public var biopsy: Biopsy?
        public init(
            diagnosisDate: CalendarDate, priorLines: Int? = nil, imaging: Imaging, csf: CSF? = nil,
            biopsy: Biopsy? = nil
        ) {
            self.diagnosisDate = diagnosisDate
            self.priorLines = priorLines
            self.imaging = imaging
            self.csf = csf
            self.biopsy = biopsy
        }
    }

    public struct Imaging: Sendable, Hashable {
        public var modalities: [ImagingModality]?
        /// Required, may be empty (no intracranial finding).
        public var findings: [ImagingFinding]
        public init(modalities: [ImagingModality]? = nil, findings: [ImagingFinding]) {
            self.modalities = modalities
            self.findings = findings
        }
    }

    public enum ImagingModality: String, Sendable, Hashable, CaseIterable, Codable {
        case mri, ct
        case petCT = "pet_ct"
    }

    /// Intracranial imaging findings (DOMAIN.md section 3).
    public enum ImagingFinding: String, Sendable, Hashable, CaseIterable, Codable {
        case skullVaultLesion = "skull_vault_lesion"
        case skullBaseLesion = "skull_base_lesion"
        /// Dural thickening or a dural-based mass.
        case duralInvolvement = "dural_involvement"
        /// A soft-tissue mass growing out of skull bone (so it implies a skull lesion).
        case paraOsseousMass = "para_osseous_mass"
        case leptomeningealEnhancement = "leptomeningeal_enhancement"
        case intraparenchymalLesion = "intraparenchymal_lesion"
        case cranialNerveInvolvement = "cranial_nerve_involvement"
        case orbitalLesion = "orbital_lesion"
    }

    public struct CSF: Sendable, Hashable {
        public var cytology: CSFResult?
        public var flowCytometry: CSFResult?
        public var contraindicated: Bool?
        public init(cytology: CSFResult? = nil, flowCytometry: CSFResult? = nil, contraindicated: Bool? = nil) {
            self.cytology = cytology
            self.flowCytometry = flowCytometry
            self.contraindicated = contraindicated
        }
    }

    public enum CSFResult: String, Sendable, Hashable, CaseIterable, Codable {
        case positive, negative
        case notDone = "not_done"
    }

    public struct Biopsy: Sendable, Hashable {
        public var site: BiopsySite?
        public var plasmaCellInfiltrate: Bool?
        public init(site: BiopsySite? = nil, plasmaCellInfiltrate: Bool? = nil) {
            self.site = site
            self.plasmaCellInfiltrate = plasmaCellInfiltrate
        }
    }

    public enum BiopsySite: String, Sendable, Hashable, CaseIterable, Codable {
        case parenchyma, dura, bone
    }

    /// The diagnostic work-up of the source letter: true = done, false = not done.
    public struct Workup: Sendable, Hashable {
        public var serumTotalProtein: Bool?
        public var urineTotalProtein: Bool?
        public var serumElectrophoresis: Bool?
        public var urineElectrophoresis: Bool?
        public var serumImmunofixation: Bool?
        public var urineImmunofixation: Bool?
        public var serumFreeLightChains: Bool?
        public init(
            serumTotalProtein: Bool? = nil, urineTotalProtein: Bool? = nil, serumElectrophoresis: Bool? = nil,
            urineElectrophoresis: Bool? = nil, serumImmunofixation: Bool? = nil, urineImmunofixation: Bool? = nil,
            serumFreeLightChains: Bool? = nil
        ) {
            self.serumTotalProtein = serumTotalProtein
            self.urineTotalProtein = urineTotalProtein
            self.serumElectrophoresis = serumElectrophoresis
            self.urineElectrophoresis = urineElectrophoresis
            self.serumImmunofixation = serumImmunofixation
            self.urineImmunofixation = urineImmunofixation
            self.serumFreeLightChains = serumFreeLightChains
        }
    }

    public struct Therapy: Sendable, Hashable {
        public var agents: [Agent]?
        public var radiotherapy: Bool?
        public var asct: Bool?
        public var intrathecal: Bool?
        public var neurosurgery: Bool?
        public init(
            agents: [Agent]? = nil, radiotherapy: Bool? = nil, asct: Bool? = nil, intrathecal: Bool? = nil,
            neurosurgery: Bool? = nil
        ) {
            self.agents = agents
            self.radiotherapy = radiotherapy
            self.asct = asct
            self.intrathecal = intrathecal
            self.neurosurgery = neurosurgery
        }
    }

    /// The agents of DOMAIN.md section 6, spelled as there (lower case, words separated by a space).
    public enum Agent: String, Sendable, Hashable, CaseIterable, Codable {
        // Novel agents.
        case bortezomib, carfilzomib, ixazomib, thalidomide, lenalidomide, pomalidomide
        case daratumumab, isatuximab, elotuzumab, selinexor, venetoclax
        case belantamabMafodotin = "belantamab mafodotin"
        case teclistamab, elranatamab, talquetamab, linvoseltamab
        case idecabtageneVicleucel = "idecabtagene vicleucel"
        case ciltacabtageneAutoleucel = "ciltacabtagene autoleucel"
        // Conventional agents.
        case melphalan, cyclophosphamide, bendamustine, doxorubicin, vincristine, cisplatin, etoposide
        case dexamethasone, prednisone, methotrexate, cytarabine

        /// Whether DOMAIN.md section 6 lists the agent as novel (proteasome inhibitors, IMiDs,
        /// antibodies, XPO1 and BCL-2 inhibitors, bispecifics, CAR-T); the rest are conventional.
        public var isNovel: Bool {
            switch self {
            case .bortezomib, .carfilzomib, .ixazomib, .thalidomide, .lenalidomide, .pomalidomide,
                .daratumumab, .isatuximab, .elotuzumab, .selinexor, .venetoclax, .belantamabMafodotin,
                .teclistamab, .elranatamab, .talquetamab, .linvoseltamab, .idecabtageneVicleucel,
                .ciltacabtageneAutoleucel:
                true
            case .melphalan, .cyclophosphamide, .bendamustine, .doxorubicin, .vincristine, .cisplatin, .etoposide,
                .dexamethasone, .prednisone, .methotrexate, .cytarabine:
                false
            }
        }
    }

    public struct Response: Sendable, Hashable {
        /// The category the site reported.
        public var reported: ResponseCategory?
        public var baseline: ResponseAssessment?
        /// The best response assessment.
        public var best: ResponseAssessment?
        public init(
            reported: ResponseCategory? = nil, baseline: ResponseAssessment? = nil, best: ResponseAssessment? = nil
        ) {
            self.reported = reported
            self.baseline = baseline
            self.best = best
        }
    }

    /// IMWG response categories, best first (DOMAIN.md section 4).
    public enum ResponseCategory: String, Sendable, Hashable, CaseIterable, Codable {
        case sCR, CR, VGPR, PR, MR, SD, PD

        /// The source letter's comparison (Gozzetti et al., Cancer 2012): sCR, CR and VGPR against the rest.
        public var group: ResponseGroup {
            switch self {
            case .sCR, .CR, .VGPR: .crVGPR
            case .PR, .MR, .SD, .PD: .prNR
            }
        }
    }

    public enum ResponseGroup: String, Sendable, Hashable, CaseIterable, Codable {
        case crVGPR = "CR+VGPR"
        case prNR = "PR+NR"
    }

    /// Laboratory and imaging values at one assessment. Units as in DOMAIN.md section 4.
    public struct ResponseAssessment: Sendable, Hashable {
        public var serumMProteinGDl: Double?
        public var urineMProteinMg24h: Double?
        public var involvedFLCMgL: Double?
        public var uninvolvedFLCMgL: Double?
        public var flcRatioNormal: Bool?
        public var serumImmunofixation: Immunofixation?
        public var urineImmunofixation: Immunofixation?
        public var boneMarrowPlasmaCellsPct: Double?
        public var clonalPlasmaCellsInMarrow: Bool?
        public var plasmacytoma: Plasmacytoma?
        public init(
            serumMProteinGDl: Double? = nil, urineMProteinMg24h: Double? = nil, involvedFLCMgL: Double? = nil,
            uninvolvedFLCMgL: Double? = nil, flcRatioNormal: Bool? = nil, serumImmunofixation: Immunofixation? = nil,
            urineImmunofixation: Immunofixation? = nil, boneMarrowPlasmaCellsPct: Double? = nil,
            clonalPlasmaCellsInMarrow: Bool? = nil, plasmacytoma: Plasmacytoma? = nil
        ) {
            self.serumMProteinGDl = serumMProteinGDl
            self.urineMProteinMg24h = urineMProteinMg24h
            self.involvedFLCMgL = involvedFLCMgL
            self.uninvolvedFLCMgL = uninvolvedFLCMgL
            self.flcRatioNormal = flcRatioNormal
            self.serumImmunofixation = serumImmunofixation
            self.urineImmunofixation = urineImmunofixation
            self.boneMarrowPlasmaCellsPct = boneMarrowPlasmaCellsPct
            self.clonalPlasmaCellsInMarrow = clonalPlasmaCellsInMarrow
            self.plasmacytoma = plasmacytoma
        }

        /// Involved minus uninvolved free light chain (dFLC), mg/L, when both are given.
        public var dFLCMgL: Double? {
            guard let involved = involvedFLCMgL, let uninvolved = uninvolvedFLCMgL else { return nil }
            return involved - uninvolved
        }
    }

    public enum Immunofixation: String, Sendable, Hashable, CaseIterable, Codable {
        case positive, negative
    }

    public enum Plasmacytoma: String, Sendable, Hashable, CaseIterable, Codable {
        case none, present
        case reduced50 = "reduced_50"
        case disappeared
    }

    public struct Outcome: Sendable, Hashable {
        /// First progression after the intracranial diagnosis.
        public var progressionDate: CalendarDate?
        public var deathDate: CalendarDate?
        /// Required unless `deathDate` is set.
        public var lastFollowupDate: CalendarDate?
        public init(
            progressionDate: CalendarDate? = nil, deathDate: CalendarDate? = nil, lastFollowupDate: CalendarDate? = nil
        ) {
            self.progressionDate = progressionDate
            self.deathDate = deathDate
            self.lastFollowupDate = lastFollowupDate
        }
    }
}
