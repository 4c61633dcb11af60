import NIOCore
import Redis

/// Polling without sticky sessions: a GET or POST that lands on an instance that does not hold its session is
/// forwarded, through Redis, to the one that does (see `ForwardedPolling`), and answered from there.
extension ClusterAdapter {
    /// The prefix of the Engine.IO session ids this instance hands out: any instance can tell whose a session is.
    var sessionIDPrefix: String { instanceID + "." }

    /// The instance a session id belongs to, when it is another one.
    private func owner(ofSession sid: String) -> String? {
        guard let dot = sid.firstIndex(of: "."), sid[..<dot] != instanceID[...] else { return nil }
        return String(sid[..<dot])
    }

    /// Hands a polling request for a session of another instance to that instance and returns its answer; nil
    /// when the session is not another instance's, that instance is gone, or it does not answer within
    /// `timeout` (a held GET answers within the ping interval).
    func forward(_ method: ForwardedPolling.Method, sid: String, body: ByteBuffer, timeout: Duration) async
        -> PollingReply?
    {
        guard let owner = owner(ofSession: sid) else { return nil }
        let channel = instanceChannel(owner)
        return await withCheckedContinuation { continuation in
            let id = forwards.register(method, sid: sid, owner: channel, continuation)
            let request = ForwardedPolling.request(
                id: id, replyTo: instanceID, method: method, sid: sid, body: body)
            let timer = Task {
                guard let encoded = try? request.encoded() else {
                    forwards.resolve(id, with: nil)
                    return
                }
                // PUBLISH answers how many subscribers got it: none means the owner is gone.
                let receivers = try? await publisher.send(
                    RESPCommand("PUBLISH", RESPArgument(channel), RESPArgument(encoded)))
                guard let receivers = receivers?.int, receivers > 0 else {
                    forwards.resolve(id, with: nil)
                    return
                }
                metrics.pollingForwarded.increment()
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { forwards.resolve(id, with: nil) }
            }
            forwards.attach(timer, to: id)
        }
    }

    /// Lets go of the GETs this instance forwarded and still waits on, as it drains: their clients must not wait
    /// for their owners' next ping. Each owner is asked to answer its held GET now (a release, sent without
    /// waiting for Redis); its answer, a noop or whatever it had just sent, comes back as the answer to the GET
    /// and goes to the client as usual, so nothing the owner sent is lost on the way. What has no answer within
    /// `within` gets `fallback`.
    func releaseForwardedPolls(fallback: PollingReply, within: Duration) async {
        let waiting = forwards.waitingGets
        guard !waiting.isEmpty else { return }
        for (sid, owner) in waiting {
            let release = ForwardedPolling.request(
                id: 0, replyTo: instanceID, method: .release, sid: sid, body: ByteBuffer())
            guard let encoded = try? release.encoded() else { continue }
            publisher.sendAndForget(RESPCommand("PUBLISH", RESPArgument(owner), RESPArgument(encoded)))
        }
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline, !forwards.waitingGets.isEmpty {
            try? await Task.sleep(for: .milliseconds(20))
        }
        forwards.answerGets(with: fallback)
    }

    func received(forwarded payload: ByteBuffer) {
        guard let forwarded = try? ForwardedPolling(decoding: payload) else {
            logger.warning("ignored a malformed forwarded polling request")
            return
        }
        switch forwarded {
        case .answer(let id, let reply):
            forwards.resolve(id, with: reply)
        case .request(let id, let replyTo, let method, let sid, let body):
            guard let handler = handlers.withLock({ $0?.answerPoll }) else { return }
            let channel = instanceChannel(replyTo)
            Task {
                let reply = await handler(method, sid, body)
                guard method != .release else { return }
                guard let answer = try? ForwardedPolling.answer(id: id, reply: reply).encoded() else { return }
                publisher.sendAndForget(RESPCommand("PUBLISH", RESPArgument(channel), RESPArgument(answer)))
            }
        }
    }
}
