import API
import FHIR
import Foundation
import JSON
import Registry
import Storage
import TestSupport
import Testing

/// A hand-written Bundle of Tests/FHIRTests/Fixtures.
func fhirFixture(_ name: String) throws -> JSONValue {
    try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Tests/FHIRTests/Fixtures/\(name)")))
}

/// Every FHIR body the service wrote in these tests is kept (when ICMM_FHIR_OUTPUT names a folder)
/// so that `make fhir-check` validates it against the R4 structure definitions (fhir.resources).
func keepFHIROutput(_ response: TestResponse, _ name: String) {
    guard let folder = ProcessInfo.processInfo.environment["ICMM_FHIR_OUTPUT"], !folder.isEmpty else { return }
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: folder + "/\(name).json", contents: Data(response.body))
}

extension TestService {
    func postFHIR(
        _ bundle: JSONValue, query: String = "", auth: (String, String), contentType: String = "application/fhir+json",
        keep name: String? = nil
    ) throws -> TestResponse {
        let response = try client.send("POST", "/v1/fhir" + query, json: bundle.serializedString(), contentType: contentType, headers: [auth])
        if let name { keepFHIROutput(response, name) }
        return response
    }

    func storedCases() throws -> [String] {
        try database.read { connection in
            try connection.query("SELECT site || '/' || external_id FROM cases ORDER BY 1") { $0.string(0) }
        }
    }
}

extension JSONValue {
    func member(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") {
            if let index = Int(key) { current = current?.arrayValue.flatMap { $0.indices.contains(index) ? $0[index] : nil } }
            else { current = current?[String(key)] }
        }
        return current
    }

    func replacingMember(_ path: String, with value: JSONValue?) -> JSONValue {
        let keys = path.split(separator: ".").map(String.init)
        guard let key = keys.first else { return value ?? .null }
        let rest = keys.dropFirst().joined(separator: ".")
        if let index = Int(key), var items = arrayValue {
            if rest.isEmpty, value == nil { items.remove(at: index) } else { items[index] = rest.isEmpty ? value! : items[index].replacingMember(rest, with: value) }
            return .array(items)
        }
        var members = objectValue ?? [:]
        members[key] = rest.isEmpty ? value : (members[key] ?? .object([:])).replacingMember(rest, with: value)
        return .object(members)
    }
}

@Suite struct FHIRRouteTests {
    func outcomeIssues(_ response: TestResponse) -> [JSONValue] {
        #expect(response.header("Content-Type")?.hasPrefix("application/fhir+json") == true)
        #expect(response.jsonValue?["resourceType"] == "OperationOutcome")
        return response.jsonValue?["issue"]?.arrayValue ?? []
    }

