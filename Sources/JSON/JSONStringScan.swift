/// The index of the closing quote of a JSON string whose text begins at `index` (just after its
/// opening quote), stepping over escapes; nil when `limit` comes first. Nothing is validated: the
/// split and recent-span scans use it to find where a string ends before the parser reads it.
@inline(__always)
func closingQuote(in base: UnsafePointer<UInt8>, from index: Int, limit: Int) -> Int? {
    var index = index
    while true {
        // Eight bytes at a time up to a quote or backslash (most of a document's bytes are inside
        // strings).
        if index + 8 <= limit {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let flagged = quoteOrBackslashFlags(word)
            if flagged == 0 {
                index += 8
                continue
            }
            index += flagged.trailingZeroBitCount >> 3
        }
        guard index < limit else { return nil }
        if base[index] == 0x22 { return index }
        index += base[index] == 0x5C ? 2 : 1
    }
}

/// The high bit of each byte of `word` that may be a quote or a backslash; the lowest flagged
/// byte is always a true one (bytes above it can be false alarms from the borrow), so a scan
/// steps to `flagged.trailingZeroBitCount >> 3` and looks at that byte.
@inline(__always)
private func quoteOrBackslashFlags(_ word: UInt64) -> UInt64 {
    let quotes = word ^ 0x2222_2222_2222_2222
    let backslashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
    return ((quotes &- 0x0101_0101_0101_0101) & ~quotes | (backslashes &- 0x0101_0101_0101_0101) & ~backslashes)
        & 0x8080_8080_8080_8080
}
