/// A JSON Pointer (RFC 6901), used to name the offending field of a validation error.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, Comparable {
    public private(set) var tokens: [String]

    public init(_ tokens: [String] = []) { self.tokens = tokens }

    /// The root pointer, `""`.
    public static let root = JSONPointer()

    // One new array each (`tokens + [key]` built a second one first): the validator makes a
    // pointer for every field it reads, errors or not.
    public func appending(_ key: String) -> JSONPointer {
        var longer: [String] = []
        longer.reserveCapacity(tokens.count + 1)
        longer.append(contentsOf: tokens)
        longer.append(key)
        return JSONPointer(longer)
    }
    public func appending(_ index: Int) -> JSONPointer { appending(String(index)) }

    /// `/a/b~1c/0`: `~` becomes `~0` and `/` becomes `~1`, as RFC 6901 section 3 requires.
    public var description: String {
        var text = ""
        for token in tokens {
            text += "/"
            // Byte scan, not Foundation's `contains`/`replacingOccurrences` (a tenth of an import's time).
            guard token.utf8.contains(where: { $0 == 0x7E || $0 == 0x2F }) else {
                text += token
                continue
            }
            for character in token {
                switch character {
                case "~": text += "~0"
                case "/": text += "~1"
                default: text.append(character)
                }
            }
        }
        return text
    }

    public static func < (lhs: JSONPointer, rhs: JSONPointer) -> Bool { lhs.description < rhs.description }
}
