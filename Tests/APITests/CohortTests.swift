import Foundation
import JSON
import Registry
import TestSupport
import Testing

@Suite struct CohortSelectionTests {
    @Test(arguments: TestBackend.all) func groupsAndFiltersTheDemoCohort(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let byLocalization = try #require(try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst]).jsonValue)
        let groups = byLocalization["groups"]?.arrayValue ?? []
        #expect(groups.map { $0["key"] } == ["CNS", "OD"])
        #expect(groups.map { $0["n"] } == [12, 38])
        #expect(byLocalization["n"] == 50)
        #expect(byLocalization["group_by"] == "localization")
        #expect(byLocalization["endpoint"] == "os" && byLocalization["origin"] == "ic_diagnosis" && byLocalization["unit"] == "months")
        #expect(byLocalization["logrank"]?["df"] == 1)
        #expect(byLocalization["engine_version"]?.stringValue?.hasPrefix("classification-") == true)
        // Repeated values are OR-ed; fields are AND-ed.
        let cns = try service.client.get("/v1/cohorts/survival?localization=CNS", headers: [analyst]).jsonValue
        #expect(cns?["n"] == 12)
        #expect(cns?["filters"] == ["localization": ["CNS"]])
        let both = try service.client.get("/v1/cohorts/survival?localization=CNS&localization=OD", headers: [analyst]).jsonValue
        #expect(both?["n"] == 50)
        let goodOD = try service.client.get("/v1/cohorts/summary?localization=OD&response_group=CR%2BVGPR", headers: [analyst]).jsonValue
        #expect(goodOD?["n"] == 21)
    }

    @Test(arguments: TestBackend.all) func unknownParametersAndValuesAre400NamingThem(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        for (query, name) in [
            ("group_by=brain", "group_by"), ("localization=brain", "localization"), ("colour=red", "colour"),
            ("endpoint=dfs", "endpoint"), ("origin=birth", "origin"), ("endpoint=pfs&origin=mm_diagnosis", "origin"),
            ("conf_type=logit", "conf_type"), ("conf_level=1", "conf_level"), ("times=12,x", "times"), ("tau=-1", "tau"),
            ("unit=weeks", "unit"), ("ic_diagnosis_from=2020-13-01", "ic_diagnosis_from"), ("asct=yes", "asct"),
        ] {
            let response = try service.client.get("/v1/cohorts/survival?\(query)", headers: [analyst])
            #expect(response.status == 400, "\(query)")
            // An unknown parameter's name is the client's input: not echoed (issue #12, "no echo").
            let expectedPath = name == "colour" ? "" : name
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == .string(expectedPath), "\(query)")
            if name == "colour" { #expect(!response.text.contains("colour")) }
        }
        #expect(try service.client.get("/v1/cohorts/cox?covariates=height", headers: [analyst]).status == 400)
        #expect(try service.client.get("/v1/cohorts/cox", headers: [analyst]).status == 400)
    }

    @Test(arguments: TestBackend.all) func submittersSeeTheirOwnSiteAndAnalystsSeeEverySite(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let hospital = try service.key(site: "HOSP-A", role: .submitter)
        for i in 1...6 { _ = try service.client.send("POST", "/v1/cases", json: caseJSON("A-\(i)"), headers: [hospital]) }
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        #expect(try service.client.get("/v1/cohorts/summary", headers: [analyst]).jsonValue?["n"] == 56)
        #expect(try service.client.get("/v1/cohorts/summary", headers: [hospital]).jsonValue?["n"] == 6)
        #expect(try service.client.get("/v1/cohorts/summary?site=DEMO", headers: [hospital]).status == 403)
        #expect(try service.client.get("/v1/cohorts/summary?site=DEMO", headers: [analyst]).jsonValue?["n"] == 50)
        #expect(try service.client.get("/v1/cohorts/summary").status == 401)
        // The same query by two scopes gives two different ETags.
        let a = try service.client.get("/v1/cohorts/survival", headers: [analyst]).header("etag")
        let h = try service.client.get("/v1/cohorts/survival", headers: [hospital]).header("etag")
        #expect(a != nil && h != nil && a != h)
    }
}

