import Testing

@testable import Classification

@Suite("Therapy class (DOMAIN.md section 6)") struct TherapyTests {
    /// The lists of DOMAIN.md section 6, typed out here as the reference.
    static let novel = [
        "bortezomib", "carfilzomib", "ixazomib", "thalidomide", "lenalidomide", "pomalidomide", "daratumumab",
        "isatuximab", "elotuzumab", "selinexor", "venetoclax", "belantamab mafodotin", "teclistamab", "elranatamab",
        "talquetamab", "linvoseltamab", "idecabtagene vicleucel", "ciltacabtagene autoleucel",
    ]
    static let conventional = [
        "melphalan", "cyclophosphamide", "bendamustine", "doxorubicin", "vincristine", "cisplatin", "etoposide",
        "dexamethasone", "prednisone", "methotrexate", "cytarabine",
    ]

    @Test("agent lists: exactly the novel and conventional agents of section 6")
    func agentLists() {
        let agents = CaseRecord.Agent.allCases
        #expect(Set(agents.filter(\.isNovel).map(\.rawValue)) == Set(Self.novel))
        #expect(Set(agents.filter { !$0.isNovel }.map(\.rawValue)) == Set(Self.conventional))
    }

    @Test(
        "novel: any novel agent",
        arguments: [
            ([CaseRecord.Agent.bortezomib, .dexamethasone], [CaseRecord.Agent.bortezomib]),
            ([.melphalan, .ciltacabtageneAutoleucel, .lenalidomide], [.ciltacabtageneAutoleucel, .lenalidomide]),
        ])
    func novelClass(agents: [CaseRecord.Agent], novelAgents: [CaseRecord.Agent]) {
        let summary = Classification.Therapy(therapy: CaseRecord.Therapy(agents: agents))
        #expect(summary.therapyClass == .novel)
        #expect(summary.novelAgents == novelAgents)
    }

    @Test("conventional: agents given, none novel; none: no agent")
    func conventionalAndNone() {
        let conventional = Classification.Therapy(therapy: CaseRecord.Therapy(agents: [.melphalan, .prednisone]))
        #expect(conventional.therapyClass == .conventional)
        #expect(conventional.novelAgents.isEmpty)
        #expect(
            Classification.Therapy(therapy: CaseRecord.Therapy(agents: [], radiotherapy: true)).therapyClass == .none)
        #expect(Classification.Therapy(therapy: nil).therapyClass == .none)
    }

    @Test("radiotherapy, ASCT, intrathecal and neurosurgery are separate yes/no facts, null when not reported")
    func facts() {
        let summary = Classification.Therapy(
            therapy: CaseRecord.Therapy(agents: [.carfilzomib], radiotherapy: true, asct: false, intrathecal: nil))
        #expect(summary.radiotherapy == true)
        #expect(summary.asct == false)
        #expect(summary.intrathecal == nil)
        #expect(summary.neurosurgery == nil)
        let json = summary.toJSON()
        #expect(json["class"] == "novel")
        #expect(json["intrathecal"] == .null)
        #expect(json["asct"] == false)
    }
}

@Suite("Work-up (DOMAIN.md section 3, the letter's list)") struct WorkupTests {
    static let letterItems: [Classification.Workup.Item] = [
        .serumTotalProtein, .urineTotalProtein, .serumElectrophoresis, .urineElectrophoresis, .serumImmunofixation,
        .urineImmunofixation,
    ]
    static let allDone = CaseRecord.Workup(
        serumTotalProtein: true, urineTotalProtein: true, serumElectrophoresis: true, urineElectrophoresis: true,
        serumImmunofixation: true, urineImmunofixation: true, serumFreeLightChains: true)

    @Test("complete: every test of the letter done and CSF analysed")
    func complete() {
        let summary = Classification.Workup(workup: Self.allDone, csf: CaseRecord.CSF(cytology: .negative))
        #expect(summary.complete)
        #expect(summary.missing.isEmpty)
        #expect(summary.optionalMissing.isEmpty)
    }

    @Test("nothing reported: all six tests and the CSF analysis are missing")
    func nothing() {
        let summary = Classification.Workup(workup: nil, csf: nil)
        #expect(!summary.complete)
        #expect(summary.missing == Self.letterItems + [.csfAnalysis])
        #expect(summary.optionalMissing == [.serumFreeLightChains])
    }

    @Test("CSF analysis not counted when contraindicated; CSF marked not_done counts as missing")
    func csf() {
        #expect(Classification.Workup(workup: Self.allDone, csf: CaseRecord.CSF(contraindicated: true)).complete)
        let notDone = Classification.Workup(
            workup: Self.allDone, csf: CaseRecord.CSF(cytology: .notDone, flowCytometry: .notDone))
        #expect(notDone.missing == [.csfAnalysis])
        #expect(Classification.Workup(workup: Self.allDone, csf: CaseRecord.CSF(flowCytometry: .positive)).complete)
    }

    @Test("a test marked false is missing; serum free light chains are optional")
    func falseAndOptional() {
        var workup = Self.allDone
        workup.urineImmunofixation = false
        workup.serumFreeLightChains = false
        let summary = Classification.Workup(workup: workup, csf: CaseRecord.CSF(cytology: .negative))
        #expect(summary.missing == [.urineImmunofixation])
        #expect(summary.optionalMissing == [.serumFreeLightChains])

        workup.urineImmunofixation = true
        let onlyFLC = Classification.Workup(workup: workup, csf: CaseRecord.CSF(cytology: .negative))
        #expect(onlyFLC.complete)
        #expect(onlyFLC.toJSON() == ["complete": true, "missing": [], "optional_missing": ["serum_free_light_chains"]])
    }
}

@Suite("Timing of the intracranial diagnosis") struct TimingTests {
    @Test(
        "at diagnosis within 30 days either side; after that relapse/progression; earlier: before diagnosis",
        arguments: [
            ("2024-01-01", "2024-01-01", 0, Classification.Timing.Phase.atDiagnosis),
            ("2024-01-01", "2024-01-31", 30, .atDiagnosis),
            ("2024-01-01", "2024-02-01", 31, .atRelapseOrProgression),
            ("2024-01-01", "2023-12-02", -30, .atDiagnosis),
            ("2024-01-01", "2023-12-01", -31, .beforeDiagnosis),
            ("2024-03-01", "2024-02-01", -29, .atDiagnosis),  // February 2024 has 29 days
        ])
    func phase(mm: String, ic: String, days: Int, phase: Classification.Timing.Phase) {
        let timing = Classification.Timing(mmDiagnosis: date(mm), intracranialDiagnosis: date(ic))
        #expect(timing.intervalDays == days)
        #expect(timing.phase == phase)
    }

    @Test("interval in months is days / 30.4375")
    func months() {
        // 2024-01-01 to 2025-05-02: 366 + 121 = 487 days = 16 * 30.4375.
        let timing = Classification.Timing(mmDiagnosis: date("2024-01-01"), intracranialDiagnosis: date("2025-05-02"))
        #expect(timing.intervalDays == 487)
        #expect(timing.intervalMonths == 16)
        #expect(timing.toJSON() == ["phase": "at_relapse_or_progression", "interval_days": 487, "interval_months": 16])
    }
}
