#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Input subjects, by column (one entry per subject in every array).
public struct SurvivalData: Sendable {
    /// Exit time (event or censoring), finite and >= 0, in any unit (no conversion happens here).
    public var time: [Double]
    /// true = event, false = censored.
    public var event: [Bool]
    /// Optional delayed-entry (left-truncation) time, >= 0 and < time (R: `Surv(entry, time, event)`).
    public var entry: [Double]?
    /// Optional group key per subject; without it every subject is in group "all".
    public var group: [String]?
    /// Cox covariates; a Cox model is fitted when this is not empty.
    public var covariates: [Covariate]
    /// Optional Cox strata (R: `+ strata(name)`): a separate baseline hazard per level.
    public var strata: Strata?

    public init(
        time: [Double], event: [Bool], entry: [Double]? = nil, group: [String]? = nil,
        covariates: [Covariate] = [], strata: Strata? = nil
    ) {
        self.time = time
        self.event = event
        self.entry = entry
        self.group = group
        self.covariates = covariates
        self.strata = strata
    }
}

/// The strata of a stratified Cox model: a categorical column, one label per subject.
public struct Strata: Sendable, Equatable {
    public var name: String
    public var values: [String]

    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }
}

/// A Cox covariate: numeric (one term, named like the covariate) or categorical (dummy coded
/// against the alphabetically first level, one term per other level named covariate + level,
/// like R's `sexmale`).
public struct Covariate: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case numeric([Double])
        case categorical([String])
    }

    public var name: String
    public var values: Values

    public init(name: String, values: Values) {
        self.name = name
        self.values = values
    }

    public static func numeric(_ name: String, _ values: [Double]) -> Covariate {
        Covariate(name: name, values: .numeric(values))
    }

    public static func categorical(_ name: String, _ values: [String]) -> Covariate {
        Covariate(name: name, values: .categorical(values))
    }
}

/// Options of an analysis (defaults as R's survival package).
public struct AnalysisOptions: Sendable, Equatable {
    /// Confidence interval transform for curves, medians, quantiles and landmarks.
    public var confType: ConfidenceType
    /// Confidence level in (0, 1), for every interval in the report (including Cox hazard ratios).
    public var confLevel: Double
    /// Landmark times for `survival_at`, each >= 0.
    public var landmarks: [Double]
    /// Horizon of the restricted mean survival time; nil = no RMST.
    public var tau: Double?
    /// Extra quantile probabilities in (0, 1) (e.g. 0.25, 0.75); the median is always reported.
    public var quantiles: [Double]
    /// Adds the proportional-hazards test (`cox.ph_test`) to a Cox model.
    public var phTest: Bool

    public init(
        confType: ConfidenceType = .log, confLevel: Double = 0.95, landmarks: [Double] = [],
        tau: Double? = nil, quantiles: [Double] = [], phTest: Bool = false
    ) {
        self.phTest = phTest
        self.confType = confType
        self.confLevel = confLevel
        self.landmarks = landmarks
        self.tau = tau
        self.quantiles = quantiles
    }
}

/// Stages of an analysis, reported to an optional observer (used by benchmarks to time the
/// engine from outside: the engine itself never reads a clock).
public enum AnalysisStage: String, Sendable, CaseIterable {
    /// Validation, grouping, and sorting by time (once, shared by every later stage).
    case prepare
    /// Kaplan-Meier curves with limits, medians, quantiles, landmarks and RMST for every group.
    case kaplanMeier = "kaplan_meier"
    /// Log-rank test.
    case logRank = "logrank"
    /// Peto-Peto test.
    case petoPeto = "peto_peto"
    /// Pairwise log-rank tests with Holm adjustment.
    case pairwise
    /// Median follow-up by reverse Kaplan-Meier.
    case followUp = "follow_up"
    /// Cox model.
    case cox
}

