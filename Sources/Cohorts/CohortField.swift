import Classification

/// The categorical fields a cohort can be filtered and grouped on (issue: cohort outcomes).
public enum CohortField: String, Sendable, CaseIterable, Comparable {
    case localization, responseGroup = "response_group", therapyClass = "therapy_class", sex, site
    case asct, radiotherapy, intrathecal, cnsRisk = "cns_risk", iss

    /// The values a filter on this field accepts (nil: any site name), from the Classification
    /// module's own vocabularies so that the two cannot drift apart.
    public var allowedValues: [String]? {
        switch self {
        case .localization: Classification.Localization.Category.allCases.map(\.rawValue)
        case .responseGroup: CaseRecord.ResponseGroup.allCases.map(\.rawValue)
        case .therapyClass: Classification.Therapy.Class.allCases.map(\.rawValue)
        case .sex: CaseRecord.Sex.allCases.map(\.rawValue)
        case .site: nil
        case .asct, .radiotherapy, .intrathecal: ["true", "false"]
        // The CNS-risk score counts 0, 1 or 2 factors (DOMAIN.md section 5).
        case .cnsRisk: ["0", "1", "2"]
        case .iss: Classification.Stage.allCases.map { String($0.rawValue) }
        }
    }

    public var isBoolean: Bool { self == .asct || self == .radiotherapy || self == .intrathecal }
    public var isInteger: Bool { self == .cnsRisk || self == .iss }

    public static func < (a: CohortField, b: CohortField) -> Bool { a.rawValue < b.rawValue }
}

/// Which cases a cohort holds: values of one field are OR-ed, fields are AND-ed.
public struct CohortFilter: Sendable, Hashable {
    public var values: [CohortField: [String]] = [:]
    /// Intracranial diagnosis on or after / on or before (inclusive).
    public var icDiagnosisFrom: CalendarDate?
    public var icDiagnosisTo: CalendarDate?

    public init() {}
}

/// One case as the cohort statistics see it: dates and the grouping fields, nothing identifying.
public struct CohortRow: Sendable {
    public let site: String
    public let sex: String
    public let birthYear: Int?
    public let mmDiagnosis: CalendarDate
    public let icDiagnosis: CalendarDate
    public let progression: CalendarDate?
    public let death: CalendarDate?
    public let lastFollowup: CalendarDate?
    public let localization: String
    public let responseGroup: String?
    public let therapyClass: String
    public let asct: Bool?
    public let radiotherapy: Bool?
    public let intrathecal: Bool?
    public let iss: Int?
    public let cnsRisk: Int?
    public let rISS: Int?

    public init(
        site: String, sex: String, birthYear: Int?, mmDiagnosis: CalendarDate, icDiagnosis: CalendarDate,
        progression: CalendarDate?, death: CalendarDate?, lastFollowup: CalendarDate?, localization: String,
        responseGroup: String?, therapyClass: String, asct: Bool?, radiotherapy: Bool?, intrathecal: Bool?, iss: Int?,
        cnsRisk: Int?, rISS: Int?
    ) {
        self.site = site
        self.sex = sex
        self.birthYear = birthYear
        self.mmDiagnosis = mmDiagnosis
        self.icDiagnosis = icDiagnosis
        self.progression = progression
        self.death = death
        self.lastFollowup = lastFollowup
        self.localization = localization
        self.responseGroup = responseGroup
        self.therapyClass = therapyClass
        self.asct = asct
        self.radiotherapy = radiotherapy
        self.intrathecal = intrathecal
        self.iss = iss
        self.cnsRisk = cnsRisk
        self.rISS = rISS
    }

    /// The field's value as text (the group key), nil when unknown.
    public func value(of field: CohortField) -> String? {
        switch field {
        case .localization: localization
        case .responseGroup: responseGroup
        case .therapyClass: therapyClass
        case .sex: sex
        case .site: site
        case .asct: asct.map { $0 ? "true" : "false" }
        case .radiotherapy: radiotherapy.map { $0 ? "true" : "false" }
        case .intrathecal: intrathecal.map { $0 ? "true" : "false" }
        case .cnsRisk: cnsRisk.map(String.init)
        case .iss: iss.map(String.init)
        }
    }

    /// Whole years from the birth year to the year of the intracranial diagnosis (the dictionary
    /// has no full birth dates, on purpose).
    public var ageAtICDiagnosis: Int? { birthYear.map { icDiagnosis.year - $0 } }
}
