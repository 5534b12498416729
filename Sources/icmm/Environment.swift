import Foundation
import Logging
import Storage

/// Opens the database (creating its folder) and applies pending migrations.
/// `--db` selects the driver: a `postgres://` or `postgresql://` URI is PostgreSQL, anything else an SQLite file.
func openMigratedDatabase(_ options: DatabaseOptions, logger: Logger) throws -> (Database, MigrationRunner) {
    let database = try openDatabase(options)
    let migrationsFolder = Resources.locate("Migrations", explicit: options.migrations, environment: "ICMM_MIGRATIONS")
    let runner = try MigrationRunner(root: migrationsFolder, dialect: database.dialect)
    try runner.migrate(database, logger: logger)
    return (database, runner)
}

/// Opens the database `--db` names, without migrating.
func openDatabase(_ options: DatabaseOptions) throws -> Database {
    if Database.isPostgresURL(options.db) {
        var configuration = Database.PostgresConfiguration(url: options.db)
        if let pool = options.dbPool { configuration.poolSize = pool }
        return try Database(postgres: configuration)
    }
    let folder = URL(fileURLWithPath: options.db).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var configuration = Database.Configuration(path: options.db)
    configuration.synchronous = options.synchronous == "normal" ? .normal : .full
    if let pool = options.dbPool { configuration.readers = pool }
    return try Database(configuration: configuration)
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
