import CSQLite

/// A failed database call. Carries the result codes (SQLite) or SQLSTATE (PostgreSQL), the
/// database's message and the SQL text, never the bound values: they may be patient data and
/// errors end up in logs.
public struct DatabaseError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`...); 0 for PostgreSQL.
    public let resultCode: Int32
    /// PostgreSQL's SQLSTATE (`23505`...); nil for SQLite.
    public let sqlState: String?
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`...).
    public let extendedResultCode: Int32
    public let message: String
    public let sql: String?

    public init(resultCode: Int32, extendedResultCode: Int32? = nil, message: String, sql: String? = nil) {
        self.resultCode = resultCode & 0xFF
        self.extendedResultCode = extendedResultCode ?? resultCode
        self.message = message
        self.sql = sql
        self.sqlState = nil
    }

    /// A PostgreSQL failure, by SQLSTATE.
    public init(postgres sqlState: String, message: String, sql: String? = nil) {
        self.resultCode = 0
        self.extendedResultCode = 0
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
    }

    /// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (macros Swift does not import).
    /// PostgreSQL: unique_violation.
    public var isUniqueConstraintViolation: Bool {
        extendedResultCode == 2067 || extendedResultCode == 1555 || sqlState == "23505"
    }
    /// Worth retrying shortly: SQLite's locks; PostgreSQL's serialization failure, deadlock,
    /// lock timeout, or every pooled connection in use past the wait (`53300`).
    public var isBusy: Bool {
        resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED
            || ["40001", "40P01", "55P03", "53300"].contains(sqlState ?? "")
    }
    /// The database cannot be reached: connection failures (class 08) and a server shutting
    /// down or starting up (57P01-57P03).
    public var isUnavailable: Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    public var description: String {
        var text = sqlState.map { "PostgreSQL error \($0): \(message)" } ?? "SQLite error \(extendedResultCode): \(message)"
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
