/// Values found by a name of one or two parts (a field path; a code system and a code), hashed over
/// the names' bytes (FNV-1a) instead of `String`'s seeded hash: the mapping looks up a few names per
/// resource, and hashing a code system URL the standard way cost more than reading the resource.
///
/// Names are compared as `String` compares them (canonically equivalent names are the same name),
/// exactly: when every name of the index is ASCII and so is the one looked up, equivalence is
/// byte equality (an ASCII text is its own normal form), so the bytes decide; any other lookup
/// (a non-ASCII name, or an index with one) goes through a `Dictionary`, as before this index.
struct NameIndex<Value: Sendable>: Sendable {
    /// A name of one or two parts.
    struct Name: Hashable, Sendable {
        let first: String
        let second: String
    }

    private let dictionary: [Name: Value]
    /// Open addressing, a power of two long: the name's place in `spans` (-1: empty).
    private let slots: [Int]
    /// Every name's bytes, one after the other; each name's span in them.
    private let bytes: [UInt8]
    private let spans: [Span]
    private let values: [Value]
    private let allASCII: Bool

    private struct Span: Sendable {
        let start: Int
        let firstCount: Int
        let secondCount: Int
    }

    /// The first value given for each name is kept.
    init(_ entries: [(Name, Value)]) {
        var dictionary: [Name: Value] = [:]
        var bytes: [UInt8] = []
        var spans: [Span] = []
        var hashes: [Int] = []
        var values: [Value] = []
        for (name, value) in entries where dictionary[name] == nil {
            dictionary[name] = value
            let first = Array(name.first.utf8)
            let second = Array(name.second.utf8)
            spans.append(Span(start: bytes.count, firstCount: first.count, secondCount: second.count))
            bytes += first + second
            hashes.append(Self.hash(first, second))
            values.append(value)
        }
        var capacity = 8
        while capacity < spans.count * 2 { capacity *= 2 }
        var slots = [Int](repeating: -1, count: capacity)
        for (position, hash) in hashes.enumerated() {
            var slot = hash & (capacity - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = position
        }
        self.dictionary = dictionary
        self.slots = slots
        self.bytes = bytes
        self.spans = spans
        self.values = values
        self.allASCII = bytes.allSatisfy { $0 < 0x80 }
    }

    init(_ entries: [(String, Value)]) {
        self.init(entries.map { (Name(first: $0.0, second: ""), $0.1) })
    }

    /// FNV-1a over the first part, a separator, then the second part.
    static func hash(_ first: some Sequence<UInt8>, _ second: some Sequence<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in first { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0xFF) &* 0x100_0000_01b3
        for byte in second { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }

    subscript(_ name: String) -> Value? { self[name, ""] }

    subscript(_ first: String, _ second: String) -> Value? {
        if allASCII, let found = asciiLookUp(first, second) { return found }
        return dictionary[Name(first: first, second: second)]
    }

    /// The value of an ASCII name (`.some(nil)`: none), or nil when a part is not ASCII (or not
    /// stored contiguously).
    private func asciiLookUp(_ first: String, _ second: String) -> Value?? {
        let found = first.utf8.withContiguousStorageIfAvailable { firstBytes in
            second.utf8.withContiguousStorageIfAvailable { secondBytes in lookUp(firstBytes, secondBytes) } ?? nil
        }
        return found ?? nil
    }

    private func lookUp(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Value?? {
        // The hash of `hash(_:_:)` and whether every byte is ASCII, in one pass over each part.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt8 = 0
        for byte in first {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            high |= byte
        }
        hash = (hash ^ 0xFF) &* 0x100_0000_01b3
        for byte in second {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            high |= byte
        }
        guard high < 0x80 else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
        return bytes.withUnsafeBufferPointer { stored -> Value?? in
            while true {
                let position = slots[slot]
                if position < 0 { return .some(nil) }
                let span = spans[position]
                if span.firstCount == first.count, span.secondCount == second.count,
                    Self.same(stored.baseAddress! + span.start, first),
                    Self.same(stored.baseAddress! + span.start + span.firstCount, second)
                {
                    return .some(values[position])
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Whether `part.count` bytes from `stored` are those of `part`.
    private static func same(_ stored: UnsafePointer<UInt8>, _ part: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let bytes = part.baseAddress else { return true }
        var index = 0
        while index < part.count {
            if stored[index] != bytes[index] { return false }
            index &+= 1
        }
        return true
    }
}
