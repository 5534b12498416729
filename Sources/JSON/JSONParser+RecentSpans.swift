/// Small objects and arrays already read in one large document, by their text: when the same text
/// comes again, its value is the one already made, and the parser steps over the text without
/// reading it. A FHIR Bundle repeats most of its small objects byte for byte (every `request`, the
/// `subject` of each resource of a Patient, the codings of each code, `valueQuantity`s): about half
/// of its text and of the objects and strings a parse makes.
///
/// Exact: the same bytes are the same value (a JSON value does not depend on what surrounds it),
/// and an object or array is only found here when its bytes equal, in full, those of one that was
/// read without error. Only the nesting limit depends on where the text is: a text is taken from
/// here only when its nesting, added to the depth where it appears, stays within the limit (else it
/// is read as usual, which reports the error). The value found is shared by its places in the
/// tree as any copy of an `Array` is: a change to one place copies its storage first.
struct RecentSpans {
    private struct Slot {
        var hash: UInt64 = 0
        var start = 0
        /// 0: empty.
        var count = 0
        /// 1: no object or array inside.
        var nesting = 0
        var value: JSONValue = .null
    }

    enum Lookup {
        /// The value of the same text, and where the text ends.
        case found(JSONValue, end: Int)
        /// Not here; where to keep it once read.
        case absent(Place)
        /// Too short or too long to look for (or unterminated, or too deep here).
        case unsuitable
    }

    /// Where a text not found is to be kept, once read.
    struct Place {
        fileprivate var slot: Int
        fileprivate var hash: UInt64
        fileprivate var beginning: Int
        fileprivate var nesting: Int
        /// Where the text ends, if it is an object or array.
        var end: Int
    }

    /// The texts read, by a hash of their bytes.
    private var slots: [Slot]
    private static let slotCount = 1024
    /// By a hash of their first 16 bytes, how often texts beginning so were found lately and the
    /// slots of the last few found or kept. Those are compared in place first, which needs no scan
    /// for the text's end: the `request`s of a run of Observations, the `subject`s of one Patient.
    ///
    /// The score: a Bundle's entries and resources (`{"fullUrl":"urn:`, `{"resourceType":`) never
    /// repeat, and looking for a text's end costs a scan, of theirs and then again of each object
    /// inside them. Below `skipBelow`, the next texts with that beginning (up to `skipped` of them)
    /// are not looked up.
    private var scores: [Int8]
    private var candidates: [Int16]
    private static let beginningCount = 256
    private static let candidateCount = 4
    private static let skipBelow: Int8 = -4
    private static let skipped: Int8 = 16
    /// Shorter texts (`[]`, `{"a":1}`) cost less to read than to look up.
    static let minimumCount = 8
    /// Longer texts rarely repeat; looking for their end costs a scan.
    static let maximumCount = 256

    init() {
        slots = [Slot](repeating: Slot(), count: RecentSpans.slotCount)
        scores = [Int8](repeating: 0, count: RecentSpans.beginningCount)
        candidates = [Int16](repeating: 0, count: RecentSpans.beginningCount * RecentSpans.candidateCount)
    }

