import Crypto
import Foundation
import Storage
import Synchronization

/// API keys: random (256 bits), shown once, stored only as a SHA-256 hash, revocable.
public struct KeyStore: Sendable {
    public struct KeySummary: Sendable, Equatable, Encodable {
        public let id: String
        public let site: String
        public let role: Role
        public let createdAt: String
        public let revokedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, site, role
            case createdAt = "created_at"
            case revokedAt = "revoked_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(site, forKey: .site)
            try c.encode(role, forKey: .role)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(revokedAt, forKey: .revokedAt)  // explicit null while active
        }
    }

    /// The one moment a key is visible.
    public struct CreatedKey: Sendable, Encodable {
        public let id: String
        public let key: String
        public let site: String
        public let role: Role
    }

    let database: Database
    let now: @Sendable () -> Date
    let recent = PrincipalCache()

    public init(database: Database, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    /// Sites are short identifiers, like external ids.
    public static func isValidSite(_ site: String) -> Bool {
        !site.isEmpty && site.utf8.count <= 64 && site.utf8.allSatisfy { isIdentifierByte($0) }
    }

    public func create(site: String, role: Role) throws -> CreatedKey {
        let secret = KeyStore.randomBytes(32)
        let key = "icmm_" + KeyStore.base64URL(secret)
        let id = "key_" + hexString(KeyStore.randomBytes(8))
        try database.write { connection in
            try connection.run(
                "INSERT INTO api_keys (id, key_hash, site, role, created_at) VALUES (?, ?, ?, ?, ?)",
                [id, KeyStore.hash(key), site, role.rawValue, Timestamp.string(now())])
        }
        return CreatedKey(id: id, key: key, site: site, role: role)
    }

    public func list() throws -> [KeySummary] {
        try database.read { connection in
            try connection.query("SELECT id, site, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id") { row in
                KeySummary(
                    id: row.string(0), site: row.string(1), role: Role(rawValue: row.string(2)) ?? .submitter,
                    createdAt: row.string(3), revokedAt: row.optionalString(4))
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

    /// The principal of an active key, nil for an unknown or revoked one.
    /// Active keys are remembered for `PrincipalCache.lifetime`, so dashboards that poll do not cost
    /// a database read each; a revocation here takes effect at once, one by another process
    /// (`icmm keys revoke` while serving) within that lifetime.
    public func authenticate(_ key: String) throws -> Principal? {
        guard key.hasPrefix("icmm_"), key.utf8.count < 200 else { return nil }
        let hash = KeyStore.hash(key)
        if let principal = recent.get(hash) { return principal }
        let principal = try database.read { connection in
            try connection.queryOne(
                "SELECT id, site, role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [hash]
            ) { row in
                Role(rawValue: row.string(2)).map { Principal(keyID: row.string(0), site: row.string(1), role: $0) }
            } ?? nil
        }
        if let principal { recent.put(hash, principal) }
        return principal
    }

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

/// `[A-Za-z0-9._-]`: the alphabet of external ids and sites (DOMAIN.md section 9).
@inline(__always)
func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
}

/// Timestamps are UTC, millisecond precision, fixed width, so that text order is time order.
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000
        let millis = Int(ms % 1000)
        var tm = tm()
        var t = time_t(seconds)
        gmtime_r(&t, &tm)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
            Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), millis)
    }
}


/// Recently authenticated keys by hash. Only active keys are kept (unknown keys would let anyone
/// fill it), and never for long.
final class PrincipalCache: Sendable {
    static let lifetime: Duration = .seconds(2)
    static let capacity = 10_000
    private let entries = Mutex<[String: (Principal, ContinuousClock.Instant)]>([:])

    func get(_ hash: String) -> Principal? {
        entries.withLock { entries in
            guard let (principal, at) = entries[hash] else { return nil }
            if ContinuousClock.now - at < PrincipalCache.lifetime { return principal }
            entries.removeValue(forKey: hash)
            return nil
        }
    }

    func put(_ hash: String, _ principal: Principal) {
        entries.withLock { entries in
            if entries.count >= PrincipalCache.capacity { entries.removeAll() }
            entries[hash] = (principal, ContinuousClock.now)
        }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
