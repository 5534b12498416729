import FHIR
import JSON
import Testing

/// `BundleReader.stream`: the Patient-by-Patient mapping the route overlaps with the import.
@Suite struct StreamMappingTests {
    static let fixtures = ["od-case.json", "cns-case.json", "letter-case.json"]

    /// The cases handed over one by one, and the Bundle returned, are those of the whole mapping.
    @Test(arguments: fixtures) func streamedCasesAreTheWholeMappingsCases(name: String) throws {
        let bundle = try fixture(name)
        // The fixture alone, and all three in one transaction Bundle (several Patients, resources
        // interleaved; the collection's entries get the transaction's POST request).
        let all = try Self.fixtures.flatMap { name in
            try fixture(name)["entry"]!.arrayValue!.map { entry in
                guard case .object(var members) = entry, members["request"] == nil else { return entry }
                members["request"] = ["method": "POST", "url": .string(entry["resource"]?["resourceType"]?.stringValue ?? "")]
                return .object(members)
            }
        }
        let together = try fixture("od-case.json").withEntries(all.enumerated().sorted { ($0.offset % 21, $0.offset) < ($1.offset % 21, $1.offset) }.map(\.element))
        for candidate in [bundle, together] {
            let whole = try mapped(candidate)
            var emitted: [MappedCase] = []
            let stream = try #require(try reader.stream(candidate))
            let streamed = try #require(stream.mapCases { emitted.append($0); return true })
            #expect(streamed == whole)
            #expect(emitted == whole.cases)
            #expect(stream.writeRequest == whole.writeRequest)
        }
    }

    /// A problem anywhere: the stream stops (nil) and hands over no case past it; `read` lists it.
    @Test func aProblemStopsTheStream() throws {
        let od = try fixture("od-case.json")
        let cns = try fixture("cns-case.json")
        let entries = od["entry"]!.arrayValue! + cns["entry"]!.arrayValue!.map { $0.withoutRequest() }
        // The second Patient's Condition with a partial date: the first case is handed over, not the second.
        let late = od.withEntries(entries.enumerated().map { index, entry in
            index == od["entry"]!.arrayValue!.count + 2 ? entry.settingResource("onsetDateTime", "2023") : entry
        })
        var emitted: [MappedCase] = []
        let stream = try #require(try reader.stream(late))
        #expect(stream.mapCases { emitted.append($0); return true } == nil)
        #expect(emitted.count == 1)
        #expect(mappingIssues(late) != nil)

        // A problem of the first pass (two Patients with one identifier): no stream at all.
        #expect(try reader.stream(od.withEntries(od["entry"]!.arrayValue! + [od["entry"]!.arrayValue![0]])) == nil)
        // Not a Bundle: the same error as `read`.
        #expect(throws: IngestError.self) { try reader.stream(["resourceType": "Patient"]) }
    }

    /// `emit` returning false stops the mapping.
    @Test func emitCanStopTheStream() throws {
        let entries = try Self.fixtures.flatMap { try fixture($0)["entry"]!.arrayValue!.map { $0.withoutRequest() } }
        let stream = try #require(try reader.stream(try fixture("od-case.json").withEntries(entries)))
        var count = 0
        #expect(stream.mapCases { _ in count += 1; return false } == nil)
        #expect(count == 1)
    }

    /// `CaseBuilder` orders a case's fields by their place in the data dictionary: that order must
    /// keep together every group of fields sharing a prefix of keys.
    @Test func theDataDictionaryListsEachObjectsFieldsInOneRun() {
        let keys = CaseField.all.map { $0.path.split(separator: ".").map(String.init) }
        for field in keys {
            for length in 1..<field.count {
                let prefix = Array(field.prefix(length))
                let members = keys.indices.filter { keys[$0].count > length && Array(keys[$0].prefix(length)) == prefix }
                #expect(members.last! - members.first! + 1 == members.count, "\(prefix) is split")
            }
        }
    }
}

extension JSONValue {
    func withEntries(_ entries: [JSONValue]) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members["entry"] = .array(entries)
        return .object(members)
    }

    func withoutRequest() -> JSONValue {
        guard case .object(var members) = self else { return self }
        members["request"] = nil
        return .object(members)
    }

    func settingResource(_ name: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self, case .object(var resource)? = members["resource"] else { return self }
        resource[name] = value
        members["resource"] = .object(resource)
        return .object(members)
    }
}
