import Survival

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A forest plot of a Cox model, rendered as a self-contained SVG by `svg(width:)`.
///
/// One block per covariate as the caller named it: a heading with the PH-test p of the covariate
/// (`cox.zph`, when the report has it), then one row per term with its hazard ratio and Wald
/// limits on a log axis, n and events where known, and the term's p-value. A factor shows its
/// reference level first (hazard ratio 1 by definition, no interval), as `survminer::ggforest`.
/// A group or level left out by suppression is not drawn; `note` can say so.
public struct ForestPlot: Sendable {
    /// How the report's terms map back to the covariates.
    public struct Covariate: Sendable {
        public var name: String
        /// Nil for a numeric covariate (one term, named `name`); for a factor, its reference level
        /// and every level in code-point order (terms are `name + level`).
        public var levels: [Level]?

        public init(name: String, levels: [Level]? = nil) {
            self.name = name
            self.levels = levels
        }
    }

    /// A factor level with its subject and event counts (nil when not known or suppressed).
    public struct Level: Sendable {
        public var name: String
        public var n: Int?
        public var events: Int?

        public init(name: String, n: Int? = nil, events: Int? = nil) {
            self.name = name
            self.n = n
            self.events = events
        }
    }

    public var cox: CoxReport
    public var covariates: [Covariate]
    public var title: String
    /// Shown under the plot, e.g. which levels were left out and why.
    public var note: String?
    public var confLevel: Double

    public init(cox: CoxReport, covariates: [Covariate], title: String, confLevel: Double, note: String? = nil) {
        self.cox = cox
        self.covariates = covariates
        self.title = title
        self.confLevel = confLevel
        self.note = note
    }

    /// One printed row.
    struct Row {
        enum Kind { case heading, term, reference }
        var kind: Kind
        var label: String
        var counts: String
        var term: CoxTerm?
        var phP: Double?
    }

    var rows: [Row] {
        var rows: [Row] = []
        let terms = Dictionary(cox.terms.map { ($0.term, $0) }, uniquingKeysWith: { a, _ in a })
        let ph = Dictionary(
            (cox.phTest?.terms ?? []).map { ($0.covariate, $0.pValue) }, uniquingKeysWith: { a, _ in a })
        for covariate in covariates {
            let phP = ph[covariate.name] ?? nil
            if let levels = covariate.levels {
                rows.append(Row(kind: .heading, label: covariate.name, counts: "", term: nil, phP: phP))
                for (i, level) in levels.enumerated() {
                    let counts = Self.counts(level.n, level.events)
                    if i == 0 {
                        rows.append(Row(kind: .reference, label: "  " + level.name + " (reference)", counts: counts, term: nil, phP: nil))
                    } else if let term = terms[covariate.name + level.name] {
                        rows.append(Row(kind: .term, label: "  " + level.name, counts: counts, term: term, phP: nil))
                    }
                }
            } else if let term = terms[covariate.name] {
                rows.append(Row(kind: .term, label: covariate.name, counts: Self.counts(cox.n, cox.events), term: term, phP: phP))
            }
        }
        return rows
    }

    static func counts(_ n: Int?, _ events: Int?) -> String {
        guard let n else { return "" }
        return events.map { "\(n) / \($0)" } ?? "\(n)"
    }

