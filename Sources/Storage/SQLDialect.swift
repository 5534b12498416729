/// The SQL that differs between the two drivers. Registry code writes common SQL with `?`
/// placeholders; what cannot be common is asked for here by what it does.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// The key of PostgreSQL's advisory lock that every instance's writes take: the registry has
    /// one writer at a time across all instances, as SQLite has one per file, so that a
    /// read-then-write (an `If-Match` check, the next change number) cannot be overtaken.
    public static let writerLockKey: Int64 = 0x1C33_0001

    /// The statements that open a transaction. Immediate: the write lock is taken at once.
    public func begin(immediate: Bool) -> [String] {
        switch self {
        case .sqlite: [immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"]
        case .postgres:
            // Not immediate: one snapshot for every read of the transaction, as SQLite's WAL read gives.
            immediate
                ? ["BEGIN", "SELECT pg_advisory_xact_lock(\(Self.writerLockKey))"]
                : ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"]
        }
    }

    /// The subfolder of `Migrations/` that holds this dialect's migrations.
    public var migrationsFolder: String { rawValue }

    /// One row, one column: 1 when the table exists in the current schema, else 0.
    func tableExists(_ table: String) -> String {
        switch self {
        case .sqlite: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(table)'"
        case .postgres:
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '\(table)'"
        }
    }
}