/// Survival analysis of one data set: Kaplan-Meier per group, log-rank and Peto-Peto tests,
/// pairwise comparisons, median follow-up and an optional Cox model (DOMAIN.md sections 7-8).
public enum SurvivalAnalysis {

    /// Runs the whole analysis.
    ///
    /// - Parameters:
    ///   - data: subjects by column.
    ///   - options: confidence type and level, landmarks, tau, extra quantiles.
    ///   - droppedRows: rows the caller left out (reported as `dropped_rows`).
    ///   - observer: called with each stage just before it starts and with nil when all is done.
    ///   - parallel: fits the Cox model on a second thread while the tests and curves are
    ///     computed (same results; `icmm analyze` sets it). Ignored with an observer, whose
    ///     stages are timed one after the other.
    /// - Throws: `SurvivalError` for invalid input or options, and for Cox models that cannot be
    ///   estimated.
    public static func analyze(
        _ data: SurvivalData, options: AnalysisOptions = AnalysisOptions(), droppedRows: Int = 0,
        observer: ((AnalysisStage?) -> Void)? = nil, parallel: Bool = false
    ) throws(SurvivalError) -> SurvivalReport {
        observer?(.prepare)
        try validate(options)
        try validateSurvivalColumns(time: data.time, event: data.event, entry: data.entry)
        let n = data.time.count
        if n == 0 { throw .noSubjects }
        if let group = data.group, group.count != n {
            throw .lengthMismatch(column: "group", expected: n, actual: group.count)
        }
        for covariate in data.covariates {
            let count: Int
            switch covariate.values {
            case .numeric(let v): count = v.count
            case .categorical(let v): count = v.count
            }
            if count != n { throw .lengthMismatch(column: covariate.name, expected: n, actual: count) }
        }
        // The groups are found while the subjects are sorted (independent work).
        var grouping: (keys: [String], index: [Int]) = ([], [])
        var totalEvents = 0
        var sortedSubjects: SortedSubjects? = nil
        Concurrently.run(
            parallel: parallel && observer == nil,
            {
                grouping = groupIndices(data.group, count: n)
                totalEvents = data.event.reduce(0) { $0 + ($1 ? 1 : 0) }
            },
            { sortedSubjects = SortedSubjects(time: data.time, event: data.event, entry: data.entry) })
        let (keys, groupIndex) = grouping
        let sorted = sortedSubjects!
        let k = keys.count
        // Group per sorted subject, for the tests and the curves (made on their thread).
        var sortedGroup: [Int32] = []

        var logrank: GroupComparison? = nil
        var petoPeto: GroupComparison? = nil
        var pairwise: [PairwiseComparison]? = nil
        var testsError: SurvivalError? = nil
        func tests() {
            if k > 1 { sortedGroup = sorted.order.map { Int32(groupIndex[Int($0)]) } }
            do throws(SurvivalError) {
                if k >= 2 && data.entry == nil {
                    if observer != nil {
                        // Timed stage by stage, one test after the other.
                        observer?(.logRank)
                        logrank = GroupComparison(
                            try LogRankTest.compute(
                                time: sorted.time, event: sorted.event, group: sortedGroup, groupCount: k, rho: 0))
                        observer?(.petoPeto)
                        petoPeto = GroupComparison(
                            try LogRankTest.compute(
                                time: sorted.time, event: sorted.event, group: sortedGroup, groupCount: k, rho: 1))
                        if k > 2 {
                            observer?(.pairwise)
                            pairwise = try pairwiseLogRank(
                                keys: keys, time: sorted.time, event: sorted.event, group: sortedGroup)
                        }
                    } else {
                        // The same numbers from one pass over the subjects.
                        let family = try LogRankFamily.compute(
                            time: sorted.time, event: sorted.event, group: sortedGroup, groupCount: k, pairs: k > 2)
                        logrank = GroupComparison(family.logRank)
                        petoPeto = GroupComparison(family.petoPeto)
                        if k > 2 { pairwise = pairwiseComparisons(keys: keys, tests: family.pairs) }
                    }
                }
            } catch {
                testsError = error
            }
        }

        var followUp = Estimate(estimate: nil, lower: nil, upper: nil)
        func medianFollowUp() {
            observer?(.followUp)
            let reverse = KaplanMeierCurve.estimateSorted(
                time: sorted.time, event: sorted.event.map { !$0 }, sortedEntries: sorted.entry, keepCounts: false)
            let fu = reverse.quantile(0.5, type: options.confType, level: options.confLevel)
            followUp = Estimate(estimate: fu.estimate, lower: fu.lower, upper: fu.upper)
        }

        var cox: CoxReport? = nil
        var coxError: SurvivalError? = nil
        func coxModel() {
            if data.covariates.isEmpty { return }
            observer?(.cox)
            do throws(SurvivalError) {
                cox = try coxReport(data, sorted: sorted, confLevel: options.confLevel, phTest: options.phTest)
            } catch {
                coxError = error
            }
        }

        // Curves last: the other stages' working memory is released before the report's curves
        // (the largest part of the result) are built. Each group's subjects are taken from the
        // shared sort, which keeps them sorted.
        var groups: [GroupReport] = []
        func curves() {
            observer?(.kaplanMeier)
            groups.reserveCapacity(k)
            if k == 1 {
                let curve = KaplanMeierCurve.estimateSorted(
                    time: sorted.time, event: sorted.event, sortedEntries: sorted.entry)
                groups.append(groupReport(key: keys[0], curve: curve, options: options))
                return
            }
            var groupSize = [Int](repeating: 0, count: k)
            for g in sortedGroup { groupSize[Int(g)] += 1 }
            for g in 0..<k {
                var time: [Double] = []
                var event: [Bool] = []
                time.reserveCapacity(groupSize[g])
                event.reserveCapacity(groupSize[g])
                for i in 0..<n where Int(sortedGroup[i]) == g {
                    time.append(sorted.time[i])
                    event.append(sorted.event[i])
                }
                var entries: [Double]? = nil
                if let entryOrder = sorted.entryOrder, let entrySorted = sorted.entry {
                    var sub: [Double] = []
                    sub.reserveCapacity(groupSize[g])
                    for i in 0..<n where groupIndex[Int(entryOrder[i])] == g { sub.append(entrySorted[i]) }
                    entries = sub
                }
                let curve = KaplanMeierCurve.estimateSorted(time: time, event: event, sortedEntries: entries)
                groups.append(groupReport(key: keys[g], curve: curve, options: options))
            }
        }

        if parallel && observer == nil {
            // The Cox model and the median follow-up share only the (read-only) sorted subjects
            // with the tests and curves.
            Concurrently.run({ coxModel(); medianFollowUp() }, { tests(); curves() })
        } else {
            tests()
            if testsError == nil {
                medianFollowUp()
                coxModel()
            }
            if testsError == nil && coxError == nil { curves() }
        }
        // The error the stages in sequence would have thrown first.
        if let testsError { throw testsError }
        if let coxError { throw coxError }

        var rmstDifferences: [RestrictedMeanDifference]? = nil
        if options.tau != nil, k >= 2 {
            rmstDifferences = RestrictedMeanDifference.allPairs(
                groups.compactMap { g in g.rmst.map { (key: g.key, rmst: $0) } }, confLevel: options.confLevel)
        }

        observer?(nil)
        return SurvivalReport(
            n: n, events: totalEvents, confType: options.confType, confLevel: options.confLevel,
            droppedRows: droppedRows, groups: groups, logrank: logrank, petoPeto: petoPeto,
            pairwise: pairwise, medianFollowup: followUp, cox: cox,
            rmstDifferences: rmstDifferences)
    }

