import Classification
import JSON

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Collects the fields of one case by dotted path, with the element each came from.
struct CaseBuilder {
    let patientExpression: String
    private var scalars: [String: (value: JSONValue, path: String)] = [:]
    private var arrays: [String: [(value: JSONValue, path: String)]] = [:]
    private var empty: [String: String] = [:]
    private(set) var issues: [OutcomeIssue] = []

    init(patientExpression: String) { self.patientExpression = patientExpression }

    var externalID: String? { scalars["external_id"]?.value.stringValue }

    func has(_ field: String) -> Bool { scalars[field] != nil }
    func value(_ field: String) -> JSONValue? { scalars[field]?.value }

    /// A scalar field; the same field given again with another value is a conflict (both named).
    mutating func set(_ field: String, _ value: JSONValue, at path: String) {
        // Room for a case's usual fields at once, rather than growing (and rehashing) five times.
        if scalars.isEmpty { scalars.reserveCapacity(24) }
        // Inserted with one lookup; a field given before keeps its first value (put back).
        guard let existing = scalars.updateValue((value, path), forKey: field) else { return }
        scalars[field] = existing
        if existing.value != value && existing.path != path {
            issues.append(
                OutcomeIssue(
                    code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [existing.path, path],
                    diagnostics: "\(field): \(MappingCode.conflictingValues): two elements give this field different values; send one."))
        }
    }

    mutating func append(_ field: String, _ value: JSONValue, at path: String) {
        arrays[field, default: []].append((value, path))
    }

    /// `urn:icmm:value none` on an array field: the list is empty (e.g. FISH done, nothing found).
    mutating func markEmpty(_ field: String, at path: String) { empty[field] = path }

    /// The case, with the conflicts found while building it.
    func build() -> (MappedCase, [OutcomeIssue]) {
        // Every field as its keys and value; the objects are then made once each, from the fields
        // grouped by key (sorted), rather than by setting one field at a time into nested objects.
        var leaves: [Leaf] = []
        leaves.reserveCapacity(scalars.count + empty.count + arrays.count)
        var ranks: [Int?] = []
        ranks.reserveCapacity(leaves.capacity)
        var provenance: [String: String] = [:]
        provenance.reserveCapacity(scalars.count + arrays.count * 3)
        for (field, entry) in scalars {
            let (keys, pointer, rank) = CaseField.keysPointerAndRank(field)
            leaves.append((keys[...], entry.value))
            ranks.append(rank)
            provenance[pointer] = entry.path
        }
        var issues = self.issues
        for (field, path) in empty {
            if let elements = arrays[field], !elements.isEmpty {
                issues.append(
                    OutcomeIssue(
                        code: "business-rule", registryCode: MappingCode.conflictingValues, expression: [path, elements[0].path],
                        diagnostics: "\(field): \(MappingCode.conflictingValues): urn:icmm:value none (an empty list) together with elements."))
                continue
            }
            let (keys, pointer, rank) = CaseField.keysPointerAndRank(field)
            leaves.append((keys[...], .array([])))
            ranks.append(rank)
            provenance[pointer] = path
        }
        for (field, elements) in arrays {
            let (keys, pointer, rank) = CaseField.keysPointerAndRank(field)
            leaves.append((keys[...], .array(elements.map(\.value))))
            ranks.append(rank)
            provenance[pointer] = elements[0].path
            for (index, element) in elements.enumerated() { provenance[pointer + "/\(index)"] = element.path }
        }
        Self.sort(&leaves, ranks: ranks)
        let json = Self.object(leaves[...])
        return (MappedCase(externalID: externalID, json: json, patientExpression: patientExpression, provenance: provenance), issues)
    }

    /// A field of the case: its keys (still to place) and value.
    typealias Leaf = (keys: ArraySlice<String>, value: JSONValue)

    /// Orders leaves so that those sharing a first key (at every level) are adjacent, as `object`
    /// needs: by their field's place in the data dictionary (`ranks`, from `CaseField`, whose order keeps
    /// every group together), else, when a field is not in it, by keys.
    static func sort(_ leaves: inout [Leaf], ranks: [Int?]) {
        var ranked: [(rank: Int, index: Int)] = []
        ranked.reserveCapacity(ranks.count)
        for (index, rank) in ranks.enumerated() {
            guard let rank else {
                leaves.sort { $0.keys.lexicographicallyPrecedes($1.keys) }
                return
            }
            ranked.append((rank, index))
        }
        ranked.sort { $0.rank < $1.rank }
        leaves = ranked.map { leaves[$0.index] }
    }

    /// The object of leaves sorted by keys: a leaf of one key is a member; the leaves that share a
    /// first key make the object under it.
    static func object(_ leaves: ArraySlice<Leaf>) -> JSONValue {
        var members = JSONObject(minimumCapacity: leaves.count)
        var position = leaves.startIndex
        while position < leaves.endIndex {
            let key = leaves[position].keys.first!
            if leaves[position].keys.count == 1 {
                members[key] = leaves[position].value
                position += 1
                continue
            }
            var children: [Leaf] = []
            while position < leaves.endIndex, leaves[position].keys.count > 1, leaves[position].keys.first == key {
                children.append((leaves[position].keys.dropFirst(), leaves[position].value))
                position += 1
            }
            members[key] = object(children[...])
        }
        return .object(members)
    }
}
