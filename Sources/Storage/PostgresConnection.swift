import CPostgreSQL
import Foundation

/// One libpq connection (the PostgreSQL driver behind `Connection`). Statements are prepared once
/// per connection and SQL text, with SQLite's `?` placeholders rewritten to `$1, $2...`; values
/// travel and come back in libpq's text format. Not Sendable: the pool lends it to one thread at a time.
final class PostgresConnection {
    let handle: OpaquePointer
    /// SQL text (as Registry writes it) -> the name of its prepared statement on this connection.
    private var statements: [String: String] = [:]
    private var statementCounter = 0
    /// Transaction-control statements waiting to travel with the next statement.
    var pendingControl: [String] = []
    /// Dynamic SQL (filters) makes new texts; past this many the server-side statements are dropped.
    static let statementCacheLimit = 256

    /// Connects with a libpq connection string or URI (`postgresql://user@host:port/db?...`) and
    /// makes every commit durable before it is acknowledged, whatever the server's default:
    /// `synchronous_commit` on (an acknowledged case survives a crash of the server).
    init(conninfo: String) throws(DatabaseError) {
        guard let connection = PQconnectdb(conninfo) else {
            throw DatabaseError(postgres: "08001", message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw DatabaseError(postgres: "08001", message: message)
        }
        handle = connection
        // Custom plans for every execution: a generic plan cached while `cases` was small (a seq
        // scan) would stay in use as it grows by 100,000 rows inside one import, and a lookup by
        // (site, external_id) would scan the table every time. Planning these statements is cheap.
        try execute(
            "SET synchronous_commit = on; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
                + "SET client_min_messages = warning; SET plan_cache_mode = force_custom_plan")
    }

    deinit { PQfinish(handle) }

    /// True once the server connection is gone (the pool then drops this connection).
    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// True when no transaction is open (the state a connection must be in when returned to the pool).
    var isIdle: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }

    /// Runs one or more statements without parameters (simple query protocol), after any control
    /// statements still waiting (in the same round trip). A ROLLBACK drops those instead.
    func execute(_ sql: String) throws(DatabaseError) {
        var text = sql
        if sql == "ROLLBACK" {
            pendingControl.removeAll()
        } else if !pendingControl.isEmpty {
            text = (pendingControl + [sql]).joined(separator: "; ")
            pendingControl.removeAll()
        }
        let result = PQexec(handle, text)
        defer { PQclear(result) }
        try check(result, sql: text)
    }

    /// Queues statements without parameters to be sent with the next one.
    func sendWithNext(_ statements: [String]) { pendingControl += statements }

