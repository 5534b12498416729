import Crypto
import Foundation
import Storage

/// API keys: random (256 bits), shown once, stored only as a SHA-256 hash, revocable, optionally
/// expiring, rotatable with a grace period during which the old and the new key both work.
public struct KeyStore: Sendable {
    public struct KeySummary: Sendable, Equatable, Encodable {
        public let id: String
        public let site: String
        public let role: Role
        public let createdAt: String
        /// Nil: the key never expires (stated as an explicit null in `keys list`).
        public let expiresAt: String?
        public let revokedAt: String?
        /// To the minute: recorded at most once a minute per key.
        public let lastUsedAt: String?
        /// The key a rotation replaced with this one.
        public let replaces: String?

        enum CodingKeys: String, CodingKey {
            case id, site, role, replaces
            case createdAt = "created_at"
            case expiresAt = "expires_at"
            case revokedAt = "revoked_at"
            case lastUsedAt = "last_used_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(site, forKey: .site)
            try c.encode(role, forKey: .role)
            try c.encode(createdAt, forKey: .createdAt)
            // Explicit nulls: "never expires", "active", "never used" are stated, not implied.
            try c.encode(expiresAt, forKey: .expiresAt)
            try c.encode(revokedAt, forKey: .revokedAt)
            try c.encode(lastUsedAt, forKey: .lastUsedAt)
            try c.encode(replaces, forKey: .replaces)
        }
    }

