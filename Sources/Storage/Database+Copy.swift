import CSQLite
import Foundation

/// Copying a database's tables row for row into another database (`icmm copy`: an SQLite registry
/// into PostgreSQL). Storage-level on purpose: it knows tables, columns and sequences, not cases.
/// Every value is copied as stored (ids, versions, change numbers, times as text), so the target
/// answers exactly as the source did.
public struct TableCopy: Sendable, Equatable {
    public let table: String
    /// Rows read from the source (and, checked, in the target after the copy).
    public let rows: Int
}

/// Why a copy was refused or undone; nothing in the target has changed when one is thrown.
public enum DatabaseCopyError: Error, Equatable, CustomStringConvertible {
    /// The target already holds rows: copying into it would mix two registries.
    case targetNotEmpty(table: String, rows: Int)
    /// A table to copy is missing on one side.
    case missingTable(table: String, side: String)
    /// The two sides' columns differ (the source's schema is older or newer than the target's).
    case columnsDiffer(table: String, onlyInSource: [String], onlyInTarget: [String])
    /// After the copy the target does not hold as many rows as the source.
    case countMismatch(table: String, source: Int, target: Int)

    public var description: String {
        switch self {
        case .targetNotEmpty(let table, let rows):
            "the target is not empty: table \(table) holds \(rows) row(s); copy only into a new, empty database"
        case .missingTable(let table, let side):
            "table \(table) does not exist in the \(side)"
        case .columnsDiffer(let table, let source, let target):
            "table \(table) has different columns on the two sides (only in the source: \(source.joined(separator: ", ")); "
                + "only in the target: \(target.joined(separator: ", "))); migrate the source with the same icmm version first"
        case .countMismatch(let table, let source, let target):
            "table \(table): \(source) row(s) in the source but \(target) in the target after the copy"
        }
    }
}

extension Database {
    /// Copies `tables`, in this order, from `source` into this database in ONE transaction: all
    /// of it or, on any error, nothing. The source is read in one snapshot (a read transaction).
    ///
    /// - Every table in `tables` must be empty in the target, except those in `mergeByKey`
    ///   (table -> key column): rows that the target's migrations seed, such as settings, whose
    ///   source values replace the target's (`INSERT ... ON CONFLICT (key) DO UPDATE`).
    /// - The two sides must have the same column names.
    /// - Afterwards each PostgreSQL sequence that feeds a copied column continues after the
    ///   largest copied value, and each table's row count is compared with the source's before
    ///   the commit (`countMismatch` undoes the copy).
    public func copyTables(
        from source: Connection, tables: [String], mergeByKey: [String: String] = [:], batchRows: Int = 200
    ) throws -> [TableCopy] {
        try write { target in
            try target.transaction(immediate: true) {
                try source.transaction(immediate: false) {
                    for table in tables where mergeByKey[table] == nil {
                        guard try target.tableExists(table) else { throw DatabaseCopyError.missingTable(table: table, side: "target") }
                        let rows = try target.count(table)
                        if rows > 0 { throw DatabaseCopyError.targetNotEmpty(table: table, rows: rows) }
                    }
                    var copied: [TableCopy] = []
                    for table in tables {
                        let columns = try Self.commonColumns(table, source: source, target: target)
                        let rows = try Self.copyRows(
                            table, columns: columns, from: source, to: target, mergeKey: mergeByKey[table], batchRows: batchRows)
                        try target.advanceSequences(table, columns: columns)
                        let sourceRows = try source.count(table)
                        let targetRows = try target.count(table)
                        // A merged table may keep seeded rows the source lacks; every source row must be there.
                        if mergeByKey[table] == nil ? targetRows != sourceRows : targetRows < sourceRows {
                            throw DatabaseCopyError.countMismatch(table: table, source: sourceRows, target: targetRows)
                        }
                        copied.append(TableCopy(table: table, rows: rows))
                    }
                    return copied
                }
            }
        }
    }

    private static func commonColumns(_ table: String, source: Connection, target: Connection) throws -> [String] {
        let sourceColumns = try source.columnNames(table)
        guard !sourceColumns.isEmpty else { throw DatabaseCopyError.missingTable(table: table, side: "source") }
        let targetColumns = try target.columnNames(table)
        guard !targetColumns.isEmpty else { throw DatabaseCopyError.missingTable(table: table, side: "target") }
        let onlyInSource = sourceColumns.filter { !targetColumns.contains($0) }
        let onlyInTarget = targetColumns.filter { !sourceColumns.contains($0) }
        guard onlyInSource.isEmpty, onlyInTarget.isEmpty else {
            throw DatabaseCopyError.columnsDiffer(table: table, onlyInSource: onlyInSource, onlyInTarget: onlyInTarget)
        }
        return sourceColumns
    }

