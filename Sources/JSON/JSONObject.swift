/// The members of a JSON object: unique names, each with a value, kept in the order they were
/// read or added.
///
/// Not a `Dictionary` because most objects are small (a FHIR coding has two or three members) and
/// read a few times: a dictionary hashes every name on insert and on every lookup and allocates a
/// hash table per object, which was a fifth of a FHIR POST. Here the members are one array, and a
/// lookup compares names (a short ASCII name compares in a few instructions); only an object of
/// more than `indexedFrom` members also keeps an index of its names.
///
/// Names are compared as `String` compares them (as a dictionary did): canonically equivalent
/// names are the same name. Equality and hashing ignore the order of the members, as a
/// dictionary's did; the order is kept for nothing but speed (writers sort names, see
/// `JSONValue.write`).
public struct JSONObject: Sendable {
    /// One member. A struct, not a tuple: an array of tuples is destroyed and copied through the
    /// runtime's generic tuple code, which cost more than the members' own work.
    public struct Member: Sendable {
        public var key: String
        public var value: JSONValue
    }

    /// Past this many members, `positions` indexes the names.
    static let indexedFrom = 16

    private(set) var members: [Member]
    /// The position of each name in `members`, when there are more than `indexedFrom` of them.
    private var positions: [String: Int]?

    public init() {
        members = []
    }

    public init(minimumCapacity: Int) {
        members = []
        members.reserveCapacity(minimumCapacity)
    }

    public init(_ dictionary: [String: JSONValue]) {
        members = dictionary.map { Member(key: $0.key, value: $0.value) }
        positions = JSONObject.index(of: members)
    }

    /// Members whose names the caller has checked to be unique (the parser), with their index
    /// when it made one.
    init(uniqueMembers: [Member], positions: [String: Int]?) {
        self.members = uniqueMembers
        self.positions = uniqueMembers.count > JSONObject.indexedFrom ? (positions ?? JSONObject.index(of: uniqueMembers)) : nil
    }

    private static func index(of members: [Member]) -> [String: Int]? {
        guard members.count > indexedFrom else { return nil }
        var positions = [String: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() { positions[member.key] = position }
        return positions
    }

    /// Where the member `key` is, if there is one.
    public func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        var position = 0
        let count = members.count
        if JSONObject.isSmallASCII(key) {
            // Nearly every name and every name looked up: compared by their two words.
            let words = JSONObject.words(of: key)
            while position < count {
                if JSONObject.isSmallASCII(members[position].key) {
                    if JSONObject.words(of: members[position].key) == words { return position }
                } else if members[position].key == key {
                    return position
                }
                position += 1
            }
            return nil
        }
        while position < count {
            if members[position].key == key { return position }
            position += 1
        }
        return nil
    }

    /// A String's two words as stored. A string of up to 15 ASCII bytes is stored in them whole
    /// (its bytes, then its count and a flag byte saying small and ASCII), so two such strings are
    /// equal exactly when their words are: ASCII text has no other canonically equivalent
    /// spelling. That spares the out-of-line `String ==` for every name passed over in a lookup
    /// (a FHIR mapping looks up each member of each resource). Any other string is compared with
    /// `==`, as before.
    @inline(__always)
    static func words(of string: String) -> (UInt64, UInt64) {
        unsafeBitCast(string, to: (UInt64, UInt64).self)
    }

    /// Whether `string` is held inline as at most 15 ASCII bytes (its flag byte's top three bits:
    /// immortal, ASCII, small; see the standard library's `_StringObject`).
    @inline(__always)
    static func isSmallASCII(_ string: String) -> Bool {
        words(of: string).1 >> 61 == 0b111
    }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            if let newValue {
                updateValue(newValue, forKey: key)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Sets the member `key`, and returns the value it replaced (nil when the member is new).
    @discardableResult
    public mutating func updateValue(_ value: JSONValue, forKey key: String) -> JSONValue? {
        if let position = position(of: key) {
            let old = members[position].value
            members[position].value = value
            return old
        }
        members.append(Member(key: key, value: value))
        if positions != nil {
            positions![key] = members.count - 1
        } else if members.count > JSONObject.indexedFrom {
            positions = JSONObject.index(of: members)
        }
        return nil
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        let old = members.remove(at: position).value
        positions = JSONObject.index(of: members)
        return old
    }

    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        members.reserveCapacity(minimumCapacity)
    }

    public var keys: LazyMapSequence<[Member], String> { members.lazy.map(\.key) }
    public var values: LazyMapSequence<[Member], JSONValue> { members.lazy.map(\.value) }

    /// The members ordered by name, as `String` orders them (the order JSON is written in).
    public func sortedMembers() -> [Member] {
        members.sorted { $0.key < $1.key }
    }

    /// The same members in a dictionary.
    public var dictionary: [String: JSONValue] {
        var dictionary = [String: JSONValue](minimumCapacity: members.count)
        for member in members { dictionary[member.key] = member.value }
        return dictionary
    }
}

extension JSONObject: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { members.count }
    /// A (key, value) tuple, so that `for (key, value) in object` reads as it did over a dictionary.
    public subscript(position: Int) -> (key: String, value: JSONValue) {
        let member = members[position]
        return (member.key, member.value)
    }
}

extension JSONObject: Hashable {
    /// The same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (position, member) in lhs.members.enumerated() {
            // Objects read from the same text or built the same way have their members in the same order.
            if position < rhs.members.count, rhs.members[position].key == member.key {
                guard rhs.members[position].value == member.value else { return false }
                continue
            }
            guard let value = rhs[member.key], value == member.value else { return false }
        }
        return true
    }

    /// Independent of the order of the members, as `==` is.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for member in members {
            var memberHasher = Hasher()
            memberHasher.combine(member.key)
            memberHasher.combine(member.value)
            combined ^= memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// A name given twice keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(minimumCapacity: elements.count)
        for (key, value) in elements { self[key] = value }
    }
}

extension JSONObject: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try [String: JSONValue](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try dictionary.encode(to: encoder)
    }
}
