import Classification
import JSON
import Storage

/// A case as the registry holds it: the submitted data, its classification and its bookkeeping.
public struct StoredCase: Sendable, Equatable {
    public let id: String
    public let site: String
    public let externalID: String
    /// Starts at 1, +1 on every change; the ETag.
    public let version: Int
    public let createdAt: String
    public let updatedAt: String
    /// The case in the data-dictionary format (DOMAIN.md section 9), as submitted.
    public let data: JSONValue
    public let classification: JSONValue
    public let engineVersion: String
    /// `data` and `classification` as just serialized for storage, when this case was written by
    /// this process: `representation()` then splices them instead of serializing both again.
    var serialized: SerializedParts? = nil

    /// The same case, whether or not its serialized parts are at hand.
    public static func == (a: StoredCase, b: StoredCase) -> Bool {
        a.id == b.id && a.site == b.site && a.externalID == b.externalID && a.version == b.version
            && a.createdAt == b.createdAt && a.updatedAt == b.updatedAt && a.data == b.data
            && a.classification == b.classification && a.engineVersion == b.engineVersion
    }

    /// The API representation: the data-dictionary fields plus `id`, `site`, `version`,
    /// `created_at`, `updated_at`, `classification`, `engine_version`.
    public func toJSON() -> JSONValue {
        var members = data.objectValue ?? [:]
        members["id"] = .string(id)
        members["site"] = .string(site)
        members["version"] = .number(Double(version))
        members["created_at"] = .string(createdAt)
        members["updated_at"] = .string(updatedAt)
        members["classification"] = classification
        members["engine_version"] = .string(engineVersion)
        return .object(members)
    }
}

/// What a write did.
public enum WriteResult: String, Sendable, Codable {
    case created, updated, unchanged
}

/// One entry of a case's audit trail: who, when, what kind of change, which fields; never values.
public struct AuditEntry: Sendable, Equatable, Encodable {
    public let action: String
    public let keyID: String?
    public let at: String
    public let version: Int?
    public let changedPaths: [String]

    enum CodingKeys: String, CodingKey {
        case action, at, version
        case keyID = "key_id"
        case changedPaths = "changed_paths"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(at, forKey: .at)
        try c.encode(version, forKey: .version)
        try c.encode(changedPaths, forKey: .changedPaths)
    }
}

/// A case that passed validation and was classified, ready to be stored.
struct PreparedCase {
    let record: CaseRecord
    let data: JSONValue
    /// `data` serialized with sorted keys: what is stored, and what "unchanged" compares.
    let dataText: String
    let classification: Classification
    let classificationJSON: JSONValue
    /// `classificationJSON` serialized: what is stored.
    let classificationText: String
    /// The audit entry's changed paths if the case is created (every field), serialized before the
    /// write so that the writer, which every write of the process waits for, does not compute them.
    let creationPathsJSON: String

    var externalID: String { record.externalID }

    var serialized: SerializedParts { SerializedParts(data: dataText, classification: classificationText) }

    /// The columns the cohort queries filter and group on, derived from the case and its classification.
    static let indexedColumns = [
        "sex", "birth_year", "mm_diagnosis_date", "ic_diagnosis_date", "progression_date", "death_date",
        "last_followup_date", "localization", "localization_subtype", "response_category", "response_group",
        "therapy_class", "asct", "radiotherapy", "intrathecal", "neurosurgery", "iss", "r_iss", "cns_risk",
    ]

    var indexedValues: [any DatabaseValueConvertible] {
        let c = classification
        return [
            record.sex.rawValue, record.birthYear, record.mmDiagnosisDate.description,
            record.intracranial.diagnosisDate.description, record.outcome?.progressionDate?.description,
            record.outcome?.deathDate?.description, record.outcome?.lastFollowupDate?.description,
            c.localization.category.rawValue, c.localization.subtype?.rawValue, c.response.category?.rawValue,
            c.response.group?.rawValue, c.therapy.therapyClass.rawValue, c.therapy.asct, c.therapy.radiotherapy,
            c.therapy.intrathecal, c.therapy.neurosurgery, c.staging.iss?.rawValue, c.staging.rISS?.rawValue,
            c.cnsRisk?.score,
        ]
    }
}
