import Classification
import Survival

/// A group too small to show (DOMAIN.md section 8): only its size is reported.
public struct SuppressedGroup: Sendable, Equatable {
    public let key: String
    public let n: Int

    public init(key: String, n: Int) {
        self.key = key
        self.n = n
    }
}

/// Why cases of the selection are not in an analysis.
public struct Exclusions: Sendable, Equatable {
    /// Cases without a value for the grouping field.
    public var missingGroupValue = 0
    /// Cases without a survival time for the endpoint (no outcome, or an end before the origin).
    public var noSurvivalTime = 0
}

/// A Kaplan-Meier analysis of the shown groups, with the groups too small to show.
public struct SurvivalResult: Sendable {
    public let query: SurvivalQuery
    /// nil when every group is suppressed or the selection is empty.
    public let report: SurvivalReport?
    /// Suppressed groups and their sizes, in key order.
    public let suppressed: [SuppressedGroup]
    public let excluded: Exclusions
    public let minCellSize: Int
}

/// A Cox model of a cohort.
public struct CoxResult: Sendable {
    public let query: CoxQuery
    /// Subjects in the model.
    public let n: Int
    /// Cases left out for want of a time or a covariate value.
    public let droppedRows: Int
    /// The whole cohort is below the minimum cell size: no model is shown.
    public let suppressed: Bool
    public let cox: CoxReport?
    /// The reference (first, code-point order) level of each categorical covariate.
    public let referenceLevels: [String: String]
    /// Levels of categorical covariates (and strata) below the minimum cell size: their cases are
    /// left out of the model, so no term (forest row) describes them.
    public let suppressedLevels: [SuppressedLevel]
    public let minCellSize: Int
    /// Per categorical covariate: its levels in the model, in code-point order, with subjects and events.
    public var levels: [String: [(level: String, n: Int, events: Int)]] = [:]
}

/// A level of a categorical Cox covariate or of the strata, left out for its size.
public struct SuppressedLevel: Sendable, Equatable {
    public let covariate: String
    public let level: String
    public let n: Int

    public init(covariate: String, level: String, n: Int) {
        self.covariate = covariate
        self.level = level
        self.n = n
    }
}

/// Descriptive statistics of a cohort, per group.
public struct SummaryResult: Sendable {
    public enum Group: Sendable {
        case suppressed(SuppressedGroup)
        case shown(SummaryGroup)
    }

    public let selection: CohortSelection
    public let n: Int
    public let groups: [Group]
    public let missingGroupValue: Int
    public let minCellSize: Int
}

public struct SummaryGroup: Sendable {
    public let key: String
    public let n: Int
    public let deaths: Int
    public let progressions: Int
    public let medianAgeAtICDiagnosis: Double?
    /// Counts per value ("unknown" for a missing one) of the fields in `SummaryGroup.fields`.
    public let distributions: [CohortField: [String: Int]]
    /// Reverse Kaplan-Meier, overall survival from the intracranial diagnosis, in months; nil without times.
    public let medianFollowupMonths: Estimate?

    public static let fields: [CohortField] = [.localization, .responseGroup, .therapyClass, .iss]
}

/// The cohort statistics: cohort rows and a typed query in, typed results with small-cell
/// suppression applied out. No clock, no I/O.
public struct CohortAnalysis: Sendable {
    public let suppression: Suppression

    public init(minCellSize: Int) { self.suppression = Suppression(minCellSize: minCellSize) }

    /// Survival times of a cohort, in the requested unit, with their group keys.
    struct Subjects {
        var time: [Double] = []
        var event: [Bool] = []
        var entry: [Double] = []
        var group: [String] = []
        var counts: [String: Int] = [:]
        var excluded = Exclusions()
    }

