import API
import FHIR
import Foundation
import JSON
import Registry
import TestSupport
import Testing

/// `POST /v1/fhir` maps a Bundle Patient by Patient while the registry imports the cases already
/// mapped: a problem found late, after earlier cases went to the import, must still store nothing
/// and answer what the whole mapping answers.
@Suite struct FHIRStreamRouteTests {
    /// `copies` copies of the OD fixture (21 entries, one Patient each), each with its own
    /// fullUrls and identifier (`OD-1-<copy>`).
    static func largeBundle(copies: Int) throws -> JSONValue {
        let od = try fhirFixture("od-case.json")
        let text = JSONValue.array(od["entry"]!.arrayValue!).serializedString()
        var entries: [JSONValue] = []
        for copy in 0..<copies {
            let renamed = text.replacingOccurrences(of: "9a51-0000000", with: "9a51-" + String(format: "%07d", copy))
                .replacingOccurrences(of: "\"OD-1\"", with: "\"OD-1-\(copy)\"")
            entries += try JSONValue.parse(renamed).arrayValue!
        }
        return od.replacingMember("entry", with: .array(entries))
    }

    static let copies = 120
    /// Entries per copy of the OD fixture.
    static let perCopy = 21

    func issues(_ response: TestResponse) -> [JSONValue] {
        #expect(response.header("Content-Type")?.hasPrefix("application/fhir+json") == true)
        #expect(response.jsonValue?["resourceType"] == "OperationOutcome")
        return response.jsonValue?["issue"]?.arrayValue ?? []
    }

    func post(_ service: TestService, _ bundle: JSONValue, query: String = "", auth: (String, String), requestID: String) throws -> TestResponse {
        try service.client.send(
            "POST", "/v1/fhir" + query, json: bundle.serializedString(), contentType: "application/fhir+json",
            headers: [auth, ("X-Request-Id", requestID)])
    }

    /// The request ids of the read-audit entries. The log is written in batches by its own thread,
    /// which may be writing one while this looks: asked until `expected` appears (10 s at most).
    func reads(_ service: TestService, expected: [String] = []) throws -> [String] {
        var query = AuditQuery()
        query.action = "read"
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            service.application.accessLog.flush()
            let found = try service.application.accessLog.page(query).records.compactMap(\.requestID)
            if found == expected || ContinuousClock.now > deadline { return found }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    @Test func aLargeBundleIsStoredWhole() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try post(service, try Self.largeBundle(copies: Self.copies), auth: auth, requestID: "large")
        #expect(response.status == 201)
        // One entry per case (then one that counts the ignored resources).
        let entries = (response.jsonValue?["entry"]?.arrayValue ?? []).filter { $0.member("response.location") != nil }
        #expect(entries.count == Self.copies)
        // In the Bundle's order, each with its location and classification.
        #expect(entries.first?.member("response.location") == "/v1/cases/OD-1-0")
        #expect(entries.last?.member("response.location") == .string("/v1/cases/OD-1-\(Self.copies - 1)"))
        #expect(entries.allSatisfy { $0.member("response.status") == "201 Created" })
        #expect(try service.storedCases().count == Self.copies)
        #expect(try reads(service, expected: ["large"]) == ["large"])
    }

    /// The issue's acceptance test: a mapping problem in the last Patient of a large Bundle, found
    /// after the earlier cases were handed to the import.
    @Test func aMappingProblemLateInALargeBundleStoresNothing() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let last = (Self.copies - 1) * Self.perCopy
        let bundle = try Self.largeBundle(copies: Self.copies).replacingMember("entry.\(last + 8).resource.valueQuantity.code", with: "mmol/L")
        let response = try post(service, bundle, auth: auth, requestID: "late-unit")
        #expect(response.status == 422)
        let found = issues(response)
        #expect(found.count == 1)
        #expect(found.first?["code"] == "not-supported")
        #expect(found.first?["expression"] == .array([.string("Bundle.entry[\(last + 8)].resource.valueQuantity")]))
        #expect(found.first?.member("details.coding.0.code") == "unsupported_unit")
        // The answer is the whole mapping's, exactly.
        let expected = try #require(try mappingOutcome(bundle, service: service))
        #expect(response.jsonValue == expected)
        #expect(try service.storedCases().isEmpty)
        #expect(try reads(service).isEmpty)

