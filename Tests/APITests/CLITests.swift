import Foundation
import JSON
import Storage
import Synchronization
import TestSupport
import Testing

/// The `icmm` executable built next to this test bundle.
let icmmExecutable: String = {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [directory, directory.deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("icmm").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/icmm")
        .standardizedFileURL.path
}()

/// Runs icmm to completion; returns (exit status, stdout, stderr).
func runICMM(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: icmmExecutable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // A deadline for a command that hangs: killed, so the reads below end and the test fails.
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
    defer { watchdog.cancel() }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
}

/// `icmm serve` in a child process on a free port.
final class ServerProcess {
    let process = Process()
    let port: UInt16
    private let errorPipe = Pipe()

    init(database: String, arguments extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: icmmExecutable)
        process.arguments = ["serve", "--port", "0", "--db", database, "--threads", "2"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The server logs `listening ... port=N` once the socket is open.
        var log = ""
        let deadline = Date().addingTimeInterval(20)
        let fd = errorPipe.fileHandleForReading.fileDescriptor
        while Date() < deadline {
            // availableData would block without end if the server printed nothing: poll first.
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            log += String(decoding: errorPipe.fileHandleForReading.availableData, as: UTF8.self)
            if let range = log.range(of: #"port=(\d+)"#, options: .regularExpression) {
                port = UInt16(log[range].dropFirst(5))!
                return
            }
        }
        process.terminate()
        throw TestClientError.malformed("server did not start: \(log)")
    }

    var client: HTTPTestClient { HTTPTestClient(port: port) }

    /// Sends `signal` and waits (at most `timeout`) for the process to exit; its exit status, or
    /// nil when it had to be killed because it did not exit in time.
    @discardableResult
    func signal(_ signal: Int32, timeout: Duration = .seconds(60)) -> Int32? {
        kill(process.processIdentifier, signal)
        do {
            try waitUntil("icmm serve to exit", timeout: timeout) { !process.isRunning }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// What the server wrote to stderr since it started listening (its logs and access log).
    func readLog() -> String {
        let fd = errorPipe.fileHandleForReading.fileDescriptor
        var log = ""
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 100) > 0 {
            let data = errorPipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        return log
    }
}

@Suite(.serialized) struct CLITests {
    @Test func keysAreCreatedShownOnceListedWithoutSecretsAndRevoked() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let (status, output, _) = try runICMM(["keys", "create", "--site", "HOSP-A", "--role", "analyst", "--db", db])
        #expect(status == 0)
        let created = try JSONValue.parse(output)
        let key = try #require(created["key"]?.stringValue)
        let id = try #require(created["id"]?.stringValue)
        #expect(created["site"] == "HOSP-A" && created["role"] == "analyst")
        let (_, listed, _) = try runICMM(["keys", "list", "--db", db])
        #expect(listed.contains(id) && !listed.contains(key) && !listed.contains("icmm_"))
        #expect(try runICMM(["keys", "revoke", id, "--db", db]).0 == 0)
        let after = try JSONValue.parse(try runICMM(["keys", "list", "--db", db]).1)
        #expect(after.arrayValue?.first?["revoked_at"]?.stringValue != nil)
        #expect(try runICMM(["keys", "revoke", "key_nope", "--db", db]).0 != 0)
        let refused = try runICMM(["keys", "create", "--site", "HOSP-A", "--role", "owner", "--db", db])
        #expect(refused.0 != 0 && refused.2.contains("--role"))
    }

    @Test func importIsAllOrNothingFromTheCommandLine() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let bad = tmp.file("bad.ndjson")
        try (caseJSON("C-1") + "\n" + caseJSON("C-2", ["sex": "x"]) + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try runICMM(["import", "--site", "HOSP-A", "--db", db, bad])
        #expect(refused.0 == 1)
        #expect((try JSONValue.parse(refused.1))["records"]?.arrayValue?.first?["index"] == 1)
        let good = tmp.file("good.json")
        try ("[" + caseJSON("C-1") + "," + caseJSON("C-2") + "]").write(toFile: good, atomically: true, encoding: .utf8)
        let accepted = try runICMM(["import", "--site", "HOSP-A", "--db", db, good])
        #expect(accepted.0 == 0)
        #expect((try JSONValue.parse(accepted.1))["created"] == 2)
    }

    @Test func anAcknowledgedCaseSurvivesAKilledProcess() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let key = try #require(try JSONValue.parse(try runICMM(["keys", "create", "--site", "S", "--role", "submitter", "--db", db]).1)["key"]?.stringValue)
        let server = try ServerProcess(database: db)
        let response = try server.client.send("POST", "/v1/cases", json: caseJSON("DURABLE-1"), headers: [("Authorization", "Bearer \(key)")])
        #expect(response.status == 201)
        _ = server.signal(SIGKILL)  // no chance to checkpoint or close
        let database = try Database(configuration: .init(path: db))
        defer { database.close() }
        let stored = try database.read { try $0.query("SELECT external_id FROM cases") { $0.string(0) } }
        #expect(stored == ["DURABLE-1"])
    }

    /// `icmm backup` in its own process while `icmm serve` takes POST /v1/cases from another
    /// thread: the copy passes integrity_check and holds every case acknowledged before it began.
    @Test func anOnlineBackupUnderWriteLoadHoldsEveryAcknowledgedCase() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let key = try #require(try JSONValue.parse(try runICMM(["keys", "create", "--site", "S", "--role", "submitter", "--db", db]).1)["key"]?.stringValue)
        let server = try ServerProcess(database: db)
        defer { _ = server.signal(SIGTERM) }
        let acknowledged = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let writerDone = Atomic<Bool>(false)
        let client = server.client
        let writer = Thread {
            defer { writerDone.store(true, ordering: .sequentiallyConsistent) }
            var n = 0
            while !stop.load(ordering: .sequentiallyConsistent) {
                n += 1
                let id = "BK-\(n)"
                guard let response = try? client.send("POST", "/v1/cases", json: caseJSON(id), headers: [("Authorization", "Bearer \(key)")]),
                    response.status == 201
                else { return }
                acknowledged.withLock { $0.append(id) }
            }
        }
        writer.start()
        func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() {
                if Date() > deadline { return false }
                usleep(2_000)
            }
            return true
        }
        defer {
            stop.store(true, ordering: .sequentiallyConsistent)
            _ = wait(seconds: 30) { writerDone.load(ordering: .sequentiallyConsistent) }
        }
        #expect(wait(seconds: 30) { acknowledged.withLock { $0.count } >= 20 }, "the writer made no progress")
        let before = acknowledged.withLock { $0 }
        let (status, output, errors) = try runICMM(["backup", "--db", db, "--to", tmp.file("backups/copy.sqlite")])
        stop.store(true, ordering: .sequentiallyConsistent)
        #expect(wait(seconds: 30) { writerDone.load(ordering: .sequentiallyConsistent) }, "the writer did not stop")
        #expect(status == 0, "\(errors)")
        #expect((try JSONValue.parse(output))["pages"]?.integerValue ?? 0 > 0)

        let copy = try Connection(path: tmp.file("backups/copy.sqlite"), readOnly: true)
        #expect(try copy.query("PRAGMA integrity_check") { $0.string(0) } == ["ok"])
        let stored = Set(try copy.query("SELECT external_id FROM cases") { $0.string(0) })
        #expect(before.filter { !stored.contains($0) }.isEmpty, "acknowledged cases missing from the backup")
        // The copy is a consistent snapshot: the data version counts exactly the cases in it.
        #expect(try copy.queryOne("SELECT CAST(value AS INTEGER) FROM registry_meta WHERE key = 'data_version'") { $0.int(0) } == stored.count)
        // The restored copy serves: its migrations are current.
        #expect(try runICMM(["migrate", "--db", tmp.file("backups/copy.sqlite")]).0 == 0)
    }

    @Test func backupRefusesAMissingDatabaseAndItself() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let missing = try runICMM(["backup", "--db", tmp.file("none.sqlite"), "--to", tmp.file("copy.sqlite")])
        #expect(missing.0 == 1 && missing.2.contains("No database"))
        #expect(try runICMM(["migrate", "--db", tmp.file("db.sqlite")]).0 == 0)
        let itself = try runICMM(["backup", "--db", tmp.file("db.sqlite"), "--to", tmp.file("db.sqlite")])
        #expect(itself.0 == 1 && itself.2.contains("must not be the database itself"))
    }

    @Test func sigtermStopsCleanlyAndClosesTheDatabase() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let server = try ServerProcess(database: db)
        #expect(try server.client.get("/readyz").status == 200)
        #expect(server.signal(SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
    }

    /// Sends `bytes` on a new connection and returns the open descriptor (the response is read later).
    func sendRequest(_ bytes: [UInt8], port: UInt16) throws -> Int32 {
        let fd = try HTTPTestClient(port: port).openConnection()
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            written += n
        }
        return fd
    }

    /// Reads until the server closes the connection, for at most `timeout`.
    func readResponse(_ fd: Int32, timeout: Duration = .seconds(120)) throws -> TestResponse {
        defer { close(fd) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return try TestResponse.parse(received) }
            received += buffer[0..<n]
        }
        throw WaitTimedOut(what: "the server's response")
    }

    /// SIGTERM while an import is being handled: the import commits, its client gets the 201, and
    /// only then does the process exit (cleanly, database closed).
    @Test func anImportCommittedDuringTheDrainIsAnsweredBeforeExit() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let key = try #require(
            try JSONValue.parse(try runICMM(["keys", "create", "--site", "S", "--role", "submitter", "--db", db]).1)["key"]?.stringValue)
        let server = try ServerProcess(database: db, arguments: ["--drain-seconds", "120"])
        let body = Array((0..<3_000).map { caseJSON("DRAIN-\($0)") }.joined(separator: "\n").utf8)
        let head = "POST /v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let fd = try sendRequest(Array(head.utf8) + body, port: server.port)
        // The whole body is on its way; the server reads it, then imports for a few seconds.
        usleep(300_000)
        kill(server.process.processIdentifier, SIGTERM)
        let response = try readResponse(fd)
        #expect(response.status == 201)
        #expect(response.jsonValue?["created"] == 3_000)
        #expect(server.signal(SIGTERM) == 0)  // already exiting: waits for the exit
        let log = server.readLog()
        #expect(log.contains("POST /v1/imports 201"))
        let database = try Database(configuration: .init(path: db))
        defer { database.close() }
        #expect(try database.read { try $0.query("SELECT count(*) FROM cases") { $0.int(0) } } == [3_000])
    }

    /// --drain-seconds bounds the wait: an import far longer than the drain does not keep the
    /// process alive, and the database holds all of it or none of it.
    @Test func theDrainTimeoutBoundsTheWaitForAnImport() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let key = try #require(
            try JSONValue.parse(try runICMM(["keys", "create", "--site", "S", "--role", "submitter", "--db", db]).1)["key"]?.stringValue)
        let server = try ServerProcess(database: db, arguments: ["--drain-seconds", "1", "--max-import-body", "\(64 << 20)"])
        let body = Array((0..<40_000).map { caseJSON("LONG-\($0)") }.joined(separator: "\n").utf8)
        let head = "POST /v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let fd = try sendRequest(Array(head.utf8) + body, port: server.port)
        defer { close(fd) }
        usleep(300_000)
        // A deadline, not a performance bound: the import alone takes far longer than this.
        #expect(server.signal(SIGTERM, timeout: .seconds(20)) != nil)
        let database = try Database(configuration: .init(path: db))
        defer { database.close() }
        let stored = try database.read { try $0.query("SELECT count(*) FROM cases") { $0.int(0) } }
        #expect(stored == [0] || stored == [40_000])
    }

    /// Missing, unreadable or mismatched TLS files: a clear message and a non-zero exit at start.
    @Test func serveRefusesBadFailedAuthLimitsClearly() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let rate = try runICMM(["serve", "--port", "0", "--db", db, "--failed-auth-limit", "often"])
        #expect(rate.0 != 0)
        #expect(rate.2.contains("--failed-auth-limit must be N/s"))
        let burst = try runICMM(["serve", "--port", "0", "--db", db, "--failed-auth-burst", "0"])
        #expect(burst.0 != 0)
        #expect(burst.2.contains("--failed-auth-burst must be at least 1"))
    }

    @Test func serveRefusesBadTLSFilesClearly() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        func makeCertificate(_ name: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                "/CN=127.0.0.1", "-keyout", tmp.file("\(name).key"), "-out", tmp.file("\(name).crt"),
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        }
        try makeCertificate("a")
        try makeCertificate("b")
        let db = tmp.file("db.sqlite")
        let missing = try runICMM(["serve", "--port", "0", "--db", db, "--tls-cert", tmp.file("none.crt"), "--tls-key", tmp.file("a.key")])
        #expect(missing.0 != 0)
        #expect(missing.2.contains("cannot read --tls-cert"))
        chmod(tmp.file("b.key"), 0)
        if getuid() != 0 {  // root reads a mode-0 file all the same
            let unreadable = try runICMM(["serve", "--port", "0", "--db", db, "--tls-cert", tmp.file("b.crt"), "--tls-key", tmp.file("b.key")])
            #expect(unreadable.0 != 0)
            #expect(unreadable.2.contains("cannot read --tls-key"))
        }
        chmod(tmp.file("b.key"), 0o600)
        let mismatched = try runICMM(["serve", "--port", "0", "--db", db, "--tls-cert", tmp.file("a.crt"), "--tls-key", tmp.file("b.key")])
        #expect(mismatched.0 != 0)
        #expect(mismatched.2.contains("certificate and key were refused"))
        let alone = try runICMM(["serve", "--port", "0", "--db", db, "--tls-cert", tmp.file("a.crt")])
        #expect(alone.0 != 0)
        #expect(alone.2.contains("--tls-cert and --tls-key go together"))
    }

    @Test func serveRefusesAnEditedMigration() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let migrations = tmp.file("migrations")
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        try "CREATE TABLE a (x);".write(toFile: migrations + "/0001_a.sql", atomically: true, encoding: .utf8)
        #expect(try runICMM(["migrate", "--db", tmp.file("db.sqlite"), "--migrations", migrations]).0 == 0)
        try "CREATE TABLE a (x, y);".write(toFile: migrations + "/0001_a.sql", atomically: true, encoding: .utf8)
        let refused = try runICMM(["serve", "--port", "0", "--db", tmp.file("db.sqlite"), "--migrations", migrations])
        #expect(refused.0 == 2)
        #expect(refused.2.contains("edited after it was applied"))
    }
}

