import Survival

// The one JSON encoding of the survival engine's report (the shape of issue 3), shared by
// `icmm analyze` and the cohort endpoints. Members are written in sorted key order; a statistic
// that cannot be estimated is null; a section that does not apply is left out.

extension JSONWriter {
    public mutating func write(_ value: Estimate) {
        beginObject()
        member("estimate", value.estimate)
        member("lower", value.lower)
        member("upper", value.upper)
        endObject()
    }

    public mutating func write(_ value: QuantileEstimate) {
        beginObject()
        member("estimate", value.estimate)
        member("lower", value.lower)
        member("probability", finite: value.probability)
        member("upper", value.upper)
        endObject()
    }

    public mutating func write(_ value: LandmarkEstimate) {
        beginObject()
        member("lower", value.lower)
        member("n_risk", value.nRisk)
        member("std_err", value.stdErr)
        member("survival", value.survival)
        member("time", finite: value.time)
        member("upper", value.upper)
        endObject()
    }

    public mutating func write(_ value: RestrictedMean) {
        beginObject()
        member("estimate", finite: value.estimate)
        member("std_err", finite: value.stdErr)
        member("tau", finite: value.tau)
        endObject()
    }

    /// A curve as an array of points; NaN standard errors and limits ("not estimable") are null.
    public mutating func write(_ curve: CurveTable) {
        if isCompact {
            writeCompact(curve)
            return
        }
        beginArray()
        for k in 0..<curve.count {
            beginObject()
            member("lower", curve.lower[k])
            member("n_censor", curve.nCensor[k])
            member("n_event", curve.nEvent[k])
            member("n_risk", curve.nRisk[k])
            member("std_err", curve.stdErr[k])
            member("survival", finite: curve.survival[k])
            member("time", finite: curve.time[k])
            member("upper", curve.upper[k])
            endObject()
        }
        endArray()
    }

    /// The same points as the general path writes them, from fixed fragments: a million-point
    /// curve is most of `icmm analyze`'s output (JSONWriterTests compare the bytes with Foundation).
    /// Encoded in blocks into raw memory (JSONWriter+Curve.swift); a censoring-only time repeats
    /// the previous point's survival, standard error and limits, so those four columns copy the
    /// previous text instead of formatting the number again.
    private mutating func writeCompact(_ curve: CurveTable) {
        beginArray()
        writeCurvePoints(curve)
        if curve.count > 0 { markMember() }
        endArray()
    }

    public mutating func write(_ group: GroupReport) {
        beginObject()
        key("curve")
        write(group.curve)
        member("events", group.events)
        member("key", group.key)
        key("median")
        write(group.median)
        member("n", group.n)
        if let quantiles = group.quantiles {
            member("quantiles", array: quantiles) { $0.write($1) }
        }
        if let rmst = group.rmst {
            key("rmst")
            write(rmst)
        }
        member("survival_at", array: group.survivalAt) { $0.write($1) }
        endObject()
    }

    public mutating func write(_ test: GroupComparison) {
        beginObject()
        member("chisq", finite: test.chisq)
        member("df", test.df)
        key("expected")
        finiteArray(test.expected)
        key("observed")
        finiteArray(test.observed)
        member("p_value", test.pValue)
        endObject()
    }

    public mutating func write(_ comparison: PairwiseComparison) {
        beginObject()
        member("a", comparison.a)
        member("b", comparison.b)
        member("p_adjusted", comparison.pAdjusted)
        member("p_value", comparison.pValue)
        endObject()
    }

    public mutating func write(_ test: ChiSquareTest) {
        beginObject()
        member("df", test.df)
        member("p_value", finite: test.pValue)
        member("statistic", finite: test.statistic)
        endObject()
    }

    public mutating func write(_ term: CoxTerm) {
        beginObject()
        member("coef", finite: term.coef)
        member("hazard_ratio", finite: term.hazardRatio)
        member("lower", finite: term.lower)
        member("p_value", finite: term.pValue)
        member("std_err", finite: term.stdErr)
        member("term", term.term)
        member("upper", finite: term.upper)
        member("z", finite: term.z)
        endObject()
    }

    public mutating func write(_ cox: CoxReport) {
        beginObject()
        member("events", cox.events)
        member("iterations", cox.iterations)
        key("loglik")
        finiteArray(cox.loglik)
        key("lr_test")
        write(cox.lrTest)
        member("n", cox.n)
        if let phTest = cox.phTest {
            key("ph_test")
            write(phTest)
        }
        key("score_test")
        write(cox.scoreTest)
        if let strata = cox.strata { member("strata", strata) }
        member("terms", array: cox.terms) { $0.write($1) }
        member("ties", cox.ties)
        key("wald_test")
        write(cox.waldTest)
        endObject()
    }

