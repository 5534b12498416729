import Testing

@testable import FHIR
@testable import JSON

/// `Bundle.entry.request` of transaction Bundles: POST Patient creates, PUT Patient replaces; other
/// methods, conditional elements and urls of another type are refused naming the element.
@Suite struct BundleRequestTests {
    /// The OD fixture: a transaction whose 21 entries are all `POST <type>`.
    func od() throws -> JSONValue { try fixture("od-case.json") }

    func issues(_ bundle: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) -> [OutcomeIssue] {
        guard case .invalid(let issues)? = mappingIssues(bundle, sourceLocation: sourceLocation) else { return [] }
        return issues
    }

    @Test func postOfThePatientAsksForCreateAndPutForCreateOrReplace() throws {
        #expect(try mapped(try od()).writeRequest == WriteRequest(write: .create, expression: "Bundle.entry[0].request.method"))
        let put = try od().replacing("entry.0.request", with: ["method": "PUT", "url": "Patient/od-1"])
        #expect(try mapped(put).writeRequest?.write == .createOrReplace)
        // A conditional PUT naming the Patient's identifier (value, or system|value, percent-encoded or not).
        for url in ["Patient?identifier=OD-1", "Patient?identifier=urn:oid:2.16.840.1.113883.3.9999.1|OD-1", "Patient?identifier=urn%3Aoid%3A2.16.840.1.113883.3.9999.1%7COD-1"] {
            let conditional = try od().replacing("entry.0.request", with: ["method": "PUT", "url": .string(url)])
            #expect(try mapped(conditional).writeRequest?.write == .createOrReplace, "\(url)")
        }
        // Other resources may be PUT too; the case is the same.
        let observationPut = try od().replacing("entry.3.request", with: ["method": "PUT", "url": "Observation/b2m"])
        #expect(try mapped(observationPut).cases[0].json == (try mapped(try od())).cases[0].json)
        // No request at all (a collection): nothing asked.
        #expect(try mapped(try fixture("cns-case.json")).writeRequest == nil)
    }

    @Test(arguments: ["DELETE", "GET", "HEAD", "PATCH"])
    func methodsOtherThanPostAndPutAreNotSupported(method: String) throws {
        let bundle = try od().replacing("entry.5.request", with: ["method": .string(method), "url": "Observation/x"])
        let found = issues(bundle)
        #expect(found.count == 1)
        #expect(found.first?.code == "not-supported")
        #expect(found.first?.registryCode == MappingCode.unsupportedRequest)
        #expect(found.first?.expression == ["Bundle.entry[5].request.method"])
        #expect(found.first?.diagnostics.hasPrefix("request.method: unsupported_request: \(method) is not supported") == true)
    }

    @Test func aDeleteWithoutResourceIsOneProblemAboutTheDelete() throws {
        var entries = try od()["entry"]?.arrayValue ?? []
        entries.append(["request": ["method": "DELETE", "url": "Observation/old"]])
        let found = issues(try od().replacing("entry", with: .array(entries)))
        #expect(found.map(\.expression) == [["Bundle.entry[21].request.method"]])
    }

    @Test func invalidRequestsNameTheirElement() throws {
        let cases: [(JSONValue, String, String)] = [
            (["method": "POST", "url": "Observation"], "Bundle.entry[0].request.url", "invalid_request"),  // another type
            (["method": "POST", "url": "Patient/od-1"], "Bundle.entry[0].request.url", "invalid_request"),  // POST to an id
            (["method": "PUT", "url": "Patient"], "Bundle.entry[0].request.url", "invalid_request"),  // PUT without id
            (["method": "PUT", "url": "Patient?identifier=OTHER"], "Bundle.entry[0].request.url", "invalid_request"),
            (["method": "PUT", "url": "Patient?name=x"], "Bundle.entry[0].request.url", "invalid_request"),
            (["method": "POST"], "Bundle.entry[0].request.url", "invalid_request"),
            (["url": "Patient"], "Bundle.entry[0].request.method", "invalid_request"),
            (["method": "post", "url": "Patient"], "Bundle.entry[0].request.method", "invalid_request"),
            (["method": "POST", "url": "Patient", "ifNoneExist": "identifier=OD-1"], "Bundle.entry[0].request.ifNoneExist", "unsupported_request"),
            ("POST Patient", "Bundle.entry[0].request", "invalid_request"),
        ]
        for (request, expression, code) in cases {
            let found = issues(try od().replacing("entry.0.request", with: request))
            #expect(found.map(\.expression) == [[expression]], "\(request)")
            #expect(found.first?.registryCode == code, "\(request)")
            // Nothing of the request's text is echoed: the diagnostics name the element only.
            #expect(found.first?.diagnostics.contains("OTHER") == false)
        }
        let idMismatch = try od().replacing("entry.0.resource.id", with: "od-1").replacing("entry.0.request", with: ["method": "PUT", "url": "Patient/od-2"])
        #expect(issues(idMismatch).map(\.expression) == [["Bundle.entry[0].request.url"]])
    }

    @Test func patientsOfOneBundleAskTheSameWrite() throws {
        let od = try od()
        let cns = try fixture("cns-case.json")
        let cnsEntries = (cns["entry"]?.arrayValue ?? []).enumerated().map { index, entry -> JSONValue in
            let type = entry["resource"]?["resourceType"]?.stringValue ?? "?"
            return entry.replacing("request", with: index == 0 ? ["method": "PUT", "url": "Patient/cns-1"] : ["method": "POST", "url": .string(type)])
        }
        let mixed = od.replacing("entry", with: .array((od["entry"]?.arrayValue ?? []) + cnsEntries))
        let found = issues(mixed)
        #expect(found.map(\.registryCode) == [MappingCode.conflictingRequest])
        #expect(found.first?.expression == ["Bundle.entry[21].request.method", "Bundle.entry[0].request.method"])
    }

    @Test func aCollectionHasNoRequest() throws {
        let collection = try od().replacing("type", with: "collection")
        let found = issues(collection)
        #expect(found.count == 21)
        #expect(found.first?.expression == ["Bundle.entry[0].request"])
        #expect(found.first?.diagnostics.contains("R4 bdl-3") == true)
    }
}
