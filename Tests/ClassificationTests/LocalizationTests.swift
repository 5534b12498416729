import Testing

@testable import Classification

/// One row of DOMAIN.md section 3: inputs and the expected localization, written from the text.
struct LocalizationCase: CustomTestStringConvertible, Sendable {
    let name: String
    let findings: [CaseRecord.ImagingFinding]
    var cytology: CaseRecord.CSFResult? = nil
    var flow: CaseRecord.CSFResult? = nil
    var contraindicated: Bool? = nil
    var biopsy: CaseRecord.Biopsy? = nil
    let category: Classification.Localization.Category
    let subtype: Classification.Localization.Subtype?
    let certainty: Classification.Localization.Certainty?
    let rules: [Classification.Localization.Rule]
    var recommendations: [Classification.Localization.Recommendation] = []

    var testDescription: String { name }

    var intracranial: CaseRecord.Intracranial {
        CaseRecord.Intracranial(
            diagnosisDate: date("2024-01-10"), imaging: CaseRecord.Imaging(findings: findings),
            csf: cytology == nil && flow == nil && contraindicated == nil
                ? nil : CaseRecord.CSF(cytology: cytology, flowCytometry: flow, contraindicated: contraindicated),
            biopsy: biopsy)
    }

    func check() {
        let result = Classification.Localization(intracranial: intracranial)
        #expect(result.category == category, "\(name)")
        #expect(result.subtype == subtype, "\(name)")
        #expect(result.certainty == certainty, "\(name)")
        #expect(result.rules == rules, "\(name)")
        #expect(result.recommendations == recommendations, "\(name)")
    }
}

private let csf = Classification.Localization.Recommendation.csfCytologyAndFlowCytometry
private let biopsy = Classification.Localization.Recommendation.biopsy

