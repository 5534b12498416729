import JSON

/// The serialized JSON text of a case's data and classification: what a write stores.
struct SerializedParts: Sendable, Equatable {
    /// `data.serializedString()`.
    let data: String
    /// `classification.serializedString()`.
    let classification: String
}

extension StoredCase {
    /// The API representation as JSON text: exactly the bytes of `toJSON()` serialized (keys sorted).
    /// A case just written carries its data and classification as serialized for storage; their
    /// text is then spliced with the added members instead of building and serializing the whole
    /// object a second time (that was an eighth of the CPU of a POST /v1/cases).
    public func representation() -> [UInt8] {
        if let serialized, let spliced = splicedRepresentation(serialized) { return spliced }
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        toJSON().write(into: &out)
        return out
    }

    /// The members `toJSON()` adds to the data's, in the order `JSONValue.write` sorts keys (by
    /// their bytes; all ASCII). A data member with one of these keys is replaced, as in `toJSON()`.
    private static let addedKeys: [StaticString] = [
        "classification", "created_at", "engine_version", "id", "site", "updated_at", "version",
    ]

    private func writeAddedValue(_ index: Int, _ classificationText: String, into out: inout [UInt8]) {
        switch index {
        case 0: out.append(contentsOf: classificationText.utf8)
        case 1: JSONValue.string(createdAt).write(into: &out)
        case 2: JSONValue.string(engineVersion).write(into: &out)
        case 3: JSONValue.string(id).write(into: &out)
        case 4: JSONValue.string(site).write(into: &out)
        case 5: JSONValue.string(updatedAt).write(into: &out)
        default: JSONValue.number(Double(version)).write(into: &out)
        }
    }

    /// The data object's members merged with the added ones in key order; nil when the data text
    /// is not a plain object of ASCII keys without escapes (then the caller serializes as before).
    private func splicedRepresentation(_ parts: SerializedParts) -> [UInt8]? {
        var dataText = parts.data
        return dataText.withUTF8 { data -> [UInt8]? in
            guard let members = Self.topLevelMembers(data) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(data.count + parts.classification.utf8.count + 256)
            out.append(0x7B)
            var next = 0
            func appendMember(_ member: TopLevelMember) {
                if out.count > 1 { out.append(0x2C) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: data[member.start..<member.end]))
            }
            for (index, key) in Self.addedKeys.enumerated() {
                let keyBytes = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
                while next < members.count {
                    let dataKey = UnsafeBufferPointer(rebasing: data[members[next].key])
                    if dataKey.lexicographicallyPrecedes(keyBytes) {
                        appendMember(members[next])
                        next += 1
                    } else {
                        if dataKey.elementsEqual(keyBytes) { next += 1 }
                        break
                    }
                }
                if out.count > 1 { out.append(0x2C) }
                out.append(0x22)
                out.append(contentsOf: keyBytes)
                out.append(0x22)
                out.append(0x3A)
                writeAddedValue(index, parts.classification, into: &out)
            }
            while next < members.count {
                appendMember(members[next])
                next += 1
            }
            out.append(0x7D)
            return out
        }
    }

    /// One member of a compact JSON object's text: `"key":value` from `start` to `end`, the key's
    /// bytes (without quotes) at `key`.
    struct TopLevelMember: Equatable {
        let start: Int
        let end: Int
        let key: Range<Int>
    }

    /// The members of a compact JSON object as `JSONValue.write` produces it, in order; nil for
    /// anything else (whitespace, a key with an escape or a non-ASCII byte, unbalanced text).
    static func topLevelMembers(_ text: UnsafeBufferPointer<UInt8>) -> [TopLevelMember]? {
        let n = text.count
        guard n >= 2, text[0] == 0x7B, text[n - 1] == 0x7D else { return nil }
        var members: [TopLevelMember] = []
        members.reserveCapacity(16)
        if n == 2 { return members }
        var i = 1
        while true {
            guard i < n, text[i] == 0x22 else { return nil }
            let start = i
            i += 1
            let keyStart = i
            while i < n, text[i] != 0x22 {
                guard text[i] != 0x5C, text[i] < 0x80 else { return nil }
                i += 1
            }
            guard i < n else { return nil }
            let keyEnd = i
            i += 1
            guard i < n, text[i] == 0x3A else { return nil }
            i += 1
            // The value: up to the comma or closing brace at this depth, skipping strings whole.
            var depth = 0
            scan: while i < n {
                switch text[i] {
                case 0x22:
                    i += 1
                    while i < n, text[i] != 0x22 { i += text[i] == 0x5C ? 2 : 1 }
                    guard i < n else { return nil }
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D:
                    if depth == 0 { break scan }
                    depth -= 1
                case 0x2C where depth == 0: break scan
                default: break
                }
                i += 1
            }
            guard i < n, i > keyEnd + 2 else { return nil }
            members.append(TopLevelMember(start: start, end: i, key: keyStart..<keyEnd))
            if text[i] == 0x2C {
                i += 1
                continue
            }
            // The object's closing brace: it must be the last byte.
            return i == n - 1 ? members : nil
        }
    }
}
