import JSON
import NIOCore
import Redis
import SocketIO
import Synchronization

/// Questions for every instance (how many sockets are in a room, where a user's sockets are, disconnect a user,
/// who is out there), asked on a channel every instance subscribes to and answered on the asker's own channel.
/// `PUBLISH` says how many instances heard the question, so the asker waits for exactly that many answers
/// and never for an instance that had died before; one that dies in between is waited for until the timeout
/// and reported as missing.
///
/// Wire format: `C` + JSON `{"id": N, "from": "<instance>", "query": {...}}`; answers `A` + JSON
/// `{"id": N, "answer": ...}`.
enum ClusterQueryMessage {
    static func isQuery(_ payload: ByteBuffer) -> Bool { ClusterPayloadKind(payload) == .query }

    static func question(id: UInt64, from: String, query: JSONValue) -> ByteBuffer {
        ByteBuffer(
            string: "C"
                + JSONValue.object([("id", .number(Double(id))), ("from", .string(from)), ("query", query)])
                .serialized())
    }

    static func answer(id: UInt64, answer: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "A" + JSONValue.object([("id", .number(Double(id))), ("answer", answer)]).serialized())
    }

    enum Decoded {
        case question(id: UInt64, from: String, query: JSONValue)
        case answer(id: UInt64, answer: JSONValue)
    }

    static func decode(_ payload: ByteBuffer) -> Decoded? {
        let text = String(buffer: payload)
        guard let kind = text.first, let document = JSONValue.parse(text.dropFirst()),
            case .number(let number)? = document["id"], number >= 0, number < 9e15
        else { return nil }
        let id = UInt64(number)
        switch kind {
        case "C":
            guard let from = document["from"]?.stringValue, let query = document["query"] else { return nil }
            return .question(id: id, from: from, query: query)
        case "A":
            return document["answer"].map { .answer(id: id, answer: $0) }
        default:
            return nil
        }
    }
}

/// Answers waited for, by question.
final class PendingQueries: Sendable {
    private let state = Mutex<(next: UInt64, waiting: [UInt64: AsyncStream<JSONValue>.Continuation])>((0, [:]))

    func register() -> (id: UInt64, answers: AsyncStream<JSONValue>) {
        let (stream, continuation) = AsyncStream.makeStream(of: JSONValue.self)
        let id = state.withLock { state in
            state.next += 1
            state.waiting[state.next] = continuation
            return state.next
        }
        return (id, stream)
    }

    func received(_ answer: JSONValue, for id: UInt64) {
        _ = state.withLock { $0.waiting[id] }?.yield(answer)
    }

    func finish(_ id: UInt64) {
        state.withLock { $0.waiting.removeValue(forKey: id) }?.finish()
    }
}

extension ClusterAdapter {
    /// What the other instances answered to `query`, and how many that heard it did not answer in time.
    func ask(_ query: JSONValue, timeout: Duration = .seconds(2)) async -> (answers: [JSONValue], missing: Int) {
        let (id, stream) = queries.register()
        defer { queries.finish(id) }
        let question = ClusterQueryMessage.question(id: id, from: instanceID, query: query)
        guard
            let heard = try? await publisher.send(
                RESPCommand("PUBLISH", RESPArgument(queryChannel), RESPArgument(question)))
        else { return ([], 0) }
        // This instance hears its own question too, and does not answer it.
        let expected = max(0, Int(heard.int ?? 0) - 1)
        guard expected > 0 else { return ([], 0) }
        let answers = await withTaskGroup(of: [JSONValue]?.self) { group in
            group.addTask {
                var answers: [JSONValue] = []
                for await answer in stream {
                    answers.append(answer)
                    if answers.count == expected { break }
                }
                return answers
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            var collected: [JSONValue] = []
            if let first = await group.next(), let answers = first {
                collected = answers
            } else {
                self.queries.finish(id)  // ends the collecting task with what it has
                collected = (await group.next() ?? nil) ?? []
            }
            group.cancelAll()
            return collected
        }
        return (answers, expected - answers.count)
    }

    func received(query payload: ByteBuffer) {
        switch ClusterQueryMessage.decode(payload) {
        case .question(let id, let from, let query)?:
            guard from != instanceID, let handler = handlers.withLock({ $0?.answerQuery }) else { return }
            let channel = instanceChannel(from)
            Task {
                let answer = ClusterQueryMessage.answer(id: id, answer: await handler(query))
                publisher.sendAndForget(RESPCommand("PUBLISH", RESPArgument(channel), RESPArgument(answer)))
            }
        case .answer(let id, let answer)?:
            queries.received(answer, for: id)
        case nil:
            logger.warning("ignored a malformed cluster query")
        }
    }
}
