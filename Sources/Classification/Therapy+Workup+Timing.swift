extension Classification {
    /// Therapy class and the yes/no treatment facts (DOMAIN.md section 6; the novel-versus-conventional
    /// comparison of Gozzetti et al., Cancer 2012: median OS 25 versus 8 months).
    public struct Therapy: Sendable, Hashable {
        public enum Class: String, Sendable, Hashable, CaseIterable, Codable {
            case novel, conventional, none
        }

        /// `novel` if any novel agent was given, else `conventional` if any agent was given, else
        /// `none`. An absent agent list counts as no agent (DOMAIN.md section 6 has no "unknown").
        public let therapyClass: Class
        /// The novel agents given, in submitted order.
        public let novelAgents: [CaseRecord.Agent]
        /// nil when the case does not say.
        public let radiotherapy: Bool?
        public let asct: Bool?
        public let intrathecal: Bool?
        public let neurosurgery: Bool?

        public init(therapy: CaseRecord.Therapy?) {
            let agents = therapy?.agents ?? []
            novelAgents = agents.filter(\.isNovel)
            therapyClass = !novelAgents.isEmpty ? .novel : (agents.isEmpty ? .none : .conventional)
            radiotherapy = therapy?.radiotherapy
            asct = therapy?.asct
            intrathecal = therapy?.intrathecal
            neurosurgery = therapy?.neurosurgery
        }
    }

    /// Which parts of the letter's diagnostic work-up a case lacks (DOMAIN.md section 3, "Diagnostic
    /// work-up"; the source letter: serum and urine total protein and electrophoresis, serum and urine
    /// immunofixation and, if not contraindicated, CSF analysis).
    ///
    /// Serum free light chains are "commonly added", not part of the letter's list: when not done
    /// they are listed in `optionalMissing` and do not make the work-up incomplete.
    /// A test counts as done only when the case says `true`; absent is not done. CSF analysis counts
    /// as done when cytology or flow cytometry has a result (positive or negative), and is not
    /// required when `csf.contraindicated` is true. The work-up is assessed for every case,
    /// including those without an intracranial finding.
    public struct Workup: Sendable, Hashable {
        public enum Item: String, Sendable, Hashable, CaseIterable, Codable {
            case serumTotalProtein = "serum_total_protein"
            case urineTotalProtein = "urine_total_protein"
            case serumElectrophoresis = "serum_electrophoresis"
            case urineElectrophoresis = "urine_electrophoresis"
            case serumImmunofixation = "serum_immunofixation"
            case urineImmunofixation = "urine_immunofixation"
            case csfAnalysis = "csf_analysis"
            case serumFreeLightChains = "serum_free_light_chains"
        }

        public var complete: Bool { missing.isEmpty }
        /// Required items not done, in the letter's order.
        public let missing: [Item]
        /// Optional items not done (serum free light chains).
        public let optionalMissing: [Item]

        public init(workup: CaseRecord.Workup?, csf: CaseRecord.CSF?) {
            var missing: [Item] = []
            let required: [(Item, Bool?)] = [
                (.serumTotalProtein, workup?.serumTotalProtein), (.urineTotalProtein, workup?.urineTotalProtein),
                (.serumElectrophoresis, workup?.serumElectrophoresis),
                (.urineElectrophoresis, workup?.urineElectrophoresis),
                (.serumImmunofixation, workup?.serumImmunofixation),
                (.urineImmunofixation, workup?.urineImmunofixation),
            ]
            for (item, done) in required where done != true { missing.append(item) }
            if csf?.contraindicated != true, CSFStatus(csf) == .notDone { missing.append(.csfAnalysis) }
            self.missing = missing
            self.optionalMissing = workup?.serumFreeLightChains == true ? [] : [.serumFreeLightChains]
        }
    }

    /// When the intracranial disease appeared relative to the myeloma diagnosis (DOMAIN.md section 2:
    /// Gozzetti 2012 and Jurczyszyn 2016 distinguish CNS involvement at diagnosis from involvement at
    /// relapse; the 30-day window is the registry's).
    public struct Timing: Sendable, Hashable {
        public enum Phase: String, Sendable, Hashable, CaseIterable, Codable {
            /// Within 30 days of the myeloma diagnosis, either direction.
            case atDiagnosis = "at_mm_diagnosis"
            /// More than 30 days after the myeloma diagnosis.
            case atRelapseOrProgression = "at_relapse_or_progression"
            /// More than 30 (and at most 365) days before the myeloma diagnosis: the intracranial mass
            /// was found first and led to the diagnosis, as the letter describes. Neither "at
            /// diagnosis" by the 30-day window nor a relapse, so it has its own value.
            case beforeDiagnosis = "before_mm_diagnosis"
        }

        /// Days from the myeloma diagnosis to the intracranial diagnosis (negative: intracranial first).
        public let intervalDays: Int
        public let phase: Phase

        /// `intervalDays / 30.4375` (DOMAIN.md section 7).
        public var intervalMonths: Double { Double(intervalDays) / 30.4375 }

        /// The window around the myeloma diagnosis that counts as "at diagnosis", in days.
        public static let atDiagnosisWindowDays = 30

        public init(mmDiagnosis: CalendarDate, intracranialDiagnosis: CalendarDate) {
            intervalDays = intracranialDiagnosis.daysSince(mmDiagnosis)
            if abs(intervalDays) <= Self.atDiagnosisWindowDays {
                phase = .atDiagnosis
            } else {
                phase = intervalDays > 0 ? .atRelapseOrProgression : .beforeDiagnosis
            }
        }
    }
}
