import Cohorts
import Foundation
import HTTPServer
import Registry
import Synchronization

/// Dashboard polls of the cohort routes, answered on the event loop (issue 11).
///
/// A cohort route runs on a worker because a cold computation may take long. Most requests are
/// polls, though: a 304 for an unchanged ETag or a cached response. `cohortPoll` answers those on
/// the event loop, from memory only, and hands every other request to the worker, where
/// `cohortResponse` handles it from the start. The attempt has no side effect unless it answers,
/// so a request that goes to the worker is authenticated, rate-limited and counted once.
///
/// What would block makes it give up: a key not in the recently-authenticated cache, a last-use
/// minute due to be written, a data version older than `CaseStore.externalWriteDelay` (re-read
/// from the database), a response not in the cache. Errors (a bad key, a bad parameter, a
/// forbidden role) also go to the worker, which answers them exactly as before. Only a refusal
/// of the key's rate limit is answered here, as the worker would answer it.
extension Application {
    func cohortPoll<Query>(
        extraParameters: Set<String>, allowGroupBy: Bool = true,
        parse: @escaping @Sendable (CohortSelection, HTTPRequest) throws -> Query, auditsDataset: Bool = false
    ) -> EventLoopAttempt {
        // Queries this route already found valid, by their parameters as sent and the caller's
        // scope: a dashboard repeats the same few, and checking and canonicalizing one costs more
        // than the rest of the poll. Only what is a pure function of the query is kept (its cache
        // key, and the ETag last made from it); the key, the data version and the rate limit are
        // checked on every poll. Bounded: emptied when full. The last one found is tried first,
        // compared field by field: most polls repeat it, and that costs no hashing and no array.
        let known = Mutex(KnownPolls())
        // The roles as a short array: a Set's contains hashes the role on every poll.
        let roles = Role.allCases.filter { Self.cohortRoles.contains($0) }
        return { [self] request in
            let (authorization, condition) = Self.pollHeaders(request.headers)
            // The key is checked on the header's bytes, in place: a cached key costs no string.
            guard let authorization else { return nil }
            let check = Self.withBearerKey(authorization) { keys.checkWithoutBlocking(bytes: $0) } ?? nil
            guard case .valid(let principal)? = check, roles.contains(principal.role) else { return nil }
            // The scope `cohortRequest` gives the selection: a submitter's own site, else all.
            let scope = principal.role == .submitter ? principal.site : nil
            // The cache is kept by the registry-wide version, the ETag made from the scope's.
            guard let (dataVersion, scopedVersion) = cases.scopedDataVersionWithoutReading(site: scope) else { return nil }
            var poll: KnownPoll
            let (last, keptBucket) = known.withLock { ($0.last(matching: request, scope: scope), $0.bucket(of: principal.keyID)) }
            if let last {
                poll = last
            } else if case let query = PollQuery(copy request, scope: scope), let found = known.withLock({ $0.find(query) }) {
                poll = found
            } else {
                let request = copy request
                guard let cohort = try? cohortRequest(request, principal: principal, extraParameters: extraParameters),
                    allowGroupBy || cohort.selection.groupBy == nil,
                    (try? parse(cohort.selection, request)) != nil
                else { return nil }
                poll = KnownPoll(cacheKey: (request.route ?? request.path) + "?" + cohort.canonicalQuery)
            }
            if poll.tagVersion != scopedVersion {
                let tag = cohortETag(key: poll.cacheKey, dataVersion: scopedVersion)
                poll = KnownPoll(cacheKey: poll.cacheKey, tagVersion: scopedVersion, tag: tag, notModified: Self.notModified(tag))
                let remembered = poll
                let query = PollQuery(copy request, scope: scope)
                known.withLock { $0.remember(query, remembered) }
            }
            if let condition, Self.ifNoneMatch(condition, matches: poll.tag) {
                try takeRateToken(principal, kept: keptBucket, in: known)
                return poll.notModified
            }
            guard let cached = cohortCache.get(poll.cacheKey, dataVersion: dataVersion, countingMiss: false) else { return nil }
            try takeRateToken(principal, kept: keptBucket, in: known)
            if auditsDataset { recordDatasetRead(request, cached, principal: principal) }
            return cached
        }
    }

    /// `Authorization` and `If-None-Match` (the first of each), found in one pass over the headers:
    /// both names are 13 bytes long, so most fields are passed over on their length. A name of 13
    /// bytes is a small string, held in the string value itself: in its usual spelling it equals
    /// the literal in one comparison of two words, and only another spelling is folded byte by byte.
    static func pollHeaders(_ headers: HTTPHeaders) -> (authorization: String?, ifNoneMatch: String?) {
        var authorization: String?
        var ifNoneMatch: String?
        for (name, value) in headers {
            guard name.utf8.count == 13 else { continue }
            if name == "Authorization" || name == "If-None-Match" {
                if name == "Authorization" {
                    if authorization == nil { authorization = value }
                } else if ifNoneMatch == nil {
                    ifNoneMatch = value
                }
            } else if asciiLowercaseEquals(name, "authorization") {
                if authorization == nil { authorization = value }
            } else if asciiLowercaseEquals(name, "if-none-match") {
                if ifNoneMatch == nil { ifNoneMatch = value }
            }
        }
        return (authorization, ifNoneMatch)
    }

