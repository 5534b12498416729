import Foundation
import Storage
import Testing
import TestSupport

/// The databases a suite runs against: SQLite always; PostgreSQL too when `ICMM_TEST_POSTGRES_URL`
/// names a server where the tests may create databases (`make test` and `.ci/run` start a
/// throwaway cluster and set it). Each test gets a database of its own, created and dropped around it.
enum TestBackend: CustomTestStringConvertible, Sendable {
    case sqlite
    /// The server's URL (its database is used only to create and drop the test's own).
    case postgres(String)

    static let environmentVariable = "ICMM_TEST_POSTGRES_URL"

    static var all: [TestBackend] {
        guard let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty else { return [.sqlite] }
        return [.sqlite, .postgres(url)]
    }

    /// PostgreSQL alone (the cross-instance tests); empty without a server.
    static var postgresOnly: [TestBackend] { all.filter { if case .postgres = $0 { true } else { false } } }

    var testDescription: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }

    var migrationsFolder: String { repositoryRoot + "/Migrations/" + dialect.migrationsFolder }

    var dialect: SQLDialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }
}

/// A PostgreSQL database made for one test on the server of `serverURL`, dropped by `drop()`.
final class TemporaryPostgresDatabase: Sendable {
    let serverURL: String
    let name: String
    /// The URL of the new database (the server's URL with its path replaced).
    let url: String

    init(serverURL: String) throws {
        self.serverURL = serverURL
        name = "icmm_test_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        guard var components = URLComponents(string: serverURL) else {
            throw DatabaseError(postgres: "08001", message: "\(TestBackend.environmentVariable) is not a URL")
        }
        components.path = "/" + name
        url = components.string ?? serverURL
        try TemporaryPostgresDatabase.onServer(serverURL) { try $0.execute("CREATE DATABASE \(name)") }
    }

    func drop() {
        try? TemporaryPostgresDatabase.onServer(serverURL) { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    private static func onServer(_ url: String, _ body: (Connection) throws -> Void) throws {
        var configuration = Database.PostgresConfiguration(url: url)
        configuration.poolSize = 1
        let server = try Database(postgres: configuration)
        defer { server.close() }
        try server.read(body)
    }
}

extension TestBackend {
    /// Opens a fresh, empty database of this backend (in `directory` for SQLite); `cleanup` drops it.
    func openDatabase(in directory: TemporaryDirectory, file: String = "icmm.sqlite") throws -> (Database, cleanup: () -> Void) {
        switch self {
        case .sqlite:
            return (try Database(configuration: .init(path: directory.file(file))), {})
        case .postgres(let serverURL):
            let temporary = try TemporaryPostgresDatabase(serverURL: serverURL)
            var configuration = Database.PostgresConfiguration(url: temporary.url)
            configuration.poolSize = 4
            return (try Database(postgres: configuration), { temporary.drop() })
        }
    }
}
