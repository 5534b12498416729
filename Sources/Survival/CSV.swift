#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which CSV columns feed which part of the analysis (`icmm analyze` options).
public struct CSVColumns: Sendable, Equatable {
    public var time: String
    public var event: String
    public var entry: String?
    public var group: String?
    /// Numeric Cox covariates, in term order.
    public var numeric: [String]
    /// Categorical Cox covariates, after the numeric ones in term order.
    public var categorical: [String]

    public init(
        time: String, event: String, entry: String? = nil, group: String? = nil,
        numeric: [String] = [], categorical: [String] = []
    ) {
        self.time = time
        self.event = event
        self.entry = entry
        self.group = group
        self.numeric = numeric
        self.categorical = categorical
    }
}

/// Subjects read from a CSV file, with the number of rows left out for a missing value.
public struct CSVInput: Sendable {
    public var data: SurvivalData
    public var droppedRows: Int
}

/// Competing-risks subjects read from a CSV file (`icmm analyze --competing`).
public struct CompetingCSVInput: Sendable {
    public var data: CompetingRisksData
    public var droppedRows: Int
}

/// CSV text in, analysis columns out (pure: the caller reads the file).
///
/// Format: RFC 4180 (comma separated, optional double quotes with `""` escapes, LF or CRLF line
/// ends), a header line naming the columns, blank lines ignored. A value that is empty (after
/// trimming spaces) or `NA` is missing: the row is dropped when any used column is missing and
/// counted in `droppedRows`. Events are 1/0 or true/false (any case). Times are used as given.
public enum SurvivalCSV {

    public static func read(_ text: String, columns: CSVColumns) throws(SurvivalError) -> CSVInput {
        try parse(text, columns: columns, eventIsCause: false).input
    }

    /// `read(_:columns:)` on the file's bytes as they are, without first making one String of the
    /// whole file: the same result, as fields are decoded (invalid UTF-8 repaired) one by one and
    /// the separators are ASCII.
    ///
    /// With `parallel`, a large file without quotes is read in two halves on two threads (same
    /// result, same errors).
    public static func read(
        bytes: UnsafeBufferPointer<UInt8>, columns: CSVColumns, parallel: Bool = false
    ) throws(SurvivalError) -> CSVInput {
        try parse(bytes, columns: columns, eventIsCause: false, parallel: parallel).0
    }

    /// Reads competing-risks subjects: the event column holds 0 for censored and any other
    /// value names a cause (kept as text, trimmed); `numeric` and `categorical` are the
    /// Fine-Gray covariates, `group` the incidence groups. `entry` is not supported (cmprsk has
    /// no delayed entry) and is refused.
    public static func readCompeting(_ text: String, columns: CSVColumns) throws(SurvivalError) -> CompetingCSVInput {
        if columns.entry != nil { throw .invalidOption("competing risks do not support delayed entry") }
        let (input, cause) = try parse(text, columns: columns, eventIsCause: true)
        return CompetingCSVInput(
            data: CompetingRisksData(
                time: input.data.time, cause: cause, group: input.data.group, covariates: input.data.covariates),
            droppedRows: input.droppedRows)
    }

