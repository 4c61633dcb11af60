import NIOCore
import NIOPosix

/// Timers of sessions and connections: event-loop timers, not sleeping tasks. Waiting for one costs no task, and
/// a cancelled one is gone at once, where a cancelled `Task.sleep` keeps its task until the time is up.
enum Timers {
    static func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: TimeAmount(delay), body)
    }
}
