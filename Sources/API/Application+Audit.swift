import Foundation
import HTTPServer
import JSON
import Registry

extension Application {
    static let auditRoles: Set<Role> = [.admin]

    /// `GET /v1/audit`: reads and writes of patient-level data, newest first, for admins only;
    /// paginated like the case list (opaque cursor, `limit` up to 500).
    func addAuditRoute(to router: inout Router) {
        router.get("/v1/audit") { [self] request in
            let principal = try authorize(request, roles: Self.auditRoles)
            let query = try auditQuery(request, scope: principal.keyID)
            let page = try accessLog.page(query)
            let next = page.next.map { tokens.sealCursor(Self.auditPosition($0), scope: "audit") }
            return .json(
                ["entries": .array(page.records.map { $0.toJSON() }), "next_cursor": next.map(JSONValue.string) ?? .null] as JSONValue)
        }
    }

    func auditQuery(_ request: HTTPRequest, scope: String) throws -> AuditQuery {
        try rejectUnknownParameters(request, allowed: ["since", "until", "site", "key", "action", "limit", "cursor"])
        try requireSingleNonEmptyValues(request, ["since", "until", "site", "key", "action", "limit", "cursor"])
        var query = AuditQuery()
        for (name, keyPath) in [("since", \AuditQuery.since), ("until", \AuditQuery.until)] {
            guard let text = request.query[name] else { continue }
            guard Self.isTimestampOrDate(text) else {
                throw RequestError.badParameter(
                    name: name, message: "must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ss[.sss]Z)")
            }
            query[keyPath: keyPath] = Self.normalizedTimestamp(text)
        }
        if let site = request.query["site"] {
            guard KeyStore.isValidSite(site) else {
                throw RequestError.badParameter(name: "site", message: "must be 1-64 characters of A-Z a-z 0-9 . _ -")
            }
            query.site = site
        }
        if let key = request.query["key"] {
            guard key.hasPrefix("key_"), key.utf8.count <= 64, key.utf8.allSatisfy({ $0 < 0x80 }) else {
                throw RequestError.badParameter(name: "key", message: "must be a key id (key_...)")
            }
            query.keyID = key
        }
        if let action = request.query["action"] {
            guard AuditQuery.actions.contains(action) else {
                throw RequestError.badParameter(name: "action", message: "must be one of: \(AuditQuery.actions.joined(separator: ", "))")
            }
            query.action = action
        }
        if let limit = request.query["limit"] {
            guard let value = Int(limit), value >= 1 else {
                throw RequestError.badParameter(
                    name: "limit", message: "must be a positive integer (values above \(AuditQuery.maximumLimit) are capped)")
            }
            query.limit = min(value, AuditQuery.maximumLimit)
        }
        if let cursor = request.query["cursor"] {
            guard let position = tokens.openCursor(cursor, scope: "audit").flatMap(Self.auditPosition) else {
                throw RequestError.badParameter(name: "cursor", message: "is not a cursor this service issued")
            }
            query.after = position
        }
        return query
    }

    /// Each parameter at most once and never empty: `?site=` is refused, not read as absent.
    func requireSingleNonEmptyValues(_ request: HTTPRequest, _ names: [String]) throws {
        for name in names {
            let values = request.query.values(name)
            if values.count > 1 { throw RequestError.badParameter(name: name, message: "must be given once") }
            if values.first?.isEmpty == true { throw RequestError.badParameter(name: name, message: "must not be empty") }
        }
    }

    static func auditPosition(_ position: AuditPosition) -> String { "\(position.at)|\(position.source)|\(position.seq)" }

    static func auditPosition(_ text: String) -> AuditPosition? {
        let parts = text.split(separator: "|")
        guard parts.count == 3, let source = Int(parts[1]), let seq = Int64(parts[2]) else { return nil }
        return AuditPosition(at: String(parts[0]), source: source, seq: seq)
    }

    // MARK: - Recording reads

    /// Records that `count` cases of `site` left the service in this request's response.
    func auditRead(_ request: borrowing HTTPRequest, principal: Principal, site: String, count: Int) {
        accessLog.record(
            keyID: principal.keyID, site: site, route: request.route ?? "unmatched", requestID: request.requestID, caseCount: count)
    }

    /// `GET /v1/cohorts/dataset.csv` (patient-level rows): records one read for the caller's scope,
    /// the number of rows being the lines of the body after its header. A submitter's rows are its
    /// own site's; an analyst's or admin's span the sites the filter allows, recorded as site `*`
    /// (which `GET /v1/audit?site=X` includes). Only for a 200: a 304 or an error returns no rows.
    func recordDatasetRead(_ request: borrowing HTTPRequest, _ response: HTTPResponse) {
        guard response.status == 200,
            let header = request.headers["Authorization"], header.utf8.count > 7,
            case .valid(let principal) = (try? keys.check(String(header.dropFirst(7)).trimmingASCIISpaces())) ?? .unknown
        else { return }
        recordDatasetRead(request, response, principal: principal)
    }

    /// The same, for a caller that already authenticated the request.
    func recordDatasetRead(_ request: borrowing HTTPRequest, _ response: HTTPResponse, principal: Principal) {
        let lines = response.body.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        let site = principal.role == .submitter ? principal.site : "*"
        auditRead(request, principal: principal, site: site, count: max(0, lines - 1))
    }
}
