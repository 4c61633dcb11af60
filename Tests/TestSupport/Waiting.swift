import Foundation

/// Polls `condition` until it holds or `limit` has passed, and answers whether it held.
///
/// The condition is checked once more after the deadline, before giving up: on a loaded two-core machine a waiting
/// task may not be scheduled again until after its deadline (Swift's concurrency pool has two threads, and a test
/// that blocks one is enough), and a loop that tested the clock first would then fail without looking at a
/// condition that had long been met.
public func eventually(
    within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}

extension Process {
    /// Runs the process and waits for it to exit without holding a thread of Swift's concurrency pool (a test
    /// that called `waitUntilExit()` would hold one of two for as long as the process runs, and stall every other
    /// test's awaits meanwhile). Its output must not go to a pipe nobody reads: use a file or the null device.
    public func runUntilExit() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            terminationHandler = { _ in continuation.resume() }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}
