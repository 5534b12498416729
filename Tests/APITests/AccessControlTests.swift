import Foundation
import JSON
import Registry
import TestSupport
import Testing

/// Every case route, as (method, path, body, content type).
let caseRoutes: [(String, String, String?, String)] = [
    ("POST", "/v1/cases", caseJSON("NEW-1"), "application/json"),
    ("GET", "/v1/cases", nil, ""),
    ("GET", "/v1/cases/A-1", nil, ""),
    ("PUT", "/v1/cases/A-1", caseJSON("A-1", ["sex": "male"]), "application/json"),
    ("PATCH", "/v1/cases/A-1", #"{"birth_year":1960}"#, "application/merge-patch+json"),
    ("GET", "/v1/cases/A-1/history", nil, ""),
    ("POST", "/v1/imports", caseJSON("IMP-1"), "application/x-ndjson"),
    ("DELETE", "/v1/cases/A-1", nil, ""),
]

func call(_ service: TestService, _ route: (String, String, String?, String), _ headers: [(String, String)]) throws -> TestResponse {
    if let body = route.2 {
        return try service.client.send(route.0, route.1, json: body, contentType: route.3, headers: headers)
    }
    return try service.client.request(route.0, route.1, headers: headers)
}

@Suite struct RoleMatrixTests {
    @Test func withoutAKeyEveryCaseRouteIs401WithWWWAuthenticate() throws {
        let service = try TestService()
        for route in caseRoutes {
            for headers in [[], [("Authorization", "Bearer icmm_notakey")], [("Authorization", "Basic dXNlcjpwYXNz")]] {
                let response = try call(service, route, headers)
                #expect(response.status == 401, "\(route.0) \(route.1)")
                #expect(response.header("www-authenticate")?.hasPrefix("Bearer") == true)
                #expect(response.header("content-type") == "application/problem+json")
            }
        }
    }

    @Test func analystsGet403OnEveryCaseRoute() throws {
        let service = try TestService()
        let analyst = try service.key(site: "HOSP-A", role: .analyst)
        for route in caseRoutes {
            #expect(try call(service, route, [analyst]).status == 403, "\(route.0) \(route.1)")
        }
    }

    @Test func submittersAndAdminsMayUseEveryCaseRoute() throws {
        for role in [Role.submitter, .admin] {
            let service = try TestService()
            let auth = try service.key(site: "HOSP-A", role: role)
            _ = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
            let expected = [201, 200, 200, 200, 200, 200, 201, 204]
            for (route, status) in zip(caseRoutes, expected) {
                #expect(try call(service, route, [auth]).status == status, "\(role) \(route.0) \(route.1)")
            }
        }
    }

    @Test func aRevokedKeyStopsWorkingAtOnce() throws {
        let service = try TestService()
        let created = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        let auth = ("Authorization", "Bearer " + created.key)
        #expect(try service.client.get("/v1/cases", headers: [auth]).status == 200)
        try service.application.keys.revoke(id: created.id)
        #expect(try service.client.get("/v1/cases", headers: [auth]).status == 401)
    }

    @Test func keysAreStoredOnlyAsHashesAndListedWithoutThem() throws {
        let service = try TestService()
        let created = try service.application.keys.create(site: "HOSP-A", role: .admin)
        #expect(created.key.count >= 40)  // 256 bits in base64url plus the prefix
        let stored = try service.database.read { try $0.query("SELECT key_hash FROM api_keys") { $0.string(0) } }
        #expect(stored.count == 1 && stored[0].count == 64 && stored[0] != created.key)
        let listed = try service.application.keys.list()
        #expect(listed.map(\.id) == [created.id])
        #expect(listed[0].revokedAt == nil)
    }
}

@Suite struct SiteIsolationTests {
    @Test(arguments: TestBackend.all) func siteBCannotReadListUpdateEraseOrSeeTheHistoryOfSiteAsCase(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let siteA = try service.key(site: "HOSP-A", role: .submitter)
        let siteB = try service.key(site: "HOSP-B", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("SHARED-ID"), headers: [siteA])
        #expect(try service.client.get("/v1/cases/SHARED-ID", headers: [siteB]).status == 404)
        #expect(try service.client.get("/v1/cases/SHARED-ID/history", headers: [siteB]).status == 404)
        #expect(try service.client.get("/v1/cases", headers: [siteB]).jsonValue?["cases"] == [])
        #expect(
            try service.client.send("PATCH", "/v1/cases/SHARED-ID", json: #"{"sex":"male"}"#, contentType: "application/merge-patch+json", headers: [siteB]).status
                == 404)
        #expect(try service.client.request("DELETE", "/v1/cases/SHARED-ID", headers: [siteB]).status == 404)
        // A PUT from B creates B's own case with the same external id; A's stays as it was.
        #expect(try service.client.send("PUT", "/v1/cases/SHARED-ID", json: caseJSON("SHARED-ID", ["sex": "male"]), headers: [siteB]).status == 201)
        let a = try service.client.get("/v1/cases/SHARED-ID", headers: [siteA])
        #expect(a.jsonValue?["sex"] == "female")
        #expect(a.header("etag") == "\"1\"")
        #expect(try service.cases() == ["HOSP-A/SHARED-ID", "HOSP-B/SHARED-ID"])
    }

    @Test(arguments: TestBackend.all) func aSubmitterNamingAnotherSiteIs403AndAnAdminMayActOnAnySite(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let siteA = try service.key(site: "HOSP-A", role: .submitter)
        let siteB = try service.key(site: "HOSP-B", role: .submitter)
        let admin = try service.key(site: "REGISTRY", role: .admin)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [siteA])
        #expect(try service.client.get("/v1/cases/A-1?site=HOSP-A", headers: [siteB]).status == 403)
        #expect(try service.client.get("/v1/cases?site=HOSP-A", headers: [siteB]).status == 403)
        #expect(try service.client.get("/v1/cases/A-1?site=HOSP-A", headers: [siteA]).status == 200)
        #expect(try service.client.get("/v1/cases/A-1?site=HOSP-A", headers: [admin]).status == 200)
        #expect(try service.client.get("/v1/cases/A-1", headers: [admin]).status == 404)  // admin's own site by default
        #expect(try service.client.send("POST", "/v1/cases?site=HOSP-C", json: caseJSON("C-1"), headers: [admin]).status == 201)
        #expect(try service.client.get("/v1/cases/C-1?site=bad%20site", headers: [admin]).status == 400)
    }
}

