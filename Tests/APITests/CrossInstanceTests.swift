import API
import FHIR
import Foundation
import HTTPServer
import JSON
import Logging
import Registry
import Storage
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The cluster the PostgreSQL tests may create and drop databases in (`make test` starts a
/// throwaway one: Tests/support/postgres-cluster.sh); nil when it is not set.
let crossInstancePostgresURL: String? = {
    guard let url = ProcessInfo.processInfo.environment["ICMM_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
    return url
}()

/// A database of its own on the test cluster for one test, dropped at the end (its connections
/// terminated first: a server under test may still hold some).
final class ScratchPostgresDatabase {
    let name: String
    let url: String
    private let adminURL: String

    init(_ label: String) throws {
        adminURL = try #require(crossInstancePostgresURL)
        name = "icmm_\(label)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))".lowercased()
        url = Self.url(adminURL, database: name)
        try admin("CREATE DATABASE \(name)")
    }

    /// The admin URL with another database name (its query parameters kept).
    static func url(_ adminURL: String, database: String) -> String {
        var components = URLComponents(string: adminURL)!
        components.path = "/" + database
        return components.string!
    }

    private func admin(_ sql: String) throws {
        let database = try Database(postgres: .init(url: adminURL))
        defer { database.close() }
        try database.read { try $0.execute(sql) }
    }

    /// A migrated `Database` over it (its own pool, like another process would have).
    func open(pool: Int = 6) throws -> (Database, MigrationRunner) {
        var configuration = Database.PostgresConfiguration(url: url)
        configuration.poolSize = pool
        let database = try Database(postgres: configuration)
        let runner = try MigrationRunner(root: repositoryRoot + "/Migrations", dialect: .postgres)
        try runner.migrate(database)
        return (database, runner)
    }

    deinit {
        try? admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)' AND pid <> pg_backend_pid()")
        try? admin("DROP DATABASE IF EXISTS \(name)")
    }
}

/// One `icmm serve` instance in process: its own `Database` pool, `Application` and socket, over a
/// shared PostgreSQL database (what a second machine behind the load balancer would run).
final class PostgresInstance {
    let database: Database
    let application: Application
    let server: HTTPServer
    var client: HTTPTestClient { HTTPTestClient(port: server.port) }

    init(_ scratch: ScratchPostgresDatabase) throws {
        let (database, runner) = try scratch.open()
        self.database = database
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        application = Application(
            database: database, migrations: runner, metrics: sharedMetrics,
            openAPIDocument: try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8), logger: logger,
            maxImportBytes: 64 << 20, minCellSize: 0, now: { testNow }, cohortCacheBytes: 64 << 20,
            fhirTerminology: try Terminology(tsv: String(contentsOfFile: repositoryRoot + "/fhir-terminology.tsv", encoding: .utf8)),
            maxFHIRBytes: 16 << 20, rateLimits: RateLimitConfiguration())
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.accessLog.destination = .off
        server = HTTPServer(configuration: configuration, router: application.makeRouter(), logger: logger)
        try server.start()
        application.observe(server)
    }

    func key(site: String, role: Role) throws -> (header: (String, String), id: String) {
        let created = try application.keys.create(site: site, role: role)
        return (("Authorization", "Bearer " + created.key), created.id)
    }

    deinit {
        server.stop()
        database.close()
    }
}

