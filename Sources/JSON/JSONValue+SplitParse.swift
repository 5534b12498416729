import Dispatch

extension JSONValue {
    /// Parses `bytes` exactly as `parse(_:)` does (the same value, or the same error), but a large
    /// document whose top level is an object holding a large array `member` (a FHIR Bundle's
    /// `entry`) has the two halves of that array parsed on two threads. Parsing is a third of a FHIR
    /// POST and the request waits for it; on two cores this halves that wait.
    ///
    /// How: one scan of strings and brackets finds the top-level members and an element boundary
    /// near the middle of the array; every member name, member value and half array is then parsed
    /// strictly by the same parser, at the depth it has in the whole document. If the document
    /// composed of those verified pieces is anything unusual (not an object, a repeated member name,
    /// an empty half, any piece that does not parse), the whole document is parsed again the usual
    /// way, which gives the usual error.
    public static func parse(
        _ bytes: [UInt8], splittingArrayMember member: String, minimumBytes: Int = 256 * 1024
    ) throws(JSONParseError) -> JSONValue {
        if bytes.count >= minimumBytes,
            let value = bytes.withUnsafeBufferPointer({ SplitParse(bytes: $0, member: Array(member.utf8)).parse() })
        {
            return value
        }
        return try parse(bytes)
    }
}

/// The top-level scan and the parse of its pieces (see `JSONValue.parse(_:splittingArrayMember:)`).
/// Returns nil whenever the document is not a well-formed object it can split.
struct SplitParse {
    let bytes: UnsafeBufferPointer<UInt8>
    let member: [UInt8]

    struct Member {
        var name: Range<Int>
        var value: Range<Int>
        /// For the array `member`: the index of the comma between its two halves.
        var splitComma: Int?
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private func skipSpaces(_ index: inout Int) {
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
    }

    /// The index after the closing quote of the string whose opening quote is at `start`.
    private func stringEnd(_ start: Int) -> Int? {
        guard let base = bytes.baseAddress, let quote = closingQuote(in: base, from: start + 1, limit: bytes.count) else { return nil }
        return quote + 1
    }

