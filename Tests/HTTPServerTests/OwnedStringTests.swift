import Foundation
@testable import HTTPServer
import Testing

/// `ownedString` builds short values in place; it must give exactly what `String(cString:)` gives,
/// invalid UTF-8 repaired the same way, at every length around the small-string limit (15 bytes).
@Suite struct OwnedStringTests {
    @Test func equalsStringFromCStringForEveryLengthAndForInvalidUTF8() {
        var samples: [[UInt8]] = []
        for length in 0...40 { samples.append((0..<length).map { UInt8(0x61 + $0 % 26) }) }
        samples += [
            Array("127.0.0.1:18092".utf8), Array("café".utf8), Array("ÄÖÜ-äöü-ß".utf8), Array("日本語のヘッダー".utf8),
            [0xFF], [0x61, 0xC3], [0xE2, 0x82], Array(repeating: 0x80, count: 15), Array(repeating: 0xFE, count: 16),
            [0x61, 0xF0, 0x9F, 0x98, 0x80, 0x62],
        ]
        for bytes in samples {
            let terminated = bytes.map { CChar(bitPattern: $0) } + [0]
            terminated.withUnsafeBufferPointer { buffer in
                let made = ownedString(buffer.baseAddress!)
                let expected = String(cString: buffer.baseAddress!)
                #expect(made == expected, "\(bytes)")
                #expect(Array(made.utf8) == Array(expected.utf8), "\(bytes)")
            }
        }
    }
}