    /// The object or array whose text starts at `start` (a `{` or `[`), to be read at `depth` (its
    /// own depth, as `parseObject(depth:)` takes it).
    mutating func lookUp(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, depth: Int) -> Lookup {
        guard start + 16 <= bytes.count, let base = bytes.baseAddress else { return .unsuitable }
        let text = UnsafeRawPointer(base + start)
        let beginningHash =
            (text.loadUnaligned(as: UInt64.self) &* 0x9E37_79B9_7F4A_7C15) ^ (text.loadUnaligned(fromByteOffset: 8, as: UInt64.self) &* 0xC2B2_AE3D_27D4_EB4F)
        let beginning = Int(truncatingIfNeeded: beginningHash >> UInt64(64 - RecentSpans.beginningCount.trailingZeroBitCount))
        let score = scores[beginning]
        if score < RecentSpans.skipBelow {
            scores[beginning] = score + 1
            return .unsuitable
        }
        // The last texts found or kept with this beginning, compared in place (the whole text, so a
        // slot kept since for another text is only found if it holds the same bytes).
        let first = beginning * RecentSpans.candidateCount
        for way in 0..<RecentSpans.candidateCount {
            let slot = Int(candidates[first + way])
            let count = slots[slot].count
            guard count >= RecentSpans.minimumCount, start + count <= bytes.count, depth + slots[slot].nesting - 1 <= JSONParser.maximumDepth
            else { continue }
            let other = UnsafeRawPointer(base + slots[slot].start)
            guard text.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == other.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self),
                JSONParser.sameBytes(text, other, count: count)
            else { continue }
            if score < Int8.max { scores[beginning] = score + 1 }
            if way > 0 { remember(slot, at: beginning) }
            return .found(slots[slot].value, end: start + count)
        }
        // Not found (or too long to look for) counts against the beginning, found counts for it.
        let notFound = score > RecentSpans.skipBelow ? score - 1 : RecentSpans.skipBelow - RecentSpans.skipped
        guard let (end, nesting) = RecentSpans.extent(bytes, from: start) else {
            scores[beginning] = notFound
            return .unsuitable
        }
        let count = end - start
        guard count >= RecentSpans.minimumCount, depth + nesting - 1 <= JSONParser.maximumDepth else { return .unsuitable }
        var hash = UInt64(truncatingIfNeeded: count)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ text.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            offset += 8
        }
        if offset < count {
            // The last eight bytes, overlapping the word before (count >= 8).
            hash = (hash ^ text.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) &* 0xC2B2_AE3D_27D4_EB4F
        }
        // The top bits: after a multiply, they depend on every bit.
        let slot = Int(truncatingIfNeeded: hash >> UInt64(64 - RecentSpans.slotCount.trailingZeroBitCount))
        if slots[slot].hash == hash, slots[slot].count == count,
            JSONParser.sameBytes(text, UnsafeRawPointer(base + slots[slot].start), count: count)
        {
            if score < Int8.max { scores[beginning] = score + 1 }
            remember(slot, at: beginning)
            return .found(slots[slot].value, end: end)
        }
        scores[beginning] = notFound
        return .absent(Place(slot: slot, hash: hash, beginning: beginning, nesting: nesting, end: end))
    }

    /// Keeps `value`, read from the text at `start` that `lookUp` did not find.
    mutating func keep(_ value: JSONValue, at place: Place, start: Int) {
        slots[place.slot] = Slot(hash: place.hash, start: start, count: place.end - start, nesting: place.nesting, value: value)
        remember(place.slot, at: place.beginning)
    }

    /// `slot` first among the candidates of `beginning` (the others after it, the last dropped).
    private mutating func remember(_ slot: Int, at beginning: Int) {
        let first = beginning * RecentSpans.candidateCount
        var way = RecentSpans.candidateCount - 1
        // Where it already is, if it is: the ones before it move down one.
        for existing in 0..<RecentSpans.candidateCount where Int(candidates[first + existing]) == slot {
            way = existing
            break
        }
        while way > 0 {
            candidates[first + way] = candidates[first + way - 1]
            way -= 1
        }
        candidates[first] = Int16(truncatingIfNeeded: slot)
    }

    /// Where the object or array starting at `start` ends (exclusive) and how deeply it nests (1: no
    /// object or array inside), when within `maximumCount` bytes. Nothing is validated: a text is
    /// only ever found by comparing it in full with one that was read.
    static func extent(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (end: Int, nesting: Int)? {
        guard let base = bytes.baseAddress else { return nil }
        let limit = min(bytes.count, start + maximumCount)
        var index = start
        var depth = 0
        var deepest = 0
        while index < limit {
            let byte = base[index]
            if byte == 0x22 {
                // A string: to its closing quote.
                guard let quote = closingQuote(in: base, from: index + 1, limit: limit) else { return nil }
                index = quote
            } else if byte == 0x7B || byte == 0x5B {
                depth += 1
                if depth > deepest { deepest = depth }
            } else if byte == 0x7D || byte == 0x5D {
                depth -= 1
                if depth == 0 { return (index + 1, deepest) }
            }
            index += 1
        }
        return nil
    }
}