@Suite struct CohortSuppressionTests {
    /// DEMO (50 cases) and a small site of 3: grouped by site, the small one shows only its size.
    func service(minCellSize: Int, backend: TestBackend) throws -> (TestService, (String, String)) {
        let service = try TestService(minCellSize: minCellSize, backend: backend)
        try service.loadDemo()
        let small = try service.key(site: "SMALL", role: .submitter)
        for i in 1...3 { _ = try service.client.send("POST", "/v1/cases", json: caseJSON("S-\(i)"), headers: [small]) }
        return (service, try service.key(site: "ANALYSIS", role: .analyst))
    }

    @Test(arguments: TestBackend.all) func aGroupBelowTheMinimumCellSizeReportsOnlyItsSize(backend: TestBackend) throws {
        let (service, analyst) = try service(minCellSize: 5, backend: backend)
        let body = try #require(try service.client.get("/v1/cohorts/survival?group_by=site", headers: [analyst]).jsonValue)
        let small = try #require(body["groups"]?.arrayValue?.first { $0["key"] == "SMALL" })
        #expect(small == ["key": "SMALL", "n": 3, "suppressed": true])
        let demo = body["groups"]?.arrayValue?.first { $0["key"] == "DEMO" }
        #expect(demo?["curve"]?.arrayValue?.isEmpty == false)
        // Totals and tests leave the suppressed group out, and say so.
        #expect(body["n"] == 50)
        #expect(body["logrank"] == nil)
        #expect(body["suppression_note"]?.stringValue?.contains("5") == true)
        // The text never carries the small group's dates or survival.
        let csv = try service.client.get("/v1/cohorts/dataset.csv?group_by=site", headers: [analyst]).text
        #expect(!csv.contains("SMALL"))
        #expect(csv.split(separator: "\n").count == 51)
        let summary = try service.client.get("/v1/cohorts/summary?group_by=site", headers: [analyst]).jsonValue
        #expect(summary?["groups"]?.arrayValue?.first { $0["key"] == "SMALL" } == ["key": "SMALL", "n": 3, "suppressed": true])
    }

    @Test(arguments: TestBackend.all) func zeroDisablesSuppression(backend: TestBackend) throws {
        let (service, analyst) = try service(minCellSize: 0, backend: backend)
        let body = try #require(try service.client.get("/v1/cohorts/survival?group_by=site", headers: [analyst]).jsonValue)
        let small = body["groups"]?.arrayValue?.first { $0["key"] == "SMALL" }
        #expect(small?["suppressed"] == nil)
        #expect(small?["curve"]?.arrayValue?.isEmpty == false)
        #expect(body["n"] == 53)
        #expect(body["logrank"]?["df"] == 1)
    }
}

@Suite struct CohortCachingTests {
    @Test(arguments: TestBackend.all) func aMatchingIfNoneMatchIs304AndAWriteChangesTheETag(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let first = try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst])
        let tag = try #require(first.header("etag"))
        let again = try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst, ("If-None-Match", tag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.header("etag") == tag)
        // The same query written differently is the same resource.
        let reordered = try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst, ("If-None-Match", tag)])
        #expect(reordered.status == 304)
        let cached = try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst])
        #expect(cached.body == first.body)
        // A write to any case changes the data version, hence the ETag and the body.
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("NEW-1"), headers: [submitter]).status == 201)
        let after = try service.client.get("/v1/cohorts/survival?group_by=localization", headers: [analyst, ("If-None-Match", tag)])
        #expect(after.status == 200)
        #expect(after.header("etag") != tag)
        #expect(after.jsonValue?["n"] == 51)
        #expect((after.jsonValue?["data_version"]?.numberValue ?? 0) > (first.jsonValue?["data_version"]?.numberValue ?? 0))
    }
}

