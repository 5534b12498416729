import Foundation
import HTTPServer
import JSON
import Prometheus
import Registry
import TestSupport
import Testing

@testable import API

/// The numeric parameters' documented ranges, the bounded cohort cache, and formula-safe CSV.
@Suite struct CohortLimitsTests {
    @Test func numbersOutsideTheirDocumentedRangeAre400NamingTheParameter() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        for (path, name) in [
            ("/v1/cohorts/survival?tau=1e155", "tau"), ("/v1/cohorts/survival?tau=0", "tau"),
            ("/v1/cohorts/survival?tau=1201", "tau"), ("/v1/cohorts/survival?unit=days&tau=36526", "tau"),
            ("/v1/cohorts/survival?tau=nan", "tau"), ("/v1/cohorts/survival?conf_level=0.9999999999999999", "conf_level"),
            ("/v1/cohorts/survival?conf_level=0.4", "conf_level"), ("/v1/cohorts/survival?times=-1", "times"),
            ("/v1/cohorts/survival?times=12,1e9", "times"), ("/v1/cohorts/survival?times=12,,24", "times"),
            ("/v1/cohorts/survival?times=" + (1...51).map(String.init).joined(separator: ","), "times"),
            ("/v1/cohorts/survival.svg?tau=inf", "tau"),
            ("/v1/cohorts/cox?covariates=sex&conf_level=0.9999999999999999", "conf_level"),
            ("/v1/cohorts/cox?covariates=sex&conf_level=1e-300", "conf_level"),
        ] {
            let response = try service.client.get(path, headers: [analyst])
            #expect(response.status == 400, "\(path): \(response.status)")
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == .string(name), "\(path)")
        }
        // The bounds themselves are accepted.
        for path in [
            "/v1/cohorts/survival?tau=1200&times=0,1200&conf_level=0.9999", "/v1/cohorts/survival?unit=days&tau=36525&conf_level=0.5",
            "/v1/cohorts/cox?covariates=sex&conf_level=0.9999",
        ] {
            let response = try service.client.get(path, headers: [analyst])
            #expect(response.status == 200, "\(path): \(response.status) \(response.text.prefix(300))")
        }
    }

    /// Site names may begin with '-', '+', '=' or '@'; a spreadsheet would run such a cell.
    @Test func datasetTextCellsCannotBeReadAsFormulas() throws {
        let service = try TestService(minCellSize: 0)
        for site in ["-2-3", "=1+1", "@SUM", "+A1"] {
            let submitter = try service.key(site: site, role: .submitter)
            let created = try service.client.send("POST", "/v1/cases", json: caseJSON("F-1"), headers: [submitter])
            #expect(created.status == 201, "\(site): \(created.status)")
        }
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let csv = try service.client.get("/v1/cohorts/dataset.csv", headers: [analyst]).text
        let lines = csv.split(separator: "\n").dropFirst()
        #expect(lines.count == 4)
        for line in lines {
            let cells = line.split(separator: ",")
            // Numbers stay numbers; every text cell starts with a quote then a safe character.
            #expect(Double(cells[0]) != nil && Double(cells[1]) != nil)
            for cell in cells where cell.hasPrefix("\"") {
                let first = cell.dropFirst().first
                #expect(first.map { !"=+-@".contains($0) } ?? true, "\(cell)")
            }
        }
        #expect(csv.contains("\"'-2-3\"") && csv.contains("\"'=1+1\"") && csv.contains("\"'@SUM\"") && csv.contains("\"'+A1\""))
    }

    @Test func theCacheKeepsTheMostRecentlyUsedWithinItsBytes() throws {
        let registry = PrometheusCollectorRegistry()
        let cache = CohortCache(maxBytes: 30_000, metrics: registry)
        func response(_ size: Int) -> HTTPResponse { HTTPResponse(status: 200, contentType: "application/json", body: Array(repeating: 0x20, count: size)) }
        cache.put("a", dataVersion: 1, response: response(12_000))
        cache.put("b", dataVersion: 1, response: response(12_000))
        #expect(cache.get("a", dataVersion: 1) != nil)  // a is now more recent than b
        cache.put("c", dataVersion: 1, response: response(12_000))  // b is evicted
        #expect(cache.get("b", dataVersion: 1) == nil)
        #expect(cache.get("a", dataVersion: 1) != nil && cache.get("c", dataVersion: 1) != nil)
        #expect(cache.usage.entries == 2 && cache.usage.bytes <= 30_000)
        // A stale version is a miss; a newer version drops the older entries.
        #expect(cache.get("a", dataVersion: 2) == nil)
        cache.put("d", dataVersion: 2, response: response(100))
        #expect(cache.usage.entries == 1)
        // Larger than the whole bound: not kept.
        cache.put("huge", dataVersion: 2, response: response(40_000))
        #expect(cache.get("huge", dataVersion: 2) == nil)
        var text: [UInt8] = []
        registry.emit(into: &text)
        let metrics = String(decoding: text, as: UTF8.self)
        #expect(metrics.contains("cohort_cache_hits_total 3"))
        #expect(metrics.contains("cohort_cache_misses_total 3"))
        #expect(metrics.contains("cohort_cache_evictions_total 1"))
        #expect(metrics.contains("cohort_cache_bytes 613"))
    }

    @Test func cacheCountersAreInMetrics() throws {
        let service = try TestService(cohortCacheBytes: 1 << 20)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let admin = try service.key(site: "OPS", role: .admin)  // /metrics needs an admin key (issue #12)
        func counter(_ name: String) throws -> Double {
            let text = try service.client.get("/metrics", headers: [admin]).text
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        }
        let hits = try counter("cohort_cache_hits_total")
        let misses = try counter("cohort_cache_misses_total")
        #expect(hits >= 0 && misses >= 0)
        #expect(try service.client.get("/v1/cohorts/summary?group_by=sex", headers: [analyst]).status == 200)
        #expect(try service.client.get("/v1/cohorts/summary?group_by=sex", headers: [analyst]).status == 200)
        // Other suites share the process's registry: at least our own hit and miss.
        #expect(try counter("cohort_cache_hits_total") >= hits + 1)
        #expect(try counter("cohort_cache_misses_total") >= misses + 1)
    }
}