    private static func parse(
        _ text: String, columns: CSVColumns, eventIsCause: Bool
    ) throws(SurvivalError) -> (input: CSVInput, cause: [String]) {
        var text = text
        var result: Result<(CSVInput, [String]), SurvivalError> = .failure(.csvEmpty)
        text.withUTF8 { bytes in
            do throws(SurvivalError) {
                result = .success(try parse(bytes, columns: columns, eventIsCause: eventIsCause))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private enum Role {
        case time, event, entry, group, numeric(Int), categorical(Int)
    }

    private static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, columns: CSVColumns, eventIsCause: Bool, parallel: Bool = false
    ) throws(SurvivalError) -> (CSVInput, [String]) {
        var reader = LineReader(bytes: bytes)
        guard let headerLine = try reader.nextRecord() else { throw .csvEmpty }
        var header = headerLine.fields.map { reader.string($0).trimmingSpaces() }
        if let first = header.first, first.hasPrefix("\u{FEFF}") { header[0] = String(first.dropFirst()) }

        var used: [(name: String, role: Role)] = [(columns.time, .time), (columns.event, .event)]
        if let entry = columns.entry { used.append((entry, .entry)) }
        if let group = columns.group { used.append((group, .group)) }
        for (i, name) in columns.numeric.enumerated() { used.append((name, .numeric(i))) }
        for (i, name) in columns.categorical.enumerated() { used.append((name, .categorical(i))) }
        // A column may play several roles (the group is often also a Cox factor), but the
        // survival columns must be distinct and a covariate is listed once.
        let survivalColumns = [columns.time, columns.event] + (columns.entry.map { [$0] } ?? [])
        if Set(survivalColumns).count != survivalColumns.count {
            throw .invalidOption("time, event and entry must be different columns")
        }
        let covariateColumns = columns.numeric + columns.categorical
        if Set(covariateColumns).count != covariateColumns.count {
            throw .invalidOption("a Cox covariate is listed twice")
        }
        for name in covariateColumns where survivalColumns.contains(name) {
            throw .invalidOption("column '\(name)' cannot be both a survival column and a covariate")
        }
        var positions: [Position] = []
        for (name, role) in used {
            guard let index = header.firstIndex(of: name) else { throw .csvMissingColumn(name) }
            positions.append((index, name, role))
        }

        // A large file without quotes is read in two halves on two threads (split after a line
        // end near the middle; a quoted field could hold a line end, so quotes keep it in one).
        // The halves' rows are joined in order; an error in the first half is the one reported,
        // and the second half's line numbers count on from the first half's.
        var rows: Rows
        let rest = bytes.count - reader.position
        if parallel, rest >= 1 << 20, let split = Self.splitPoint(bytes, from: reader.position) {
            var firstReader = LineReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<split]))
            firstReader.position = reader.position
            firstReader.line = reader.line
            var secondReader = LineReader(bytes: UnsafeBufferPointer(rebasing: bytes[split...]))
            // The first half's arrays get room for every row, so that the second half's rows are
            // appended without moving the first half's.
            let expectedRows = Self.estimatedRows(bytes, from: reader.position)
            var first: Result<Rows, SurvivalError> = .failure(.csvEmpty)
            var second: Result<Rows, SurvivalError> = .failure(.csvEmpty)
            Concurrently.run(
                {
                    first = Result { () throws(SurvivalError) in
                        try readRows(&firstReader, positions: positions, fieldCount: header.count, columns: columns,
                            eventIsCause: eventIsCause, reserve: expectedRows)
                    }
                },
                {
                    second = Result { () throws(SurvivalError) in
                        try readRows(&secondReader, positions: positions, fieldCount: header.count, columns: columns,
                            eventIsCause: eventIsCause, reserve: expectedRows / 2)
                    }
                })
            rows = try first.get()
            first = .failure(.csvEmpty)  // `rows` alone holds the arrays: appended to in place
            do throws(SurvivalError) {
                rows.append(try second.get())
            } catch {
                throw error.lineShifted(by: firstReader.line)
            }
        } else {
            rows = try readRows(&reader, positions: positions, fieldCount: header.count, columns: columns,
                eventIsCause: eventIsCause)
        }
        let (time, event, entry, group, numeric, categorical, dropped, cause) = (
            rows.time, rows.event, rows.entry, rows.group, rows.numeric, rows.categorical, rows.dropped, rows.cause
        )
        var covariates: [Covariate] = []
        for (k, name) in columns.numeric.enumerated() { covariates.append(.numeric(name, numeric[k])) }
        for (k, name) in columns.categorical.enumerated() {
            covariates.append(.categorical(name, categorical[k]))
        }
        let data = SurvivalData(
            time: time, event: event, entry: columns.entry == nil ? nil : entry,
            group: columns.group == nil ? nil : group, covariates: covariates)
        return (CSVInput(data: data, droppedRows: dropped), cause)
    }

    private typealias Position = (index: Int, name: String, role: Role)

    /// The used columns of the records `reader` has left, with the rows dropped for a missing value.
    private static func readRows(
        _ reader: inout LineReader, positions: [Position], fieldCount: Int, columns: CSVColumns, eventIsCause: Bool,
        reserve: Int = 0
    ) throws(SurvivalError) -> Rows {
        var time: [Double] = []
        var event: [Bool] = []
        var entry: [Double] = []
        var group: [String] = []
        var numeric = [[Double]](repeating: [], count: columns.numeric.count)
        var categorical = [[String]](repeating: [], count: columns.categorical.count)
        var cause: [String] = []
        if reserve > 0 {
            time.reserveCapacity(reserve)
            if eventIsCause { cause.reserveCapacity(reserve) } else { event.reserveCapacity(reserve) }
            if columns.entry != nil { entry.reserveCapacity(reserve) }
            if columns.group != nil { group.reserveCapacity(reserve) }
            for k in numeric.indices { numeric[k].reserveCapacity(reserve) }
            for k in categorical.indices { categorical[k].reserveCapacity(reserve) }
        }
        var dropped = 0
        var rowTime = 0.0, rowEvent = false, rowEntry = 0.0, rowGroup = "", rowCause = ""
        var rowNumeric = [Double](repeating: 0, count: columns.numeric.count)
        var rowCategorical = [String](repeating: "", count: columns.categorical.count)
        var groupNames = TextInterner(), causeNames = TextInterner()
        var categoryNames = [TextInterner](repeating: TextInterner(), count: columns.categorical.count)
        var record = Record()
        let usedCount = positions.count
        let fieldIndices = positions.map(\.index)
        let roles = positions.map(\.role)

        while try reader.nextRecord(into: &record) {
            let line = record.line
            if record.count != fieldCount {
                throw .csvMalformed(line: line, reason: "expected \(fieldCount) fields, found \(record.count)")
            }
            var missing = false
            for u in 0..<usedCount {
                // Numbers and 1/0 events are read from the bytes (no String per field); text
                // values, and fields with "" escapes, go through String as before. The column's
                // name is looked up only for an error (no String retained per field).
                let role = roles[u]
                var name: String { positions[u].name }
                let field = record.fields[fieldIndices[u]]
                let value: CSVValue
                if field.hasEscapedQuotes {
                    value = .text(reader.string(field).trimmingSpaces())
                } else {
                    value = .bytes(reader.trimmedBytes(field))
                }
                if value.isMissing {
                    missing = true
                    break
                }
                switch role {
                case .time:
                    guard let v = value.number, v.isFinite, v >= 0 else {
                        throw .csvInvalidValue(line: line, column: name, expected: "a finite number >= 0")
                    }
                    rowTime = v
                case .entry:
                    guard let v = value.number, v.isFinite, v >= 0 else {
                        throw .csvInvalidValue(line: line, column: name, expected: "a finite number >= 0")
                    }
                    rowEntry = v
                case .event where eventIsCause:
                    rowCause = causeNames.name(value)
                case .event:
                    if let bit = value.singleBit {
                        rowEvent = bit
                        break
                    }
                    switch value.text.lowercased() {
                    case "1", "true": rowEvent = true
                    case "0", "false": rowEvent = false
                    default:
                        throw .csvInvalidValue(line: line, column: name, expected: "1/0 or true/false")
                    }
                case .group:
                    rowGroup = groupNames.name(value)
                case .numeric(let k):
                    guard let v = value.number, v.isFinite else {
                        throw .csvInvalidValue(line: line, column: name, expected: "a finite number")
                    }
                    rowNumeric[k] = v
                case .categorical(let k):
                    rowCategorical[k] = categoryNames[k].name(value)
                }
            }
            if missing {
                dropped += 1
                continue
            }
            if columns.entry != nil, !(rowEntry < rowTime) {
                throw .csvInvalidValue(
                    line: line, column: columns.entry!, expected: "an entry time before the exit time")
            }
            time.append(rowTime)
            if eventIsCause { cause.append(rowCause) } else { event.append(rowEvent) }
            if columns.entry != nil { entry.append(rowEntry) }
            if columns.group != nil { group.append(rowGroup) }
            for k in 0..<rowNumeric.count { numeric[k].append(rowNumeric[k]) }
            for k in 0..<rowCategorical.count { categorical[k].append(rowCategorical[k]) }
        }
        return Rows(
            time: time, event: event, entry: entry, group: group, numeric: numeric, categorical: categorical,
            cause: cause, dropped: dropped)
    }

    /// The number of lines after `start`, estimated from the first 64 KB (with 3% to spare).
    private static func estimatedRows(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let sample = min(64 << 10, bytes.count - start)
        var lines = 0
        for i in start..<(start + sample) where bytes[i] == 0x0A { lines += 1 }
        if lines == 0 { return 0 }
        return Int(Double(bytes.count - start) / Double(sample) * Double(lines) * 1.03) + 16
    }

    /// Where to cut the bytes after `start` for two readers: just after the line end nearest
    /// the middle; nil when the text has a quote or no such line end.
    private static func splitPoint(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let base = bytes.baseAddress!
        if memchr(base + start, Int32(UInt8(ascii: "\"")), bytes.count - start) != nil { return nil }
        let middle = start + (bytes.count - start) / 2
        guard let lf = memchr(base + middle, 0x0A, bytes.count - middle) else { return nil }
        let split = base.distance(to: lf.assumingMemoryBound(to: UInt8.self)) + 1
        return split < bytes.count ? split : nil
    }
}