    func subjects(_ rows: [CohortRow], groupBy: CohortField?, endpoint: SurvivalEndpoint, origin: SurvivalOrigin, unit: TimeUnit)
        -> Subjects
    {
        let divisor = unit.days
        var subjects = Subjects()
        subjects.time.reserveCapacity(rows.count)
        subjects.event.reserveCapacity(rows.count)
        subjects.entry.reserveCapacity(rows.count)
        subjects.group.reserveCapacity(rows.count)
        // Group sizes by matching the few keys seen so far (hashing a String per row cost more).
        var keys: [String] = []
        var sizes: [Int] = []
        var last = -1
        // By index: the rows are read in place, not copied (a copy retains and releases each text).
        for i in rows.indices {
            let key: String
            if let groupBy {
                guard let value = rows[i].value(of: groupBy) else {
                    subjects.excluded.missingGroupValue += 1
                    continue
                }
                key = value
            } else {
                key = "all"
            }
            guard let time = rows[i].survivalTime(endpoint, origin: origin) else {
                subjects.excluded.noSurvivalTime += 1
                continue
            }
            subjects.time.append(time.time / divisor)
            subjects.event.append(time.event)
            subjects.entry.append((time.entry ?? 0) / divisor)
            subjects.group.append(key)
            if last < 0 || keys[last] != key {
                if let index = keys.firstIndex(of: key) {
                    last = index
                } else {
                    keys.append(key)
                    sizes.append(0)
                    last = keys.count - 1
                }
            }
            sizes[last] += 1
        }
        subjects.counts = Dictionary(uniqueKeysWithValues: zip(keys, sizes))
        return subjects
    }

    // MARK: - Survival

    public func survival(_ query: SurvivalQuery, rows: [CohortRow]) throws -> SurvivalResult {
        let selection = query.selection
        let subjects = subjects(rows, groupBy: selection.groupBy, endpoint: query.endpoint, origin: query.origin, unit: query.unit)
        let suppressedKeys = suppression.suppressed(subjects.counts)
        var report: SurvivalReport?
        if suppressedKeys.isEmpty {
            // Nothing to leave out: the subjects as they are, without copying through an index list.
            if !subjects.time.isEmpty {
                let data = SurvivalData(
                    time: subjects.time, event: subjects.event, entry: query.origin == .mmDiagnosis ? subjects.entry : nil,
                    group: selection.groupBy == nil ? nil : subjects.group)
                report = try SurvivalAnalysis.analyze(data, options: query.options)
            }
        } else {
            let shown = subjects.group.indices.filter { !suppressedKeys.contains(subjects.group[$0]) }
            if !shown.isEmpty {
                let data = SurvivalData(
                    time: shown.map { subjects.time[$0] }, event: shown.map { subjects.event[$0] },
                    entry: query.origin == .mmDiagnosis ? shown.map { subjects.entry[$0] } : nil,
                    group: selection.groupBy == nil ? nil : shown.map { subjects.group[$0] })
                report = try SurvivalAnalysis.analyze(data, options: query.options)
            }
        }
        let suppressed = suppressedKeys.sorted(by: codePointOrder).map { SuppressedGroup(key: $0, n: subjects.counts[$0] ?? 0) }
        return SurvivalResult(
            query: query, report: report, suppressed: suppressed, excluded: subjects.excluded, minCellSize: suppression.minCellSize)
    }

    // MARK: - Cox

