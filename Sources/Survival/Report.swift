/// The JSON-shaped results of `SurvivalAnalysis.analyze` (the shape of issue 3, shared with the
/// cohort survival endpoint). Keys are snake_case through explicit `CodingKeys`; a statistic that
/// cannot be estimated is JSON `null` (never a number, never infinity); a section that does not
/// apply (log-rank with one group, Cox when not asked, ...) is left out.

/// A point estimate with confidence limits; any of them may be null (e.g. a median not reached).
public struct Estimate: Codable, Sendable, Equatable {
    public var estimate: Double?
    public var lower: Double?
    public var upper: Double?

    public init(estimate: Double?, lower: Double?, upper: Double?) {
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
    }

    enum CodingKeys: String, CodingKey { case estimate, lower, upper }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNullable(estimate, forKey: .estimate)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
    }
}

/// A survival-time quantile (R: `quantile(fit, probs = p)`): the time by which a fraction p of
/// subjects had the event.
public struct QuantileEstimate: Codable, Sendable, Equatable {
    public var probability: Double
    public var estimate: Double?
    public var lower: Double?
    public var upper: Double?

    enum CodingKeys: String, CodingKey { case probability, estimate, lower, upper }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(probability, forKey: .probability)
        try c.encodeNullable(estimate, forKey: .estimate)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
    }
}

/// Survival at a landmark time (R: `summary(fit, times = t)`); null estimates after the last
/// follow-up time.
public struct LandmarkEstimate: Codable, Sendable, Equatable {
    public var time: Double
    public var survival: Double?
    public var stdErr: Double?
    public var lower: Double?
    public var upper: Double?
    public var nRisk: Int

    enum CodingKeys: String, CodingKey {
        case time, survival, lower, upper
        case stdErr = "std_err"
        case nRisk = "n_risk"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(time, forKey: .time)
        try c.encodeNullable(survival, forKey: .survival)
        try c.encodeNullable(stdErr, forKey: .stdErr)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
        try c.encode(nRisk, forKey: .nRisk)
    }
}

/// Restricted mean survival time up to tau with its standard error.
public struct RestrictedMean: Codable, Sendable, Equatable {
    public var tau: Double
    public var estimate: Double
    public var stdErr: Double

    enum CodingKeys: String, CodingKey {
        case tau, estimate
        case stdErr = "std_err"
    }

    /// Non-finite values (a huge tau overflows the variance) encode as null, never as an error.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNullable(tau, forKey: .tau)
        try c.encodeNullable(estimate, forKey: .estimate)
        try c.encodeNullable(stdErr, forKey: .stdErr)
    }
}

/// A Kaplan-Meier curve as columns; encodes as an array of
/// `{"time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"}` objects.
/// NaN in `stdErr`, `lower`, `upper` means "not estimable" (R's NA / NaN) and encodes as null.
public struct CurveTable: Codable, Sendable {
    public var time: [Double]
    public var nRisk: [Int]
    public var nEvent: [Int]
    public var nCensor: [Int]
    public var survival: [Double]
    public var stdErr: [Double]
    public var lower: [Double]
    public var upper: [Double]

    public var count: Int { time.count }

    public init(
        time: [Double], nRisk: [Int], nEvent: [Int], nCensor: [Int], survival: [Double],
        stdErr: [Double], lower: [Double], upper: [Double]
    ) {
        self.time = time
        self.nRisk = nRisk
        self.nEvent = nEvent
        self.nCensor = nCensor
        self.survival = survival
        self.stdErr = stdErr
        self.lower = lower
        self.upper = upper
    }

    struct Point: Codable {
        var time: Double
        var nRisk: Int
        var nEvent: Int
        var nCensor: Int
        var survival: Double
        var stdErr: Double?
        var lower: Double?
        var upper: Double?

