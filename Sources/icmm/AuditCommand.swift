import ArgumentParser
import Foundation
import JSON
import Registry

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit trail: who read or wrote patient-level data, and when.",
        discussion: """
            Reads (GET of cases, case lists, histories, dataset.csv, import answers) are recorded \
            with key id, site, route pattern, time, request id and number of cases; writes with \
            key id, site, external id and version. Never values. The same trail as GET /v1/audit.
            """,
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write audit entries as NDJSON (one JSON object a line), newest first.")

        @Option(help: ArgumentHelp("From this date or UTC time, inclusive (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ).", valueName: "time"))
        var since: String

        @Option(help: ArgumentHelp("Up to this date or UTC time, exclusive.", valueName: "time"))
        var until: String?

        @Option(help: ArgumentHelp("Only this site (reads across sites, recorded as site *, included).", valueName: "site"))
        var site: String?

        @Option(help: ArgumentHelp("Only this key id (key_...).", valueName: "id"))
        var key: String?

        @Option(help: ArgumentHelp("Only this action: read, create, update, erase or reclassify.", valueName: "action"))
        var action: String?

        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "path"))
        var output: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard Timestamp.bound(since) != nil else { throw ValidationError("--since must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss]Z.") }
            if let until, Timestamp.bound(until) == nil {
                throw ValidationError("--until must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss]Z.")
            }
            if let site, !KeyStore.isValidSite(site) { throw ValidationError("--site must be 1-64 characters of A-Z a-z 0-9 . _ -") }
            if let action, !AuditQuery.actions.contains(action) {
                throw ValidationError("--action must be one of: \(AuditQuery.actions.joined(separator: ", ")).")
            }
        }

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            let log = AccessLog(database: db)
            var query = AuditQuery()
            query.since = Timestamp.bound(since)
            query.until = until.flatMap(Timestamp.bound)
            query.site = site
            query.keyID = key
            query.action = action
            query.limit = AuditQuery.maximumLimit
            let sink: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) else {
                    printError("icmm audit export: cannot create \(output)")
                    throw ExitCode(1)
                }
                sink = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            } else {
                sink = FileHandle.standardOutput
            }
            defer { if output != nil { try? sink.close() } }
            var count = 0
            while true {
                let page = try log.page(query)
                var chunk = ""
                for record in page.records { chunk += record.toJSON().serializedString() + "\n" }
                sink.write(Data(chunk.utf8))
                count += page.records.count
                guard let next = page.next else { break }
                query.after = next
            }
            if output != nil { printError("icmm audit export: \(count) entries") }
        }
    }
}