    /// The one moment a key is visible.
    public struct CreatedKey: Sendable, Encodable {
        public let id: String
        public let key: String
        public let site: String
        public let role: Role
        public let expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case id, key, site, role
            case expiresAt = "expires_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(key, forKey: .key)
            try c.encode(site, forKey: .site)
            try c.encode(role, forKey: .role)
            try c.encode(expiresAt, forKey: .expiresAt)
        }
    }

    /// What a presented key is.
    public enum Check: Sendable, Equatable {
        case valid(Principal)
        /// A real key past its expiry (rotated away or created with `--expires-in`).
        case expired
        /// Unknown, malformed or revoked.
        case unknown
    }

    let database: Database
    let now: @Sendable () -> Date
    let recent: PrincipalCache
    let usage = KeyUsageRecorder()

    public init(database: Database, now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(database: database, now: now, recent: PrincipalCache())
    }

    /// With a principal cache of its own shape (tests: one slot, a short lifetime).
    init(database: Database, now: @escaping @Sendable () -> Date, recent: PrincipalCache) {
        self.database = database
        self.now = now
        self.recent = recent
    }

    /// Sites are short identifiers, like external ids.
    public static func isValidSite(_ site: String) -> Bool {
        !site.isEmpty && site.utf8.count <= 64 && site.utf8.allSatisfy { isIdentifierByte($0) }
    }

    /// - Parameter expiresIn: nil for a key that never expires (the default).
    public func create(site: String, role: Role, expiresIn: Duration? = nil) throws -> CreatedKey {
        try database.write { connection in
            try connection.transaction { try insertKey(connection, site: site, role: role, expiresIn: expiresIn, replaces: nil) }
        }
    }

    private func insertKey(_ connection: Connection, site: String, role: Role, expiresIn: Duration?, replaces: String?) throws
        -> CreatedKey
    {
        let secret = KeyStore.randomBytes(32)
        let key = "icmm_" + KeyStore.base64URL(secret)
        let id = "key_" + hexString(KeyStore.randomBytes(8))
        let created = now()
        let expiresAt = expiresIn.map { Timestamp.string(created.addingTimeInterval($0.seconds)) }
        try connection.run(
            "INSERT INTO api_keys (id, key_hash, site, role, created_at, expires_at, replaces) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [id, KeyStore.hash(key), site, role.rawValue, Timestamp.string(created), expiresAt, replaces])
        return CreatedKey(id: id, key: key, site: site, role: role, expiresAt: expiresAt)
    }

    /// Issues a new key for the same site and role; the old one keeps working for `grace`, then
    /// expires (an earlier expiry it already had stands). A revoked or unknown key cannot be rotated.
    public func rotate(id: String, grace: Duration, expiresIn: Duration? = nil) throws -> CreatedKey {
        let created = try database.write { connection in
            try connection.transaction {
                let old = try connection.queryOne(
                    "SELECT site, role FROM api_keys WHERE id = ? AND revoked_at IS NULL", [id]
                ) { row in (row.string(0), Role(rawValue: row.string(1))) }
                guard let (site, role) = old, let role else { throw RegistryError.unknownKey(id) }
                let graceEnd = Timestamp.string(now().addingTimeInterval(grace.seconds))
                try connection.run(
                    // The earlier of the key's expiry and the grace end (CASE: SQLite's min(), PostgreSQL's least()).
                    "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < ? THEN expires_at ELSE ? END WHERE id = ?",
                    [graceEnd, graceEnd, id])
                return try insertKey(connection, site: site, role: role, expiresIn: expiresIn, replaces: id)
            }
        }
        recent.removeAll()
        return created
    }

    public func list() throws -> [KeySummary] {
        usage.flush(database)
        return try database.read { connection in
            try connection.query(
                "SELECT id, site, role, created_at, expires_at, revoked_at, last_used_at, replaces FROM api_keys ORDER BY created_at, id"
            ) { row in
                KeySummary(
                    id: row.string(0), site: row.string(1), role: Role(rawValue: row.string(2)) ?? .submitter,
                    createdAt: row.string(3), expiresAt: row.optionalString(4), revokedAt: row.optionalString(5),
                    lastUsedAt: row.optionalString(6), replaces: row.optionalString(7))
            }
        }
    }

    /// Revokes a key; revoking twice keeps the first time.
    public func revoke(id: String) throws {
        let changed = try database.write { connection in
            try connection.run(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [Timestamp.string(now()), id])
        }
        recent.removeAll()
        if changed == 0 { throw RegistryError.unknownKey(id) }
    }

    /// The principal of an active key, nil for an unknown, revoked or expired one.
    public func authenticate(_ key: String) throws -> Principal? {
        if case .valid(let principal) = try check(key) { return principal }
        return nil
    }

    /// What a presented key is. Active keys are remembered for `PrincipalCache.lifetime`, by the
    /// key as presented, so dashboards that poll cost neither a database read nor a SHA-256 each;
    /// a revocation or rotation here takes
    /// effect at once, one by another process (`icmm keys revoke` while serving) within that
    /// lifetime. Expiry is checked against the clock on every request, cached or not.
    public func check(_ key: String) throws -> Check {
        guard KeyStore.isWellFormed(key) else { return .unknown }
        let at = now()
        let minute = KeyUsageRecorder.minute(at)
        if let hit = recent.get(key, minute: minute) {
            if let expiresAt = hit.expiresAt, at >= expiresAt { return .expired }
            if !hit.noted {
                usage.note(hit.principal.keyID, at: at, database: database)
                recent.noted(key, minute: minute)
            }
            return .valid(hit.principal)
        }
        let hash = KeyStore.hash(key)
        let found = try database.read { connection in
            try connection.queryOne(
                "SELECT id, site, role, expires_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [hash]
            ) { row -> (Principal, Date?)? in
                guard let role = Role(rawValue: row.string(2)) else { return nil }
                return (Principal(keyID: row.string(0), site: row.string(1), role: role), row.optionalString(3).flatMap(Timestamp.date))
            } ?? nil
        }
        guard let (principal, expiresAt) = found else { return .unknown }
        recent.put(key, principal, expiresAt: expiresAt)
        if let expiresAt, at >= expiresAt { return .expired }
        usage.note(principal.keyID, at: at, database: database)
        recent.noted(key, minute: minute)
        return .valid(principal)
    }

    /// `check` when it needs no database: nil when the key is not among those recently
    /// authenticated, or when noting its use would write the last-use minutes now. For callers that
    /// must not block (an event loop); on nil they call `check` where blocking is allowed.
    public func checkWithoutBlocking(_ key: String) -> Check? {
        withBytes(key) { checkWithoutBlocking(bytes: $0) }
    }

    /// `checkWithoutBlocking` of a key given as its UTF-8 bytes (a header's, read in place): a
    /// poll answered from the cache makes no string of its key.
    public func checkWithoutBlocking(bytes key: UnsafeBufferPointer<UInt8>) -> Check? {
        guard KeyStore.isWellFormed(key) else { return .unknown }
        let at = now()
        let minute = KeyUsageRecorder.minute(at)
        guard let hit = recent.get(key, minute: minute) else { return nil }
        if let expiresAt = hit.expiresAt, at >= expiresAt { return .expired }
        if !hit.noted {
            guard usage.noteWithoutWriting(hit.principal.keyID, at: at) else { return nil }
            recent.noted(key, minute: minute)
        }
        return .valid(hit.principal)
    }

    /// `icmm_` and under 200 bytes: compared as bytes (`hasPrefix` compares by Character).
    static func isWellFormed(_ key: String) -> Bool {
        withBytes(key) { isWellFormed($0) }
    }

    static func isWellFormed(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard key.count >= 5, key.count < 200 else { return false }
        // "icmm_" as one little-endian word of its first four bytes, and the fifth.
        let first4 = UInt32(key[0]) | UInt32(key[1]) << 8 | UInt32(key[2]) << 16 | UInt32(key[3]) << 24
        return first4 == 0x6D6D_6369 && key[4] == 0x5F
    }

    /// Writes the pending last-use minutes now (tests, `keys list`, shutdown).
    public func flushUsage() { usage.flush(database) }

    /// SHA-256 of the key, in hex. On every authenticated request, so no Foundation formatting.
    static func hash(_ key: String) -> String {
        hexString(Array(SHA256.hash(data: Array(key.utf8))))
    }

    /// Bytes from the system's CSPRNG (getrandom on Linux).
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The string's UTF-8 bytes, in place when it has contiguous storage (a native string), else copied once.
func withBytes<R>(_ key: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = key.utf8.withContiguousStorageIfAvailable(body) { return result }
    var key = key
    return key.withUTF8(body)
}

/// `[A-Za-z0-9._-]`: the alphabet of external ids and sites (DOMAIN.md section 9).
@inline(__always)
func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
}

