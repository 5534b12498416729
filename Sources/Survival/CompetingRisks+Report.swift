/// The JSON-shaped results of `CompetingRisks.analyze` (issue 10's `competing_risks` object).
/// A value that cannot be estimated is null; sections that do not apply are left out.
public struct CompetingRisksReport: Codable, Sendable {
    /// Every cause, in code-point order (including declared causes without events).
    public var causes: [String]
    /// Cumulative incidence per cause and group (cause-major, groups in key order, as cuminc).
    public var groups: [IncidenceGroup]
    /// Gray's test per cause (two or more groups only).
    public var grayTest: [GrayTestResult]?
    /// Fine-Gray models per cause (only with covariates).
    public var fineGray: [FineGrayReport]?

    enum CodingKeys: String, CodingKey {
        case causes, groups
        case grayTest = "gray_test"
        case fineGray = "fine_gray"
    }
}

/// One point of a cumulative incidence curve with its cmprsk variance and log(-log) limits.
public struct IncidencePoint: Codable, Sendable, Equatable {
    public var time: Double
    /// Null after the group's last follow-up time (R: `timepoints` gives NA).
    public var estimate: Double?
    public var variance: Double?
    public var lower: Double?
    public var upper: Double?

    enum CodingKeys: String, CodingKey { case time, estimate, variance, lower, upper }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(time, forKey: .time)
        try c.encodeNullable(estimate, forKey: .estimate)
        try c.encodeNullable(variance, forKey: .variance)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
    }

    init(time: Double, estimate: Double?, variance: Double?, z: Double) {
        self.time = time
        self.estimate = estimate.flatMap(finite)
        self.variance = variance.flatMap(finite)
        if let estimate, let variance {
            (lower, upper) = CumulativeIncidenceCurve.limits(estimate: estimate, variance: variance, z: z)
        }
    }
}

/// The cumulative incidence of one cause in one group.
public struct IncidenceGroup: Codable, Sendable, Equatable {
    public var key: String
    public var cause: String
    public var n: Int
    /// Events of this cause in this group.
    public var events: Int
    /// The curve at the requested times.
    public var at: [IncidencePoint]
    /// One row per event time of the cause (the jumps of the step function).
    public var curve: [IncidencePoint]
    /// The group's last follow-up time (where the step function ends).
    public var lastTime: Double

    enum CodingKeys: String, CodingKey {
        case key, cause, n, events, at, curve
        case lastTime = "last_time"
    }

    init(key: String, cause: String, curve: CumulativeIncidenceCurve, times: [Double], z: Double) {
        self.key = key
        self.cause = cause
        n = curve.n
        events = curve.events
        lastTime = curve.lastTime
        at = times.map { t in
            let v = curve.value(at: t)
            return IncidencePoint(time: t, estimate: v?.estimate, variance: v?.variance, z: z)
        }
        self.curve = curve.time.indices.map { k in
            IncidencePoint(time: curve.time[k], estimate: curve.estimate[k], variance: curve.variance[k], z: z)
        }
    }
}

/// Gray's test for one cause.
public struct GrayTestResult: Codable, Sendable, Equatable {
    public var cause: String
    public var statistic: Double?
    public var df: Int
    public var pValue: Double?
    /// Why the statistic is null (absent otherwise).
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case cause, statistic, df, reason
        case pValue = "p_value"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cause, forKey: .cause)
        try c.encodeNullable(statistic, forKey: .statistic)
        try c.encode(df, forKey: .df)
        try c.encodeNullable(pValue, forKey: .pValue)
        try c.encodeIfPresent(reason, forKey: .reason)
    }
}

/// One Fine-Gray term.
public struct FineGrayTerm: Codable, Sendable, Equatable {
    public var term: String
    public var coef: Double?
    public var stdErr: Double?
    public var hazardRatio: Double?
    /// Wald limits of the subdistribution hazard ratio, exp(coef -/+ z se).
    public var lower: Double?
    public var upper: Double?
    public var pValue: Double?

    enum CodingKeys: String, CodingKey {
        case term, coef, lower, upper
        case stdErr = "std_err"
        case hazardRatio = "hazard_ratio"
        case pValue = "p_value"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(term, forKey: .term)
        try c.encodeNullable(coef, forKey: .coef)
        try c.encodeNullable(stdErr, forKey: .stdErr)
        try c.encodeNullable(hazardRatio, forKey: .hazardRatio)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
        try c.encodeNullable(pValue, forKey: .pValue)
    }
}

/// The Fine-Gray model of one cause.
public struct FineGrayReport: Codable, Sendable, Equatable {
    public var cause: String
    public var n: Int
    public var events: Int
    public var terms: [FineGrayTerm]
    /// Why there are no terms (absent otherwise).
    public var reason: String?

    enum CodingKeys: String, CodingKey { case cause, n, events, terms, reason }

    public init(cause: String, n: Int, events: Int, terms: [FineGrayTerm], reason: String?) {
        self.cause = cause
        self.n = n
        self.events = events
        self.terms = terms
        self.reason = reason
    }

    init(cause: String, fit: FineGrayFit, z: Double) {
        let se = fit.standardErrors
        self.init(
            cause: cause, n: fit.n, events: fit.events,
            terms: fit.terms.indices.map { j in
                let b = fit.coefficients[j]
                return FineGrayTerm(
                    term: fit.terms[j], coef: finite(b), stdErr: finite(se[j]), hazardRatio: finite(exp(b)),
                    lower: finite(exp(b - z * se[j])), upper: finite(exp(b + z * se[j])),
                    pValue: se[j] > 0 ? finite(Distributions.twoSidedNormalPValue(b / se[j])) : nil)
            }, reason: nil)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
