import Foundation
import JSON
import Storage
import Synchronization
import TestSupport
import Testing

/// Single-case writes of two instances run side by side on PostgreSQL (row locks, change numbers
/// from a sequence, the data version bumped last: `Database.rowLockedGroupedWrite`,
/// `CaseStore.nextChangeSequence`). These drive many writers of the SAME case or the same
/// external id through both instances at once and check what the registry-wide lock used to
/// guarantee. PostgreSQL only: SQLite has one writer per file.
@Suite(.enabled(if: crossInstancePostgresURL != nil, "needs ICMM_TEST_POSTGRES_URL (make test starts a throwaway cluster)"))
struct ConcurrentCaseWriteTests {
    /// Runs `count` requests at once, alternating between the instances, each after all are ready
    /// (bounded wait); returns their responses (nil: the request failed) in index order.
    func together(
        _ count: Int, over instances: [PostgresInstance], _ request: @escaping @Sendable (Int, HTTPTestClient) throws -> TestResponse
    ) -> [TestResponse?] {
        let responses = Mutex<[Int: TestResponse]>([:])
        let ready = Atomic<Int>(0)
        let group = DispatchGroup()
        for index in 0..<count {
            let client = instances[index % instances.count].client
            DispatchQueue.global().async(group: group) {
                ready.add(1, ordering: .sequentiallyConsistent)
                let clock = ContinuousClock()
                let start = clock.now
                while ready.load(ordering: .sequentiallyConsistent) < count && clock.now - start < .seconds(5) { usleep(100) }
                if let response = try? request(index, client) { responses.withLock { $0[index] = response } }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success, "the requests did not finish")
        let got = responses.withLock { $0 }
        return (0..<count).map { got[$0] }
    }

    @Test func ofManyPutsWithTheSameIfMatchThroughBothInstancesExactlyOneWins() throws {
        let scratch = try ScratchPostgresDatabase("manyifmatch")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let created = try a.client.send("POST", "/v1/cases", json: caseJSON("SAME-1"), headers: [key])
        #expect(created.status == 201)
        let etag = try #require(created.header("ETag"))
        for round in 1...3 {
            let current = try a.client.get("/v1/cases/SAME-1", headers: [key]).header("ETag") ?? ""
            let responses = together(8, over: [a, b]) { index, client in
                let date = String(format: "2025-%02d-%02d", 1 + index, round)
                return try client.send(
                    "PUT", "/v1/cases/SAME-1", json: caseJSON("SAME-1", ["outcome": ["last_followup_date": .string(date)]]),
                    headers: [key, ("If-Match", current)])
            }
            let statuses = responses.map { $0?.status ?? -1 }.sorted()
            #expect(statuses == [200] + Array(repeating: 412, count: 7), "round \(round): \(statuses)")
        }
        _ = etag
        let final = try b.client.get("/v1/cases/SAME-1", headers: [key])
        #expect(final.jsonValue?["version"]?.integerValue == 4)
        let history = try b.client.get("/v1/cases/SAME-1/history", headers: [key])
        #expect(history.jsonValue?["entries"]?.arrayValue?.count == 4)
    }

    @Test func ofManyCreatesOfOneExternalIDThroughBothInstancesOneIs201AndTheOthers409() throws {
        let scratch = try ScratchPostgresDatabase("samecreate")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        for round in 1...3 {
            let id = "DUP-\(round)"
            let responses = together(8, over: [a, b]) { _, client in
                try client.send("POST", "/v1/cases", json: caseJSON(id), headers: [key])
            }
            let statuses = responses.map { $0?.status ?? -1 }.sorted()
            #expect(statuses == [201] + Array(repeating: 409, count: 7), "round \(round): \(statuses)")
            let winner = responses.first { $0?.status == 201 }??.jsonValue?["id"]?.stringValue
            #expect(winner != nil)
            // Every 409 points at the case that was stored.
            for response in responses where response?.status == 409 {
                #expect(response?.text.contains(winner ?? "?") == true, "\(response?.text.prefix(300) ?? "")")
            }
            let stored = try b.database.read {
                try $0.queryOne("SELECT count(*) FROM cases WHERE external_id = ?", [id]) { $0.int(0) }
            }
            #expect(stored == 1)
        }
    }

    /// Creates, creates of taken external ids and PUTs with a stale If-Match, all at once through
    /// both instances, so that batches mix them: a batch is first tried whole, and when one of
    /// its jobs fails it is rolled back and run job by job (`GroupCommitQueue`). Every request
    /// gets the answer it would get alone (201, 409 naming the stored case, 412), every 201 is
    /// stored with one audit entry, and nothing of a refused request is written.
    @Test func mixedCreatesConflictsAndStalePutsEachGetTheirOwnAnswer() throws {
        let scratch = try ScratchPostgresDatabase("mixedbatch")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        var takenIDs: [String: String] = [:]
        for taken in ["TAKEN-0", "TAKEN-1"] {
            let created = try a.client.send("POST", "/v1/cases", json: caseJSON(taken), headers: [key])
            #expect(created.status == 201)
            takenIDs[taken] = created.jsonValue?["id"]?.stringValue
        }
        let count = 30
        let responses = together(count, over: [a, b]) { index, client in
            switch index % 5 {
            case 0: try client.send("POST", "/v1/cases", json: caseJSON("TAKEN-\(index % 2)"), headers: [key])
            case 1:
                try client.send(
                    "PUT", "/v1/cases/TAKEN-\(index % 2)",
                    json: caseJSON("TAKEN-\(index % 2)", ["outcome": ["last_followup_date": "2025-01-01"]]),
                    headers: [key, ("If-Match", "\"99\"")])
            default: try client.send("POST", "/v1/cases", json: caseJSON("MIXED-\(index)"), headers: [key])
            }
        }
        var created = 0
        for (index, response) in responses.enumerated() {
            switch index % 5 {
            case 0:
                #expect(response?.status == 409, "\(index): \(response?.status ?? -1)")
                #expect(response?.text.contains(takenIDs["TAKEN-\(index % 2)"] ?? "?") == true)
            case 1: #expect(response?.status == 412, "\(index): \(response?.status ?? -1)")
            default:
                #expect(response?.status == 201, "\(index): \(response?.status ?? -1)")
                let id = response?.jsonValue?["id"]?.stringValue
                let stored = try b.database.read {
                    try $0.queryOne("SELECT id FROM cases WHERE external_id = ?", ["MIXED-\(index)"]) { $0.string(0) }
                }
                #expect(stored != nil && stored == id)
                created += 1
            }
        }
        let (cases, creates, others) = try b.database.read { connection in
            (
                try connection.queryOne("SELECT count(*) FROM cases") { $0.int(0) } ?? -1,
                try connection.queryOne("SELECT count(*) FROM audit_log WHERE action = 'create'") { $0.int(0) } ?? -1,
                try connection.queryOne("SELECT count(*) FROM audit_log WHERE action <> 'create'") { $0.int(0) } ?? -1
            )
        }
        #expect(cases == 2 + created)
        #expect(creates == 2 + created)
        #expect(others == 0)
        for taken in ["TAKEN-0", "TAKEN-1"] {
            #expect(try a.client.get("/v1/cases/\(taken)", headers: [key]).jsonValue?["version"]?.integerValue == 1)
        }
    }

    /// PUT creates a missing case: of many PUTs of a new id at once, one creates it and each other
    /// replaces it in turn (the losers of the create are retried as updates): no write is lost.
    @Test func manyPutsOfANewCaseThroughBothInstancesAreAllApplied() throws {
        let scratch = try ScratchPostgresDatabase("putcreate")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let writers = 8
        let responses = together(writers, over: [a, b]) { index, client in
            let date = String(format: "2025-%02d-01", 1 + index)
            return try client.send(
                "PUT", "/v1/cases/NEW-1", json: caseJSON("NEW-1", ["outcome": ["last_followup_date": .string(date)]]),
                headers: [key])
        }
        let statuses = responses.map { $0?.status ?? -1 }.sorted()
        #expect(statuses == [200, 200, 200, 200, 200, 200, 200, 201], "\(statuses)")
        let final = try b.client.get("/v1/cases/NEW-1", headers: [key])
        #expect(final.jsonValue?["version"]?.integerValue == writers)
        let history = try a.client.get("/v1/cases/NEW-1/history", headers: [key])
        #expect(history.jsonValue?["entries"]?.arrayValue?.count == writers)
    }

    /// While both instances create cases, a poller reads the data version (on PostgreSQL the sum of
    /// its slots, `CaseStore.dataVersionSQL`) and the number of cases
    /// in one snapshot, over and over: one version never stands for two different states (a cache
    /// keyed by it would serve stale results), versions only grow, and at the end the last
    /// version shows every acknowledged case.
    @Test func theDataVersionNeverStandsForTwoStatesWhileBothInstancesWrite() throws {
        let scratch = try ScratchPostgresDatabase("poller")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let poller = try scratch.open(pool: 2).0
        defer { poller.close() }
        @Sendable func observe() throws -> (version: Int, cases: Int) {
            try poller.read { connection in
                try connection.transaction(immediate: false) {
                    try connection.queryOne(
                        "SELECT (SELECT CAST(sum(CAST(value AS BIGINT)) AS BIGINT) FROM registry_meta WHERE key = 'data_version' OR key LIKE 'data_version.%'), (SELECT count(*) FROM cases)"
                    ) { ($0.int(0), $0.int(1)) } ?? (-1, -1)
                }
            }
        }
        let stop = Atomic<Bool>(false)
        let seen = Mutex<[(version: Int, cases: Int)]>([])
        let polling = DispatchGroup()
        DispatchQueue.global().async(group: polling) {
            while !stop.load(ordering: .relaxed) {
                if let observed = try? observe() { seen.withLock { $0.append(observed) } }
            }
        }
        let perWriter = 30
        let responses = together(4, over: [a, b]) { writer, client in
            var last: TestResponse?
            for n in 0..<perWriter {
                let response = try client.send("POST", "/v1/cases", json: caseJSON("POLL-\(writer)-\(n)"), headers: [key])
                if response.status != 201 { return response }
                last = response
            }
            return last!
        }
        stop.store(true, ordering: .relaxed)
        #expect(polling.wait(timeout: .now() + 30) == .success)
        #expect(responses.allSatisfy { $0?.status == 201 }, "\(responses.map { $0?.status ?? -1 })")
        let observations = seen.withLock { $0 } + [try observe()]
        #expect(observations.count > 2)
        var casesByVersion: [Int: Int] = [:]
        for (index, observed) in observations.enumerated() {
            if let earlier = casesByVersion.updateValue(observed.cases, forKey: observed.version) {
                #expect(earlier == observed.cases, "version \(observed.version) stood for \(earlier) and \(observed.cases) cases")
            }
            if index > 0 {
                let previous = observations[index - 1]
                #expect(observed.version >= previous.version, "the data version went back")
                if observed.cases != previous.cases { #expect(observed.version > previous.version) }
            }
        }
        #expect(observations.last?.cases == 4 * perWriter)
    }
}
