import Survival

/// A group's curve reduced to the rows that can be drawn (finite times >= 0, finite survival
/// clamped to [0, 1]), with parallel arrays cut to their common length.
struct Steps {
    var time: [Double] = []
    var survival: [Double] = []
    var lower: [Double] = []
    var upper: [Double] = []
    var nCensor: [Int] = []

    init(_ curve: CurveTable) {
        let count = min(
            curve.time.count, curve.survival.count, curve.lower.count, curve.upper.count, curve.nCensor.count)
        for k in 0..<count {
            let t = curve.time[k], s = curve.survival[k]
            guard t.isFinite, t >= 0, s.isFinite else { continue }
            time.append(t)
            survival.append(min(max(s, 0), 1))
            lower.append(curve.lower[k])
            upper.append(curve.upper[k])
            nCensor.append(curve.nCensor[k])
        }
    }

    var lastTime: Double { time.last ?? 0 }

    /// S(t), right-continuous: the level of the last row at or before t (1 before the first).
    func survival(at t: Double) -> Double {
        var level = 1.0
        for k in time.indices where time[k] <= t { level = survival[k] }
        return level
    }

    /// S(t-): the level just before t.
    func survival(before t: Double) -> Double {
        var level = 1.0
        for k in time.indices where time[k] < t { level = survival[k] }
        return level
    }

    /// A flat stretch of the confidence band.
    struct BandSegment: Equatable {
        var from: Double
        var to: Double
        var lower: Double
        var upper: Double
    }

    /// The band as flat stretches from time 0 (limits 1, 1) to the last time, stopping at the
    /// first row whose limits are not defined, as R's `lines.survfit(conf.int = TRUE)` stops at
    /// NA (after S reaches 0 for the log transform). Undefined limits while S is still 1 (the
    /// log-log transform before the first event) are taken as 1.
    func bandSegments() -> [BandSegment] {
        var segments: [BandSegment] = []
        var from = 0.0, lo = 1.0, up = 1.0
        var end = lastTime
        for k in time.indices {
            var l = lower[k], u = upper[k]
            if !(l.isFinite && u.isFinite) {
                if survival[k] >= 1 {
                    l = 1
                    u = 1
                } else {
                    end = time[k]
                    break
                }
            }
            if time[k] > from { segments.append(BandSegment(from: from, to: time[k], lower: lo, upper: up)) }
            from = max(from, time[k])
            lo = min(max(l, 0), 1)
            up = min(max(u, 0), 1)
        }
        if end > from { segments.append(BandSegment(from: from, to: end, lower: lo, upper: up)) }
        return segments
    }
}

/// Positions of everything in the document, in px.
struct Frame {
    static let pad = 16.0
    static let legendLine = 18.0
    static let riskRow = 18.0
    static let minPlotHeight = 90.0
    /// Between an at-risk row label and the first count (centred on the axis).
    static let riskLabelGap = 18.0

    let width: Double
    let height: Double
    let titleBaseline: Double
    let legendX: Double
    /// Per group: the key as shown (cut when wider than the canvas) and the text lines after it
    /// (the first continues the key's line; the others are wrapped below it).
    let legendKeys: [String]
    let legendLines: [[String]]
    private let legendFirstLine: [Int]
    let plotLeft: Double
    let plotRight: Double
    let plotTop: Double
    let plotBottom: Double
    let xLabelBaseline: Double
    /// x of the rotated y label's baseline.
    let yLabelBaseline: Double
    let riskHeadingBaseline: Double
    let tickStep: Double
    let axisEnd: Double
    let ticks: [Double]
    let colours: [String]
    /// Extra stroke attribute per group: dashes once the palette repeats.
    let dashes: [String]
    /// Drawable rows per group; nil for groups that are not drawn.
    let steps: [Steps?]
    let riskLabels: [String]
    private let groupCount: Int

