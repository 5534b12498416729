@testable import API
import Foundation
import HTTPServer
import Registry
import Testing

/// Dashboard polls of the cohort routes (a 304, a cached 200) are answered on the event loop; what
/// needs computing, the disk or a decision about credentials goes to a worker (issue 11). The
/// server counts the requests it hands to workers, which is what these tests read.
@Suite struct CohortPollTests {
    static let path = "/v1/cohorts/survival?group_by=localization"

    @Test func aCachedAnswerAndA304AreGivenWithoutAWorkerAndCarryTheirETag() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let start = service.server.requestsRunOnWorkers
        let first = try service.client.get(Self.path, headers: [analyst])
        #expect(first.status == 200)
        let tag = try #require(first.header("etag"))
        #expect(service.server.requestsRunOnWorkers == start + 1, "the cold computation runs on a worker")

        let cached = try service.client.get(Self.path, headers: [analyst])
        #expect(cached.status == 200)
        #expect(cached.body == first.body)
        #expect(cached.header("etag") == tag)
        #expect(cached.header("cache-control") == "private, no-cache")
        let notModified = try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("etag") == tag)
        // The same query with its parameters in another order is the same resource.
        let reordered = try service.client.get(
            "/v1/cohorts/survival?tau=12&group_by=localization", headers: [analyst])
        #expect(reordered.status == 200)
        let reorderedAgain = try service.client.get(
            "/v1/cohorts/survival?group_by=localization&tau=12", headers: [analyst, ("If-None-Match", try #require(reordered.header("etag")))])
        #expect(reorderedAgain.status == 304)
        #expect(service.server.requestsRunOnWorkers == start + 2, "only the two cold computations ran on a worker")
    }

    /// The route remembers the last query it found and tries it first: interleaved polls of other
    /// queries, another parameter order and another caller's scope must each get their own ETag.
    @Test func pollsOfDifferentQueriesAndScopesInTurnEachGetTheirOwnETag() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let submitter = try service.key(site: DemoCohort.site, role: .submitter)
        let polls: [(path: String, key: (String, String))] = [
            (Self.path, analyst), ("/v1/cohorts/survival?group_by=localization&tau=12", analyst),
            ("/v1/cohorts/survival?tau=12&group_by=localization", analyst), (Self.path, submitter),
        ]
        var tags: [String] = []
        for poll in polls { tags.append(try #require(try service.client.get(poll.path, headers: [poll.key]).header("etag"))) }
        #expect(tags[1] == tags[2], "the same query in another order is the same resource")
        #expect(Set([tags[0], tags[1], tags[3]]).count == 3)
        for round in 0..<3 {
            for (index, poll) in polls.enumerated() {
                let own = try service.client.get(poll.path, headers: [poll.key, ("If-None-Match", tags[index])])
                #expect(own.status == 304, "round \(round), poll \(index)")
                #expect(own.header("etag") == tags[index])
                let other = tags[(index + 1) % polls.count] == tags[index] ? tags[(index + 2) % polls.count] : tags[(index + 1) % polls.count]
                let notTheirs = try service.client.get(poll.path, headers: [poll.key, ("If-None-Match", other)])
                #expect(notTheirs.status == 200, "round \(round), poll \(index)")
                #expect(notTheirs.header("etag") == tags[index])
            }
        }
    }

    @Test func aPollStillNeedsAValidKeyOfACohortRole() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let tag = try #require(try service.client.get(Self.path, headers: [analyst]).header("etag"))
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)]).status == 304)

        let withoutKey = try service.client.get(Self.path, headers: [("If-None-Match", tag)])
        #expect(withoutKey.status == 401)
        #expect(withoutKey.header("etag") == nil)
        let unknownKey = try service.client.get(
            Self.path, headers: [("Authorization", "Bearer icmm_not-a-key"), ("If-None-Match", tag)])
        #expect(unknownKey.status == 401)
        #expect(try service.client.get(Self.path, headers: [("Authorization", "Bearer icmm_not-a-key")]).status == 401)
        // No 304 for a query that is not valid: its 400 comes first.
        let bad = try service.client.get(Self.path + "&conf_type=bogus", headers: [analyst, ("If-None-Match", "*")])
        #expect(bad.status == 400)
        // A submitter sees its own site's cohort: another ETag, and never the analyst's cached body.
        let submitter = try service.key(site: DemoCohort.site, role: .submitter)
        let own = try service.client.get(Self.path, headers: [submitter, ("If-None-Match", tag)])
        #expect(own.status == 200)
        #expect(own.header("etag") != tag)
    }

    @Test func eachPollTakesOneTokenOfItsKeyAndPastTheLimitIsRefused() throws {
        var limits = RateLimitConfiguration()
        limits.perKey = RateLimit(rate: 0.001, burst: 5)
        let service = try TestService(rateLimits: limits)
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let tag = try #require(try service.client.get(Self.path, headers: [analyst]).header("etag"))  // token 1, worker
        let workers = service.server.requestsRunOnWorkers
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)]).status == 304)  // 2
        #expect(try service.client.get(Self.path, headers: [analyst]).status == 200)  // 3
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)]).status == 304)  // 4
        #expect(try service.client.get(Self.path, headers: [analyst]).status == 200)  // 5
        let refused = try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)])
        #expect(refused.status == 429)
        #expect(refused.header("retry-after") != nil)
        #expect(try service.client.get(Self.path, headers: [analyst]).status == 429)
        #expect(service.server.requestsRunOnWorkers == workers, "answered, and refused, on the event loop")
    }

    @Test func aCachedDatasetIsAuditedAsARead304IsNot() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let path = "/v1/cohorts/dataset.csv?endpoint=os"
        let first = try service.client.get(path, headers: [analyst, ("X-Request-Id", "poll-1")])
        #expect(first.status == 200)
        let tag = try #require(first.header("etag"))
        let workers = service.server.requestsRunOnWorkers
        let cached = try service.client.get(path, headers: [analyst, ("X-Request-Id", "poll-2")])
        #expect(cached.status == 200)
        #expect(cached.body == first.body)
        #expect(try service.client.get(path, headers: [analyst, ("If-None-Match", tag), ("X-Request-Id", "poll-3")]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers)

        var query = AuditQuery()
        query.action = "read"
        let reads = try service.application.accessLog.page(query).records.filter { $0.route == "/v1/cohorts/dataset.csv" }
        #expect(Set(reads.compactMap(\.requestID)) == ["poll-1", "poll-2"])
        let rows = first.text.split(separator: "\n").count - 1
        #expect(reads.allSatisfy { $0.caseCount == rows && $0.site == "*" })
    }

    @Test func aStaleCacheGoesToAWorker() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let tag = try #require(try service.client.get(Self.path, headers: [analyst]).header("etag"))
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)]).status == 304)

        // A write by this process: the version must be read again, on a worker.
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("POLL-1"), headers: [submitter]).status == 201)
        var workers = service.server.requestsRunOnWorkers
        let after = try service.client.get(Self.path, headers: [analyst, ("If-None-Match", tag)])
        #expect(after.status == 200)
        let newTag = try #require(after.header("etag"))
        #expect(newTag != tag)
        #expect(service.server.requestsRunOnWorkers == workers + 1)
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", newTag)]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers + 1)

        // A version read longer ago than another process's write may take to be seen is read again,
        // on a worker (the key has left its 2-second cache by then too); then polls are cheap again.
        Thread.sleep(forTimeInterval: max(CaseStore.externalWriteDelay.seconds, 2) + 0.2)
        workers = service.server.requestsRunOnWorkers
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", newTag)]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers + 1)
        #expect(try service.client.get(Self.path, headers: [analyst, ("If-None-Match", newTag)]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers + 1)
    }

    /// The poll path keeps the last key's rate-limit bucket and reads its key from the cache: a
    /// key revoked in this process is refused on its next poll, and two keys polling in turn each
    /// spend their own tokens.
    @Test func aRevokedKeysNextPollIsRefusedAndKeysPollingInTurnSpendTheirOwnTokens() throws {
        var limits = RateLimitConfiguration()
        limits.perKey = RateLimit(rate: 0.001, burst: 4)
        let service = try TestService(rateLimits: limits)
        try service.loadDemo()
        let first = try service.application.keys.create(site: "ANALYSIS", role: .analyst)
        let second = try service.application.keys.create(site: "ANALYSIS", role: .analyst)
        let a = ("Authorization", "Bearer " + first.key)
        let b = ("Authorization", "Bearer " + second.key)
        let tag = try #require(try service.client.get(Self.path, headers: [a]).header("etag"))  // a: 1 (worker)
        #expect(try service.client.get(Self.path, headers: [b]).status == 200)  // b: 1
        let workers = service.server.requestsRunOnWorkers
        for round in 0..<3 {  // a: 2, 3, 4; b: 2, 3, 4
            #expect(try service.client.get(Self.path, headers: [a, ("If-None-Match", tag)]).status == 304, "a, round \(round)")
            #expect(try service.client.get(Self.path, headers: [b, ("If-None-Match", tag)]).status == 304, "b, round \(round)")
        }
        #expect(service.server.requestsRunOnWorkers == workers, "all answered on the event loop")
        #expect(try service.client.get(Self.path, headers: [a, ("If-None-Match", tag)]).status == 429)
        #expect(try service.client.get(Self.path, headers: [b, ("If-None-Match", tag)]).status == 429)

        let third = try service.application.keys.create(site: "ANALYSIS", role: .analyst)
        let c = ("Authorization", "Bearer " + third.key)
        #expect(try service.client.get(Self.path, headers: [c, ("If-None-Match", tag)]).status == 304)  // worker: cache miss
        #expect(try service.client.get(Self.path, headers: [c, ("If-None-Match", tag)]).status == 304)  // event loop
        try service.application.keys.revoke(id: third.id)
        let revoked = try service.client.get(Self.path, headers: [c, ("If-None-Match", tag)])
        #expect(revoked.status == 401)
        #expect(revoked.header("etag") == nil)
    }

    /// Header names in any case are found on the poll path, and of two `Authorization` fields
    /// the first counts, as in the handler.
    @Test func headerNamesInAnyCaseAndTheFirstOfTwoAuthorizationFields() throws {
        let service = try TestService()
        try service.loadDemo()
        let analyst = try service.key(site: "ANALYSIS", role: .analyst)
        let tag = try #require(try service.client.get(Self.path, headers: [analyst]).header("etag"))
        let workers = service.server.requestsRunOnWorkers
        for (authorization, condition) in [("authorization", "if-none-match"), ("AUTHORIZATION", "IF-NONE-MATCH"), ("AuThOrIzAtIoN", "If-None-MATCH")] {
            let response = try service.client.get(Self.path, headers: [(authorization, analyst.1), (condition, tag)])
            #expect(response.status == 304, "\(authorization) / \(condition)")
        }
        #expect(service.server.requestsRunOnWorkers == workers)
        // Same length as the two names, not them: nothing is read from it.
        #expect(try service.client.get(Self.path, headers: [("X-Authorizati", analyst.1), ("If-None-Matcx", tag)]).status == 401)
        #expect(Application.pollHeaders(HTTPHeaders([("Authorization", "first"), ("authorization", "second")])).authorization == "first")
        #expect(Application.pollHeaders(HTTPHeaders([("If-None-Match", "\"x\""), ("Host", "h")])) == (nil, "\"x\""))
    }

    /// The byte-level readings of `Authorization` and `If-None-Match` on the poll path agree with
    /// the handler's: a list of tags, spaces around them, `*`, a weak tag (never equal), a scheme in
    /// another case, and what is not a bearer key.
    @Test func headerVariantsAreReadAsTheHandlerReadsThem() throws {
        let service = try TestService()
        try service.loadDemo()
        let (_, bearer) = try service.key(site: "ANALYSIS", role: .analyst)
        let key = String(bearer.dropFirst("Bearer ".count))
        let tag = try #require(try service.client.get(Self.path, headers: [("Authorization", bearer)]).header("etag"))
        let cases: [(authorization: String, condition: String, status: Int)] = [
            ("Bearer " + key, "\"other\", " + tag, 304),
            ("bEaReR " + key, " \t" + tag + " ,\"x\"", 304),
            ("Bearer    " + key + "  ", "*", 304),
            ("Bearer " + key, "W/" + tag, 200),
            ("Bearer " + key, "\"other\",,", 200),
            ("Bearer " + key, "", 200),
            ("Bearer", tag, 401),
            ("Bearer ", tag, 401),
            ("Basic " + key, tag, 401),
            ("Bearer\t" + key, tag, 401),
        ]
        for (authorization, condition, status) in cases {
            let response = try service.client.get(Self.path, headers: [("Authorization", authorization), ("If-None-Match", condition)])
            #expect(response.status == status, "\(authorization.prefix(8)) / \(condition)")
        }
    }

    /// A submitter's poll carries the ETag of its own site's version (issue #12) on the event
    /// loop too: another site's write sends the next poll to a worker (the registry-wide version
    /// moved), which still answers 304 with the same ETag; then polls are cheap again.
    @Test func aSubmittersPollUsesItsSitesVersionOnTheEventLoopToo() throws {
        let service = try TestService()
        try service.loadDemo()
        let submitter = try service.key(site: DemoCohort.site, role: .submitter)
        let tag = try #require(try service.client.get(Self.path, headers: [submitter]).header("etag"))
        var workers = service.server.requestsRunOnWorkers
        #expect(try service.client.get(Self.path, headers: [submitter, ("If-None-Match", tag)]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers)

        let other = try service.key(site: "HOSP-B", role: .submitter)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("POLL-B"), headers: [other]).status == 201)
        workers = service.server.requestsRunOnWorkers
        let afterOther = try service.client.get(Self.path, headers: [submitter, ("If-None-Match", tag)])
        #expect(afterOther.status == 304)
        #expect(afterOther.header("etag") == tag)
        #expect(service.server.requestsRunOnWorkers == workers + 1)
        #expect(try service.client.get(Self.path, headers: [submitter, ("If-None-Match", tag)]).status == 304)
        #expect(service.server.requestsRunOnWorkers == workers + 1)
    }
}
