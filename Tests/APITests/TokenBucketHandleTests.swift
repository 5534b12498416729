import API
import Testing

/// A bucket kept by its caller (the poll path keeps its key's, issue 11) shares its tokens with
/// the lookup by name, and once the table drops it, it gives no tokens: a name never has two live
/// buckets, so keeping one cannot double a key's rate.
@Suite struct TokenBucketHandleTests {
    @Test func aKeptBucketAndTheNameShareOneBucketOfTokens() {
        let buckets = TokenBuckets(limit: RateLimit(rate: 1, burst: 4), policy: "test")
        let kept = buckets.bucket("k", now: 1)
        #expect(buckets.take(from: kept, now: 1) == .taken)
        #expect(buckets.take("k", now: 1) == nil)
        #expect(buckets.take(from: kept, now: 1) == .taken)
        #expect(buckets.take("k", now: 1) == nil)
        // Four taken, two ways: the fifth is refused both ways, with the wait until the next token.
        #expect(buckets.take(from: kept, now: 1) == .wait(1))
        #expect(buckets.take("k", now: 1) == 1)
        #expect(buckets.take(from: kept, now: 500_000_001) == .wait(0.5))
        #expect(buckets.take(from: kept, now: 1_000_000_001) == .taken)
        #expect(buckets.bucket("k", now: 2) === kept)
        #expect(buckets.bucket("other", now: 2) !== kept)
    }

    @Test func aBucketDroppedFromAFullTableIsRetiredAndTheNameGetsANewOne() {
        let buckets = TokenBuckets(limit: RateLimit(rate: 1, burst: 2), policy: "test", capacity: 2)
        let full = buckets.bucket("full", now: 1)
        let used = buckets.bucket("used", now: 1)
        #expect(buckets.take(from: used, now: 1) == .taken)
        // A third name: the table is at its capacity, so the full bucket goes; the used one stays.
        _ = buckets.bucket("third", now: 1)
        #expect(buckets.take(from: full, now: 1) == .retired)
        #expect(buckets.take(from: used, now: 1) == .taken)
        #expect(buckets.take(from: used, now: 1) == .wait(1))
        #expect(buckets.bucket("used", now: 1) === used)
        // The name of the retired bucket gets a new, full one (all a full bucket carried).
        let again = buckets.bucket("full", now: 1)
        #expect(again !== full)
        #expect(buckets.take(from: again, now: 1) == .taken)
        #expect(buckets.take("full", now: 1) == nil)
        #expect(buckets.take("full", now: 1) == 1)
    }

    @Test func whenEveryBucketIsInUseAllAreRetiredAndNoneGivesATokenAgain() {
        let buckets = TokenBuckets(limit: RateLimit(rate: 1, burst: 2), policy: "test", capacity: 2)
        let a = buckets.bucket("a", now: 1)
        let b = buckets.bucket("b", now: 1)
        #expect(buckets.take(from: a, now: 1) == .taken)
        #expect(buckets.take(from: b, now: 1) == .taken)
        _ = buckets.bucket("c", now: 1)
        #expect(buckets.take(from: a, now: 1) == .retired)
        #expect(buckets.take(from: b, now: 1) == .retired)
        // By name, a new bucket: the limit starts over, as it did when the table was emptied.
        #expect(buckets.take("a", now: 1) == nil)
        #expect(buckets.bucket("a", now: 1) !== a)
    }
}