    static func validate(_ options: AnalysisOptions) throws(SurvivalError) {
        if !(options.confLevel > 0 && options.confLevel < 1) {
            throw .invalidOption("confidence level must be strictly between 0 and 1")
        }
        for t in options.landmarks where !(t.isFinite && t >= 0) {
            throw .invalidOption("landmark times must be finite and >= 0")
        }
        if let tau = options.tau, !(tau.isFinite && tau > 0) {
            throw .invalidOption("tau must be a finite number > 0")
        }
        for p in options.quantiles where !(p > 0 && p < 1) {
            throw .invalidOption("quantile probabilities must be strictly between 0 and 1")
        }
    }

    /// Group keys in sorted (code point) order, the reference order for every per-group array,
    /// and each subject's group index.
    static func groupIndices(_ group: [String]?, count n: Int) -> (keys: [String], index: [Int]) {
        guard let group else { return (["all"], [Int](repeating: 0, count: n)) }
        let (keys, numbers, position) = LevelCoder.numberSorted(group)
        return (keys, numbers.map { position[$0] })
    }

    static func groupReport(key: String, curve: KaplanMeierCurve, options: AnalysisOptions) -> GroupReport {
        let (lower, upper) = curve.confidenceLimits(type: options.confType, level: options.confLevel)
        let median = curve.quantile(0.5, lower: lower, upper: upper)
        var quantiles: [QuantileEstimate]? = nil
        if !options.quantiles.isEmpty {
            quantiles = options.quantiles.map { p in
                let q = curve.quantile(p, lower: lower, upper: upper)
                return QuantileEstimate(probability: p, estimate: q.estimate, lower: q.lower, upper: q.upper)
            }
        }
        let landmarks = options.landmarks.map { t in
            let l = curve.landmark(t, lower: lower, upper: upper)
            return LandmarkEstimate(
                time: t, survival: l.survival, stdErr: l.stdErr, lower: l.lower, upper: l.upper, nRisk: l.nRisk)
        }
        let rmst = options.tau.map { tau in
            let r = curve.restrictedMean(tau: tau)
            return RestrictedMean(tau: tau, estimate: r.estimate, stdErr: r.stdErr)
        }
        let table = CurveTable(
            time: curve.time, nRisk: curve.nRisk, nEvent: curve.nEvent, nCensor: curve.nCensor,
            survival: curve.survival, stdErr: curve.standardError, lower: lower, upper: upper)
        return GroupReport(
            key: key, n: curve.n, events: curve.events,
            median: Estimate(estimate: median.estimate, lower: median.lower, upper: median.upper),
            quantiles: quantiles, survivalAt: landmarks, rmst: rmst, curve: table)
    }

