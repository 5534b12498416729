import Foundation
import Storage
import TestSupport
import Testing

@testable import Registry

/// The cache of recently authenticated keys (issue 11: a poll costs no SHA-256 of its key). It is
/// keyed by the key as presented, in a fixed table of slots: these tests squeeze it to one slot, so
/// that every key shares it, and shorten or lengthen its lifetime, so that no test waits on it.
@Suite struct PrincipalCacheTests {
    /// A key store over a fresh database, with the cache given.
    func keyStore(
        _ backend: TestBackend, _ directory: TemporaryDirectory, cache: PrincipalCache, clock: TestClock = TestClock(testNow)
    ) throws -> (KeyStore, Database, () -> Void) {
        let (database, drop) = try backend.openDatabase(in: directory, file: "keys.sqlite")
        try MigrationRunner(directory: backend.migrationsFolder).migrate(database)
        return (KeyStore(database: database, now: { clock.now }, recent: cache), database, { database.close(); drop() })
    }

    @Test func aKeyThatSharesAnotherKeysSlotFindsNoPrincipalThere() {
        let cache = PrincipalCache(slots: 1, lifetime: .seconds(3_600))
        let a = "icmm_" + String(repeating: "A", count: 43)
        let forged = "icmm_" + String(repeating: "A", count: 42) + "B"  // differs in the last byte only
        let principal = Principal(keyID: "key_a", site: "HOSP-A", role: .admin)
        cache.put(a, principal, expiresAt: nil)
        #expect(cache.get(a, minute: 0)?.principal == principal)
        #expect(cache.get(forged, minute: 0) == nil)
        #expect(cache.get(String(a.dropLast()), minute: 0) == nil)
        #expect(cache.get(a + "A", minute: 0) == nil)
        #expect(cache.get("", minute: 0) == nil)
        // A second key in the slot evicts the first: each is found only as itself.
        let other = Principal(keyID: "key_b", site: "HOSP-B", role: .analyst)
        cache.put(forged, other, expiresAt: nil)
        #expect(cache.get(forged, minute: 0)?.principal == other)
        #expect(cache.get(a, minute: 0) == nil)
    }

    /// The slot comes from the whole key (the poll path's cheap keyed hash, issue 11): random keys
    /// spread over the table, keys that differ in one byte anywhere (or in length) mostly land
    /// apart, and every slot is within the table.
    @Test func slotsComeFromEveryByteOfTheKeyAndSpreadOverTheTable() {
        let cache = PrincipalCache()
        func slot(_ key: String) -> Int {
            var key = key
            return key.withUTF8 { cache.slot(of: $0) }
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let keys = (0..<400).map { _ in "icmm_" + String((0..<43).map { _ in alphabet.randomElement(using: &generator)! }) }
        let slots = keys.map(slot)
        #expect(slots.allSatisfy { (0..<PrincipalCache.defaultSlots).contains($0) })
        // 400 keys in 1,024 slots fill about 330 of them; far fewer would mean a weak mix.
        #expect(Set(slots).count > 280)
        // One byte changed, at each position of a key (the prefix, every word, the tail): the
        // slots of the 48 variants are nearly all different from the key's own.
        let key = keys[0]
        var moved = 0
        for position in 0..<key.utf8.count {
            var bytes = Array(key.utf8)
            bytes[position] ^= 0x01
            if slot(String(decoding: bytes, as: UTF8.self)) != slot(key) { moved += 1 }
        }
        #expect(moved >= key.utf8.count - 4)
        #expect(slot(key + "A") != slot(key) || slot(key + "B") != slot(key))
    }

    /// The poll path checks a key given as the bytes of its header; it answers as the string form.
    @Test(arguments: TestBackend.all) func aKeyGivenAsBytesIsCheckedAsTheString(backend: TestBackend) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (keys, _, close) = try keyStore(backend, directory, cache: PrincipalCache(lifetime: .seconds(3_600)))
        defer { close() }
        let key = try keys.create(site: "HOSP-A", role: .analyst)
        func bytesCheck(_ text: String) -> KeyStore.Check? {
            var text = text
            return text.withUTF8 { keys.checkWithoutBlocking(bytes: $0) }
        }
        #expect(bytesCheck(key.key) == nil, "not yet read from the database")
        #expect(try keys.check(key.key) == .valid(Principal(keyID: key.id, site: "HOSP-A", role: .analyst)))
        #expect(bytesCheck(key.key) == .valid(Principal(keyID: key.id, site: "HOSP-A", role: .analyst)))
        for malformed in ["", "icmm", "ICMM_" + key.key.dropFirst(5), "xcmm_abc", "icmm-abc", "icmm_" + String(repeating: "a", count: 195)] {
            #expect(bytesCheck(malformed) == .unknown, "\(malformed.prefix(8))")
            #expect(keys.checkWithoutBlocking(malformed) == .unknown)
        }
        #expect(bytesCheck(String(key.key.dropLast())) == nil, "well formed, not cached: the database decides")
        try keys.revoke(id: key.id)
        #expect(bytesCheck(key.key) == nil)
        #expect(try keys.check(key.key) == .unknown)
    }

