import Classification
import Cohorts
import Foundation
import JSON
import Registry
import Survival
import TestSupport
import Testing

/// GET /v1/cohorts/incidence on registry cases WITH progressions, against cmprsk (issue 10):
/// `Tests/APITests/Fixtures/incidence/make_incidence_fixtures.R` turns `survival::mgus2` into
/// 1384 registry cases (progression to a plasma cell malignancy, death) and computes cuminc,
/// timepoints, Gray's test and crr for each query as DOMAIN.md section 7 derives the causes. The
/// cases go in through POST /v1/imports and the answer comes out of the HTTP route, so the whole
/// path (validation, stored dates, cohort scan, causes, months, suppression, encoding) is checked.
/// Tolerances of issue 10, as the CLI's cmprsk test uses them.
@Suite struct CohortIncidenceFixtureTests {
    static let directory = repositoryRoot + "/Tests/APITests/Fixtures/incidence"

    static let expected = fixtureJSON(directory + "/expected.json")

    /// The service with every fixture case imported over HTTP, split over two sites, and an analyst key.
    static func serviceWithCases(backend: TestBackend = .sqlite) throws -> (TestService, (String, String)) {
        try serviceWithFixtureCases(directory, expected: expected, backend: backend)
    }

    @Test func theFixtureHasProgressionsAndDeaths() {
        let generator = Self.expected["generator"]
        #expect(generator?["cmprsk_version"] == "2.2.11")
        #expect(generator?["progressions"] == 115 && generator?["deaths_without_progression"] == 860)
        #expect(Self.expected["queries"]?.arrayValue?.count == 3)
    }