/// Two instances over one PostgreSQL database, checked through their sockets (issue 13,
/// "Correct across instances"). Runs when ICMM_TEST_POSTGRES_URL names a cluster; `make test`
/// and CI always start one, so there these always run.
@Suite(.enabled(if: crossInstancePostgresURL != nil, "needs ICMM_TEST_POSTGRES_URL (make test starts a throwaway cluster)"))
struct CrossInstanceTests {
    /// Polls `condition` (a request) every 20 ms until it holds; returns when the request that first
    /// saw it was sent, or nil when a request sent at or after `deadline` still did not. Judged by
    /// the time a request is sent, not answered: on a loaded machine a request sent just before
    /// the deadline (rightly answered from the old state) may come back after it, and only a
    /// request that leaves after the deadline says what the service does after it.
    func elapsedUntil(deadline: Duration, _ condition: () throws -> Bool) rethrows -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while true {
            let sent = clock.now - start
            if try condition() { return sent }
            if sent >= deadline { return nil }
            usleep(20_000)
        }
    }

    @Test func aCaseWrittenThroughAIsReadableThroughBAtOnce() throws {
        let scratch = try ScratchPostgresDatabase("read")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let created = try a.client.send("POST", "/v1/cases", json: caseJSON("X-1"), headers: [key])
        #expect(created.status == 201)
        // No wait at all: the very next request, on the other instance.
        let read = try b.client.get("/v1/cases/X-1", headers: [key])
        #expect(read.status == 200)
        #expect(read.header("ETag") == created.header("ETag"))
        #expect(read.jsonValue?["external_id"] == "X-1")
        #expect(read.jsonValue?["id"] == created.jsonValue?["id"])
        // And the other way round, with an update.
        let patched = try b.client.send(
            "PATCH", "/v1/cases/X-1", json: #"{"outcome": {"last_followup_date": "2025-06-30"}}"#,
            contentType: "application/merge-patch+json", headers: [key, ("If-Match", created.header("ETag") ?? "")])
        #expect(patched.status == 200)
        let again = try a.client.get("/v1/cases/X-1", headers: [key])
        #expect(again.header("ETag") == patched.header("ETag"))
        #expect(again.jsonValue?["outcome"]?["last_followup_date"] == "2025-06-30")
        let list = try a.client.get("/v1/cases", headers: [key])
        #expect(list.jsonValue?["cases"]?.arrayValue?.count == 1)
    }

    @Test func aDashboardPollingBSeesAWriteThroughAWithinOneSecond() throws {
        let scratch = try ScratchPostgresDatabase("etag")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let submitter = try a.key(site: "HOSP-A", role: .submitter).header
        let analyst = try b.key(site: "ANALYSIS", role: .analyst).header
        for n in 1...6 {
            #expect(try a.client.send("POST", "/v1/cases", json: caseJSON("E-\(n)"), headers: [submitter]).status == 201)
        }
        let path = "/v1/cohorts/survival?group_by=localization"
        let first = try b.client.get(path, headers: [analyst])
        #expect(first.status == 200)
        let tag = try #require(first.header("ETag"))
        // B's cache is warm and its ETag current: a poll answers 304.
        #expect(try b.client.get(path, headers: [analyst, ("If-None-Match", tag)]).status == 304)
        for round in 1...3 {
            let before = try #require(try b.client.get(path, headers: [analyst]).header("ETag"))
            #expect(try a.client.send("POST", "/v1/cases", json: caseJSON("E-new-\(round)"), headers: [submitter]).status == 201)
            var changed: TestResponse?
            let took = try elapsedUntil(deadline: .seconds(1)) {
                let poll = try b.client.get(path, headers: [analyst, ("If-None-Match", before)])
                if poll.status == 200 { changed = poll }
                return poll.status == 200
            }
            #expect(took != nil, "round \(round): B still answered 304 one second after the write through A")
            if let changed {
                #expect(changed.header("ETag") != before)
                #expect(changed.jsonValue?["n"]?.integerValue == 6 + round)
            }
        }
    }

    @Test func concurrentPutsWithTheSameIfMatchOnAAndB_exactlyOneWins() throws {
        let scratch = try ScratchPostgresDatabase("ifmatch")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let created = try a.client.send("POST", "/v1/cases", json: caseJSON("RACE-1"), headers: [key])
        #expect(created.status == 201)
        var etag = try #require(created.header("ETag"))
        let rounds = 25
        for round in 1...rounds {
            let statuses = Mutex<[Int]>([])
            let winners = Mutex<[String]>([])
            let ready = Atomic<Int>(0)
            let group = DispatchGroup()
            for (index, instance) in [a, b].enumerated() {
                let client = instance.client
                // Different bodies (month by instance, day by round), valid dates, never the current one.
                let date = String(format: "2025-%02d-%02d", index + 1, 1 + round % 28)
                let body = caseJSON("RACE-1", ["outcome": ["last_followup_date": .string(date)]])
                let condition = etag
                DispatchQueue.global().async(group: group) {
                    // Both requests leave together: each waits (bounded) until the other is ready.
                    ready.add(1, ordering: .sequentiallyConsistent)
                    let clock = ContinuousClock()
                    let start = clock.now
                    while ready.load(ordering: .sequentiallyConsistent) < 2 && clock.now - start < .seconds(5) {}
                    let response = try? client.send("PUT", "/v1/cases/RACE-1", json: body, headers: [key, ("If-Match", condition)])
                    statuses.withLock { $0.append(response?.status ?? -1) }
                    if let response, (200..<300).contains(response.status) { winners.withLock { $0.append(response.header("ETag") ?? "") } }
                }
            }
            #expect(group.wait(timeout: .now() + 60) == .success, "round \(round): the PUTs did not finish")
            let got = statuses.withLock { $0 }.sorted()
            #expect(got.count == 2 && (200..<300).contains(got[0]) && got[1] == 412, "round \(round): \(got)")
            let current = try a.client.get("/v1/cases/RACE-1", headers: [key])
            #expect(current.header("ETag") == winners.withLock { $0.first })
            etag = try #require(current.header("ETag"))
        }
        // Every round made exactly one new version.
        let final = try b.client.get("/v1/cases/RACE-1", headers: [key])
        #expect(final.jsonValue?["version"]?.integerValue == 1 + rounds)
        let history = try b.client.get("/v1/cases/RACE-1/history", headers: [key])
        #expect(history.jsonValue?["entries"]?.arrayValue?.count == 1 + rounds)
    }

    @Test func anImportIsAllOrNothingAcrossInstances() throws {
        let scratch = try ScratchPostgresDatabase("import")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let key = try a.key(site: "HOSP-A", role: .submitter).header
        let ids = (1...200).map { "IMP-\($0)" }
        var lines = ids.map { caseJSON($0) }
        lines[100] = caseJSON("IMP-101", ["sex": "unknown-value"])  // a bad record in the middle
        let rejected = try a.client.send(
            "POST", "/v1/imports", json: lines.joined(separator: "\n"), contentType: "application/x-ndjson", headers: [key])
        #expect(rejected.status == 422)
        let empty = try b.client.get("/v1/cases", headers: [key])
        #expect(empty.jsonValue?["cases"]?.arrayValue?.count == 0)
        for id in [ids[0], ids[99], ids[199]] {
            #expect(try b.client.get("/v1/cases/\(id)", headers: [key]).status == 404)
        }
        // The same import without the bad record: all of it, visible from B at once.
        lines[100] = caseJSON("IMP-101")
        let accepted = try a.client.send(
            "POST", "/v1/imports", json: lines.joined(separator: "\n"), contentType: "application/x-ndjson", headers: [key])
        #expect(accepted.status == 201, "\(accepted.status): \(accepted.text.prefix(300))")
        let stored = try b.database.read { try $0.queryOne("SELECT count(*) FROM cases") { $0.int(0) } }
        #expect(stored == 200)
        #expect(try b.client.get("/v1/cases/IMP-101", headers: [key]).status == 200)
    }

    @Test func aKeyRevokedThroughAFailsOnBWithinTwoSeconds() throws {
        let scratch = try ScratchPostgresDatabase("revoke")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let (key, id) = try a.key(site: "HOSP-A", role: .submitter)
        // B knows the key (and remembers it: its principal cache is warm).
        #expect(try b.client.get("/v1/cases", headers: [key]).status == 200)
        #expect(try b.client.get("/v1/cases", headers: [key]).status == 200)
        try a.application.keys.revoke(id: id)
        #expect(try a.client.get("/v1/cases", headers: [key]).status == 401)
        let took = try elapsedUntil(deadline: .seconds(2)) { try b.client.get("/v1/cases", headers: [key]).status == 401 }
        #expect(took != nil, "B still accepted the key two seconds after A revoked it")
        // And it stays refused.
        #expect(try b.client.get("/v1/cases", headers: [key]).status == 401)
    }

    @Test func auditEntriesFromBothInstancesLandInOneTrail() throws {
        let scratch = try ScratchPostgresDatabase("audit")
        let a = try PostgresInstance(scratch)
        let b = try PostgresInstance(scratch)
        let (submitterA, keyA) = try a.key(site: "HOSP-A", role: .submitter)
        let (submitterB, keyB) = try b.key(site: "HOSP-B", role: .submitter)
        let admin = try a.key(site: "ADMIN", role: .admin).header
        #expect(try a.client.send("POST", "/v1/cases", json: caseJSON("AUD-A"), headers: [submitterA]).status == 201)
        #expect(try b.client.send("POST", "/v1/cases", json: caseJSON("AUD-B"), headers: [submitterB]).status == 201)
        #expect(try b.client.get("/v1/cases/AUD-B", headers: [submitterB]).status == 200)  // a read, audited as access
        #expect(try a.client.get("/v1/cases/AUD-A", headers: [submitterA]).status == 200)
        for instance in [a, b] {
            // Read-access entries are written in the background: wait (bounded) until they are in.
            var entries: [JSONValue] = []
            let took = try elapsedUntil(deadline: .seconds(10)) {
                entries = try instance.client.get("/v1/audit?since=2000-01-01", headers: [admin]).jsonValue?["entries"]?.arrayValue ?? []
                return entries.filter { $0["route"] != nil }.count >= 2
            }
            #expect(took != nil, "the read-access entries of both instances did not arrive: \(entries)")
            let writes = Set(entries.compactMap { entry -> String? in
                guard entry["action"] == "create" else { return nil }
                return "\(entry["site"]?.stringValue ?? "")/\(entry["external_id"]?.stringValue ?? "")/\(entry["key_id"]?.stringValue ?? "")"
            })
            #expect(writes == ["HOSP-A/AUD-A/\(keyA)", "HOSP-B/AUD-B/\(keyB)"])
            let readers = Set(entries.filter { $0["route"] != nil }.compactMap { $0["key_id"]?.stringValue })
            #expect(readers.isSuperset(of: [keyA, keyB]))
        }
    }

    /// An acknowledged case survives `kill -9` of the `icmm serve` process that acknowledged it
    /// (PostgreSQL with synchronous_commit on): the real binary, as a child process.
    @Test func anAcknowledgedCaseSurvivesKillMinus9OfItsInstance() throws {
        let scratch = try ScratchPostgresDatabase("durable")
        let (check, _) = try scratch.open()  // migrates, and stays to count afterwards
        defer { check.close() }
        let setting = try check.read { try $0.queryOne("SHOW synchronous_commit") { $0.string(0) } }
        #expect(setting == "on")
        let (status, output, errors) = try runICMM(["keys", "create", "--site", "S", "--role", "submitter", "--db", scratch.url])
        #expect(status == 0, "\(errors)")
        let key = try #require(try JSONValue.parse(output)["key"]?.stringValue)
        let other = try ServerProcess(database: scratch.url)
        defer { _ = other.signal(SIGTERM) }
        let server = try ServerProcess(database: scratch.url)
        // Writes from 8 threads; the process is killed right after the 40th acknowledgement.
        let acknowledged = Mutex<[String]>([])
        let group = DispatchGroup()
        let client = server.client
        let pid = server.process.processIdentifier
        for thread in 0..<8 {
            DispatchQueue.global().async(group: group) {
                for n in 0..<50 {
                    let id = "K9-\(thread)-\(n)"
                    guard let response = try? client.send("POST", "/v1/cases", json: caseJSON(id), headers: [("Authorization", "Bearer \(key)")]),
                        response.status == 201
                    else { return }
                    let count = acknowledged.withLock { $0.append(id); return $0.count }
                    if count == 40 { kill(pid, SIGKILL) }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        _ = server.signal(SIGKILL)
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= 40)
        let stored = Set(try check.read { try $0.query("SELECT external_id FROM cases") { $0.string(0) } })
        #expect(stored.isSuperset(of: acked), "lost: \(Set(acked).subtracting(stored).sorted())")
        // The surviving instance serves every one of them.
        for id in acked.prefix(5) {
            #expect(try other.client.get("/v1/cases/\(id)", headers: [("Authorization", "Bearer \(key)")]).status == 200)
        }
    }
}