@Suite struct AnalyzeCommandTests {
    /// `icmm analyze` on R's lung data (Tests/SurvivalTests/Fixtures, written by make_fixtures.R):
    /// the printed JSON agrees with R's survdiff, survfit medians and coxph.
    @Test func analyzePrintsWhatRComputesForLung() throws {
        let fixtures = repositoryRoot + "/Tests/SurvivalTests/Fixtures/"
        let (status, output, errors) = try runICMM([
            "analyze", "--csv", fixtures + "lung_sex.csv", "--time", "time", "--event", "status", "--group", "sex",
            "--cox", "age,ph_ecog", "--cox-factor", "sex",
        ])
        #expect(status == 0, "\(errors)")
        let report = try JSONValue.parse(output)
        let expected = try JSONValue.parse(try String(contentsOfFile: fixtures + "lung_sex_log_0.95.json", encoding: .utf8))
        func close(_ a: JSONValue?, _ b: JSONValue?, _ tolerance: Double) -> Bool {
            guard let x = a?.numberValue, let y = b?.numberValue else { return false }
            return abs(x - y) <= tolerance * max(abs(y), 1e-12)
        }
        #expect(close(report["logrank"]?["chisq"], expected["logrank"]?["chisq"], 1e-9))
        #expect(close(report["logrank"]?["p_value"], expected["logrank"]?["p_value"], 1e-9))
        #expect(report["groups"]?.arrayValue?.map { $0["median"] } == expected["groups"]?.arrayValue?.map { $0["median"] })
        let terms = report["cox"]?["terms"]?.arrayValue ?? []
        let expectedTerms = expected["cox"]?["terms"]?.arrayValue ?? []
        #expect(terms.count == expectedTerms.count && !terms.isEmpty)
        for (term, reference) in zip(terms, expectedTerms) {
            #expect(term["term"] == reference["term"])
            #expect(close(term["coef"], reference["coef"], 1e-6))
        }
    }

    @Test func analyzeNamesAMissingColumnAndFailsWithoutOutput() throws {
        let (status, output, errors) = try runICMM([
            "analyze", "--csv", repositoryRoot + "/Tests/SurvivalTests/Fixtures/aml.csv", "--time", "weeks", "--event", "status",
        ])
        #expect(status != 0)
        #expect(output.isEmpty)
        #expect(errors.contains("weeks"))
    }
}
