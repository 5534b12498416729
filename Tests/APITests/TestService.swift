import API
import Foundation
import HTTPServer
import Logging
import Metrics
import Prometheus
import Storage
import TestSupport

/// The repository root, found from this file's path (tests read Migrations/ and openapi.yaml).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL.path

/// One metrics registry for the test process: swift-metrics can be bootstrapped only once.
let sharedMetrics: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

/// A migrated database in a temporary folder and the service over a real socket on a free port.
final class TestService {
    let directory = TemporaryDirectory()
    let database: Database
    let application: Application
    let server: HTTPServer
    var client: HTTPTestClient { HTTPTestClient(port: server.port) }

    init(maxBody: Int = 1 << 20, migrations: MigrationRunner? = nil, migrate: Bool = true) throws {
        database = try Database(configuration: .init(path: directory.file("icmm.sqlite")))
        let runner = try migrations ?? MigrationRunner(directory: repositoryRoot + "/Migrations")
        if migrate { try runner.migrate(database) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let document = try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8)
        application = Application(
            database: database, migrations: runner, metrics: sharedMetrics, openAPIDocument: document, logger: logger)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.maxBodyBytes = maxBody
        server = HTTPServer(configuration: configuration, responder: application.makeRouter(), logger: logger)
        try server.start()
        application.observeConnections { [server] in server.currentConnections }
    }

    deinit {
        server.stop()
        database.close()
        directory.remove()
    }
}