    @discardableResult
    func run(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws(DatabaseError) -> Int {
        let result = try execute(sql, arguments)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    func query<T>(_ sql: String, _ arguments: [any DatabaseValueConvertible], _ transform: (Row) throws -> T) throws -> [T] {
        let result = try execute(sql, arguments)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(Int(count))
        for index in 0..<count {
            rows.append(try transform(Row(postgres: result, row: index)))
        }
        return rows
    }

    func forEachRow(_ sql: String, _ arguments: [any DatabaseValueConvertible], _ body: (Row) throws -> Void) throws {
        let result = try execute(sql, arguments)
        defer { PQclear(result) }
        for index in 0..<PQntuples(result) {
            try body(Row(postgres: result, row: index))
        }
    }

    func queryOne<T>(_ sql: String, _ arguments: [any DatabaseValueConvertible], _ transform: (Row) throws -> T) throws -> T? {
        let result = try execute(sql, arguments)
        defer { PQclear(result) }
        guard PQntuples(result) > 0 else { return nil }
        return try transform(Row(postgres: result, row: 0))
    }

    /// Executes a prepared statement; the caller clears the result.
    private func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws(DatabaseError) -> OpaquePointer {
        let name = try preparedName(sql)
        let parameters = PostgresTextParameters(arguments)
        let controls = pendingControl
        pendingControl.removeAll()
        let result = try parameters.withValues { values throws(DatabaseError) -> OpaquePointer? in
            if controls.isEmpty { return PQexecPrepared(handle, name, Int32(values.count), values, nil, nil, 0) }
            return try pipelined(controls, then: name, values, sql: sql)
        }
        do {
            try check(result, sql: sql)
        } catch {
            PQclear(result)
            throw error
        }
        return result!
    }

    /// The control statements and then the prepared statement in one round trip (pipeline mode):
    /// the statement's result, or the first control statement's error.
    private func pipelined(
        _ controls: [String], then name: String, _ values: [UnsafePointer<CChar>?], sql: String
    ) throws(DatabaseError) -> OpaquePointer? {
        guard PQenterPipelineMode(handle) == 1 else { throw failure(nil, sql: sql) }
        defer { PQexitPipelineMode(handle) }
        var sent = true
        for control in controls { sent = sent && PQsendQueryParams(handle, control, 0, nil, nil, nil, nil, 0) == 1 }
        sent = sent && PQsendQueryPrepared(handle, name, Int32(values.count), values, nil, nil, 0) == 1
        sent = sent && PQpipelineSync(handle) == 1
        guard sent else { throw failure(nil, sql: sql) }
        // Each query's result, then NULL, ... then the sync point. Collected in order.
        var results: [OpaquePointer] = []
        var nulls = 0
        while true {
            guard let result = PQgetResult(handle) else {
                nulls += 1
                if nulls > controls.count + 2 || isBroken { break }
                continue
            }
            if PQresultStatus(result) == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            results.append(result)
        }
        guard results.count == controls.count + 1 else {
            results.forEach { PQclear($0) }
            throw failure(nil, sql: sql)
        }
        for (control, result) in zip(controls, results) {
            let status = PQresultStatus(result)
            if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK {
                let error = failure(result, sql: control)
                results.forEach { PQclear($0) }
                throw error
            }
            PQclear(result)
        }
        return results.last
    }

    func preparedName(_ sql: String) throws(DatabaseError) -> String {
        if let name = statements[sql] { return name }
        // Waiting control statements go first: after a failed statement the transaction accepts
        // nothing (not even a PREPARE) until its ROLLBACK TO has run.
        if !pendingControl.isEmpty { try execute("") }
        if statements.count >= Self.statementCacheLimit, isIdle {
            try execute("DEALLOCATE ALL")
            statements.removeAll()
        }
        statementCounter += 1
        let name = "icmm_\(statementCounter)"
        let result = PQprepare(handle, name, Self.numberedPlaceholders(sql), 0, nil)
        defer { PQclear(result) }
        try check(result, sql: sql)
        statements[sql] = name
        return name
    }

    /// Throws unless the result is a success.
    private func check(_ result: OpaquePointer?, sql: String) throws(DatabaseError) {
        guard let result else { throw failure(nil, sql: sql) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default: throw failure(result, sql: sql)
        }
    }

    /// The error of a failed call: its SQLSTATE and primary message, never the DETAIL (which
    /// quotes the values of a violated key: patient data ends up in logs otherwise).
    func failure(_ result: OpaquePointer?, sql: String) -> DatabaseError {
        func field(_ code: Int32) -> String? {
            guard let result, let text = PQresultErrorField(result, code) else { return nil }
            return String(cString: text)
        }
        guard let sqlState = field(cpq_diag_sqlstate()) else {
            // No server answer: the connection is gone (or was never there).
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            return DatabaseError(postgres: "08006", message: message.isEmpty ? "connection to the database lost" : message, sql: sql)
        }
        var message = field(cpq_diag_message_primary()) ?? "error"
        // Data exceptions (22) and integrity violations (23) may quote a value in the message itself.
        if sqlState.hasPrefix("22") || sqlState.hasPrefix("23") {
            message = "condition \(sqlState)" + (field(cpq_diag_constraint_name()).map { " on constraint \($0)" } ?? "")
        }
        return DatabaseError(postgres: sqlState, message: message, sql: sql)
    }

    /// `?` placeholders as PostgreSQL's `$1, $2...`, outside quoted text and comments.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: UInt8?
        var inComment = false
        var previous: UInt8 = 0
        for byte in sql.utf8 {
            if inComment {
                if byte == 0x0A { inComment = false }
            } else if let open = quote {
                if byte == open { quote = nil }
            } else if byte == 0x27 || byte == 0x22 {  // ' or "
                quote = byte
            } else if byte == 0x2D && previous == 0x2D {  // --
                inComment = true
            } else if byte == 0x3F {  // ?
                number += 1
                output.append(0x24)
                output.append(contentsOf: String(number).utf8)
                previous = byte
                continue
            }
            output.append(byte)
            previous = byte
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// libpq's text format read in place.
enum PostgresText {
    /// A decimal integer (`-12`); 0 for anything else.
    static func int64(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var value: Int64 = 0
        var negative = false
        for (i, byte) in bytes.enumerated() {
            if i == 0 && byte == 0x2D {
                negative = true
                continue
            }
            let digit = Int64(byte) &- 0x30
            guard digit >= 0 && digit <= 9 else { return 0 }
            value = value &* 10 &+ digit
        }
        return negative ? -value : value
    }

    /// A `bytea` in hex output format (`\x0a1b...`).
    static func bytea(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard bytes.count >= 2, bytes[0] == 0x5C, bytes[1] == 0x78 else { return Array(bytes) }
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: 0
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count - 2) / 2)
        var i = 2
        while i + 1 < bytes.count {
            out.append(nibble(bytes[i]) << 4 | nibble(bytes[i + 1]))
            i += 2
        }
        return out
    }
}
