import CPostgreSQL
import CSQLite
import Foundation

import CSQLite
import Foundation

/// A value bound to or read from a statement.
public enum DatabaseValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

public protocol DatabaseValueConvertible {
    var databaseValue: DatabaseValue { get }
}
extension Int: DatabaseValueConvertible { public var databaseValue: DatabaseValue { .integer(Int64(self)) } }
extension Int64: DatabaseValueConvertible { public var databaseValue: DatabaseValue { .integer(self) } }
extension Double: DatabaseValueConvertible { public var databaseValue: DatabaseValue { .real(self) } }
extension String: DatabaseValueConvertible { public var databaseValue: DatabaseValue { .text(self) } }
extension Bool: DatabaseValueConvertible { public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) } }
extension DatabaseValue: DatabaseValueConvertible { public var databaseValue: DatabaseValue { self } }
extension Optional: DatabaseValueConvertible where Wrapped: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self?.databaseValue ?? .null }
}

/// One connection to the registry's database, whichever driver serves it. Registry code talks SQL
/// with `?` placeholders through this type only; the driver translates what differs (placeholders,
/// transaction control, the write lock). Not Sendable: the `Database` serializes access to each connection.
public final class Connection {
    enum Driver {
        case sqlite(SQLiteConnection)
        case postgres(PostgresConnection)
    }

    let driver: Driver
    /// Statements to run as the last ones before this transaction's COMMIT (`runBeforeCommit`).
    var beforeCommit: [String] = []

    init(_ driver: Driver) { self.driver = driver }

    /// Asks for `sql` to run once, as the last statement before the current transaction commits
    /// (sent with the COMMIT in one round trip on PostgreSQL). Asked twice, it runs once. Dropped
    /// if the transaction rolls back. Used for a row whose lock must be held as briefly as
    /// possible: the registry's data version on PostgreSQL (see `CaseStore.nextChangeSequence`).
    public func runBeforeCommit(_ sql: String) {
        if !beforeCommit.contains(sql) { beforeCommit.append(sql) }
    }

    /// Ends the current transaction with COMMIT, preceded by what `runBeforeCommit` asked for.
    func commit() throws(DatabaseError) {
        let statements = beforeCommit
        beforeCommit.removeAll()
        try control(statements)
        try execute("COMMIT")
    }

    /// Ends the current transaction with ROLLBACK (errors ignored: the connection is dropped if broken).
    func rollback() {
        beforeCommit.removeAll()
        try? execute("ROLLBACK")
    }

    /// Opens (creating if asked) an SQLite database file directly, outside any `Database`.
    public convenience init(path: String, readOnly: Bool = false) throws(DatabaseError) {
        self.init(.sqlite(try SQLiteConnection(path: path, readOnly: readOnly)))
    }

