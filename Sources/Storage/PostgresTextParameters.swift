import Foundation

/// Parameters in libpq's text format: every value NUL-terminated in one buffer, NULL as a null pointer.
struct PostgresTextParameters {
    private var buffer: [CChar] = []
    private var offsets: [Int?] = []

    init(_ arguments: [any DatabaseValueConvertible]) {
        offsets.reserveCapacity(arguments.count)
        for argument in arguments {
            switch argument.databaseValue {
            case .null:
                offsets.append(nil)
                continue
            case .integer(let v): append(String(v))
            case .real(let v): append(v.isNaN ? "NaN" : v.isInfinite ? (v < 0 ? "-Infinity" : "Infinity") : "\(v)")
            case .text(let v): append(v)
            case .blob(let v): append("\\x" + hexString(v))
            }
        }
    }

    private mutating func append(_ text: String) {
        offsets.append(buffer.count)
        var text = text
        text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { buffer.append(contentsOf: $0) }
        }
        buffer.append(0)
    }

    /// The values as libpq takes them, valid only inside `body`.
    func withValues<T, E: Error>(_ body: ([UnsafePointer<CChar>?]) throws(E) -> T) throws(E) -> T {
        try buffer.withUnsafeBufferPointer { base throws(E) -> T in
            try body(offsets.map { offset in offset.map { base.baseAddress! + $0 } })
        }
    }
}
