import ArgumentParser
import JSON
import Registry

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load a synthetic demo cohort shaped like the GIMEMA series (50 patients: 38 OD, 12 CNS).",
        discussion: """
            The cases are generated from a fixed seed and go through the same validation and \
            classification as real submissions, into site DEMO with external ids DEMO-001..DEMO-050 \
            (synthetic, not patients). Loading twice changes nothing. Then create an analyst key \
            (icmm keys create --site DEMO --role analyst) and open /dashboard.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: .hidden)
    var seed: UInt64 = DemoCohort.seed

    func run() throws {
        let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
        defer { db.close() }
        let summary = try CaseStore(database: db).importCases(
            DemoCohort.cases(seed: seed).map(ImportRecord.json), site: DemoCohort.site, mode: .upsert, dryRun: false, keyID: "demo")
        print(#"{"site":"\#(DemoCohort.site)","created":\#(summary.count(.created)),"updated":\#(summary.count(.updated)),"unchanged":\#(summary.count(.unchanged))}"#)
    }
}
