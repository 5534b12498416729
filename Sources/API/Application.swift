import FHIR
import Foundation
import HTTPServer
import Logging
import Metrics
import Prometheus
import Registry
import Storage
import Synchronization

/// Everything the routes need: the database, the migrations, the metrics registry, the contract.
public final class Application: Sendable {
    public let database: Database
    public let migrations: MigrationRunner
    public let metrics: PrometheusCollectorRegistry
    /// The OpenAPI document served at `/openapi.yaml`.
    public let openAPIDocument: String
    public let logger: Logger
    public let keys: KeyStore
    public let cases: CaseStore
    /// Largest body of `POST /v1/imports` (the other routes use the server's limit).
    public let maxImportBytes: Int
    /// Cohort groups smaller than this report only their size (0: no suppression), so that a curve
    /// cannot reveal one patient's dates (DOMAIN.md section 8).
    public let minCellSize: Int
    /// The FHIR terminology table (`fhir-terminology.tsv`); nil: the FHIR routes answer 503.
    public let fhirTerminology: Terminology?
    /// Largest body of `POST /v1/fhir` (a larger Bundle gets a 413 OperationOutcome).
    public let maxFHIRBytes: Int
    /// Computed cohort responses, bounded by bytes (`icmm serve --cohort-cache-mb`).
    let cohortCache: CohortCache
    /// Reads of patient-level data, written in batches (issue #12, "Read-access audit").
    public let accessLog: AccessLog
    /// Opaque cursors and scoped entity tags (issue #12, "No metadata across sites").
    public let tokens: OpaqueTokens
    let limiters: RateLimiters
    /// `/metrics` without credentials (`serve --public-metrics`), for a scraper on a closed network.
    public let publicMetrics: Bool
    /// The running server, for the figures `/metrics` reads from it (set once it has started).
    /// Weak: the server holds the routes, which hold this application.
    private let server = Mutex<WeakServer>(WeakServer())
    struct WeakServer { weak var server: HTTPServer? }

    public init(
        database: Database, migrations: MigrationRunner, metrics: PrometheusCollectorRegistry, openAPIDocument: String,
        logger: Logger, maxImportBytes: Int = 256 << 20, minCellSize: Int = 5, now: @escaping @Sendable () -> Date = { Date() },
        cohortCacheBytes: Int = 64 << 20, fhirTerminology: Terminology? = nil, maxFHIRBytes: Int = 16 << 20,
        rateLimits: RateLimitConfiguration = RateLimitConfiguration(), auditRetention: Duration? = nil,
        publicMetrics: Bool = false
    ) {
        self.cohortCache = CohortCache(maxBytes: cohortCacheBytes, metrics: metrics)
        self.fhirTerminology = fhirTerminology
        self.maxFHIRBytes = maxFHIRBytes
        self.publicMetrics = publicMetrics
        self.accessLog = AccessLog(database: database, retention: auditRetention, now: now)
        self.tokens = OpaqueTokens(database: database)
        self.limiters = RateLimiters(rateLimits, metrics: metrics)
        accessLog.startFlushing()
        self.minCellSize = minCellSize
        self.keys = KeyStore(database: database, now: now)
        self.cases = CaseStore(database: database, now: now)
        self.maxImportBytes = maxImportBytes
        self.database = database
        self.migrations = migrations
        self.metrics = metrics
        self.openAPIDocument = openAPIDocument
        self.logger = logger
    }

    deinit { accessLog.stop() }

    /// Writes what is buffered (the read-access trail, keys' last use): call after the server stopped.
    public func shutdown() {
        accessLog.stop()
        keys.flushUsage()
    }

    /// Lets `/metrics` report the open connections and the latest request metrics of `server`.
    public func observe(_ server: HTTPServer) {
        self.server.withLock { $0.server = server }
    }

    var runningServer: HTTPServer? { server.withLock { $0.server } }

    /// The router with every route of the service.
    public func makeRouter() -> Router {
        let logger = self.logger
        // FHIR routes answer every error, the admission check's too, as an OperationOutcome.
        var router = Router(errorMapper: { [self] error, request in
            Application.isFHIRPath(request.path)
                ? fhirErrorResponse(error, request: request) : mapError(error, request: request, logger: logger)
        })
        addOperationalRoutes(to: &router)
        addClassifyRoute(to: &router)
        addCaseRoutes(to: &router)
        addImportRoute(to: &router)
        addFHIRRoutes(to: &router)
        addCohortRoutes(to: &router)
        addDashboardRoute(to: &router)
        addAuditRoute(to: &router)
        return router
    }
}

extension Application {
    /// The swift-metrics backend for `registry`; bootstrap swift-metrics with it once per process.
    /// (The HTTP layer's duration histogram is its own: `HTTPServer.requestDurations`.)
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        PrometheusMetricsFactory(registry: registry)
    }
}
