import Classification
import Survival

/// What the cohort encoders add beside a result: the data version the rows belong to.
public struct CohortContext: Sendable {
    public var dataVersion: Int
    public var engineVersion: String

    public init(dataVersion: Int, engineVersion: String = ClassificationEngine.version) {
        self.dataVersion = dataVersion
        self.engineVersion = engineVersion
    }
}

/// Why a statistic is null when the query asked for an extreme setting (issue 10: never a 500).
let notFiniteNote =
    "Some statistics are not finite for this query (e.g. a confidence limit at an extreme conf_level) and are reported as null."

extension JSONWriter {
    /// The filters as the response states them.
    public mutating func write(_ filter: CohortFilter) {
        var members: [Member] = []
        for (field, values) in filter.values where !values.isEmpty {
            members.append(Member(field.rawValue) { writer in
                writer.beginArray()
                for value in values { writer.string(value) }
                writer.endArray()
            })
        }
        if let from = filter.icDiagnosisFrom { members.append(Member("ic_diagnosis_from") { $0.string(from.description) }) }
        if let to = filter.icDiagnosisTo { members.append(Member("ic_diagnosis_to") { $0.string(to.description) }) }
        beginObject()
        var index = 0
        writeExtras(members.sorted { $0.key < $1.key }, index: &index, before: nil)
        endObject()
    }

    mutating func write(counts: [String: Int]) {
        beginObject()
        for key in counts.keys.sorted() { member(key, counts[key] ?? 0) }
        endObject()
    }

    /// `suppressed_levels`: the covariate levels a model left out for their size (Cox and incidence bodies).
    mutating func write(suppressedLevels levels: [SuppressedLevel]) {
        key("suppressed_levels")
        beginArray()
        for level in levels {
            beginObject()
            member("covariate", level.covariate)
            member("level", level.level)
            member("n", level.n)
            endObject()
        }
        endArray()
    }

    /// A body written by `write`; written once more with `not_finite_note` (the closure's flag) when
    /// a statistic in it was not finite, so that the note only stands where a null needs it.
    static func body(capacity: Int, _ write: (inout JSONWriter, _ noteNonFinite: Bool) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        write(&writer, false)
        if writer.nonFiniteCount > 0 {
            writer = JSONWriter(capacity: writer.bytes.count + 256)
            write(&writer, true)
        }
        return writer.bytes
    }
}

extension SurvivalResult {
    /// The body of `GET /v1/cohorts/survival`.
    public func json(_ context: CohortContext) -> [UInt8] {
        JSONWriter.body(capacity: 64 << 10) { write(into: &$0, context, noteNonFinite: $1) }
    }

    func write(into writer: inout JSONWriter, _ context: CohortContext, noteNonFinite: Bool) {
        let query = self.query
        var extras: [JSONWriter.Member] = [
            .init("data_version") { $0.int(context.dataVersion) },
            .init("delayed_entry") { $0.bool(query.origin == .mmDiagnosis) },
            .init("endpoint") { $0.string(query.endpoint.rawValue) },
            .init("engine_version") { $0.string(context.engineVersion) },
            .init("excluded") { [excluded] writer in
                writer.beginObject()
                writer.member("missing_group_value", excluded.missingGroupValue)
                writer.member("no_survival_time", excluded.noSurvivalTime)
                writer.endObject()
            },
            .init("filters") { $0.write(query.selection.filter) },
            .init("group_by") { $0.member(string: query.selection.groupBy?.rawValue) },
            .init("min_cell_size") { [minCellSize] in $0.int(minCellSize) },
            .init("origin") { $0.string(query.origin.rawValue) },
            .init("unit") { $0.string(query.unit.rawValue) },
        ]
        if !suppressed.isEmpty {
            let text =
                "Groups with fewer than \(minCellSize) patients report only n; they are left out of the curves, tests and totals."
            extras.append(.init("suppression_note") { $0.string(text) })
        }
        if query.origin == .mmDiagnosis {
            extras.append(.init("tests_note") { $0.string("Group comparisons are not computed with delayed entry.") })
        }
        if noteNonFinite { extras.append(.init("not_finite_note") { $0.string(notFiniteNote) }) }
        var groups: [JSONWriter.ReportGroup] = (report?.groups ?? []).map { .shown($0) } + suppressed.map { .suppressed($0) }
        groups.sort { codePointOrder($0.key, $1.key) }
        writer.writeReport(
            report, confType: report?.confType ?? query.options.confType, confLevel: report?.confLevel ?? query.options.confLevel,
            groups: groups, droppedRows: false, extras: extras)
    }
}