        // The same with the registry refusing an earlier case too: the mapping's answer wins, as it
        // did when the whole Bundle was mapped before the import.
        let both = bundle.replacingMember("entry.9.resource.valueQuantity.value", with: 250)
        let second = try post(service, both, auth: auth, requestID: "late-unit-and-range")
        #expect(second.status == 422)
        #expect(second.jsonValue == (try mappingOutcome(both, service: service)))
        #expect(issues(second).count == 1)
        #expect(try service.storedCases().isEmpty)

        // Problems in two Patients: the stream stops at the first, the answer lists both (in
        // entry order), as the whole mapping does.
        let middle = (Self.copies / 2) * Self.perCopy
        let two = bundle.replacingMember("entry.\(middle + 2).resource.onsetDateTime", with: "2022-01")
        let fourth = try post(service, two, auth: auth, requestID: "two-problems")
        #expect(fourth.status == 422)
        #expect(issues(fourth).compactMap { $0["expression"]?.arrayValue?.first?.stringValue } == [
            "Bundle.entry[\(middle + 2)].resource.onsetDateTime", "Bundle.entry[\(last + 8)].resource.valueQuantity",
        ])
        #expect(fourth.jsonValue == (try mappingOutcome(two, service: service)))
        #expect(try service.storedCases().isEmpty)

        // A late problem of the case's build (two elements giving one field different values), in
        // a dry run: the same.
        var entries = try Self.largeBundle(copies: Self.copies)["entry"]!.arrayValue!
        entries.append(entries[last + 1].replacingMember("resource.onsetDateTime", with: "2021-02-03").replacingMember("fullUrl", with: "urn:uuid:0"))
        let conflict = bundle.replacingMember("entry", with: .array(entries))
        let third = try post(service, conflict, query: "?dry_run=true", auth: auth, requestID: "late-conflict")
        #expect(third.status == 422)
        #expect(issues(third).first?.member("details.coding.0.code") == "conflicting_values")
        #expect(third.jsonValue == (try mappingOutcome(conflict, service: service)))
        #expect(try service.storedCases().isEmpty)
        #expect(try reads(service).isEmpty)
    }

    /// A problem only the registry finds (a value out of range) in the last case: located there,
    /// nothing stored; the earlier cases had been written into the transaction rolled back.
    @Test func aRegistryFailureLateInALargeBundleIsLocatedAndStoresNothing() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let last = (Self.copies - 1) * Self.perCopy
        let bundle = try Self.largeBundle(copies: Self.copies).replacingMember("entry.\(last + 9).resource.valueQuantity.value", with: 250)
        for query in ["", "?dry_run=true"] {
            let response = try post(service, bundle, query: query, auth: auth, requestID: "late-range\(query)")
            #expect(response.status == 422)
            let found = issues(response)
            #expect(found.count == 1)
            #expect(found.first?["code"] == "value")
            #expect(found.first?["expression"] == .array([.string("Bundle.entry[\(last + 9)].resource.valueQuantity")]))
            #expect(try service.storedCases().isEmpty)
        }
        #expect(try reads(service).isEmpty)
    }

    /// Upsert (PUT Patients) over stored cases: a late problem leaves every stored case as it was.
    @Test func aLateProblemInAnUpsertLeavesTheStoredCasesAsTheyWere() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let bundle = try Self.largeBundle(copies: 40)
        #expect(try post(service, bundle, auth: auth, requestID: "first").status == 201)
        let before = try service.application.cases.get(site: "HOSP-A", externalID: "OD-1-0")
        let last = 39 * Self.perCopy
        let changed = bundle.replacingMember("entry.9.resource.valueQuantity.value", with: 3.0)
            .replacingMember("entry.\(last + 2).resource.onsetDateTime", with: "2022-01")
        let response = try post(service, changed, query: "?mode=upsert", auth: auth, requestID: "upsert")
        #expect(response.status == 422)
        #expect(issues(response).first?["expression"] == .array([.string("Bundle.entry[\(last + 2)].resource.onsetDateTime")]))
        let after = try service.application.cases.get(site: "HOSP-A", externalID: "OD-1-0")
        #expect(after.version == before.version)
        #expect(after.data == before.data)
        #expect(try service.storedCases().count == 40)
        #expect(try reads(service, expected: ["first"]) == ["first"])
    }

    /// The OperationOutcome of the whole-Bundle mapping (`BundleReader.read`).
    func mappingOutcome(_ bundle: JSONValue, service: TestService) throws -> JSONValue? {
        let reader = BundleReader(terminology: try #require(service.application.fhirTerminology))
        do {
            _ = try reader.read(bundle)
            return nil
        } catch {
            guard case .invalid(let issues) = error else { return nil }
            return operationOutcome(issues)
        }
    }
}