    /// Log-rank test for every pair of groups (R: `survdiff` on the two groups' subjects), with
    /// Holm's adjustment over all pairs (R: `p.adjust(method = "holm")`).
    static func pairwiseLogRank(
        keys: [String], time: [Double], event: [Bool], group: [Int32]
    ) throws(SurvivalError) -> [PairwiseComparison] {
        var tests: [LogRankTest] = []
        for a in 0..<keys.count {
            for b in (a + 1)..<keys.count {
                var subTime: [Double] = [], subEvent: [Bool] = [], subGroup: [Int32] = []
                subTime.reserveCapacity(time.count)
                subEvent.reserveCapacity(time.count)
                subGroup.reserveCapacity(time.count)
                for i in 0..<time.count {
                    let g = Int(group[i])
                    if g == a || g == b {
                        subTime.append(time[i])
                        subEvent.append(event[i])
                        subGroup.append(g == b ? 1 : 0)
                    }
                }
                tests.append(
                    try LogRankTest.compute(time: subTime, event: subEvent, group: subGroup, groupCount: 2, rho: 0))
            }
        }
        return pairwiseComparisons(keys: keys, tests: tests)
    }

    /// The pairs' p-values with Holm's adjustment; `tests` in the order (0, 1), (0, 2), ..., (1, 2), ...
    static func pairwiseComparisons(keys: [String], tests: [LogRankTest]) -> [PairwiseComparison] {
        var result: [PairwiseComparison] = []
        var q = 0
        for a in 0..<keys.count {
            for b in (a + 1)..<keys.count {
                result.append(PairwiseComparison(a: keys[a], b: keys[b], pValue: tests[q].pValue, pAdjusted: nil))
                q += 1
            }
        }
        let adjusted = holmAdjust(result.map(\.pValue))
        for i in result.indices { result[i].pAdjusted = adjusted[i] }
        return result
    }