    /// Whether `name` is `lowercase` in any case (ASCII letters only are folded).
    static func asciiLowercaseEquals(_ name: String, _ lowercase: StaticString) -> Bool {
        withBytes(name) { bytes in
            guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
            let expected = lowercase.utf8Start
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if folded != expected[index] { return false }
            }
            return true
        }
    }

    /// The key's rate limit, as `authenticate` applies it, from the key's bucket kept in the memo
    /// (no lookup by name); a bucket looked up, or looked up again because it was retired, is kept.
    private func takeRateToken(_ principal: Principal, kept: TokenBuckets.Bucket?, in known: borrowing Mutex<KnownPolls>) throws {
        let limiter = limiters.perKey
        var bucket = kept ?? limiter.bucket(principal.keyID)
        var outcome = limiter.take(from: bucket)
        while outcome == .retired {
            bucket = limiter.bucket(principal.keyID)
            outcome = limiter.take(from: bucket)
        }
        if bucket !== kept { known.withLock { $0.keep(bucket, of: principal.keyID) } }
        if case .wait(let seconds) = outcome { throw limiters.refuse(limiter, after: seconds) }
    }

    /// `GET /v1/cohorts/dataset.csv`'s own parameters.
    func datasetQuery(_ selection: CohortSelection, _ request: HTTPRequest) throws -> DatasetQuery {
        let (endpoint, origin) = try endpointAndOrigin(request)
        return DatasetQuery(selection: selection, endpoint: endpoint, origin: origin)
    }

    /// Whether `If-None-Match` names `tag` (or is `*`): a scan of the header's bytes, comparing
    /// each comma-separated entry without its spaces and tabs.
    static func ifNoneMatch(_ request: borrowing HTTPRequest, matches tag: String) -> Bool {
        guard let condition = request.headers["If-None-Match"] else { return false }
        return ifNoneMatch(condition, matches: tag)
    }

    /// The same for the header's value. A dashboard sends back exactly the tag it was given: that
    /// case is one comparison of the whole value.
    static func ifNoneMatch(_ condition: String, matches tag: String) -> Bool {
        withBytes(condition) { header in
            withBytes(tag) { tag in
                if header.count == tag.count && tag.count > 0 && memcmp(header.baseAddress!, tag.baseAddress!, tag.count) == 0 {
                    return true
                }
                var start = 0
                while start <= header.count {
                    var end = start
                    while end < header.count && header[end] != 0x2C { end += 1 }  // ","
                    var first = start
                    var last = end
                    while first < last && (header[first] == 0x20 || header[first] == 0x09) { first += 1 }
                    while last > first && (header[last - 1] == 0x20 || header[last - 1] == 0x09) { last -= 1 }
                    let length = last - first
                    if length == 1 && header[first] == 0x2A { return true }  // "*"
                    if length == tag.count && length > 0 && memcmp(header.baseAddress! + first, tag.baseAddress!, length) == 0 {
                        return true
                    }
                    start = end + 1
                }
                return false
            }
        }
    }

    static func notModified(_ tag: String) -> HTTPResponse {
        HTTPResponse(status: 304, headers: HTTPHeaders([("ETag", tag), ("Cache-Control", "private, no-cache")]))
    }
}

/// A cohort query as sent (every parameter in order) and the caller's scope (a submitter's site).
struct PollQuery: Hashable, Sendable {
    let route: String
    let parameters: [String]
    let scope: String?

    init(_ request: HTTPRequest, scope: String?) {
        route = request.route ?? request.path
        var parameters: [String] = []
        parameters.reserveCapacity(request.query.items.count * 2)
        for (name, value) in request.query.items {
            parameters.append(name)
            parameters.append(value)
        }
        self.parameters = parameters
        self.scope = scope
    }

    /// Whether `request` is this query: without building one to compare.
    func matches(_ request: borrowing HTTPRequest, scope: String?) -> Bool {
        guard self.scope == scope, parameters.count == request.query.items.count * 2, route == (request.route ?? request.path)
        else { return false }
        var index = 0
        for (name, value) in request.query.items {
            guard parameters[index] == name, parameters[index + 1] == value else { return false }
            index += 2
        }
        return true
    }
}

/// The valid poll queries of one route, and the last one found.
struct KnownPolls: Sendable {
    private var known: [PollQuery: KnownPoll] = [:]
    private var lastFound: (query: PollQuery, poll: KnownPoll)?
    /// The per-key rate-limit bucket of the last key that polled.
    private var lastBucket: (keyID: String, bucket: TokenBuckets.Bucket)?

    func bucket(of keyID: String) -> TokenBuckets.Bucket? {
        guard let lastBucket, lastBucket.keyID == keyID else { return nil }
        return lastBucket.bucket
    }

    mutating func keep(_ bucket: TokenBuckets.Bucket, of keyID: String) { lastBucket = (keyID, bucket) }

    /// The last query found, if the request is that query (same route, scope and parameters in order).
    func last(matching request: borrowing HTTPRequest, scope: String?) -> KnownPoll? {
        guard let lastFound, lastFound.query.matches(request, scope: scope) else { return nil }
        return lastFound.poll
    }

    mutating func find(_ query: PollQuery) -> KnownPoll? {
        guard let poll = known[query] else { return nil }
        lastFound = (query, poll)
        return poll
    }

    mutating func remember(_ query: PollQuery, _ poll: KnownPoll) {
        if known.count >= 1_024 { known.removeAll() }
        known[query] = poll
        lastFound = (query, poll)
    }
}

/// What a valid poll query resolves to: its cache key, and the ETag of the last scope version seen.
/// Immutable, and a class: a poll takes it out of the memo with one retain (a struct of four
/// fields was copied field by field through the run time's generic tuple copy).
final class KnownPoll: Sendable {
    let cacheKey: String
    let tagVersion: Int
    let tag: String
    /// The 304 for `tag`, made once: each poll answered with it shares its storage.
    let notModified: HTTPResponse

    init(cacheKey: String, tagVersion: Int = -1, tag: String = "", notModified: HTTPResponse = HTTPResponse(status: 304)) {
        self.cacheKey = cacheKey
        self.tagVersion = tagVersion
        self.tag = tag
        self.notModified = notModified
    }
}