/// A used field's value after trimming: bytes straight from the file, or text when the field
/// had `""` escapes (then unescaped as before).
private enum CSVValue {
    case bytes(UnsafeBufferPointer<UInt8>)
    case text(String)

    /// Empty or `NA`.
    var isMissing: Bool {
        switch self {
        case .bytes(let b): b.isEmpty || (b.count == 2 && b[0] == UInt8(ascii: "N") && b[1] == UInt8(ascii: "A"))
        case .text(let s): s.isEmpty || s == "NA"
        }
    }

    /// The value as `Double(String)` reads it.
    var number: Double? {
        switch self {
        case .bytes(let b): CSVNumber.parse(b)
        case .text(let s): Double(s)
        }
    }

    /// `1` or `0` as one byte; nil for anything else (then read from the text).
    var singleBit: Bool? {
        guard case .bytes(let b) = self, b.count == 1 else { return nil }
        switch b[0] {
        case UInt8(ascii: "1"): return true
        case UInt8(ascii: "0"): return false
        default: return nil
        }
    }

    var text: String {
        switch self {
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        case .text(let s): s
        }
    }
}

/// One String per distinct value of a text column instead of one per row: a group column over
/// a million rows has a handful of values. Falls back to a new String once it has seen many.
private struct TextInterner {
    private var seen: [(bytes: [UInt8], text: String)] = []
    private static let limit = 64