    /// Builds the design matrix (numeric as is; categorical dummy coded against the
    /// alphabetically first level) and fits the Cox model.
    static func coxReport(
        _ data: SurvivalData, sorted: SortedSubjects, confLevel: Double, phTest: Bool = false
    ) throws(SurvivalError) -> CoxReport {
        var columns: [[Double]] = []
        var terms: [String] = []
        var spans: [(name: String, columns: Range<Int>)] = []
        for covariate in data.covariates {
            let first = columns.count
            defer { spans.append((covariate.name, first..<columns.count)) }
            switch covariate.values {
            case .numeric(let values):
                columns.append(values)
                terms.append(covariate.name)
            case .categorical(let values):
                let levels = Array(Set(values)).sorted()
                if levels.count < 2 { throw .covariateHasNoVariation(term: covariate.name) }
                // A level without events makes its coefficient (or all others) infinite.
                var eventsPerLevel: [String: Int] = [:]
                for (i, v) in values.enumerated() where data.event[i] { eventsPerLevel[v, default: 0] += 1 }
                for level in levels where eventsPerLevel[level, default: 0] == 0 {
                    throw .levelWithoutEvents(term: covariate.name + level)
                }
                for level in levels.dropFirst() {
                    columns.append(values.map { $0 == level ? 1 : 0 })
                    terms.append(covariate.name + level)
                }
            }
        }
        let strata = try data.strata.map { (s) throws(SurvivalError) in
            try CoxModel.strataIndices(s.values, name: s.name, count: data.time.count)
        }
        let fit = try CoxModel.fitSorted(sorted, columns: columns, terms: terms, strata: strata)
        let ph = phTest
            ? try CoxModel.phTestSorted(fit: fit, sorted, columns: columns, covariates: spans, strata: strata) : nil
        let z = Distributions.normalQuantile(1 - (1 - confLevel) / 2)
        let se = fit.standardErrors
        var coxTerms: [CoxTerm] = []
        for j in 0..<terms.count {
            let b = fit.coefficients[j]
            let zStat = b / se[j]
            coxTerms.append(
                CoxTerm(
                    term: terms[j], coef: b, hazardRatio: exp(b), stdErr: se[j], z: zStat,
                    pValue: Distributions.chiSquareUpperTail(zStat * zStat, df: 1),
                    lower: exp(b - z * se[j]), upper: exp(b + z * se[j])))
        }
        let p = terms.count
        let lr = fit.likelihoodRatioStatistic
        let wald = fit.waldStatistic
        let score = fit.scoreStatistic
        return CoxReport(
            ties: "efron", n: fit.n, events: fit.events, terms: coxTerms,
            loglik: [fit.loglikNull, fit.loglikFitted],
            lrTest: ChiSquareTest(statistic: lr, df: p, pValue: Distributions.chiSquareUpperTail(lr, df: Double(p))),
            waldTest: ChiSquareTest(
                statistic: wald, df: p, pValue: Distributions.chiSquareUpperTail(wald, df: Double(p))),
            scoreTest: ChiSquareTest(
                statistic: score, df: p, pValue: Distributions.chiSquareUpperTail(score, df: Double(p))),
            iterations: fit.iterations, strata: data.strata?.name, phTest: ph)
    }
}
