import API
import Foundation
import HTTPServer
import JSON
import Registry
import TestSupport
import Testing

/// Issue #12: one role-by-route matrix, derived from the route table, so that a new route cannot
/// skip it: a route without an entry in `access` fails the test.
@Suite struct RouteMatrixTests {
    /// Who may use each route: nil for a route that needs no key.
    static let access: [String: Set<Role>?] = [
        "GET /healthz": nil,
        "GET /readyz": nil,
        "GET /openapi.yaml": nil,
        "GET /dashboard": nil,
        "GET /dashboard/app.js": nil,
        "GET /dashboard/style.css": nil,
        "GET /dashboard/modules/{name}": nil,
        "POST /v1/classify": nil,
        "GET /metrics": [.admin],
        "GET /v1/audit": [.admin],
        "POST /v1/cases": [.submitter, .admin],
        "GET /v1/cases": [.submitter, .admin],
        "GET /v1/cases/{external_id}": [.submitter, .admin],
        "PUT /v1/cases/{external_id}": [.submitter, .admin],
        "PATCH /v1/cases/{external_id}": [.submitter, .admin],
        "DELETE /v1/cases/{external_id}": [.submitter, .admin],
        "GET /v1/cases/{external_id}/history": [.submitter, .admin],
        "POST /v1/imports": [.submitter, .admin],
        "POST /v1/fhir": [.submitter, .admin],
        "GET /v1/cases/{external_id}/fhir": [.submitter, .admin],
        "GET /v1/cohorts/survival": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/survival.svg": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/cox": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/cox.svg": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/incidence": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/incidence.svg": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/summary": [.submitter, .analyst, .admin],
        "GET /v1/cohorts/dataset.csv": [.submitter, .analyst, .admin],
    ]

