import Cohorts
import HTTPServer
import Registry

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
        { [self] request in
            let request = copy request
            guard let key = bearerKey(request), case .valid(let principal) = keys.checkWithoutBlocking(key),
                Self.cohortRoles.contains(principal.role),
                let cohort = try? cohortRequest(request, principal: principal, extraParameters: extraParameters),
                allowGroupBy || cohort.selection.groupBy == nil,
                (try? parse(cohort.selection, request)) != nil,
                let dataVersion = cases.dataVersionWithoutReading()
            else { return nil }
            let cacheKey = (request.route ?? request.path) + "?" + cohort.canonicalQuery
            let tag = cohortETag(key: cacheKey, dataVersion: dataVersion)
            if Self.ifNoneMatch(request, matches: tag) {
                try takeRateToken(principal)
                return Self.notModified(tag)
            }
            guard let cached = cohortCache.get(cacheKey, dataVersion: dataVersion, countingMiss: false) else { return nil }
            try takeRateToken(principal)
            if auditsDataset { recordDatasetRead(request, cached, principal: principal) }
            return cached
        }
    }

    /// The key's rate limit, as `authenticate` applies it.
    private func takeRateToken(_ principal: Principal) throws {
        if let wait = limiters.perKey.take(principal.keyID) { throw limiters.refuse(limiters.perKey, after: wait) }
    }

    /// `GET /v1/cohorts/dataset.csv`'s own parameters.
    func datasetQuery(_ selection: CohortSelection, _ request: HTTPRequest) throws -> DatasetQuery {
        let (endpoint, origin) = try endpointAndOrigin(request)
        return DatasetQuery(selection: selection, endpoint: endpoint, origin: origin)
    }

    /// Whether `If-None-Match` names `tag` (or is `*`).
    static func ifNoneMatch(_ request: borrowing HTTPRequest, matches tag: String) -> Bool {
        guard let condition = request.headers["If-None-Match"] else { return false }
        return condition.split(separator: ",").contains {
            let candidate = $0.trimmingASCIISpaces()
            return candidate == tag || candidate == "*"
        }
    }

    static func notModified(_ tag: String) -> HTTPResponse {
        HTTPResponse(status: 304, headers: HTTPHeaders([("ETag", tag), ("Cache-Control", "private, no-cache")]))
    }
}