    @Test(arguments: TestBackend.all) func incidenceThroughTheRegistryMatchesCmprsk(backend: TestBackend) throws {
        let (service, analyst) = try Self.serviceWithCases(backend: backend)
        let queries = try #require(Self.expected["queries"]?.arrayValue)
        for fixture in queries {
            let name = fixture["name"]?.stringValue ?? "?"
            let query = try #require(fixture["query"]?.stringValue)
            let response = try service.client.get("/v1/cohorts/incidence?" + query, headers: [analyst])
            try #require(response.status == 200, "\(name): \(response.status) \(response.text.prefix(1000))")
            let body = try #require(response.jsonValue)
            #expect(body["n"] == fixture["n"], "\(name)")
            #expect(body["origin"] == "ic_diagnosis" && body["unit"] == "months", "\(name)")
            #expect(body["suppressed_groups"] == nil || body["suppressed_groups"] == [], "\(name)")
            let expected = try #require(fixture["competing_risks"]?.objectValue)
            // Something to compare: both causes have events in every fixture query.
            let groups = try #require(expected["groups"]?.arrayValue)
            #expect(groups.contains { $0["cause"] == "progression" && ($0["events"]?.integerValue ?? 0) > 10 }, "\(name)")
            for member in ["causes", "groups", "gray_test", "fine_gray"] {
                let actual = body[member]
                guard let wanted = expected[member] else {
                    #expect(actual == nil, "\(name): \(member) must be absent")
                    continue
                }
                let found = try #require(actual, "\(name): no \(member)")
                let differences = CLIAnalyzeCompetingTests.differences(found, wanted, path: "$.\(member)")
                #expect(
                    differences.isEmpty,
                    "\(name): \(differences.count) differences, first: \(differences.prefix(10).joined(separator: "\n"))")
            }
        }
    }

    /// A Fine-Gray model that does not converge is a 422 problem naming the cause and saying so
    /// (openapi: "A Fine-Gray model that does not converge ... is answered 422 naming it"); the
    /// same cohort's incidence without the model is still answered, the failure is not cached,
    /// and the other cohort routes keep working.
    @Test(arguments: TestBackend.all) func fineGrayThatDoesNotConvergeIs422NamingTheCause(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let analyst = try service.key(site: "REGISTRY", role: .analyst)
        // 20 OD cases with progressions, deaths and censoring; 20 CNS cases with deaths and
        // censoring but no progression: the progression model's localization coefficient runs
        // off to -infinity (crr says converged = FALSE on such data, as on pbc with edema).
        var lines: [String] = []
        let ic = CalendarDate(iso: "2021-09-01")!
        for i in 0..<40 {
            let cns = i >= 20
            let days = 30 + 17 * i
            let end = ic.adding(days: days)!.description
            var outcome: JSONObject = [:]
            switch (cns, i % 3) {
            case (false, 0): outcome = ["progression_date": .string(end), "last_followup_date": .string(ic.adding(days: days + 40)!.description)]
            case (_, 1): outcome = ["death_date": .string(end)]
            default: outcome = ["last_followup_date": .string(end)]
            }
            var overrides: [String: JSONValue] = ["outcome": .object(outcome), "birth_year": .number(Double(1940 + i % 17))]
            overrides["intracranial"] = [
                "diagnosis_date": .string(ic.description), "prior_lines": 1,
                "imaging": ["findings": cns ? ["intraparenchymal_lesion"] : ["skull_vault_lesion", "dural_involvement"]],
                "csf": cns ? ["cytology": "positive"] : ["cytology": "negative", "flow_cytometry": "negative"],
            ]
            lines.append(caseJSON("FG-\(i)", overrides))
        }
        let imported = try service.client.send(
            "POST", "/v1/imports", json: lines.joined(separator: "\n") + "\n", contentType: "application/x-ndjson", headers: [submitter])
        try #require(imported.status == 201, "\(imported.status) \(imported.text.prefix(1000))")

        let path = "/v1/cohorts/incidence?group_by=localization&covariates=localization"
        for attempt in 0..<2 {
            let refused = try service.client.get(path, headers: [analyst])
            #expect(refused.status == 422, "attempt \(attempt): \(refused.status) \(refused.text.prefix(500))")
            #expect(refused.header("content-type")?.hasPrefix("application/problem+json") == true)
            let problem = try #require(refused.jsonValue)
            #expect(problem["type"] == "https://icmm-registry.example/problems/not-estimable")
            #expect(problem["status"] == 422)
            let detail = problem["detail"]?.stringValue ?? ""
            #expect(detail.contains("Fine-Gray model for cause 'progression' did not converge"), "\(detail)")
            #expect(refused.header("etag") == nil, "an error is not a cacheable cohort answer")
        }

        // The cumulative incidence of the same cohort, without the model, is answered: CNS has
        // zero progressions (reported with zero events, not as an error).
        let incidence = try service.client.get("/v1/cohorts/incidence?group_by=localization", headers: [analyst])
        try #require(incidence.status == 200, "\(incidence.status) \(incidence.text.prefix(500))")
        let body = try #require(incidence.jsonValue)
        let cnsProgression = body["groups"]?.arrayValue?.first { $0["key"] == "CNS" && $0["cause"] == "progression" }
        #expect(cnsProgression?["events"] == 0 && cnsProgression?["n"] == 20)
        #expect(body["fine_gray"] == nil)
        // A model the data supports still fits, and the other routes are unaffected.
        let age = try service.client.get("/v1/cohorts/incidence?group_by=localization&covariates=age_at_ic_diagnosis", headers: [analyst])
        #expect(age.status == 200, "\(age.status) \(age.text.prefix(500))")
        #expect(age.jsonValue?["fine_gray"]?.arrayValue?.count == 2)
        #expect(try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst]).status == 200)
        #expect(try service.client.get(path, headers: [analyst]).status == 422)
    }

    /// A scan that reads only some columns (`reading:`, as the survival routes ask through
    /// `SurvivalQuery.reading`) gives the same cases, the same values of what it reads, and the
    /// same survival analysis byte for byte as the full scan; what it leaves unread is empty.
    @Test(arguments: TestBackend.all) func aScanOfSomeColumnsReadsTheSameCasesValuesAndSurvival(backend: TestBackend) throws {
        let (service, _) = try Self.serviceWithCases(backend: backend)
        try service.loadDemo()
        let store = service.application.cases
        var women = CohortFilter()
        women.values[.sex] = ["female"]
        for filter in [CohortFilter(), women] {
            let full = try store.cohortRows(filter, site: nil)
            // 1384 fixture cases and the 50 demo cases; the filter keeps the women only.
            #expect(filter.values.isEmpty ? full.count == 1434 : !full.isEmpty && full.allSatisfy { $0.sex == "female" })
            for field in CohortField.allCases {
                let some = try store.cohortRows(filter, site: nil, reading: CohortRowReading(fields: [field], dates: Set(CohortDate.allCases)))
                func signature(_ row: CohortRow) -> String {
                    let times = [SurvivalEndpoint.os, .pfs].flatMap { endpoint in
                        SurvivalOrigin.allCases.map { "\(String(describing: row.survivalTime(endpoint, origin: $0)))" }
                    }
                    let outcome = row.progressionOrDeath().map { "\($0.time) \($0.cause)" } ?? "none"
                    return "\(row.value(of: field) ?? "nil") \(times) \(outcome) \(row.mmDiagnosis) \(row.icDiagnosis)"
                }
                #expect(full.map(signature).sorted() == some.map(signature).sorted(), "\(field)")
                for other in CohortField.allCases where other != field {
                    #expect(some.allSatisfy { ($0.value(of: other) ?? "") == "" }, "\(field) read \(other)")
                }
                #expect(some.allSatisfy { $0.birthYear == nil && $0.rISS == nil })
            }
            // Each survival query on the columns it declares: the same analysis, byte for byte.
            let analysis = CohortAnalysis(minCellSize: 5)
            for groupBy in [nil, CohortField.localization, .site, .iss] {
                for (endpoint, origin) in [(SurvivalEndpoint.os, SurvivalOrigin.icDiagnosis), (.os, .mmDiagnosis), (.pfs, .icDiagnosis)] {
                    var options = AnalysisOptions()
                    options.tau = 60
                    let query = SurvivalQuery(
                        selection: CohortSelection(filter: filter, groupBy: groupBy), endpoint: endpoint, origin: origin, options: options)
                    let some = try store.cohortRows(filter, site: nil, reading: query.reading)
                    #expect(query.reading.fields.count + query.reading.dates.count <= 4)
                    let context = CohortContext(dataVersion: 1)
                    let expected = try analysis.survival(query, rows: full).json(context)
                    #expect(try analysis.survival(query, rows: some).json(context) == expected, "\(String(describing: groupBy)) \(endpoint) \(origin)")
                    #expect(expected.count > 1000)
                }
            }
        }
    }
}
