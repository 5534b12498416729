import Foundation
import Testing

@testable import Survival

/// A parsed JSON document, for tolerant comparison of reports with R's fixtures.
enum JSONTree: Decodable, CustomStringConvertible {
    case null
    case number(Double)
    case string(String)
    case bool(Bool)
    case array([JSONTree])
    case object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !array.isAtEnd { items.append(try array.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var items: [String: JSONTree] = [:]
            for key in object.allKeys { items[key.stringValue] = try object.decode(JSONTree.self, forKey: key) }
            self = .object(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    subscript(key: String) -> JSONTree? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var array: [JSONTree] {
        if case .array(let a) = self { return a }
        return []
    }

    var number: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return "\(b)"
        case .array(let a): return "[\(a.count) items]"
        case .object(let o): return "{\(o.keys.sorted().joined(separator: ","))}"
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func parse(_ data: Data) throws -> JSONTree {
        try JSONDecoder().decode(JSONTree.self, from: data)
    }
}

/// Compares two JSON trees: same keys, same array lengths, equal strings, numbers within
/// `tolerance(path)` relative (with an absolute floor of 1e-12, except for p-values, which are
/// compared relatively all the way down), null only against null.
func differences(
    _ actual: JSONTree, _ expected: JSONTree, path: String = "$",
    relativeTolerance: (String) -> Double
) -> [String] {
    switch (actual, expected) {
    case (.null, .null): return []
    case (.number(let a), .number(let e)):
        let key = path.split(separator: ".").last.map(String.init) ?? ""
        let floor = key.hasPrefix("p_") ? 1e-300 : 1e-12
        let tol = max(floor, relativeTolerance(path) * max(abs(a), abs(e)))
        return abs(a - e) <= tol ? [] : ["\(path): \(a) vs R \(e) (rel \(abs(a - e) / max(abs(e), 1e-300)))"]
    case (.string(let a), .string(let e)):
        return a == e ? [] : ["\(path): \"\(a)\" vs R \"\(e)\""]
    case (.bool(let a), .bool(let e)):
        return a == e ? [] : ["\(path): \(a) vs R \(e)"]
    case (.array(let a), .array(let e)):
        if a.count != e.count { return ["\(path): \(a.count) items vs R \(e.count)"] }
        return zip(a, e).enumerated().flatMap { i, pair in
            differences(pair.0, pair.1, path: "\(path)[\(i)]", relativeTolerance: relativeTolerance)
        }
    case (.object(let a), .object(let e)):
        var out: [String] = []
        for key in Set(a.keys).union(e.keys).sorted() {
            switch (a[key], e[key]) {
            case (let x?, let y?):
                out += differences(x, y, path: "\(path).\(key)", relativeTolerance: relativeTolerance)
            case (nil, _): out.append("\(path).\(key): missing (R has it)")
            case (_, nil): out.append("\(path).\(key): not in R's output")
            }
        }
        return out
    default:
        return ["\(path): \(actual) vs R \(expected)"]
    }
}

enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw FixtureError.missing("Fixtures")
        }
        return base.appendingPathComponent(name)
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: url(name))
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: url(name), encoding: .utf8)
    }

    enum FixtureError: Error { case missing(String) }
}

/// Encodes a report the way `icmm analyze` does.
func encodeReport(_ report: SurvivalReport) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try encoder.encode(report)
}
