import ArgumentParser
import Foundation
import Logging
import Storage

/// Where the database lives and where its migrations come from; shared by every command that opens it.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite database file (its folder is created if missing), or postgres://user@host:port/dbname (also postgresql://) for a PostgreSQL database shared by several instances.",
            valueName: "path|url"))
    var db: String = "./var/icmm.sqlite"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL: connections in this instance's pool (default: 2 x cores + 2). SQLite: reader connections (default: cores, at least 2).",
            valueName: "n"))
    var dbPool: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Folder of the migrations (its sqlite/ and postgres/ subfolders of NNNN_name.sql files). Default: $ICMM_MIGRATIONS, else ./Migrations, else the Migrations folder of the working copy the binary was built in, else /app/Migrations.",
            valueName: "dir"))
    var migrations: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite: how commits reach the disk: full (default: an acknowledged write survives a power cut) or normal (survives a process crash only). PostgreSQL always commits with synchronous_commit on.",
            valueName: "mode"))
    var synchronous: String = "full"

    func validate() throws {
        guard ["full", "normal"].contains(synchronous) else {
            throw ValidationError("--synchronous must be full or normal.")
        }
        if synchronous != "full" && Database.isPostgresURL(db) {
            throw ValidationError(
                "--synchronous is SQLite's setting; PostgreSQL always commits with synchronous_commit on (an acknowledged write is durable).")
        }
        if let dbPool, dbPool < 1 || dbPool > 1_000 {
            throw ValidationError("--db-pool must be between 1 and 1000.")
        }
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level.") }
    }

    func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

/// Finds files the service ships beside its code (migrations, openapi.yaml).
enum Resources {
    /// The first existing candidate: explicit, then the environment, then the working directory,
    /// then the working copy the binary was built in (`.build/<config>/icmm`), then `/app`.
    static func locate(_ name: String, explicit: String?, environment: String) -> String {
        if let explicit { return explicit }
        if let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty { return value }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            FileManager.default.currentDirectoryPath + "/" + name,
            executable.appendingPathComponent("../../../\(name)").standardizedFileURL.path,
            executable.appendingPathComponent("../../\(name)").standardizedFileURL.path,
            executable.appendingPathComponent(name).path,
            "/app/\(name)",
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}
