import Survival

/// Cumulative incidence curves per group and cause (Aalen-Johansen, `cmprsk::cuminc`), rendered
/// as a self-contained SVG by `svg(width:height:)`, in the manner of `plot.cuminc` with the bands
/// and number-at-risk table of `survminer::ggcompetingrisks`.
///
/// Each group has a colour (the Okabe-Ito palette of the Kaplan-Meier plot); each cause a line
/// style (solid, dashed, dotted, ...), so colour is never the only cue. Curves are right-continuous
/// steps from 0 at time 0 to the group's last follow-up time; bands are the pointwise log(-log)
/// limits. Gray's test p per cause is printed in the plot area.
public struct IncidencePlot: Sendable {
    /// One curve: the incidence of one cause in one group.
    public struct Curve: Sendable {
        public var key: String
        public var cause: String
        public var n: Int
        public var events: Int?
        /// Jump points (time ascending); nil when the group is suppressed.
        public var points: [IncidencePoint]?
        /// Where the step function ends.
        public var lastTime: Double
        public var suppressed: Bool

        public init(key: String, cause: String, n: Int, events: Int?, points: [IncidencePoint]?, lastTime: Double, suppressed: Bool) {
            self.key = key
            self.cause = cause
            self.n = n
            self.events = events
            self.points = points
            self.lastTime = lastTime
            self.suppressed = suppressed
        }
    }

    /// A row of the at-risk table: a group's exit times (only counted, never drawn).
    public struct RiskRow: Sendable {
        public var key: String
        /// Nil when the group is suppressed.
        public var exitTimes: [Double]?

        public init(key: String, exitTimes: [Double]?) {
            self.key = key
            self.exitTimes = exitTimes?.sorted()
        }

        /// Subjects still in follow-up at t (exit time >= t).
        func count(at t: Double) -> Int? {
            guard let times = exitTimes else { return nil }
            var lo = 0, hi = times.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if times[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            return times.count - lo
        }
    }

    public var curves: [Curve]
    public var riskRows: [RiskRow]
    /// Gray's test per cause (cause, p); empty with one group or when omitted.
    public var grayTests: [(cause: String, pValue: Double?)]
    public var testNote: String?
    public var title: String
    public var timeUnit: String
    public var timeOrigin: String?
    public var confLevel: Double

    public init(
        curves: [Curve], riskRows: [RiskRow], grayTests: [(cause: String, pValue: Double?)] = [], testNote: String? = nil,
        title: String, timeUnit: String, timeOrigin: String? = nil, confLevel: Double
    ) {
        self.curves = curves
        self.riskRows = riskRows
        self.grayTests = grayTests
        self.testNote = testNote
        self.title = title
        self.timeUnit = timeUnit
        self.timeOrigin = timeOrigin
        self.confLevel = confLevel
    }

    /// The plot of a report: groups whose key is in `suppressed` keep their legend entry and n
    /// only; Gray's test is then left out (it compared them) and `testNote` says why.
    ///
    /// - Parameter exitTimes: each group's exit times, for the number-at-risk table.
    public init(
        report: CompetingRisksReport, exitTimes: [String: [Double]], confLevel: Double, title: String, timeUnit: String,
        timeOrigin: String? = nil, suppressed: Set<String> = []
    ) {
        curves = report.groups.map { g in
            let hidden = suppressed.contains(g.key)
            return Curve(
                key: g.key, cause: g.cause, n: g.n, events: hidden ? nil : g.events, points: hidden ? nil : g.curve,
                lastTime: g.lastTime, suppressed: hidden)
        }
        var keys: [String] = []
        for g in report.groups where !keys.contains(g.key) { keys.append(g.key) }
        riskRows = keys.map { RiskRow(key: $0, exitTimes: suppressed.contains($0) ? nil : exitTimes[$0]) }
        if !suppressed.isEmpty && keys.count > 1 {
            grayTests = []
            testNote = "Gray's test omitted: a group is below the minimum cell size"
        } else {
            grayTests = (report.grayTest ?? []).map { ($0.cause, $0.pValue) }
            testNote = nil
        }
        self.confLevel = confLevel
        self.title = title
        self.timeUnit = timeUnit
        self.timeOrigin = timeOrigin
    }

