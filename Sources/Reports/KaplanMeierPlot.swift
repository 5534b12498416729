import Survival

/// A Kaplan-Meier plot of one analysis, rendered as a self-contained SVG by `svg(width:height:)`.
///
/// The drawing follows R's `plot.survfit` conventions (right-continuous step curves starting at
/// S(0) = 1, a mark at each censoring time, pointwise confidence limits from
/// `survfit(conf.type = )` that stop where R's limits become NA) with the filled band and the
/// number-at-risk table of `survminer::ggsurvplot(conf.int = TRUE, risk.table = TRUE)`.
///
/// The value is independent of HTTP: build it from a `SurvivalReport` (or member by member) and
/// render it; nothing is read or fetched.
public struct KaplanMeierPlot: Sendable {

    /// One group (stratum) of the plot: one curve, or a legend entry only when suppressed.
    public struct Group: Sendable {
        public var key: String
        public var n: Int
        /// Nil when suppressed.
        public var events: Int?
        /// Median survival time with its confidence limits; nil when suppressed.
        public var median: Estimate?
        /// The curve (`time` ascending); nil when suppressed.
        public var curve: CurveTable?
        /// A group too small to show without revealing one patient's dates: legend entry and
        /// at-risk row label only, no curve, band, censoring marks or numbers.
        public var suppressed: Bool

        public init(
            key: String, n: Int, events: Int?, median: Estimate?, curve: CurveTable?, suppressed: Bool
        ) {
            self.key = key
            self.n = n
            self.events = events
            self.median = median
            self.curve = curve
            self.suppressed = suppressed
        }

        /// Whether the group is drawn (not suppressed and with a curve).
        var isDrawn: Bool { !suppressed && curve != nil }
    }

    public var groups: [Group]
    /// Nil: no test (one group, or omitted).
    public var logRankPValue: Double?
    /// Shown in place of the p-value, e.g. "log-rank omitted: a group is below the minimum cell size".
    public var testNote: String?
    /// E.g. "Overall survival by localization".
    public var title: String
    /// "months" or "days" (any unit: it is only printed, and picks the tick steps).
    public var timeUnit: String
    /// What time 0 is, e.g. "intracranial diagnosis": the x axis reads "Time since ... (unit)";
    /// nil: "Time (unit)".
    public var timeOrigin: String?
    /// E.g. "Overall survival".
    public var yLabel: String
    /// Confidence level of the bands and of the medians' limits, for the legend, e.g. 0.95.
    public var confLevel: Double

    /// A plot from its parts.
    public init(
        groups: [Group], logRankPValue: Double?, testNote: String? = nil, title: String, timeUnit: String,
        timeOrigin: String? = nil, yLabel: String, confLevel: Double
    ) {
        self.groups = groups
        self.logRankPValue = logRankPValue
        self.testNote = testNote
        self.title = title
        self.timeUnit = timeUnit
        self.timeOrigin = timeOrigin
        self.yLabel = yLabel
        self.confLevel = confLevel
    }

    /// The plot of an analysis, groups in the report's order.
    ///
    /// Groups whose key is in `suppressed` keep only their key and `n`. When a suppressed group
    /// is among two or more groups, the report's log-rank test (which compared it) is left out
    /// and `testNote` says why.
    public init(
        report: SurvivalReport, title: String, timeUnit: String, timeOrigin: String? = nil, yLabel: String,
        suppressed: Set<String> = []
    ) {
        var anySuppressed = false
        groups = report.groups.map { g in
            if suppressed.contains(g.key) {
                anySuppressed = true
                return Group(key: g.key, n: g.n, events: nil, median: nil, curve: nil, suppressed: true)
            }
            return Group(key: g.key, n: g.n, events: g.events, median: g.median, curve: g.curve, suppressed: false)
        }
        if anySuppressed && groups.count > 1 {
            logRankPValue = nil
            testNote = "log-rank omitted: a group is below the minimum cell size"
        } else {
            logRankPValue = report.logrank?.pValue
            testNote = nil
        }
        self.title = title
        self.timeUnit = timeUnit
        self.timeOrigin = timeOrigin
        self.yLabel = yLabel
        confLevel = report.confLevel
    }

    /// The number at risk at time `t`, as R's `summary(fit, times = t)$n.risk` and the risk table
    /// of `ggsurvplot`: the at-risk count of the first curve row at or after `t` (so the group's n
    /// at or before the first row when there is no delayed entry), 0 beyond the last row.
    public static func numberAtRisk(_ curve: CurveTable, at t: Double) -> Int {
        let count = min(curve.time.count, curve.nRisk.count)
        // Lower bound: the first row with time >= t (times are ascending).
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if curve.time[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo < count ? curve.nRisk[lo] : 0
    }
}
