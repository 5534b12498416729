#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Competing-risks subjects, by column.
public struct CompetingRisksData: Sendable {
    /// Exit time (event or censoring), finite and >= 0.
    public var time: [Double]
    /// "0" = censored; any other value names the cause of the event (kept as text: "1", "death").
    public var cause: [String]
    /// Optional group key per subject (without it one group "all").
    public var group: [String]?
    /// Fine-Gray covariates (numeric, or categorical dummy-coded against the first level in
    /// code-point order, terms named covariate + level); none = no Fine-Gray models.
    public var covariates: [Covariate]

    public init(time: [Double], cause: [String], group: [String]? = nil, covariates: [Covariate] = []) {
        self.time = time
        self.cause = cause
        self.group = group
        self.covariates = covariates
    }
}

/// Options of a competing-risks analysis.
public struct CompetingRisksOptions: Sendable, Equatable {
    /// Times for `at` (each finite and >= 0).
    public var times: [Double]
    /// Confidence level in (0, 1) for incidence limits and Fine-Gray hazard ratios.
    public var confLevel: Double
    /// Causes to report even when no subject has them (reported with zero events), in addition
    /// to the causes present in the data.
    public var causes: [String]

    public init(times: [Double] = [], confLevel: Double = 0.95, causes: [String] = []) {
        self.times = times
        self.confLevel = confLevel
        self.causes = causes
    }
}

/// Competing-risks analysis: cumulative incidence per group and cause (`cmprsk::cuminc`), Gray's
/// test per cause, Fine-Gray models per cause (`cmprsk::crr`).
public enum CompetingRisks {
    /// The censoring code of the cause column.
    public static let censored = "0"

    /// Runs the analysis.
    ///
    /// - Throws: `SurvivalError` for invalid input or options, `.fineGrayDidNotConverge` when a
    ///   Fine-Gray model does not converge, covariate errors of the Fine-Gray design.
    ///   A cause without events is not an error: it is reported with zero events, a flat zero
    ///   incidence, a null Gray statistic and a Fine-Gray entry without terms, each with a reason.
    public static func analyze(
        _ data: CompetingRisksData, options: CompetingRisksOptions = CompetingRisksOptions()
    ) throws(SurvivalError) -> CompetingRisksReport {
        let n = data.time.count
        if n == 0 { throw .noSubjects }
        if data.cause.count != n { throw .lengthMismatch(column: "event", expected: n, actual: data.cause.count) }
        if let group = data.group, group.count != n {
            throw .lengthMismatch(column: "group", expected: n, actual: group.count)
        }
        if let i = data.time.firstIndex(where: { !($0.isFinite && $0 >= 0) }) { throw .invalidTime(index: i) }
        if !(options.confLevel > 0 && options.confLevel < 1) {
            throw .invalidOption("confidence level must be strictly between 0 and 1")
        }
        for t in options.times where !(t.isFinite && t >= 0) {
            throw .invalidOption("times must be finite and >= 0")
        }
        for c in options.causes where c == censored || c.isEmpty {
            throw .invalidOption("a declared cause must be a non-empty value other than \(censored)")
        }
        // Causes in code-point order; cause number k + 1 for causes[k] (0 = censored).
        let (seen, seenNumber) = LevelCoder.number(data.cause)
        let causes = Array(Set(seen.filter { $0 != censored }).union(options.causes)).sorted()
        let seenCode = seen.map { c in c == censored ? Int32(0) : Int32(causes.firstIndex(of: c)! + 1) }
        // Group keys in code-point order; a subject's group is the position of its key there.
        let (keys, groupNumber, groupPosition) =
            data.group.map(LevelCoder.numberSorted) ?? (["all"], [Int](repeating: 0, count: n), [0])
        let z = Distributions.normalQuantile(1 - (1 - options.confLevel) / 2)
        let times = Array(Set(options.times)).sorted()

        let (order, sortedTime) = sortTimes(data.time)
        let sortedCode = order.map { seenCode[seenNumber[Int($0)]] }
        let sortedGroup = order.map { Int32(groupPosition[groupNumber[Int($0)]]) }
        let curves = CumulativeIncidenceCurve.estimateSorted(
            time: sortedTime, code: sortedCode, group: sortedGroup, groupCount: keys.count, causeCount: causes.count)
        var groups: [IncidenceGroup] = []
        for (c, cause) in causes.enumerated() {
            for (g, key) in keys.enumerated() {
                groups.append(IncidenceGroup(key: key, cause: cause, curve: curves[c][g], times: times, z: z))
            }
        }

        var gray: [GrayTestResult]? = nil
        if keys.count >= 2 {
            let df = keys.count - 1
            let withEvents = causes.indices.filter { c in curves[c].contains { $0.events > 0 } }.map { Int32($0 + 1) }
            let stats = GrayTest.statistics(
                time: sortedTime, code: sortedCode, codeCount: causes.count + 1, causes: withEvents,
                group: sortedGroup, groupCount: keys.count)
            gray = causes.enumerated().map { c, cause in
                guard let m = withEvents.firstIndex(of: Int32(c + 1)) else {
                    return GrayTestResult(cause: cause, statistic: nil, df: df, pValue: nil, reason: "no events of this cause")
                }
                let stat = stats[m]
                return GrayTestResult(
                    cause: cause, statistic: stat, df: df,
                    pValue: stat.map { Distributions.chiSquareUpperTail($0, df: Double(df)) },
                    reason: stat == nil ? "the variance matrix of the test is singular" : nil)
            }
        }

        var fineGray: [FineGrayReport]? = nil
        if !data.covariates.isEmpty {
            let (columns, terms) = try designColumns(data.covariates, count: n)
            let code = seenNumber.map { seenCode[$0] }
            var reports: [FineGrayReport] = []
            for (c, cause) in causes.enumerated() {
                do throws(SurvivalError) {
                    let fit = try FineGrayModel.fit(
                        time: data.time, code: code, cause: Int32(c + 1), causeName: cause, columns: columns, terms: terms)
                    reports.append(FineGrayReport(cause: cause, fit: fit, z: z))
                } catch .noEvents {
                    reports.append(FineGrayReport(cause: cause, n: n, events: 0, terms: [], reason: "no events of this cause"))
                }
            }
            fineGray = reports
        }
        return CompetingRisksReport(causes: causes, groups: groups, grayTest: gray, fineGray: fineGray)
    }

