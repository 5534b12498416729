import Foundation
import JSON
import Storage
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `icmm copy --from FILE --to postgres://...` (issue 13): an SQLite registry with the demo cohort,
/// keys in every state, case history and read-access entries, moved into PostgreSQL and served
/// from there with the same answers.
@Suite(.enabled(if: crossInstancePostgresURL != nil, "needs ICMM_TEST_POSTGRES_URL (make test starts a throwaway cluster)"))
struct CopyCommandTests {
    /// The source registry: demo cohort (site DEMO), keys (one revoked, one expiring, one used),
    /// two changed cases, one erased, read-access entries; written by the real binary.
    struct Source {
        let directory = TemporaryDirectory()
        var path: String { directory.file("registry.sqlite") }
        var submitter = ""
        var analyst = ""
        var admin = ""
        var revoked = ""

        init() throws {
            #expect(try runICMM(["demo", "--db", path]).0 == 0)
            func create(_ arguments: [String]) throws -> (key: String, id: String) {
                let (status, output, errors) = try runICMM(["keys", "create"] + arguments + ["--db", path])
                #expect(status == 0, "\(errors)")
                let created = try JSONValue.parse(output)
                return (try #require(created["key"]?.stringValue), try #require(created["id"]?.stringValue))
            }
            submitter = try create(["--site", "DEMO", "--role", "submitter"]).key
            analyst = try create(["--site", "ANALYSIS", "--role", "analyst"]).key
            admin = try create(["--site", "ADMIN", "--role", "admin", "--expires-in", "30d"]).key
            let gone = try create(["--site", "DEMO", "--role", "submitter"])
            revoked = gone.key
            #expect(try runICMM(["keys", "revoke", gone.id, "--db", path]).0 == 0)
            let server = try ServerProcess(database: path)
            let auth = ("Authorization", "Bearer \(submitter)")
            #expect(try server.client.send("POST", "/v1/cases", json: caseJSON("COPY-1"), headers: [auth]).status == 201)
            #expect(
                try server.client.send(
                    "PATCH", "/v1/cases/COPY-1", json: #"{"outcome": {"last_followup_date": "2025-06-30"}}"#,
                    contentType: "application/merge-patch+json", headers: [auth]
                ).status == 200)
            #expect(try server.client.send("POST", "/v1/cases", json: caseJSON("COPY-2"), headers: [auth]).status == 201)
            #expect(try server.client.request("DELETE", "/v1/cases/COPY-2", headers: [auth]).status == 204)
            #expect(try server.client.get("/v1/cases?limit=10", headers: [auth]).status == 200)
            #expect(try server.client.get("/v1/cases/COPY-1", headers: [auth]).status == 200)
            #expect(server.signal(SIGTERM) == 0)  // a graceful stop writes the buffered access entries and key use
        }
    }

    /// Every row of `table` as text, NULL as "NULL", in primary-key order; PostgreSQL's booleans
    /// read as SQLite's 0/1.
    static func rows(_ database: Database, _ table: String, orderBy: String) throws -> [[String]] {
        try database.read { connection in
            let columns = try connection.query(
                connection.dialect == .sqlite
                    ? "SELECT name FROM pragma_table_info(?) ORDER BY name"
                    : "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY column_name COLLATE \"C\"",
                [table]
            ) { $0.string(0) }
            let select = columns.map { "CAST(\"\($0)\" AS TEXT)" }.joined(separator: ", ")
            return try connection.query("SELECT \(select) FROM \(table) ORDER BY \(table).\(orderBy)") { row in
                columns.indices.map { index -> String in
                    guard let text = row.optionalString(index) else { return "NULL" }
                    return text == "true" ? "1" : text == "false" ? "0" : text
                }
            }
        }
    }

    static let tables = ["registry_meta": "key", "api_keys": "id", "cases": "row_id", "audit_log": "seq", "access_log": "seq"]

