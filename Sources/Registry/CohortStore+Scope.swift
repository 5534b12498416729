import Cohorts
import Storage

/// Versions of what one scope sees (issue #12, "No metadata across sites").
///
/// The registry-wide data version moves on every write at any site: shown to a submitter (in a
/// cohort's `data_version`, or behind its ETag) it would tell one hospital when, and how often,
/// the others write. A site's own version is the number of writes to its cases: its audit trail,
/// which gains one entry on every create, update, erasure and reclassification of one of its cases
/// and is never pruned. It moves exactly when the site's data may have changed and says nothing
/// about any other site.
extension CaseStore {
    /// The registry-wide data version and the version of what `site` sees (the site's count of
    /// writes; the registry-wide version again when `site` is nil), read at the same moment.
    /// Cached per site until the registry-wide version moves.
    public func scopedDataVersion(site: String?) throws -> (global: Int, scoped: Int) {
        let global = try dataVersion()
        guard let site else { return (global, global) }
        if let cached = siteVersionCache.withLock({ $0[site] }), cached.global == global { return (cached.global, cached.site) }
        let read = try database.read { connection in
            try connection.queryOne(Self.versionsSQL(connection.dialect), [site]) { ($0.int(0), $0.int(1)) }
        } ?? (0, 0)
        siteVersionCache.withLock { cache in
            if cache.count >= 10_000 { cache.removeAll() }
            // Never replace a newer pair by an older one (two readers racing past a write).
            if let current = cache[site], current.global > read.0 { return }
            cache[site] = (read.0, read.1)
        }
        return (read.0, read.1)
    }

    /// The cases of a cohort with the registry-wide version and the scope's version, all read in
    /// one transaction (so that the body, its ETag and the cache entry describe the same data).
    /// `reading`: the columns to read, as `cohortRows(_:site:reading:)`.
    public func cohortRowsWithScopedVersion(_ filter: CohortFilter, site: String?, reading: CohortRowReading = .everything) throws
        -> (rows: [CohortRow], global: Int, scoped: Int)
    {
        try database.read { connection in
            try connection.transaction(immediate: false) {
                let (global, scoped) =
                    try connection.queryOne(Self.versionsSQL(connection.dialect), [site ?? ""]) { ($0.int(0), $0.int(1)) } ?? (0, 0)
                return (try cohortRows(filter, site: site, reading: reading, connection: connection), global, site == nil ? global : scoped)
            }
        }
    }

    static func versionsSQL(_ dialect: SQLDialect) -> String {
        """
        SELECT (\(dataVersionSQL(dialect))),
            (SELECT count(*) FROM audit_log WHERE site = ?)
        """
    }
}
