import Foundation
import HTTPServer
import JSON
import Registry

/// An `If-Match` / `If-None-Match` precondition on a case version (ETag `"N"`), by RFC 9110
/// section 13.1: a list of entity tags or `*`, and any listed tag that matches counts.
/// If-Match compares strongly (a weak tag `W/"N"` never matches); If-None-Match weakly.
enum VersionPrecondition: Equatable {
    case any
    case versions([Int])

    /// Parses a list of entity tags; a tag that is not one of ours matches nothing.
    init?(header: String?, weak: Bool) {
        guard let header else { return nil }
        var versions: [Int] = []
        for tag in VersionPrecondition.entityTags(header) {
            if tag == "*" {
                self = .any
                return
            }
            let isWeak = tag.hasPrefix("W/")
            if isWeak && !weak { continue }
            let opaque = isWeak ? tag.dropFirst(2) : Substring(tag)
            guard opaque.count >= 3, opaque.hasPrefix("\""), opaque.hasSuffix("\""),
                let version = Int(opaque.dropFirst().dropLast()), version > 0
            else { continue }
            versions.append(version)
        }
        self = .versions(versions)
    }

    /// The comma-separated members of a list field (RFC 9110 section 5.6.1), without their
    /// whitespace and empty members. Our tags hold no commas, so a split is exact for them.
    static func entityTags(_ header: String) -> [String] {
        header.split(separator: ",").map { $0.trimmingASCIISpaces() }.filter { !$0.isEmpty }
    }

    func matches(_ version: Int) -> Bool {
        switch self {
        case .any: true
        case .versions(let versions): versions.contains(version)
        }
    }

    /// The registry's requirement: `*` needs an existing case; any listed version may match.
    var requirement: VersionRequirement {
        switch self {
        case .any: .exists
        case .versions(let versions): .versions(versions)
        }
    }
}

func etag(_ version: Int) -> String { "\"\(version)\"" }

/// Every line of a list-valued header field, joined with commas as RFC 9110 section 5.3 allows:
/// `If-Match: "1"` and `If-Match: "2"` on two lines mean `If-Match: "1", "2"`.
func listField(_ request: borrowing HTTPRequest, _ name: String) -> String? {
    guard let first = request.headers[name] else { return nil }
    let lowered = name.lowercased()
    let all = request.headers.fields.filter { $0.name.lowercased() == lowered }.map(\.value)
    return all.count <= 1 ? first : all.joined(separator: ", ")
}

extension Application {
    static let caseRoles: Set<Role> = [.submitter, .admin]

