import Crypto
import Foundation
import Storage
import Synchronization

/// Values handed to clients (cursors, entity tags) that reveal nothing beyond the caller's scope
/// (issue #12, "No metadata across sites").
///
/// - Entity tags are an HMAC-SHA256, under the server secret, of the scope and a version of what
///   the scope can see: equal data gives an equal tag; nothing about the version (or about other
///   scopes' writes) can be read from it.
/// - Cursors are sealed with AES-GCM under a key derived from the same secret, with the scope as
///   authenticated data: the position is unreadable, cannot be forged, and a cursor issued to one
///   site is refused for another.
///
/// The secret is 32 random bytes kept in the database (`registry_meta.token_secret`, created by
/// migration 0006): every process serving the same database agrees on it, and cursors and tags
/// stay valid across restarts. A database that has no secret (not migrated) gets one per process.
public final class OpaqueTokens: Sendable {
    let database: Database
    private let keys = Mutex<(mac: SymmetricKey, seal: SymmetricKey)?>(nil)

    public init(database: Database) { self.database = database }

    /// Tests and tools may give the secret directly.
    public init(database: Database, secret: [UInt8]) {
        self.database = database
        keys.withLock { $0 = OpaqueTokens.derive(secret) }
    }

    static func derive(_ secret: [UInt8]) -> (mac: SymmetricKey, seal: SymmetricKey) {
        let master = SymmetricKey(data: secret)
        func subkey(_ label: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(label.utf8), using: master)))
        }
        return (subkey("icmm entity tags v1"), subkey("icmm cursors v1"))
    }

    private var derived: (mac: SymmetricKey, seal: SymmetricKey) {
        if let known = keys.withLock({ $0 }) { return known }
        let read: String?? = try? database.read { connection in
            try connection.queryOne("SELECT value FROM registry_meta WHERE key = 'token_secret'") { $0.string(0) }
        }
        // The database did not answer (PostgreSQL down): a throwaway secret for this call only, not
        // remembered, so that the shared one is read once the database is back and every instance agrees again.
        guard let stored = read else { return OpaqueTokens.derive(KeyStore.randomBytes(32)) }
        let secret = stored.flatMap { OpaqueTokens.bytes(hex: $0) } ?? KeyStore.randomBytes(32)
        return keys.withLock { current in
            if let current { return current }
            let made = OpaqueTokens.derive(secret)
            current = made
            return made
        }
    }

    /// A strong entity tag (quoted) for `version` of what `scope` can see.
    public func entityTag(scope: String, version: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("\(scope)\u{0}\(version)".utf8), using: derived.mac)
        return "\"" + KeyStore.base64URL(Array(code.prefix(18))) + "\""
    }

    /// An opaque cursor carrying `position`, valid only for `scope`.
    public func sealCursor(_ position: String, scope: String) -> String {
        guard let box = try? AES.GCM.seal(Array(position.utf8), using: derived.seal, authenticating: Array(scope.utf8)),
            let combined = box.combined
        else { return "" }
        return KeyStore.base64URL(Array(combined))
    }

    /// The position of a cursor this service issued for `scope`; nil for anything else.
    public func openCursor(_ cursor: String, scope: String) -> String? {
        guard cursor.utf8.count <= 512, let bytes = OpaqueTokens.bytes(base64URL: cursor),
            let box = try? AES.GCM.SealedBox(combined: bytes),
            let plain = try? AES.GCM.open(box, using: derived.seal, authenticating: Array(scope.utf8))
        else { return nil }
        return String(bytes: plain, encoding: .utf8)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }

    static func bytes(base64URL text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
