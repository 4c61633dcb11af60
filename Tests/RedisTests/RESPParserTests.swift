import NIOCore
import Redis
import Testing

@Suite struct RESPParserTests {
    private func parse(_ text: String, limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        var buffer = ByteBuffer(string: text)
        var values: [RESPValue] = []
        let parser = RESPParser(limits: limits)
        while let value = try parser.parse(&buffer) { values.append(value) }
        #expect(buffer.readableBytes == 0, "left over: \(String(buffer: buffer))")
        return values
    }

    @Test("every RESP2 type")
    func resp2() throws {
        let values = try parse(
            "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n*0\r\n")
        #expect(
            values == [
                .simpleString("OK"), .error("ERR wrong"), .integer(-42), .bulkString(ByteBuffer(string: "he\r\nl")),
                .bulkString(nil), .array([.bulkString(ByteBuffer(string: "a")), .integer(1)]), .array(nil), .array([]),
            ])
    }

    @Test("every RESP3 type, attributes skipped")
    func resp3() throws {
        let values = try parse(
            "_\r\n#t\r\n#f\r\n,3.5\r\n,-inf\r\n(3492890328409238509324850943850943825024385\r\n!9\r\nSYNTAX no\r\n"
                + "=15\r\ntxt:Some string\r\n%1\r\n+key\r\n:1\r\n~2\r\n:1\r\n:2\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
                + "|1\r\n+ttl\r\n:3600\r\n:7\r\n")
        #expect(
            values == [
                .null, .boolean(true), .boolean(false), .double(3.5), .double(-.infinity),
                .bigNumber("3492890328409238509324850943850943825024385"), .error("SYNTAX no"),
                .verbatimString(format: "txt", text: "Some string"), .map([(.simpleString("key"), .integer(1))]),
                .set([.integer(1), .integer(2)]),
                .push([
                    .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "c")),
                    .bulkString(ByteBuffer(string: "m")),
                ]),
                .integer(7),
            ])
    }

    @Test("a value split anywhere is read only once it is whole")
    func partial() throws {
        let text = "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$11\r\nhello world\r\n"
        let parser = RESPParser()
        for cut in 0..<text.utf8.count {
            var buffer = ByteBuffer(bytes: Array(text.utf8.prefix(cut)))
            #expect(try parser.parse(&buffer) == nil)
            #expect(buffer.readerIndex == 0)
            buffer.writeBytes(Array(text.utf8.dropFirst(cut)))
            #expect(try parser.parse(&buffer)?.elements?.count == 3)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test(
        "broken or oversized input is refused, not buffered",
        arguments: [
            "?x\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "+OK\n", "$-2\r\n", "#x\r\n", "$100000000\r\n", "*2000000\r\n",
            String(repeating: "*1\r\n", count: 40) + ":1\r\n",
        ])
    func refused(_ text: String) {
        #expect(throws: RESPParser.ProtocolError.self) { try parse(text) }
    }

    @Test("commands are arrays of binary-safe bulk strings")
    func command() {
        var buffer = ByteBuffer()
        RESPCommand("SET", "key", RESPArgument(ByteBuffer(bytes: [0, 13, 10, 255])), 42).encode(into: &buffer)
        #expect(
            Array(buffer.readableBytesView) == Array("*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\n".utf8) + [0, 13, 10, 255]
                + Array("\r\n$2\r\n42\r\n".utf8))
    }
}
