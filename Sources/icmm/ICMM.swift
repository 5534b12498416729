import ArgumentParser

@main
struct ICMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icmm",
        abstract: "ICMM Registry: intracranial multiple myeloma cases, classified the same way everywhere.",
        subcommands: [Analyze.self])
}
