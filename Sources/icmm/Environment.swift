import Foundation
import Logging
import Storage

/// Opens the database (creating its folder) and applies pending migrations.
func openMigratedDatabase(_ options: DatabaseOptions, logger: Logger) throws -> (Database, MigrationRunner) {
    let folder = URL(fileURLWithPath: options.db).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var configuration = Database.Configuration(path: options.db)
    configuration.synchronous = options.synchronous == "normal" ? .normal : .full
    let database = try Database(configuration: configuration)
    let migrationsFolder = Resources.locate("Migrations", explicit: options.migrations, environment: "ICMM_MIGRATIONS")
    let runner = try MigrationRunner(directory: migrationsFolder)
    try runner.migrate(database, logger: logger)
    return (database, runner)
}

/// Writes a line to standard error (Glibc's `stderr` is not usable in Swift 6 language mode).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Commands that print JSON keep the log quiet (warnings and errors still reach standard error).
func quietLogger() -> Logger {
    var logger = Logger(label: "icmm")
    logger.logLevel = .warning
    return logger
}
