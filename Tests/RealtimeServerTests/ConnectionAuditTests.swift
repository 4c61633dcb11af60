import Testing

@testable import RealtimeServer

@Suite struct ConnectionAuditTests {
    @Test("the client's address is the one the load balancer saw, never what the client claimed")
    func clientAddress() {
        // <unverified, the client's own>, <immediate client IP>, <forwarding rule IP>: the load balancer's shape.
        #expect(
            ConnectionAudit.clientAddress(forwardedFor: ["198.51.100.66, 203.0.113.7, 34.120.1.2"]) == "203.0.113.7")
        #expect(ConnectionAudit.clientAddress(forwardedFor: ["203.0.113.7,34.120.1.2"]) == "203.0.113.7")
        #expect(ConnectionAudit.clientAddress(forwardedFor: ["2001:db8::7, 34.120.1.2"]) == "2001:db8::7")
        // Cloud Run reached directly from the VPC: one entry.
        #expect(ConnectionAudit.clientAddress(forwardedFor: ["10.20.0.5"]) == "10.20.0.5")
        #expect(ConnectionAudit.clientAddress(forwardedFor: []) == nil)
        #expect(ConnectionAudit.clientAddress(forwardedFor: [""]) == nil)
        // Whatever the client wrote in its place is not logged as an address.
        #expect(ConnectionAudit.clientAddress(forwardedFor: ["\"><script>, 34.120.1.2"]) == nil)
        #expect(ConnectionAudit.clientAddress(forwardedFor: ["evil\n{\"severity\":\"ERROR\"}"]) == nil)
    }
}