        enum CodingKeys: String, CodingKey {
            case time, survival, lower, upper
            case nRisk = "n_risk"
            case nEvent = "n_event"
            case nCensor = "n_censor"
            case stdErr = "std_err"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(time, forKey: .time)
            try c.encode(nRisk, forKey: .nRisk)
            try c.encode(nEvent, forKey: .nEvent)
            try c.encode(nCensor, forKey: .nCensor)
            try c.encode(survival, forKey: .survival)
            try c.encodeNullable(stdErr, forKey: .stdErr)
            try c.encodeNullable(lower, forKey: .lower)
            try c.encodeNullable(upper, forKey: .upper)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        for k in 0..<time.count {
            try c.encode(
                Point(
                    time: time[k], nRisk: nRisk[k], nEvent: nEvent[k], nCensor: nCensor[k],
                    survival: survival[k], stdErr: finite(stdErr[k]), lower: finite(lower[k]),
                    upper: finite(upper[k])))
        }
    }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        var points: [Point] = []
        while !c.isAtEnd { points.append(try c.decode(Point.self)) }
        time = points.map(\.time)
        nRisk = points.map(\.nRisk)
        nEvent = points.map(\.nEvent)
        nCensor = points.map(\.nCensor)
        survival = points.map(\.survival)
        stdErr = points.map { $0.stdErr ?? .nan }
        lower = points.map { $0.lower ?? .nan }
        upper = points.map { $0.upper ?? .nan }
    }
}

/// Everything reported for one group (one Kaplan-Meier curve).
public struct GroupReport: Codable, Sendable {
    public var key: String
    public var n: Int
    public var events: Int
    public var median: Estimate
    /// Only when quantiles were requested.
    public var quantiles: [QuantileEstimate]?
    public var survivalAt: [LandmarkEstimate]
    /// Only when tau was given.
    public var rmst: RestrictedMean?
    public var curve: CurveTable

    enum CodingKeys: String, CodingKey {
        case key, n, events, median, quantiles, rmst, curve
        case survivalAt = "survival_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(n, forKey: .n)
        try c.encode(events, forKey: .events)
        try c.encode(median, forKey: .median)
        try c.encodeIfPresent(quantiles, forKey: .quantiles)
        try c.encode(survivalAt, forKey: .survivalAt)
        try c.encodeIfPresent(rmst, forKey: .rmst)
        try c.encode(curve, forKey: .curve)
    }
}

/// A k-sample test (log-rank or Peto-Peto): observed and expected are per group, in group order.
public struct GroupComparison: Codable, Sendable, Equatable {
    public var chisq: Double
    public var df: Int
    /// Null when the test has no degrees of freedom.
    public var pValue: Double?
    public var observed: [Double]
    public var expected: [Double]

    enum CodingKeys: String, CodingKey {
        case chisq, df, observed, expected
        case pValue = "p_value"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(chisq, forKey: .chisq)
        try c.encode(df, forKey: .df)
        try c.encodeNullable(pValue, forKey: .pValue)
        try c.encode(observed, forKey: .observed)
        try c.encode(expected, forKey: .expected)
    }

    init(_ test: LogRankTest) {
        chisq = test.chisq
        df = test.df
        pValue = test.pValue
        observed = test.observed
        expected = test.expected
    }
}

/// A pairwise log-rank comparison with its Holm-adjusted p-value.
public struct PairwiseComparison: Codable, Sendable, Equatable {
    public var a: String
    public var b: String
    public var pValue: Double?
    public var pAdjusted: Double?

    enum CodingKeys: String, CodingKey {
        case a, b
        case pValue = "p_value"
        case pAdjusted = "p_adjusted"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(a, forKey: .a)
        try c.encode(b, forKey: .b)
        try c.encodeNullable(pValue, forKey: .pValue)
        try c.encodeNullable(pAdjusted, forKey: .pAdjusted)
    }
}

/// A chi-square test statistic with its degrees of freedom and p-value.
public struct ChiSquareTest: Codable, Sendable, Equatable {
    public var statistic: Double
    public var df: Int
    public var pValue: Double

    enum CodingKeys: String, CodingKey {
        case statistic, df
        case pValue = "p_value"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNullable(statistic, forKey: .statistic)
        try c.encode(df, forKey: .df)
        try c.encodeNullable(pValue, forKey: .pValue)
    }
}

