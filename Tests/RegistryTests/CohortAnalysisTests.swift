import Classification
import Cohorts
import Foundation
import JSON
import Survival
import Testing

/// The cohort statistics without a socket: selection into subjects, suppression, the Cox design,
/// the summary and the data set, and their one JSON encoding.
@Suite struct CohortAnalysisTests {
    /// 12 OD cases (6 deaths), 3 CNS cases, 1 without a survival time.
    static let rows: [CohortRow] = {
        var rows: [CohortRow] = []
        for i in 0..<12 { rows.append(row(days: 30 * (i + 1), dead: i % 2 == 0, sex: i % 2 == 0 ? "male" : "female", birthYear: 1940 + i % 5)) }
        for i in 0..<3 { rows.append(row(days: 40 * (i + 1), dead: true, localization: "CNS", iss: nil)) }
        rows.append(row(days: -5, dead: true))
        return rows
    }()

    @Test func smallGroupsReportOnlyTheirSize() throws {
        let analysis = CohortAnalysis(minCellSize: 5)
        let query = SurvivalQuery(selection: CohortSelection(groupBy: .localization))
        let result = try analysis.survival(query, rows: Self.rows)
        #expect(result.suppressed == [SuppressedGroup(key: "CNS", n: 3)])
        #expect(result.report?.groups.map(\.key) == ["OD"])
        #expect(result.report?.n == 12)
        #expect(result.excluded.noSurvivalTime == 1)
        let body = try JSONValue.parse(result.json(CohortContext(dataVersion: 7)))
        #expect(body["groups"]?.arrayValue?.map { $0["key"]?.stringValue } == ["CNS", "OD"])
        #expect(body["groups"]?.arrayValue?[0]["suppressed"] == true)
        #expect(body["groups"]?.arrayValue?[0]["curve"] == nil)
        #expect(body["suppression_note"]?.stringValue?.contains("fewer than 5") == true)
        #expect(body["data_version"] == 7)
        #expect(body["dropped_rows"] == nil)
        #expect(body["unit"] == "months")
    }

    @Test func noSuppressionWithMinimumZero() throws {
        let result = try CohortAnalysis(minCellSize: 0).survival(
            SurvivalQuery(selection: CohortSelection(groupBy: .localization), unit: .days), rows: Self.rows)
        #expect(result.suppressed.isEmpty)
        #expect(result.report?.groups.map(\.key) == ["CNS", "OD"])
        #expect(result.report?.groups.first?.curve.time.first == 40)
    }

    @Test func everyGroupSuppressedStillAnswers() throws {
        let result = try CohortAnalysis(minCellSize: 100).survival(SurvivalQuery(selection: CohortSelection()), rows: Self.rows)
        #expect(result.report == nil)
        let body = try JSONValue.parse(result.json(CohortContext(dataVersion: 1)))
        #expect(body["n"] == 0)
        #expect(body["median_followup"] == .null)
        #expect(body["groups"]?.arrayValue?[0]["n"] == 15)
    }

