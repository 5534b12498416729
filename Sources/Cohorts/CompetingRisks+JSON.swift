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
        member("at", array: group.at) { $0.write($1) }
        member("cause", group.cause)
        member("curve", array: group.curve) { $0.write($1) }
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
        member("causes", array: report.causes) { $0.string($1) }
        if let models = report.fineGray {
            member("fine_gray", array: models) { $0.write($1) }
        }
        if let tests = report.grayTest {
            member("gray_test", array: tests) { $0.write($1) }
        }
        member("groups", array: report.groups) { $0.write($1) }
        endObject()
    }
}

extension IncidenceResult {
    /// The body of `GET /v1/cohorts/incidence`: the `competing_risks` members at the top level,
    /// with the usual cohort members.
    public func json(_ context: CohortContext) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 << 10)
        writer.beginObject()
        writer.member("causes", array: report?.causes ?? IncidenceQuery.causes) { $0.string($1) }
        writer.member("conf_level", finite: query.confLevel)
        writer.member("covariates", array: query.covariates) { $0.string($1.name) }
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
            writer.member("fine_gray", array: fineGray) { $0.write($1) }
            writer.member("fine_gray_dropped_rows", fineGrayDropped)
        }
        if let tests = report?.grayTest {
            writer.member("gray_test", array: tests) { $0.write($1) }
        }
        writer.key("group_by")
        writer.member(string: query.selection.groupBy?.rawValue)
        writer.member("groups", array: report?.groups ?? []) { $0.write($1) }
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