@Suite struct CohortEndpointTests {
    @Test(arguments: TestBackend.all) func delayedEntryFromTheMyelomaDiagnosisIsStatedAndOmitsGroupTests(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let body = try #require(try service.client.get("/v1/cohorts/survival?origin=mm_diagnosis&group_by=localization", headers: [analyst]).jsonValue)
        #expect(body["delayed_entry"] == true)
        #expect(body["origin"] == "mm_diagnosis")
        #expect(body["logrank"] == nil)
        #expect(body["tests_note"] != nil)
        let days = try #require(try service.client.get("/v1/cohorts/survival?unit=days&times=365", headers: [analyst]).jsonValue)
        #expect(days["unit"] == "days")
        #expect(days["groups"]?.arrayValue?.first?["survival_at"]?.arrayValue?.first?["time"] == 365)
    }

    @Test(arguments: TestBackend.all) func pfsCountsProgressionOrDeathWhicheverIsFirst(backend: TestBackend) throws {
        let service = try TestService(minCellSize: 0, backend: backend)
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        // Progression at 100 days then death at 300: PFS event at 100, OS event at 300.
        let body = caseJSON("P-1", ["outcome": ["progression_date": "2023-05-12", "death_date": "2023-11-28"]])
        #expect(try service.client.send("POST", "/v1/cases", json: body, headers: [submitter]).status == 201)
        let pfs = try service.client.get("/v1/cohorts/survival?endpoint=pfs&unit=days", headers: [submitter]).jsonValue
        let os = try service.client.get("/v1/cohorts/survival?endpoint=os&unit=days", headers: [submitter]).jsonValue
        #expect(pfs?["groups"]?.arrayValue?.first?["curve"]?.arrayValue?.first?["time"] == 100)
        #expect(os?["groups"]?.arrayValue?.first?["curve"]?.arrayValue?.first?["time"] == 300)
    }

    @Test(arguments: TestBackend.all) func theDatasetIsDeidentifiedAndMatchesTheSurvivalCounts(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let response = try service.client.get("/v1/cohorts/dataset.csv", headers: [analyst])
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/csv; charset=utf-8")
        let lines = response.text.split(separator: "\n")
        #expect(lines.first == "time_days,time_months,status,localization,response_group,therapy_class,sex,site,asct,radiotherapy,intrathecal,cns_risk,iss,age_at_ic_diagnosis")
        #expect(lines.count == 51)
        #expect(!response.text.contains("DEMO-0"))  // no external ids
        #expect(response.text.range(of: #"\d{4}-\d{2}-\d{2}"#, options: .regularExpression) == nil)  // no dates
        let deaths = lines.dropFirst().filter { $0.split(separator: ",")[2] == "1" }.count
        let survival = try service.client.get("/v1/cohorts/survival", headers: [analyst]).jsonValue
        #expect(survival?["events"] == .number(Double(deaths)))
        let delayed = try service.client.get("/v1/cohorts/dataset.csv?origin=mm_diagnosis", headers: [analyst]).text
        #expect(delayed.hasPrefix("time_days,time_months,status,entry_days,entry_months,"))
    }

    @Test(arguments: TestBackend.all) func coxNamesTermsLikeRAndStatesTheReferenceLevels(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let body = try #require(try service.client.get("/v1/cohorts/cox?covariates=localization,response_group,age_at_ic_diagnosis", headers: [analyst]).jsonValue)
        let terms = body["cox"]?["terms"]?.arrayValue?.compactMap { $0["term"]?.stringValue }
        #expect(terms == ["localizationOD", "response_groupPR+NR", "age_at_ic_diagnosis"])
        #expect(body["reference_levels"] == ["localization": "CNS", "response_group": "CR+VGPR"])
        #expect(body["cox"]?["ties"] == "efron")
        #expect(body["n"] == 50)
        // PR+NR carries a higher hazard than CR+VGPR in the demo cohort, as in the survey.
        let prnr = body["cox"]?["terms"]?.arrayValue?.first { $0["term"] == "response_groupPR+NR" }
        #expect((prnr?["hazard_ratio"]?.numberValue ?? 0) > 1)
    }

