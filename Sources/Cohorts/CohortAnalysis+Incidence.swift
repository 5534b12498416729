import Classification
import Survival

/// The registry's competing-risks question: the cumulative incidence of progression with death
/// as the competing event (issue 10). Time runs from the intracranial diagnosis (DOMAIN.md
/// section 7) to the first progression (cause `progression`), or to death without progression
/// (cause `death`); a patient with neither is censored at the last follow-up. A progression and
/// a death on the same day count as progression, the event seen first.
public struct IncidenceQuery: Sendable {
    public var selection: CohortSelection
    /// Times (months) at which each curve is reported.
    public var times: [Double]
    /// Fine-Gray covariates, one model per cause (none: no models).
    public var covariates: [CohortCovariate]
    public var confLevel: Double

    public init(selection: CohortSelection, times: [Double] = [], covariates: [CohortCovariate] = [], confLevel: Double = 0.95) {
        self.selection = selection
        self.times = times
        self.covariates = covariates
        self.confLevel = confLevel
    }

    public static let causes = ["death", "progression"]
}

public struct IncidenceResult: Sendable {
    public let query: IncidenceQuery
    /// nil when every group is suppressed or the selection has no subject.
    public let report: CompetingRisksReport?
    /// Fine-Gray models on the shown groups, without the covariate levels below the minimum.
    public let fineGray: [FineGrayReport]?
    public let n: Int
    public let suppressed: [SuppressedGroup]
    public let suppressedLevels: [SuppressedLevel]
    /// Subjects of the shown groups left out of the Fine-Gray models for a missing covariate.
    public let fineGrayDropped: Int
    public let excluded: Exclusions
    public let minCellSize: Int
    /// The subjects' exit times per shown group, for a plot's number-at-risk table.
    public let exitTimes: [String: [Double]]
}

extension CohortRow {
    /// Months from the intracranial diagnosis to progression, death without progression, or the
    /// last follow-up, with the cause ("0" when censored); nil without an outcome after the origin.
    public func progressionOrDeath() -> (time: Double, cause: String)? {
        // Day numbers (CalendarDate.dayNumber): differences are whole days between the dates.
        let end: Int32
        let cause: String
        if progressionDay != Self.noDate, deathDay == Self.noDate || progressionDay <= deathDay {
            (end, cause) = (progressionDay, "progression")
        } else if deathDay != Self.noDate {
            (end, cause) = (deathDay, "death")
        } else if lastFollowupDay != Self.noDate {
            (end, cause) = (lastFollowupDay, CompetingRisks.censored)
        } else {
            return nil
        }
        let days = Int(end) - Int(icDiagnosisDay)
        guard days >= 0 else { return nil }
        return (Double(days) / TimeUnit.daysPerMonth, cause)
    }
}

extension CohortAnalysis {
    public func incidence(_ query: IncidenceQuery, rows: [CohortRow]) throws -> IncidenceResult {
        let groupBy = query.selection.groupBy
        var excluded = Exclusions()
        var subjects: [(time: Double, cause: String, key: String, row: CohortRow)] = []
        var counts: [String: Int] = [:]
        for row in rows {
            let key: String
            if let groupBy {
                guard let value = row.value(of: groupBy) else {
                    excluded.missingGroupValue += 1
                    continue
                }
                key = value
            } else {
                key = "all"
            }
            guard let outcome = row.progressionOrDeath() else {
                excluded.noSurvivalTime += 1
                continue
            }
            subjects.append((outcome.time, outcome.cause, key, row))
            counts[key, default: 0] += 1
        }
        let suppressedKeys = suppression.suppressed(counts)
        let shown = subjects.filter { !suppressedKeys.contains($0.key) }
        let suppressed = suppressedKeys.sorted(by: codePointOrder).map { SuppressedGroup(key: $0, n: counts[$0] ?? 0) }
        var exitTimes: [String: [Double]] = [:]
        for subject in shown { exitTimes[subject.key, default: []].append(subject.time) }
        guard !shown.isEmpty else {
            return IncidenceResult(
                query: query, report: nil, fineGray: nil, n: 0, suppressed: suppressed, suppressedLevels: [], fineGrayDropped: 0,
                excluded: excluded, minCellSize: suppression.minCellSize, exitTimes: [:])
        }
        let options = CompetingRisksOptions(times: query.times, confLevel: query.confLevel, causes: IncidenceQuery.causes)
        let report = try CompetingRisks.analyze(
            CompetingRisksData(
                time: shown.map(\.time), cause: shown.map(\.cause), group: groupBy == nil ? nil : shown.map(\.key)),
            options: options)

        // Fine-Gray: the shown subjects with every covariate, without levels below the minimum.
        var fineGray: [FineGrayReport]?
        var suppressedLevels: [SuppressedLevel] = []
        var dropped = 0
        if !query.covariates.isEmpty {
            var kept = shown.filter { subject in
                let complete = query.covariates.allSatisfy { covariate in
                    switch covariate {
                    case .field(let field): subject.row.value(of: field) != nil
                    case .ageAtICDiagnosis: subject.row.ageAtICDiagnosis != nil
                    }
                }
                if !complete { dropped += 1 }
                return complete
            }
            for case .field(let field) in query.covariates where suppression.minCellSize > 0 {
                var levels: [String: Int] = [:]
                for subject in kept { levels[subject.row.value(of: field)!, default: 0] += 1 }
                let below = suppression.suppressed(levels)
                guard !below.isEmpty else { continue }
                suppressedLevels += below.sorted(by: codePointOrder).map {
                    SuppressedLevel(covariate: field.rawValue, level: $0, n: levels[$0] ?? 0)
                }
                kept.removeAll { below.contains($0.row.value(of: field)!) }
            }
            guard !kept.isEmpty else { throw SurvivalError.noSubjects }
            let covariates: [Covariate] = query.covariates.map { covariate in
                switch covariate {
                case .field(let field): .categorical(field.rawValue, kept.map { $0.row.value(of: field)! })
                case .ageAtICDiagnosis: .numeric(covariate.name, kept.map { Double($0.row.ageAtICDiagnosis!) })
                }
            }
            let models = try CompetingRisks.analyze(
                CompetingRisksData(time: kept.map(\.time), cause: kept.map(\.cause), covariates: covariates), options: options)
            fineGray = models.fineGray
        }
        return IncidenceResult(
            query: query, report: report, fineGray: fineGray, n: shown.count, suppressed: suppressed,
            suppressedLevels: suppressedLevels, fineGrayDropped: dropped, excluded: excluded,
            minCellSize: suppression.minCellSize, exitTimes: exitTimes)
    }
}
