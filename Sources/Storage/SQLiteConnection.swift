import CSQLite
import Foundation

/// One SQLite connection (the SQLite driver behind `Connection`). Not Sendable: the database serializes access to it.
final class SQLiteConnection {
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    public let path: String

    /// Opens (creating if asked) the database file. The corresponding C function is `sqlite3_open_v2`.
    public init(path: String, readOnly: Bool = false) throws(DatabaseError) {
        _ = Self.savepointJournalsInMemory
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let db { sqlite3_close_v2(db) }
            throw DatabaseError(resultCode: rc, message: message)
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    /// Set once, before the first connection opens (SQLite accepts it only before it initializes).
    /// The group commit runs each write of a batch in a savepoint, and SQLite journals every page a
    /// savepoint changes; past its default of 64 KiB that journal went to a temporary file in
    /// /var/tmp, created, written page by page and deleted for nearly every batch: more write(2)
    /// calls than the WAL itself, inside the section every write of the process waits for.
    /// 128 KiB holds 31 pages, and a case write changes about a dozen; a larger journal still
    /// spills to a file. SQLite allocates the in-memory journal as one block of this size, from
    /// its first page on, and frees it when the savepoint is released: it must stay below the
    /// allocator's mmap threshold (256 KiB, `Allocator.swift`), or every write maps and unmaps it
    /// (4 MiB did: an mmap, page faults and an munmap with its TLB shootdown per case). Not more
    /// than 128 KiB either: with SQLite 3.40.1, 160 KiB and above made a journal that then spilled
    /// fail with SQLITE_FULL (WriterCostTests spills one).
    static let savepointJournalBytes: Int32 = 128 * 1024
    private static let savepointJournalsInMemory: Void = {
        _ = csqlite_config_statement_journal_spill(savepointJournalBytes)
    }()

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, sql: String? = nil) -> DatabaseError {
        DatabaseError(
            resultCode: rc, extendedResultCode: sqlite3_extended_errcode(handle),
            message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements without parameters. The corresponding C function is `sqlite3_exec`.
    public func execute(_ sql: String) throws(DatabaseError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw DatabaseError(resultCode: rc, extendedResultCode: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// A prepared statement, cached per SQL text. Every use resets it (and clears its bindings)
    /// when done, so a cached one is ready; one still running is reset here all the same.
    public func prepare(_ sql: String) throws(DatabaseError) -> Statement {
        if let cached = statementCache[sql] {
            if sqlite3_stmt_busy(cached.handle) != 0 { cached.reset() }
            return cached
        }
        let statement = try Statement(connection: self, sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs a statement with parameters and returns the number of changed rows.
    @discardableResult
    public func run(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws(DatabaseError) -> Int {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Reads every row of a query, mapping each with `transform`.
    public func query<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ transform: (Row) throws -> T
    ) throws -> [T] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        var rows: [T] = []
        while try statement.step() {
            rows.append(try transform(Row(sqlite: statement.handle)))
        }
        return rows
    }

    /// Calls `body` with every row of a query (`Connection.forEachRow`).
    func forEachRow(_ sql: String, _ arguments: [any DatabaseValueConvertible], _ body: (Row) throws -> Void) throws {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        while try statement.step() {
            try body(Row(sqlite: statement.handle))
        }
    }

    /// The first row of a query, if any.
    public func queryOne<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ transform: (Row) throws -> T
    ) throws -> T? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return nil }
        return try transform(Row(sqlite: statement.handle))
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows inserted, updated or deleted by statements that completed on this connection since it
    /// opened. A statement that fails has its own changes undone and does not count.
    var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// False when no transaction is open (SQLite ends one by itself after some errors).
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The integer result of a pragma such as `page_count`.
    public func pragmaInteger(_ name: String) throws(DatabaseError) -> Int64 {
        let statement = try prepare("PRAGMA \(name)")
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return sqlite3_column_int64(statement.handle, 0)
    }
}

/// A prepared statement. Finalized when released; belongs to one connection and is not Sendable.
final class Statement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    public let sql: String

    init(connection: SQLiteConnection, sql: String) throws(DatabaseError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds positional parameters (`?`), 1-based in SQLite, 0-based here.
    public func bind(_ arguments: [any DatabaseValueConvertible]) throws(DatabaseError) {
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            let rc: Int32
            switch argument.databaseValue {
            case .null: rc = sqlite3_bind_null(handle, position)
            case .integer(let v): rc = sqlite3_bind_int64(handle, position, v)
            case .real(let v): rc = sqlite3_bind_double(handle, position, v)
            case .text(let v): rc = Self.bindText(v, to: handle, at: position)
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(handle, position, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
        }
    }

    /// Binds the string's own UTF-8 bytes (SQLite copies them): passing a `String` where C wants a
    /// `char *` would first copy it into a new NUL-terminated array, 26 of them per imported case.
    private static func bindText(_ text: String, to handle: OpaquePointer, at position: Int32) -> Int32 {
        let bound = text.utf8.withContiguousStorageIfAvailable { bytes -> Int32? in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
            return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, position, $0, Int32(bytes.count), csqlite_transient())
            }
        }
        return (bound ?? nil) ?? sqlite3_bind_text(handle, position, text, -1, csqlite_transient())
    }

    /// Advances; true while there is a row. The corresponding C function is `sqlite3_step`.
    public func step() throws(DatabaseError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, sql: sql)
        }
    }
}

