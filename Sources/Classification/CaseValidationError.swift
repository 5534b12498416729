import JSON

/// One violation of the case data dictionary (DOMAIN.md section 9).
///
/// `message` never quotes the submitted value (no patient data in error descriptions); it says
/// what the field must be. `path` is the JSON Pointer (RFC 6901) of the offending field.
public struct CaseValidationError: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Stable machine-readable codes, part of the API contract.
    public enum Code: String, Sendable, Hashable, CaseIterable, Codable {
        /// A required field is missing.
        case required
        /// A key that the data dictionary does not define.
        case unknownField = "unknown_field"
        /// A string outside the field's enumeration.
        case invalidEnum = "invalid_enum"
        /// A number (or year, or date before 1900-01-01) outside the plausible range.
        case outOfRange = "out_of_range"
        /// A string that is not a real ISO 8601 calendar date `YYYY-MM-DD`.
        case invalidDate = "invalid_date"
        /// A date after the injected "today".
        case futureDate = "future_date"
        /// Dates in an impossible order.
        case chronology
        /// The wrong JSON type (including a fractional number where an integer is required).
        case invalidType = "invalid_type"
        /// A string that does not match the field's pattern. Used only by `external_id`
        /// (1-64 characters of `[A-Za-z0-9._-]`), which is neither an enum nor a range.
        case invalidFormat = "invalid_format"
        /// A registry-level conflict about the field: an `external_id` that differs from the URL's,
        /// or that repeats within an import or already exists (`mode=create`).
        case conflict
    }

    public let pointer: JSONPointer
    public let code: Code
    public let message: String

    public init(pointer: JSONPointer, code: Code, message: String) {
        self.pointer = pointer
        self.code = code
        self.message = message
    }

    /// The JSON Pointer string, e.g. `/intracranial/csf/cytology` (`""` for the whole document).
    public var path: String { pointer.description }

    public var description: String { "\(path.isEmpty ? "(document)" : path): \(code.rawValue): \(message)" }

    /// `{"path": ..., "code": ..., "message": ...}`, the shape of one problem+json `errors` entry.
    public func toJSON() -> JSONValue {
        .object(["path": .string(path), "code": .string(code.rawValue), "message": .string(message)])
    }

    private enum CodingKeys: String, CodingKey { case path, code, message }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let path = try container.decode(String.self, forKey: .path)
        self.pointer = JSONPointer(Self.tokens(of: path))
        self.code = try container.decode(Code.self, forKey: .code)
        self.message = try container.decode(String.self, forKey: .message)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
    }

    /// Splits a JSON Pointer string back into unescaped tokens (RFC 6901 section 4).
    private static func tokens(of path: String) -> [String] {
        guard !path.isEmpty else { return [] }
        return path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { token in
            var text = String(token)
            text = text.split(separator: "~1", omittingEmptySubsequences: false).joined(separator: "/")
            return text.split(separator: "~0", omittingEmptySubsequences: false).joined(separator: "~")
        }
    }
}

/// Every violation found in one case, in document order. Thrown or returned by the validator.
public struct CaseValidationErrors: Error, Sendable, Hashable, CustomStringConvertible {
    public let errors: [CaseValidationError]

    public init(_ errors: [CaseValidationError]) { self.errors = errors }

    public var description: String {
        "The case is invalid (\(errors.count) error\(errors.count == 1 ? "" : "s")): "
            + errors.map(\.description).joined(separator: "; ")
    }

    /// The `errors` array of a problem+json body.
    public func toJSON() -> JSONValue { .array(errors.map { $0.toJSON() }) }
}
