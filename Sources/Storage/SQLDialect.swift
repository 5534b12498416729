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

    /// The statements that open a row-locked group commit's transaction
    /// (`Database.rowLockedGroupedWrite`: single-case writes). SQLite: `BEGIN IMMEDIATE`, as any write. PostgreSQL: READ COMMITTED with the
    /// writers' advisory lock taken SHARED, so that the grouped writes of all instances run and
    /// commit side by side (their WAL flushes overlap) while an exclusive writer (an import, a
    /// migration, key administration: `begin(immediate: true)`) still excludes them all. What the
    /// global lock gave single-case writes is kept by the rows themselves:
    /// - a read-then-write of one case (`If-Match`, a merge patch, an erasure) locks the case's row
    ///   first (`SELECT ... FOR UPDATE`, `CaseStore.existing`), so two writers of the same case
    ///   take turns and the second sees the first's committed version: no lost update, and of two
    ///   requests with the same `If-Match` exactly one wins;
    /// - two creates of the same (site, external id) meet on its unique key: the second waits for
    ///   the first to commit and then inserts nothing (`ON CONFLICT DO NOTHING`), reported as a conflict;
    /// - change numbers come from a sequence and the data version is bumped last
    ///   (`CaseStore.nextChangeSequence` explains why no commit can be missed).
    public var beginGroupedWrite: [String] {
        switch self {
        case .sqlite: begin(immediate: true)
        case .postgres: ["BEGIN", "SELECT pg_advisory_xact_lock_shared(\(Self.writerLockKey))"]
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
