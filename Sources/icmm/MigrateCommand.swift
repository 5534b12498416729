import ArgumentParser
import Logging
import Storage

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations, then list every migration with its state.",
        discussion: """
            Each Migrations/<sqlite or postgres>/NNNN_name.sql file is applied once, in version order, inside its own \
            transaction together with the row that records it in schema_migrations. A migration \
            that was edited after it was applied (its SHA-256 changed) stops the command: shipped \
            migrations are never edited; add a new one instead. `icmm serve` does the same at start.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let logger = logging.makeLogger(label: "icmm.migrate")
        do {
            let (db, runner) = try openMigratedDatabase(database, logger: logger)
            defer { db.close() }
            for status in try runner.status(db) {
                let state = status.appliedAt.map { "applied \($0)" } ?? "pending"
                print(String(format: "%04d  %@  %@", status.version, status.name, state))
            }
        } catch let error as MigrationError {
            printError("icmm migrate: \(error)")
            throw ExitCode(2)
        }
    }
}
