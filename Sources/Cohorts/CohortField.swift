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

/// The dates of a cohort row besides the intracranial diagnosis (the origin of every endpoint,
/// always read).
public enum CohortDate: Sendable, Hashable, CaseIterable {
    case mmDiagnosis, progression, death, lastFollowup
}

/// What an analysis reads of each cohort row. A cohort scan may leave the rest unread: the
/// scan is the largest cost of a cold cohort query, and each column read costs about as much as
/// the statistics per row (issue 10). Unread texts are "", other unread values nil or absent
/// dates; only an analysis that declares its reading may be given such rows.
public struct CohortRowReading: Sendable, Hashable {
    public var fields: Set<CohortField>
    public var dates: Set<CohortDate>
    /// The birth year (age at the intracranial diagnosis) and R-ISS.
    public var birthYearAndRISS: Bool

    public init(fields: Set<CohortField>, dates: Set<CohortDate>, birthYearAndRISS: Bool = false) {
        self.fields = fields
        self.dates = dates
        self.birthYearAndRISS = birthYearAndRISS
    }

    /// Every column.
    public static let everything = CohortRowReading(
        fields: Set(CohortField.allCases), dates: Set(CohortDate.allCases), birthYearAndRISS: true)
}

/// One case as the cohort statistics see it: dates and the grouping fields, nothing identifying.
///
/// Kept compact (about 120 bytes instead of 330): a cohort scan holds one per case (100,000 and
/// more), so dates are stored as day numbers and small integers in small types; the public
/// properties read as before.
public struct CohortRow: Sendable {
    public let site: String
    public let sex: String
    public let localization: String
    public let responseGroup: String?
    public let therapyClass: String
    /// Days since 1970-01-01 (`CalendarDate.dayNumber`); `noDate` when absent.
    public let mmDiagnosisDay: Int32
    public let icDiagnosisDay: Int32
    public let progressionDay: Int32
    public let deathDay: Int32
    public let lastFollowupDay: Int32
    private let storedBirthYear: Int32
    private let storedISS: Int16
    private let storedCNSRisk: Int16
    private let storedRISS: Int16
    public let asct: Bool?
    public let radiotherapy: Bool?
    public let intrathecal: Bool?

    /// The day number standing for a missing date (outside years 1...9999).
    public static let noDate = Int32.min
    private static let noValue = Int16.min
    private static let noYear = Int32.min

    public init(
        site: String, sex: String, birthYear: Int?, mmDiagnosis: CalendarDate, icDiagnosis: CalendarDate,
        progression: CalendarDate?, death: CalendarDate?, lastFollowup: CalendarDate?, localization: String,
        responseGroup: String?, therapyClass: String, asct: Bool?, radiotherapy: Bool?, intrathecal: Bool?, iss: Int?,
        cnsRisk: Int?, rISS: Int?
    ) {
        func day(_ date: CalendarDate?) -> Int32 { date.map { Int32($0.dayNumber) } ?? Self.noDate }
        self.init(
            site: site, sex: sex, birthYear: birthYear, mmDiagnosisDay: day(mmDiagnosis), icDiagnosisDay: day(icDiagnosis),
            progressionDay: day(progression), deathDay: day(death), lastFollowupDay: day(lastFollowup), localization: localization,
            responseGroup: responseGroup, therapyClass: therapyClass, asct: asct, radiotherapy: radiotherapy, intrathecal: intrathecal,
            iss: iss, cnsRisk: cnsRisk, rISS: rISS)
    }

    /// A row from day numbers (`CalendarDate.dayNumber`, `noDate` when absent), as a cohort scan
    /// reads it. Stages and the CNS-risk score are small counts (DOMAIN.md sections 5 and 6).
    public init(
        site: String, sex: String, birthYear: Int?, mmDiagnosisDay: Int32, icDiagnosisDay: Int32, progressionDay: Int32,
        deathDay: Int32, lastFollowupDay: Int32, localization: String, responseGroup: String?, therapyClass: String, asct: Bool?,
        radiotherapy: Bool?, intrathecal: Bool?, iss: Int?, cnsRisk: Int?, rISS: Int?
    ) {
        // Stages are 1...3 and the score 0...2: far inside Int16.
        func small(_ value: Int?) -> Int16 { value.map { Int16(clamping: $0) } ?? Self.noValue }
        self.site = site
        self.sex = sex
        self.localization = localization
        self.responseGroup = responseGroup
        self.therapyClass = therapyClass
        self.mmDiagnosisDay = mmDiagnosisDay
        self.icDiagnosisDay = icDiagnosisDay
        self.progressionDay = progressionDay
        self.deathDay = deathDay
        self.lastFollowupDay = lastFollowupDay
        self.storedBirthYear = birthYear.map { Int32(clamping: $0) } ?? Self.noYear
        self.storedISS = small(iss)
        self.storedCNSRisk = small(cnsRisk)
        self.storedRISS = small(rISS)
        self.asct = asct
        self.radiotherapy = radiotherapy
        self.intrathecal = intrathecal
    }

    private static func date(_ day: Int32) -> CalendarDate? { day == noDate ? nil : CalendarDate(dayNumber: Int(day)) }

    public var mmDiagnosis: CalendarDate { Self.date(mmDiagnosisDay)! }
    public var icDiagnosis: CalendarDate { Self.date(icDiagnosisDay)! }
    public var progression: CalendarDate? { Self.date(progressionDay) }
    public var death: CalendarDate? { Self.date(deathDay) }
    public var lastFollowup: CalendarDate? { Self.date(lastFollowupDay) }
    public var birthYear: Int? { storedBirthYear == Self.noYear ? nil : Int(storedBirthYear) }
    public var iss: Int? { storedISS == Self.noValue ? nil : Int(storedISS) }
    public var cnsRisk: Int? { storedCNSRisk == Self.noValue ? nil : Int(storedCNSRisk) }
    public var rISS: Int? { storedRISS == Self.noValue ? nil : Int(storedRISS) }

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
        case .cnsRisk: cnsRisk.map(Self.integerText)
        case .iss: iss.map(Self.integerText)
        }
    }

    /// A small count as text without formatting it per row.
    private static func integerText(_ value: Int) -> String { (0..<digits.count).contains(value) ? digits[value] : String(value) }
    private static let digits = (0...9).map(String.init)

    /// Whole years from the birth year to the year of the intracranial diagnosis (the dictionary
    /// has no full birth dates, on purpose).
    public var ageAtICDiagnosis: Int? { birthYear.map { icDiagnosis.year - $0 } }

    /// Whether the case has a progression date / a death date (cheaper than building the dates).
    public var hasProgression: Bool { progressionDay != Self.noDate }
    public var hasDeath: Bool { deathDay != Self.noDate }
}