    /// The log-scale axis: powers of two or ten around every drawn interval and 1.
    static func axis(_ terms: [CoxTerm]) -> (low: Double, high: Double, ticks: [Double]) {
        var lo = 1.0, hi = 1.0
        for t in terms {
            for v in [t.lower, t.upper, t.hazardRatio] where v.isFinite && v > 0 {
                lo = min(lo, v)
                hi = max(hi, v)
            }
        }
        let candidates: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10, 20, 50, 100, 200, 500, 1000]
        let low = candidates.last { $0 <= lo } ?? 0.001
        let high = candidates.first { $0 >= hi } ?? 1000
        let span = log10(high / low)
        let ticks = candidates.filter { $0 >= low && $0 <= high }.filter { v in
            // Fewer ticks on wide axes: keep 1 and the 1-2-5 / 1-10 values that stay readable.
            span <= 1.5 || [0.001, 0.01, 0.1, 1, 10, 100, 1000].contains(v) || (span <= 3 && [0.5, 2, 5, 0.2, 20, 0.05].contains(v))
        }
        return (low, high, ticks)
    }

    /// The plot as a standalone SVG document.
    ///
    /// Columns, left to right: covariate / level, n / events, the forest (log axis, line at
    /// HR = 1), "HR (CI)", p, and the covariate's PH-test p.
    public func svg(width requestedWidth: Int = 900) -> String {
        let rows = self.rows
        let w = Double(max(requestedWidth, 640))
        let pad = 16.0, rowHeight = 22.0
        let headerBaseline = pad + 18 + 30
        let firstRow = headerBaseline + 24
        let axisY = firstRow + Double(rows.count) * rowHeight
        let h = axisY + 62 + (note == nil ? 0 : 20) + pad
        let labelWidth = min(
            max(rows.map { SVGText.width($0.label, size: 12, bold: $0.kind == .heading) }.max() ?? 80, 80), w * 0.25)
        let countsX = pad + labelWidth + 60
        let forestLeft = countsX + 20, forestRight = w - 300
        let hrX = forestRight + 14, pX = w - 110, phX = w - pad
        let axis = Self.axis(rows.compactMap(\.term))
        func x(_ v: Double) -> Double {
            let f = (log(min(max(v, axis.low), axis.high)) - log(axis.low)) / (log(axis.high) - log(axis.low))
            return forestLeft + f * (forestRight - forestLeft)
        }
        var out = SVGBuilder()
        out.line(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
                + "viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" class=\"forest-plot\">")
        out.line("<title>\(SVGText.escaped(title))</title>")
        out.line("<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#ffffff\"/>")
        out.text(title, x: w / 2, y: pad + 18, size: 18, anchor: "middle", attributes: "font-weight=\"bold\" class=\"forest-title\"")
        out.line("<g class=\"forest-header\" font-size=\"12\" font-weight=\"bold\">")
        out.text("Covariate", x: pad, y: headerBaseline, size: nil, anchor: "start")
        out.text("n / events", x: countsX, y: headerBaseline, size: nil, anchor: "end")
        out.text("Hazard ratio (\(KaplanMeierPlot.percent(confLevel)) CI)", x: hrX, y: headerBaseline, size: nil, anchor: "start")
        out.text("p", x: pX, y: headerBaseline, size: nil, anchor: "end")
        out.text(cox.phTest == nil ? "" : "PH test p", x: phX, y: headerBaseline, size: nil, anchor: "end")
        out.line("</g>")
        // Zebra rows for reading across, the no-effect line, the axis.
        out.line("<g class=\"forest-grid\">")
        for i in rows.indices where i % 2 == 0 {
            out.line(
                "<rect x=\"\(c(pad))\" y=\"\(c(firstRow + Double(i) * rowHeight))\" width=\"\(c(w - 2 * pad))\" "
                    + "height=\"\(c(rowHeight))\" fill=\"#f4f4f4\"/>")
        }
        out.line(
            "<line class=\"forest-null\" x1=\"\(c(x(1)))\" y1=\"\(c(firstRow))\" x2=\"\(c(x(1)))\" y2=\"\(c(axisY))\" "
                + "stroke=\"#777777\" stroke-dasharray=\"4 3\"/>")
        out.line(
            "<line class=\"forest-axis\" x1=\"\(c(forestLeft))\" y1=\"\(c(axisY))\" x2=\"\(c(forestRight))\" y2=\"\(c(axisY))\" stroke=\"#222222\"/>")
        for t in axis.ticks {
            out.line("<line x1=\"\(c(x(t)))\" y1=\"\(c(axisY))\" x2=\"\(c(x(t)))\" y2=\"\(c(axisY + 5))\" stroke=\"#222222\"/>")
            out.text(Self.number(t), x: x(t), y: axisY + 18, size: 12, anchor: "middle")
        }
        out.text("Hazard ratio (log scale)", x: (forestLeft + forestRight) / 2, y: axisY + 36, size: 12, anchor: "middle", attributes: "class=\"forest-xlabel\"")
        out.line("</g>")
        out.line("<g class=\"forest-rows\" font-size=\"12\">")
        let colour = KaplanMeierPlot.palette[0]
        for (i, row) in rows.enumerated() {
            let top = firstRow + Double(i) * rowHeight
            let y = top + 15, mid = top + rowHeight / 2
            let label = SVGText.truncated(row.label, size: 12, bold: row.kind == .heading, maxWidth: labelWidth)
            out.text(label, x: pad, y: y, size: nil, anchor: "start", attributes: row.kind == .heading ? "font-weight=\"bold\" class=\"forest-covariate\"" : "class=\"forest-term\"")
            out.text(row.counts, x: countsX, y: y, size: nil, anchor: "end", attributes: "class=\"forest-counts\"")
            if let p = row.phP, p.isFinite {
                out.text(SVGText.pValueColumn(p), x: phX, y: y, size: nil, anchor: "end", attributes: "class=\"forest-ph\"")
            }
            switch row.kind {
            case .heading: break
            case .reference:
                out.line("<rect class=\"forest-reference\" x=\"\(c(x(1) - 3.5))\" y=\"\(c(mid - 3.5))\" width=\"7\" height=\"7\" fill=\"#ffffff\" stroke=\"#777777\"/>")
                out.text("1 (reference)", x: hrX, y: y, size: nil, anchor: "start", attributes: "fill=\"#777777\"")
            case .term:
                guard let term = row.term else { continue }
                let lo = term.lower, up = term.upper, hr = term.hazardRatio
                if lo.isFinite && up.isFinite {
                    out.line(
                        "<line class=\"forest-ci\" x1=\"\(c(x(lo)))\" y1=\"\(c(mid))\" x2=\"\(c(x(up)))\" y2=\"\(c(mid))\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
                    // An interval running off the axis ends in an arrow instead of a cap.
                    for (v, edge, dir) in [(lo, axis.low, -1.0), (up, axis.high, 1.0)] where (dir < 0 ? v < edge : v > edge) {
                        let ex = x(edge)
                        out.line("<path d=\"M \(c(ex - dir * 6)) \(c(mid - 4)) L \(c(ex)) \(c(mid)) L \(c(ex - dir * 6)) \(c(mid + 4))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
                    }
                }
                if hr.isFinite {
                    out.line("<rect class=\"forest-hr\" x=\"\(c(x(hr) - 4.5))\" y=\"\(c(mid - 4.5))\" width=\"9\" height=\"9\" fill=\"\(colour)\"/>")
                }
                out.text("\(Self.number(hr)) (\(Self.number(lo))-\(Self.number(up)))", x: hrX, y: y, size: nil, anchor: "start", attributes: "class=\"forest-hr-text\"")
                out.text(SVGText.pValueColumn(term.pValue), x: pX, y: y, size: nil, anchor: "end", attributes: "class=\"forest-p\"")
            }
        }
        out.line("</g>")
        var footer = "n = \(cox.n), events = \(cox.events)"
        if let strata = cox.strata { footer += "; stratified by \(strata)" }
        if let global = cox.phTest?.global.pValue { footer += "; global PH test " + SVGText.pValue(global) }
        out.text(footer, x: pad, y: axisY + 62, size: 12, anchor: "start", attributes: "class=\"forest-footer\" fill=\"#444444\"")
        if let note, !note.isEmpty {
            out.text(note, x: pad, y: axisY + 82, size: 12, anchor: "start", attributes: "class=\"forest-note\" font-style=\"italic\" fill=\"#444444\"")
        }
        out.line("</svg>")
        return out.text
    }

    /// A ratio with two decimals, three significant digits below 0.1, "NA" when not finite.
    static func number(_ v: Double) -> String {
        if !v.isFinite { return "NA" }
        if v >= 0.1 || v == 0 { return SVGText.fixed(v, 2) }
        let digits = min(6, Int((-log10(v)).rounded(.up)) + 2)
        return SVGText.fixed(v, digits)
    }
}

private func c(_ v: Double) -> String { SVGText.coordinate(v) }
