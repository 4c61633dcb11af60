import JSON
import Redis
import Testing

@testable import RealtimeServer

/// What TenderFlow's coordination reads back from its scripts, and what it refuses before it asks Redis; the
/// scripts themselves run against a real redis-server in test_collaboration.py.
@Suite struct CoordinationTests {
    @Test("a lease as the scripts keep it: <expires>|<socket>|<user>, a user id may hold bars")
    func storedLease() throws {
        let lease = try #require(EditLease(section: "pricing", stored: "1764800000000|AbC_9|acme|bob"))
        #expect(
            lease == EditLease(section: "pricing", user: "acme|bob", socketID: "AbC_9", expiresAt: 1_764_800_000_000))
        #expect(lease.json.serialized() == #"{"section":"pricing","user":"acme|bob","expiresAt":1764800000000}"#)
        #expect(EditLease(section: "s", stored: "soon|a|b") == nil)
        #expect(EditLease(section: "s", stored: "17") == nil)
    }

    @Test("a lease script's reply: outcome, holder, revision, and the live leases sorted by section")
    func board() throws {
        let reply = RESPValue.array([
            .bulkString(.init(string: "held")), .bulkString(.init(string: "20|s1|alice")), .integer(7), .integer(10),
            .bulkString(.init(string: "terms")), .bulkString(.init(string: "30|s2|bob")),
            .bulkString(.init(string: "pricing")), .bulkString(.init(string: "20|s1|alice")),
        ])
        let board = try LeaseBoard(tender: "42", section: "pricing", reply: reply)
        #expect(board.outcome == "held" && board.revision == 7)
        #expect(board.holder?.user == "alice")
        #expect(board.leases.map(\.section) == ["pricing", "terms"])
        #expect(
            board.json(tender: "42").serialized()
                == #"{"tenderId":"42","revision":7,"leases":[{"section":"pricing","user":"alice","expiresAt":20},"#
                + #"{"section":"terms","user":"bob","expiresAt":30}]}"#)
        #expect(throws: CoordinationUnavailable.self) {
            try LeaseBoard(tender: "42", section: nil, reply: .error("NOSCRIPT"))
        }
    }

    @Test(
        "job:progress is checked before it is kept or sent",
        arguments: [
            (#"{"tenderId":"42","percent":5,"state":"running"}"#, "jobId"),
            (#"{"jobId":"a b","tenderId":"42","percent":5,"state":"running"}"#, "jobId"),
            (#"{"jobId":"j","tenderId":"7","percent":5,"state":"running"}"#, "tenderId"),
            (#"{"jobId":"j","tenderId":"42","percent":-1,"state":"running"}"#, "percent"),
            (#"{"jobId":"j","tenderId":"42","percent":"5","state":"running"}"#, "percent"),
            (#"{"jobId":"j","tenderId":"42","percent":5,"state":"done"}"#, "state"),
            (#"[1]"#, "jobId"),
        ])
    func refusedJob(_ data: String, _ field: String) throws {
        guard case .failure(let refusal) = JobState.parse(JSONValue.parse(Substring(data)), room: "42") else {
            Issue.record("accepted \(data)")
            return
        }
        #expect(refusal.message.contains(field))
    }

    @Test("a job's extra members are kept as the backend sent them")
    func acceptedJob() throws {
        let data = try #require(
            JSONValue.parse(#"{"jobId":"upload-1","tenderId":"42","percent":100,"state":"succeeded","file":"a.pdf"}"#))
        let (job, kept) = try JobState.parse(data, room: "42").get()
        #expect(job.jobID == "upload-1" && job.percent == 100 && job.state == "succeeded")
        #expect(kept == data)
    }

    @Test("a publication to a user goes to the user's room; a room and a user together are refused")
    func userPublication() throws {
        let namespaces: Set<String> = ["/system"]
        let publication = try Publication.parse(
            #"{"namespace":"/system","user":"alice","event":"notification","data":{}}"#, namespaces: namespaces
        ).get()
        #expect(publication.room == "user:alice")
        #expect(
            Publication.parse(#"{"namespace":"/system","user":"a","room":"r","event":"n"}"#, namespaces: namespaces)
                == .failure(PublishRefusal("give room or user, not both")))
        #expect(
            Publication.parse(
                #"{"namespace":"/system","user":"\#(String(repeating: "u", count: 256))","event":"n"}"#,
                namespaces: namespaces) == .failure(.tooLong("user")))
    }

    @Test("whole numbers only: counts, versions and limits")
    func counts() {
        #expect(TenderFlow.count(.number(0)) == 0)
        #expect(TenderFlow.count(.number(12)) == 12)
        #expect(TenderFlow.count(.number(1.5)) == nil)
        #expect(TenderFlow.count(.number(-1)) == nil)
        #expect(TenderFlow.count(.number(1e300)) == nil)
        #expect(TenderFlow.count(.string("1")) == nil)
    }

    @Test("a user's status: last-seen only while offline")
    func status() {
        #expect(UserState(user: "a", online: true, lastSeen: 5).json.serialized() == #"{"user":"a","online":true}"#)
        #expect(
            UserState(user: "a", online: false, lastSeen: 5).json.serialized()
                == #"{"user":"a","online":false,"lastSeen":5}"#)
    }
}