    /// R's `cox.zph(fit, transform = "km")`: one row per covariate, then the global test.
    public mutating func write(_ test: ProportionalHazardsTest) {
        beginObject()
        key("global")
        beginObject()
        member("chisq", test.global.chisq)
        member("df", test.global.df)
        member("p_value", test.global.pValue)
        endObject()
        key("terms")
        beginArray()
        for row in test.terms {
            beginObject()
            member("chisq", row.chisq)
            member("covariate", row.covariate)
            member("df", row.df)
            member("p_value", row.pValue)
            endObject()
        }
        endArray()
        member("transform", test.transform)
        endObject()
    }

    public mutating func write(_ difference: RestrictedMeanDifference) {
        beginObject()
        member("a", difference.a)
        member("b", difference.b)
        member("difference", difference.difference)
        member("lower", difference.lower)
        member("p_value", difference.pValue)
        member("ratio", difference.ratio)
        member("ratio_lower", difference.ratioLower)
        member("ratio_p_value", difference.ratioPValue)
        member("ratio_upper", difference.ratioUpper)
        member("std_err", difference.stdErr)
        member("upper", difference.upper)
        endObject()
    }

    public mutating func finiteArray(_ values: [Double]) {
        beginArray()
        for value in values { finite(value) }
        endArray()
    }

    /// The whole report, as `icmm analyze` prints it.
    public mutating func write(_ report: SurvivalReport) {
        writeReport(
            report, confType: report.confType, confLevel: report.confLevel, groups: report.groups.map { .shown($0) },
            droppedRows: true, extras: [])
    }

    /// A member written by a closure, for merging into another object's members in key order.
    public struct Member {
        public let key: String
        public let write: (inout JSONWriter) -> Void

        public init(_ key: String, _ write: @escaping (inout JSONWriter) -> Void) {
            self.key = key
            self.write = write
        }
    }

    /// Writes the members of `extras` that sort before `next` (all of them for nil).
    mutating func writeExtras(_ extras: [Member], index: inout Int, before next: String?) {
        while index < extras.count, next.map({ extras[index].key < $0 }) ?? true {
            key(extras[index].key)
            extras[index].write(&self)
            index += 1
        }
    }

    /// A group of a survival report: shown with its curve, or suppressed with its size only.
    public enum ReportGroup {
        case shown(GroupReport)
        case suppressed(SuppressedGroup)

        var key: String {
            switch self {
            case .shown(let group): group.key
            case .suppressed(let group): group.key
            }
        }
    }

    /// The report's members merged in key order with `extras` (which the report must not have).
    /// Without a report (nothing to analyse), n and events are 0 and the median follow-up null.
    mutating func writeReport(
        _ report: SurvivalReport?, confType: ConfidenceType, confLevel: Double, groups: [ReportGroup], droppedRows: Bool,
        extras: [Member]
    ) {
        let extras = extras.sorted { $0.key < $1.key }
        var index = 0
        func extra(_ writer: inout JSONWriter, _ next: String?) { writer.writeExtras(extras, index: &index, before: next) }
        beginObject()
        extra(&self, "conf_level")
        member("conf_level", finite: confLevel)
        extra(&self, "conf_type")
        member("conf_type", confType.rawValue)
        if let cox = report?.cox {
            extra(&self, "cox")
            key("cox")
            write(cox)
        }
        if droppedRows {
            extra(&self, "dropped_rows")
            member("dropped_rows", report?.droppedRows ?? 0)
        }
        extra(&self, "events")
        member("events", report?.events ?? 0)
        extra(&self, "groups")
        key("groups")
        beginArray()
        for group in groups {
            switch group {
            case .shown(let group): write(group)
            case .suppressed(let group):
                beginObject()
                member("key", group.key)
                member("n", group.n)
                member("suppressed", true)
                endObject()
            }
        }
        endArray()
        if let logrank = report?.logrank {
            extra(&self, "logrank")
            key("logrank")
            write(logrank)
        }
        extra(&self, "median_followup")
        key("median_followup")
        if let report { write(report.medianFollowup) } else { null() }
        extra(&self, "n")
        member("n", report?.n ?? 0)
        if let pairwise = report?.pairwise {
            extra(&self, "pairwise")
            member("pairwise", array: pairwise) { $0.write($1) }
        }
        if let petoPeto = report?.petoPeto {
            extra(&self, "peto_peto")
            key("peto_peto")
            write(petoPeto)
        }
        if let differences = report?.rmstDifferences {
            extra(&self, "rmst_differences")
            member("rmst_differences", array: differences) { $0.write($1) }
        }
        extra(&self, nil)
        endObject()
    }
}