    /// The end (exclusive) of the value starting at `start`, and, when `split` and the value is an
    /// array, the comma between two of its elements nearest to its middle. Nothing is validated
    /// here: the parser does that on each piece.
    private func valueEnd(_ start: Int, split: Bool) -> (end: Int, comma: Int?)? {
        guard start < bytes.count else { return nil }
        var commas: [Int] = []
        var index = start
        var depth = 0
        switch bytes[start] {
        case 0x22:
            guard let end = stringEnd(start) else { return nil }
            return (end, nil)
        case 0x7B, 0x5B:
            break
        default:  // a number or literal: up to the next delimiter
            while index < bytes.count {
                switch bytes[index] {
                case 0x2C, 0x7D, 0x5D, 0x20, 0x0A, 0x0D, 0x09: return (index, nil)
                default: index += 1
                }
            }
            return (index, nil)
        }
        let splitting = split && bytes[start] == 0x5B
        while index < bytes.count {
            switch bytes[index] {
            case 0x22:
                guard let end = stringEnd(index) else { return nil }
                index = end
                continue
            case 0x7B, 0x5B:
                depth += 1
            case 0x7D, 0x5D:
                depth -= 1
                if depth == 0 {
                    let middle = (start + index) / 2
                    return (index + 1, commas.min { abs($0 - middle) < abs($1 - middle) })
                }
            case 0x2C:
                if splitting, depth == 1 { commas.append(index) }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// Where the array starting at `start` ends and a comma between two of its elements near its
    /// middle, guessed without reading the array (reading it was a tenth of the parse, on one
    /// thread): when the array is the document's last member it ends at the `]` before the final
    /// `}`; when its elements are objects that begin with the same member name (a Bundle's
    /// `{"fullUrl":`), `}`, `,`, `{` and that name, found from the middle on, are most likely
    /// between two elements. Only a guess: the parse of the two halves checks it, and when either
    /// does not parse, `parse` reads the document again with `scan(guessing: false)`.
    private func guessedSplit(_ start: Int) -> (end: Int, comma: Int)? {
        var last = bytes.count - 1
        while last > start, Self.isSpace(bytes[last]) { last -= 1 }
        guard last > start, bytes[last] == 0x7D else { return nil }
        last -= 1
        while last > start, Self.isSpace(bytes[last]) { last -= 1 }
        guard last > start, bytes[last] == 0x5D else { return nil }
        // The first element's first member name, quotes included.
        var index = start + 1
        skipSpaces(&index)
        guard index < last, bytes[index] == 0x7B else { return nil }
        index += 1
        skipSpaces(&index)
        guard index < last, bytes[index] == 0x22, let nameEnd = stringEnd(index), nameEnd < last else { return nil }
        let name = index..<nameEnd
        var candidate = (start + last) / 2
        while candidate < last {
            defer { candidate += 1 }
            guard bytes[candidate] == 0x7D else { continue }
            var next = candidate + 1
            skipSpaces(&next)
            guard next < last, bytes[next] == 0x2C else { continue }
            let comma = next
            next += 1
            skipSpaces(&next)
            guard next < last, bytes[next] == 0x7B else { continue }
            next += 1
            skipSpaces(&next)
            guard next + name.count < last, name.indices.allSatisfy({ bytes[next + $0 - name.lowerBound] == bytes[$0] }) else { continue }
            return (last + 1, comma)
        }
        return nil
    }

    /// The top-level members, or nil when the document is not `{ "name": value, ... }` with the
    /// array `member` among them. `guessing`: the array's end and split found by `guessedSplit`
    /// when it finds them.
    func scan(guessing: Bool) -> (members: [Member], guessed: Bool)? {
        var index = 0
        skipSpaces(&index)
        guard index < bytes.count, bytes[index] == 0x7B else { return nil }
        index += 1
        var members: [Member] = []
        var splitFound = false
        var guessedAny = false
        while true {
            skipSpaces(&index)
            guard index < bytes.count, bytes[index] == 0x22, let nameEnd = stringEnd(index) else { return nil }
            let name = index..<nameEnd
            index = nameEnd
            skipSpaces(&index)
            guard index < bytes.count, bytes[index] == 0x3A else { return nil }
            index += 1
            skipSpaces(&index)
            let isMember = name.count == member.count + 2 && member.indices.allSatisfy { bytes[name.lowerBound + 1 + $0] == member[$0] }
            let guessed = guessing && isMember && !splitFound ? guessedSplit(index) : nil
            guard let (end, comma) = guessed ?? valueEnd(index, split: isMember && !splitFound) else { return nil }
            if guessed != nil { guessedAny = true }
            if comma != nil { splitFound = true }
            members.append(Member(name: name, value: index..<end, splitComma: comma))
            index = end
            skipSpaces(&index)
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x7D else { return nil }
            index += 1
            skipSpaces(&index)
            guard index == bytes.count, splitFound else { return nil }
            return (members, guessedAny)
        }
    }

    /// `[` + the bytes of `range` + `]`: one half of the array, as a document of its own.
    private func bracketed(_ range: Range<Int>) -> [UInt8] {
        var half: [UInt8] = []
        half.reserveCapacity(range.count + 2)
        half.append(0x5B)
        half.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        half.append(0x5D)
        return half
    }

    private func piece(_ range: Range<Int>, depth: Int) -> JSONValue? {
        try? JSONParser.parse(UnsafeBufferPointer(rebasing: bytes[range]), depth: depth)
    }

    func parse() -> JSONValue? {
        guard let (members, guessed) = scan(guessing: true) else { return nil }
        if let value = parse(members) { return value }
        // A wrong guess (or a document that is not valid JSON): read it again, without guessing.
        guard guessed, let (members, _) = scan(guessing: false) else { return nil }
        return parse(members)
    }

    private func parse(_ members: [Member]) -> JSONValue? {
        var object = JSONObject(minimumCapacity: members.count)
        for member in members {
            guard case .string(let name)? = piece(member.name, depth: 0) else { return nil }
            let value: JSONValue
            if let comma = member.splitComma {
                // The array's elements sit at depth 3 of the whole (object 1, array 2): each half
                // is parsed as an array at depth 2, as the whole array would be.
                let second = bracketed(comma + 1..<member.value.upperBound - 1)
                let secondResult = HalfResult()
                let group = DispatchGroup()
                DispatchQueue.global().async(group: group) {
                    secondResult.value = second.withUnsafeBufferPointer { try? JSONParser.parse($0, depth: 1) }
                }
                let first = bracketed(member.value.lowerBound + 1..<comma)
                let firstValue = first.withUnsafeBufferPointer { try? JSONParser.parse($0, depth: 1) }
                group.wait()
                // `[a,]` or `[,b]` split at their comma would give halves that parse alone.
                guard case .array(let firstItems)? = firstValue, case .array(let secondItems)? = secondResult.value,
                    !firstItems.isEmpty, !secondItems.isEmpty
                else { return nil }
                value = .array(firstItems + secondItems)
            } else {
                guard let parsed = piece(member.value, depth: 1) else { return nil }
                value = parsed
            }
            // A repeated name is an error of the whole document: the usual parse reports it.
            guard object.updateValue(value, forKey: name) == nil else { return nil }
        }
        return .object(object)
    }
}

/// The second half's value, written by the other thread before `DispatchGroup.wait` returns.
private final class HalfResult: @unchecked Sendable {
    var value: JSONValue?
}