extension JSONWriter {
    mutating func member(string value: String?) {
        if let value { string(value) } else { null() }
    }
}

extension CoxResult {
    /// The body of `GET /v1/cohorts/cox`.
    public func json(_ context: CohortContext) -> [UInt8] {
        JSONWriter.body(capacity: 4096) { write(into: &$0, context, noteNonFinite: $1) }
    }

    func write(into writer: inout JSONWriter, _ context: CohortContext, noteNonFinite: Bool) {
        writer.beginObject()
        writer.member("covariates", array: query.covariates) { $0.string($1.name) }
        writer.key("cox")
        if let cox { writer.write(cox) } else { writer.null() }
        writer.member("data_version", context.dataVersion)
        writer.member("delayed_entry", query.origin == .mmDiagnosis)
        writer.member("dropped_rows", droppedRows)
        writer.member("endpoint", query.endpoint.rawValue)
        writer.member("engine_version", context.engineVersion)
        writer.key("filters")
        writer.write(query.selection.filter)
        writer.member("n", n)
        if noteNonFinite { writer.member("not_finite_note", notFiniteNote) }
        writer.member("origin", query.origin.rawValue)
        if !suppressed {
            writer.key("reference_levels")
            writer.beginObject()
            for name in referenceLevels.keys.sorted() { writer.member(name, referenceLevels[name] ?? "") }
            writer.endObject()
        }
        if suppressed { writer.member("suppressed", true) }
        if !suppressedLevels.isEmpty {
            writer.write(suppressedLevels: suppressedLevels)
            writer.member(
                "suppression_note",
                "Levels with fewer than \(minCellSize) patients are left out of the model (no term describes them); suppressed_levels lists them.")
        }
        writer.member("unit", "months")
        writer.endObject()
    }
}

extension SummaryResult {
    /// The body of `GET /v1/cohorts/summary`.
    public func json(_ context: CohortContext) -> [UInt8] {
        var writer = JSONWriter(capacity: 4096)
        writer.beginObject()
        writer.member("data_version", context.dataVersion)
        writer.member("engine_version", context.engineVersion)
        writer.key("excluded")
        writer.beginObject()
        writer.member("missing_group_value", missingGroupValue)
        writer.endObject()
        writer.key("filters")
        writer.write(selection.filter)
        writer.key("group_by")
        writer.member(string: selection.groupBy?.rawValue)
        writer.key("groups")
        writer.beginArray()
        for group in groups {
            writer.beginObject()
            switch group {
            case .suppressed(let group):
                writer.member("key", group.key)
                writer.member("n", group.n)
                writer.member("suppressed", true)
            case .shown(let group):
                writer.member("deaths", group.deaths)
                writer.key("iss")
                writer.write(counts: group.distributions[.iss] ?? [:])
                writer.member("key", group.key)
                writer.key("localization")
                writer.write(counts: group.distributions[.localization] ?? [:])
                writer.member("median_age_at_ic_diagnosis", group.medianAgeAtICDiagnosis)
                writer.key("median_followup_months")
                if let followUp = group.medianFollowupMonths { writer.write(followUp) } else { writer.null() }
                writer.member("n", group.n)
                writer.member("progressions", group.progressions)
                writer.key("response_group")
                writer.write(counts: group.distributions[.responseGroup] ?? [:])
                writer.key("therapy_class")
                writer.write(counts: group.distributions[.therapyClass] ?? [:])
            }
            writer.endObject()
        }
        writer.endArray()
        writer.member("min_cell_size", minCellSize)
        writer.member("n", n)
        writer.endObject()
        return writer.bytes
    }
}
