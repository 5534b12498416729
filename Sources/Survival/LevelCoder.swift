/// Numbers the distinct values of a text column (group keys, causes) in order of first sight,
/// with `String ==` semantics (canonical equivalence, as `Set` and `Dictionary` use).
///
/// Why not just a dictionary or `==`: a column holds a handful of short values, one per
/// subject, and hashing a `String`, or comparing two different ones, costs more per subject
/// than the statistics that follow. A `String` is two words, and two strings with the same
/// words are equal (the standard library's own first test in `==`); a short string (up to 15
/// UTF-8 bytes) is stored in those words, so every copy of it has the same words. So the words
/// of the values seen are kept in a small hash table with the value's number, and a subject's
/// value is first looked up there by integer arithmetic, without touching the string. Words not
/// in the table (a new value, a long or non-canonical one) are looked up with `==`, or with a
/// dictionary once there are many values: the table only ever finds values that `==` finds.
/// When the table is full and keeps missing (long values, each with its own storage), it is
/// switched off and every value takes the `==`/dictionary path.
struct LevelCoder {
    /// The values in order of first sight (the number of a value is its index here).
    private(set) var levels: [String] = []
    private var lookup: [String: Int] = [:]

    /// Up to this many levels a linear scan with `==` is cheaper than hashing.
    private static let linearScanLimit = 8
    /// Entries of the word table.
    private static let tableCapacity = 16
    /// Misses of a full table after which it is switched off.
    private static let missLimit = 64

    private struct Words: Equatable {
        var first: UInt64
        var second: UInt64
    }

    /// The distinct values of `values` in order of first sight, and each value's number (its
    /// index in `levels`).
    static func number(_ values: [String]) -> (levels: [String], numbers: [Int]) {
        var coder = LevelCoder()
        let n = values.count
        let numbers = values.withUnsafeBufferPointer { values in
            [Int](unsafeUninitializedCapacity: n) { out, count in
                if MemoryLayout<String>.size == MemoryLayout<Words>.size,
                    MemoryLayout<String>.stride == MemoryLayout<Words>.stride
                {
                    coder.numberByWords(values, into: out)
                } else {
                    for i in 0..<n { out[i] = coder.slowNumber(of: values[i]) }
                }
                count = n
            }
        }
        return (coder.levels, numbers)
    }

    /// The distinct values of `values` in code-point order (`<`), each value's number in order
    /// of first sight, and per number the position of its value in `levels`.
    static func numberSorted(_ values: [String]) -> (levels: [String], numbers: [Int], position: [Int]) {
        let (firstSeen, numbers) = number(values)
        let order = firstSeen.indices.sorted { firstSeen[$0] < firstSeen[$1] }
        var position = [Int](repeating: 0, count: firstSeen.count)
        for (k, number) in order.enumerated() { position[number] = k }
        return (order.map { firstSeen[$0] }, numbers, position)
    }

    private mutating func numberByWords(_ values: UnsafeBufferPointer<String>, into out: UnsafeMutableBufferPointer<Int>) {
        let words = UnsafeRawBufferPointer(values)
        // Open addressing on a hash of the words, a quarter full at most: the value at a slot
        // is nearly always the one looked for, so the branch is predictable even when the
        // values come in random order (a scan would stop at a different entry each time).
        let slots = 4 * Self.tableCapacity
        let tableWords = UnsafeMutablePointer<Words>.allocate(capacity: slots)
        defer { tableWords.deallocate() }
        tableWords.initialize(repeating: Words(first: 0, second: 0), count: slots)
        let tableNumbers = UnsafeMutablePointer<Int>.allocate(capacity: slots)
        defer { tableNumbers.deallocate() }
        tableNumbers.initialize(repeating: -1, count: slots)
        var entries = 0
        var misses = 0
        for i in 0..<values.count {
            let w = words.load(fromByteOffset: i * MemoryLayout<String>.stride, as: Words.self)
            var slot = Self.slot(of: w, count: slots)
            var number = -1
            while tableNumbers[slot] >= 0 {
                if tableWords[slot] == w {
                    number = tableNumbers[slot]
                    break
                }
                slot = (slot + 1) & (slots - 1)
            }
            if number < 0 {
                number = slowNumber(of: values[i])
                if entries < Self.tableCapacity {
                    tableWords[slot] = w
                    tableNumbers[slot] = number
                    entries += 1
                } else {
                    misses += 1
                    if misses > Self.missLimit {
                        out[i] = number
                        for j in (i + 1)..<max(values.count, i + 1) { out[j] = slowNumber(of: values[j]) }
                        return
                    }
                }
            }
            out[i] = number
        }
    }

    /// A slot in 0..<count (a power of two) from the words (multiplicative hashing).
    private static func slot(of w: Words, count: Int) -> Int {
        let mixed = (w.first &* 0x9E37_79B9_7F4A_7C15) ^ (w.second &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: ((mixed ^ (mixed >> 29)) &* 0x94D0_49BB_1331_11EB) >> 58) & (count - 1)
    }

    private mutating func slowNumber(of value: String) -> Int {
        if levels.count <= Self.linearScanLimit {
            for (k, seen) in levels.enumerated() where seen == value { return k }
        } else if let k = lookup[value] {
            return k
        }
        let k = levels.count
        levels.append(value)
        lookup[value] = k
        return k
    }
}
