import Foundation
import JSON
import Registry
import Storage
import Synchronization
import TestSupport
import Testing

@Suite struct CaseLifecycleTests {
    @Test(arguments: TestBackend.all) func createReturns201WithLocationETagAndTheClassification(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
        #expect(response.status == 201)
        #expect(response.header("location") == "/v1/cases/A-1")
        #expect(response.header("etag") == "\"1\"")
        let body = try #require(response.jsonValue)
        #expect(body["external_id"] == "A-1")
        #expect(body["site"] == "HOSP-A")
        #expect(body["version"] == 1)
        #expect(body["id"]?.stringValue?.count == 36)
        #expect(body["engine_version"]?.stringValue?.hasPrefix("classification-") == true)
        // skull vault lesion + dural involvement, CSF negative: OD-BONE, osteodural, confirmed (DOMAIN.md section 3).
        #expect(body["classification"]?["localization"]?["category"] == "OD")
        #expect(body["classification"]?["localization"]?["rules"] == ["OD-BONE"])
        #expect(body["classification"]?["localization"]?["certainty"] == "confirmed")
        #expect(body["classification"]?["response"]?["group"] == "CR+VGPR")
        #expect(body["created_at"] != nil && body["updated_at"] != nil)
    }

    /// The write answers splice the stored texts (`StoredCase.representation`); a read serializes
    /// the case it parsed from the database. Both give the same bytes, for a create, an update and a merge patch.
    @Test(arguments: TestBackend.all) func writeAnswersAreByteForByteTheCaseAsReadBack(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let created = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
        #expect(created.status == 201)
        #expect(created.header("content-type") == "application/json")
        #expect(created.body == (try service.client.get("/v1/cases/A-1", headers: [auth])).body)
        let put = try service.client.send("PUT", "/v1/cases/A-1", json: caseJSON("A-1", ["birth_year": 1950]), headers: [auth])
        #expect(put.status == 200)
        #expect(put.jsonValue?["version"] == 2)
        #expect(put.body == (try service.client.get("/v1/cases/A-1", headers: [auth])).body)
        let patched = try service.client.send(
            "PATCH", "/v1/cases/A-1", json: #"{"sex":"male"}"#, contentType: "application/merge-patch+json", headers: [auth])
        #expect(patched.status == 200)
        #expect(patched.jsonValue?["sex"] == "male")
        #expect(patched.body == (try service.client.get("/v1/cases/A-1", headers: [auth])).body)
    }

    @Test(arguments: TestBackend.all) func aDuplicateExternalIDIs409PointingAtTheExistingCase(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let first = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
        let second = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
        #expect(second.status == 409)
        #expect(second.header("content-type") == "application/problem+json")
        #expect(second.header("location") == "/v1/cases/A-1")
        #expect(second.jsonValue?["existing"] == "/v1/cases/A-1")
        #expect(second.jsonValue?["existing_id"] == first.jsonValue?["id"])
    }

    @Test(arguments: TestBackend.all) func getServesTheCaseWithETagAnd304ForAMatchingIfNoneMatch(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("A-1"), headers: [auth])
        let response = try service.client.get("/v1/cases/A-1", headers: [auth])
        #expect(response.status == 200)
        #expect(response.header("etag") == "\"1\"")
        #expect(response.jsonValue?["sex"] == "female")
        let notModified = try service.client.get("/v1/cases/A-1", headers: [auth, ("If-None-Match", "\"1\"")])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        let stale = try service.client.get("/v1/cases/A-1", headers: [auth, ("If-None-Match", "\"7\"")])
        #expect(stale.status == 200)
        #expect(try service.client.get("/v1/cases/NOPE", headers: [auth]).status == 404)
    }

