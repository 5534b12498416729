import ArgumentParser
import Foundation
import JSON
import Registry

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import cases for a site from an NDJSON file (one case per line) or a JSON array.",
        discussion: """
            The CLI twin of POST /v1/imports: every record is validated first; if any fails, \
            nothing is stored and the errors are printed per record (index, external_id, errors). \
            Otherwise all records are stored in one transaction. Prints the summary as JSON.
            """)

    @Option(help: ArgumentHelp("The site the cases belong to.", valueName: "site"))
    var site: String

    @Option(help: ArgumentHelp("create (every record must be new) or upsert. (default: create; with --fhir, what the Bundles' request asks)", valueName: "mode"))
    var mode: String?

    @Flag(help: "Validate and count, store nothing.")
    var dryRun = false

    @Flag(help: "The file holds FHIR R4 Bundles (one Bundle, or NDJSON of Bundles), mapped as POST /v1/fhir does.")
    var fhir = false

    @Argument(help: ArgumentHelp("NDJSON (.ndjson, .jsonl) or JSON array (.json) file.", valueName: "file"))
    var file: String

    @OptionGroup var terminology: FHIRTerminologyOptions

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard KeyStore.isValidSite(site) else { throw ValidationError("--site must be 1-64 characters of A-Z a-z 0-9 . _ -") }
        guard mode.map({ ImportMode(rawValue: $0) != nil }) ?? true else { throw ValidationError("--mode must be create or upsert.") }
    }

    @Flag(help: "Print where the time went, stage by stage, to standard error (for benchmarks).")
    var timings = false

    @Option(help: ArgumentHelp("Bytes read from the file at a time with --fhir.", visibility: .hidden))
    var readChunk = 1 << 20

    func run() throws {
        if fhir {
            do {
                return try importFHIR(readChunk: readChunk)
            } catch let error as LineReader.ReadError {
                printError("icmm import: \(error)")
                throw ExitCode(1)
            }
        }
        guard let bytes = FileManager.default.contents(atPath: file) else {
            printError("icmm import: cannot read \(file)")
            throw ExitCode(1)
        }
        let body = [UInt8](bytes)
        let isArray = body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "[")
        let reader = ImportRecordReader(body: body, format: isArray ? .jsonArray : .ndjson)
        let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
        defer { db.close() }
        let stageTimings = timings ? ImportTimings() : nil
        do {
            let summary = try CaseStore(database: db).importCases(
                reading: reader, site: site, mode: ImportMode(rawValue: mode ?? "create")!, dryRun: dryRun, keyID: "cli",
                timings: stageTimings)
            print(String(decoding: summary.serialized(), as: UTF8.self))
            if let stageTimings { printError(stageTimings.report) }
        } catch RegistryError.importRejected(let failures) {
            print(JSONValue.object(["records": .array(failures.map { $0.toJSON() })]).serializedString())
            printError("icmm import: \(failures.count) record(s) are invalid; nothing was stored.")
            throw ExitCode(1)
        } catch let error as ImportBodyError {
            printError("icmm import: \(file): \(error)")
            throw ExitCode(1)
        }
    }
}

struct Reclassify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reclassify",
        abstract: "Recompute the classification of cases stored by an older classification engine.",
        discussion: """
            `icmm serve` does this at start. Each recomputed case gets a new version and an audit \
            entry naming the classification fields that changed. Cases that no longer pass \
            validation keep their classification and are counted as failed.
            """)

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
        defer { db.close() }
        let result = try CaseStore(database: db).reclassifyStale(keyID: "reclassify")
        print(#"{"failed":\#(result.failed),"updated":\#(result.updated)}"#)
    }
}
