import Foundation
import JSON
import Storage
import TestSupport
import Testing

/// `icmm import --fhir` reads its file a chunk at a time and one Bundle at a time: the same cases
/// and answers whatever the chunk size, and the registry's errors still located in the Bundles.
@Suite struct FHIRImportStreamTests {
    /// Twelve Bundles (the three fixture cases, each four times under other identifiers), with a
    /// blank line and CRLF line ends here and there.
    static func bundles() throws -> [JSONValue] {
        var bundles: [JSONValue] = []
        for copy in 0..<4 {
            for name in ["od-case.json", "cns-case.json", "letter-case.json"] {
                let bundle = try fhirFixture(name)
                let id = bundle.member("entry.0.resource.identifier.0.value")?.stringValue ?? "?"
                bundles.append(bundle.replacingMember("entry.0.resource.identifier.0.value", with: .string("\(id)-\(copy)")))
            }
        }
        return bundles
    }

    static func ndjson(_ bundles: [JSONValue]) -> String {
        bundles.enumerated().map { index, bundle in bundle.serializedString() + (index % 5 == 2 ? "\r\n\n" : "\n") }.joined()
    }

    static func storedCases(_ database: String) throws -> [String: String] {
        let db = try Database(configuration: .init(path: database))
        defer { db.close() }
        let rows = try db.read { try $0.query("SELECT external_id, data FROM cases") { ($0.string(0), $0.string(1)) } }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    @Test func aFileOfManyChunksImportsTheSameCasesAndAnswersAsOneChunk() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("bundles.ndjson")
        let text = Self.ndjson(try Self.bundles())
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let chunk = 1000
        #expect(text.utf8.count > 100 * chunk)

        let small = directory.file("small.sqlite")
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", small, "--read-chunk", "\(chunk)"])
        #expect(status == 0, "\(errors)")
        let large = directory.file("large.sqlite")
        let (largeStatus, largeOutput, _) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", large])
        #expect(largeStatus == 0)

        // One transaction-response per Bundle, in file order, each naming its case.
        let responses = output.split(separator: "\n").map { (try? JSONValue.parse(String($0))) ?? .null }
        #expect(responses.count == 12)
        #expect(responses.allSatisfy { $0["type"] == "transaction-response" })
        #expect(responses[4].member("entry.0.response.location") == "/v1/cases/CNS-1-1")
        #expect(responses[4].member("entry.0.response.status") == "201 Created")
        // The same answer and the same stored cases, whatever the chunk.
        #expect(output == largeOutput)
        let stored = try Self.storedCases(small)
        #expect(stored.count == 12)
        #expect(stored == (try Self.storedCases(large)))
    }

    @Test func aPrettyPrintedBundleIsReadWholeWhateverTheChunk() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("letter.json")
        try Data(try fhirFixture("letter-case.json").serializedString(pretty: true).utf8).write(to: URL(fileURLWithPath: file))
        let database = directory.file("icmm.sqlite")
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database, "--read-chunk", "64"])
        #expect(status == 0, "\(errors)")
        #expect(output.split(separator: "\n").count == 1)
        #expect(try Self.storedCases(database).keys.sorted() == ["rome.2024_07-a"])
    }

    /// A failure of the registry's validation (not of the mapping) is located by reading the file
    /// again: the same external id in two Bundles fails the later one, named by Bundle and element.
    @Test func aRegistryFailureIsLocatedInItsBundleAndNothingIsStored() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var bundles = try Self.bundles()
        bundles[7] = bundles[7].replacingMember("entry.0.resource.identifier.0.value", with: "OD-1-0")
        let file = directory.file("bundles.ndjson")
        try Data(Self.ndjson(bundles).utf8).write(to: URL(fileURLWithPath: file))
        let database = directory.file("icmm.sqlite")
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database, "--read-chunk", "512"])
        #expect(status == 1)
        #expect(errors.contains("nothing was stored"))
        let outcome = try JSONValue.parse(output)
        #expect(outcome["resourceType"] == "OperationOutcome")
        #expect(outcome["issue"]?.arrayValue?.count == 1)
        #expect(outcome.member("issue.0.expression") == ["Bundle.entry[0].resource.identifier[0].value"])
        #expect(outcome.member("issue.0.diagnostics")?.stringValue?.hasPrefix("Bundle 8: external_id: conflict") == true, "\(output)")
        #expect(try Self.storedCases(database).isEmpty)
    }

    /// The last Bundle without a newline after it, cut across chunks.
    @Test func aLastLineWithoutNewlineIsRead() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("bundles.ndjson")
        let bundles = Array(try Self.bundles().prefix(3))
        try Data(bundles.map { $0.serializedString() }.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        let database = directory.file("icmm.sqlite")
        let (status, output, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", file, "--db", database, "--read-chunk", "777"])
        #expect(status == 0, "\(errors)")
        #expect(output.split(separator: "\n").count == 3)
        #expect(try Self.storedCases(database).keys.sorted() == ["CNS-1-0", "OD-1-0", "rome.2024_07-a-0"])
    }

    @Test func aMissingFileIsAClearError() throws {
        let (status, _, errors) = try runICMM(["import", "--site", "HOSP-A", "--fhir", "/nonexistent/bundles.ndjson", "--db", "/tmp/unused.sqlite"])
        #expect(status == 1)
        #expect(errors.contains("cannot read /nonexistent/bundles.ndjson"))
    }
}
