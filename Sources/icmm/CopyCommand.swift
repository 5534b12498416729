import ArgumentParser
import Foundation
import JSON
import Logging
import Storage

/// `icmm copy --from FILE --to postgres://...`: moves an SQLite registry into PostgreSQL (issue 13).
struct Copy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy an SQLite registry into an empty PostgreSQL database, keeping ids, versions, keys and audit.",
        discussion: """
            Applies the PostgreSQL migrations to the target, refuses a target that already holds \
            cases, keys or audit entries, then copies every table in ONE transaction (all or \
            nothing): cases with their ids, versions, change numbers and times; the data version \
            and token secret (ETags and cursors stay valid); API keys (hashes, roles, sites, \
            expiry, revocation, last use); the audit trail and the read-access log. Checks that \
            every table holds as many rows as in the source before committing, then runs VACUUM \
            (ANALYZE) on them (planner statistics and visibility map, so that the first cohort \
            queries scan the cohort index instead of the whole table), and prints the counts as JSON. Stop the service that writes the file first (the copy is one snapshot: \
            later writes would not be in it).
            """)

    /// Copied in this order; registry_meta's rows are seeded by the target's migrations and replaced.
    static let tables = ["registry_meta", "api_keys", "cases", "audit_log", "access_log"]
    static let mergeByKey = ["registry_meta": "key"]

    @Option(name: .long, help: ArgumentHelp("The SQLite registry file to copy (not changed).", valueName: "path"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("The PostgreSQL database to copy into: postgres://user@host:port/dbname.", valueName: "url"))
    var to: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Folder of the migrations (its sqlite/ and postgres/ subfolders). Default: found like icmm migrate does.",
            valueName: "dir"))
    var migrations: String?

    func validate() throws {
        guard Database.isPostgresURL(to) else {
            throw ValidationError("--to must be a postgres:// or postgresql:// URL (icmm copy moves an SQLite registry into PostgreSQL).")
        }
        guard !Database.isPostgresURL(from) else { throw ValidationError("--from must be an SQLite file, not a URL.") }
        guard FileManager.default.fileExists(atPath: from) else { throw ValidationError("--from: no such file: \(from)") }
    }

    func run() throws {
        let started = ContinuousClock.now
        do {
            let summary = try Self.copy(from: from, to: to, migrationsRoot: Resources.locate("Migrations", explicit: migrations, environment: "ICMM_MIGRATIONS"))
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            var tables: JSONObject = [:]
            for table in summary { tables[table.table] = .number(Double(table.rows)) }
            print(JSONValue.object(["copied": .object(tables), "seconds": .number((seconds * 1000).rounded() / 1000)]).serializedString())
        } catch let error as DatabaseCopyError {
            printError("icmm copy: nothing copied: \(error)")
            throw ExitCode(1)
        } catch let error as CopySourceNotCurrent {
            printError("icmm copy: nothing copied: \(error)")
            throw ExitCode(1)
        } catch let error as MigrationError {
            printError("icmm copy: nothing copied: \(error)")
            throw ExitCode(2)
        } catch let error as DatabaseError {
            printError("icmm copy: nothing copied: \(error)")
            throw ExitCode(1)
        }
    }

    /// The copy itself, callable from tests: the source must be at the current SQLite migration
    /// (so that both sides have the same columns); the target is migrated first.
    static func copy(from path: String, to url: String, migrationsRoot: String) throws -> [TableCopy] {
        let sourceDatabase = try Database(configuration: .init(path: path))
        defer { sourceDatabase.close() }
        let sourceRunner = try MigrationRunner(root: migrationsRoot, dialect: .sqlite)
        guard sourceRunner.isCurrent(sourceDatabase) else {
            throw CopySourceNotCurrent(path: path)
        }
        let target = try Database(postgres: .init(url: url))
        defer { target.close() }
        try MigrationRunner(root: migrationsRoot, dialect: .postgres).migrate(target)
        let copied = try sourceDatabase.read { source in
            try target.copyTables(from: source, tables: tables, mergeByKey: mergeByKey)
        }
        // Committed: a failure here leaves a complete copy that autovacuum will get to in time.
        do {
            try target.vacuumAnalyze(tables)
        } catch {
            printError("icmm copy: copied, but VACUUM (ANALYZE) failed (\(error)); run it on the new database before serving")
        }
        return copied
    }
}

/// The source file has migrations pending: its columns would not match the target's.
struct CopySourceNotCurrent: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) is not at the current schema: run `icmm migrate --db \(path)` with this icmm first" }
}