    /// Writes wait for a synced commit: they run on the server's workers (`mayBlock`), so that
    /// concurrent writers share one commit and the event loops keep serving reads.
    func addCaseRoutes(to router: inout Router) {
        router.post("/v1/cases", mayBlock: true, admission: admitCaseWriter) { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            let json = try request.jsonBody()
            let stored = try cases.create(json, site: site, keyID: principal.keyID)
            return caseResponse(stored, status: 201, includeLocation: true)
        }

        router.get("/v1/cases") { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            let query = try caseListQuery(request, site: site)
            let page = try cases.list(site: site, query: query)
            auditRead(request, principal: principal, site: site, count: page.cases.count)
            // The cursor is sealed for this site: it reveals no position and works for no other site.
            let next = page.nextCursor.map { tokens.sealCursor($0, scope: "cases|" + site) }
            return .json(["cases": .array(page.cases.map { $0.toJSON() }), "next_cursor": next.map(JSONValue.string) ?? .null] as JSONValue)
        }

        router.get("/v1/cases/{external_id}") { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            let stored = try cases.get(site: site, externalID: try externalID(request, forWrite: false))
            if let condition = VersionPrecondition(header: listField(request, "If-None-Match"), weak: true), condition.matches(stored.version) {
                return HTTPResponse(status: 304, headers: HTTPHeaders([("ETag", etag(stored.version))]))
            }
            auditRead(request, principal: principal, site: site, count: 1)
            return caseResponse(stored, status: 200)
        }

        router.put("/v1/cases/{external_id}", mayBlock: true, admission: admitCaseWriter) { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            let id = try externalID(request, forWrite: true)
            let json = try request.jsonBody()
            let (stored, result) = try cases.put(
                json, site: site, externalID: id,
                ifMatch: VersionPrecondition(header: listField(request, "If-Match"), weak: false)?.requirement, keyID: principal.keyID)
            return caseResponse(stored, status: result == .created ? 201 : 200, includeLocation: result == .created)
        }

        router.patch("/v1/cases/{external_id}", mayBlock: true, admission: admitCaseWriter) { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            let id = try externalID(request, forWrite: false)
            let patch = try request.jsonBody(accepting: ["application/merge-patch+json"])
            let (stored, _) = try cases.patch(
                patch, site: site, externalID: id,
                ifMatch: VersionPrecondition(header: listField(request, "If-Match"), weak: false)?.requirement, keyID: principal.keyID)
            return caseResponse(stored, status: 200)
        }

        router.delete("/v1/cases/{external_id}", mayBlock: true) { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            try cases.erase(
                site: site, externalID: try externalID(request, forWrite: false),
                ifMatch: VersionPrecondition(header: listField(request, "If-Match"), weak: false)?.requirement, keyID: principal.keyID)
            return .empty(status: 204)
        }

        router.get("/v1/cases/{external_id}/history") { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles)
            let site = try targetSite(request, principal: principal)
            try rejectUnknownParameters(request, allowed: ["site"])
            let id = try externalID(request, forWrite: false)
            let entries = try cases.history(site: site, externalID: id)
            auditRead(request, principal: principal, site: site, count: 1)
            return .json(HistoryBody(externalID: id, entries: entries))
        }
    }

    /// The case representation with its `ETag` (and `Location` when it was created).
    func caseResponse(_ stored: StoredCase, status: Int, includeLocation: Bool = false) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: "application/json", body: stored.representation())
        response.headers.set("ETag", etag(stored.version))
        if includeLocation { response.headers.set("Location", "/v1/cases/\(stored.externalID)") }
        return response
    }

    /// The `{external_id}` of the path. A malformed one cannot name a case: 404 to read, 422 to write.
    func externalID(_ request: HTTPRequest, forWrite: Bool) throws -> String {
        let id = request.pathParameters["external_id"] ?? ""
        guard CaseStore.isValidExternalID(id) else {
            if forWrite {
                throw RegistryError.invalid([
                    .init(pointer: JSONPointer(["external_id"]), code: .invalidFormat, message: "must be 1-64 characters of A-Z a-z 0-9 . _ -, not dots only")
                ])
            }
            throw RegistryError.notFound
        }
        return id
    }

    func caseListQuery(_ request: HTTPRequest, site: String) throws -> CaseListQuery {
        try rejectUnknownParameters(request, allowed: ["site", "limit", "cursor", "localization", "response_group", "updated_since"])
        try requireSingleNonEmptyValues(request, ["site", "limit", "cursor", "updated_since"])
        for name in ["localization", "response_group"] where request.query.values(name).contains(where: \.isEmpty) {
            throw RequestError.badParameter(name: name, message: "must not be empty")
        }
        var query = CaseListQuery()
        if let limit = request.query["limit"] {
            guard let value = Int(limit), value >= 1 else {
                throw RequestError.badParameter(
                    name: "limit", message: "must be a positive integer (values above \(CaseListQuery.maximumLimit) are capped)")
            }
            query.limit = min(value, CaseListQuery.maximumLimit)
        }
        if let cursor = request.query["cursor"] {
            guard let position = tokens.openCursor(cursor, scope: "cases|" + site), CaseStore.decodeCursor(position) != nil else {
                throw RequestError.badParameter(name: "cursor", message: "is not a cursor this service issued for this site")
            }
            query.cursor = position
        }
        query.localizations = try enumValues(request, "localization", allowed: ["OD", "CNS", "indeterminate", "none"])
        query.responseGroups = try enumValues(request, "response_group", allowed: ["CR+VGPR", "PR+NR"])
        if let since = request.query["updated_since"] {
            guard Self.isTimestampOrDate(since) else {
                throw RequestError.badParameter(
                    name: "updated_since", message: "must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ss[.sss]Z)")
            }
            query.updatedSince = Self.normalizedTimestamp(since)
        }
        return query
    }

    /// Every value of a repeatable parameter (also comma-separated), each checked against its enumeration.
    func enumValues(_ request: HTTPRequest, _ name: String, allowed: [String]) throws -> [String] {
        let values = request.query.values(name).flatMap { $0.split(separator: ",").map(String.init) }
        for value in values where !allowed.contains(value) {
            throw RequestError.badParameter(name: name, message: "must be one of: \(allowed.joined(separator: ", "))")
        }
        return values
    }

    func rejectUnknownParameters(_ request: HTTPRequest, allowed: Set<String>) throws {
        if request.query.names.contains(where: { !allowed.contains($0) }) {
            throw UnknownParameterError(allowed: allowed.sorted())
        }
    }

    /// `updated_at` is stored as `YYYY-MM-DDThh:mm:ss.sssZ`; bring a bound to the same shape so that
    /// text order is time order (a date is its midnight; fractions are cut or padded to milliseconds).
    static func normalizedTimestamp(_ text: String) -> String {
        if text.count == 10 { return text + "T00:00:00.000Z" }
        let seconds = String(text.prefix(19))
        var fraction = text.count > 20 ? String(text.dropFirst(20).dropLast()) : ""
        fraction = String((fraction + "000").prefix(3))
        return seconds + "." + fraction + "Z"
    }

    static func isTimestampOrDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { $0 < bytes.count && bytes[$0] >= 0x30 && bytes[$0] <= 0x39 } }
        guard bytes.count >= 10, digits(0..<4), bytes[4] == 0x2D, digits(5..<7), bytes[7] == 0x2D, digits(8..<10) else { return false }
        if bytes.count == 10 { return true }
        guard bytes.count >= 20, bytes[10] == 0x54, digits(11..<13), bytes[13] == 0x3A, digits(14..<16), bytes[16] == 0x3A,
            digits(17..<19), bytes.last == 0x5A
        else { return false }
        return bytes.count == 20 || (bytes[19] == 0x2E && digits(20..<(bytes.count - 1)))
    }
}

struct HistoryBody: Encodable {
    let externalID: String
    let entries: [AuditEntry]
    enum CodingKeys: String, CodingKey {
        case externalID = "external_id"
        case entries
    }
}
