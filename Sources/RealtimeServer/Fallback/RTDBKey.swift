/// Any string as a Realtime Database key. Firebase keys may not hold `.` `$` `#` `[` `]` `/` or ASCII control
/// characters (https://firebase.google.com/docs/database/usage/limits, "Key"): those, and `%` itself, are written
/// `%XX` (upper-case hex), so the encoding is reversible and a client computes the same key for a user id. The empty
/// string, which is no key (its path would name the parent), is `%` alone, which no other string encodes to.
enum RTDBKey {
    static func encode(_ text: String) -> String {
        if text.isEmpty { return "%" }
        guard text.utf8.contains(where: needsEscape) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if needsEscape(byte) {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case 0..<0x20, 0x7F, UInt8(ascii: "."), UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "["),
            UInt8(ascii: "]"), UInt8(ascii: "/"), UInt8(ascii: "%"):
            true
        default: false
        }
    }
}
