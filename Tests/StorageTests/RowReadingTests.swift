import Foundation
@testable import Storage
import TestSupport
import Testing

/// The scan API the cohort queries read through (`Connection.forEachRow`, `Row.utf8`,
/// `Row.resultRowCount`): the same values from both drivers, for every kind of column a cohort
/// reads (texts, dates stored as text, small and large integers, NULLs, empty texts).
@Suite struct RowReadingTests {
    /// "sqlite" for a temporary file, else a PostgreSQL server URL.
    static let backends = ["sqlite"] + postgresServers

    /// A database on `backend` for the duration of `body`.
    static func withDatabase(_ backend: String, _ body: (Database) throws -> Void) throws {
        if backend == "sqlite" {
            let tmp = TemporaryDirectory()
            defer { tmp.remove() }
            let database = try Database(configuration: .init(path: tmp.file("rows.sqlite")))
            defer { database.close() }
            try body(database)
        } else {
            let scratch = try ScratchPostgresDatabase(server: backend)
            defer { scratch.drop() }
            let database = try scratch.open()
            defer { database.close() }
            try body(database)
        }
    }

    /// (text, date, small integer, big integer) per row; nil is NULL.
    static let values: [(String?, String?, Int?, Int64?)] = [
        ("Dural", "2021-03-04", 1, Int64.max),
        ("", "1999-12-31", 0, Int64.min + 1),
        (nil, nil, nil, nil),
        ("Leptomeningeal é", "2024-02-29", -7, -1),
        ("Parenchymal", "", 3, 0),
    ]

    @Test(arguments: backends) func forEachRowReadsEveryValueInOrderWithoutCopies(backend: String) throws {
        try Self.withDatabase(backend) { database in
            try database.write { connection in
                try connection.execute("CREATE TABLE r (k integer, t text, d text, i integer, b bigint)")
                for (k, value) in Self.values.enumerated() {
                    try connection.run("INSERT INTO r (k, t, d, i, b) VALUES (?, ?, ?, ?, ?)", [k, value.0, value.1, value.2, value.3])
                }
            }
            var seen: [(String?, String?, Int?, Int64?)] = []
            var counts: [Int?] = []
            try database.read { connection in
                try connection.forEachRow("SELECT t, d, i, b FROM r WHERE k >= ? ORDER BY k", [0]) { row in
                    counts.append(row.resultRowCount)
                    seen.append(
                        (
                            row.utf8(0).map { String(decoding: $0, as: UTF8.self) },
                            row.utf8(1).map { String(decoding: $0, as: UTF8.self) },
                            row.isNull(2) ? nil : row.int(2),
                            row.isNull(3) ? nil : row.int64(3)
                        ))
                    // The bytes agree with the generic accessors.
                    #expect(row.utf8(0).map { String(decoding: $0, as: UTF8.self) } == row.optionalString(0))
                    #expect(row.withUTF8(1) { $0.count } == row.utf8(1)?.count)
                }
            }
            #expect(seen.count == Self.values.count)
            for (got, expected) in zip(seen, Self.values) {
                #expect(got.0 == expected.0 && got.1 == expected.1 && got.2 == expected.2 && got.3 == expected.3, "\(got) vs \(expected)")
            }
            // PostgreSQL knows the count up front (a complete result), SQLite never does.
            let expected = backend == "sqlite" ? nil : Self.values.count
            #expect(counts.allSatisfy { $0 == expected }, "\(counts)")

            // No row: the body never runs. A throwing body stops the scan and its error comes out.
            struct Stop: Error {}
            var calls = 0
            try database.read { try $0.forEachRow("SELECT t FROM r WHERE k < 0") { _ in calls += 1 } }
            #expect(calls == 0)
            #expect(throws: Stop.self) {
                try database.read { try $0.forEachRow("SELECT t FROM r ORDER BY k") { _ in calls += 1; throw Stop() } }
            }
            #expect(calls == 1)
            // The connection is still usable after the thrown scan.
            #expect(try database.read { try $0.queryOne("SELECT count(*) FROM r") { $0.int(0) } } == Self.values.count)
        }
    }
}
