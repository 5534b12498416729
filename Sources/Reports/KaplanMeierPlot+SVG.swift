import Survival

extension KaplanMeierPlot {

    /// Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
    /// vision deficiency. Yellow comes late: it is the hardest to see on white.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// Grey for suppressed groups and the axes' secondary marks.
    static let grey = "#777777"

    /// The plot as a standalone SVG document (no scripts, no external fonts or references).
    ///
    /// Layout, top to bottom: title; legend (one line per group: n, median with its limits);
    /// the plot area with bands, curves, censoring marks and the log-rank p-value (or the test
    /// note) in the corner the curves leave free; the time axis; the number-at-risk table with one
    /// row per group and one column per time tick, as in `ggsurvplot(risk.table = TRUE)`.
    ///
    /// - Parameters:
    ///   - width: width in px (at least 360).
    ///   - height: height in px (at least 280); the plot area shrinks as groups are added.
    public func svg(width: Int = 800, height: Int = 600) -> String {
        let frame = Frame(plot: self, width: width, height: height)
        var out = SVGBuilder()
        let w = frame.width, h = frame.height
        out.line(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
                + "viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" class=\"km-plot\">")
        out.line("<title>\(SVGText.escaped(title))</title>")
        out.line("<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#ffffff\"/>")
        out.text(
            title, x: w / 2, y: frame.titleBaseline, size: 18, anchor: "middle", attributes: "font-weight=\"bold\" class=\"km-title\"")
        renderLegend(&out, frame)
        renderAxes(&out, frame)
        renderBands(&out, frame)
        renderCurves(&out, frame)
        renderCensorMarks(&out, frame)
        renderTest(&out, frame)
        renderRiskTable(&out, frame)
        out.line("</svg>")
        return out.text
    }

    // MARK: - Layers

    private func renderLegend(_ out: inout SVGBuilder, _ frame: Frame) {
        out.line("<g class=\"km-legend\" font-size=\"13\">")
        for (i, group) in groups.enumerated() {
            let y = frame.legendBaseline(i)
            let x = frame.legendX
            let colour = group.suppressed ? Self.grey : frame.colours[i]
            let dash = group.suppressed ? " stroke-dasharray=\"3 3\"" : frame.dashes[i]
            out.line(
                "<line x1=\"\(c(x))\" y1=\"\(c(y - 4.5))\" x2=\"\(c(x + 26))\" y2=\"\(c(y - 4.5))\" "
                    + "stroke=\"\(colour)\" stroke-width=\"3\"\(dash)/>")
            let lines = frame.legendLines[i]
            var entry =
                "<text x=\"\(c(x + 34))\" y=\"\(c(y))\" class=\"km-legend-entry\" data-group=\"\(SVGText.escaped(group.key))\">"
                + "<tspan class=\"km-legend-key\" font-weight=\"bold\">\(SVGText.escaped(frame.legendKeys[i]))</tspan>"
                + SVGText.escaped(lines.first ?? "")
            for line in lines.dropFirst() {
                entry += "<tspan x=\"\(c(x + 34))\" dy=\"\(c(Frame.legendLine))\">\(SVGText.escaped(line))</tspan>"
            }
            out.line(entry + "</text>")
        }
        out.line("</g>")
    }

