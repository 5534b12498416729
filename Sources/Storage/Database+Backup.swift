import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What an online backup wrote.
public struct BackupSummary: Sendable, Equatable {
    public let path: String
    public let pages: Int
    public let bytes: Int64
}

/// Problems of `Database.backup` that are not SQLite errors.
public enum BackupError: Error, CustomStringConvertible, Sendable, Equatable {
    case sourceMissing(String)
    case sameFile(String)
    case integrityCheckFailed(String)
    case io(String)

    public var description: String {
        switch self {
        case .sourceMissing(let path): "No database at \(path)."
        case .sameFile(let path): "The copy must not be the database itself (\(path))."
        case .integrityCheckFailed(let result): "The copy failed PRAGMA integrity_check: \(result)"
        case .io(let message): message
        }
    }
}

extension Database {
    /// Copies a live database to `destination` with SQLite's online backup API, while other
    /// connections and processes go on writing.
    ///
    /// The whole copy is made in one `sqlite3_backup_step(-1)`, which reads inside one read
    /// transaction: in WAL mode that is a snapshot taken when the step starts, so the copy holds
    /// every transaction committed before it (every acknowledged case) and none half-way, and
    /// writers are never blocked. (Stepping page by page would restart the copy after every
    /// foreign write and might never finish under load.)
    ///
    /// The copy is written to a temporary file beside `destination`, synced, checked with
    /// `PRAGMA integrity_check`, switched out of WAL mode (one self-contained file) and only then
    /// renamed into place: `destination` is always either the previous backup or a complete new one.
    @discardableResult
    public static func backup(from source: String, to destination: String) throws -> BackupSummary {
        guard FileManager.default.fileExists(atPath: source) else { throw BackupError.sourceMissing(source) }
        let sourceURL = URL(fileURLWithPath: source).resolvingSymlinksInPath().standardizedFileURL
        let destinationURL = URL(fileURLWithPath: destination).resolvingSymlinksInPath().standardizedFileURL
        guard sourceURL.path != destinationURL.path else { throw BackupError.sameFile(destination) }

        let folder = destinationURL.deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/." + destinationURL.lastPathComponent + ".partial-\(getpid())"
        removeDatabaseFiles(temporary)
        var keepTemporary = false
        defer { if !keepTemporary { removeDatabaseFiles(temporary) } }

        let pages: Int
        do {
            // Not read-only: a reader of a WAL database may need to create the -shm index.
            let from = try SQLiteConnection(path: source)
            sqlite3_busy_timeout(from.handle, 5_000)
            let to = try SQLiteConnection(path: temporary)
            guard let backup = sqlite3_backup_init(to.handle, "main", from.handle, "main") else {
                throw to.error(sqlite3_errcode(to.handle))
            }
            var rc: Int32
            repeat {
                rc = sqlite3_backup_step(backup, -1)
                // BUSY/LOCKED: a writer held a lock the snapshot needed for an instant; try again.
                if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { usleep(10_000) }
            } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
            pages = Int(sqlite3_backup_pagecount(backup))
            let finish = sqlite3_backup_finish(backup)
            guard rc == SQLITE_DONE else { throw from.error(rc) }
            guard finish == SQLITE_OK else { throw to.error(finish) }

            // One self-contained file: the copy's header says WAL (copied from the source);
            // switching to DELETE folds everything into the main file.
            try to.execute("PRAGMA journal_mode=DELETE")
            let check = try to.query("PRAGMA integrity_check") { $0.string(0) }
            guard check == ["ok"] else { throw BackupError.integrityCheckFailed(check.prefix(5).joined(separator: "; ")) }
        }
        try syncFile(temporary)
        // rename(2) replaces the previous backup atomically; stale side files of it must not outlive it.
        for suffix in ["-wal", "-shm", "-journal"] { unlink(destinationURL.path + suffix) }
        guard rename(temporary, destinationURL.path) == 0 else {
            throw BackupError.io("Cannot move the copy into place at \(destination): \(String(cString: strerror(errno)))")
        }
        keepTemporary = true
        try syncFile(folder)  // the rename itself reaches the disk
        let bytes = (try? FileManager.default.attributesOfItem(atPath: destinationURL.path)[.size] as? Int64) ?? nil
        return BackupSummary(path: destinationURL.path, pages: pages, bytes: bytes ?? 0)
    }

    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    private static func syncFile(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw BackupError.io("Cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { _ = Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw BackupError.io("Cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