@Suite struct CaseListTests {
    @Test(arguments: TestBackend.all) func listsNewestFirstWithKeysetPagination(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        for i in 1...5 { _ = try service.client.send("POST", "/v1/cases", json: caseJSON("L-\(i)"), headers: [auth]) }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            pages += 1
            guard pages <= 10 else {
                Issue.record("pagination did not end after 10 pages")
                break
            }
            let path = "/v1/cases?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try #require(try service.client.get(path, headers: [auth]).jsonValue)
            let ids = page["cases"]?.arrayValue?.compactMap { $0["external_id"]?.stringValue } ?? []
            #expect(ids.count <= 2)
            seen += ids
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        #expect(seen == ["L-5", "L-4", "L-3", "L-2", "L-1"])
    }

    @Test(arguments: TestBackend.all) func aCaseChangedDuringAWalkMovesToTheFrontAndIsNeverRepeated(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        for i in 1...5 { _ = try service.client.send("POST", "/v1/cases", json: caseJSON("L-\(i)"), headers: [auth]) }
        let first = try #require(try service.client.get("/v1/cases?limit=2", headers: [auth]).jsonValue)
        _ = try service.client.send("PUT", "/v1/cases/L-4", json: caseJSON("L-4", ["sex": "male"]), headers: [auth])
        let cursor = try #require(first["next_cursor"]?.stringValue)
        let rest = try service.client.get("/v1/cases?cursor=\(cursor)", headers: [auth]).jsonValue
        let ids = rest?["cases"]?.arrayValue?.compactMap { $0["external_id"]?.stringValue }
        #expect(ids == ["L-3", "L-2", "L-1"])
        let fresh = try service.client.get("/v1/cases?limit=1", headers: [auth]).jsonValue
        #expect(fresh?["cases"]?.arrayValue?.first?["external_id"] == "L-4")
    }

    @Test(arguments: TestBackend.all) func filtersByLocalizationResponseGroupAndUpdatedSince(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("OD-1"), headers: [auth])
        let cns = caseJSON(
            "CNS-1",
            ["intracranial": ["diagnosis_date": "2023-02-01", "imaging": ["findings": ["intraparenchymal_lesion"]], "csf": ["cytology": "positive"]],
             "response": ["reported": "PR"]])
        #expect(try service.client.send("POST", "/v1/cases", json: cns, headers: [auth]).status == 201)
        func ids(_ query: String) throws -> [String] {
            try service.client.get("/v1/cases?\(query)", headers: [auth]).jsonValue?["cases"]?.arrayValue?.compactMap { $0["external_id"]?.stringValue } ?? []
        }
        #expect(try ids("localization=CNS") == ["CNS-1"])
        #expect(try ids("localization=OD&localization=CNS") == ["CNS-1", "OD-1"])
        #expect(try ids("localization=OD,CNS") == ["CNS-1", "OD-1"])
        #expect(try ids("response_group=CR%2BVGPR") == ["OD-1"])
        #expect(try ids("updated_since=2000-01-01") == ["CNS-1", "OD-1"])
        #expect(try ids("updated_since=2999-01-01") == [])
        // A bound in whole seconds includes the cases updated within that second.
        let updatedAt = try #require(try service.client.get("/v1/cases/OD-1", headers: [auth]).jsonValue?["updated_at"]?.stringValue)
        let wholeSecond = String(updatedAt.prefix(19)) + "Z"
        #expect(try ids("updated_since=\(wholeSecond)").contains("OD-1"))
    }

    @Test(arguments: TestBackend.all) func badListParametersAre400NamingTheParameter(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        for (query, name) in [("limit=0", "limit"), ("limit=ten", "limit"), ("cursor=zzz", "cursor"), ("localization=brain", "localization"),
                              ("updated_since=yesterday", "updated_since"), ("colour=red", "colour")] {
            let response = try service.client.get("/v1/cases?\(query)", headers: [auth])
            #expect(response.status == 400, "\(query)")
            // An unknown parameter's name is the client's input: not echoed (issue #12, "no echo").
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == .string(name == "colour" ? "" : name))
            if name == "colour" { #expect(!response.text.contains("colour")) }
        }
        // A limit above the cap is capped, not refused.
        #expect(try service.client.get("/v1/cases?limit=100000", headers: [auth]).status == 200)
    }
}
