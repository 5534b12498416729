import Foundation
import JSON
import Testing

// What the suites that compare the service with R share: the fixture's expected.json and its
// registry cases (Fixtures/cohort, Fixtures/incidence; each written by the R script beside it).

/// An expected.json written by a fixture's R script; a file that cannot be read or parsed stops
/// the run with its path (the suites read it once, in a static).
func fixtureJSON(_ path: String) -> JSONValue {
    do {
        return try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        fatalError("cannot read \(path): \(error)")
    }
}

/// The service with every case of `directory`/cases.ndjson imported over HTTP, the cases split
/// over two sites (an analyst sees all sites), and an analyst key. `expected` is the fixture's
/// expected.json: its generator states how many cases there are.
func serviceWithFixtureCases(_ directory: String, expected: JSONValue, backend: TestBackend = .sqlite) throws
    -> (TestService, (String, String))
{
    let service = try TestService(backend: backend)
    let lines = try String(contentsOfFile: directory + "/cases.ndjson", encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count == expected["generator"]?["cases"]?.integerValue)
    for (site, part) in [("HOSP-A", 0), ("HOSP-B", 1)] {
        let body = lines.enumerated().filter { $0.offset % 2 == part }.map(\.element).joined(separator: "\n") + "\n"
        let submitter = try service.key(site: site, role: .submitter)
        let response = try service.client.send(
            "POST", "/v1/imports", json: body, contentType: "application/x-ndjson", headers: [submitter])
        try #require(response.status == 201, "import for \(site): \(response.status) \(response.text.prefix(2000))")
    }
    return (service, try service.key(site: "REGISTRY", role: .analyst))
}