    public func cox(_ query: CoxQuery, rows: [CohortRow]) throws -> CoxResult {
        var options = AnalysisOptions()
        options.confLevel = query.confLevel
        options.phTest = query.phTest
        var fields: [CohortField] = query.covariates.compactMap {
            if case .field(let field) = $0 { return field }
            return nil
        }
        if let strata = query.strata { fields.append(strata) }
        // The subjects with a time and every value the model needs.
        var kept: [(time: SurvivalTime, row: CohortRow)] = []
        var dropped = 0
        rowLoop: for row in rows {
            guard let t = row.survivalTime(query.endpoint, origin: query.origin) else {
                dropped += 1
                continue
            }
            for field in fields where row.value(of: field) == nil {
                dropped += 1
                continue rowLoop
            }
            if query.covariates.contains(.ageAtICDiagnosis) && row.ageAtICDiagnosis == nil {
                dropped += 1
                continue
            }
            kept.append((t, row))
        }
        // Levels below the minimum cell size are left out (DOMAIN.md section 8): no term describes them.
        var suppressedLevels: [SuppressedLevel] = []
        if suppression.minCellSize > 0 {
            var small: [CohortField: Set<String>] = [:]
            for field in fields {
                var counts: [String: Int] = [:]
                for subject in kept { counts[subject.row.value(of: field)!, default: 0] += 1 }
                let below = suppression.suppressed(counts)
                guard !below.isEmpty else { continue }
                small[field] = below
                suppressedLevels += below.sorted(by: codePointOrder).map {
                    SuppressedLevel(covariate: field.rawValue, level: $0, n: counts[$0] ?? 0)
                }
            }
            if !small.isEmpty {
                kept.removeAll { subject in small.contains { $0.value.contains(subject.row.value(of: $0.key)!) } }
            }
        }
        let time = kept.map { $0.time.time / TimeUnit.daysPerMonth }
        if suppression.hides(time.count) {
            return CoxResult(
                query: query, n: time.count, droppedRows: dropped, suppressed: true, cox: nil, referenceLevels: [:],
                suppressedLevels: suppressedLevels, minCellSize: suppression.minCellSize)
        }
        var categorical: [String: [String]] = [:]
        let covariates: [Covariate] = query.covariates.map { covariate in
            switch covariate {
            case .field(let field):
                let values = kept.map { $0.row.value(of: field)! }
                categorical[field.rawValue] = values
                return .categorical(field.rawValue, values)
            case .ageAtICDiagnosis:
                return .numeric(covariate.name, kept.map { Double($0.row.ageAtICDiagnosis!) })
            }
        }
        let data = SurvivalData(
            time: time, event: kept.map(\.time.event),
            entry: query.origin == .mmDiagnosis ? kept.map { ($0.time.entry ?? 0) / TimeUnit.daysPerMonth } : nil,
            covariates: covariates,
            strata: query.strata.map { field in Strata(name: field.rawValue, values: kept.map { $0.row.value(of: field)! }) })
        let report = try SurvivalAnalysis.analyze(data, options: options)
        var references: [String: String] = [:]
        var levels: [String: [(level: String, n: Int, events: Int)]] = [:]
        for (name, values) in categorical {
            if let first = Set(values).min(by: codePointOrder) { references[name] = first }
            var counts: [String: (n: Int, events: Int)] = [:]
            for (i, value) in values.enumerated() {
                counts[value, default: (0, 0)].n += 1
                if kept[i].time.event { counts[value, default: (0, 0)].events += 1 }
            }
            levels[name] = counts.keys.sorted(by: codePointOrder).map { ($0, counts[$0]!.n, counts[$0]!.events) }
        }
        var result = CoxResult(
            query: query, n: time.count, droppedRows: dropped, suppressed: false, cox: report.cox, referenceLevels: references,
            suppressedLevels: suppressedLevels, minCellSize: suppression.minCellSize)
        result.levels = levels
        return result
    }

    // MARK: - Summary

