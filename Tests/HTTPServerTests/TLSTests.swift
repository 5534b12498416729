import Foundation
import HTTPServer
import Logging
import TestSupport
import Testing

/// Runs a command to completion (killed after 60 s); returns (status, stdout + stderr).
private func run(_ executable: String, _ arguments: [String], stdin: String = "") throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let input = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try? input.fileHandleForWriting.close()
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
    defer { watchdog.cancel() }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A self-signed certificate for 127.0.0.1 made with the openssl CLI.
struct SelfSignedCertificate {
    let directory = TemporaryDirectory()
    var certificate: String { directory.file("cert.pem") }
    var key: String { directory.file("key.pem") }

    init() throws {
        let (status, output) = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory.file("key.pem"),
                "-out", directory.file("cert.pem"),
            ])
        guard status == 0 else { throw TestClientError.malformed("openssl req failed: \(output)") }
    }

    var configuration: TLSConfiguration {
        get throws {
            TLSConfiguration(
                certificatePEM: try String(contentsOfFile: certificate, encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: key, encoding: .utf8))
        }
    }
}

@Suite(.serialized) struct TLSTests {
    func tlsServer(_ tls: TLSConfiguration) throws -> HTTPServer {
        var router = Router()
        router.get("/hello") { _ in .text("hello over tls") }
        return try startTestServer(router) { configuration in
            configuration.threads = 2
            configuration.tls = tls
        }
    }

    @Test func aVerifyingClientConnectsAndGetsStrictTransportSecurity() throws {
        let certificate = try SelfSignedCertificate()
        defer { certificate.directory.remove() }
        let server = try tlsServer(try certificate.configuration)
        defer { server.stop() }
        // curl verifies the chain against the certificate and the name against 127.0.0.1.
        let (status, output) = try run(
            "/usr/bin/curl", ["-sS", "-i", "--max-time", "20", "--cacert", certificate.certificate, "https://127.0.0.1:\(server.port)/hello"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("hello over tls"))
        #expect(output.lowercased().contains("strict-transport-security: max-age=31536000"))
        // Without the certificate as a trust anchor the same client refuses the server.
        let (untrusted, _) = try run("/usr/bin/curl", ["-sS", "--max-time", "20", "https://127.0.0.1:\(server.port)/hello"])
        #expect(untrusted != 0)
    }

    @Test func tls11IsRefusedAndTls12And13Accepted() throws {
        let certificate = try SelfSignedCertificate()
        defer { certificate.directory.remove() }
        let server = try tlsServer(try certificate.configuration)
        defer { server.stop() }
        func handshake(_ priority: String) throws -> (Int32, String) {
            try run(
                "/usr/bin/gnutls-cli",
                ["--x509cafile", certificate.certificate, "--priority", priority, "--port", "\(server.port)", "127.0.0.1"],
                stdin: "")
        }
        let (old, oldOutput) = try handshake("NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0:%VERIFY_ALLOW_SIGN_WITH_SHA1")
        #expect(old != 0, "\(oldOutput)")
        #expect(!oldOutput.contains("Handshake was completed"))
        let (v12, v12Output) = try handshake("NORMAL:-VERS-ALL:+VERS-TLS1.2")
        #expect(v12Output.contains("Handshake was completed"), "\(v12Output)")
        #expect(v12 == 0)
        let (_, v13Output) = try handshake("NORMAL:-VERS-ALL:+VERS-TLS1.3")
        #expect(v13Output.contains("Handshake was completed"), "\(v13Output)")
    }

    @Test func plainHTTPToTheTLSPortFailsCleanly() throws {
        let certificate = try SelfSignedCertificate()
        defer { certificate.directory.remove() }
        let server = try tlsServer(try certificate.configuration)
        defer { server.stop() }
        // The connection is closed (no HTTP answer, no hang: the client's deadline is 10 s).
        let client = HTTPTestClient(port: server.port, timeoutSeconds: 10)
        #expect(throws: TestClientError.self) { try client.get("/hello") }
        // And the server still serves TLS clients.
        let (status, output) = try run(
            "/usr/bin/curl", ["-sS", "--max-time", "20", "--cacert", certificate.certificate, "https://127.0.0.1:\(server.port)/hello"])
        #expect(status == 0, "\(output)")
    }

    @Test func aKeyThatDoesNotMatchTheCertificateFailsTheStartClearly() throws {
        let first = try SelfSignedCertificate()
        let second = try SelfSignedCertificate()
        defer {
            first.directory.remove()
            second.directory.remove()
        }
        var mismatched = try first.configuration
        mismatched.privateKeyPEM = try String(contentsOfFile: second.key, encoding: .utf8)
        #expect(throws: HTTPServerStartError.self) { _ = try tlsServer(mismatched) }
        do {
            _ = try tlsServer(mismatched)
        } catch let error as HTTPServerStartError {
            #expect(error.description.contains("certificate and key were refused"))
        }
        var garbage = try first.configuration
        garbage.certificatePEM = "not a certificate"
        #expect(throws: HTTPServerStartError.self) { _ = try tlsServer(garbage) }
    }
}
