import Foundation
import JSON
import Registry
import TestSupport
import Testing

/// GET /v1/cohorts/incidence (progression with death as the competing event), incidence.svg and
/// cox.svg (issue 10).
@Suite struct CohortIncidenceTests {
    /// The lung cohort has deaths and no progression: the death incidence is 1 - Kaplan-Meier of
    /// overall survival (R's survfit, in expected.json) and progression is reported with zero events.
    @Test func withoutProgressionDeathIncidenceIsOneMinusRsKaplanMeier() throws {
        let (service, analyst) = try CohortFixtureTests.serviceWithCases()
        let response = try service.client.get("/v1/cohorts/incidence?group_by=sex&times=12,24", headers: [analyst])
        try #require(response.status == 200, "\(response.status) \(response.text.prefix(500))")
        let body = try #require(response.jsonValue)
        #expect(body["causes"] == ["death", "progression"])
        #expect(body["origin"] == "ic_diagnosis" && body["unit"] == "months" && body["n"] == 227)
        let km = try #require(CohortFixtureTests.fixture("survival", "os_sex_ic_log")?["expected"]?["groups"]?.arrayValue)
        let groups = body["groups"]?.arrayValue ?? []
        #expect(groups.count == 4)
        for group in km {
            let key = try #require(group["key"]?.stringValue)
            let death = try #require(groups.first { $0["key"]?.stringValue == key && $0["cause"] == "death" })
            let progression = try #require(groups.first { $0["key"]?.stringValue == key && $0["cause"] == "progression" })
            #expect(progression["events"] == 0)
            #expect(death["events"] == group["events"] && death["n"] == group["n"])
            // Each death time's incidence equals 1 - S(t) there.
            for point in death["curve"]?.arrayValue ?? [] {
                let t = try #require(point["time"]?.numberValue)
                guard t > 0 else {
                    #expect(point["estimate"] == 0)
                    continue
                }
                let s = try #require(
                    group["curve"]?.arrayValue?.first { abs(($0["time"]?.numberValue ?? -1) - t) < 1e-9 }?["survival"]?.numberValue,
                    "\(key) t=\(t)")
                #expect(abs((point["estimate"]?.numberValue ?? -1) - (1 - s)) < 1e-9, "\(key) t=\(t)")
            }
            for (index, landmark) in (group["survival_at"]?.arrayValue ?? []).enumerated() {
                let at = death["at"]?.arrayValue?[index]
                #expect(abs((at?["estimate"]?.numberValue ?? -1) - (1 - (landmark["survival"]?.numberValue ?? 2))) < 1e-9)
            }
        }
        #expect(body["gray_test"]?.arrayValue?.count == 2)
    }

    @Test func demoCohortGroupsCovariatesSuppressionAndPlots() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let response = try service.client.get(
            "/v1/cohorts/incidence?group_by=localization&times=6,12&covariates=age_at_ic_diagnosis", headers: [analyst])
        try #require(response.status == 200, "\(response.status) \(response.text.prefix(500))")
        let body = try #require(response.jsonValue)
        #expect(body["fine_gray"]?.arrayValue?.count == 2)
        #expect(body["n"] == 50)
        let etag = try #require(response.header("etag"))
        let again = try service.client.get(
            "/v1/cohorts/incidence?group_by=localization&times=6,12&covariates=age_at_ic_diagnosis",
            headers: [analyst, ("If-None-Match", etag)])
        #expect(again.status == 304)

        // A group below the minimum cell size: no curve, listed as left out.
        let small = try TestService(minCellSize: 13)
        try small.loadDemo()
        let smallAnalyst = try small.key(site: "ANALYSIS", role: .analyst)
        let suppressed = try #require(try small.client.get("/v1/cohorts/incidence?group_by=localization", headers: [smallAnalyst]).jsonValue)
        #expect(suppressed["suppressed_groups"] == [["key": "CNS", "n": 12]])
        #expect(suppressed["groups"]?.arrayValue?.allSatisfy { $0["key"] == "OD" } == true)
        #expect(suppressed["suppression_note"] != nil)

        for path in [
            "/v1/cohorts/incidence.svg?group_by=localization", "/v1/cohorts/cox.svg?covariates=localization,age_at_ic_diagnosis&ph_test=true",
        ] {
            let svg = try service.client.get(path, headers: [analyst])
            #expect(svg.status == 200, "\(path): \(svg.status) \(svg.text.prefix(300))")
            #expect(svg.header("content-type")?.hasPrefix("image/svg+xml") == true)
            #expect(svg.text.hasPrefix("<svg") || svg.text.hasPrefix("<?xml"))
            #expect(svg.header("etag") != nil)
        }
    }

    @Test func badIncidenceParametersAre400NamingThem() throws {
        let service = try TestService()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        for (query, name) in [
            ("event=death", "event"), ("times=-3", "times"), ("covariates=height", "covariates"), ("conf_level=1", "conf_level"),
            ("covariates=sex,sex", "covariates"), ("tau=12", "tau"),
        ] {
            let response = try service.client.get("/v1/cohorts/incidence?" + query, headers: [analyst])
            #expect(response.status == 400, "\(query): \(response.status)")
            // `tau` is not a parameter of this route: an unknown name is not echoed (issue #12, "no echo").
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == .string(name == "tau" ? "" : name), "\(query)")
        }
        #expect(try service.client.get("/v1/cohorts/incidence").status == 401)
    }
}
