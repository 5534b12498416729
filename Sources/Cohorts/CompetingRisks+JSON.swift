import Survival

// The one JSON encoding of the competing-risks report (issue 10's `competing_risks` members),
// shared by `GET /v1/cohorts/incidence` and any other caller. Members in sorted key order.

extension JSONWriter {
    public mutating func write(_ point: IncidencePoint) {
        beginObject()
        member("estimate", point.estimate)
        member("lower", point.lower)
        member("time", finite: point.time)
        member("upper", point.upper)
        member("variance", point.variance)
        endObject()
    }

    public mutating func write(_ group: IncidenceGroup) {
        beginObject()
        key("at")
        beginArray()
        for point in group.at { write(point) }
        endArray()
        member("cause", group.cause)
        key("curve")
        beginArray()
        for point in group.curve { write(point) }
        endArray()
        member("events", group.events)
        member("key", group.key)
        member("last_time", finite: group.lastTime)
        member("n", group.n)
        endObject()
    }

    public mutating func write(_ test: GrayTestResult) {
        beginObject()
        member("cause", test.cause)
        member("df", test.df)
        member("p_value", test.pValue)
        if let reason = test.reason { member("reason", reason) }
        member("statistic", test.statistic)
        endObject()
    }

    public mutating func write(_ model: FineGrayReport) {
        beginObject()
        member("cause", model.cause)
        member("events", model.events)
        member("n", model.n)
        if let reason = model.reason { member("reason", reason) }
        key("terms")
        beginArray()
        for term in model.terms {
            beginObject()
            member("coef", term.coef)
            member("hazard_ratio", term.hazardRatio)
            member("lower", term.lower)
            member("p_value", term.pValue)
            member("std_err", term.stdErr)
            member("term", term.term)
            member("upper", term.upper)
            endObject()
        }
        endArray()
        endObject()
    }

    /// The `competing_risks` object of `icmm analyze`.
    public mutating func write(_ report: CompetingRisksReport) {
        beginObject()
        key("causes")
        beginArray()
        for cause in report.causes { string(cause) }
        endArray()
        if let models = report.fineGray {
            key("fine_gray")
            beginArray()
            for model in models { write(model) }
            endArray()
        }
        if let tests = report.grayTest {
            key("gray_test")
            beginArray()
            for test in tests { write(test) }
            endArray()
        }
        key("groups")
        beginArray()
        for group in report.groups { write(group) }
        endArray()
        endObject()
    }
}

extension IncidenceResult {
    /// The body of `GET /v1/cohorts/incidence`: the `competing_risks` members at the top level,
    /// with the usual cohort members.
    public func json(_ context: CohortContext) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 << 10)
        writer.beginObject()
        writer.key("causes")
        writer.beginArray()
        for cause in report?.causes ?? IncidenceQuery.causes { writer.string(cause) }
        writer.endArray()
        writer.member("conf_level", finite: query.confLevel)
        writer.key("covariates")
        writer.beginArray()
        for covariate in query.covariates { writer.string(covariate.name) }
        writer.endArray()
        writer.member("data_version", context.dataVersion)
        writer.member("engine_version", context.engineVersion)
        writer.key("excluded")
        writer.beginObject()
        writer.member("missing_group_value", excluded.missingGroupValue)
        writer.member("no_survival_time", excluded.noSurvivalTime)
        writer.endObject()
        writer.key("filters")
        writer.write(query.selection.filter)
        if let fineGray {
            writer.key("fine_gray")
            writer.beginArray()
            for model in fineGray { writer.write(model) }
            writer.endArray()
            writer.member("fine_gray_dropped_rows", fineGrayDropped)
        }
        if let tests = report?.grayTest {
            writer.key("gray_test")
            writer.beginArray()
            for test in tests { writer.write(test) }
            writer.endArray()
        }
        writer.key("group_by")
        writer.member(string: query.selection.groupBy?.rawValue)
        writer.key("groups")
        writer.beginArray()
        for group in report?.groups ?? [] { writer.write(group) }
        writer.endArray()
        writer.member("min_cell_size", minCellSize)
        writer.member("n", n)
        writer.member("origin", "ic_diagnosis")
        if !suppressed.isEmpty {
            writer.key("suppressed_groups")
            writer.beginArray()
            for group in suppressed {
                writer.beginObject()
                writer.member("key", group.key)
                writer.member("n", group.n)
                writer.endObject()
            }
            writer.endArray()
        }
        if !suppressedLevels.isEmpty { writer.write(suppressedLevels: suppressedLevels) }
        if !suppressed.isEmpty || !suppressedLevels.isEmpty {
            writer.member(
                "suppression_note",
                "Groups (suppressed_groups) and covariate levels (suppressed_levels) with fewer than \(minCellSize) patients are left out: no incidence curve, Gray's test or Fine-Gray term describes them.")
        }
        writer.member("unit", "months")
        writer.endObject()
        return writer.bytes
    }
}