    /// Design matrix of covariates: numeric as is; categorical dummy coded against the first
    /// level in code-point order, one column per other level named covariate + level.
    static func designColumns(_ covariates: [Covariate], count n: Int) throws(SurvivalError) -> ([[Double]], [String]) {
        var columns: [[Double]] = []
        var terms: [String] = []
        for covariate in covariates {
            switch covariate.values {
            case .numeric(let values):
                if values.count != n { throw .lengthMismatch(column: covariate.name, expected: n, actual: values.count) }
                columns.append(values)
                terms.append(covariate.name)
            case .categorical(let values):
                if values.count != n { throw .lengthMismatch(column: covariate.name, expected: n, actual: values.count) }
                let levels = Array(Set(values)).sorted()
                if levels.count < 2 { throw .covariateHasNoVariation(term: covariate.name) }
                for level in levels.dropFirst() {
                    columns.append(values.map { $0 == level ? 1 : 0 })
                    terms.append(covariate.name + level)
                }
            }
        }
        return (columns, terms)
    }

    /// Number of subjects at risk (time >= t) at each time, per group key in code-point order
    /// (for the number-at-risk table under an incidence plot).
    public static func numberAtRisk(time: [Double], group: [String]?, at times: [Double]) -> [(key: String, counts: [Int])] {
        let (keys, index) = SurvivalAnalysis.groupIndices(group, count: time.count)
        var sorted = [[Double]](repeating: [], count: keys.count)
        for (i, t) in time.enumerated() { sorted[index[i]].append(t) }
        return keys.enumerated().map { g, key in
            let ts = sorted[g].sorted()
            let counts = times.map { t -> Int in
                var lo = 0, hi = ts.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if ts[mid] < t { lo = mid + 1 } else { hi = mid }
                }
                return ts.count - lo
            }
            return (key, counts)
        }
    }
}
