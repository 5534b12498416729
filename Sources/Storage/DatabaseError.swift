import CSQLite

/// A failed SQLite call. Carries the result codes, SQLite's message and the SQL text,
/// never the bound values: they may be patient data and errors end up in logs.
public struct DatabaseError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`...).
    public let resultCode: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`...).
    public let extendedResultCode: Int32
    public let message: String
    public let sql: String?

    public init(resultCode: Int32, extendedResultCode: Int32? = nil, message: String, sql: String? = nil) {
        self.resultCode = resultCode & 0xFF
        self.extendedResultCode = extendedResultCode ?? resultCode
        self.message = message
        self.sql = sql
    }

    /// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (macros Swift does not import).
    public var isUniqueConstraintViolation: Bool { extendedResultCode == 2067 || extendedResultCode == 1555 }
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    public var description: String {
        var text = "SQLite error \(extendedResultCode): \(message)"
        if let sql { text += " (while running: \(sql))" }
        return text
    }
}

/// Problems of the migrations runner; each refuses to start the service.
public enum MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    case directoryNotFound(String)
    case badFileName(String)
    case duplicateVersion(Int)
    case checksumMismatch(version: Int, name: String)
    case unknownAppliedMigration(version: Int, name: String)

    public var description: String {
        switch self {
        case .directoryNotFound(let path): "Migrations directory not found: \(path)"
        case .badFileName(let name): "Migration file name must be NNNN_name.sql: \(name)"
        case .duplicateVersion(let v): "Two migration files have version \(v)."
        case .checksumMismatch(let v, let name):
            "Migration \(v) (\(name)) was edited after it was applied: its checksum differs from the one recorded. Migrations are never edited once shipped; add a new one."
        case .unknownAppliedMigration(let v, let name):
            "The database has migration \(v) (\(name)) applied, which this build does not have: it is newer than this binary."
        }
    }
}
