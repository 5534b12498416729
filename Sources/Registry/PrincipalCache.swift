import Foundation
import Synchronization

/// Recently authenticated keys, by the key as presented, so that a dashboard's poll costs neither
/// a database read nor a SHA-256 of its key. Only active keys are kept (unknown keys would let
/// anyone fill it), each for at most `lifetime` after it was read from the database: a revocation
/// by another process is seen within that time.
///
/// A fixed table of `slots` entries, one per slot: a key's slot comes from its bytes mixed with
/// this table's random seeds (`slot(of:)`), and only the server's own random keys enter the table,
/// so nobody can aim keys at a slot. A slot answers only when its stored key equals the presented
/// one, compared in constant time over every byte: a different key that shares the slot finds no
/// principal, it evicts the entry. Keys live here for at most `lifetime`: an entry found stale is
/// wiped, and `removeAll` wipes every entry.
final class PrincipalCache: Sendable {
    static let lifetime: Duration = .seconds(2)
    static let defaultSlots = 1_024

    /// A class, so that a lookup reads the entry in place (a struct would be copied out of the
    /// table, four references and all, on every request). Touched only under the table's lock,
    /// which is why the run-time exclusivity check of its two variables is left out (it cost a
    /// `swift_beginAccess` per lookup).
    final class Entry: @unchecked Sendable {
        @exclusivity(unchecked) var key: [UInt8]
        let principal: Principal
        /// Nil: the key never expires.
        let expiresAt: Date?
        /// Monotonic nanoseconds after which the entry no longer answers (read time + lifetime).
        let answersUntil: UInt64
        /// The last-use minute already noted for this key (`KeyUsageRecorder`), if any.
        @exclusivity(unchecked) var notedMinute: Int64?

        init(key: [UInt8], principal: Principal, expiresAt: Date?, answersUntil: UInt64) {
            self.key = key
            self.principal = principal
            self.expiresAt = expiresAt
            self.answersUntil = answersUntil
        }

        func matches(_ presented: UnsafeBufferPointer<UInt8>) -> Bool {
            key.withUnsafeBufferPointer { PrincipalCache.equalInConstantTime(presented, $0) }
        }
    }

    /// What `get` found: the principal, its key's expiry, and whether `minute` was already noted.
    struct Hit {
        let principal: Principal
        let expiresAt: Date?
        let noted: Bool
    }

    private let entries: Mutex<[Entry?]>
    private let mask: Int
    private let seed: (UInt64, UInt64)

    /// How long an entry answers after its key was read from the database.
    let lifetime: Duration
    private let lifetimeNanoseconds: UInt64

    /// - Parameter slots: a power of two (tests use 1, so that every key shares one slot).
    init(slots: Int = PrincipalCache.defaultSlots, lifetime: Duration = PrincipalCache.lifetime) {
        self.lifetime = lifetime
        let (seconds, attoseconds) = lifetime.components
        lifetimeNanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        entries = Mutex(Array(repeating: nil, count: slots))
        mask = slots - 1
        var generator = SystemRandomNumberGenerator()
        seed = (generator.next(), generator.next())
    }

    /// The principal of `key` if it was read from the database less than `lifetime` ago.
    func get(_ key: String, minute: Int64) -> Hit? {
        withBytes(key) { get($0, minute: minute) }
    }

    func get(_ key: UnsafeBufferPointer<UInt8>, minute: Int64) -> Hit? {
        let slot = slot(of: key)
        let now = PrincipalCache.monotonicNanoseconds()
        return entries.withLock { entries -> Hit? in
            guard let entry = entries[slot], entry.matches(key) else { return nil }
            guard now < entry.answersUntil else {
                PrincipalCache.wipe(&entries[slot])
                return nil
            }
            return Hit(principal: entry.principal, expiresAt: entry.expiresAt, noted: entry.notedMinute == minute)
        }
    }

    /// Remembers an active key just read from the database (replacing whatever shared its slot).
    func put(_ key: String, _ principal: Principal, expiresAt: Date?) {
        withBytes(key) { bytes in
            let slot = slot(of: bytes)
            let entry = Entry(
                key: Array(bytes), principal: principal, expiresAt: expiresAt,
                answersUntil: PrincipalCache.monotonicNanoseconds() &+ lifetimeNanoseconds)
            entries.withLock { entries in
                PrincipalCache.wipe(&entries[slot])
                entries[slot] = entry
            }
        }
    }

    /// Records that `minute` was noted as the key's last use, so its next requests skip the recorder.
    func noted(_ key: String, minute: Int64) {
        withBytes(key) { noted($0, minute: minute) }
    }

    func noted(_ key: UnsafeBufferPointer<UInt8>, minute: Int64) {
        let slot = slot(of: key)
        entries.withLock { entries in
            guard let entry = entries[slot], entry.matches(key) else { return }
            entry.notedMinute = minute
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds: a plain number to compare (ContinuousClock's instants and
    /// durations cost about 150 instructions a lookup in 128-bit arithmetic).
    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    func removeAll() {
        entries.withLock { entries in
            for slot in entries.indices { PrincipalCache.wipe(&entries[slot]) }
        }
    }

    /// Every 8-byte word of the key mixed into a random seed (multiply and xor-shift), the table's
    /// other seed folded in last. A keyed hash strong enough here, at a tenth of SipHash's cost (a
    /// poll's key check, issue 11): only active keys enter the table, and an active key is the
    /// server's own 256 random bits, never chosen by a client, so nobody can aim keys at a slot. A
    /// presented key that shares a slot only misses (it goes to the database); it can evict an
    /// entry only by being an active key itself.
    func slot(of key: UnsafeBufferPointer<UInt8>) -> Int {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = seed.0 ^ UInt64(key.count)
        guard let base = key.baseAddress else { return Int(truncatingIfNeeded: h >> 32) & mask }
        var index = 0
        while index + 8 <= key.count {
            h = (h ^ UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) &* multiplier
            h ^= h >> 29
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < key.count {
            tail |= UInt64(base[index]) << shift
            shift += 8
            index += 1
        }
        h = (h ^ tail ^ seed.1) &* multiplier
        h ^= h >> 32
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Equal length and bytes, in a time that depends only on the lengths (every key has the same):
    /// every word is compared, differences are accumulated, nothing returns early.
    static func equalInConstantTime(_ presented: UnsafeBufferPointer<UInt8>, _ stored: UnsafeBufferPointer<UInt8>) -> Bool {
        guard presented.count == stored.count else { return false }
        guard let a = presented.baseAddress, let b = stored.baseAddress else { return true }
        let count = presented.count
        var difference: UInt64 = 0
        var index = 0
        while index + 8 <= count {
            let x = UnsafeRawPointer(a + index).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(b + index).loadUnaligned(as: UInt64.self)
            difference |= x ^ y
            index += 8
        }
        while index < count {
            difference |= UInt64(a[index] ^ b[index])
            index += 1
        }
        return difference == 0
    }

    /// Overwrites a key's bytes before its entry goes, so that it does not linger in freed memory.
    private static func wipe(_ slot: inout Entry?) {
        guard let entry = slot else { return }
        entry.key.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        slot = nil
    }
}