/// The registry's import fed by a producer on another thread.
@Suite struct ImportRecordStreamTests {
    struct ProducerGaveUp: Error, Equatable {}

    static func record(_ id: String) throws -> ImportRecord {
        .json(try JSONValue.parse(caseJSON(id)))
    }

    @Test func recordsPushedFromAnotherThreadAreStoredInOrder() throws {
        let service = try TestService()
        let stream = ImportRecordStream(capacity: 2)
        let records = try (0..<50).map { try Self.record("S-\($0)") }
        let producer = Thread {
            for chunk in stride(from: 0, to: records.count, by: 3) {
                guard stream.push(Array(records[chunk..<min(chunk + 3, records.count)])) else { return }
            }
            stream.finish()
        }
        producer.start()
        let summary = try service.application.cases.importCases(streaming: stream, site: "S", mode: .create, dryRun: false, keyID: nil)
        #expect(summary.items.map(\.externalID) == (0..<50).map { "S-\($0)" })
        #expect(try service.storedCases().count == 50)
    }

    /// The producer fails after the import received (and wrote) records: nothing is stored and
    /// the import throws the producer's error, even with a failing record before it.
    @Test func aProducerFailureRollsEverythingBack() throws {
        let service = try TestService()
        let stream = ImportRecordStream(capacity: 2)
        var produced = try (0..<40).map { try Self.record("F-\($0)") }
        produced[3] = try Self.record("F-0")  // repeated: a registry failure before the producer's
        let records = produced
        let producer = Thread {
            for record in records { guard stream.push([record]) else { return } }
            stream.fail(ProducerGaveUp())
        }
        producer.start()
        #expect(throws: ProducerGaveUp.self) {
            try service.application.cases.importCases(streaming: stream, site: "F", mode: .create, dryRun: false, keyID: nil)
        }
        #expect(try service.storedCases().isEmpty)
    }

    /// Once the import ended, a producer waiting for room is released and told to stop.
    @Test func aProducerIsReleasedWhenTheImportEnds() throws {
        let stream = ImportRecordStream(capacity: 1)
        #expect(stream.push([try Self.record("C-0")]))
        let released = DispatchSemaphore(value: 0)
        let pushed = LockedBox<Bool?>(nil)
        let record = try Self.record("C-1")
        Thread {
            pushed.set(stream.push([record]))  // waits: the queue is full
            released.signal()
        }.start()
        #expect(released.wait(timeout: .now() + 0.2) == .timedOut)
        stream.cancel()
        #expect(released.wait(timeout: .now() + 10) == .success)
        #expect(pushed.get() == false)
        #expect(stream.push([record]) == false)
    }
}

final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ new: Value) { lock.withLock { value = new } }
    func get() -> Value { lock.withLock { value } }
}
