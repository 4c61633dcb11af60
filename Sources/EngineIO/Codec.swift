/// Encodes and decodes Engine.IO v4 packets: one per WebSocket frame, or several per HTTP long-polling body
/// separated by the record separator `\u{1e}`, with binary messages base64-encoded behind a `b`.
public enum EngineCodec {
    public static let recordSeparator: Character = "\u{1e}"

    /// A packet from a WebSocket text frame, or from one record of a polling body.
    public static func decode(_ text: Substring) throws -> EnginePacket {
        guard let first = text.first else { throw EngineError(.badRequest) }
        if first == "b" {
            guard let bytes = Base64.decode(text.dropFirst()) else { throw EngineError(.badRequest) }
            return .binary(bytes)
        }
        guard let digit = first.asciiValue, digit >= 48, let type = EnginePacketType(rawValue: digit - 48) else {
            throw EngineError(.badRequest)
        }
        return EnginePacket(type, .text(String(text.dropFirst())))
    }

    public static func decode(_ text: String) throws -> EnginePacket { try decode(Substring(text)) }

    /// A packet as a WebSocket text frame or polling record. Binary messages become `b<base64>`; on a WebSocket,
    /// send them as binary frames instead.
    public static func encode(_ packet: EnginePacket) -> String {
        switch packet.payload {
        case .text(let text): return String(packet.type.rawValue) + text
        case .binary(let bytes): return "b" + Base64.encode(bytes)
        }
    }

    /// The packets of a polling POST body. An empty body or an empty record is a bad request.
    public static func decodePayload(_ body: String) throws -> [EnginePacket] {
        guard !body.isEmpty else { throw EngineError(.badRequest) }
        return try body.split(separator: recordSeparator, omittingEmptySubsequences: false).map { try decode($0) }
    }

    /// The body of a polling GET answer.
    public static func encodePayload(_ packets: [EnginePacket]) -> String {
        packets.map(encode).joined(separator: String(recordSeparator))
    }
}

/// Standard base64 (RFC 4648, with padding), as Engine.IO uses for binary data over polling; and base64url without
/// padding (RFC 4648 §5), as JSON Web Tokens use.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    /// base64url without padding: `-` and `_` for `+` and `/`, no `=`.
    public static func encodeURL(_ bytes: [UInt8]) -> String {
        var text = encode(bytes)
        while text.hasSuffix("=") { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [
                alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)],
                alphabet[Int(value & 63)],
            ]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [
                alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], 61,
            ]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything that is not canonical padded base64.
    public static func decode(_ text: Substring) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let padding = isLast ? (input[index + 3] == 61 ? (input[index + 2] == 61 ? 2 : 1) : 0) : 0
            var value: UInt32 = 0
            for offset in 0..<4 {
                let character = input[index + offset]
                if offset >= 4 - padding {
                    guard character == 61 else { return nil }
                    value <<= 6
                    continue
                }
                let digit = reverse[Int(character)]
                guard digit != 0xff else { return nil }
                value = value << 6 | UInt32(digit)
            }
            out.append(UInt8(value >> 16 & 0xff))
            if padding < 2 { out.append(UInt8(value >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(value & 0xff)) }
            index += 4
        }
        return out
    }
}