    public func summary(_ selection: CohortSelection, rows: [CohortRow]) throws -> SummaryResult {
        var byGroup: [String: [CohortRow]] = [:]
        var missingGroup = 0
        for row in rows {
            if let field = selection.groupBy {
                guard let key = row.value(of: field) else {
                    missingGroup += 1
                    continue
                }
                byGroup[key, default: []].append(row)
            } else {
                byGroup["all", default: []].append(row)
            }
        }
        let suppressed = suppression.suppressed(byGroup.mapValues(\.count))
        var groups: [SummaryResult.Group] = []
        for key in byGroup.keys.sorted(by: codePointOrder) {
            let members = byGroup[key] ?? []
            if suppressed.contains(key) {
                groups.append(.suppressed(SuppressedGroup(key: key, n: members.count)))
                continue
            }
            var distributions: [CohortField: [String: Int]] = [:]
            for field in SummaryGroup.fields {
                var counts: [String: Int] = [:]
                for row in members { counts[row.value(of: field) ?? "unknown", default: 0] += 1 }
                distributions[field] = counts
            }
            let ages = members.compactMap(\.ageAtICDiagnosis).map(Double.init).sorted()
            let medianAge: Double? =
                ages.isEmpty ? nil : ages.count % 2 == 1 ? ages[ages.count / 2] : (ages[ages.count / 2 - 1] + ages[ages.count / 2]) / 2
            // Median follow-up by reverse Kaplan-Meier, overall survival from the intracranial diagnosis (DOMAIN.md section 7).
            let times = members.compactMap { $0.survivalTime(.os, origin: .icDiagnosis) }
            var followUp: Estimate?
            if !times.isEmpty {
                let report = try SurvivalAnalysis.analyze(
                    SurvivalData(time: times.map { $0.time / TimeUnit.daysPerMonth }, event: times.map(\.event)))
                followUp = report.medianFollowup
            }
            groups.append(
                .shown(
                    SummaryGroup(
                        key: key, n: members.count, deaths: members.filter(\.hasDeath).count,
                        progressions: members.filter(\.hasProgression).count, medianAgeAtICDiagnosis: medianAge,
                        distributions: distributions, medianFollowupMonths: followUp)))
        }
        return SummaryResult(
            selection: selection, n: rows.count, groups: groups, missingGroupValue: missingGroup, minCellSize: suppression.minCellSize)
    }

    // MARK: - Data set

    /// The de-identified analysis data set as CSV: one row per case, times and status and the
    /// grouping fields; no external ids, no dates, no sites' internal ids. Rows are sorted by
    /// their values, so their order says nothing about when or where a case was registered.
    public func datasetCSV(_ query: DatasetQuery, rows: [CohortRow]) -> String {
        let selection = query.selection
        let fields = CohortField.allCases
        var counts: [String: Int] = [:]
        if let groupBy = selection.groupBy {
            for row in rows { if let key = row.value(of: groupBy) { counts[key, default: 0] += 1 } }
        }
        let suppressed = suppression.suppressed(counts)
        let delayed = query.origin == .mmDiagnosis
        var lines: [(time: Double, line: String)] = []
        for row in rows {
            if let groupBy = selection.groupBy {
                guard let key = row.value(of: groupBy), !suppressed.contains(key) else { continue }
            }
            guard let t = row.survivalTime(query.endpoint, origin: query.origin) else { continue }
            var cells = [Self.csvNumber(t.time), Self.csvNumber(t.time / TimeUnit.daysPerMonth), t.event ? "1" : "0"]
            if delayed { cells += [Self.csvNumber(t.entry ?? 0), Self.csvNumber((t.entry ?? 0) / TimeUnit.daysPerMonth)] }
            cells += fields.map { field in row.value(of: field).map(Self.csvText) ?? "NA" }
            cells.append(row.ageAtICDiagnosis.map(String.init) ?? "NA")
            lines.append((t.time, cells.joined(separator: ",")))
        }
        if selection.groupBy == nil && suppression.hides(lines.count) { lines = [] }
        lines.sort { $0.time != $1.time ? $0.time < $1.time : $0.line < $1.line }
        var header = ["time_days", "time_months", "status"]
        if delayed { header += ["entry_days", "entry_months"] }
        header += fields.map(\.rawValue) + ["age_at_ic_diagnosis"]
        return ([header.joined(separator: ",")] + lines.map(\.line)).joined(separator: "\n") + "\n"
    }

    static func csvNumber(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    /// A text cell (a vocabulary value or a site name, [A-Za-z0-9._-]), quoted for R. A value a
    /// spreadsheet would run as a formula (leading =, +, -, @, tab or CR; e.g. a site named
    /// `-2-3`) gets a leading apostrophe, as OWASP's CSV-injection advice says. Only text cells:
    /// the numeric columns are written as numbers and stay as R reads them.
    static func csvText(_ value: String) -> String {
        var text = value.replacingOccurrences(of: "\"", with: "\"\"")
        if let first = text.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first) {
            text = "'" + text
        }
        return "\"" + text + "\""
    }
}

/// Group keys in code-point order, as the survival engine orders groups.
@inline(__always)
func codePointOrder(_ a: String, _ b: String) -> Bool { a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) }