    static let causeDashes = ["", " stroke-dasharray=\"8 4\"", " stroke-dasharray=\"2 3\"", " stroke-dasharray=\"8 3 2 3\""]

    /// The plot as a standalone SVG document.
    ///
    /// Layout, top to bottom: title; legend (one line per group and cause: n and events); the
    /// plot area with bands, curves and Gray's test; the time axis; the number-at-risk table.
    public func svg(width requestedWidth: Int = 800, height requestedHeight: Int = 600) -> String {
        let pad = 16.0, legendLine = 18.0, riskRow = 18.0
        let w = Double(max(requestedWidth, 360))
        var h = Double(max(requestedHeight, 280))
        let groupKeys = riskRows.map(\.key)
        var causes: [String] = []
        for c in curves where !causes.contains(c.cause) { causes.append(c.cause) }
        func colour(_ key: String) -> String {
            let i = groupKeys.firstIndex(of: key) ?? 0
            return KaplanMeierPlot.palette[i % KaplanMeierPlot.palette.count]
        }
        func dash(_ cause: String) -> String {
            Self.causeDashes[(causes.firstIndex(of: cause) ?? 0) % Self.causeDashes.count]
        }
        let riskLabels = groupKeys.map { SVGText.truncated($0, size: 12, bold: true, maxWidth: w * 0.28) }
        let labelWidth = riskLabels.map { SVGText.width($0, size: 12, bold: true) }.max() ?? 0
        let plotLeft = max(84, pad + labelWidth + 22), plotRight = w - 28
        let titleBaseline = pad + 18
        let legendTop = titleBaseline + 26
        let plotTop = legendTop + Double(max(curves.count - 1, 0)) * legendLine + 24
        func bottom(_ h: Double) -> Double { h - pad - 2 - Double(max(riskRows.count - 1, 0)) * riskRow - 22 - 30 - 40 }
        if bottom(h) - plotTop < 90 { h += 90 - (bottom(h) - plotTop) }
        let plotBottom = bottom(h)
        let xLabelBaseline = plotBottom + 40
        let riskHeading = xLabelBaseline + 30
        let maxTime = curves.filter { !$0.suppressed }.map(\.lastTime).max() ?? 0
        let axis = TimeAxis.ticks(maxTime: maxTime, unit: timeUnit)
        let ticks = TimeAxis.values(step: axis.step, end: axis.end)
        // The y axis ends at the first quarter above every drawn upper limit (incidences are often small).
        var top = 0.0
        for c in curves where !c.suppressed {
            for p in c.points ?? [] { top = max(top, p.upper ?? p.estimate ?? 0, p.estimate ?? 0) }
        }
        let yMax = min(1, max(0.25, (top * 4 - 1e-9).rounded(.up) / 4))
        func x(_ t: Double) -> Double { plotLeft + (axis.end > 0 ? min(max(t / axis.end, 0), 1) : 0) * (plotRight - plotLeft) }
        func y(_ f: Double) -> Double { plotBottom - min(max(f / yMax, 0), 1) * (plotBottom - plotTop) }

        var out = SVGBuilder()
        out.line(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
                + "viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" class=\"cif-plot\">")
        out.line("<title>\(SVGText.escaped(title))</title>")
        out.line("<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#ffffff\"/>")
        out.text(title, x: w / 2, y: titleBaseline, size: 18, anchor: "middle", attributes: "font-weight=\"bold\" class=\"cif-title\"")

        out.line("<g class=\"cif-legend\" font-size=\"13\">")
        for (i, curve) in curves.enumerated() {
            let ly = legendTop + Double(i) * legendLine, lx = plotLeft
            let stroke = curve.suppressed ? KaplanMeierPlot.grey : colour(curve.key)
            out.line(
                "<line x1=\"\(c(lx))\" y1=\"\(c(ly - 4.5))\" x2=\"\(c(lx + 26))\" y2=\"\(c(ly - 4.5))\" stroke=\"\(stroke)\" stroke-width=\"3\"\(dash(curve.cause))/>")
            let detail = curve.suppressed ? "(n=\(curve.n), suppressed)" : "(n=\(curve.n), \(curve.events ?? 0) events)"
            let label = SVGText.truncated("\(curve.key) \u{2013} \(curve.cause) \(detail)", size: 13, maxWidth: plotRight - lx - 34)
            out.text(label, x: lx + 34, y: ly, size: nil, anchor: "start",
                     attributes: "class=\"cif-legend-entry\" data-group=\"\(SVGText.escaped(curve.key))\" data-cause=\"\(SVGText.escaped(curve.cause))\"")
        }
        out.line("</g>")

        out.line("<g class=\"cif-axes\" font-size=\"12\" fill=\"#222222\">")
        let yTicks = stride(from: 0.0, through: yMax + 1e-9, by: yMax <= 0.5 ? 0.05 * (yMax / 0.25).rounded(.up) : 0.25).map { $0 }
        for f in yTicks where f > 0 {
            out.line("<line x1=\"\(c(plotLeft))\" y1=\"\(c(y(f)))\" x2=\"\(c(plotRight))\" y2=\"\(c(y(f)))\" stroke=\"#e6e6e6\" stroke-width=\"1\"/>")
        }
        out.line("<path class=\"cif-axis\" d=\"M \(c(plotLeft)) \(c(plotTop)) V \(c(plotBottom)) H \(c(plotRight))\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1\"/>")
        for f in yTicks {
            out.line("<line x1=\"\(c(plotLeft - 5))\" y1=\"\(c(y(f)))\" x2=\"\(c(plotLeft))\" y2=\"\(c(y(f)))\" stroke=\"#222222\"/>")
            out.text(SVGText.fixed(f * 100, 0) + "%", x: plotLeft - 8, y: y(f) + 4, size: nil, anchor: "end")
        }
        for t in ticks {
            out.line("<line x1=\"\(c(x(t)))\" y1=\"\(c(plotBottom))\" x2=\"\(c(x(t)))\" y2=\"\(c(plotBottom + 5))\" stroke=\"#222222\"/>")
            out.text(SVGText.tick(t, step: axis.step), x: x(t), y: plotBottom + 18, size: nil, anchor: "middle")
        }
        let xLabel = timeOrigin.map { $0.isEmpty ? "Time (\(timeUnit))" : "Time since \($0) (\(timeUnit))" } ?? "Time (\(timeUnit))"
        out.text(xLabel, x: (plotLeft + plotRight) / 2, y: xLabelBaseline, size: 14, anchor: "middle", attributes: "class=\"cif-xlabel\"")
        let cy = (plotTop + plotBottom) / 2, lx = pad + 14
        out.text("Cumulative incidence", x: lx, y: cy, size: 14, anchor: "middle", attributes: "class=\"cif-ylabel\" transform=\"rotate(-90 \(c(lx)) \(c(cy)))\"")
        out.line("</g>")

        let drawn = curves.filter { !$0.suppressed && !($0.points ?? []).isEmpty }.count
        let opacity = drawn <= 2 ? "0.15" : drawn <= 4 ? "0.10" : "0.06"
        out.line("<g class=\"cif-bands\">")
        for curve in curves where !curve.suppressed {
            guard let points = curve.points, !points.isEmpty else { continue }
            // Flat stretches from each jump to the next (or the last follow-up); the band stops
            // where the limits are not defined (incidence 0 or 1).
            var upper: [String] = [], lower: [String] = []
            for (k, p) in points.enumerated() {
                guard let lo = p.lower, let up = p.upper else { break }
                let end = k + 1 < points.count ? points[k + 1].time : curve.lastTime
                upper += ["\(c(x(p.time))),\(c(y(up)))", "\(c(x(end))),\(c(y(up)))"]
                lower += ["\(c(x(p.time))),\(c(y(lo)))", "\(c(x(end))),\(c(y(lo)))"]
            }
            if upper.isEmpty { continue }
            out.line(
                "<polygon class=\"cif-band\" data-group=\"\(SVGText.escaped(curve.key))\" data-cause=\"\(SVGText.escaped(curve.cause))\" "
                    + "points=\"\((upper + lower.reversed()).joined(separator: " "))\" fill=\"\(colour(curve.key))\" fill-opacity=\"\(opacity)\" stroke=\"none\"/>")
        }
        out.line("</g>")

        out.line("<g class=\"cif-curves\" fill=\"none\" stroke-width=\"2\">")
        for curve in curves where !curve.suppressed {
            guard let points = curve.points else { continue }
            var d = "M \(c(x(0))) \(c(y(0)))"
            for p in points {
                guard let f = p.estimate else { continue }
                d += " H \(c(x(p.time))) V \(c(y(f)))"
            }
            d += " H \(c(x(curve.lastTime)))"
            out.line(
                "<path class=\"cif-curve\" data-group=\"\(SVGText.escaped(curve.key))\" data-cause=\"\(SVGText.escaped(curve.cause))\" d=\"\(d)\" "
                    + "stroke=\"\(colour(curve.key))\"\(dash(curve.cause))/>")
        }
        out.line("</g>")

        // Gray's test in the top-left corner: incidence curves rise, so it is the emptiest one.
        var testLines = grayTests.compactMap { t in t.pValue.map { "Gray's test, \(t.cause): " + SVGText.pValue($0) } }
        if testLines.isEmpty, let note = testNote, !note.isEmpty { testLines = [note] }
        if !testLines.isEmpty {
            out.line("<g class=\"cif-test\" font-size=\"13\">")
            let boxWidth = (testLines.map { SVGText.width($0, size: 13) }.max() ?? 0) + 12
            out.line("<rect x=\"\(c(plotLeft + 10))\" y=\"\(c(plotTop + 6))\" width=\"\(c(boxWidth))\" height=\"\(c(Double(testLines.count) * 18 + 6))\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>")
            for (i, line) in testLines.enumerated() {
                out.text(line, x: plotLeft + 16, y: plotTop + 22 + Double(i) * 18, size: nil, anchor: "start",
                         attributes: "class=\"cif-pvalue\"" + (grayTests.isEmpty ? " font-style=\"italic\"" : ""))
            }
            out.line("</g>")
        }

        out.line("<g class=\"cif-risk-table\" font-size=\"12\">")
        out.text("Number at risk", x: pad, y: riskHeading, size: 13, anchor: "start", attributes: "font-weight=\"bold\"")
        for (i, row) in riskRows.enumerated() {
            let ry = riskHeading + 22 + Double(i) * riskRow
            let key = SVGText.escaped(row.key)
            let hidden = row.exitTimes == nil
            out.line("<g class=\"cif-risk-row\" data-group=\"\(key)\">")
            out.text(riskLabels[i], x: plotLeft - 18, y: ry, size: nil, anchor: "end",
                     attributes: "class=\"cif-risk-label\" fill=\"\(hidden ? KaplanMeierPlot.grey : colour(row.key))\" font-weight=\"bold\"")
            if hidden {
                out.text("suppressed", x: (plotLeft + plotRight) / 2, y: ry, size: nil, anchor: "middle",
                         attributes: "class=\"cif-risk-suppressed\" font-style=\"italic\" fill=\"\(KaplanMeierPlot.grey)\"")
            } else {
                for t in ticks {
                    out.text(String(row.count(at: t) ?? 0), x: x(t), y: ry, size: nil, anchor: "middle",
                             attributes: "class=\"cif-risk-count\" data-group=\"\(key)\"")
                }
            }
            out.line("</g>")
        }
        out.line("</g>")
        out.text("Bands: pointwise \(KaplanMeierPlot.percent(confLevel)) log(-log) limits", x: w - pad, y: h - pad + 10, size: 10, anchor: "end", attributes: "class=\"cif-note\" fill=\"#777777\"")
        out.line("</svg>")
        return out.text
    }
}

private func c(_ v: Double) -> String { SVGText.coordinate(v) }
