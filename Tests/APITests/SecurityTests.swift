import API
import Foundation
import JSON
import Registry
import Storage
import TestSupport
import Testing

/// Issue #12: conditional requests, strict ids, no echo, opaque cursors, rate limits, the
/// read-access trail.
@Suite struct ConditionalRequestTests {
    @Test(arguments: TestBackend.all) func ifNoneMatchAndIfMatchTakeListsAndAnyMatchCounts(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("L-1"), headers: [auth]).status == 201)
        // GET: the current tag anywhere in the list (or weakly) is 304; a list without it is 200.
        for header in [#""7", "1""#, #""1","9""#, #"W/"1""#, #""x", W/"1""#, "*"] {
            #expect(try service.client.get("/v1/cases/L-1", headers: [auth, ("If-None-Match", header)]).status == 304, "\(header)")
        }
        #expect(try service.client.get("/v1/cases/L-1", headers: [auth, ("If-None-Match", #""7", "8""#)]).status == 200)
        // Two header lines are one list (RFC 9110 section 5.3).
        #expect(
            try service.client.get("/v1/cases/L-1", headers: [auth, ("If-None-Match", #""7""#), ("If-None-Match", #""1""#)]).status == 304)
        // PUT: any listed version matches; If-Match compares strongly, so W/"2" never does.
        let put = try service.client.send(
            "PUT", "/v1/cases/L-1", json: caseJSON("L-1", ["sex": "male"]), headers: [auth, ("If-Match", #""5", "1", "9""#)])
        #expect(put.status == 200)
        #expect(put.header("etag") == #""2""#)
        let weak = try service.client.send(
            "PUT", "/v1/cases/L-1", json: caseJSON("L-1", ["sex": "unknown"]), headers: [auth, ("If-Match", #"W/"2""#)])
        #expect(weak.status == 412)
        let patch = try service.client.send(
            "PATCH", "/v1/cases/L-1", json: #"{"birth_year":1950}"#, contentType: "application/merge-patch+json",
            headers: [auth, ("If-Match", #""1", "2""#)])
        #expect(patch.status == 200)
        #expect(try service.client.request("DELETE", "/v1/cases/L-1", headers: [auth, ("If-Match", #""1", "2""#)]).status == 412)
        #expect(try service.client.request("DELETE", "/v1/cases/L-1", headers: [auth, ("If-Match", #""1", "3""#)]).status == 204)
    }
}

@Suite struct StrictIdentifierTests {
    @Test func externalIDsMadeOnlyOfDotsAreRefused() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        for id in [".", "..", "..."] {
            let posted = try service.client.send("POST", "/v1/cases", json: caseJSON(id), headers: [auth])
            #expect(posted.status == 422, "\(id)")
            #expect(posted.jsonValue?["errors"]?.arrayValue?.first?["path"] == "/external_id")
            #expect(posted.header("location") == nil)
        }
        #expect(try service.client.send("PUT", "/v1/cases/...", json: caseJSON("..."), headers: [auth]).status == 422)
        let imported = try service.client.send("POST", "/v1/imports", json: caseJSON(".."), contentType: "application/x-ndjson", headers: [auth])
        #expect(imported.status == 422)
        // Dots among other characters stay valid.
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("a.b..c"), headers: [auth]).status == 201)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON(".x"), headers: [auth]).status == 201)
    }
}

@Suite struct NoEchoTests {
    @Test func unknownMemberNamesAreCutAndErrorsAreCapped() throws {
        let service = try TestService()
        // 110,991 unknown keys in about 1 MB once gave an 11.9 MB answer.
        var members: [String] = []
        for index in 0..<20_000 { members.append(#""unknown_member_\#(index)":1"#) }
        let body = "{" + members.joined(separator: ",") + "}"
        let response = try service.client.send("POST", "/v1/classify", json: body)
        #expect(response.status == 422)
        let errors = response.jsonValue?["errors"]?.arrayValue ?? []
        #expect(errors.count == 100)
        #expect(response.jsonValue?["errors_total"]?.stringValue.flatMap { Int($0) } ?? 0 > 20_000)
        #expect(response.body.count < 20_000)
        // A 64 KB name comes back cut to 32 bytes (ending in "~", which a pointer writes "~0"), not whole.
        let long = String(repeating: "n", count: 65_536)
        let one = try service.client.send("POST", "/v1/classify", json: #"{"\#(long)":1}"#)
        #expect(one.status == 422)
        #expect(one.body.count < 4_000)
        let paths = (one.jsonValue?["errors"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        #expect(paths.contains("/" + String(repeating: "n", count: 31) + "~0"))  // "~" escaped in the pointer
    }

    @Test func unknownQueryParameterNamesAreNotRepeated() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let name = "patient_name_Mario_Rossi"
        for path in ["/v1/cases?\(name)=1", "/v1/cases/A-1?\(name)=1", "/v1/cohorts/summary?\(name)=1"] {
            let response = try service.client.get(path, headers: [auth])
            #expect(response.status == 400, "\(path)")
            #expect(!response.text.contains("Mario"), "\(path)")
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["code"] == "unknown_parameter")
        }
        let classify = try service.client.send("POST", "/v1/classify?\(name)=1", json: caseJSON("C-1"))
        #expect(classify.status == 400)
        #expect(!classify.text.contains("Mario"))
    }

    @Test func aRejectedImportListsAtMostAHundredRecords() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let lines = (0..<250).map { _ in #"{"sex":"robot"}"# }.joined(separator: "\n")
        let response = try service.client.send("POST", "/v1/imports", json: lines, contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 422)
        #expect(response.jsonValue?["records"]?.arrayValue?.count == 100)
        #expect(response.jsonValue?["records_total"] == .number(250))
    }
}

@Suite struct OpaqueCursorTests {
    @Test(arguments: TestBackend.all) func caseListCursorsRevealNothingAndWorkOnlyForTheirSite(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let a = try service.key(site: "HOSP-A", role: .submitter)
        let b = try service.key(site: "HOSP-B", role: .submitter)
        for index in 0..<3 {
            #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("A-\(index)"), headers: [a]).status == 201)
        }
        let first = try service.client.get("/v1/cases?limit=1", headers: [a])
        let cursor = try #require(first.jsonValue?["next_cursor"]?.stringValue)
        // Not the change sequence in base 36 any more, and not the same text twice.
        #expect(!cursor.hasPrefix("c") || cursor.count > 20)
        #expect(cursor.count > 20)
        let again = try #require(try service.client.get("/v1/cases?limit=1", headers: [a]).jsonValue?["next_cursor"]?.stringValue)
        #expect(again != cursor)
        let second = try service.client.get("/v1/cases?limit=1&cursor=\(cursor)", headers: [a])
        #expect(second.status == 200)
        #expect(second.jsonValue?["cases"]?.arrayValue?.first?["external_id"] == "A-1")
        // Site B cannot use (or learn anything from) site A's cursor; a tampered cursor is refused.
        #expect(try service.client.get("/v1/cases?cursor=\(cursor)", headers: [b]).status == 400)
        var tampered = Array(cursor)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        #expect(try service.client.get("/v1/cases?cursor=\(String(tampered))", headers: [a]).status == 400)
        #expect(try service.client.get("/v1/cases?cursor=c1", headers: [a]).status == 400)
    }

    @Test(arguments: TestBackend.all) func theSecretLivesInTheDatabaseSoCursorsSurviveARestart(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let first = OpaqueTokens(database: service.database)
        let second = OpaqueTokens(database: service.database)
        let sealed = first.sealCursor("c42", scope: "cases|A")
        #expect(second.openCursor(sealed, scope: "cases|A") == "c42")
        #expect(second.openCursor(sealed, scope: "cases|B") == nil)
        #expect(first.entityTag(scope: "s", version: "1") == second.entityTag(scope: "s", version: "1"))
        #expect(first.entityTag(scope: "s", version: "1") != first.entityTag(scope: "t", version: "1"))
        #expect(!first.entityTag(scope: "s", version: "12345").contains("12345"))
    }

    @Test(arguments: TestBackend.all) func emptyFilterValuesAre400NotIgnored(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let admin = try service.key(site: "HOSP-A", role: .admin)
        for query in ["site=", "limit=", "cursor=", "localization=", "updated_since=", "limit=1&limit=2"] {
            #expect(try service.client.get("/v1/cases?\(query)", headers: [admin]).status == 400, "\(query)")
        }
    }
}

@Suite struct RateLimitTests {
    static func tightLimits() -> RateLimitConfiguration {
        var limits = RateLimitConfiguration()
        limits.perKey = RateLimit(rate: 1, burst: 3)
        limits.failedAuthPerAddress = RateLimit(rate: 1, burst: 2)
        limits.classifyPerAddress = RateLimit(rate: 1, burst: 2)
        return limits
    }

    @Test func aKeyOverItsLimitGets429WithHeadersAndRecoversAfterRetryAfter() throws {
        let service = try TestService(rateLimits: Self.tightLimits())
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        var statuses: [Int] = []
        var limited: TestResponse?
        for _ in 0..<4 {
            let response = try service.client.get("/v1/cases", headers: [auth])
            statuses.append(response.status)
            if response.status == 429 { limited = response }
        }
        #expect(statuses.prefix(3).allSatisfy { $0 == 200 })
        let response = try #require(limited)
        #expect(response.header("content-type") == "application/problem+json")
        #expect(response.jsonObject["type"] as? String == "https://icmm-registry.example/problems/rate-limited")
        let retryAfter = try #require(response.header("retry-after").flatMap(Int.init))
        #expect(retryAfter >= 1 && retryAfter <= 2)
        #expect(response.header("ratelimit-policy") == #""per-key";q=3;w=3"#)
        #expect(response.header("ratelimit")?.hasPrefix(#""per-key";r=0;t="#) == true)
        // Another key is not affected; /healthz is never limited.
        let other = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.get("/v1/cases", headers: [other]).status == 200)
        for _ in 0..<20 { #expect(try service.client.get("/healthz").status == 200) }
        // The client that waits Retry-After is served again.
        Thread.sleep(forTimeInterval: Double(retryAfter))
        #expect(try service.client.get("/v1/cases", headers: [auth]).status == 200)
        let metrics = try service.client.get("/metrics", headers: [try service.key(site: "OPS", role: .admin)]).text
        #expect(metrics.contains(#"http_rate_limited_total{policy="per-key"}"#))
    }

    @Test func failedAuthenticationsAreLimitedPerAddressButAValidKeyIsNot() throws {
        let service = try TestService(rateLimits: Self.tightLimits())
        let bad = ("Authorization", "Bearer icmm_" + String(repeating: "x", count: 43))
        #expect(try service.client.get("/v1/cases", headers: [bad]).status == 401)
        #expect(try service.client.get("/v1/cases").status == 401)
        let limited = try service.client.get("/v1/cases", headers: [bad])
        #expect(limited.status == 429)
        #expect(limited.header("ratelimit-policy")?.hasPrefix(#""failed-auth""#) == true)
        #expect(limited.header("retry-after") != nil)
        // Guessing is slowed; working with a valid key is not.
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.get("/v1/cases", headers: [auth]).status == 200)
    }

    @Test func classifyIsOpenButLimitedPerAddress() throws {
        let service = try TestService(rateLimits: Self.tightLimits())
        let statuses = try (0..<3).map { _ in try service.client.send("POST", "/v1/classify", json: caseJSON("C-1")).status }
        #expect(statuses == [200, 200, 429])
    }

    @Test func bucketsRefillAtTheirRateUpToTheBurst() {
        let buckets = TokenBucketProbe(rate: 2, burst: 4)
        #expect(buckets.takes(5, at: 0) == [true, true, true, true, false])
        #expect(buckets.takes(1, at: 500_000_000) == [true])  // 0.5 s: one token back
        #expect(buckets.takes(5, at: 10_000_000_000) == [true, true, true, true, false])  // never more than the burst
    }
}

@Suite struct ReadAuditTests {
    @Test(arguments: TestBackend.all) func everyReadOfPatientLevelDataIsRecordedWithoutValues(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        try service.loadDemo()
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let admin = try service.key(site: "OPS", role: .admin)
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let distinctive = 1_923  // a birth year nothing else contains
        let created = try service.client.send(
            "POST", "/v1/cases", json: caseJSON("SECRET-ID-7", ["birth_year": .number(Double(distinctive))]), headers: [submitter])
        #expect(created.status == 201)
        let reads: [(String, (String, String), String)] = [
            ("/v1/cases/SECRET-ID-7", submitter, "/v1/cases/{external_id}"),
            ("/v1/cases", submitter, "/v1/cases"),
            ("/v1/cases/SECRET-ID-7/history", submitter, "/v1/cases/{external_id}/history"),
            ("/v1/cohorts/dataset.csv", analyst, "/v1/cohorts/dataset.csv"),
            ("/v1/cases?site=DEMO&limit=7", admin, "/v1/cases"),
        ]
        var requestIDs: [String] = []
        for (index, (path, key, _)) in reads.enumerated() {
            let requestID = "audit-test-\(index)"
            let response = try service.client.get(path, headers: [key, ("X-Request-Id", requestID)])
            #expect(response.status == 200, "\(path)")
            requestIDs.append(requestID)
        }
        let imported = try service.client.send(
            "POST", "/v1/imports?dry_run=true", json: caseJSON("IMP-1"), contentType: "application/x-ndjson",
            headers: [submitter, ("X-Request-Id", "audit-test-import")])
        #expect(imported.status == 200)
        // A 304 returns no data: not a read.
        #expect(try service.client.get("/v1/cases/SECRET-ID-7", headers: [submitter, ("If-None-Match", #""1""#)]).status == 304)

        let trail = try service.client.get("/v1/audit?action=read&limit=500", headers: [admin])
        #expect(trail.status == 200)
        let entries = trail.jsonValue?["entries"]?.arrayValue ?? []
        func entry(_ requestID: String) -> JSONValue? { entries.first { $0["request_id"]?.stringValue == requestID } }
        for (index, (_, _, route)) in reads.enumerated() {
            let found = try #require(entry(requestIDs[index]), "\(route)")
            #expect(found["route"]?.stringValue == route)
            #expect(found["action"] == "read")
            #expect(found["key_id"]?.stringValue?.hasPrefix("key_") == true)
        }
        #expect(entry(requestIDs[0])?["case_count"] == .number(1))
        #expect(entry(requestIDs[0])?["site"] == "HOSP-A")
        #expect(entry(requestIDs[1])?["case_count"] == .number(1))
        #expect(entry(requestIDs[3])?["site"] == "*")
        #expect((entry(requestIDs[3])?["case_count"]?.numberValue ?? 0) >= 5)
        #expect(entry(requestIDs[4])?["case_count"] == .number(7))
        #expect(entry(requestIDs[4])?["site"] == "DEMO")
        #expect(entry("audit-test-import")?["route"] == "/v1/imports")
        #expect(entries.count == reads.count + 1)
        // Never values, never the external id of a read.
        #expect(!trail.text.contains(String(distinctive)))
        #expect(!trail.text.contains("SECRET-ID-7"))

        // Writes come from the same route; filters by site, key and action work together.
        let writes = try service.client.get("/v1/audit?site=HOSP-A&action=create", headers: [admin])
        #expect(writes.jsonValue?["entries"]?.arrayValue?.map { $0["external_id"] } == ["SECRET-ID-7"])
        let bySite = try service.client.get("/v1/audit?site=HOSP-A", headers: [admin]).jsonValue?["entries"]?.arrayValue ?? []
        // HOSP-A: its create, its own three reads, its dry-run import, and the analyst's read across sites.
        #expect(bySite.count == 6)
        let keyID = try #require(entry(requestIDs[4])?["key_id"]?.stringValue)
        #expect(try service.client.get("/v1/audit?key=\(keyID)", headers: [admin]).jsonValue?["entries"]?.arrayValue?.count == 1)
        #expect(try service.client.get("/v1/audit?until=2000-01-01", headers: [admin]).jsonValue?["entries"]?.arrayValue?.count == 0)
        // Admins only.
        #expect(try service.client.get("/v1/audit", headers: [submitter]).status == 403)
        #expect(try service.client.get("/v1/audit", headers: [analyst]).status == 403)
        #expect(try service.client.get("/v1/audit").status == 401)
    }

    @Test(arguments: TestBackend.all) func theTrailIsPaginatedWithAnOpaqueCursor(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let admin = try service.key(site: "HOSP-A", role: .admin)
        for index in 0..<5 {
            #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("P-\(index)"), headers: [admin]).status == 201)
        }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let path = "/v1/audit?action=create&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try service.client.get(path, headers: [admin])
            #expect(page.status == 200)
            seen += (page.jsonValue?["entries"]?.arrayValue ?? []).compactMap { $0["external_id"]?.stringValue }
            cursor = page.jsonValue?["next_cursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == ["P-4", "P-3", "P-2", "P-1", "P-0"])
        #expect(pages == 3)
        #expect(try service.client.get("/v1/audit?cursor=zzz", headers: [admin]).status == 400)
        #expect(try service.client.get("/v1/audit?action=peek", headers: [admin]).status == 400)
        #expect(try service.client.get("/v1/audit?site=", headers: [admin]).status == 400)
    }

    @Test(arguments: TestBackend.all) func retentionDeletesOldReadsOnly(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let log = AccessLog(database: service.database, now: { testNow })
        log.record(keyID: "key_1", site: "A", route: "/v1/cases", requestID: "r1", caseCount: 3)
        log.flush()
        let later = AccessLog(database: service.database, now: { testNow.addingTimeInterval(400 * 86_400) })
        #expect(try later.prune(olderThan: .seconds(365 * 86_400)) == 1)
        #expect(try later.page(AuditQuery()).records.isEmpty)
    }
}

/// Drives `TokenBuckets` with an explicit clock.
struct TokenBucketProbe {
    let buckets: TokenBuckets
    init(rate: Double, burst: Double) { buckets = TokenBuckets(limit: RateLimit(rate: rate, burst: burst), policy: "test") }
    func takes(_ count: Int, at nanoseconds: UInt64) -> [Bool] {
        (0..<count).map { _ in buckets.take("k", now: nanoseconds + 1) == nil }
    }
}

/// Issue #12, "No metadata across sites": a cohort's ETag and `data_version` follow the caller's
/// scope. A write at another site changes neither for a submitter; a write or an erasure at its
/// own site changes both. Tags are opaque (an HMAC), for every role.
@Suite struct ScopedCohortVersionTests {
    @Test func aSubmittersCohortVersionMovesWithItsOwnSiteOnly() throws {
        let service = try TestService()
        try service.loadDemo()
        let hospitalA = try service.key(site: "HOSP-A", role: .submitter)
        let hospitalB = try service.key(site: "HOSP-B", role: .submitter)
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        for i in 1...3 { #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("A-\(i)"), headers: [hospitalA]).status == 201) }
        let path = "/v1/cohorts/summary"
        func state(_ key: (String, String)) throws -> (tag: String, version: Double, n: Double) {
            let response = try service.client.get(path, headers: [key])
            #expect(response.status == 200)
            let tag = try #require(response.header("ETag"))
            // Opaque: 24 base64url characters, no data version in clear.
            #expect(tag.wholeMatch(of: /"[A-Za-z0-9_-]{24}"/) != nil, "\(tag)")
            return (tag, response.jsonValue?["data_version"]?.numberValue ?? -1, response.jsonValue?["n"]?.numberValue ?? -1)
        }
        let a0 = try state(hospitalA)
        let analyst0 = try state(analyst)
        #expect(a0.n == 3)
        #expect(a0.version == 3, "HOSP-A's version counts HOSP-A's writes only (the demo's 50 are DEMO's)")
        #expect(analyst0.version >= 53)

        // Another site writes: nothing moves for HOSP-A (304 on its tag), everything for the analyst.
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("B-1"), headers: [hospitalB]).status == 201)
        #expect(try service.client.send("PUT", "/v1/cases/B-1", json: caseJSON("B-1", ["sex": "male"]), headers: [hospitalB]).status == 200)
        #expect(try service.client.get(path, headers: [hospitalA, ("If-None-Match", a0.tag)]).status == 304)
        let a1 = try state(hospitalA)
        #expect(a1.tag == a0.tag)
        #expect(a1.version == a0.version)
        let analyst1 = try state(analyst)
        #expect(analyst1.tag != analyst0.tag)
        #expect(analyst1.version > analyst0.version)

        // Its own write moves both.
        #expect(try service.client.send("PUT", "/v1/cases/A-1", json: caseJSON("A-1", ["sex": "male"]), headers: [hospitalA]).status == 200)
        #expect(try service.client.get(path, headers: [hospitalA, ("If-None-Match", a0.tag)]).status == 200)
        let a2 = try state(hospitalA)
        #expect(a2.tag != a1.tag)
        #expect(a2.version == a1.version + 1)

        // So does an erasure, though the erased case's row is gone.
        #expect(try service.client.request("DELETE", "/v1/cases/A-2", headers: [hospitalA]).status == 204)
        let a3 = try state(hospitalA)
        #expect(a3.tag != a2.tag)
        #expect(a3.version == a2.version + 1)
        #expect(a3.n == 2)

        // The same data seen twice gives the same tag; the same query by another scope another tag.
        #expect(try state(hospitalA).tag == a3.tag)
        #expect(try state(hospitalB).tag != a3.tag)
    }
}

@Suite struct FHIRReadAuditTests {
    /// The FHIR export and the answer of `POST /v1/fhir` (each case's classification) are reads
    /// of patient-level data, recorded like the REST routes', without values or external ids.
    @Test func fhirAnswersThatCarryCasesAreRecordedAsReads() throws {
        let service = try TestService()
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let admin = try service.key(site: "OPS", role: .admin)
        let bundle = try fhirFixture("od-case.json")
        let externalID = try #require(bundle.member("entry.0.resource.identifier.0.value")?.stringValue)
        let dryRun = try service.client.send(
            "POST", "/v1/fhir?dry_run=true", json: bundle.serializedString(), contentType: "application/fhir+json",
            headers: [submitter, ("X-Request-Id", "fhir-read-dry")])
        #expect(dryRun.status == 200)
        let stored = try service.client.send(
            "POST", "/v1/fhir", json: bundle.serializedString(), contentType: "application/fhir+json",
            headers: [submitter, ("X-Request-Id", "fhir-read-post")])
        #expect(stored.status == 201)
        let export = try service.client.get("/v1/cases/\(externalID)/fhir", headers: [submitter, ("X-Request-Id", "fhir-read-get")])
        #expect(export.status == 200)
        // A refused Bundle returns no case: not a read.
        let refused = try service.client.send(
            "POST", "/v1/fhir", json: bundle.serializedString(), contentType: "application/fhir+json",
            headers: [submitter, ("X-Request-Id", "fhir-read-refused")])
        #expect(refused.status == 422)

        let trail = try service.client.get("/v1/audit?action=read", headers: [admin])
        let entries = trail.jsonValue?["entries"]?.arrayValue ?? []
        func entry(_ requestID: String) -> JSONValue? { entries.first { $0["request_id"]?.stringValue == requestID } }
        #expect(entry("fhir-read-dry")?["route"] == "/v1/fhir")
        #expect(entry("fhir-read-dry")?["case_count"] == .number(1))
        #expect(entry("fhir-read-post")?["route"] == "/v1/fhir")
        #expect(entry("fhir-read-post")?["site"] == "HOSP-A")
        #expect(entry("fhir-read-get")?["route"] == "/v1/cases/{external_id}/fhir")
        #expect(entry("fhir-read-get")?["case_count"] == .number(1))
        #expect(entry("fhir-read-refused") == nil)
        #expect(entries.count == 3)
        #expect(!trail.text.contains(externalID))
    }
}