    @Test(arguments: TestBackend.all) func summaryCountsByGroup(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let body = try #require(try service.client.get("/v1/cohorts/summary?group_by=localization", headers: [analyst]).jsonValue)
        let od = try #require(body["groups"]?.arrayValue?.first { $0["key"] == "OD" })
        #expect(od["n"] == 38)
        #expect(od["localization"] == ["OD": 38])
        #expect((od["deaths"]?.numberValue ?? 0) > 0)
        #expect(od["median_followup_months"]?["estimate"]?.numberValue != nil)
        let total = body["groups"]?.arrayValue?.compactMap { $0["n"]?.numberValue }.reduce(0, +)
        #expect(total == 50)
    }
}

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Counts elements by class while checking that a document is well-formed XML.
final class ClassCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var texts: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        if let cls = attributes["class"] { counts[cls, default: 0] += 1 }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
}

@Suite struct CohortPlotAndErrorTests {
    @Test(arguments: TestBackend.all) func theSVGPlotIsWellFormedWithOneCurvePerShownGroup(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let small = try service.key(site: "SMALL", role: .submitter)
        for i in 1...3 { _ = try service.client.send("POST", "/v1/cases", json: caseJSON("S-\(i)"), headers: [small]) }
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let response = try service.client.get("/v1/cohorts/survival.svg?group_by=localization", headers: [analyst])
        #expect(response.status == 200)
        #expect(response.header("content-type") == "image/svg+xml; charset=utf-8")
        #expect(response.header("etag") != nil)
        let counter = ClassCounter()
        let parser = XMLParser(data: Data(response.body))
        parser.delegate = counter
        #expect(parser.parse(), "the SVG must be well-formed XML")
        #expect(counter.counts["km-curve"] == 2)
        let bySite = try service.client.get("/v1/cohorts/survival.svg?group_by=site", headers: [analyst])
        let siteCounter = ClassCounter()
        let siteParser = XMLParser(data: Data(bySite.body))
        siteParser.delegate = siteCounter
        #expect(siteParser.parse())
        #expect(siteCounter.counts["km-curve"] == 1)  // SMALL (3 cases) is below the minimum cell size
        #expect(siteCounter.texts.joined().contains("suppressed"))
        let tag = try #require(response.header("etag"))
        #expect(try service.client.get("/v1/cohorts/survival.svg?group_by=localization", headers: [analyst, ("If-None-Match", tag)]).status == 304)
    }

    @Test(arguments: TestBackend.all) func aModelTheDataCannotSupportIs422NotA500(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        // Within CNS cases, localization has one level: no variation to estimate.
        let response = try service.client.get("/v1/cohorts/cox?covariates=localization&localization=CNS", headers: [analyst])
        #expect(response.status == 422)
        #expect(response.jsonValue?["type"] == "https://icmm-registry.example/problems/not-estimable")
    }

    @Test(arguments: TestBackend.all) func parametersAreCheckedBeforeAnswering304AndAmbiguityIsRefused(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        #expect(try service.client.get("/v1/cohorts/survival?conf_type=bogus", headers: [analyst, ("If-None-Match", "*")]).status == 400)
        let twice = try service.client.get("/v1/cohorts/survival?group_by=sex&group_by=site", headers: [analyst])
        #expect(twice.status == 400)
        #expect(twice.jsonValue?["errors"]?.arrayValue?.first?["path"] == "group_by")
        #expect(try service.client.get("/v1/cohorts/cox?covariates=sex&group_by=site", headers: [analyst]).status == 400)
    }

    @Test(arguments: TestBackend.all) func datasetRowsAreOrderedByTimeAsANumber(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let lines = try service.client.get("/v1/cohorts/dataset.csv", headers: [analyst]).text.split(separator: "\n").dropFirst()
        let times = lines.compactMap { Double($0.split(separator: ",")[0]) }
        #expect(times.count == 50)
        #expect(times == times.sorted())
    }
}
