/// Tick spacing of the time axis.
enum TimeAxis {

    /// Steps a reader expects in a unit (months: 1, 3, 6 months, years and multiples; days:
    /// weeks, months, quarters, years), tried before the generic 1-2-5 series.
    static func preferredSteps(unit: String) -> [Double] {
        let u = unit.lowercased()
        if u.hasPrefix("month") { return [1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240] }
        if u.hasPrefix("day") { return [1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1095, 1826, 3652] }
        if u.hasPrefix("week") { return [1, 2, 4, 13, 26, 52, 104, 156, 260, 520] }
        if u.hasPrefix("year") { return [1, 2, 5, 10, 20, 50] }
        return []
    }

    /// The 1-2-5 series from 0.001 to 1e15.
    static let genericSteps: [Double] = {
        var steps: [Double] = []
        var decade = 0.001
        while decade <= 1e15 {
            steps += [decade, 2 * decade, 5 * decade]
            decade *= 10
        }
        return steps
    }()

    /// The smallest step (preferred ones first where they apply) that covers [0, maxTime] in at
    /// most `maxIntervals` intervals, and the axis end (the first multiple of the step at or after
    /// `maxTime`; one step when `maxTime` is 0 or not usable).
    static func ticks(maxTime: Double, unit: String, maxIntervals: Int = 8) -> (step: Double, end: Double) {
        let preferred = preferredSteps(unit: unit)
        var candidates = preferred
        if let first = preferred.first, let last = preferred.last {
            candidates = genericSteps.filter { $0 < first } + preferred + genericSteps.filter { $0 > last }
        } else {
            candidates = genericSteps
        }
        let span = maxTime.isFinite && maxTime > 0 ? maxTime : 0
        if span == 0 {
            let step = preferred.first ?? 1
            return (step, step)
        }
        for step in candidates {
            let intervals = (span / step - 1e-9).rounded(.up)
            if intervals <= Double(maxIntervals) { return (step, max(intervals, 1) * step) }
        }
        let step = candidates.last ?? 1
        return (step, max((span / step).rounded(.up), 1) * step)
    }

    /// Tick values 0, step, ..., end.
    static func values(step: Double, end: Double) -> [Double] {
        let count = Int((end / step).rounded())
        return (0...max(count, 1)).map { Double($0) * step }
    }
}
