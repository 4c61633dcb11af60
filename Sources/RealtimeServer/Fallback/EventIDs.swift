import Foundation
import Synchronization

/// Global event ids: `<milliseconds, 13 digits>-<sequence, 6 digits>-<instance>`, given by the instance that
/// accepts a broadcast, carried unchanged through Redis, the relays to other regions and the Realtime Database.
/// Fixed width, so the database's key order (and a string comparison) is time order; strictly increasing per
/// instance (a clock that steps back does not make an id go back), so a client that remembers the last id it
/// delivered from each instance delivers every event once and in the order that instance accepted them, whichever
/// channel brought it. Characters RTDB keys allow (digits, `-`, and the instance id's URL-safe alphabet).
final class EventIDs: Sendable {
    let instance: String
    private let last = Mutex<(milliseconds: UInt64, sequence: UInt32)>((0, 0))
    private let now: @Sendable () -> UInt64

    static let maxSequence: UInt32 = 999_999

    init(instance: String, now: @escaping @Sendable () -> UInt64 = EventIDs.wallClockMilliseconds) {
        self.instance = instance
        self.now = now
    }

    /// The next id, with the millisecond it names (the event's time).
    func next() -> (id: String, milliseconds: UInt64) {
        let (milliseconds, sequence) = last.withLock { last in
            let clock = now()
            if clock > last.milliseconds {
                last = (clock, 0)
            } else if last.sequence < Self.maxSequence {
                last.sequence += 1
            } else {
                last = (last.milliseconds + 1, 0)  // a million in one millisecond: borrow the next one
            }
            return last
        }
        return (Self.format(milliseconds: milliseconds, sequence: sequence, instance: instance), milliseconds)
    }

    /// Milliseconds since the Unix epoch, now.
    @Sendable static func wallClockMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    static func format(milliseconds: UInt64, sequence: UInt32, instance: String) -> String {
        padded(milliseconds, 13) + "-" + padded(UInt64(sequence), 6) + "-" + instance
    }

    /// The key prefix of events accepted before `milliseconds`: every id of an earlier millisecond sorts before it.
    static func prefix(before milliseconds: UInt64) -> String { padded(milliseconds, 13) }

    private static func padded(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
