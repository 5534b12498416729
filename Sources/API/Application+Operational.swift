import Foundation
import HTTPServer
import Prometheus
import Storage
import Synchronization

extension Application {
    /// `/healthz`, `/readyz`, `/openapi.yaml`: no credentials needed, no rate limit.
    /// `/metrics` needs an admin key unless the server was started with `--public-metrics`: its
    /// request counters and database size count the writes of every site, which a site's key must
    /// not learn (issue #12, "No metadata across sites"; SECURITY.md).
    func addOperationalRoutes(to router: inout Router) {
        // Both arrays are literals, which the optimizer makes static objects that are never
        // reference counted: answering on two event loops at once writes to no shared cache line
        // (a heap array's count would be incremented and decremented by both cores on every
        // request; issue 11). Made in the handler rather than captured: a captured response is
        // copied out of the closure's context through generic code (about 150 instructions).
        router.get("/healthz") { _ in
            HTTPResponse(
                status: 200, headers: HTTPHeaders(sharing: [(name: "Content-Type", value: "application/json")]),
                body: [0x7B, 0x22, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x22, 0x3A, 0x22, 0x6F, 0x6B, 0x22, 0x7D])  // {"status":"ok"}
        }

        router.get("/readyz") { [self] _ in
            guard database.ping() else {
                return ProblemDetails(
                    status: 503, title: "Not ready", detail: "The database does not answer.", type: ProblemType.notReady
                ).response
            }
            guard migrations.isCurrent(database) else {
                return ProblemDetails(
                    status: 503, title: "Not ready", detail: "Database migrations are pending or do not match this build.",
                    type: ProblemType.notReady
                ).response
            }
            return .json(["status": "ready", "migrations": "current"] as [String: String])
        }

        let connectionsGauge = metrics.makeGauge(name: "http_open_connections", help: "Open HTTP connections.")
        let databaseSizeGauge = metrics.makeGauge(name: "database_size_bytes", help: "Size of the database (SQLite: pages in use).")
        let pool = database.poolStatistics.map { _ in DatabasePoolMetrics(metrics) }
        let sqliteMemory = database.dialect == .sqlite ? SQLiteMemoryMetrics(metrics) : nil
        let heapInUse = metrics.makeGauge(name: "process_heap_in_use_bytes", help: "Bytes allocated and not freed (malloc).")
        let heapFree = metrics.makeGauge(
            name: "process_heap_free_bytes", help: "Bytes freed but kept by the allocator, not returned to the system.")
        router.get("/metrics") { [self] request in
            if !publicMetrics { _ = try authorize(request, roles: [.admin]) }
            let server = runningServer
            server?.flushRequestMetrics()
            connectionsGauge.set(Double(server?.currentConnections ?? 0))
            if let size = try? database.sizeInBytes() { databaseSizeGauge.set(Double(size)) }
            if let pool, let statistics = database.poolStatistics { pool.update(statistics) }
            sqliteMemory?.update(SQLiteMemoryStatistics.current())
            let heap = Allocator.statistics()
            heapInUse.set(Double(heap.inUseBytes))
            heapFree.set(Double(heap.freeBytes))
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            server?.requestDurations.render(into: &buffer)
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: buffer)
        }

        let document = HTTPResponse(status: 200, contentType: "application/yaml", body: Array(openAPIDocument.utf8))
        router.get("/openapi.yaml") { _ in document }
    }
}

/// The PostgreSQL connection pool on `/metrics`: connections idle and in use, the pool's size, and
/// how often a request found every connection busy and waited (a pool too small for the load).
final class DatabasePoolMetrics: Sendable {
    let idle: Gauge
    let inUse: Gauge
    let size: Gauge
    let waits: Counter
    private let countedWaits = Mutex<Int>(0)

    init(_ metrics: PrometheusCollectorRegistry) {
        let help = "PostgreSQL pool connections by state."
        idle = metrics.makeGauge(name: "database_pool_connections", labels: [("state", "idle")], help: help)
        inUse = metrics.makeGauge(name: "database_pool_connections", labels: [("state", "in_use")], help: help)
        size = metrics.makeGauge(name: "database_pool_size", help: "Most connections the PostgreSQL pool opens (--db-pool).")
        waits = metrics.makeCounter(name: "database_pool_waits_total", help: "Times a request waited for a pooled connection.")
    }

    func update(_ statistics: PoolStatistics) {
        idle.set(Double(statistics.idle))
        inUse.set(Double(statistics.inUse))
        size.set(Double(statistics.size))
        let newWaits = countedWaits.withLock { counted in
            defer { counted = statistics.waits }
            return statistics.waits - counted
        }
        if newWaits > 0 { waits.increment(by: Int64(newWaits)) }
    }
}

/// SQLite's allocations on `/metrics` (SQLite only): all of them, and the page caches' share.
final class SQLiteMemoryMetrics: Sendable {
    let inUse: Gauge
    let pageCache: Gauge

    init(_ metrics: PrometheusCollectorRegistry) {
        inUse = metrics.makeGauge(name: "sqlite_memory_bytes", help: "Bytes SQLite has allocated, all connections together.")
        pageCache = metrics.makeGauge(
            name: "sqlite_page_cache_bytes", help: "Of sqlite_memory_bytes, the page caches' (bounded by each connection's cache_size).")
    }

    func update(_ statistics: SQLiteMemoryStatistics) {
        inUse.set(Double(statistics.bytesInUse))
        pageCache.set(Double(statistics.pageCacheBytes))
    }
}