    @Test func copiesEveryRowAndTheCopyAnswersLikeTheSource() throws {
        let source = try Source()
        let scratch = try ScratchPostgresDatabase("copy")
        let (status, output, errors) = try runICMM(["copy", "--from", source.path, "--to", scratch.url])
        #expect(status == 0, "\(errors)")
        let report = try JSONValue.parse(output)
        #expect(report["copied"]?["cases"]?.integerValue == 51)  // 50 demo cases + COPY-1 (COPY-2 was erased)
        #expect(report["copied"]?["api_keys"]?.integerValue == 4)

        // Row for row, every table (schema_migrations aside: each side records its own dialect's).
        let sqlite = try Database(configuration: .init(path: source.path))
        defer { sqlite.close() }
        let (postgres, _) = try scratch.open()
        defer { postgres.close() }
        for (table, key) in Self.tables {
            let before = try Self.rows(sqlite, table, orderBy: key)
            var after = try Self.rows(postgres, table, orderBy: key)
            if table == "registry_meta" {
                // PostgreSQL's extra data version slots (migration postgres/0007) start at 0: the sum is the copied version.
                let slots = after.filter { $0.first?.hasPrefix("data_version.") == true }
                #expect(slots.count == 15 && slots.allSatisfy { $0.last == "0" }, "\(slots)")
                after.removeAll { $0.first?.hasPrefix("data_version.") == true }
            }
            #expect(before.count > 0, "\(table) is empty in the source: the test copies nothing")
            #expect(before.count == after.count, "\(table): \(before.count) rows before, \(after.count) after")
            // The first difference only, cell by cell (a whole table would drown the report).
            if let index = before.indices.first(where: { $0 < after.count && before[$0] != after[$0] }) {
                let cells = zip(before[index], after[index]).filter { $0 != $1 }.map { "\($0.prefix(80)) -> \($1.prefix(80))" }
                Issue.record("\(table) row \(index) differs after the copy: \(cells)")
            }
        }
        // Vacuumed and analyzed by the copy: planner statistics and a visibility map from the first query on.
        let maintained = try postgres.read { connection in
            try connection.query(
                "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
            ) { $0.string(0) }
        }
        #expect(Set(maintained).isSuperset(of: Self.tables.keys), "\(maintained)")
        #expect(try Self.rows(sqlite, "access_log", orderBy: "seq").count >= 2)
        #expect(try Self.rows(sqlite, "audit_log", orderBy: "seq").count >= 53)

        // Served from PostgreSQL: the same answers, ETags included (same data version and token secret).
        let old = try ServerProcess(database: source.path)
        defer { _ = old.signal(SIGTERM) }
        let new = try ServerProcess(database: scratch.url)
        defer { _ = new.signal(SIGTERM) }
        let submitter = ("Authorization", "Bearer \(source.submitter)")
        let analyst = ("Authorization", "Bearer \(source.analyst)")
        for path in ["/v1/cases/COPY-1", "/v1/cases/COPY-1/history", "/v1/cases?limit=100"] {
            let a = try old.client.get(path, headers: [submitter])
            let b = try new.client.get(path, headers: [submitter])
            #expect(a.status == 200 && b.status == 200, "\(path)")
            #expect(a.text == b.text, "\(path) answers differently")
            #expect(a.header("ETag") == b.header("ETag"), "\(path)")
        }
        #expect(try new.client.get("/v1/cases/COPY-2", headers: [submitter]).status == 404)
        for path in ["/v1/cohorts/survival?group_by=localization", "/v1/cohorts/summary"] {
            let a = try old.client.get(path, headers: [analyst])
            let b = try new.client.get(path, headers: [analyst])
            #expect(a.status == 200 && b.status == 200, "\(path)")
            #expect(a.text == b.text, "\(path) answers differently")
            #expect(a.header("ETag") == b.header("ETag"), "\(path)")
        }
        // Keys: the revoked one stays revoked, the admin's works, ids and versions go on.
        #expect(try new.client.get("/v1/cases", headers: [("Authorization", "Bearer \(source.revoked)")]).status == 401)
        #expect(try new.client.get("/v1/audit?since=2000-01-01", headers: [("Authorization", "Bearer \(source.admin)")]).status == 200)
        let patched = try new.client.send(
            "PATCH", "/v1/cases/COPY-1", json: #"{"outcome": {"last_followup_date": "2025-07-31"}}"#,
            contentType: "application/merge-patch+json", headers: [submitter, ("If-Match", "\"2\"")])
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.jsonValue?["version"]?.integerValue == 3)
        // New rows after the copied ones (sequences continued): a new case and a new audit entry.
        #expect(try new.client.send("POST", "/v1/cases", json: caseJSON("COPY-3"), headers: [submitter]).status == 201)
        let history = try new.client.get("/v1/cases/COPY-1/history", headers: [submitter]).jsonValue?["entries"]?.arrayValue ?? []
        #expect(history.count == 3)
    }

    @Test func refusesATargetThatIsNotEmptyAndChangesNothing() throws {
        let source = try Source()
        let scratch = try ScratchPostgresDatabase("copytwice")
        #expect(try runICMM(["copy", "--from", source.path, "--to", scratch.url]).0 == 0)
        let (postgres, _) = try scratch.open()
        defer { postgres.close() }
        let before = try Self.rows(postgres, "cases", orderBy: "row_id")
        let (status, _, errors) = try runICMM(["copy", "--from", source.path, "--to", scratch.url])
        #expect(status == 1)
        #expect(errors.contains("not empty"), "\(errors)")
        #expect(errors.contains("api_keys"), "the message names the table: \(errors)")
        #expect(try Self.rows(postgres, "cases", orderBy: "row_id") == before)
    }

    /// A failure in the last table undoes the whole copy: the target stays empty.
    @Test func aFailureHalfWayCopiesNothing() throws {
        let source = try Source()
        let scratch = try ScratchPostgresDatabase("copyfail")
        let (postgres, _) = try scratch.open()
        defer { postgres.close() }
        // access_log is copied last: a trigger makes its first insert fail.
        try postgres.write { connection in
            try connection.execute(
                """
                CREATE FUNCTION refuse_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
                CREATE TRIGGER refuse_copy BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION refuse_copy();
                """)
        }
        let (status, _, errors) = try runICMM(["copy", "--from", source.path, "--to", scratch.url])
        #expect(status == 1)
        #expect(errors.contains("refused by the test"), "\(errors)")
        for table in ["api_keys", "cases", "audit_log", "access_log"] {
            #expect(try postgres.read { try $0.queryOne("SELECT count(*) FROM \(table)") { $0.int(0) } } == 0, "\(table)")
        }
        let version = try postgres.read { try $0.queryOne("SELECT value FROM registry_meta WHERE key = 'data_version'") { $0.string(0) } }
        #expect(version == "0")
    }

    @Test func refusesAnSQLiteTargetAndAMissingSource() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (status, _, errors) = try runICMM(["copy", "--from", directory.file("none.sqlite"), "--to", "postgresql://127.0.0.1:1/x"])
        #expect(status != 0)
        #expect(errors.contains("no such file"), "\(errors)")
        let (status2, _, errors2) = try runICMM(["copy", "--from", directory.file("none.sqlite"), "--to", directory.file("other.sqlite")])
        #expect(status2 != 0)
        #expect(errors2.contains("--to must be a postgres://"), "\(errors2)")
    }
}
