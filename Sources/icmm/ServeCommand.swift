import API
import ArgumentParser
import FHIR
import Foundation
import HTTPServer
import Logging
import Metrics
import Prometheus
import Registry
import Storage

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the registry's HTTP API (creates the database and applies migrations first).",
        discussion: """
            Listens on --host:--port with libmicrohttpd (epoll, one event-loop thread per core by \
            default). SIGTERM or SIGINT stops accepting connections, lets requests in flight finish \
            (up to --drain-seconds), then closes the database cleanly. Operational endpoints need no \
            credentials: /healthz, /readyz, /openapi.yaml; /metrics (Prometheus) needs an admin key \
            unless --public-metrics.
            """)

    @Option(help: ArgumentHelp("IPv4 address to listen on (0.0.0.0 for every interface).", valueName: "address"))
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("TCP port; 0 picks a free one and logs it.", valueName: "port"))
    var port: UInt16 = 8080

    @Option(help: ArgumentHelp("Event-loop threads. Default: the number of cores.", valueName: "n"))
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help: ArgumentHelp(
            "Worker threads for handlers that wait on the disk (case writes, imports); concurrent writes share one synced commit.",
            valueName: "n"))
    var workers: Int = 32

    @Option(help: ArgumentHelp("Largest request body accepted, in bytes; larger ones get 413.", valueName: "bytes"))
    var maxBody: Int = 1 << 20

    @Option(help: ArgumentHelp("Most simultaneous connections.", valueName: "n"))
    var connectionLimit: Int = 1024

    @Option(help: ArgumentHelp("Seconds before an idle connection is closed.", valueName: "seconds"))
    var connectionTimeout: Int = 30

    @Option(help: ArgumentHelp("Most simultaneous connections from one IP address; more are closed at once.", valueName: "n"))
    var connectionsPerAddress: Int = 64

    @Option(help: ArgumentHelp("Seconds a new connection has to send its complete request headers; 0: no deadline.", valueName: "seconds"))
    var headerTimeout: Int = 10

    @Option(help: ArgumentHelp("Requests with more query parameters get 414.", valueName: "n"))
    var maxQueryParameters: Int = 256

    @Option(
        help: ArgumentHelp(
            "Access log, one line per request (method, route pattern, status, duration, request id): stderr, off, or a file to append to.",
            valueName: "stderr|off|path"))
    var accessLog: String = "stderr"

    @Option(help: ArgumentHelp("Access-log line format.", valueName: "text|json"))
    var logFormat: AccessLogConfiguration.Format = .text

    @Option(help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM); needs --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The certificate's private key (PEM, unencrypted); needs --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Seconds a graceful stop waits for requests in flight.", valueName: "seconds"))
    var drainSeconds: Double = 10

    @Option(
        help: ArgumentHelp(
            "Cohort groups smaller than this report only their size (no curve, median or dates); 0 disables suppression.",
            valueName: "n"))
    var minCellSize: Int = 5

    @Option(help: ArgumentHelp("Most memory kept by the cohort response cache, in MB (least recently used out first; 0: no cache).", valueName: "MB"))
    var cohortCacheMb: Int = 64

    @Option(help: ArgumentHelp("Largest body of POST /v1/imports, in bytes.", valueName: "bytes"))
    var maxImportBody: Int = 256 << 20

    @Option(help: ArgumentHelp("The OpenAPI contract served at /openapi.yaml. Default: found like the migrations.", valueName: "path"))
    var openapi: String?

    @Option(
        name: .customLong("rate-limit"),
        help: ArgumentHelp("Requests per key: N/s (or N/m, N/h), refilling a bucket of --burst. Over it: 429.", valueName: "rate"))
    var rateLimit: String = "50/s"

    @Option(help: ArgumentHelp("Requests one key may make at once before --rate-limit applies.", valueName: "n"))
    var burst: Int = 200

    @Option(
        name: .customLong("failed-auth-limit"),
        help: ArgumentHelp(
            "Failed authentications per client address: N/s (or N/m, N/h), refilling a bucket of --failed-auth-burst. Over it: 429.",
            valueName: "rate"))
    var failedAuthLimit: String = "1/s"

    @Option(help: ArgumentHelp("Failed authentications one address may make at once before --failed-auth-limit applies.", valueName: "n"))
    var failedAuthBurst: Int = 100

    @Option(
        name: .customLong("audit-retention"),
        help: ArgumentHelp("Delete read-access audit entries older than this (e.g. 3650d). Default: keep everything.", valueName: "duration"))
    var auditRetention: String?

    @Flag(
        name: .customLong("public-metrics"),
        help: "Serve /metrics without credentials (default: an admin key), for a scraper on a network no site can reach.")
    var publicMetrics = false

    @Option(help: ArgumentHelp("Largest body of POST /v1/fhir, in bytes (larger Bundles get a 413 OperationOutcome).", valueName: "bytes"))
    var maxFhirBody: Int = 16 << 20

    @OptionGroup var fhir: FHIRTerminologyOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256.") }
        guard maxBody >= 1 else { throw ValidationError("--max-body must be at least 1 byte.") }
        guard workers >= 1 && workers <= 1024 else { throw ValidationError("--workers must be between 1 and 1024.") }
        guard connectionLimit >= 1 else { throw ValidationError("--connection-limit must be at least 1.") }
        guard connectionTimeout >= 1 else { throw ValidationError("--connection-timeout must be at least 1 second.") }
        guard connectionsPerAddress >= 1 else { throw ValidationError("--connections-per-address must be at least 1.") }
        guard headerTimeout >= 0 else { throw ValidationError("--header-timeout must not be negative.") }
        guard maxQueryParameters >= 1 else { throw ValidationError("--max-query-parameters must be at least 1.") }
        guard !accessLog.isEmpty else { throw ValidationError("--access-log: give stderr, off or a file path.") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together.") }
        guard drainSeconds >= 0 else { throw ValidationError("--drain-seconds must not be negative.") }
        guard minCellSize >= 0 else { throw ValidationError("--min-cell-size must not be negative.") }
        guard RateLimit.parseRate(rateLimit) != nil else { throw ValidationError("--rate-limit must be N/s, N/m or N/h (e.g. 50/s).") }
        guard burst >= 1 else { throw ValidationError("--burst must be at least 1.") }
        guard RateLimit.parseRate(failedAuthLimit) != nil else {
            throw ValidationError("--failed-auth-limit must be N/s, N/m or N/h (e.g. 1/s).")
        }
        guard failedAuthBurst >= 1 else { throw ValidationError("--failed-auth-burst must be at least 1.") }
        if let auditRetention, Duration.parse(auditRetention) == nil {
            throw ValidationError("--audit-retention must be a positive whole number followed by d, h, m or s (e.g. 3650d).")
        }
    }

    func run() throws {
        Allocator.configureAllocator()  // before any thread allocates: bounded arenas (see Allocator)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logging.logLevel) ?? .info
            return handler
        }
        let logger = logging.makeLogger(label: "icmm")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(Application.metricsFactory(registry: registry))

        // Block the stop signals before any server thread exists: threads inherit the mask,
        // so only sigwait below receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let db: Database
        let runner: MigrationRunner
        do {
            (db, runner) = try openMigratedDatabase(database, logger: logger)
        } catch let error as MigrationError {
            printError("icmm serve: \(error)")
            throw ExitCode(2)
        }
        // Cases classified by an older engine are brought up to date before serving.
        let reclassified = try CaseStore(database: db).reclassifyStale(keyID: "reclassify")
        if reclassified.updated + reclassified.failed > 0 {
            logger.notice(
                "reclassified cases", metadata: ["updated": "\(reclassified.updated)", "failed": "\(reclassified.failed)"])
        }
        let openapiPath = Resources.locate("openapi.yaml", explicit: openapi, environment: "ICMM_OPENAPI")
        guard let document = try? String(contentsOfFile: openapiPath, encoding: .utf8) else {
            printError("icmm serve: cannot read the OpenAPI document at \(openapiPath) (use --openapi).")
            throw ExitCode(2)
        }

        let terminology: Terminology
        do {
            terminology = try fhir.load()
        } catch {
            printError("icmm serve: \(error)")
            throw ExitCode(2)
        }
        var rateLimits = RateLimitConfiguration()
        rateLimits.perKey = RateLimit(rate: RateLimit.parseRate(rateLimit) ?? 50, burst: Double(burst))
        rateLimits.failedAuthPerAddress = RateLimit(
            rate: RateLimit.parseRate(failedAuthLimit) ?? 1, burst: Double(failedAuthBurst))
        let application = Application(
            database: db, migrations: runner, metrics: registry, openAPIDocument: document, logger: logger,
            maxImportBytes: maxImportBody, minCellSize: minCellSize, cohortCacheBytes: max(0, cohortCacheMb) << 20,
            fhirTerminology: terminology, maxFHIRBytes: maxFhirBody, rateLimits: rateLimits,
            auditRetention: auditRetention.flatMap(Duration.parse), publicMetrics: publicMetrics)
        var configuration = HTTPServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.threads = threads
        configuration.maxBodyBytes = maxBody
        configuration.connectionLimit = connectionLimit
        configuration.connectionTimeoutSeconds = connectionTimeout
        configuration.drainTimeoutSeconds = drainSeconds
        configuration.blockingWorkers = workers
        configuration.connectionsPerAddress = connectionsPerAddress
        configuration.headerDeadlineSeconds = headerTimeout
        configuration.maxQueryParameters = maxQueryParameters
        configuration.accessLog.format = logFormat
        if let tlsCert, let tlsKey {
            func readPEM(_ path: String, _ option: String) throws -> String {
                do {
                    return try String(contentsOfFile: path, encoding: .utf8)
                } catch {
                    printError("icmm serve: cannot read \(option) \(path): \((error as NSError).localizedDescription)")
                    db.close()
                    throw ExitCode(2)
                }
            }
            configuration.tls = TLSConfiguration(certificatePEM: try readPEM(tlsCert, "--tls-cert"), privateKeyPEM: try readPEM(tlsKey, "--tls-key"))
        }
        switch accessLog {
        case "off": configuration.accessLog.destination = .off
        case "stderr": configuration.accessLog.destination = .standardError
        default: configuration.accessLog.destination = .file(accessLog)
        }
        let server = HTTPServer(configuration: configuration, router: application.makeRouter(), logger: logger)
        application.observe(server)
        do {
            try server.start()
        } catch {
            printError("icmm serve: \(error)")
            db.close()
            throw ExitCode(1)
        }

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        let outcome = server.stop()
        guard outcome.handlersStillRunning == 0 else {
            // A handler outlived the drain: closing the database under it could corrupt nothing
            // (SQLite rolls back an unfinished transaction at the next open) but could crash it.
            logger.warning("exiting without closing the database: handlers still running", metadata: ["handlers": "\(outcome.handlersStillRunning)"])
            return
        }
        application.shutdown()
        db.close()
        logger.info("database closed")
    }
}

extension AccessLogConfiguration.Format: ExpressibleByArgument {}