    @Test func aTransactionBundleIsStoredClassifiedAndAnsweredWithATransactionResponse() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try service.postFHIR(try fhirFixture("od-case.json"), auth: auth, keep: "post-od")
        #expect(response.status == 201)
        #expect(response.header("Content-Type") == "application/fhir+json; fhirVersion=4.0")
        let bundle = try #require(response.jsonValue)
        #expect(bundle["resourceType"] == "Bundle")
        #expect(bundle["type"] == "transaction-response")
        let entries = bundle["entry"]?.arrayValue ?? []
        #expect(entries.count == 2)  // the case, then the ignored resources
        #expect(entries[0].member("response.status") == "201 Created")
        #expect(entries[0].member("response.location") == "/v1/cases/OD-1")
        let extensions = entries[0].member("response.extension")?.arrayValue ?? []
        #expect(extensions.first { $0["url"] == .string(TransactionResponse.writeResultURL) }?["valueCode"] == "created")
        let classificationText = extensions.first { $0["url"] == .string(TransactionResponse.classificationURL) }?["valueString"]?.stringValue
        let classification = try JSONValue.parse(classificationText ?? "")
        #expect(classification.member("localization.category") == "OD")
        #expect(classification.member("localization.rules") == ["OD-BONE"])
        let ignored = entries[1].member("response.outcome.issue")?.arrayValue?.compactMap { $0["diagnostics"]?.stringValue } ?? []
        #expect(ignored == ["Encounter: 1 resource(s) not used by the mapping were ignored.", "Practitioner: 1 resource(s) not used by the mapping were ignored."])
        // Stored like a JSON case: the same classification, and an audit entry.
        let stored = try service.application.cases.get(site: "HOSP-A", externalID: "OD-1")
        #expect(stored.classification == classification)
        #expect(stored.data["therapy"]?["agents"] == ["bortezomib", "dexamethasone"])
        #expect(try service.application.cases.history(site: "HOSP-A", externalID: "OD-1").map(\.action) == ["create"])
    }

    @Test func upsertAnswers200AndUnchangedAndCreateRefusesAnExistingCase() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let bundle = try fhirFixture("cns-case.json")
        #expect(try service.postFHIR(bundle, auth: auth).status == 201)
        let again = try service.postFHIR(bundle, query: "?mode=upsert", auth: auth, keep: "post-unchanged")
        #expect(again.status == 201)
        #expect(again.jsonValue?.member("entry.0.response.status") == "200 OK")
        #expect(again.jsonValue?.member("entry.0.response.extension.0.valueCode") == "unchanged")
        let changed = try service.postFHIR(
            bundle.replacingMember("entry.0.resource.gender", with: "female"), query: "?mode=upsert", auth: auth)
        #expect(changed.jsonValue?.member("entry.0.response.extension.0.valueCode") == "updated")
        let refused = try service.postFHIR(bundle, auth: auth, keep: "outcome-exists")
        #expect(refused.status == 422)
        let issues = outcomeIssues(refused)
        #expect(issues.first?["code"] == "duplicate")
        #expect(issues.first?["expression"] == ["Bundle.entry[0].resource.identifier[0].value"])
    }

    @Test func aDryRunStoresNothing() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try service.postFHIR(try fhirFixture("letter-case.json"), query: "?dry_run=true", auth: auth, keep: "post-dry-run")
        #expect(response.status == 200)
        #expect(response.jsonValue?.member("entry.0.response.extension.1.valueBoolean") == true)
        #expect(try service.storedCases().isEmpty)
    }

    @Test func theLettersCaseIsStoredEqualToTheJSONCase() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.postFHIR(try fhirFixture("letter-case.json"), auth: auth).status == 201)
        let stored = try service.application.cases.get(site: "HOSP-A", externalID: "rome.2024_07-a")
        #expect(stored.classification.member("localization.rules") == ["OD-BONE", "OD-LEPTO"])
        #expect(stored.classification.member("localization.certainty") == "probable")
        #expect(stored.data.member("staging.albumin_g_dl") == 3.1)
        #expect(stored.data.member("intracranial.csf.flow_cytometry") == "not_done")
    }

    /// Each unhappy path: a 422 OperationOutcome naming the element, and nothing stored.
    @Test func unhappyPathsAnswer422AndStoreNothing() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let od = try fhirFixture("od-case.json")
        let cns = try fhirFixture("cns-case.json")
        let secondPatient = od.member("entry.0")!.replacingMember("fullUrl", with: "urn:uuid:5c1e2f4a-0d1b-4f6e-9a51-000000000777")
        let cases: [(String, JSONValue, String, String)] = [
            ("missing-condition", od.replacingMember("entry.1", with: nil), "required", "Bundle.entry[0].resource"),
            ("partial-date", od.replacingMember("entry.2.resource.onsetDateTime", with: "2022-01"), "value", "Bundle.entry[2].resource.onsetDateTime"),
            (
                "unknown-unit",
                od.replacingMember("entry.8.resource.valueQuantity.code", with: "mmol/L"), "not-supported",
                "Bundle.entry[8].resource.valueQuantity"
            ),
            (
                "unresolved-patient", cns.replacingMember("entry.5.resource.subject.reference", with: "Patient/nobody"), "not-found",
                "Bundle.entry[5].resource.subject"
            ),
            (
                "duplicate-patient", od.replacingMember("entry", with: .array(od["entry"]!.arrayValue! + [secondPatient])), "duplicate",
                "Bundle.entry[21].resource.identifier[0].value"
            ),
            (
                "deceased-boolean",
                cns.replacingMember("entry.0.resource.deceasedDateTime", with: nil).replacingMember("entry.0.resource.deceasedBoolean", with: true),
                "required", "Bundle.entry[0].resource.deceasedBoolean"
            ),
            ("out-of-range", od.replacingMember("entry.9.resource.valueQuantity.value", with: 250), "value", "Bundle.entry[9].resource.valueQuantity"),
        ]
        for (name, bundle, code, expression) in cases {
            let response = try service.postFHIR(bundle, auth: auth, keep: "outcome-\(name)")
            #expect(response.status == 422, "\(name)")
            let issues = outcomeIssues(response)
            #expect(issues.count == 1, "\(name): \(issues)")
            #expect(issues.first?["severity"] == "error", "\(name)")
            #expect(issues.first?["code"] == .string(code), "\(name)")
            #expect(issues.first?["expression"]?.arrayValue?.first == .string(expression), "\(name)")
            #expect(issues.first?.member("details.coding.0.code")?.stringValue != nil, "\(name)")
            for secret in ["OD-1", "CNS-1", "1958", "2022-01", "mmol", "nobody"] {
                #expect(issues.first?["diagnostics"]?.stringValue?.contains(secret) == false, "\(name) quotes a value")
            }
        }
        // All or nothing: a valid case next to an invalid one is not stored either.
        let mixed = od.replacingMember(
            "entry", with: .array(od["entry"]!.arrayValue! + cns.replacingMember("entry.2.resource.onsetDateTime", with: "2023").member("entry")!.arrayValue!))
        #expect(try service.postFHIR(mixed, auth: auth).status == 422)
        #expect(try service.storedCases().isEmpty)
    }

    @Test func aTwentyMegabyteBundleIs413OperationOutcome() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let od = try fhirFixture("od-case.json")
        let padding = JSONValue.string(String(repeating: "x", count: 20 << 20))
        let big = od.replacingMember("entry.20.resource.name.0.text", with: padding).serializedString()
        #expect(big.utf8.count > 20_000_000)
        let response = try service.client.chunked(
            "POST", "/v1/fhir", body: Array(big.utf8), chunkSize: 1 << 20, headers: [("Content-Type", "application/fhir+json"), auth])
        keepFHIROutput(response, "outcome-too-large")
        #expect(response.status == 413)
        #expect(outcomeIssues(response).first?["code"] == "too-long")
        // Declared too large up front: refused before the body is read, the same way.
        let declared = try service.client.raw(
            Array("POST /v1/fhir HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/fhir+json\r\n\(auth.0): \(auth.1)\r\nContent-Length: 20971520\r\n\r\n".utf8))
        #expect(declared.status == 413)
        #expect(outcomeIssues(declared).first?["code"] == "too-long")
        #expect(try service.storedCases().isEmpty)
    }

    @Test func requestErrorsAreOperationOutcomesToo() throws {
        let service = try TestService()
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let analyst = try service.key(site: "HOSP-A", role: .analyst)
        let od = try fhirFixture("od-case.json")
        let notJSON = try service.client.send("POST", "/v1/fhir", json: "{\"resourceType\":", contentType: "application/fhir+json", headers: [submitter])
        keepFHIROutput(notJSON, "outcome-not-json")
        #expect(notJSON.status == 400)
        #expect(outcomeIssues(notJSON).first?["code"] == "structure")
        let notBundle = try service.postFHIR(od.member("entry.0.resource")!, auth: submitter, keep: "outcome-not-bundle")
        #expect(notBundle.status == 400)
        let r5 = try service.postFHIR(od, auth: submitter, contentType: "application/fhir+json; fhirVersion=5.0", keep: "outcome-r5")
        #expect(r5.status == 400)
        #expect(outcomeIssues(r5).first?["code"] == "not-supported")
        let r5Member = try service.postFHIR(od.replacingMember("issues", with: ["resourceType": "OperationOutcome"]), auth: submitter)
        #expect(r5Member.status == 400)
        let wrongType = try service.postFHIR(od, auth: submitter, contentType: "text/plain", keep: "outcome-media-type")
        #expect(wrongType.status == 415)
        #expect(outcomeIssues(wrongType).first?["code"] == "not-supported")
        let noKey = try service.client.send("POST", "/v1/fhir", json: od.serializedString(), contentType: "application/fhir+json")
        keepFHIROutput(noKey, "outcome-401")
        #expect(noKey.status == 401)
        #expect(noKey.header("WWW-Authenticate") != nil)
        #expect(outcomeIssues(noKey).first?["code"] == "login")
        let forbidden = try service.postFHIR(od, auth: analyst, keep: "outcome-403")
        #expect(forbidden.status == 403)
        #expect(outcomeIssues(forbidden).first?["code"] == "forbidden")
        let otherSite = try service.postFHIR(od, query: "?site=HOSP-B", auth: submitter)
        #expect(otherSite.status == 403)
        let badMode = try service.postFHIR(od, query: "?mode=merge", auth: submitter, keep: "outcome-bad-parameter")
        #expect(badMode.status == 400)
        #expect(outcomeIssues(badMode).first?["code"] == "invalid")
        let missing = try service.client.get("/v1/cases/none/fhir", headers: [submitter])
        keepFHIROutput(missing, "outcome-404")
        #expect(missing.status == 404)
        #expect(outcomeIssues(missing).first?["code"] == "not-found")
        #expect(try service.storedCases().isEmpty)
    }

    /// Found by contract fuzzing (issue #12): an unknown query parameter, or a key over its rate
    /// limit, made the FHIR routes answer 500; they are 400 and 429 OperationOutcomes, and the
    /// parameter's name is not repeated.
    @Test func unknownParametersAndRateLimitsAreOperationOutcomesNotServerErrors() throws {
        var limits = RateLimitConfiguration()
        limits.perKey = RateLimit(rate: 0.01, burst: 4)
        let service = try TestService(rateLimits: limits)
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let od = try fhirFixture("od-case.json")
        let unknown = try service.postFHIR(od, query: "?site=HOSP-A&x-made-up-name=42", auth: submitter, keep: "outcome-unknown-parameter")
        #expect(unknown.status == 400)
        #expect(outcomeIssues(unknown).first?.member("details.coding.0.code") == "unknown_parameter")
        #expect(!unknown.text.contains("made-up"))
        let export = try service.client.get("/v1/cases/OD-1/fhir?G=z&site=HOSP-A", headers: [submitter])
        #expect(export.status == 400)
        #expect(outcomeIssues(export).first?.member("details.coding.0.code") == "unknown_parameter")
        #expect(try service.storedCases().isEmpty)
        // Two tokens are left: the next two requests pass, the third is refused.
        #expect(try service.client.get("/v1/cases/OD-1/fhir", headers: [submitter]).status == 404)
        #expect(try service.client.get("/v1/cases/OD-1/fhir", headers: [submitter]).status == 404)
        let limited = try service.client.get("/v1/cases/OD-1/fhir", headers: [submitter])
        keepFHIROutput(limited, "outcome-429")
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") != nil)
        #expect(limited.header("RateLimit-Policy")?.hasPrefix("\"per-key\"") == true)
        #expect(outcomeIssues(limited).first?["code"] == "throttled")
        let limitedPost = try service.postFHIR(od, auth: submitter)
        #expect(limitedPost.status == 429)
        #expect(outcomeIssues(limitedPost).first?["code"] == "throttled")
    }

    /// Like the REST routes' `errors`, an OperationOutcome lists at most 100 issues and says how
    /// many there were: a Bundle of many bad Patients does not make a larger answer.
    @Test func aBundleWithManyProblemsGetsAtMostOneHundredIssues() throws {
        let service = try TestService()
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        // 150 Patients without identifier, sex or diagnoses: several issues each.
        let patients: [JSONValue] = (0..<150).map { _ in ["resource": ["resourceType": "Patient"]] }
        let response = try service.postFHIR(["resourceType": "Bundle", "type": "collection", "entry": .array(patients)], auth: submitter)
        #expect(response.status == 422)
        let issues = outcomeIssues(response)
        #expect(issues.count == 101)
        #expect(issues.last?.member("details.coding.0.code") == "issues_truncated")
        #expect(issues.last?["severity"] == "information")
        #expect(try service.storedCases().isEmpty)
    }

    @Test func anAdminImportsForANamedSite() throws {
        let service = try TestService()
        let admin = try service.key(site: "CENTRAL", role: .admin)
        #expect(try service.postFHIR(try fhirFixture("od-case.json"), query: "?site=HOSP-C", auth: admin).status == 201)
        #expect(try service.storedCases() == ["HOSP-C/OD-1"])
    }

    /// Every cohort fixture case, exported by one site and posted by another, is stored equal field by field.
    @Test func exportPostedToAnotherSiteCreatesAnEqualCase() throws {
        let service = try TestService()
        let siteA = try service.key(site: "HOSP-A", role: .submitter)
        let siteB = try service.key(site: "HOSP-B", role: .submitter)
        let ndjson = try String(contentsOfFile: repositoryRoot + "/Tests/APITests/Fixtures/cohort/cases.ndjson", encoding: .utf8)
        #expect(try service.client.send("POST", "/v1/imports", json: ndjson, contentType: "application/x-ndjson", headers: [siteA]).status == 201)
        // The API test helper's case and the hand-written Bundles' cases too.
        #expect(try service.client.send("POST", "/v1/cases", json: caseJSON("HELPER-1"), headers: [siteA]).status == 201)
        for name in ["od-case.json", "cns-case.json", "letter-case.json"] {
            #expect(try service.postFHIR(try fhirFixture(name), auth: siteA).status == 201)
        }
        let ids = try service.database.read { connection in
            try connection.query("SELECT external_id FROM cases WHERE site = 'HOSP-A' ORDER BY row_id") { $0.string(0) }
        }
        #expect(ids.count == 231)
        for (index, id) in ids.enumerated() {
            let exported = try service.client.get("/v1/cases/\(id)/fhir", headers: [siteA])
            #expect(exported.status == 200)
            #expect(exported.jsonValue?["type"] == "collection")
            if index < 3 || index >= ids.count - 4 { keepFHIROutput(exported, "export-\(id)") }
            let posted = try service.client.request(
                "POST", "/v1/fhir", headers: [("Content-Type", "application/fhir+json"), siteB], body: exported.body)
            #expect(posted.status == 201, "\(id): \(posted.text)")
            let original = try service.application.cases.get(site: "HOSP-A", externalID: id)
            let copy = try service.application.cases.get(site: "HOSP-B", externalID: id)
            #expect(copy.data == original.data, "\(id)")
            #expect(copy.classification == original.classification, "\(id)")
        }
    }
}

