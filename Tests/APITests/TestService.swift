import API
import FHIR
import Foundation
import HTTPServer
import Logging
import Metrics
import JSON
import Prometheus
import Registry
import Storage
import TestSupport

/// The repository root, found from this file's path (tests read Migrations/ and openapi.yaml).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL.path

/// One metrics registry for the test process: swift-metrics can be bootstrapped only once.
let sharedMetrics: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(Application.metricsFactory(registry: registry))
    return registry
}()

/// A migrated database in a temporary folder and the service over a real socket on a free port.
final class TestService {
    let directory = TemporaryDirectory()
    let database: Database
    let application: Application
    let server: HTTPServer
    let backend: TestBackend
    /// Drops the test's database (PostgreSQL; nothing for SQLite). Also run at the end.
    let dropDatabase: () -> Void
    var client: HTTPTestClient { HTTPTestClient(port: server.port) }

    init(
        maxBody: Int = 1 << 20, maxImportBytes: Int = 64 << 20, minCellSize: Int = 5, migrations: MigrationRunner? = nil,
        migrate: Bool = true, cohortCacheBytes: Int = 64 << 20, maxFHIRBytes: Int = 16 << 20,
        rateLimits: RateLimitConfiguration = RateLimitConfiguration(), backend: TestBackend = .sqlite
    ) throws {
        self.backend = backend
        (database, dropDatabase) = try backend.openDatabase(in: directory)
        let runner = try migrations ?? MigrationRunner(directory: backend.migrationsFolder)
        if migrate { try runner.migrate(database) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let document = try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8)
        application = Application(
            database: database, migrations: runner, metrics: sharedMetrics, openAPIDocument: document, logger: logger,
            maxImportBytes: maxImportBytes, minCellSize: minCellSize, now: { testNow },
            cohortCacheBytes: cohortCacheBytes,
            fhirTerminology: try Terminology(tsv: String(contentsOfFile: repositoryRoot + "/fhir-terminology.tsv", encoding: .utf8)),
            maxFHIRBytes: maxFHIRBytes, rateLimits: rateLimits)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.maxBodyBytes = maxBody
        configuration.accessLog.destination = .off
        server = HTTPServer(configuration: configuration, router: application.makeRouter(), logger: logger)
        try server.start()
        application.observe(server)
    }

    /// A new API key; returns the bearer header to send.
    func key(site: String, role: Role) throws -> (String, String) {
        let created = try application.keys.create(site: site, role: role)
        return ("Authorization", "Bearer " + created.key)
    }

    /// Loads the synthetic demo cohort (50 cases: 38 OD, 12 CNS) into site DEMO.
    func loadDemo() throws {
        _ = try application.cases.importCases(
            DemoCohort.cases().map(ImportRecord.json), site: DemoCohort.site, mode: .create, dryRun: false, keyID: "test")
    }

    deinit {
        server.stop()
        database.close()
        dropDatabase()
        directory.remove()
    }
}

/// The tests' "today": fixed, so that date validation does not drift with the calendar.
let testNow = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18

/// A valid case in the data-dictionary format, as JSON text, with optional top-level overrides.
func caseJSON(_ externalID: String, _ overrides: [String: JSONValue] = [:]) -> String {
    var members: JSONObject = [
        "external_id": .string(externalID),
        "sex": "female",
        "birth_year": 1955,
        "mm_diagnosis_date": "2021-05-10",
        "intracranial": [
            "diagnosis_date": "2023-02-01",
            "prior_lines": 1,
            "imaging": ["modalities": ["mri"], "findings": ["skull_vault_lesion", "dural_involvement"]],
            "csf": ["cytology": "negative", "flow_cytometry": "negative"],
        ],
        "therapy": ["agents": ["bortezomib", "dexamethasone"], "radiotherapy": true, "asct": false],
        "response": ["reported": "VGPR"],
        "outcome": ["last_followup_date": "2024-06-30"],
    ]
    for (key, value) in overrides { members[key] = value }
    return JSONValue.object(members).serializedString()
}

extension TestResponse {
    var jsonValue: JSONValue? { try? JSONValue.parse(Data(body)) }
}