    @Test func theConstantTimeComparisonComparesEveryByteAndTheLength() {
        func equal(_ a: String, _ b: String) -> Bool {
            var a = a
            let stored = Array(b.utf8)
            return a.withUTF8 { presented in stored.withUnsafeBufferPointer { PrincipalCache.equalInConstantTime(presented, $0) } }
        }
        #expect(equal("icmm_abc", "icmm_abc"))
        #expect(!equal("icmm_abc", "icmm_abd"))
        #expect(!equal("xcmm_abc", "icmm_abc"))
        #expect(!equal("icmm_ab", "icmm_abc"))
        #expect(!equal("icmm_abc", "icmm_ab"))
        #expect(equal("", ""))
        // Past the 8-byte words: a difference in the tail, and in the first and last word.
        let key = "icmm_" + String(repeating: "x", count: 43)
        #expect(equal(key, key))
        #expect(!equal(key, String(key.dropLast()) + "y"))
        #expect(!equal(key, "j" + key.dropFirst()))
        #expect(!equal(key, String(key.prefix(40)) + "Xxxxxxxx"))
    }

    @Test(arguments: TestBackend.all) func keysSharingOneSlotEachAuthenticateAsTheirOwnPrincipal(backend: TestBackend) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (keys, _, close) = try keyStore(backend, directory, cache: PrincipalCache(slots: 1, lifetime: .seconds(3_600)))
        defer { close() }
        let a = try keys.create(site: "HOSP-A", role: .submitter)
        let b = try keys.create(site: "HOSP-B", role: .analyst)
        let principalA = Principal(keyID: a.id, site: "HOSP-A", role: .submitter)
        let principalB = Principal(keyID: b.id, site: "HOSP-B", role: .analyst)
        for _ in 0..<3 {
            #expect(try keys.check(a.key) == .valid(principalA))
            #expect(keys.checkWithoutBlocking(a.key) == .valid(principalA))
            // B's key finds A's entry in the only slot: not a match, so it is looked up (and then cached).
            #expect(keys.checkWithoutBlocking(b.key) == nil)
            #expect(try keys.check(b.key) == .valid(principalB))
            #expect(keys.checkWithoutBlocking(b.key) == .valid(principalB))
            #expect(keys.checkWithoutBlocking(a.key) == nil)
        }
        // A key that is A's with one byte changed is unknown, while A's entry is in the slot.
        #expect(try keys.check(a.key) == .valid(principalA))
        var forged = Array(a.key.utf8)
        forged[forged.count - 1] = forged[forged.count - 1] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forgedKey = String(decoding: forged, as: UTF8.self)
        #expect(try keys.check(forgedKey) == .unknown)
        #expect(keys.checkWithoutBlocking(forgedKey) == nil)
        #expect(try keys.check(a.key) == .valid(principalA))
    }

    @Test(arguments: TestBackend.all) func aCachedKeyRevokedByAnotherProcessIsRefusedOnceItsEntryIsOlderThanTheLifetime(
        backend: TestBackend
    ) throws {
        // A lifetime nothing reaches during the test: the revocation by another process is not seen
        // (what the cache saves is exactly that database read) ...
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (keys, database, close) = try keyStore(backend, directory, cache: PrincipalCache(lifetime: .seconds(3_600)))
        defer { close() }
        let key = try keys.create(site: "HOSP-A", role: .submitter)
        #expect(try keys.authenticate(key.key)?.keyID == key.id)
        try KeyStore(database: database, now: { testNow }).revoke(id: key.id)
        #expect(try keys.authenticate(key.key)?.keyID == key.id)
        #expect(keys.checkWithoutBlocking(key.key) == .valid(Principal(keyID: key.id, site: "HOSP-A", role: .submitter)))
        // ... a revocation through this store is seen at once ...
        try keys.revoke(id: key.id)
        #expect(try keys.check(key.key) == .unknown)
        #expect(keys.checkWithoutBlocking(key.key) == nil)

        // ... and with a lifetime that has passed, a revocation by another process is seen on the next request.
        let shortDirectory = TemporaryDirectory()
        defer { shortDirectory.remove() }
        let (short, shortDatabase, closeShort) = try keyStore(
            backend, shortDirectory, cache: PrincipalCache(lifetime: .milliseconds(1)))
        defer { closeShort() }
        let other = try short.create(site: "HOSP-A", role: .submitter)
        #expect(try short.authenticate(other.key)?.keyID == other.id)
        try KeyStore(database: shortDatabase, now: { testNow }).revoke(id: other.id)
        Thread.sleep(forTimeInterval: 0.01)  // ten times the lifetime
        #expect(try short.check(other.key) == .unknown)
        #expect(short.checkWithoutBlocking(other.key) == nil)
    }

    @Test(arguments: TestBackend.all) func expiryIsCheckedOnEveryRequestThatTheCacheAnswers(backend: TestBackend) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = TestClock(testNow)
        let (keys, _, close) = try keyStore(backend, directory, cache: PrincipalCache(lifetime: .seconds(3_600)), clock: clock)
        defer { close() }
        let key = try keys.create(site: "HOSP-A", role: .analyst, expiresIn: .seconds(60))
        #expect(try keys.authenticate(key.key)?.keyID == key.id)
        clock.now = testNow.addingTimeInterval(59)
        #expect(keys.checkWithoutBlocking(key.key) == .valid(Principal(keyID: key.id, site: "HOSP-A", role: .analyst)))
        clock.now = testNow.addingTimeInterval(60)
        #expect(keys.checkWithoutBlocking(key.key) == .expired)
        #expect(try keys.check(key.key) == .expired)
    }

    @Test(arguments: TestBackend.all) func lastUseIsStillNotedOncePerMinuteThroughTheCache(backend: TestBackend) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = TestClock(testNow)
        let (keys, _, close) = try keyStore(backend, directory, cache: PrincipalCache(lifetime: .seconds(3_600)), clock: clock)
        defer { close() }
        let key = try keys.create(site: "HOSP-A", role: .analyst)
        func lastUsed() throws -> String? { try keys.list().first { $0.id == key.id }?.lastUsedAt }
        func minute(_ date: Date) -> String {
            Timestamp.string(Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60))
        }
        #expect(try keys.check(key.key) != .unknown)
        #expect(try lastUsed() == minute(testNow))
        // Two minutes later, answered from the cache only: the new minute is noted all the same.
        clock.now = testNow.addingTimeInterval(120)
        #expect(keys.checkWithoutBlocking(key.key) == .valid(Principal(keyID: key.id, site: "HOSP-A", role: .analyst)))
        #expect(try keys.check(key.key) != .unknown)
        #expect(try lastUsed() == minute(clock.now))
    }
}