/// One Cox model term.
public struct CoxTerm: Codable, Sendable, Equatable {
    public var term: String
    public var coef: Double
    public var hazardRatio: Double
    public var stdErr: Double
    public var z: Double
    public var pValue: Double
    /// Wald confidence limits of the hazard ratio, exp(coef -/+ z se).
    public var lower: Double
    public var upper: Double

    enum CodingKeys: String, CodingKey {
        case term, coef, z, lower, upper
        case hazardRatio = "hazard_ratio"
        case stdErr = "std_err"
        case pValue = "p_value"
    }

    /// Non-finite values (e.g. limits at a confidence level a hair below 1) encode as null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(term, forKey: .term)
        try c.encodeNullable(coef, forKey: .coef)
        try c.encodeNullable(hazardRatio, forKey: .hazardRatio)
        try c.encodeNullable(stdErr, forKey: .stdErr)
        try c.encodeNullable(z, forKey: .z)
        try c.encodeNullable(pValue, forKey: .pValue)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
    }
}

/// A Cox model summary (R: `summary(coxph(...))`).
public struct CoxReport: Codable, Sendable, Equatable {
    public var ties: String
    public var n: Int
    public var events: Int
    public var terms: [CoxTerm]
    /// [null model, fitted model].
    public var loglik: [Double]
    public var lrTest: ChiSquareTest
    public var waldTest: ChiSquareTest
    public var scoreTest: ChiSquareTest
    /// Newton-Raphson iterations (R: `fit$iter`); the same count as R shows the same algorithm.
    public var iterations: Int
    /// The strata column of a stratified fit (absent when unstratified).
    public var strata: String?
    /// The proportional-hazards test, when asked for.
    public var phTest: ProportionalHazardsTest?

    enum CodingKeys: String, CodingKey {
        case ties, n, events, terms, loglik, iterations, strata
        case lrTest = "lr_test"
        case waldTest = "wald_test"
        case scoreTest = "score_test"
        case phTest = "ph_test"
    }
}

/// The whole analysis.
public struct SurvivalReport: Codable, Sendable {
    public var n: Int
    public var events: Int
    public var confType: ConfidenceType
    public var confLevel: Double
    public var droppedRows: Int
    public var groups: [GroupReport]
    public var logrank: GroupComparison?
    public var petoPeto: GroupComparison?
    public var pairwise: [PairwiseComparison]?
    public var medianFollowup: Estimate
    public var cox: CoxReport?
    /// RMST differences for every pair of groups (only with tau and two or more groups).
    public var rmstDifferences: [RestrictedMeanDifference]?

    enum CodingKeys: String, CodingKey {
        case n, events, groups, logrank, pairwise, cox
        case rmstDifferences = "rmst_differences"
        case confType = "conf_type"
        case confLevel = "conf_level"
        case droppedRows = "dropped_rows"
        case petoPeto = "peto_peto"
        case medianFollowup = "median_followup"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encode(events, forKey: .events)
        try c.encode(confType, forKey: .confType)
        try c.encode(confLevel, forKey: .confLevel)
        try c.encode(droppedRows, forKey: .droppedRows)
        try c.encode(groups, forKey: .groups)
        try c.encodeIfPresent(logrank, forKey: .logrank)
        try c.encodeIfPresent(petoPeto, forKey: .petoPeto)
        try c.encodeIfPresent(pairwise, forKey: .pairwise)
        try c.encode(medianFollowup, forKey: .medianFollowup)
        try c.encodeIfPresent(cox, forKey: .cox)
        try c.encodeIfPresent(rmstDifferences, forKey: .rmstDifferences)
    }
}

extension KeyedEncodingContainer {
    /// Encodes a value, or an explicit JSON null when it is nil or not finite.
    mutating func encodeNullable(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite {
            try encode(value, forKey: key)
        } else {
            try encodeNil(forKey: key)
        }
    }
}