    mutating func name(_ value: CSVValue) -> String {
        guard case .bytes(let b) = value else { return value.text }
        for entry in seen where entry.bytes.count == b.count {
            if entry.bytes.withUnsafeBufferPointer({ $0.elementsEqual(b) }) { return entry.text }
        }
        let text = value.text
        if seen.count < Self.limit { seen.append((Array(b), text)) }
        return text
    }
}

/// A field of a record: a byte range, and whether it was quoted with `""` escapes inside.
private struct FieldRange {
    var start: Int
    var end: Int
    var hasEscapedQuotes: Bool
}

/// One record's fields: the first `count` of `fields`, whose storage is reused from record to
/// record (no emptying and regrowing an array per line).
private struct Record {
    var line = 0
    var count = 0
    var fields: [FieldRange] = []

    @inline(__always)
    mutating func add(_ field: FieldRange) {
        if count < fields.count {
            fields[count] = field
        } else {
            fields.append(field)
        }
        count += 1
    }
}

/// Splits CSV bytes into records of fields.
private struct LineReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var line = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func string(_ field: FieldRange) -> String {
        let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[field.start..<field.end]), as: UTF8.self)
        return field.hasEscapedQuotes ? s.unescapingDoubledQuotes() : s
    }

    /// The field's bytes without leading and trailing spaces and tabs (as `trimmingSpaces`).
    func trimmedBytes(_ field: FieldRange) -> UnsafeBufferPointer<UInt8> {
        var start = field.start, end = field.end
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// The next non-blank record, or nil at the end.
    mutating func nextRecord() throws(SurvivalError) -> (line: Int, fields: [FieldRange])? {
        var record = Record()
        return try nextRecord(into: &record) ? (record.line, Array(record.fields[..<record.count])) : nil
    }

    /// Reads the next non-blank record into `record`, reusing its field array; false at the end.
    mutating func nextRecord(into record: inout Record) throws(SurvivalError) -> Bool {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let n = bytes.count
        while position < n {
            line += 1
            let startLine = line
            record.count = 0
            var blank = true
            while true {
                // One field.
                if position < n, bytes[position] == quote {
                    blank = false
                    position += 1
                    let start = position
                    var escaped = false
                    while true {
                        if position >= n { throw .csvMalformed(line: startLine, reason: "unterminated quoted field") }
                        let b = bytes[position]
                        if b == quote {
                            if position + 1 < n, bytes[position + 1] == quote {
                                escaped = true
                                position += 2
                                continue
                            }
                            break
                        }
                        if b == lf { line += 1 }
                        position += 1
                    }
                    record.add(FieldRange(start: start, end: position, hasEscapedQuotes: escaped))
                    position += 1  // closing quote
                    while position < n, bytes[position] == UInt8(ascii: " ") { position += 1 }
                    if position < n, bytes[position] != comma, bytes[position] != lf, bytes[position] != cr {
                        throw .csvMalformed(line: startLine, reason: "text after a closing quote")
                    }
                } else {
                    let start = position
                    while position < n {
                        let b = bytes[position]
                        if b == comma || b == lf || b == cr { break }
                        if b == quote { throw .csvMalformed(line: startLine, reason: "quote inside an unquoted field") }
                        if b != UInt8(ascii: " ") { blank = false }
                        position += 1
                    }
                    record.add(FieldRange(start: start, end: position, hasEscapedQuotes: false))
                }
                if position < n, bytes[position] == comma {
                    blank = false
                    position += 1
                    continue
                }
                // End of record.
                if position < n, bytes[position] == cr { position += 1 }
                if position < n, bytes[position] == lf { position += 1 }
                break
            }
            if blank && record.count == 1 { continue }
            record.line = startLine
            return true
        }
        return false
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, scalars[start] == " " || scalars[start] == "\t" { start = scalars.index(after: start) }
        while end > start {
            let before = scalars.index(before: end)
            if scalars[before] == " " || scalars[before] == "\t" { end = before } else { break }
        }
        if start == scalars.startIndex && end == scalars.endIndex { return self }
        return String(scalars[start..<end])
    }

    /// Collapses each doubled quote `""` into one `"` (CSV escaping inside quoted fields).
    func unescapingDoubledQuotes() -> String {
        var result = ""
        var previousWasQuote = false
        for c in self {
            if c == "\"" {
                if previousWasQuote {
                    previousWasQuote = false
                    continue
                }
                previousWasQuote = true
            } else {
                previousWasQuote = false
            }
            result.append(c)
        }
        return result
    }
}

/// The used columns of some rows, in file order.
private struct Rows {
    var time: [Double]
    var event: [Bool]
    var entry: [Double]
    var group: [String]
    var numeric: [[Double]]
    var categorical: [[String]]
    var cause: [String]
    var dropped: Int

    /// These rows followed by `other`'s.
    mutating func append(_ other: Rows) {
        time.append(contentsOf: other.time)
        event.append(contentsOf: other.event)
        entry.append(contentsOf: other.entry)
        group.append(contentsOf: other.group)
        for k in numeric.indices { numeric[k].append(contentsOf: other.numeric[k]) }
        for k in categorical.indices { categorical[k].append(contentsOf: other.categorical[k]) }
        cause.append(contentsOf: other.cause)
        dropped += other.dropped
    }
}

extension SurvivalError {
    /// The same error with its line number counted `lines` further (a later part of the file).
    func lineShifted(by lines: Int) -> SurvivalError {
        switch self {
        case .csvMalformed(let line, let reason): .csvMalformed(line: line + lines, reason: reason)
        case .csvInvalidValue(let line, let column, let expected):
            .csvInvalidValue(line: line + lines, column: column, expected: expected)
        default: self
        }
    }
}
