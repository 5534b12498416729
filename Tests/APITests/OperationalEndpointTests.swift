import Foundation
import HTTPServer
import Storage
import TestSupport
import Testing

@Suite struct OperationalEndpointTests {
    @Test func healthzAnswersOK() throws {
        let service = try TestService()
        let response = try service.client.get("/healthz")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        #expect(response.jsonObject["status"] as? String == "ok")
        // The body is a byte literal in the route (a static object): exactly these bytes.
        #expect(response.text == #"{"status":"ok"}"#)
        #expect(response.header("content-length") == "15")
    }

    @Test(arguments: TestBackend.all) func readyzIsReadyWhenMigrationsAreCurrent(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let response = try service.client.get("/readyz")
        #expect(response.status == 200)
        #expect(response.jsonObject["migrations"] as? String == "current")
    }

    @Test(arguments: TestBackend.all) func readyzIs503WhenAMigrationIsPending(backend: TestBackend) throws {
        let service = try TestService(migrate: false, backend: backend)
        let response = try service.client.get("/readyz")
        #expect(response.status == 503)
        #expect(response.header("content-type") == "application/problem+json")
    }

    /// PostgreSQL gone (here: its database dropped under the running service): readiness says so,
    /// and a write is answered 503 (nothing stored, retry) rather than 500.
    @Test(arguments: TestBackend.postgresOnly) func aDatabaseThatStopsAnsweringIs503(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let admin = try service.key(site: "OPS", role: .admin)
        #expect(try service.client.get("/readyz").status == 200)
        let metrics = try service.client.get("/metrics", headers: [admin]).text
        #expect(metrics.contains(#"database_pool_connections{state="idle"}"#))
        #expect(metrics.contains(#"database_pool_connections{state="in_use"}"#))
        #expect(metrics.contains("database_pool_waits_total"))
        service.dropDatabase()
        let ready = try service.client.get("/readyz")
        #expect(ready.status == 503)
        #expect(ready.header("content-type") == "application/problem+json")
        let write = try service.client.send("POST", "/v1/cases", json: caseJSON("DOWN-1"), headers: [submitter])
        #expect(write.status == 503)
        #expect(write.jsonObject["type"] as? String == "https://icmm-registry.example/problems/not-ready")
        #expect(!write.text.contains("DOWN-1"))
    }

    @Test func metricsCountRequestsByRoutePatternAndStatus() throws {
        let service = try TestService()
        _ = try service.client.get("/healthz")
        _ = try service.client.get("/does-not-exist")
        let response = try service.client.get("/metrics", headers: [try service.key(site: "OPS", role: .admin)])
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain") == true)
        let text = response.text
        #expect(text.contains(#"http_requests_total{route="/healthz",method="GET",status="200"}"#))
        #expect(text.contains(#"route="unmatched""#))
        #expect(!text.contains("does-not-exist"))
        #expect(text.contains("http_request_duration_seconds_bucket"))
        // The HTTP layer's buckets, in seconds, not the factory's default value buckets.
        #expect(text.contains(#"http_request_duration_seconds_bucket{route="/healthz",le="0.001"}"#))
        #expect(!text.contains(#"http_request_duration_seconds_bucket{route="/healthz",le="5000"#))
        #expect(text.contains("http_open_connections"))
        #expect(text.contains("database_size_bytes"))
        // Memory, split so that a growth can be placed: SQLite's (its page caches apart) and the allocator's.
        func gauge(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect((gauge("sqlite_memory_bytes") ?? 0) > 0)
        #expect((gauge("sqlite_page_cache_bytes") ?? -1) >= 0)
        #expect((gauge("sqlite_page_cache_bytes") ?? .infinity) <= (gauge("sqlite_memory_bytes") ?? 0))
        #expect((gauge("process_heap_in_use_bytes") ?? 0) > 0)
        #expect(gauge("process_heap_free_bytes") != nil)
    }

    /// Each event loop hands its observations to the backend in batches of 64: a scrape must still
    /// count every request answered before it, exactly.
    @Test func metricsCountEveryRequestAnsweredBeforeTheScrape() throws {
        let service = try TestService()
        // A method no other test sends, so the series is this test's own.
        let series = #"http_requests_total{route="unmatched",method="OPTIONS",status="405"} "#
        let admin = try service.key(site: "OPS", role: .admin)
        func count() throws -> Int {
            let text = try service.client.get("/metrics", headers: [admin]).text
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(series) }) else { return 0 }
            return Int(Double(line.dropFirst(series.count)) ?? -1)
        }
        let before = try count()
        for _ in 0..<70 { #expect(try service.client.request("OPTIONS", "/healthz").status == 405) }
        #expect(try count() - before == 70)
        _ = try service.client.request("OPTIONS", "/healthz")
        #expect(try count() - before == 71)
    }

    @Test func servesTheContractFileItself() throws {
        let service = try TestService()
        let response = try service.client.get("/openapi.yaml")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/yaml")
        #expect(response.text == (try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8)))
    }
}

/// openapi.yaml must describe every route that exists, and nothing that does not.
@Suite struct OpenAPIContractTests {
    /// `(METHOD, /path)` pairs of the document's `paths` (a line-oriented read of our own YAML layout:
    /// paths at two spaces of indentation, methods at four).
    static func documentedOperations() throws -> Set<String> {
        let text = try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8)
        var operations: Set<String> = []
        var inPaths = false
        var currentPath: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " " { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let currentPath, line.hasPrefix("    ") && !line.hasPrefix("     ") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(String(key)) {
                    operations.insert("\(key.uppercased()) \(currentPath)")
                }
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let service = try TestService()
        let routes = Set(service.application.makeRouter().routeTable.map { "\($0.method.rawValue) \($0.pattern)" })
        let documented = try Self.documentedOperations()
        #expect(!routes.isEmpty)
        #expect(routes.subtracting(documented).sorted() == [], "routes missing from openapi.yaml")
        #expect(documented.subtracting(routes).sorted() == [], "openapi.yaml describes routes that do not exist")
    }
}