    /// Streams the source's rows (in its own order of the first column) into multi-row INSERTs of
    /// `batchRows` rows; returns how many rows were read.
    private static func copyRows(
        _ table: String, columns: [String], from source: Connection, to target: Connection, mergeKey: String?, batchRows: Int
    ) throws -> Int {
        let quoted = columns.map(quoteIdentifier)
        let columnList = quoted.joined(separator: ", ")
        let rowPlaceholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        // PostgreSQL refuses explicit values for GENERATED ALWAYS identity columns without this.
        let overriding = try target.hasIdentityColumn(table) ? " OVERRIDING SYSTEM VALUE" : ""
        var conflict = ""
        if let mergeKey {
            let updates = quoted.filter { $0 != quoteIdentifier(mergeKey) }.map { "\($0) = EXCLUDED.\($0)" }
            conflict = " ON CONFLICT (\(quoteIdentifier(mergeKey))) DO " + (updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
        }
        var batch: [DatabaseValue] = []
        var batchCount = 0
        var total = 0
        func flush() throws {
            guard batchCount > 0 else { return }
            let values = Array(repeating: rowPlaceholders, count: batchCount).joined(separator: ", ")
            try target.run("INSERT INTO \(quoteIdentifier(table)) (\(columnList))\(overriding) VALUES \(values)\(conflict)", batch)
            batch.removeAll(keepingCapacity: true)
            batchCount = 0
        }
        _ = try source.query("SELECT \(columnList) FROM \(quoteIdentifier(table)) ORDER BY 1") { row in
            for index in columns.indices { batch.append(row.databaseValue(index)) }
            batchCount += 1
            total += 1
            if batchCount == batchRows { try flush() }
        }
        try flush()
        return total
    }

    /// PostgreSQL: `VACUUM (ANALYZE)` of each table, for tables just filled in bulk (`icmm copy`).
    /// Until autovacuum gets to them (a minute or more later) they have no planner statistics and
    /// no visibility map: a cohort query then reads the whole heap (cases carry their JSON
    /// documents) instead of the covering index, several times slower, and sets hint bits on
    /// the way. SQLite: nothing to do (its planner needs no statistics for these queries).
    public func vacuumAnalyze(_ tables: [String]) throws {
        guard dialect == .postgres else { return }
        // VACUUM cannot run inside a transaction: each statement on its own, in autocommit.
        try read { connection in
            for table in tables { try connection.execute("VACUUM (ANALYZE) \(Self.quoteIdentifier(table))") }
        }
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension Connection {
    func count(_ table: String) throws -> Int {
        try queryOne("SELECT count(*) FROM \(Database.quoteIdentifier(table))") { $0.int(0) } ?? 0
    }

    func tableExists(_ table: String) throws -> Bool {
        try queryOne(dialect.tableExists(table)) { $0.int(0) } == 1
    }

    /// The table's column names in their declared order (empty when there is no such table).
    func columnNames(_ table: String) throws -> [String] {
        switch dialect {
        case .sqlite:
            try query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table]) { $0.string(0) }
        case .postgres:
            try query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                [table]
            ) { $0.string(0) }
        }
    }

    func hasIdentityColumn(_ table: String) throws -> Bool {
        guard dialect == .postgres else { return false }
        return try queryOne(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'",
            [table]
        ) { $0.int(0) } ?? 0 > 0
    }

    /// PostgreSQL: every sequence owned by a column of `table` (serial, identity) continues after
    /// the column's largest value, so that the next row the service inserts does not collide with
    /// a copied one. SQLite's INTEGER PRIMARY KEY needs nothing.
    func advanceSequences(_ table: String, columns: [String]) throws {
        guard dialect == .postgres else { return }
        for column in columns {
            guard
                let sequence = try queryOne("SELECT pg_get_serial_sequence(?, ?)", [Database.quoteIdentifier(table), column], { $0.optionalString(0) }),
                let sequence
            else { continue }
            let quotedColumn = Database.quoteIdentifier(column)
            _ = try queryOne(
                "SELECT setval(?::regclass, COALESCE((SELECT max(\(quotedColumn)) FROM \(Database.quoteIdentifier(table))), 1), "
                    + "(SELECT max(\(quotedColumn)) FROM \(Database.quoteIdentifier(table))) IS NOT NULL)",
                [sequence]
            ) { $0.int(0) }
        }
    }
}

extension Row {
    /// The column's value as its driver stores it: SQLite by the value's own storage class
    /// (integer, real, text, blob, null); PostgreSQL as text or null (the target column's type
    /// converts it).
    func databaseValue(_ index: Int) -> DatabaseValue {
        switch source {
        case .sqlite(let statement):
            switch sqlite3_column_type(statement, Int32(index)) {
            case SQLITE_NULL: return .null
            case SQLITE_INTEGER: return .integer(int64(index))
            case SQLITE_FLOAT: return .real(double(index))
            case SQLITE_BLOB: return .blob(bytes(index))
            default: return .text(string(index))
            }
        case .postgres:
            return isNull(index) ? .null : .text(string(index))
        }
    }
}
