import FHIR
import Foundation
import JSON
import Registry
import TestSupport
import Testing

/// `POST /v1/fhir` honours `Bundle.entry.request`: POST Patient creates, PUT Patient creates or
/// replaces; a refused request answers 422 naming it, and nothing is stored.
@Suite struct FHIRRequestRouteTests {
    func outcomeIssues(_ response: TestResponse) -> [JSONValue] {
        #expect(response.jsonValue?["resourceType"] == "OperationOutcome")
        return response.jsonValue?["issue"]?.arrayValue ?? []
    }

    /// The OD fixture with its Patient entry PUT (create or replace).
    func putBundle() throws -> JSONValue {
        try fhirFixture("od-case.json").replacingMember("entry.0.request", with: ["method": "PUT", "url": "Patient?identifier=OD-1"])
    }

    @Test func putCreatesThenReplacesAndPostRefusesAnExistingCase() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let created = try service.postFHIR(try putBundle(), auth: auth, keep: "request-put-created")
        #expect(created.status == 201, "\(created.text)")
        #expect(created.jsonValue?.member("entry.0.response.status") == "201 Created")
        let changed = try service.postFHIR(try putBundle().replacingMember("entry.0.resource.gender", with: "male"), auth: auth)
        #expect(changed.status == 201)
        #expect(changed.jsonValue?.member("entry.0.response.status") == "200 OK")
        #expect(changed.jsonValue?.member("entry.0.response.extension.0.valueCode") == "updated")
        #expect(try service.application.cases.get(site: "HOSP-A", externalID: "OD-1").data["sex"] == "male")
        // POST Patient: create, refused for an existing case as with mode=create.
        let refused = try service.postFHIR(try fhirFixture("od-case.json"), auth: auth, keep: "request-post-exists")
        #expect(refused.status == 422)
        #expect(outcomeIssues(refused).first?["code"] == "duplicate")
        #expect(try service.application.cases.history(site: "HOSP-A", externalID: "OD-1").map(\.action) == ["create", "update"])
    }

    @Test func refusedRequestsAnswer422NamingTheEntryAndStoreNothing() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        var entries = try fhirFixture("od-case.json")["entry"]?.arrayValue ?? []
        entries.append(["request": ["method": "DELETE", "url": "Observation/old"]])
        let delete = try fhirFixture("od-case.json").replacingMember("entry", with: .array(entries))
        let cases: [(JSONValue, String, String, String)] = [
            (delete, "", "Bundle.entry[21].request.method", "not-supported"),
            (try putBundle(), "?mode=create", "Bundle.entry[0].request.method", "business-rule"),
            (try fhirFixture("od-case.json"), "?mode=upsert", "Bundle.entry[0].request.method", "business-rule"),
            (try fhirFixture("od-case.json").replacingMember("entry.4.request.url", with: "Procedure"), "", "Bundle.entry[4].request.url", "value"),
        ]
        for (index, (bundle, query, expression, code)) in cases.enumerated() {
            let response = try service.postFHIR(bundle, query: query, auth: auth, keep: "request-refused-\(index)")
            #expect(response.status == 422, "\(expression)")
            let issues = outcomeIssues(response)
            #expect(issues.count == 1, "\(response.text)")
            #expect(issues.first?["expression"] == JSONValue.array([.string(expression)]))
            #expect(issues.first?["code"] == JSONValue.string(code))
        }
        #expect(try service.storedCases().isEmpty)
    }
}

/// `icmm import --fhir` decides its mode the same way, across the Bundles of the file.
@Suite struct FHIRRequestImportCommandTests {
    @Test func putBundlesUpsertAndAnExplicitContradictingModeIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("icmm.sqlite")
        let file = directory.file("put.ndjson")
        let put = try fhirFixture("od-case.json").replacingMember("entry.0.request", with: ["method": "PUT", "url": "Patient?identifier=OD-1"])
        try Data((put.serializedString() + "\n").utf8).write(to: URL(fileURLWithPath: file))
        #expect(try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database]).0 == 0)
        // Again: PUT replaces (unchanged), no duplicate error.
        let (status, output, _) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database])
        #expect(status == 0)
        #expect(try JSONValue.parse(output).member("entry.0.response.extension.0.valueCode") == "unchanged")
        let (refused, outcome, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database, "--mode", "create"])
        #expect(refused == 1)
        #expect(errors.contains("nothing was stored"))
        #expect(try JSONValue.parse(outcome).member("issue.0.expression") == ["Bundle.entry[0].request.method"])
    }
}
