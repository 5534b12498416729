import ArgumentParser

@main
struct ICMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icmm",
        abstract: "ICMM Registry: cases of multiple myeloma with intracranial involvement, pooled and classified the same way everywhere.",
        discussion: """
            Hospitals post cases over REST; the service classifies each one (osteodural vs CNS \
            myeloma, response, staging) by the rules of the registry's DOMAIN.md and reports cohort \
            outcomes (Kaplan-Meier, log-rank, Cox). Start with `icmm serve`; see `icmm help <command>`.
            """,
        subcommands: [Serve.self, Migrate.self, Keys.self, Audit.self, Import.self, Backup.self, Copy.self, Reclassify.self, Analyze.self, Demo.self])
}