    /// A request for a route: its path (parameters filled in) and a body that is valid for it.
    static func request(_ method: HTTPMethod, _ pattern: String, site: String? = nil, id: String = "A-1") -> (String, String?, String) {
        var path = pattern.replacingOccurrences(of: "{external_id}", with: id)
        if pattern.hasPrefix("/v1/cohorts/cox") { path += "?covariates=localization" }
        if let site { path += (path.contains("?") ? "&" : "?") + "site=\(site)" }
        switch (method, pattern) {
        case (.post, "/v1/imports"): return (path, caseJSON("IMP-\(UUID().uuidString.prefix(8))"), "application/x-ndjson")
        case (.post, "/v1/fhir"): return (path, #"{"resourceType":"Bundle","type":"collection","entry":[]}"#, "application/fhir+json")
        case (.patch, _): return (path, #"{"birth_year":1960}"#, "application/merge-patch+json")
        case (.post, "/v1/cases"): return (path, caseJSON("N-\(UUID().uuidString.prefix(8))"), "application/json")
        case (.put, _), (.post, _): return (path, caseJSON(id, ["sex": "male"]), "application/json")
        default: return (path, nil, "")
        }
    }

    @Test func everyRouteAnswersEveryKindOfCallerAsItsRolesAllow() throws {
        var limits = RateLimitConfiguration()
        limits.failedAuthPerAddress = RateLimit(rate: 100, burst: 10_000)
        let service = try TestService(rateLimits: limits)
        try service.loadDemo()
        let keys = service.application.keys
        func bearer(_ key: String) -> (String, String) { ("Authorization", "Bearer " + key) }
        let expired = try keys.create(site: "HOSP-A", role: .admin)
        _ = try keys.rotate(id: expired.id, grace: .zero)
        let revoked = try keys.create(site: "HOSP-A", role: .admin)
        try keys.revoke(id: revoked.id)
        let submitterA = try service.key(site: "HOSP-A", role: .submitter)
        let submitterB = try service.key(site: "HOSP-B", role: .submitter)
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let admin = try service.key(site: "OPS", role: .admin)

        let routes = service.application.makeRouter().routeTable
        #expect(routes.count >= Self.access.count)
        let unlisted = routes.map { "\($0.method) \($0.pattern)" }.filter { Self.access[$0] == nil }
        #expect(unlisted.isEmpty, "routes without an entry in the matrix: \(unlisted)")

        // A case only site A has, never written by another caller.
        #expect(try service.client.send("PUT", "/v1/cases/A-ONLY?site=HOSP-A", json: caseJSON("A-ONLY"), headers: [admin]).status == 201)
        func call(_ method: HTTPMethod, _ pattern: String, _ headers: [(String, String)], site: String? = nil, id: String = "A-1")
            throws -> TestResponse
        {
            // Site A's case exists before every call (a DELETE before may have erased it).
            _ = try service.client.send("PUT", "/v1/cases/A-1?site=HOSP-A", json: caseJSON("A-1"), headers: [admin])
            let (path, body, contentType) = Self.request(method, pattern, site: site, id: id)
            if let body {
                return try service.client.send(method.rawValue, path, json: body, contentType: contentType, headers: headers)
            }
            return try service.client.request(method.rawValue, path, headers: headers)
        }

        let anonymous: [(String, [(String, String)], String)] = [
            ("no key", [], "unauthenticated"), ("bad key", [bearer("icmm_" + String(repeating: "Q", count: 43))], "unauthenticated"),
            ("expired key", [bearer(expired.key)], "expired-key"), ("revoked key", [bearer(revoked.key)], "unauthenticated"),
        ]
        let identified: [(String, (String, String), Role)] = [
            ("submitter A", submitterA, .submitter), ("submitter B", submitterB, .submitter), ("analyst", analyst, .analyst),
            ("admin", admin, .admin),
        ]
        for route in routes {
            let name = "\(route.method) \(route.pattern)"
            guard let entry = Self.access[name] else { continue }
            for (caller, headers, problem) in anonymous {
                let response = try call(route.method, route.pattern, headers)
                if let allowed = entry {
                    #expect(response.status == 401, "\(caller): \(name)")
                    // FHIR routes answer with an OperationOutcome; the others with a problem document.
                    if response.header("content-type") == "application/problem+json" {
                        #expect(
                            response.jsonObject["type"] as? String == "https://icmm-registry.example/problems/\(problem)", "\(caller): \(name)")
                        #expect(response.header("www-authenticate")?.hasPrefix("Bearer") == true, "\(caller): \(name)")
                    }
                    _ = allowed
                } else {
                    #expect(![401, 403].contains(response.status) && response.status < 500, "\(caller): \(name) -> \(response.status)")
                }
            }
            for (caller, header, role) in identified {
                let response = try call(route.method, route.pattern, [header])
                switch entry {
                case nil:
                    #expect(![401, 403].contains(response.status) && response.status < 500, "\(caller): \(name) -> \(response.status)")
                case let allowed? where allowed.contains(role):
                    #expect(![401, 403].contains(response.status) && response.status < 500, "\(caller): \(name) -> \(response.status)")
                case _?:
                    #expect(response.status == 403, "\(caller): \(name) -> \(response.status)")
                    if response.header("content-type") == "application/problem+json" {
                        #expect(response.jsonObject["type"] as? String == "https://icmm-registry.example/problems/forbidden")
                    }
                }
            }
            // Site B never reaches site A's data: naming site A is 403 wherever a site can be named;
            // A's case by its id is B's "no such case".
            if let allowed = Self.access[name] ?? nil, allowed.contains(.submitter) {
                let named = try call(route.method, route.pattern, [submitterB], site: "HOSP-A")
                #expect(named.status == 403, "submitter B naming site A: \(name) -> \(named.status)")
                if route.pattern.contains("{external_id}") && route.method != .put {
                    let byID = try call(route.method, route.pattern, [submitterB], id: "A-ONLY")
                    #expect(byID.status == 404, "submitter B on A's case: \(name) -> \(byID.status)")
                }
            }
        }
        // A's own case was never reached by B.
        let aCase = try service.client.get("/v1/cases/A-ONLY", headers: [submitterA])
        #expect(aCase.jsonValue?["site"] == "HOSP-A")
        #expect(aCase.jsonValue?["version"] == .number(1))
    }
}
