import Foundation
import HTTPServer
import Prometheus
import Synchronization

/// A token bucket's shape: `rate` tokens a second, at most `burst` saved up.
public struct RateLimit: Sendable, Equatable {
    public var rate: Double
    public var burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Parses `N/s` (or `N/m`, `N/h`) for the command line.
    public static func parseRate(_ text: String) -> Double? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let count = Double(parts[0]), count > 0, count.isFinite else { return nil }
        switch parts[1] {
        case "s": return count
        case "m": return count / 60
        case "h": return count / 3_600
        default: return nil
        }
    }
}

/// The limits of issue #12, "Rate limits". The defaults are generous: a dashboard polling every
/// few seconds, or a hospital's import script, never meets them; a runaway loop or a flood does.
public struct RateLimitConfiguration: Sendable, Equatable {
    /// Every request made with one key (`--rate-limit`, `--burst`).
    public var perKey = RateLimit(rate: 50, burst: 200)
    /// Failed authentications from one client address: guessing keys, or a misconfigured client,
    /// slows to this rate (a valid key is never refused by it).
    public var failedAuthPerAddress = RateLimit(rate: 1, burst: 100)
    /// `POST /v1/classify`, which needs no key, per client address.
    public var classifyPerAddress = RateLimit(rate: 20, burst: 100)

    public init() {}
}

/// Buckets by name (a key id or a client address). One lock, one dictionary lookup and a few
/// floating-point operations per request: the whole cost of the limiter on the hot path.
public final class TokenBuckets: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: UInt64  // nanoseconds, monotonic
    }

    let limit: RateLimit
    /// The policy name in the `RateLimit` / `RateLimit-Policy` headers.
    let policy: String
    static let capacity = 100_000
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(limit: RateLimit, policy: String) {
        self.limit = limit
        self.policy = policy
    }

    /// Takes a token: nil when there was one, else the seconds until there is.
    public func take(_ name: String, now: UInt64 = TokenBuckets.monotonicNow()) -> Double? {
        buckets.withLock { buckets in
            // A known name is updated in place: one hash of the name, not three (issue 11: a poll's cost).
            if let index = buckets.index(forKey: name) {
                var bucket = refilled(buckets.values[index], now: now)
                let wait: Double? = bucket.tokens >= 1 ? nil : (1 - bucket.tokens) / limit.rate
                if wait == nil { bucket.tokens -= 1 }
                buckets.values[index] = bucket
                return wait
            }
            var bucket = refilled(buckets[name], now: now)
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                store(bucket, name, in: &buckets)
                return nil
            }
            store(bucket, name, in: &buckets)
            return (1 - bucket.tokens) / limit.rate
        }
    }

    /// The seconds until a token is available (nil: one is), without taking it.
    func wait(_ name: String, now: UInt64 = TokenBuckets.monotonicNow()) -> Double? {
        buckets.withLock { buckets in
            guard let stored = buckets[name] else { return nil }
            let bucket = refilled(stored, now: now)
            return bucket.tokens >= 1 ? nil : (1 - bucket.tokens) / limit.rate
        }
    }

    private func refilled(_ bucket: Bucket?, now: UInt64) -> Bucket {
        guard var bucket else { return Bucket(tokens: limit.burst, updated: now) }
        let elapsed = Double(now &- bucket.updated) / 1e9
        bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
        bucket.updated = now
        return bucket
    }

    private func store(_ bucket: Bucket, _ name: String, in buckets: inout [String: Bucket]) {
        if buckets[name] == nil && buckets.count >= TokenBuckets.capacity {
            // Full buckets carry no state worth keeping; if all are in use, start over.
            buckets = buckets.filter { $0.value.tokens < limit.burst }
            if buckets.count >= TokenBuckets.capacity { buckets.removeAll() }
        }
        buckets[name] = bucket
    }

    public static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Over a limit: 429 with `Retry-After` and the IETF httpapi `RateLimit` / `RateLimit-Policy`
/// fields (draft-ietf-httpapi-ratelimit-headers, structured-field form: quota `q` per window `w`
/// seconds, remaining `r`, seconds to reset `t`).
public struct RateLimitedError: HTTPResponseError, Equatable {
    let policy: String
    let limit: RateLimit
    let retryAfter: Double

    var retryAfterSeconds: Int { max(1, Int(retryAfter.rounded(.up))) }

    public var problem: ProblemDetails {
        ProblemDetails(
            status: 429, title: "Too Many Requests",
            detail: "The \(policy) rate limit is reached; retry after \(retryAfterSeconds) s.",
            type: ProblemType.rateLimited)
    }

    public var responseHeaders: HTTPHeaders {
        // The window in which the whole burst refills.
        let window = max(1, Int((limit.burst / limit.rate).rounded(.up)))
        return HTTPHeaders([
            ("Retry-After", String(retryAfterSeconds)),
            ("RateLimit-Policy", "\"\(policy)\";q=\(Int(limit.burst));w=\(window)"),
            ("RateLimit", "\"\(policy)\";r=0;t=\(retryAfterSeconds)"),
        ])
    }
}

extension ProblemType {
    public static let rateLimited = "https://icmm-registry.example/problems/rate-limited"
}

/// The limiters of one application, with their `/metrics` counters
/// (`http_rate_limited_total{policy="per-key"|"failed-auth"|"classify"}`).
final class RateLimiters: Sendable {
    let perKey: TokenBuckets
    let failedAuth: TokenBuckets
    let classify: TokenBuckets
    private let refused: [String: Counter]

    init(_ configuration: RateLimitConfiguration, metrics: PrometheusCollectorRegistry) {
        perKey = TokenBuckets(limit: configuration.perKey, policy: "per-key")
        failedAuth = TokenBuckets(limit: configuration.failedAuthPerAddress, policy: "failed-auth")
        classify = TokenBuckets(limit: configuration.classifyPerAddress, policy: "classify")
        var refused: [String: Counter] = [:]
        for policy in ["per-key", "failed-auth", "classify"] {
            refused[policy] = metrics.makeCounter(
                name: "http_rate_limited_total", labels: [("policy", policy)], help: "Requests refused with 429, by rate-limit policy.")
        }
        self.refused = refused
    }

    /// Counts the refusal and makes its 429.
    func refuse(_ buckets: TokenBuckets, after seconds: Double) -> RateLimitedError {
        refused[buckets.policy]?.increment()
        return RateLimitedError(policy: buckets.policy, limit: buckets.limit, retryAfter: seconds)
    }
}