/// Timestamps are UTC, millisecond precision, fixed width, so that text order is time order.
public enum Timestamp {
    /// Parses `YYYY-MM-DDThh:mm:ss.sssZ` (the form `string` writes); nil for anything else.
    public static func date(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E, b[23] == 0x5A
        else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var value = 0
            for i in r {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), let millis = number(20..<23)
        else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)) + Double(millis) / 1000)
    }


    public static func string(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000
        let millis = Int(ms % 1000)
        var tm = tm()
        var t = time_t(seconds)
        gmtime_r(&t, &tm)
        // By hand, not String(format:): this runs for every write (Foundation's formatting was
        // about 2 % of a POST /v1/cases).
        let fields = [
            (Int(tm.tm_year) + 1900, 4, UInt8(0x2D)), (Int(tm.tm_mon) + 1, 2, 0x2D), (Int(tm.tm_mday), 2, 0x54),
            (Int(tm.tm_hour), 2, 0x3A), (Int(tm.tm_min), 2, 0x3A), (Int(tm.tm_sec), 2, 0x2E), (millis, 3, 0x5A),
        ]
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var end = 0
            for (value, width, separator) in fields {
                var rest = max(0, value)
                for index in stride(from: end + width - 1, through: end, by: -1) {
                    buffer[index] = UInt8(0x30 + rest % 10)
                    rest /= 10
                }
                buffer[end + width] = separator
                end += width + 1
            }
            return end
        }
    }
}

extension Duration {
    /// The duration in seconds, as Foundation's time interval.
    public var seconds: TimeInterval {
        let (s, attoseconds) = components
        return TimeInterval(s) + TimeInterval(attoseconds) / 1e18
    }

    /// Parses `90d`, `12h`, `30m`, `45s` (a positive whole number and a unit).
    public static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0, value < 100_000_000 else { return nil }
        switch unit {
        case "d": return .seconds(value * 86_400)
        case "h": return .seconds(value * 3_600)
        case "m": return .seconds(value * 60)
        case "s": return .seconds(value)
        default: return nil
        }
    }
}
