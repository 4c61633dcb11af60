import RealtimeServer
import Testing

@Suite struct TokenBucketTests {
    @Test("a burst is allowed, then the rate; idle time refills up to the burst only")
    func bucket() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, burst: 3, now: start)
        #expect((0..<3).allSatisfy { _ in bucket.take(now: start) })
        #expect(!bucket.take(now: start))
        #expect(bucket.take(now: start + .milliseconds(100)))  // 0.1 s at 10/s = one token
        #expect(!bucket.take(now: start + .milliseconds(150)))
        // A long pause refills to the burst, not beyond.
        let later = start + .seconds(60)
        #expect((0..<3).allSatisfy { _ in bucket.take(now: later) })
        #expect(!bucket.take(now: later))
    }
}
