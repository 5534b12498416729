import Foundation
import JSON
import Registry
import Storage
import TestSupport
import Testing

@Suite struct ImportTests {
    func ndjson(_ ids: [String]) -> String { ids.map { caseJSON($0) }.joined(separator: "\n") + "\n" }

    @Test(arguments: TestBackend.all) func storesEveryRecordOfAValidNDJSONImport(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try service.client.send("POST", "/v1/imports", json: ndjson(["I-1", "I-2", "I-3"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 201)
        #expect(response.jsonValue?["created"] == 3)
        #expect(response.jsonValue?["ids"]?.arrayValue?.count == 3)
        #expect(try service.cases() == ["HOSP-A/I-1", "HOSP-A/I-2", "HOSP-A/I-3"])
    }

    /// The stage figures an import reports when asked (`icmm import --timings`, the server's debug
    /// log): every record counted, every stage named on the log line, the writer's wait included.
    @Test func anImportAskedForTimingsReportsEveryStage() throws {
        let service = try TestService()
        let timings = ImportTimings()
        let reader = ImportRecordReader(body: Array(ndjson(["T-1", "T-2", "T-3"]).utf8), format: .ndjson)
        let summary = try service.application.cases.importCases(
            reading: reader, site: "HOSP-T", mode: .create, dryRun: false, keyID: "test", timings: timings)
        #expect(summary.count(.created) == 3)
        #expect(timings.records == 3)
        #expect(timings.wallSeconds > 0)
        #expect(timings.seconds[.writerWait] != nil)
        #expect(timings.seconds[.insert] != nil)
        let fields = timings.line.split(separator: " ").map { $0.split(separator: "=").first.map(String.init) ?? "" }
        #expect(fields == ImportTimings.Stage.allCases.map(\.rawValue) + ["wall", "records", "preparer_cpu", "writer_cpu"])
        #expect(timings.line.contains("records=3"))
        #expect(timings.report.contains("writer_wait"))
    }

    @Test(arguments: TestBackend.all) func oneInvalidRecordRejectsTheWholeImportAndListsErrorsPerRecord(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let body = caseJSON("I-1") + "\n" + caseJSON("I-2", ["sex": "x"]) + "\nnot json\n" + caseJSON("I-1") + "\n"
        let response = try service.client.send("POST", "/v1/imports", json: body, contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 422)
        let records = response.jsonValue?["records"]?.arrayValue ?? []
        #expect(records.map { $0["index"] } == [1, 2, 3])
        #expect(records[0]["external_id"] == "I-2")
        #expect(records[0]["errors"]?.arrayValue?.first?["path"] == "/sex")
        #expect(records[1]["external_id"] == .null)
        #expect(records[2]["errors"]?.arrayValue?.first?["code"] == "conflict")
        #expect(try service.cases().isEmpty)
    }

    @Test(arguments: TestBackend.all) func aDryRunCountsAndStoresNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let response = try service.client.send("POST", "/v1/imports?dry_run=true", json: ndjson(["D-1", "D-2"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 200)
        #expect(response.jsonValue?["dry_run"] == true)
        #expect(response.jsonValue?["created"] == 2)
        #expect(try service.cases().isEmpty)
        #expect(try service.application.cases.dataVersion() == 0)
    }

    @Test(arguments: TestBackend.all) func upsertUpdatesChangedRecordsAndCountsUnchangedOnes(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/imports", json: ndjson(["U-1", "U-2"]), contentType: "application/x-ndjson", headers: [auth])
        let body = "[" + [caseJSON("U-1"), caseJSON("U-2", ["sex": "male"]), caseJSON("U-3")].joined(separator: ",") + "]"
        let response = try service.client.send("POST", "/v1/imports?mode=upsert", json: body, headers: [auth])
        #expect(response.status == 201)
        #expect(response.jsonValue?["created"] == 1)
        #expect(response.jsonValue?["updated"] == 1)
        #expect(response.jsonValue?["unchanged"] == 1)
        // mode=create refuses records that exist, and stores none of the batch.
        let again = try service.client.send("POST", "/v1/imports", json: ndjson(["U-4", "U-1"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(again.status == 422)
        #expect(again.jsonValue?["records"]?.arrayValue?.first?["index"] == 1)
        #expect(try service.cases().contains("HOSP-A/U-4") == false)
    }

    @Test(arguments: TestBackend.all) func badImportRequestsAreRefusedClearly(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.send("POST", "/v1/imports", json: caseJSON("X"), headers: [auth]).status == 400)  // an object, not an array
        #expect(try service.client.send("POST", "/v1/imports", json: "[", headers: [auth]).status == 400)
        #expect(try service.client.send("POST", "/v1/imports", json: "", contentType: "text/csv", headers: [auth]).status == 415)
        #expect(try service.client.send("POST", "/v1/imports?mode=merge", json: "[]", headers: [auth]).status == 400)
        #expect(try service.client.send("POST", "/v1/imports?dry_run=yes", json: "[]", headers: [auth]).status == 400)
    }

    /// Credentials before bodies (issue 12): a refused upload is answered from its headers, at
    /// once, and its connection closed without reading the body (none is sent here: the client
    /// would wait for its 10 s deadline if the server waited for the body).
    @Test(arguments: TestBackend.all) func aRefusedImportIsAnsweredBeforeItsBodyIsRead(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let analyst = try service.key(site: "HOSP-A", role: .analyst)
        let submitter = try service.key(site: "HOSP-A", role: .submitter)
        let client = HTTPTestClient(port: service.server.port, timeoutSeconds: 10)
        func upload(_ headers: [(String, String)], query: String = "") throws -> TestResponse {
            var head = "POST /v1/imports\(query) HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 200000000\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            return try client.raw(Array((head + "\r\n").utf8))
        }
        let anonymous = try upload([])
        #expect(anonymous.status == 401)
        #expect(anonymous.header("www-authenticate") != nil)
        #expect(anonymous.header("connection")?.lowercased() == "close")
        #expect(try upload([("Authorization", "Bearer icmm_not_a_key")]).status == 401)
        #expect(try upload([analyst]).status == 403)
        #expect(try upload([submitter], query: "?site=HOSP-B").status == 403)
        // An admitted upload of that size is refused by its size, still before the body.
        #expect(try upload([submitter]).status == 413)
        // The same on the case routes.
        let post = try client.raw(Array("POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n".utf8))
        #expect(post.status == 401)
    }

    @Test(arguments: TestBackend.all) func handlesTenThousandRecordsInOneRequest(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let body = (0..<10_000).map { caseJSON("BULK-\($0)") }.joined(separator: "\n")
        #expect(body.utf8.count > 1 << 20)  // larger than the ordinary body limit
        // A longer deadline than the default minute: on PostgreSQL every record is a few round trips
        // to the server, and the suites run in parallel on a shared machine.
        let client = HTTPTestClient(port: service.server.port, timeoutSeconds: 300)
        let response = try client.send("POST", "/v1/imports", json: body, contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 201)
        #expect(response.jsonValue?["created"] == 10_000)
        #expect(try service.cases().count == 10_000)
    }
}

/// The import runs on two threads (records prepared on one, stored by the other): its answers
/// must be those of one careful pass, whatever the order the threads meet in.
@Suite struct PipelinedImportTests {
    func ndjson(_ ids: [String]) -> String { ids.map { caseJSON($0) }.joined(separator: "\n") + "\n" }

    @Test(arguments: TestBackend.all) func aBadRecordAfterThousandsOfGoodOnesStoresNothingAndIsNamed(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        // Thousands of records go to the writer before the bad one is read.
        var lines = (0..<3_000).map { caseJSON("GOOD-\($0)") }
        lines.append(caseJSON("BAD-1", ["sex": "x"]))
        lines += (3_000..<3_500).map { caseJSON("GOOD-\($0)") }
        let client = HTTPTestClient(port: service.server.port, timeoutSeconds: 300)
        let response = try client.send(
            "POST", "/v1/imports", json: lines.joined(separator: "\n"), contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 422)
        #expect(response.header("content-type") == "application/problem+json")
        let records = response.jsonValue?["records"]?.arrayValue ?? []
        #expect(records.map { $0["index"] } == [3_000])
        #expect(records.first?["external_id"] == "BAD-1")
        #expect(records.first?["errors"]?.arrayValue?.first?["path"] == "/sex")
        #expect(try service.cases().isEmpty)
        #expect(try service.application.cases.dataVersion() == 0)
    }

    /// mode=create: on SQLite the INSERT's unique index finds a stored case, then each later record
    /// is looked up; either way every clash is listed and nothing is stored.
    @Test(arguments: TestBackend.all) func everyRecordThatExistsIsListedInCreateMode(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let first = try service.client.send("POST", "/v1/imports", json: ndjson(["E-1", "E-2"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(first.status == 201)
        let version = try service.application.cases.dataVersion()
        let response = try service.client.send(
            "POST", "/v1/imports", json: ndjson(["N-1", "E-1", "N-2", "E-2", "N-1"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(response.status == 422)
        let records = response.jsonValue?["records"]?.arrayValue ?? []
        #expect(records.map { $0["index"] } == [1, 3, 4])
        #expect(records.map { $0["external_id"] } == ["E-1", "E-2", "N-1"])
        #expect(records.allSatisfy { $0["errors"]?.arrayValue?.first?["code"] == "conflict" })
        #expect(records.allSatisfy { $0["errors"]?.arrayValue?.first?["path"] == "/external_id" })
        #expect(try service.cases() == ["HOSP-A/E-1", "HOSP-A/E-2"])
        #expect(try service.application.cases.dataVersion() == version)
        // The same records at another site are new there.
        let elsewhere = try service.client.send(
            "POST", "/v1/imports?site=HOSP-B", json: ndjson(["E-1"]), contentType: "application/x-ndjson",
            headers: [try service.key(site: "HOSP-B", role: .submitter)])
        #expect(elsewhere.status == 201)
    }

    @Test(arguments: TestBackend.all) func anArrayMalformedAfterThousandsOfRecordsStoresNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let body = "[" + (0..<3_000).map { caseJSON("A-\($0)") }.joined(separator: ",") + ",{\"external_id\": ]"
        let client = HTTPTestClient(port: service.server.port, timeoutSeconds: 300)
        let response = try client.send("POST", "/v1/imports", json: body, headers: [auth])
        #expect(response.status == 400)
        #expect(response.header("content-type") == "application/problem+json")
        #expect(try service.cases().isEmpty)
        // The writer is free again: the next import is stored.
        #expect(try client.send("POST", "/v1/imports", json: ndjson(["A-1"]), contentType: "application/x-ndjson", headers: [auth]).status == 201)
        #expect(try service.cases() == ["HOSP-A/A-1"])
    }

    /// A client that leaves halfway through its body: nothing is stored, and nothing waits for the
    /// rest (the next import, on another connection, goes through at once).
    @Test(arguments: TestBackend.all) func aClientLeavingMidBodyStoresNothing(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        let body = Array(ndjson((0..<2_000).map { "L-\($0)" }).utf8)
        let head = "POST /v1/imports HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.count)\r\n"
            + "\(auth.0): \(auth.1)\r\n\r\n"
        let fd = try HTTPTestClient(port: service.server.port).openConnection()
        let partial = Array(head.utf8) + body[0..<(body.count / 2)]
        var written = 0
        while written < partial.count {
            let n = partial[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            written += n
        }
        #expect(written == partial.count)
        close(fd)
        let client = HTTPTestClient(port: service.server.port, timeoutSeconds: 120)
        let next = try client.send("POST", "/v1/imports", json: ndjson(["AFTER-1"]), contentType: "application/x-ndjson", headers: [auth])
        #expect(next.status == 201)
        #expect(try service.cases() == ["HOSP-A/AFTER-1"])
    }
}

@Suite struct ReclassificationTests {
    @Test(arguments: TestBackend.all) func casesOfAnOlderEngineAreRecomputedAndAudited(backend: TestBackend) throws {
        let service = try TestService(backend: backend)
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        _ = try service.client.send("POST", "/v1/cases", json: caseJSON("R-1"), headers: [auth])
        // Pretend an older engine stored it, with a wrong classification.
        try service.database.write { connection in
            try connection.run(
                "UPDATE cases SET engine_version = 'classification-1999.1.1', localization = 'none', classification = '{\"localization\":{\"category\":\"none\"}}'")
        }
        let result = try service.application.cases.reclassifyStale(keyID: "reclassify")
        #expect(result.updated == 1 && result.failed == 0)
        let current = try service.client.get("/v1/cases/R-1", headers: [auth])
        #expect(current.header("etag") == "\"2\"")
        #expect(current.jsonValue?["classification"]?["localization"]?["category"] == "OD")
        let row = try service.database.read { try $0.queryOne("SELECT localization FROM cases") { $0.string(0) } }
        #expect(row == "OD")
        let last = try service.client.get("/v1/cases/R-1/history", headers: [auth]).jsonValue?["entries"]?.arrayValue?.last
        #expect(last?["action"] == "reclassify")
        #expect(last?["changed_paths"]?.arrayValue?.contains("/classification/localization/category") == true)
        #expect(try service.application.cases.reclassifyStale().updated == 0)
    }
}
