import Classification
import JSON

/// Why a registry operation was refused. The API maps each case to an HTTP status in one place.
public enum RegistryError: Error, Sendable, Equatable {
    /// The case breaks the data dictionary (DOMAIN.md section 9): every violation is listed.
    case invalid([CaseValidationError])
    /// No such case for this site (or it belongs to another site: indistinguishable on purpose).
    case notFound
    /// The site already has a case with this external id.
    case duplicate(externalID: String, caseID: String)
    /// `If-Match` named another version than the current one.
    case versionMismatch(current: Int)
    /// An import had invalid records; nothing was stored.
    case importRejected([ImportRecordErrors])
    /// A key id that does not exist (CLI).
    case unknownKey(String)
}

/// The errors of one record of an import.
public struct ImportRecordErrors: Sendable, Equatable {
    public let index: Int
    public let externalID: String?
    public let errors: [CaseValidationError]

    public init(index: Int, externalID: String?, errors: [CaseValidationError]) {
        self.index = index
        self.externalID = externalID
        self.errors = errors
    }

    public func toJSON() -> JSONValue {
        ["index": .number(Double(index)), "external_id": externalID.map(JSONValue.string) ?? .null,
         "errors": .array(errors.map { $0.toJSON() })]
    }
}

extension CaseValidationError {
    /// A registry-level error about one field (not one of the validator's own checks).
    static func registry(_ path: String, code: Code, _ message: String) -> CaseValidationError {
        CaseValidationError(pointer: JSONPointer(path.split(separator: "/").map(String.init)), code: code, message: message)
    }
}
