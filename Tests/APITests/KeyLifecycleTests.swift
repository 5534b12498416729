import Foundation
import JSON
import Registry
import Storage
import TestSupport
import Testing

/// Issue #12, "Key lifecycle": expiry, rotation with a grace period, last use, revocation.
@Suite struct KeyLifecycleTests {
    func bearer(_ key: String) -> (String, String) { ("Authorization", "Bearer " + key) }

    @Test(arguments: TestBackend.all) func keysNeverExpireUnlessAskedAndListStatesIt(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let forever = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        let ninety = try service.application.keys.create(site: "HOSP-A", role: .submitter, expiresIn: .seconds(90 * 86_400))
        #expect(forever.expiresAt == nil)
        #expect(ninety.expiresAt == Timestamp.string(testNow.addingTimeInterval(90 * 86_400)))
        let listed = try service.application.keys.list()
        #expect(listed.first { $0.id == forever.id }?.expiresAt == nil)
        #expect(listed.first { $0.id == ninety.id }?.expiresAt == ninety.expiresAt)
        // "Never expires" is an explicit null in the listing, as are "never used" and "active".
        let encoded = String(decoding: try JSONEncoder().encode(listed.first { $0.id == forever.id }!), as: UTF8.self)
        #expect(encoded.contains(#""expires_at":null"#))
        #expect(encoded.contains(#""last_used_at":null"#))
        #expect(encoded.contains(#""revoked_at":null"#))
        #expect(try service.client.get("/v1/cases", headers: [bearer(ninety.key)]).status == 200)
    }

    @Test(arguments: TestBackend.all) func anExpiredKeyGets401WithItsOwnProblemType(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let old = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        _ = try service.application.keys.rotate(id: old.id, grace: .zero)
        let response = try service.client.get("/v1/cases", headers: [bearer(old.key)])
        #expect(response.status == 401)
        #expect(response.jsonObject["type"] as? String == "https://icmm-registry.example/problems/expired-key")
        #expect(response.header("www-authenticate")?.contains("invalid_token") == true)
        // An unknown key keeps the generic type: the two are told apart.
        let unknown = try service.client.get("/v1/cases", headers: [bearer("icmm_" + String(repeating: "A", count: 43))])
        #expect(unknown.status == 401)
        #expect(unknown.jsonObject["type"] as? String == "https://icmm-registry.example/problems/unauthenticated")
    }

    @Test(arguments: TestBackend.all)
    func rotationIssuesAKeyForTheSameSiteAndRoleAndTheOldOneWorksUntilTheGraceEnds(backend: TestBackend) throws {
        // The clock is a variable here, so the grace period can pass.
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, drop) = try backend.openDatabase(in: directory, file: "keys.sqlite")
        defer {
            database.close()
            drop()
        }
        try MigrationRunner(directory: backend.migrationsFolder).migrate(database)
        let clock = TestClock(testNow)
        let keys = KeyStore(database: database, now: { clock.now })
        let old = try keys.create(site: "HOSP-A", role: .submitter)
        let new = try keys.rotate(id: old.id, grace: .seconds(7 * 86_400))
        #expect(new.site == "HOSP-A" && new.role == .submitter && new.key != old.key)
        #expect(try keys.authenticate(old.key)?.keyID == old.id)
        #expect(try keys.authenticate(new.key)?.keyID == new.id)
        let listed = try keys.list()
        #expect(listed.first { $0.id == old.id }?.expiresAt == Timestamp.string(testNow.addingTimeInterval(7 * 86_400)))
        #expect(listed.first { $0.id == new.id }?.replaces == old.id)
        clock.now = testNow.addingTimeInterval(7 * 86_400 - 1)
        #expect(try keys.check(old.key) == .valid(Principal(keyID: old.id, site: "HOSP-A", role: .submitter)))
        clock.now = testNow.addingTimeInterval(7 * 86_400)
        #expect(try keys.check(old.key) == .expired)
        #expect(try keys.authenticate(new.key)?.keyID == new.id)
        // A rotation never lengthens a key's life: an earlier expiry stands.
        let short = try keys.create(site: "HOSP-B", role: .analyst, expiresIn: .seconds(60))
        _ = try keys.rotate(id: short.id, grace: .seconds(86_400))
        #expect(try keys.list().first { $0.id == short.id }?.expiresAt == Timestamp.string(clock.now.addingTimeInterval(60)))
        // Revoked or unknown keys cannot be rotated.
        try keys.revoke(id: new.id)
        #expect(throws: RegistryError.self) { try keys.rotate(id: new.id, grace: .zero) }
        #expect(throws: RegistryError.self) { try keys.rotate(id: "key_0000", grace: .zero) }
    }

    @Test(arguments: TestBackend.all) func lastUseIsRecordedToTheMinuteNotPerRequest(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let created = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        for _ in 0..<5 { #expect(try service.client.get("/v1/cases", headers: [bearer(created.key)]).status == 200) }
        let listed = try service.application.keys.list().first { $0.id == created.id }
        let minute = Timestamp.string(Date(timeIntervalSince1970: (testNow.timeIntervalSince1970 / 60).rounded(.down) * 60))
        #expect(listed?.lastUsedAt == minute)
        #expect(listed?.lastUsedAt?.hasSuffix(":00.000Z") == true)
    }

    @Test(arguments: TestBackend.all) func aRevocationOrRotationByAnotherProcessTakesEffectWithinTwoSeconds(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let revoked = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        let rotated = try service.application.keys.create(site: "HOSP-A", role: .submitter)
        #expect(try service.client.get("/v1/cases", headers: [bearer(revoked.key)]).status == 200)
        #expect(try service.client.get("/v1/cases", headers: [bearer(rotated.key)]).status == 200)
        // `icmm keys revoke` / `rotate --grace 0s` while serving: another KeyStore on the same file.
        let other = KeyStore(database: service.database, now: { testNow })
        try other.revoke(id: revoked.id)
        _ = try other.rotate(id: rotated.id, grace: .zero)
        let deadline = ContinuousClock.now + .seconds(3)
        var statuses = (0, 0)
        repeat {
            statuses = (
                try service.client.get("/v1/cases", headers: [bearer(revoked.key)]).status,
                try service.client.get("/v1/cases", headers: [bearer(rotated.key)]).status
            )
            if statuses == (401, 401) { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while ContinuousClock.now < deadline
        #expect(statuses == (401, 401))
    }
}

/// A settable clock for code that takes `now`.
final class TestClock: @unchecked Sendable {
    // @unchecked: tests set it between calls, on one thread.
    var now: Date
    init(_ now: Date) { self.now = now }
}
