import SocketIO
import Testing

@testable import RealtimeServer

/// What the publish API decides about a body before it sends anything.
@Suite struct PublicationTests {
    let namespaces: Set<String> = ["/tenders", "/system"]

    @Test("a room event, a namespace-wide event, and data as the one argument")
    func accepted() throws {
        let room = try Publication.parse(
            #"{"namespace":"/tenders","room":"tender:42","event":"bid:placed","data":{"amount":5}}"#,
            namespaces: namespaces
        ).get()
        #expect(room.namespace == "/tenders" && room.room == "tender:42" && room.event == "bid:placed")
        #expect(room.arguments == [.object([("amount", .number(5))])])
        let everyone = try Publication.parse(
            #"{"namespace":"/system","room":null,"event":"notice"}"#, namespaces: namespaces
        ).get()
        #expect(everyone.room == nil && everyone.arguments.isEmpty)
    }

    @Test(
        "refusals name what is wrong",
        arguments: [
            ("[1,2]", "the body must be a JSON object"),
            ("{", "the body must be a JSON object"),
            (#"{"namespace":"/nope","event":"x"}"#, "namespace must be one of /system, /tenders"),
            (#"{"event":"x"}"#, "namespace must be one of /system, /tenders"),
            (#"{"namespace":"/tenders"}"#, "event must be a non-empty, non-reserved event name"),
            (#"{"namespace":"/tenders","event":""}"#, "event must be a non-empty, non-reserved event name"),
            (#"{"namespace":"/tenders","event":"disconnect"}"#, "event must be a non-empty, non-reserved event name"),
            (#"{"namespace":"/tenders","event":"x","room":5}"#, "room must be a string"),
            (#"{"namespace":"/tenders","event":"x","room":""}"#, "room must be a string"),
        ])
    func refused(_ body: String, _ message: String) {
        #expect(Publication.parse(body, namespaces: namespaces) == .failure(PublishRefusal(message)))
    }

    @Test("a room name is bounded in bytes, not characters")
    func roomBound() {
        let fits = String(repeating: "é", count: 128)  // 256 bytes
        let over = String(repeating: "é", count: 129)
        func body(_ room: String) -> String { #"{"namespace":"/tenders","event":"x","room":""# + room + #""}"# }
        #expect((try? Publication.parse(body(fits), namespaces: namespaces).get())?.room == fits)
        #expect(Publication.parse(body(over), namespaces: namespaces) == .failure(.tooLong("room")))
        #expect(PublishRefusal.tooLong("room").message == "room is longer than 256 bytes")
    }

    @Test("an event name is bounded like a room: every client of the room would get it")
    func eventBound() {
        let body = #"{"namespace":"/tenders","event":""# + String(repeating: "e", count: 257) + #""}"#
        #expect(Publication.parse(body, namespaces: namespaces) == .failure(.tooLong("event")))
    }
}