    /// Which SQL dialect this connection speaks.
    public var dialect: SQLDialect {
        switch driver {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(DatabaseError) {
        switch driver {
        case .sqlite(let c): try c.execute(sql)
        case .postgres(let c): try c.execute(sql)
        }
    }

    /// Runs a statement with parameters and returns the number of changed rows.
    @discardableResult
    public func run(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws(DatabaseError) -> Int {
        switch driver {
        case .sqlite(let c): try c.run(sql, arguments)
        case .postgres(let c): try c.run(sql, arguments)
        }
    }

    /// Reads every row of a query, mapping each with `transform`.
    public func query<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ transform: (Row) throws -> T
    ) throws -> [T] {
        switch driver {
        case .sqlite(let c): try c.query(sql, arguments, transform)
        case .postgres(let c): try c.query(sql, arguments, transform)
        }
    }

    /// Calls `body` with every row of a query, in order. Not generic, so that a caller in another
    /// module runs a specialized loop (the generic `query` goes through unspecialized generic
    /// code across the module boundary, costing hundreds of instructions per row of a scan).
    public func forEachRow(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ body: (Row) throws -> Void
    ) throws {
        switch driver {
        case .sqlite(let c): try c.forEachRow(sql, arguments, body)
        case .postgres(let c): try c.forEachRow(sql, arguments, body)
        }
    }

    /// The first row of a query, if any.
    public func queryOne<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ transform: (Row) throws -> T
    ) throws -> T? {
        switch driver {
        case .sqlite(let c): try c.queryOne(sql, arguments, transform)
        case .postgres(let c): try c.queryOne(sql, arguments, transform)
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    /// `immediate` takes the registry's write lock at once, so a read-then-write cannot be
    /// overtaken (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the writers' advisory lock, held until
    /// the end of the transaction, which every instance's writes take). Not immediate: one
    /// consistent snapshot for several reads.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        beforeCommit.removeAll()
        try control(dialect.begin(immediate: immediate))
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Transaction-control statements (BEGIN, savepoints). SQLite runs them at once (each prepared
    /// once and reused); PostgreSQL sends them with the connection's next statement, in one round
    /// trip (libpq's pipeline mode), so that control costs no waiting of its own. Their errors
    /// surface with that statement.
    public func control(_ statements: [String]) throws(DatabaseError) {
        switch driver {
        case .sqlite(let c): for statement in statements { try c.run(statement, []) }
        case .postgres(let c): c.sendWithNext(statements)
        }
    }

    /// The integer result of an SQLite pragma such as `page_count` (SQLite only).
    public func pragmaInteger(_ name: String) throws(DatabaseError) -> Int64 {
        guard case .sqlite(let c) = driver else {
            throw DatabaseError(postgres: "42601", message: "PRAGMA is SQLite only", sql: "PRAGMA \(name)")
        }
        return try c.pragmaInteger(name)
    }
}

/// The current row of a query; valid only inside the mapping closure. Reads the driver's buffer
/// in place (SQLite's column memory, libpq's text result): no copy until a String is asked for.
public struct Row {
    enum Source {
        case sqlite(OpaquePointer)
        /// A libpq result and the row's index in it.
        case postgres(OpaquePointer, Int32)
    }

    let source: Source

    init(sqlite statement: OpaquePointer) { source = .sqlite(statement) }
    init(postgres result: OpaquePointer, row: Int32) { source = .postgres(result, row) }

    public var columnCount: Int {
        switch source {
        case .sqlite(let s): Int(sqlite3_column_count(s))
        case .postgres(let r, _): Int(PQnfields(r))
        }
    }

    public func isNull(_ index: Int) -> Bool {
        switch source {
        case .sqlite(let s): sqlite3_column_type(s, Int32(index)) == SQLITE_NULL
        case .postgres(let r, let row): PQgetisnull(r, row, Int32(index)) == 1
        }
    }

    public func int(_ index: Int) -> Int { Int(int64(index)) }

    public func int64(_ index: Int) -> Int64 {
        switch source {
        case .sqlite(let s): return sqlite3_column_int64(s, Int32(index))
        case .postgres:
            return utf8(index).map(PostgresText.int64) ?? 0
        }
    }

    public func double(_ index: Int) -> Double {
        switch source {
        case .sqlite(let s): sqlite3_column_double(s, Int32(index))
        case .postgres(let r, let row): PQgetvalue(r, row, Int32(index)).map { strtod($0, nil) } ?? 0
        }
    }

    public func bool(_ index: Int) -> Bool { int64(index) != 0 }

    public func string(_ index: Int) -> String {
        withUTF8(index) { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    public func optionalString(_ index: Int) -> String? { isNull(index) ? nil : string(index) }

    /// The column's text as bytes, without making a String (nil for NULL). Valid only inside `body`.
    public func withUTF8<T>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        utf8(index).map(body)
    }

    /// The column's text as bytes in the driver's buffer, without a copy (nil for NULL). Valid
    /// only while the row is (inside the mapping closure). Not generic, unlike `withUTF8`: what a
    /// scan of many rows in another module should call.
    public func utf8(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        switch source {
        case .sqlite(let s):
            guard let text = sqlite3_column_text(s, Int32(index)) else { return nil }
            return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, Int32(index))))
        case .postgres(let r, let row):
            // NULL reads as an empty value: only an empty value needs the NULL test.
            let count = Int(PQgetlength(r, row, Int32(index)))
            if count == 0 && PQgetisnull(r, row, Int32(index)) == 1 { return nil }
            guard let text = PQgetvalue(r, row, Int32(index)) else { return nil }
            return UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: count)
        }
    }

    /// The number of rows of the whole result when the driver knows it before the first row is
    /// read (PostgreSQL: the result is complete), so that a scan can reserve its array once; nil
    /// otherwise (SQLite steps through the rows).
    public var resultRowCount: Int? {
        switch source {
        case .sqlite: nil
        case .postgres(let r, _): Int(PQntuples(r))
        }
    }

    public func optionalInt(_ index: Int) -> Int? { isNull(index) ? nil : int(index) }
    public func optionalDouble(_ index: Int) -> Double? { isNull(index) ? nil : double(index) }

    public func bytes(_ index: Int) -> [UInt8] {
        switch source {
        case .sqlite(let s):
            guard let blob = sqlite3_column_blob(s, Int32(index)) else { return [] }
            let count = Int(sqlite3_column_bytes(s, Int32(index)))
            return Array(UnsafeRawBufferPointer(start: blob, count: count))
        case .postgres:
            return withUTF8(index) { PostgresText.bytea($0) } ?? []
        }
    }
}
