import Foundation
import JSON

/// One record of an import: parsed JSON, or the reason it could not be parsed.
public enum ImportRecord: Sendable {
    case json(JSONValue)
    case unparsable

    /// Splits NDJSON into records, one per non-blank line (CRLF accepted); a line that is not JSON
    /// is a failing record, so that its index is reported like any other invalid record.
    public static func ndjson(_ body: [UInt8]) -> [ImportRecord] {
        var reader = ImportRecordReader(body: body, format: .ndjson)
        var records: [ImportRecord] = []
        while let record = try? reader.next() { records.append(record) }
        return records
    }
}

/// Why an import body could not be read as a sequence of records (a 400: nothing is stored).
public enum ImportBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An `application/json` import whose top-level value is not an array.
    case notAnArray
    /// The body is not well-formed JSON (for an array import; an NDJSON line that is not JSON is
    /// a failing record instead). The message names a byte offset, never the content.
    case malformed(String)

    public var description: String {
        switch self {
        case .notAnArray: "An application/json import must be one JSON array of cases."
        case .malformed(let message): message
        }
    }
}

/// Reads the records of an import body one at a time, so that an import never holds more than one
/// parsed record: NDJSON line by line, or a JSON array element by element (each element's extent
/// is found by a scan of strings and brackets, then that slice alone is parsed, strictly).
public struct ImportRecordReader: Sendable {
    public enum Format: Sendable { case ndjson, jsonArray }

    private let body: [UInt8]
    private let format: Format
    private var position = 0
    private var arrayOpened = false
    private var finished = false

    public init(body: [UInt8], format: Format) {
        self.body = body
        self.format = format
    }

    /// The next record, or nil after the last one.
    /// - Throws: `ImportBodyError` when a JSON array body is not one well-formed array.
    public mutating func next() throws(ImportBodyError) -> ImportRecord? {
        guard !finished else { return nil }
        switch format {
        case .ndjson: return nextLine()
        case .jsonArray: return try nextElement()
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private mutating func nextLine() -> ImportRecord? {
        body.withUnsafeBufferPointer { bytes -> ImportRecord? in
            while position < bytes.count {
                let start = position
                var end = start
                if let base = bytes.baseAddress, let found = memchr(base + start, 0x0A, bytes.count - start) {
                    end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    position = end + 1
                } else {
                    end = bytes.count
                    position = bytes.count
                }
                var first = start
                var last = end
                while last > first, Self.isSpace(bytes[last - 1]) { last -= 1 }
                while first < last, Self.isSpace(bytes[first]) { first += 1 }
                if first == last { continue }  // a blank line is no record
                let line = UnsafeBufferPointer(rebasing: bytes[first..<last])
                if let value = try? JSONValue.parse(line) { return .json(value) }
                return .unparsable
            }
            finished = true
            return nil
        }
    }

    private mutating func nextElement() throws(ImportBodyError) -> ImportRecord? {
        let result: Result<ImportRecord?, ImportBodyError> = body.withUnsafeBufferPointer { bytes in
            Result { () throws(ImportBodyError) -> ImportRecord? in try nextElement(in: bytes) }
        }
        return try result.get()
    }

    private mutating func skipSpaces(_ bytes: UnsafeBufferPointer<UInt8>) {
        while position < bytes.count, Self.isSpace(bytes[position]) { position += 1 }
    }

    private mutating func nextElement(in bytes: UnsafeBufferPointer<UInt8>) throws(ImportBodyError) -> ImportRecord? {
        skipSpaces(bytes)
        if !arrayOpened {
            guard position < bytes.count else {
                throw .malformed("The body is empty; a JSON array of cases was expected.")
            }
            guard bytes[position] == 0x5B else {
                // Say "not an array" only for a well-formed document that is something else.
                if (try? JSONValue.parse(bytes)) != nil { throw .notAnArray }
                throw .malformed("The body is not valid JSON: a JSON array of cases was expected at byte \(position).")
            }
            arrayOpened = true
            position += 1
            skipSpaces(bytes)
            if position < bytes.count, bytes[position] == 0x5D { return try close(bytes) }
        }
        let start = position
        let end = try valueEnd(bytes, from: start)
        let value: JSONValue
        do {
            value = try JSONValue.parse(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        } catch {
            throw .malformed("The body is not valid JSON: the array element starting at byte \(start) is malformed.")
        }
        position = end
        skipSpaces(bytes)
        guard position < bytes.count else { throw .malformed("The body is not valid JSON: unexpected end inside the array.") }
        switch bytes[position] {
        case 0x2C:  // ","
            position += 1
            skipSpaces(bytes)
            guard position < bytes.count, bytes[position] != 0x5D else {
                throw .malformed("The body is not valid JSON: a value was expected at byte \(position).")
            }
        case 0x5D:  // "]"
            _ = try close(bytes)
            finished = false  // this element is still to be returned; `close` checked the rest
        default:
            throw .malformed("The body is not valid JSON: \",\" or \"]\" was expected at byte \(position).")
        }
        if position >= bytes.count { finished = true }
        return .json(value)
    }

    /// At the closing bracket: only white space may follow.
    private mutating func close(_ bytes: UnsafeBufferPointer<UInt8>) throws(ImportBodyError) -> ImportRecord? {
        position += 1
        skipSpaces(bytes)
        guard position == bytes.count else { throw .malformed("The body is not valid JSON: unexpected text after the array at byte \(position).") }
        finished = true
        return nil
    }

    /// The end (exclusive) of the JSON value starting at `start`: strings and brackets are
    /// tracked, nothing is validated (the parser does that on the slice).
    private func valueEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(ImportBodyError) -> Int {
        var index = start
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x22:  // a string: skip to its closing quote
                index += 1
                while index < bytes.count, bytes[index] != 0x22 {
                    index += bytes[index] == 0x5C ? 2 : 1
                }
                guard index < bytes.count else { throw .malformed("The body is not valid JSON: unterminated string.") }
            case 0x7B, 0x5B:
                depth += 1
            case 0x7D, 0x5D:
                if depth == 0 { return index }  // the array's own "]" ends a scalar element
                depth -= 1
                if depth == 0 { return index + 1 }
            case 0x2C, 0x20, 0x0A, 0x0D, 0x09:
                if depth == 0 { return index }
            default:
                break
            }
            index += 1
            if depth == 0, bytes[start] == 0x22 { return index }  // a string element ends at its quote
        }
        throw .malformed("The body is not valid JSON: unexpected end inside the array.")
    }
}
