import Foundation
import JSON
import Registry
import Storage
import TestSupport
import Testing

/// `icmm keys create --expires-in`, `keys rotate`, `keys list` and `icmm audit export` (issue #12).
@Suite struct SecurityCLITests {
    @Test func keysExpireRotateAndListTheirLifecycle() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let plain = try JSONValue.parse(try runICMM(["keys", "create", "--site", "HOSP-A", "--role", "submitter", "--db", db]).1)
        #expect(plain["expires_at"] == .null)
        let (status, output, _) = try runICMM(["keys", "create", "--site", "HOSP-A", "--role", "submitter", "--expires-in", "90d", "--db", db])
        #expect(status == 0)
        let expiring = try JSONValue.parse(output)
        let expiresAt = try #require(expiring["expires_at"]?.stringValue.flatMap(Timestamp.date))
        #expect(abs(expiresAt.timeIntervalSinceNow - 90 * 86_400) < 120)
        let id = try #require(plain["id"]?.stringValue)
        let rotated = try runICMM(["keys", "rotate", id, "--grace", "7d", "--db", db])
        #expect(rotated.0 == 0)
        let new = try JSONValue.parse(rotated.1)
        #expect(new["replaces"] == .string(id) && new["site"] == "HOSP-A" && new["role"] == "submitter")
        #expect(new["key"]?.stringValue?.hasPrefix("icmm_") == true)
        let listed = try JSONValue.parse(try runICMM(["keys", "list", "--db", db]).1).arrayValue ?? []
        let old = try #require(listed.first { $0["id"] == .string(id) })
        let graceEnd = try #require(old["expires_at"]?.stringValue.flatMap(Timestamp.date))
        #expect(abs(graceEnd.timeIntervalSinceNow - 7 * 86_400) < 120)
        for member in ["created_at", "expires_at", "revoked_at", "last_used_at"] {
            #expect(listed.allSatisfy { $0[member] != nil }, "\(member) is listed for every key")
        }
        #expect(try runICMM(["keys", "create", "--site", "A", "--role", "admin", "--expires-in", "soon", "--db", db]).0 != 0)
        #expect(try runICMM(["keys", "rotate", "key_nope", "--db", db]).0 != 0)
    }

    @Test func auditExportWritesNDJSONWithoutValues() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let database = try Database(configuration: .init(path: db))
        try MigrationRunner(directory: repositoryRoot + "/Migrations/sqlite").migrate(database)
        let store = CaseStore(database: database, now: { testNow })
        _ = try store.create(try JSONValue.parse(caseJSON("EXP-1")), site: "HOSP-A", keyID: "key_x")
        let log = AccessLog(database: database, now: { testNow })
        log.record(keyID: "key_x", site: "HOSP-A", route: "/v1/cases/{external_id}", requestID: "rq-1", caseCount: 1)
        log.flush()
        database.close()
        let (status, output, _) = try runICMM(["audit", "export", "--since", "2026-01-01", "--db", db])
        #expect(status == 0)
        let lines = output.split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        #expect(lines.count == 2)
        #expect(lines.compactMap { $0?["action"]?.stringValue }.sorted() == ["create", "read"])
        #expect(!output.contains("1955"))
        let reads = try runICMM(["audit", "export", "--since", "2026-01-01", "--action", "read", "--db", db]).1
        #expect(reads.split(separator: "\n").count == 1 && reads.contains("rq-1"))
        #expect(try runICMM(["audit", "export", "--since", "2027-01-01", "--db", db]).1.isEmpty)
        #expect(try runICMM(["audit", "export", "--since", "yesterday", "--db", db]).0 != 0)
    }
}