    @Test func coxIsSuppressedBelowTheMinimum() throws {
        let query = CoxQuery(selection: CohortSelection(), covariates: [.field(.sex)])
        let hidden = try CohortAnalysis(minCellSize: 20).cox(query, rows: Self.rows)
        // Both sexes are below 20: their cases leave the model, which is then empty and hidden.
        #expect(hidden.suppressed && hidden.cox == nil && hidden.n == 0)
        #expect(hidden.suppressedLevels == [SuppressedLevel(covariate: "sex", level: "female", n: 9), SuppressedLevel(covariate: "sex", level: "male", n: 6)])
        let body = try JSONValue.parse(hidden.json(CohortContext(dataVersion: 1)))
        #expect(body["cox"] == .null && body["suppressed"] == true && body["reference_levels"] == nil)

        let shown = try CohortAnalysis(minCellSize: 5).cox(
            CoxQuery(selection: CohortSelection(), covariates: [.field(.sex), .ageAtICDiagnosis]), rows: Self.rows)
        #expect(shown.referenceLevels == ["sex": "female"])
        #expect(shown.cox?.terms.map(\.term) == ["sexmale", "age_at_ic_diagnosis"])
        #expect(shown.droppedRows == 1)
        #expect(shown.suppressedLevels.isEmpty)
        // CNS (3 cases) leaves the model; localization then has one level: refused naming it.
        #expect(throws: SurvivalError.covariateHasNoVariation(term: "localization")) {
            try CohortAnalysis(minCellSize: 5).cox(
                CoxQuery(selection: CohortSelection(), covariates: [.field(.localization), .field(.sex)]), rows: Self.rows)
        }
    }

    /// The API refuses such a horizon (400); the module reports what is not finite as null, with a reason.
    @Test func aStatisticThatIsNotFiniteIsNullWithAReason() throws {
        var options = AnalysisOptions()
        options.tau = .greatestFiniteMagnitude
        let result = try CohortAnalysis(minCellSize: 5).survival(
            SurvivalQuery(selection: CohortSelection(), options: options), rows: Self.rows)
        let rmst = try #require(result.report?.groups.first?.rmst)
        try #require(!rmst.estimate.isFinite || !rmst.stdErr.isFinite, "the engine gave finite values: \(rmst)")
        let body = try JSONValue.parse(result.json(CohortContext(dataVersion: 1)))
        let written = try #require(body["groups"]?.arrayValue?.first?["rmst"])
        #expect(written["estimate"] == .null || written["std_err"] == .null)
        #expect(body["not_finite_note"]?.stringValue?.contains("reported as null") == true)
        let normal = try CohortAnalysis(minCellSize: 5).cox(CoxQuery(selection: CohortSelection(), covariates: [.field(.sex)]), rows: Self.rows)
        #expect(try JSONValue.parse(normal.json(CohortContext(dataVersion: 1)))["not_finite_note"] == nil)
    }

    @Test func formulaLikeTextCellsGetAnApostrophe() {
        var rows = [row(days: 10, dead: true, site: "-2-3"), row(days: 20, dead: false, site: "@x"), row(days: 30, dead: true, site: "A.b")]
        rows += (0..<3).map { row(days: 40 + $0, dead: true, site: "=cmd") }
        let csv = CohortAnalysis(minCellSize: 0).datasetCSV(DatasetQuery(selection: CohortSelection()), rows: rows)
        #expect(csv.contains(",\"'-2-3\",") && csv.contains(",\"'@x\",") && csv.contains(",\"'=cmd\",") && csv.contains(",\"A.b\","))
        // Numeric columns are untouched.
        #expect(csv.split(separator: "\n")[1].hasPrefix("10,0.32854209445585214,1,"))
    }

    @Test func summaryCountsPerGroup() throws {
        let result = try CohortAnalysis(minCellSize: 5).summary(CohortSelection(groupBy: .localization), rows: Self.rows)
        #expect(result.n == 16)
        guard case .suppressed(let cns) = result.groups[0], case .shown(let od) = result.groups[1] else {
            Issue.record("expected CNS suppressed, OD shown")
            return
        }
        #expect(cns.n == 3)
        #expect(od.n == 13 && od.deaths == 7)
        #expect(od.distributions[.iss] == ["1": 13])
        #expect(od.medianAgeAtICDiagnosis == 78)
        let body = try JSONValue.parse(result.json(CohortContext(dataVersion: 2)))
        #expect(body["groups"]?.arrayValue?[1]["therapy_class"]?["novel"] == 13)
    }

    @Test func datasetLeavesOutSuppressedGroupsAndSortsRows() {
        let csv = CohortAnalysis(minCellSize: 5).datasetCSV(
            DatasetQuery(selection: CohortSelection(groupBy: .localization)), rows: Self.rows)
        let lines = csv.split(separator: "\n")
        #expect(lines.first?.hasPrefix("time_days,time_months,status,localization,") == true)
        #expect(lines.count == 13)
        #expect(!csv.contains("\"CNS\""))
        let times = lines.dropFirst().map { Double($0.split(separator: ",")[0])! }
        #expect(times == times.sorted())
    }

    @Test func vocabulariesComeFromClassification() {
        #expect(CohortField.localization.allowedValues == ["OD", "CNS", "indeterminate", "none"])
        #expect(CohortField.responseGroup.allowedValues == ["CR+VGPR", "PR+NR"])
        #expect(CohortField.therapyClass.allowedValues == ["novel", "conventional", "none"])
        #expect(CohortField.sex.allowedValues == ["female", "male", "unknown"])
        #expect(CohortField.iss.allowedValues == ["1", "2", "3"])
        #expect(CohortField.site.allowedValues == nil)
        #expect(CohortCovariate(name: "age_at_ic_diagnosis") == .ageAtICDiagnosis)
        #expect(CohortCovariate(name: "sex") == .field(.sex))
        #expect(CohortCovariate(name: "weight") == nil)
    }

    @Test func survivalTimesFollowDomainSection7() {
        let r = row(days: 100, dead: false, progressionDays: 40)
        #expect(r.survivalTime(.os, origin: .icDiagnosis) == SurvivalTime(time: 100, event: false, entry: nil))
        #expect(r.survivalTime(.pfs, origin: .icDiagnosis) == SurvivalTime(time: 40, event: true, entry: nil))
        let delayed = r.survivalTime(.os, origin: .mmDiagnosis)
        #expect(delayed?.entry == 365 && delayed?.time == 465)
    }
}
