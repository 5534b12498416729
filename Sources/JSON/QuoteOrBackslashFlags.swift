/// The high bit of each byte of `word` that may be a quote or a backslash; the lowest flagged
/// byte is always a true one (bytes above it can be false alarms from the borrow), so scanners
/// step to `flagged.trailingZeroBitCount >> 3` and look at that byte.
@inline(__always)
func quoteOrBackslashFlags(_ word: UInt64) -> UInt64 {
    let quotes = word ^ 0x2222_2222_2222_2222
    let backslashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
    return ((quotes &- 0x0101_0101_0101_0101) & ~quotes | (backslashes &- 0x0101_0101_0101_0101) & ~backslashes)
        & 0x8080_8080_8080_8080
}
