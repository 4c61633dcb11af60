import RealtimeServer
import Testing

@Suite struct TokenBucketTests {
    @Test("a burst is allowed, then the rate; idle time refills up to the burst only")
    func bucket() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, burst: 3, now: start)
        var taken = 0
        for _ in 0..<5 where bucket.take(now: start) { taken += 1 }
        #expect(taken == 3)
        let tenth = bucket.take(now: start + .milliseconds(100))  // 0.1 s at 10/s = one token
        #expect(tenth)
        let tooSoon = bucket.take(now: start + .milliseconds(150))
        #expect(!tooSoon)
        // A long pause refills to the burst, not beyond.
        let later = start + .seconds(60)
        taken = 0
        for _ in 0..<5 where bucket.take(now: later) { taken += 1 }
        #expect(taken == 3)
    }
}
