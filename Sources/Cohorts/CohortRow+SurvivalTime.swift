import Classification

/// Survival endpoints (DOMAIN.md section 7).
public enum SurvivalEndpoint: String, Sendable, CaseIterable {
    /// Overall survival: event = death; otherwise censored at the last follow-up.
    case os
    /// Progression-free survival: event = progression after the intracranial diagnosis or death,
    /// whichever is first; otherwise censored at the last follow-up. From the intracranial diagnosis only.
    case pfs
}

/// Where survival time starts (DOMAIN.md section 7).
public enum SurvivalOrigin: String, Sendable, CaseIterable {
    /// The intracranial diagnosis: the default, as in Gozzetti 2012 and Jurczyszyn 2016.
    case icDiagnosis = "ic_diagnosis"
    /// The myeloma diagnosis, with delayed entry (left truncation) at the intracranial diagnosis:
    /// patients enter the registry only once they have intracranial disease, and counting them as
    /// at risk before that would inflate survival (immortal-time bias).
    case mmDiagnosis = "mm_diagnosis"
}

/// One subject's survival time in days.
public struct SurvivalTime: Sendable, Equatable {
    public let time: Double
    public let event: Bool
    /// Days from the origin to entry into the risk set (delayed entry); nil without delayed entry.
    public let entry: Double?

    public init(time: Double, event: Bool, entry: Double?) {
        self.time = time
        self.event = event
        self.entry = entry
    }
}

extension CohortRow {
    /// The subject's time for an endpoint and origin (whole days between calendar dates).
    /// With delayed entry, an exit on the day of entry is counted half a day after it, since a
    /// subject must be at risk for a positive time (R's `Surv(entry, exit)` requires exit > entry).
    public func survivalTime(_ endpoint: SurvivalEndpoint, origin: SurvivalOrigin) -> SurvivalTime? {
        // Day numbers (CalendarDate.dayNumber): differences are whole days between the dates.
        let end: Int32
        let event: Bool
        switch endpoint {
        case .os:
            if deathDay != Self.noDate {
                (end, event) = (deathDay, true)
            } else if lastFollowupDay != Self.noDate {
                (end, event) = (lastFollowupDay, false)
            } else {
                return nil
            }
        case .pfs:
            // The first of progression and death.
            let first: Int32
            switch (progressionDay == Self.noDate, deathDay == Self.noDate) {
            case (true, true): first = Self.noDate
            case (true, false): first = deathDay
            case (false, true): first = progressionDay
            case (false, false): first = min(progressionDay, deathDay)
            }
            if first != Self.noDate {
                (end, event) = (first, true)
            } else if lastFollowupDay != Self.noDate {
                (end, event) = (lastFollowupDay, false)
            } else {
                return nil
            }
        }
        switch origin {
        case .icDiagnosis:
            let days = Int(end) - Int(icDiagnosisDay)
            guard days >= 0 else { return nil }
            return SurvivalTime(time: Double(days), event: event, entry: nil)
        case .mmDiagnosis:
            let entry = Double(max(0, Int(icDiagnosisDay) - Int(mmDiagnosisDay)))
            let exit = Double(Int(end) - Int(mmDiagnosisDay))
            guard exit >= 0 else { return nil }
            return SurvivalTime(time: exit > entry ? exit : entry + 0.5, event: event, entry: entry)
        }
    }
}
