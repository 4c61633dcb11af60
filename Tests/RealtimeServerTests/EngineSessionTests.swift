import EngineIO
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import RealtimeServer

/// The Engine.IO session's long-polling life, on the actor itself: what a held GET is answered with, what closes
/// the session and with which reason, and which reasons let the client recover.
@Suite struct EngineSessionTests {
    /// What the session told the layers around it.
    final class Record: Sendable {
        let closes = Mutex<[CloseReason]>([])
        let removed = Mutex<[String]>([])
    }

    /// A polling session whose heartbeat stays out of the way (an hour), with a queue of `queueLimit` packets.
    private func session(queueLimit: Int = 4) async -> (EngineSession, Record) {
        let record = Record()
        let session = EngineSession(
            id: "s1", configuration: EngineConfiguration(pingInterval: 3_600_000, pingTimeout: 3_600_000),
            queueLimit: queueLimit, webSocket: nil, metrics: ServerMetrics(namespaces: []),
            removeFromRegistry: { id in record.removed.withLock { $0.append(id) } })
        await session.start(onMessage: { _ in }, onClose: { reason in record.closes.withLock { $0.append(reason) } })
        return (session, record)
    }

    /// Starts a GET and returns once the session holds it.
    private func heldPoll(_ session: EngineSession, connection: ConnectionWatch? = nil) async throws
        -> Task<[EnginePacket], any Error>
    {
        let poll = Task { try await session.poll(connection: connection) }
        for _ in 0..<500 where !(await session.isHoldingPoll) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(await session.isHoldingPoll)
        return poll
    }

    @Test("a held GET is answered with what is sent next; queued packets go out at once")
    func heldGet() async throws {
        let (session, _) = await session()
        let poll = try await heldPoll(session)
        await session.send([.message("a")])
        #expect(try await poll.value == [.message("a")])
        await session.send([.message("b"), .message("c")])
        #expect(try await session.poll() == [.message("b"), .message("c")])
    }

    @Test("a client's close packet answers its held GET with a noop and ends the session as a client close")
    func clientClose() async throws {
        let (session, record) = await session()
        let poll = try await heldPoll(session)
        try await session.post([EnginePacket(.close)])
        #expect(try await poll.value == [EnginePacket(.noop)])
        #expect(await session.state == .closed)
        #expect(record.closes.withLock { $0 } == [.clientClose])
        #expect(record.removed.withLock { $0 } == ["s1"])
    }

    @Test("a close of the server's answers the held GET with a close packet")
    func serverClose() async throws {
        let (session, record) = await session()
        let poll = try await heldPoll(session)
        await session.close(reason: .serverShuttingDown)
        #expect(try await poll.value == [EnginePacket(.close)])
        #expect(record.closes.withLock { $0 } == [.serverShuttingDown])
    }

    @Test("a second GET while one is held closes the session")
    func overlappingPolls() async throws {
        let (session, record) = await session()
        let first = try await heldPoll(session)
        await #expect(throws: EngineError.self) { try await session.poll() }
        #expect(try await first.value == [EnginePacket(.close)])
        #expect(record.closes.withLock { $0 } == [.overlappingPolls])
    }

    @Test("a GET while a forwarded one is held takes its place: the forwarded one is answered with a noop")
    func forwardedPollReplaced() async throws {
        let (session, record) = await session()
        let forwarded = Task { try await session.poll(forwarded: true) }
        for _ in 0..<500 where !(await session.isHoldingPoll) { try await Task.sleep(for: .milliseconds(2)) }
        let direct = try await heldPoll(session)
        #expect(try await forwarded.value == [EnginePacket(.noop)])
        await session.send([.message("a")])
        #expect(try await direct.value == [.message("a")])
        #expect(await session.state == .polling)
        #expect(record.closes.withLock { $0 }.isEmpty)
    }

    @Test("the end of a held GET's connection ends the session at once, as a recoverable transport close")
    func lostPoll() async throws {
        let (session, record) = await session()
        let closed = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let poll = try await heldPoll(session, connection: ConnectionWatch(closeFuture: closed.futureResult))
        closed.succeed()
        _ = try await poll.value
        for _ in 0..<500 where record.closes.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(record.closes.withLock { $0 } == [.transportClose])
    }

    @Test("the end of a connection whose GET was answered long ago closes nothing")
    func answeredPollsConnection() async throws {
        let (session, record) = await session()
        let closed = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let watch = ConnectionWatch(closeFuture: closed.futureResult)
        let poll = try await heldPoll(session, connection: watch)
        #expect(watch.isHolding)
        await session.send([.message("a")])
        _ = try await poll.value
        #expect(!watch.isHolding, "the answered GET no longer watches its connection")
        closed.succeed()
        try await Task.sleep(for: .milliseconds(50))
        #expect(await session.state == .polling)
        #expect(record.closes.withLock { $0 }.isEmpty)
    }

    @Test("a session closed before it started tells the layer above at once, with the reason it closed for")
    func closedBeforeStart() async throws {
        let record = Record()
        let session = EngineSession(
            id: "s2", configuration: EngineConfiguration(), queueLimit: 4, webSocket: nil,
            metrics: ServerMetrics(namespaces: []), removeFromRegistry: { _ in })
        await session.close(reason: .serverShuttingDown)  // a drain between registration and start
        await session.start(onMessage: { _ in }, onClose: { reason in record.closes.withLock { $0.append(reason) } })
        #expect(record.closes.withLock { $0 } == [.serverShuttingDown])
    }

    @Test("a polling client that lets more than the queue limit pile up is closed as a slow consumer")
    func slowConsumer() async throws {
        let (session, record) = await session(queueLimit: 2)
        for index in 0..<3 { await session.send([.message("\(index)")]) }
        #expect(await session.state == .closed)
        #expect(record.closes.withLock { $0 } == [.slowConsumer])
    }

    @Test("recovery follows the reason: drops and drains recover, ends on purpose and violations do not")
    func recoverableReasons() {
        let recoverable: [CloseReason] = [
            .transportClose, .clientClose, .transportError, .overlappingPolls, .pingTimeout, .serverShuttingDown,
        ]
        let final: [CloseReason] = [
            .serverDisconnect, .invalidPacket("x"), .payloadTooLarge,
            .slowConsumer, .inboxFull, .rateLimited, .connectTimeout, .failedUpgrade("x"), .sessionTakenOver,
        ]
        for reason in recoverable { #expect(reason.isRecoverable, "\(reason)") }
        for reason in final { #expect(!reason.isRecoverable, "\(reason)") }
        #expect(Set((recoverable + final).map(\.metricLabel)) == Set(CloseReason.metricLabels))
        #expect(CloseReason.metricLabels.count == recoverable.count + final.count)
    }
}