    init(plot: KaplanMeierPlot, width requestedWidth: Int, height requestedHeight: Int) {
        let pad = Self.pad
        let w = Double(max(requestedWidth, 360))
        var h = Double(max(requestedHeight, 280))
        let groups = plot.groups
        groupCount = groups.count

        colours = groups.indices.map { KaplanMeierPlot.palette[$0 % KaplanMeierPlot.palette.count] }
        let dashPatterns = ["", " stroke-dasharray=\"8 4\"", " stroke-dasharray=\"2 3\"", " stroke-dasharray=\"8 3 2 3\""]
        dashes = groups.indices.map { dashPatterns[($0 / KaplanMeierPlot.palette.count) % dashPatterns.count] }
        steps = groups.map { g in g.isDrawn ? g.curve.map(Steps.init) : nil }

        // Left margin: room for the y tick labels and label, and for the at-risk row labels.
        let maxLabelWidth = w * 0.28
        riskLabels = groups.map { SVGText.truncated($0.key, size: 12, bold: true, maxWidth: maxLabelWidth) }
        let labelWidth = riskLabels.map { SVGText.width($0, size: 12, bold: true) }.max() ?? 0
        plotLeft = max(84, pad + labelWidth + Self.riskLabelGap + 4)
        plotRight = w - 28
        yLabelBaseline = pad + 14

        // Legend: one line per group when it fits, else the details wrapped under the key.
        let available = w - 2 * pad - 34
        var keys: [String] = [], lines: [[String]] = [], firstLine: [Int] = []
        var lineCount = 0
        var widest = 0.0
        for group in groups {
            let key = SVGText.truncated(group.key, size: 13, bold: true, maxWidth: available)
            let keyWidth = SVGText.width(key, size: 13, bold: true)
            let detail = plot.legendDetail(group)
            var entry: [String]
            if keyWidth + SVGText.width(" " + detail, size: 13) <= available {
                entry = [" " + detail]
                widest = max(widest, keyWidth + SVGText.width(" " + detail, size: 13))
            } else {
                entry = Self.wrap(detail, firstWidth: available - keyWidth, width: available, size: 13)
                widest = available
            }
            keys.append(key)
            lines.append(entry)
            firstLine.append(lineCount)
            lineCount += max(entry.count, 1)
        }
        legendKeys = keys
        legendLines = lines
        legendFirstLine = firstLine
        legendX = max(pad, min(plotLeft, w - pad - 34 - widest))

        titleBaseline = pad + 18
        let lastLegend = titleBaseline + 26 + Double(max(lineCount - 1, 0)) * Self.legendLine
        plotTop = (groups.isEmpty ? titleBaseline : lastLegend) + 24
        // Bottom up: at-risk rows, their heading, the x label, the tick labels.
        func bottom(for h: Double) -> Double {
            let firstRow = h - pad - 2 - Double(max(groups.count - 1, 0)) * Self.riskRow
            return firstRow - 22 - 30 - 40
        }
        if bottom(for: h) - plotTop < Self.minPlotHeight {
            h += Self.minPlotHeight - (bottom(for: h) - plotTop)
        }
        height = h
        width = w
        let firstRow = h - pad - 2 - Double(max(groups.count - 1, 0)) * Self.riskRow
        riskHeadingBaseline = firstRow - 22
        xLabelBaseline = riskHeadingBaseline - 30
        plotBottom = xLabelBaseline - 40

        let maxTime = steps.compactMap { $0?.lastTime }.max() ?? 0
        let axis = TimeAxis.ticks(maxTime: maxTime, unit: plot.timeUnit)
        tickStep = axis.step
        axisEnd = axis.end
        ticks = TimeAxis.values(step: axis.step, end: axis.end)
    }

    /// Baseline of group i's first legend line.
    func legendBaseline(_ i: Int) -> Double {
        titleBaseline + 26 + Double(legendFirstLine[i]) * Self.legendLine
    }

    /// Greedy word wrap; each line starts with a space (it follows the key, or keeps the words of
    /// consecutive lines apart in the text content).
    static func wrap(_ text: String, firstWidth: Double, width: Double, size: Double) -> [String] {
        var lines: [String] = []
        var current = ""
        var onFirstLine = true
        // A bracketed confidence interval stays on one line.
        var words: [String] = []
        var inBracket = false
        for word in text.split(separator: " ") {
            if inBracket, let last = words.popLast() { words.append(last + " " + word) } else { words.append(String(word)) }
            if word.contains("[") { inBracket = true }
            if word.contains("]") { inBracket = false }
        }
        for word in words {
            let candidate = current + " " + word
            if SVGText.width(candidate, size: size) <= (onFirstLine ? firstWidth : width)
                || (current.isEmpty && !onFirstLine)
            {
                // It fits, or it is alone on a full line (an overlong word is kept whole).
                current = candidate
            } else {
                // Empty when not even the first word fits after the key.
                lines.append(current)
                onFirstLine = false
                current = " " + word
            }
        }
        lines.append(current)
        return lines
    }

    func riskRowBaseline(_ i: Int) -> Double {
        riskHeadingBaseline + 22 + Double(i) * Self.riskRow
    }

    /// The x of time t (clamped to the axis).
    func x(_ t: Double) -> Double {
        let fraction = t.isFinite && axisEnd > 0 ? min(max(t / axisEnd, 0), 1) : 0
        return plotLeft + fraction * (plotRight - plotLeft)
    }

    /// The y of survival s (clamped to [0, 1]).
    func y(_ s: Double) -> Double {
        let level = s.isFinite ? min(max(s, 0), 1) : 0
        return plotBottom - level * (plotBottom - plotTop)
    }

    /// The time at x.
    func time(_ x: Double) -> Double {
        (x - plotLeft) / (plotRight - plotLeft) * axisEnd
    }

    /// The survival level at y.
    func level(_ y: Double) -> Double {
        (plotBottom - y) / (plotBottom - plotTop)
    }

    /// Top-left corner of a box of the given size in a corner of the plot area that no curve
    /// (nor its censoring marks) crosses: bottom left as `ggsurvplot` puts its p-value, else top
    /// right, bottom right, middle right; bottom left (`free` false) when every corner is taken.
    func freeCorner(width w: Double, height h: Double) -> (x: Double, y: Double, free: Bool) {
        let inset = 10.0
        let candidates = [
            (plotLeft + inset, plotBottom - inset - h),
            (plotRight - inset - w, plotTop + inset),
            (plotRight - inset - w, plotBottom - inset - h),
            (plotRight - inset - w, (plotTop + plotBottom - h) / 2),
        ]
        for (x, y) in candidates where !crossesCurve(x: x, y: y, width: w, height: h) { return (x, y, true) }
        return (candidates[0].0, candidates[0].1, false)
    }

    /// Whether a drawn curve passes through the rectangle (grown by the censoring marks' reach).
    func crossesCurve(x: Double, y: Double, width w: Double, height h: Double) -> Bool {
        let margin = 6.0
        let t0 = time(x - margin), t1 = time(x + w + margin)
        let sHigh = level(y - margin), sLow = level(y + h + margin)
        for case let curve? in steps {
            let end = min(t1, curve.lastTime)
            if end < max(t0, 0) { continue }
            let levelAtStart = curve.survival(before: max(t0, 0))
            let levelAtEnd = curve.survival(at: end)
            if levelAtEnd <= sHigh && levelAtStart >= sLow { return true }
        }
        return false
    }
}