@Suite("Localization (DOMAIN.md section 3)") struct LocalizationTests {
    @Test(
        "CNS-CSF: a positive CSF is CNS leptomeningeal, confirmed",
        arguments: [
            LocalizationCase(
                name: "positive cytology", findings: [.leptomeningealEnhancement], cytology: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF]),
            LocalizationCase(
                name: "positive flow cytometry, negative cytology", findings: [.leptomeningealEnhancement],
                cytology: .negative, flow: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF]),
            LocalizationCase(
                name: "positive CSF without any imaging finding", findings: [], flow: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF]),
        ])
    func cnsCSF(_ row: LocalizationCase) { row.check() }

    @Test(
        "CNS-CSF precedence: CSF positive with an osteodural lesion is CNS",
        arguments: [
            LocalizationCase(
                name: "skull base lesion with dura, flow positive", findings: [.skullBaseLesion, .duralInvolvement],
                flow: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF, .odBone]),
            LocalizationCase(
                name: "para-osseous mass with leptomeningeal enhancement, cytology positive",
                findings: [.paraOsseousMass, .leptomeningealEnhancement], cytology: .positive,
                // OD-LEPTO and IND-LEPTO need a CSF that is not positive.
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF, .odBone]),
            LocalizationCase(
                name: "primary dural with parenchymal lesion and positive CSF",
                findings: [.duralInvolvement, .intraparenchymalLesion], cytology: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed,
                rules: [.cnsCSF, .cnsParenchymal, .odDura]),
        ])
    func cnsCSFPrecedence(_ row: LocalizationCase) { row.check() }

    @Test(
        "CNS-PAR: an intraparenchymal lesion is CNS; confirmed only by a parenchymal biopsy",
        arguments: [
            LocalizationCase(
                name: "imaging only, CSF not done", findings: [.intraparenchymalLesion],
                category: .cns, subtype: .intraparenchymal, certainty: .probable, rules: [.cnsParenchymal],
                recommendations: [csf, biopsy]),
            LocalizationCase(
                name: "parenchymal biopsy with plasma-cell infiltrate, CSF negative",
                findings: [.intraparenchymalLesion],
                cytology: .negative, flow: .negative,
                biopsy: CaseRecord.Biopsy(site: .parenchyma, plasmaCellInfiltrate: true),
                category: .cns, subtype: .intraparenchymal, certainty: .confirmed, rules: [.cnsParenchymal]),
            LocalizationCase(
                name: "parenchymal biopsy without infiltrate", findings: [.intraparenchymalLesion], cytology: .negative,
                biopsy: CaseRecord.Biopsy(site: .parenchyma, plasmaCellInfiltrate: false),
                category: .cns, subtype: .intraparenchymal, certainty: .probable, rules: [.cnsParenchymal],
                recommendations: [biopsy]),
            LocalizationCase(
                name: "dural biopsy with infiltrate does not confirm a parenchymal lesion",
                findings: [.intraparenchymalLesion], cytology: .negative,
                biopsy: CaseRecord.Biopsy(site: .dura, plasmaCellInfiltrate: true),
                category: .cns, subtype: .intraparenchymal, certainty: .probable, rules: [.cnsParenchymal],
                recommendations: [biopsy]),
            LocalizationCase(
                name: "parenchymal lesion beats an osteodural lesion",
                findings: [.intraparenchymalLesion, .skullVaultLesion, .duralInvolvement],
                cytology: .negative,
                category: .cns, subtype: .intraparenchymal, certainty: .probable, rules: [.cnsParenchymal, .odBone],
                recommendations: [biopsy]),
            LocalizationCase(
                name: "CSF contraindicated: no CSF recommendation", findings: [.intraparenchymalLesion],
                contraindicated: true,
                category: .cns, subtype: .intraparenchymal, certainty: .probable, rules: [.cnsParenchymal],
                recommendations: [biopsy]),
        ])
    func cnsParenchymal(_ row: LocalizationCase) { row.check() }

    @Test(
        "OD-BONE: a skull lesion with dura or a para-osseous mass is osteodural",
        arguments: [
            LocalizationCase(
                name: "vault lesion with dura, CSF negative", findings: [.skullVaultLesion, .duralInvolvement],
                cytology: .negative,
                category: .od, subtype: .osteodural, certainty: .confirmed, rules: [.odBone]),
            LocalizationCase(
                name: "para-osseous mass alone implies a skull lesion", findings: [.paraOsseousMass], flow: .negative,
                category: .od, subtype: .osteodural, certainty: .confirmed, rules: [.odBone]),
            LocalizationCase(
                name: "skull base lesion with para-osseous mass, CSF not done: probable",
                findings: [.skullBaseLesion, .paraOsseousMass],
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone], recommendations: [csf]),
            LocalizationCase(
                name: "CSF explicitly not done counts as not done", findings: [.skullBaseLesion, .duralInvolvement],
                cytology: .notDone, flow: .notDone,
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone], recommendations: [csf]),
            LocalizationCase(
                name: "cranial nerve involvement with an OD lesion stays OD",
                findings: [.skullBaseLesion, .duralInvolvement, .cranialNerveInvolvement], cytology: .negative,
                category: .od, subtype: .osteodural, certainty: .confirmed, rules: [.odBone]),
        ])
    func odBone(_ row: LocalizationCase) { row.check() }

    @Test(
        "OD-DURA: dural involvement without a skull lesion is primary dural",
        arguments: [
            LocalizationCase(
                name: "dura only, CSF negative", findings: [.duralInvolvement], cytology: .negative,
                category: .od, subtype: .primaryDural, certainty: .confirmed, rules: [.odDura]),
            LocalizationCase(
                name: "dura with orbital lesion, CSF not done", findings: [.duralInvolvement, .orbitalLesion],
                category: .od, subtype: .primaryDural, certainty: .probable, rules: [.odDura], recommendations: [csf]),
            LocalizationCase(
                name: "CSF not done but contraindicated", findings: [.duralInvolvement], contraindicated: true,
                category: .od, subtype: .primaryDural, certainty: .probable, rules: [.odDura]),
        ])
    func odDura(_ row: LocalizationCase) { row.check() }

    @Test(
        "OD-LEPTO: leptomeningeal enhancement with an OD finding and CSF not positive is OD, always probable",
        arguments: [
            LocalizationCase(
                name: "the letter's case: para-osseous mass, negative cytology, flow not done",
                findings: [.paraOsseousMass, .leptomeningealEnhancement], cytology: .negative, flow: .notDone,
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone, .odLepto],
                recommendations: [csf]),
            LocalizationCase(
                name: "letter's case with flow cytometry left out",
                findings: [.skullBaseLesion, .paraOsseousMass, .leptomeningealEnhancement],
                cytology: .negative,
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone, .odLepto],
                recommendations: [csf]),
            LocalizationCase(
                name: "negative cytology and flow: still probable, no CSF recommendation",
                findings: [.paraOsseousMass, .leptomeningealEnhancement], cytology: .negative, flow: .negative,
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone, .odLepto]),
            LocalizationCase(
                name: "primary dural with leptomeningeal enhancement takes the OD-DURA subtype",
                findings: [.duralInvolvement, .leptomeningealEnhancement], flow: .negative,
                category: .od, subtype: .primaryDural, certainty: .probable, rules: [.odDura, .odLepto]),
            LocalizationCase(
                name: "letter's case with CSF contraindicated",
                findings: [.paraOsseousMass, .leptomeningealEnhancement],
                contraindicated: true,
                category: .od, subtype: .osteodural, certainty: .probable, rules: [.odBone, .odLepto]),
        ])
    func odLepto(_ row: LocalizationCase) { row.check() }

    @Test(
        "IND-LEPTO: leptomeningeal enhancement without an OD finding is suspected leptomeningeal",
        arguments: [
            LocalizationCase(
                name: "enhancement alone, CSF negative on both", findings: [.leptomeningealEnhancement],
                cytology: .negative, flow: .negative,
                category: .indeterminate, subtype: .suspectedLeptomeningeal, certainty: nil,
                rules: [.indeterminateLepto]),
            LocalizationCase(
                name: "enhancement alone, cytology negative, flow not done", findings: [.leptomeningealEnhancement],
                cytology: .negative,
                category: .indeterminate, subtype: .suspectedLeptomeningeal, certainty: nil,
                rules: [.indeterminateLepto],
                recommendations: [csf]),
            LocalizationCase(
                name: "a skull lesion without dura or para-osseous mass is no OD finding",
                findings: [.skullVaultLesion, .leptomeningealEnhancement], flow: .negative,
                category: .indeterminate, subtype: .suspectedLeptomeningeal, certainty: nil,
                rules: [.indeterminateLepto]),
            LocalizationCase(
                name: "with cranial nerve involvement both indeterminate rules fire",
                findings: [.leptomeningealEnhancement, .cranialNerveInvolvement],
                category: .indeterminate, subtype: .suspectedLeptomeningeal, certainty: nil,
                rules: [.indeterminateLepto, .indeterminateOther], recommendations: [csf]),
        ])
    func indeterminateLepto(_ row: LocalizationCase) { row.check() }

    @Test(
        "IND-OTHER: cranial nerve or orbital involvement with no CNS or OD finding",
        arguments: [
            LocalizationCase(
                name: "orbital lesion, CSF not done", findings: [.orbitalLesion],
                category: .indeterminate, subtype: nil, certainty: nil, rules: [.indeterminateOther],
                recommendations: [csf]),
            LocalizationCase(
                name: "cranial nerve with a skull base lesion is beyond the bone",
                findings: [.cranialNerveInvolvement, .skullBaseLesion], cytology: .negative,
                category: .indeterminate, subtype: nil, certainty: nil, rules: [.indeterminateOther]),
            LocalizationCase(
                name: "not with a CNS finding", findings: [.orbitalLesion, .intraparenchymalLesion],
                cytology: .negative,
                biopsy: CaseRecord.Biopsy(site: .parenchyma, plasmaCellInfiltrate: true),
                category: .cns, subtype: .intraparenchymal, certainty: .confirmed, rules: [.cnsParenchymal]),
        ])
    func indeterminateOther(_ row: LocalizationCase) { row.check() }

    @Test(
        "NONE-BONE: skull lesions only, nothing beyond the bone",
        arguments: [
            LocalizationCase(
                name: "vault and base lesions, CSF not done", findings: [.skullVaultLesion, .skullBaseLesion],
                category: .none, subtype: .osseousOnly, certainty: nil, rules: [.noneBone], recommendations: [csf]),
            LocalizationCase(
                name: "vault lesion, CSF negative", findings: [.skullVaultLesion], cytology: .negative,
                category: .none, subtype: .osseousOnly, certainty: nil, rules: [.noneBone]),
            LocalizationCase(
                name: "a positive CSF is beyond the bone", findings: [.skullVaultLesion], cytology: .positive,
                category: .cns, subtype: .leptomeningeal, certainty: .confirmed, rules: [.cnsCSF]),
        ])
    func noneBone(_ row: LocalizationCase) { row.check() }

    @Test(
        "NONE: no intracranial finding",
        arguments: [
            LocalizationCase(
                name: "no finding, CSF not done: nothing to recommend", findings: [],
                category: .none, subtype: nil, certainty: nil, rules: [.none]),
            LocalizationCase(
                name: "no finding, CSF negative", findings: [], cytology: .negative,
                category: .none, subtype: nil, certainty: nil, rules: [.none]),
        ])
    func none(_ row: LocalizationCase) { row.check() }

    /// Every combination of the eight findings with each CSF state: some rule fires, rules come in
    /// precedence order, and the first one decides the category as the table says.
    @Test("rules: every input fires at least one rule, in precedence order, the first deciding")
    func everyCombination() {
        let all = CaseRecord.ImagingFinding.allCases
        let expectedCategory: [Classification.Localization.Rule: Classification.Localization.Category] = [
            .cnsCSF: .cns, .cnsParenchymal: .cns, .odBone: .od, .odDura: .od, .odLepto: .od,
            .indeterminateLepto: .indeterminate, .indeterminateOther: .indeterminate, .noneBone: .none, .none: .none,
        ]
        var failures: [String] = []
        for mask in 0..<(1 << all.count) {
            let findings = all.indices.filter { mask & (1 << $0) != 0 }.map { all[$0] }
            for cytology in [CaseRecord.CSFResult.positive, .negative, .notDone] {
                let result = Classification.Localization(
                    intracranial: CaseRecord.Intracranial(
                        diagnosisDate: date("2024-01-10"), imaging: CaseRecord.Imaging(findings: findings),
                        csf: CaseRecord.CSF(cytology: cytology)))
                let ok =
                    !result.rules.isEmpty && result.rules == result.rules.sorted()
                    && expectedCategory[result.rules[0]] == result.category
                    && (result.category == .cns)
                        == (cytology == .positive || findings.contains(.intraparenchymalLesion))
                    && (result.certainty == nil) == (result.category == .indeterminate || result.category == .none)
                    && (result.rules.contains(.odLepto)
                        ? result.certainty == .probable || result.category == .cns : true)
                if !ok { failures.append("\(findings.map(\.rawValue)) \(cytology)") }
            }
        }
        #expect(failures.isEmpty)
    }

    @Test("recommendations are short sentences naming the action")
    func recommendationSentences() {
        #expect(
            Classification.Localization.Recommendation.csfCytologyAndFlowCytometry.sentence.contains("flow cytometry"))
        #expect(Classification.Localization.Recommendation.csfCytologyAndFlowCytometry.sentence.contains("cytology"))
        #expect(Classification.Localization.Recommendation.biopsy.sentence.lowercased().contains("biopsy"))
    }
}
