import ArgumentParser
import Foundation
import JSON
import Storage

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a file while the service keeps running (SQLite online backup).",
        discussion: """
            The copy is a snapshot taken when the command starts copying: it holds every case \
            acknowledged before then and nothing half-written, and writers are not stopped. It is \
            written beside COPY, synced, checked with PRAGMA integrity_check and renamed into \
            place, so COPY is always a complete backup. Restore: stop the service, copy the backup \
            over the database file (removing its -wal and -shm files), start the service. Prints a \
            JSON summary.
            """)

    @Option(name: .long, help: ArgumentHelp("The live SQLite database file.", valueName: "path"))
    var db: String = "./var/icmm.sqlite"

    @Option(name: .long, help: ArgumentHelp("Where to write the copy (replaced atomically if it exists).", valueName: "path"))
    var to: String

    func validate() throws {
        if Database.isPostgresURL(db) {
            throw ValidationError(
                "icmm backup copies an SQLite file. Back up a PostgreSQL registry with PostgreSQL's own tools: pg_basebackup (with WAL archiving, for point-in-time recovery) or pg_dump.")
        }
    }

    func run() throws {
        let started = ContinuousClock.now
        do {
            let summary = try Database.backup(from: db, to: to)
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let report: JSONValue = [
                "path": .string(summary.path), "pages": .number(Double(summary.pages)),
                "bytes": .number(Double(summary.bytes)), "seconds": .number((seconds * 1000).rounded() / 1000),
            ]
            print(report.serializedString())
        } catch let error as BackupError {
            printError("icmm backup: \(error)")
            throw ExitCode(1)
        } catch let error as DatabaseError {
            printError("icmm backup: \(error)")
            throw ExitCode(1)
        }
    }
}