    private func renderAxes(_ out: inout SVGBuilder, _ frame: Frame) {
        let left = frame.plotLeft, right = frame.plotRight, top = frame.plotTop, bottom = frame.plotBottom
        out.line("<g class=\"km-axes\" font-size=\"12\" fill=\"#222222\">")
        // Light guides at the quartiles help read survival at a glance without competing with curves.
        for s in [0.25, 0.5, 0.75, 1.0] {
            out.line(
                "<line x1=\"\(c(left))\" y1=\"\(c(frame.y(s)))\" x2=\"\(c(right))\" y2=\"\(c(frame.y(s)))\" "
                    + "stroke=\"#e6e6e6\" stroke-width=\"1\"/>")
        }
        out.line(
            "<path class=\"km-axis\" d=\"M \(c(left)) \(c(top)) V \(c(bottom)) H \(c(right))\" "
                + "fill=\"none\" stroke=\"#222222\" stroke-width=\"1\"/>")
        for s in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = frame.y(s)
            out.line(
                "<line x1=\"\(c(left - 5))\" y1=\"\(c(y))\" x2=\"\(c(left))\" y2=\"\(c(y))\" stroke=\"#222222\"/>")
            out.text(SVGText.fixed(s * 100, 0) + "%", x: left - 8, y: y + 4, size: nil, anchor: "end")
        }
        for t in frame.ticks {
            let x = frame.x(t)
            out.line(
                "<line x1=\"\(c(x))\" y1=\"\(c(bottom))\" x2=\"\(c(x))\" y2=\"\(c(bottom + 5))\" stroke=\"#222222\"/>")
            out.text(SVGText.tick(t, step: frame.tickStep), x: x, y: bottom + 18, size: nil, anchor: "middle")
        }
        out.text(
            xLabel, x: (left + right) / 2, y: frame.xLabelBaseline, size: 14, anchor: "middle",
            attributes: "class=\"km-xlabel\"")
        let cy = (top + bottom) / 2, lx = frame.yLabelBaseline
        out.text(
            yLabel, x: lx, y: cy, size: 14, anchor: "middle",
            attributes: "class=\"km-ylabel\" transform=\"rotate(-90 \(c(lx)) \(c(cy)))\"")
        out.line("</g>")
    }

    private func renderBands(_ out: inout SVGBuilder, _ frame: Frame) {
        out.line("<g class=\"km-bands\">")
        // Overlapping bands add up: fainter as groups are added, so the curves stay readable.
        let drawn = frame.steps.filter { $0 != nil }.count
        let opacity = drawn <= 2 ? "0.15" : drawn <= 4 ? "0.10" : "0.06"
        for (i, steps) in frame.steps.enumerated() {
            guard let steps else { continue }
            let segments = steps.bandSegments()
            if segments.isEmpty { continue }
            var points: [String] = []
            for s in segments {
                points.append("\(c(frame.x(s.from))),\(c(frame.y(s.upper)))")
                points.append("\(c(frame.x(s.to))),\(c(frame.y(s.upper)))")
            }
            for s in segments.reversed() {
                points.append("\(c(frame.x(s.to))),\(c(frame.y(s.lower)))")
                points.append("\(c(frame.x(s.from))),\(c(frame.y(s.lower)))")
            }
            out.line(
                "<polygon class=\"km-band\" data-group=\"\(SVGText.escaped(groups[i].key))\" "
                    + "points=\"\(points.joined(separator: " "))\" fill=\"\(frame.colours[i])\" "
                    + "fill-opacity=\"\(opacity)\" stroke=\"none\"/>")
        }
        out.line("</g>")
    }

    private func renderCurves(_ out: inout SVGBuilder, _ frame: Frame) {
        out.line("<g class=\"km-curves\" fill=\"none\" stroke-width=\"2\">")
        for (i, steps) in frame.steps.enumerated() {
            guard let steps else { continue }
            // Right-continuous steps: horizontal at the old level up to the event time, then down.
            var d = "M \(c(frame.x(0))) \(c(frame.y(1)))"
            var level = 1.0
            var reached = 0.0
            for k in steps.time.indices where steps.survival[k] != level {
                d += " H \(c(frame.x(steps.time[k]))) V \(c(frame.y(steps.survival[k])))"
                level = steps.survival[k]
                reached = steps.time[k]
            }
            if steps.lastTime > reached { d += " H \(c(frame.x(steps.lastTime)))" }
            out.line(
                "<path class=\"km-curve\" data-group=\"\(SVGText.escaped(groups[i].key))\" d=\"\(d)\" "
                    + "stroke=\"\(frame.colours[i])\"\(frame.dashes[i])/>")
        }
        out.line("</g>")
    }

    private func renderCensorMarks(_ out: inout SVGBuilder, _ frame: Frame) {
        out.line("<g class=\"km-censors\" stroke-width=\"1.5\">")
        for (i, steps) in frame.steps.enumerated() {
            guard let steps else { continue }
            let key = SVGText.escaped(groups[i].key)
            for k in steps.time.indices where steps.nCensor[k] > 0 {
                let x = frame.x(steps.time[k]), y = frame.y(steps.survival[k])
                out.line(
                    "<line class=\"km-censor\" data-group=\"\(key)\" x1=\"\(c(x))\" y1=\"\(c(y - 5))\" "
                        + "x2=\"\(c(x))\" y2=\"\(c(y + 5))\" stroke=\"\(frame.colours[i])\"/>")
            }
        }
        out.line("</g>")
    }

    private func renderTest(_ out: inout SVGBuilder, _ frame: Frame) {
        let label: String
        let italic: Bool
        if let p = logRankPValue, p.isFinite {
            label = "Log-rank " + SVGText.pValue(p)
            italic = false
        } else if let note = testNote, !note.isEmpty {
            label = note
            italic = true
        } else {
            return
        }
        let size = 13.0
        let boxWidth = SVGText.width(label, size: size) + 12
        let boxHeight = 22.0
        let box = frame.freeCorner(width: boxWidth, height: boxHeight)
        out.line("<g class=\"km-test\">")
        if !box.free {
            // Every corner is crossed by a curve: keep the text legible over it.
            out.line(
                "<rect x=\"\(c(box.x))\" y=\"\(c(box.y))\" width=\"\(c(boxWidth))\" height=\"\(c(boxHeight))\" "
                    + "fill=\"#ffffff\" fill-opacity=\"0.85\"/>")
        }
        out.text(
            label, x: box.x + 6, y: box.y + 15.5, size: size, anchor: "start",
            attributes: "class=\"km-pvalue\"" + (italic ? " font-style=\"italic\"" : ""))
        out.line("</g>")
    }

    private func renderRiskTable(_ out: inout SVGBuilder, _ frame: Frame) {
        out.line("<g class=\"km-risk-table\" font-size=\"12\">")
        out.text(
            "Number at risk", x: Frame.pad, y: frame.riskHeadingBaseline, size: 13, anchor: "start",
            attributes: "font-weight=\"bold\"")
        for (i, group) in groups.enumerated() {
            let y = frame.riskRowBaseline(i)
            let colour = group.suppressed ? Self.grey : frame.colours[i]
            let key = SVGText.escaped(group.key)
            out.line("<g class=\"km-risk-row\" data-group=\"\(key)\">")
            out.text(
                frame.riskLabels[i], x: frame.plotLeft - Frame.riskLabelGap, y: y, size: nil, anchor: "end",
                attributes: "class=\"km-risk-label\" fill=\"\(colour)\" font-weight=\"bold\"")
            if let curve = group.curve, group.isDrawn {
                for t in frame.ticks {
                    out.text(
                        String(Self.numberAtRisk(curve, at: t)), x: frame.x(t), y: y, size: nil,
                        anchor: "middle", attributes: "class=\"km-risk-count\" data-group=\"\(key)\"")
                }
            } else {
                out.text(
                    "suppressed", x: (frame.plotLeft + frame.plotRight) / 2, y: y, size: nil, anchor: "middle",
                    attributes: "class=\"km-risk-suppressed\" font-style=\"italic\" fill=\"\(Self.grey)\"")
            }
            out.line("</g>")
        }
        out.line("</g>")
    }

    // MARK: - Text

    /// "Time since <origin> (<unit>)" or "Time (<unit>)".
    var xLabel: String {
        if let origin = timeOrigin, !origin.isEmpty { return "Time since \(origin) (\(timeUnit))" }
        return "Time (\(timeUnit))"
    }

    /// The legend text after the key: "(n=11, median 31.0 months [95% CI 18.0-NA])",
    /// "(n=11, median not reached)", "(n=3, suppressed)".
    func legendDetail(_ group: Group) -> String {
        if group.suppressed { return "(n=\(group.n), suppressed)" }
        var detail = "(n=\(group.n)"
        let median = group.median
        let lower = median?.lower.flatMap { $0.isFinite ? $0 : nil }
        let upper = median?.upper.flatMap { $0.isFinite ? $0 : nil }
        let limits = "[\(confLabel) CI \(lower.map { SVGText.fixed($0, 1) } ?? "NA")-\(upper.map { SVGText.fixed($0, 1) } ?? "NA")]"
        if let estimate = median?.estimate, estimate.isFinite {
            detail += ", median \(SVGText.fixed(estimate, 1)) \(timeUnit) \(limits)"
        } else {
            detail += ", median not reached"
            if lower != nil || upper != nil { detail += " \(limits)" }
        }
        return detail + ")"
    }

    /// "95%", "97.5%".
    var confLabel: String { Self.percent(confLevel) }

    /// A confidence level as a percentage label ("95%", "97.5%"), shared by every plot.
    static func percent(_ level: Double) -> String {
        let percent = level.isFinite ? level * 100 : 95
        let whole = (percent - percent.rounded()).magnitude < 1e-9
        return SVGText.fixed(percent, whole ? 0 : 1) + "%"
    }
}

/// Shorthand: a coordinate with two decimals.
private func c(_ v: Double) -> String { SVGText.coordinate(v) }

/// Accumulates the document, one element per line.
struct SVGBuilder {
    var text = ""

    mutating func line(_ s: String) {
        text += s
        text += "\n"
    }

    /// A `<text>` element with escaped content; `size` nil inherits the group's font size.
    mutating func text(
        _ content: String, x: Double, y: Double, size: Double?, anchor: String, attributes: String = ""
    ) {
        var open = "<text x=\"\(c(x))\" y=\"\(c(y))\" text-anchor=\"\(anchor)\""
        if let size { open += " font-size=\"\(SVGText.fixed(size, 0))\"" }
        if !attributes.isEmpty { open += " " + attributes }
        line(open + ">" + SVGText.escaped(content) + "</text>")
    }
}
