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

/// Buckets by name (a key id or a client address). A table of buckets under one lock, and a lock
/// per bucket: taking a token by name is one dictionary lookup and a few floating-point operations.
/// A caller that keeps a name's `Bucket` (a dashboard's polls, issue 11) takes its tokens with no
/// lookup at all, and polls of different keys share no lock.
public final class TokenBuckets: Sendable {
    /// One name's tokens. Once retired (dropped from the table to bound its size), it gives no
    /// more tokens: whoever kept it looks the name up again, so a name never has two live buckets.
    public final class Bucket: Sendable {
        struct State {
            var tokens: Double
            var updated: UInt64  // nanoseconds, monotonic
            var retired = false
        }
        let state: Mutex<State>

        init(tokens: Double, now: UInt64) { state = Mutex(State(tokens: tokens, updated: now)) }
    }

    /// What taking a token from a kept bucket gave.
    public enum Take: Equatable, Sendable {
        case taken
        /// None left: the seconds until there is one.
        case wait(Double)
        /// The bucket left the table: look the name up again.
        case retired
    }

    let limit: RateLimit
    /// The policy name in the `RateLimit` / `RateLimit-Policy` headers.
    let policy: String
    public static let defaultCapacity = 100_000
    /// Most names kept; past it, full buckets are dropped (tests make it small).
    let capacity: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(limit: RateLimit, policy: String, capacity: Int = TokenBuckets.defaultCapacity) {
        self.limit = limit
        self.policy = policy
        self.capacity = capacity
    }

    /// Takes a token: nil when there was one, else the seconds until there is.
    public func take(_ name: String, now: UInt64 = TokenBuckets.monotonicNow()) -> Double? {
        while true {
            switch take(from: bucket(name, now: now), now: now) {
            case .taken: return nil
            case .wait(let seconds): return seconds
            case .retired: continue  // retired between the lookup and the take: look it up again
            }
        }
    }

    /// Takes a token from a bucket kept from `bucket(_:)`.
    public func take(from bucket: Bucket, now: UInt64 = TokenBuckets.monotonicNow()) -> Take {
        bucket.state.withLock { state in
            guard !state.retired else { return .retired }
            refill(&state, now: now)
            guard state.tokens >= 1 else { return .wait((1 - state.tokens) / limit.rate) }
            state.tokens -= 1
            return .taken
        }
    }

    /// The bucket of `name`, made full if it has none.
    public func bucket(_ name: String, now: UInt64 = TokenBuckets.monotonicNow()) -> Bucket {
        buckets.withLock { buckets in
            if let bucket = buckets[name] { return bucket }
            if buckets.count >= capacity { evictFull(&buckets) }
            let bucket = Bucket(tokens: limit.burst, now: now)
            buckets[name] = bucket
            return bucket
        }
    }

    /// The seconds until a token is available (nil: one is), without taking it.
    func wait(_ name: String, now: UInt64 = TokenBuckets.monotonicNow()) -> Double? {
        guard let bucket = buckets.withLock({ $0[name] }) else { return nil }
        return bucket.state.withLock { state in
            var state = state
            refill(&state, now: now)
            return state.tokens >= 1 ? nil : (1 - state.tokens) / limit.rate
        }
    }

    private func refill(_ state: inout Bucket.State, now: UInt64) {
        let elapsed = Double(now &- state.updated) / 1e9
        state.tokens = min(limit.burst, state.tokens + elapsed * limit.rate)
        state.updated = now
    }

    /// Full buckets carry no state worth keeping: they go (retired); if all are in use, all go.
    private func evictFull(_ buckets: inout [String: Bucket]) {
        let burst = limit.burst
        buckets = buckets.filter { _, bucket in
            bucket.state.withLock { state in
                if state.tokens < burst { return true }
                state.retired = true
                return false
            }
        }
        if buckets.count >= capacity {
            for bucket in buckets.values { bucket.state.withLock { $0.retired = true } }
            buckets.removeAll()
        }
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
