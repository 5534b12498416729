import Survival

/// The cohort a query selects: filters, grouping, and whose cases it may see.
public struct CohortSelection: Sendable, Hashable {
    public var filter = CohortFilter()
    public var groupBy: CohortField?
    /// nil: every site (analyst, admin); a site: a submitter's own cases only.
    public var scopeSite: String?

    public init(filter: CohortFilter = CohortFilter(), groupBy: CohortField? = nil, scopeSite: String? = nil) {
        self.filter = filter
        self.groupBy = groupBy
        self.scopeSite = scopeSite
    }
}

/// The unit survival times are reported in. Months are days / 30.4375, the registry's convention.
public enum TimeUnit: String, Sendable, CaseIterable {
    case months, days

    public static let daysPerMonth = 30.4375

    /// Days per unit.
    public var days: Double { self == .months ? Self.daysPerMonth : 1 }
}

/// Small-cell suppression (DOMAIN.md section 8): groups smaller than `minCellSize` report only
/// their size, so that a curve cannot reveal one patient's dates. 0 disables it.
public struct Suppression: Sendable, Hashable {
    public var minCellSize: Int

    public init(minCellSize: Int) { self.minCellSize = minCellSize }

    /// The keys of the groups below the minimum cell size.
    public func suppressed(_ counts: [String: Int]) -> Set<String> {
        guard minCellSize > 0 else { return [] }
        return Set(counts.filter { $0.value < minCellSize }.keys)
    }

    /// Whether a whole cohort of `n` subjects is too small to show.
    public func hides(_ n: Int) -> Bool { minCellSize > 0 && n < minCellSize }
}

/// Kaplan-Meier curves, group tests and RMST for a cohort.
public struct SurvivalQuery: Sendable {
    public var selection: CohortSelection
    public var endpoint: SurvivalEndpoint
    public var origin: SurvivalOrigin
    public var unit: TimeUnit
    public var options: AnalysisOptions

    public init(
        selection: CohortSelection, endpoint: SurvivalEndpoint = .os, origin: SurvivalOrigin = .icDiagnosis,
        unit: TimeUnit = .months, options: AnalysisOptions = AnalysisOptions()
    ) {
        self.selection = selection
        self.endpoint = endpoint
        self.origin = origin
        self.unit = unit
        self.options = options
    }

    /// All that `CohortAnalysis.survival` reads of a row for this query (`CohortRow.survivalTime`
    /// and the group): a cohort scan may leave the rest unread (issue 10: the default query reads
    /// 4 columns instead of 17).
    public var reading: CohortRowReading {
        var dates: Set<CohortDate> = endpoint == .os ? [.death, .lastFollowup] : [.progression, .death, .lastFollowup]
        if origin == .mmDiagnosis { dates.insert(.mmDiagnosis) }
        return CohortRowReading(fields: selection.groupBy.map { [$0] } ?? [], dates: dates)
    }
}

/// A Cox covariate of the cohort: a categorical cohort field or a numeric value.
public enum CohortCovariate: Sendable, Hashable {
    case field(CohortField)
    case ageAtICDiagnosis

    public static let numericNames = ["age_at_ic_diagnosis"]
    /// Every name `covariates=` accepts, in the order error messages list them.
    public static let allNames = CohortField.allCases.map(\.rawValue) + numericNames

    public init?(name: String) {
        if let field = CohortField(rawValue: name) {
            self = .field(field)
        } else if name == "age_at_ic_diagnosis" {
            self = .ageAtICDiagnosis
        } else {
            return nil
        }
    }

    public var name: String {
        switch self {
        case .field(let field): field.rawValue
        case .ageAtICDiagnosis: "age_at_ic_diagnosis"
        }
    }
}

/// A Cox model over a cohort; times in months.
public struct CoxQuery: Sendable {
    public var selection: CohortSelection
    public var covariates: [CohortCovariate]
    public var endpoint: SurvivalEndpoint
    public var origin: SurvivalOrigin
    public var confLevel: Double
    /// R's `+ strata(field)`: a baseline hazard per value, shared coefficients.
    public var strata: CohortField?
    /// R's `cox.zph(fit, transform = "km")`.
    public var phTest: Bool

    public init(
        selection: CohortSelection, covariates: [CohortCovariate], endpoint: SurvivalEndpoint = .os,
        origin: SurvivalOrigin = .icDiagnosis, confLevel: Double = 0.95, strata: CohortField? = nil, phTest: Bool = false
    ) {
        self.strata = strata
        self.phTest = phTest
        self.selection = selection
        self.covariates = covariates
        self.endpoint = endpoint
        self.origin = origin
        self.confLevel = confLevel
    }
}

/// The de-identified analysis data set of a cohort.
public struct DatasetQuery: Sendable {
    public var selection: CohortSelection
    public var endpoint: SurvivalEndpoint
    public var origin: SurvivalOrigin

    public init(selection: CohortSelection, endpoint: SurvivalEndpoint = .os, origin: SurvivalOrigin = .icDiagnosis) {
        self.selection = selection
        self.endpoint = endpoint
        self.origin = origin
    }
}