    @Test(arguments: TestBackend.all) func putCreatesThenAnIdenticalRetryChangesNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let created = try service.client.send("PUT", "/v1/cases/P-1", json: caseJSON("P-1"), headers: [auth])
        #expect(created.status == 201)
        #expect(created.header("location") == "/v1/cases/P-1")
        let retried = try service.client.send("PUT", "/v1/cases/P-1", json: caseJSON("P-1"), headers: [auth])
        #expect(retried.status == 200)
        #expect(retried.header("etag") == "\"1\"")
        #expect(retried.jsonValue?["id"] == created.jsonValue?["id"])
        let history = try service.client.get("/v1/cases/P-1/history", headers: [auth]).jsonValue?["entries"]?.arrayValue
        #expect(history?.count == 1)
    }

    @Test(arguments: TestBackend.all) func putWithoutExternalIDInTheBodyTakesTheURLsAndAMismatchIs422(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        var members = try JSONValue.parse(caseJSON("X")).objectValue!
        members.removeValue(forKey: "external_id")
        let created = try service.client.send("PUT", "/v1/cases/P-2", json: JSONValue.object(members).serializedString(), headers: [auth])
        #expect(created.status == 201)
        #expect(created.jsonValue?["external_id"] == "P-2")
        let mismatch = try service.client.send("PUT", "/v1/cases/P-3", json: caseJSON("OTHER"), headers: [auth])
        #expect(mismatch.status == 422)
        #expect(mismatch.jsonValue?["errors"] == [["path": "/external_id", "code": "conflict", "message": "must equal the external id in the URL"]])
        #expect(try service.client.get("/v1/cases/P-3", headers: [auth]).status == 404)
    }

    @Test(arguments: TestBackend.all) func putWithAStaleIfMatchIs412AndChangesNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("PUT", "/v1/cases/P-1", json: caseJSON("P-1"), headers: [auth])
        let changed = caseJSON("P-1", ["sex": "male"])
        let updated = try service.client.send("PUT", "/v1/cases/P-1", json: changed, headers: [auth, ("If-Match", "\"1\"")])
        #expect(updated.status == 200)
        #expect(updated.header("etag") == "\"2\"")
        let stale = try service.client.send("PUT", "/v1/cases/P-1", json: caseJSON("P-1", ["sex": "unknown"]), headers: [auth, ("If-Match", "\"1\"")])
        #expect(stale.status == 412)
        #expect(stale.header("etag") == "\"2\"")
        #expect(try service.client.get("/v1/cases/P-1", headers: [auth]).jsonValue?["sex"] == "male")
        // If-Match on a case that does not exist cannot match.
        #expect(try service.client.send("PUT", "/v1/cases/P-9", json: caseJSON("P-9"), headers: [auth, ("If-Match", "\"1\"")]).status == 412)
        #expect(try service.client.get("/v1/cases/P-9", headers: [auth]).status == 404)
        // If-Match: * asks for an existing case: it does not create one, and accepts any version.
        #expect(try service.client.send("PUT", "/v1/cases/P-9", json: caseJSON("P-9"), headers: [auth, ("If-Match", "*")]).status == 412)
        #expect(try service.client.send("PUT", "/v1/cases/P-1", json: caseJSON("P-1", ["sex": "unknown"]), headers: [auth, ("If-Match", "*")]).status == 200)
    }

    @Test(arguments: TestBackend.all) func concurrentPutsOnOneVersionHaveExactlyOneWinner(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("PUT", "/v1/cases/R-1", json: caseJSON("R-1"), headers: [auth])
        let statuses = Mutex<[Int]>([])
        let client = service.client
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            let body = caseJSON("R-1", ["birth_year": .number(Double(1930 + i))])
            let status = (try? client.send("PUT", "/v1/cases/R-1", json: body, headers: [auth, ("If-Match", "\"1\"")]).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        let all = statuses.withLock { $0 }
        #expect(all.filter { $0 == 200 }.count == 1)
        #expect(all.filter { $0 == 412 }.count == 11)
        #expect(try service.client.get("/v1/cases/R-1", headers: [auth]).header("etag") == "\"2\"")
    }

    /// Creates of one external id at once, mixed with creates of new ids, so that batches hold
    /// both: exactly one 201 per id, every 409 names the stored case, each stored case has one
    /// create entry in the audit trail, and (SQLite) the data version moved once per stored case.
    @Test(arguments: TestBackend.all) func concurrentCreatesOfOneExternalIDStoreOneCase(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let versionBefore = try CaseStore(database: service.database).dataVersion()
        let answers = Mutex<[(id: String, status: Int, body: String)]>([])
        let client = service.client
        DispatchQueue.concurrentPerform(iterations: 24) { i in
            let id = i % 2 == 0 ? "D-1" : "N-\(i)"
            let response = try? client.send("POST", "/v1/cases", json: caseJSON(id), headers: [auth])
            answers.withLock { $0.append((id, response?.status ?? -1, response?.text ?? "")) }
        }
        let all = answers.withLock { $0 }
        let same = all.filter { $0.id == "D-1" }
        #expect(same.filter { $0.status == 201 }.count == 1)
        #expect(same.filter { $0.status == 409 }.count == 11)
        #expect(all.filter { $0.id != "D-1" }.allSatisfy { $0.status == 201 })
        let stored = try #require(try JSONValue.parse(service.client.get("/v1/cases/D-1", headers: [auth]).text)["id"]?.stringValue)
        for refused in same where refused.status == 409 { #expect(refused.body.contains(stored)) }
        let history = try service.client.get("/v1/cases/D-1/history", headers: [auth])
        #expect(history.jsonValue?["entries"]?.arrayValue?.count == 1)
        let versionAfter = try CaseStore(database: service.database).dataVersion()
        if case .sqlite = backend {
            #expect(versionAfter == versionBefore + 13)  // the change number is the data version
        } else {
            #expect(versionAfter > versionBefore)  // PostgreSQL bumps once per committed batch
        }
    }

    @Test(arguments: TestBackend.all) func mergePatchUpdatesFieldsAndNullRemovesOne(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("M-1"), headers: [auth])
        let patched = try service.client.send(
            "PATCH", "/v1/cases/M-1", json: #"{"outcome":{"death_date":"2024-08-01","last_followup_date":null},"birth_year":null}"#,
            contentType: "application/merge-patch+json", headers: [auth, ("If-Match", "\"1\"")])
        #expect(patched.status == 200)
        let body = try #require(patched.jsonValue)
        #expect(body["outcome"] == ["death_date": "2024-08-01"])
        #expect(body["birth_year"] == nil)
        #expect(body["version"] == 2)
        #expect(body["sex"] == "female")
        let history = try service.client.get("/v1/cases/M-1/history", headers: [auth]).jsonValue?["entries"]?.arrayValue
        #expect(history?.last?["changed_paths"] == ["/birth_year", "/outcome/death_date", "/outcome/last_followup_date"])
    }

    @Test(arguments: TestBackend.all) func aMergePatchThatBreaksTheCaseIs422AndChangesNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("M-1"), headers: [auth])
        // Removing the last follow-up of a living patient breaks "required unless dead".
        let broken = try service.client.send(
            "PATCH", "/v1/cases/M-1", json: #"{"outcome":{"last_followup_date":null},"sex":"robot"}"#,
            contentType: "application/merge-patch+json", headers: [auth])
        #expect(broken.status == 422)
        let paths = broken.jsonValue?["errors"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(Set(paths) == ["/sex", "/outcome/last_followup_date"])
        #expect(!broken.text.contains("robot"))
        let current = try service.client.get("/v1/cases/M-1", headers: [auth])
        #expect(current.header("etag") == "\"1\"")
        #expect(current.jsonValue?["outcome"]?["last_followup_date"] == "2024-06-30")
    }

    @Test(arguments: TestBackend.all) func patchNeedsTheMergePatchMediaTypeAndAnExistingCase(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("M-1"), headers: [auth])
        #expect(try service.client.send("PATCH", "/v1/cases/M-1", json: #"{"sex":"male"}"#, headers: [auth]).status == 415)
        #expect(
            try service.client.send("PATCH", "/v1/cases/NOPE", json: "{}", contentType: "application/merge-patch+json", headers: [auth])
                .status == 404)
        #expect(
            try service.client.send("PATCH", "/v1/cases/M-1", json: "{bad", contentType: "application/merge-patch+json", headers: [auth])
                .status == 400)
    }

    @Test(arguments: TestBackend.all) func eraseRemovesTheDataAndKeepsWhoAndWhenInTheHistory(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("E-1"), headers: [auth])
        #expect(try service.client.request("DELETE", "/v1/cases/E-1", headers: [auth, ("If-Match", "\"5\"")]).status == 412)
        let erased = try service.client.request("DELETE", "/v1/cases/E-1", headers: [auth])
        #expect(erased.status == 204)
        #expect(try service.client.get("/v1/cases/E-1", headers: [auth]).status == 404)
        #expect(try service.client.request("DELETE", "/v1/cases/E-1", headers: [auth]).status == 404)
        let history = try service.client.get("/v1/cases/E-1/history", headers: [auth])
        #expect(history.status == 200)
        let entries = history.jsonValue?["entries"]?.arrayValue ?? []
        #expect(entries.map { $0["action"] } == ["create", "erase"])
        #expect(entries.allSatisfy { $0["key_id"]?.stringValue?.hasPrefix("key_") == true && $0["at"] != nil })
        // No clinical data left anywhere in the database.
        let leftovers = try service.database.read { connection in
            try connection.query("SELECT count(*) FROM cases") { $0.int(0) }
        }
        #expect(leftovers == [0])
        let auditText = try service.database.read { connection in
            try connection.query("SELECT changed_paths FROM audit_log") { $0.string(0) }
        }.joined()
        #expect(!auditText.contains("female") && !auditText.contains("2021-05-10"))
    }

    @Test(arguments: TestBackend.all) func invalidCasesAre422WithEveryErrorAndStoreNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let body = caseJSON("V-1", ["sex": "x", "mm_diagnosis_date": "2021-02-30", "color": "blue", "birth_year": 1.5])
        let response = try service.client.send("POST", "/v1/cases", json: body, headers: [auth])
        #expect(response.status == 422)
        #expect(response.header("content-type") == "application/problem+json")
        let errors = response.jsonValue?["errors"]?.arrayValue ?? []
        let byPath = Dictionary(errors.map { ($0["path"]?.stringValue ?? "", $0["code"]?.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(byPath["/sex"] == "invalid_enum")
        #expect(byPath["/mm_diagnosis_date"] == "invalid_date")
        #expect(byPath["/color"] == "unknown_field")
        #expect(byPath["/birth_year"] == "invalid_type")
        #expect(try service.cases().isEmpty)
    }

    @Test(arguments: TestBackend.all) func hostileStringsAreRejectedWithoutBeingEchoedOrInterpreted(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        for hostile in ["x'; DROP TABLE cases;--", "<script>alert(1)</script>", "a\u{0}b", "line\nbreak"] {
            let response = try service.client.send("POST", "/v1/cases", json: caseJSON(hostile), headers: [auth])
            #expect(response.status == 422)
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == "/external_id")
            #expect(!response.text.contains("DROP") && !response.text.contains("<script>"))
            let enumAttack = try service.client.send("POST", "/v1/cases", json: caseJSON("S-1", ["sex": .string(hostile)]), headers: [auth])
            #expect(enumAttack.status == 422)
        }
        // The table is intact and a normal case still goes in.
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("S-1"), headers: [auth]).status == 201)
        // A malformed external id in the URL: 404 to read, 422 to write.
        #expect(try service.client.get("/v1/cases/bad%20id", headers: [auth]).status == 404)
        #expect(try service.client.send("PUT", "/v1/cases/\(String(repeating: "a", count: 65))", json: caseJSON("x"), headers: [auth]).status == 422)
    }

    @Test(arguments: TestBackend.all) func anOversizeBodyIs413AndMalformedJSONIs400AndAWrongTypeIs415(backend: TestBackend) throws {
        let service = try TestService(maxBody: 4096, backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let big = String(repeating: " ", count: 5000) + caseJSON("B-1")
        #expect(try service.client.send("POST", "/v1/cases", json: big, headers: [auth]).status == 413)
        #expect(try service.client.send("POST", "/v1/cases", json: "{\"sex\":", headers: [auth]).status == 400)
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("B-1"), contentType: "text/plain", headers: [auth]).status == 415)
        #expect(try service.cases().isEmpty)
    }
}

extension TestService {
    /// Every (site, external id) stored, read straight from the database.
    func cases() throws -> [String] {
        try database.read { connection in
            try connection.query("SELECT site || '/' || external_id FROM cases ORDER BY 1") { $0.string(0) }
        }
    }
}
