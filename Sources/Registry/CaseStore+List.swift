import Classification
import JSON
import Storage

/// Filters and page of `GET /v1/cases`.
public struct CaseListQuery: Sendable {
    public var limit: Int = 100
    /// The opaque `next_cursor` of the previous page.
    public var cursor: String?
    public var localizations: [String] = []
    public var responseGroups: [String] = []
    /// ISO 8601 date or UTC timestamp; cases updated at or after it.
    public var updatedSince: String?

    public init() {}

    public static let maximumLimit = 500
}

public struct CasePage: Sendable {
    public let cases: [StoredCase]
    public let nextCursor: String?
}

extension CaseStore {
    /// A site's cases, most recently changed first, by keyset pagination on the change sequence
    /// (stable while cases are written between pages: no case is skipped or repeated).
    public func list(site: String, query: CaseListQuery) throws -> CasePage {
        var sql = "SELECT \(Self.caseColumns), change_seq FROM cases WHERE site = ?"
        var arguments: [any DatabaseValueConvertible] = [site]
        if let cursor = query.cursor, let sequence = Self.decodeCursor(cursor) {
            sql += " AND change_seq < ?"
            arguments.append(sequence)
        }
        if !query.localizations.isEmpty {
            sql += " AND localization IN (\(query.localizations.map { _ in "?" }.joined(separator: ", ")))"
            arguments += query.localizations as [any DatabaseValueConvertible]
        }
        if !query.responseGroups.isEmpty {
            sql += " AND response_group IN (\(query.responseGroups.map { _ in "?" }.joined(separator: ", ")))"
            arguments += query.responseGroups as [any DatabaseValueConvertible]
        }
        if let since = query.updatedSince {
            sql += " AND updated_at >= ?"
            arguments.append(since)
        }
        let limit = min(max(query.limit, 1), CaseListQuery.maximumLimit)
        sql += " ORDER BY change_seq DESC LIMIT ?"
        arguments.append(limit + 1)
        let rows = try database.read { connection in
            try connection.query(sql, arguments) { row in (try Self.storedCase(row), row.int(9)) }
        }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Self.encodeCursor($0.1) } : nil
        return CasePage(cases: page.map(\.0), nextCursor: next)
    }

    /// Cursors are opaque to clients; today they carry the change sequence of the last case seen.
    static func encodeCursor(_ sequence: Int) -> String { "c" + String(sequence, radix: 36) }

    public static func decodeCursor(_ cursor: String) -> Int? {
        guard cursor.hasPrefix("c"), cursor.count <= 14 else { return nil }
        return Int(cursor.dropFirst(), radix: 36)
    }
}