/// `icmm import --fhir`: one Bundle per file, or NDJSON of Bundles; all or nothing.
@Suite struct FHIRImportCommandTests {
    @Test func importsOneBundleAndNDJSONOfBundles() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("icmm.sqlite")
        let single = directory.file("od.json")
        try Data(try fhirFixture("od-case.json").serializedString(pretty: true).utf8).write(to: URL(fileURLWithPath: single))
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", single, "--db", database])
        #expect(status == 0, "\(errors)")
        let response = try JSONValue.parse(output.split(separator: "\n").first.map(String.init) ?? "")
        #expect(response["type"] == "transaction-response")
        #expect(response.member("entry.0.response.status") == "201 Created")

        let ndjson = directory.file("bundles.ndjson")
        let lines = try ["cns-case.json", "letter-case.json"].map { try fhirFixture($0).serializedString() }.joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: ndjson))
        let (second, secondOutput, _) = try runICMM(["import", "--site", "HOSP-A", "--fhir", ndjson, "--db", database])
        #expect(second == 0)
        #expect(secondOutput.split(separator: "\n").count == 2)
        let db = try Database(configuration: .init(path: database))
        defer { db.close() }
        let ids = try db.read { try $0.query("SELECT external_id FROM cases ORDER BY external_id") { $0.string(0) } }
        #expect(ids == ["CNS-1", "OD-1", "rome.2024_07-a"])
    }

    @Test func anInvalidBundleStoresNothingAndPrintsAnOperationOutcome() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("icmm.sqlite")
        let ndjson = directory.file("bundles.ndjson")
        let first = directory.file("od.json")
        try Data(try fhirFixture("od-case.json").serializedString().utf8).write(to: URL(fileURLWithPath: first))
        #expect(try runICMM(["import", "--site", "HOSP-A", "--fhir", first, "--db", database]).0 == 0)
        let bad = try fhirFixture("cns-case.json").replacingMember("entry.1.resource.recordedDate", with: "2019")
        let lines = try fhirFixture("letter-case.json").serializedString() + "\n" + bad.serializedString() + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: ndjson))
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", ndjson, "--db", database])
        #expect(status == 1)
        #expect(errors.contains("nothing was stored"))
        let outcome = try JSONValue.parse(output)
        #expect(outcome["resourceType"] == "OperationOutcome")
        #expect(outcome.member("issue.0.expression") == ["Bundle.entry[1].resource.recordedDate"])
        #expect(outcome.member("issue.0.diagnostics")?.stringValue?.hasPrefix("Bundle 2: mm_diagnosis_date: partial_date") == true)
        let db = try Database(configuration: .init(path: database))
        defer { db.close() }
        #expect(try db.read { try $0.query("SELECT external_id FROM cases") { $0.string(0) } } == ["OD-1"])
    }
}
