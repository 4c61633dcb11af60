import JSON
import SocketIO

/// Job progress and the activity feed: what backends publish, kept so that a client that opens a tender late
/// sees the current state at once.
extension TenderFlow {
    /// Events that carry a state rather than history (presence, typing, leases, job progress, online status):
    /// their current state is asked for (`presence:list`, `edit:leases`, `job:list`), so the feed leaves them out.
    static let notActivity: Set<String> = [
        "presence:joined", "presence:left", "typing", "edit:leases", "job:progress", "status:online",
        "status:offline",
    ]

    /// Appends every other event broadcast to a tender's room to the tender's activity feed, from the instance
    /// that accepted it (with its fallback event id, when it has one).
    static func activityJournal(_ collaboration: Collaboration) -> BroadcastJournal {
        { packet, room in
            guard packet.namespace == "/tenders", packet.type == .event, let room, room.hasPrefix("tender:"),
                case .array(let items)? = packet.data, items.count >= 2, case .string(let event) = items[0],
                !notActivity.contains(event), items[1].isObject, let coordination = collaboration.coordination
            else { return }
            coordination.record(tender: String(room.dropFirst("tender:".count)), event: event, data: items[1])
        }
    }

    /// `job:progress` to `/tenders` is checked and its state kept (bounded, expiring) before it is broadcast, so
    /// that a subscriber gets every job's current state at once. Without Redis it is delivered and not kept;
    /// with Redis away it is refused with 503, for the backend to retry. A job that finished stays finished: a
    /// `running` that arrives after its `succeeded` (through another instance) is refused with 409, not sent.
    static func publicationCheck(_ collaboration: Collaboration) -> PublicationCheck {
        { publication in
            guard publication.event == "job:progress", publication.namespace == "/tenders" else { return .accepted }
            guard let room = publication.room, room.hasPrefix("tender:"),
                case let tender = String(room.dropFirst("tender:".count)), isTenderID(tender)
            else { return .refused(PublishRefusal("job:progress goes to a tender's room, tender:<id>")) }
            switch JobState.parse(publication.arguments.first, room: tender) {
            case .failure(let refusal):
                return .refused(refusal)
            case .success(let (job, data)):
                guard let coordination = collaboration.coordination else { return .accepted }
                do {
                    guard let finished = try await coordination.retain(job, data: data) else { return .accepted }
                    return .stale("job \(job.jobID) has \(finished) already: this state came too late")
                } catch {
                    return .unavailable(unavailable)
                }
            }
        }
    }
}
