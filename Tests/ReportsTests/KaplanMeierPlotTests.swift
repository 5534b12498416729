import Foundation
import Survival
import Testing

@testable import Reports

/// Reference values are R's (survival 3.x): `survfit(Surv(time, status) ~ x, aml)` prints
/// Maintained n=11, events 7, median 31 (0.95 LCL 18, UCL NA); Nonmaintained n=12, events 11,
/// median 23 (LCL 8, UCL NA); `survdiff` gives chisq 3.4 on 1 df, p = 0.0653.
@Suite struct KaplanMeierPlotTests {

    @Test func amlPlotIsWellFormedSVGWithOneCurvePerGroup() throws {
        let svg = try AML.plot().svg()
        saveForInspection(svg, name: "km-aml.svg")
        let doc = try #require(ParsedSVG.parse(svg))
        let root = try #require(doc.elements.last)
        #expect(root.name == "svg")
        #expect(root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(root.attributes["viewBox"] == "0 0 800 600")
        #expect(root.attributes["width"] == "800")
        #expect(root.attributes["height"] == "600")
        let curves = doc.withClass("km-curve")
        #expect(curves.count == 2)
        #expect(curves.allSatisfy { $0.name == "path" })
        #expect(Set(curves.compactMap { $0.attributes["data-group"] }) == ["Maintained", "Nonmaintained"])
        #expect(doc.withClass("km-band").count == 2)
        #expect(doc.withClass("km-title").first?.text == "Time to relapse by maintenance (aml)")
    }

    @Test func documentHasNoScriptsOrExternalReferences() throws {
        let svg = try AML.plot().svg()
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(!doc.elements.contains { ["script", "image", "use", "a", "foreignObject", "style"].contains($0.name) })
        #expect(!doc.elements.contains { $0.attributes.keys.contains { $0.contains("href") || $0.hasPrefix("on") } })
        #expect(!svg.contains("url("))
        #expect(!svg.contains("@import"))
    }

    @Test func suppressedGroupAppearsOnlyInLegendAndRiskTable() throws {
        let cns: [(Double, Bool)] = [(4, true), (7, false), (15, true)]
        let plot = try AML.plot(suppressed: ["CNS"], extra: ["CNS": cns])
        #expect(plot.groups.count == 3)
        let svg = plot.svg()
        saveForInspection(svg, name: "km-aml-suppressed.svg")
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(doc.withClass("km-curve").count == 2)
        #expect(doc.withClass("km-curve", group: "CNS").isEmpty)
        #expect(doc.withClass("km-band", group: "CNS").isEmpty)
        #expect(doc.withClass("km-censor", group: "CNS").isEmpty)
        #expect(doc.withClass("km-legend-entry", group: "CNS").first?.text == "CNS (n=3, suppressed)")
        let row = try #require(doc.withClass("km-risk-row", group: "CNS").first)
        #expect(row.text.contains("suppressed"))
        #expect(row.text.allSatisfy { !$0.isNumber })
        // The engine's log-rank compared the suppressed group: it is replaced by the note.
        let test = try #require(doc.withClass("km-pvalue").first)
        #expect(test.text == "log-rank omitted: a group is below the minimum cell size")
        #expect(!svg.contains("p = "))
    }

    @Test func censorMarksOnePerRowWithCensoring() throws {
        let plot = try AML.plot()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        // By hand from the data: Maintained censored at 13, 28, 45, 161; Nonmaintained at 16.
        #expect(doc.withClass("km-censor", group: "Maintained").count == 4)
        #expect(doc.withClass("km-censor", group: "Nonmaintained").count == 1)
        for group in plot.groups {
            let rows = try #require(group.curve).nCensor.filter { $0 > 0 }.count
            #expect(doc.withClass("km-censor", group: group.key).count == rows)
        }
        // Each mark sits on the curve: Nonmaintained's at 16 weeks at S = 8/12 * 7/8 = 7/12.
        let frame = Frame(plot: plot, width: 800, height: 600)
        let mark = try #require(doc.withClass("km-censor", group: "Nonmaintained").first)
        let x = try #require(Double(mark.attributes["x1"] ?? ""))
        let y1 = try #require(Double(mark.attributes["y1"] ?? ""))
        let y2 = try #require(Double(mark.attributes["y2"] ?? ""))
        #expect(abs(x - frame.x(16)) < 0.006)
        #expect(abs((y1 + y2) / 2 - frame.y(7.0 / 12.0)) < 0.01)
    }

    @Test func legendShowsSizeAndMedianWithLimits() throws {
        let doc = try #require(ParsedSVG.parse(try AML.plot().svg()))
        #expect(
            doc.withClass("km-legend-entry", group: "Maintained").first?.text
                == "Maintained (n=11, median 31.0 months [95% CI 18.0-NA])")
        #expect(
            doc.withClass("km-legend-entry", group: "Nonmaintained").first?.text
                == "Nonmaintained (n=12, median 23.0 months [95% CI 8.0-NA])")
    }

    @Test func medianNotReachedAndMissingLimits() throws {
        var plot = try AML.plot()
        plot.groups[0].median = Estimate(estimate: nil, lower: nil, upper: nil)
        plot.groups[1].median = Estimate(estimate: nil, lower: 12.5, upper: nil)
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        #expect(doc.withClass("km-legend-entry", group: "Maintained").first?.text == "Maintained (n=11, median not reached)")
        #expect(
            doc.withClass("km-legend-entry", group: "Nonmaintained").first?.text
                == "Nonmaintained (n=12, median not reached [95% CI 12.5-NA])")
    }

    @Test func logRankPValueIsPrintedWhereNoCurvePasses() throws {
        let plot = try AML.plot()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let text = try #require(doc.withClass("km-pvalue").first)
        #expect(text.text == "Log-rank p = 0.065")
        // Bottom left is taken (Nonmaintained is at 9.7% until 45 months), top right is free:
        // after 48 months both curves are at 18.4% or below.
        let frame = Frame(plot: plot, width: 800, height: 600)
        let x = try #require(Double(text.attributes["x"] ?? ""))
        let y = try #require(Double(text.attributes["y"] ?? ""))
        #expect(x > frame.x(48) && y < frame.y(0.75))
        #expect(!doc.elements.contains { $0.name == "rect" && $0.attributes["fill-opacity"] != nil })
    }

    @Test(arguments: [(0.0004, "Log-rank p < 0.001"), (0.0041, "Log-rank p = 0.004"), (0.5, "Log-rank p = 0.500")])
    func pValueFormatting(p: Double, expected: String) throws {
        var plot = try AML.plot()
        plot.logRankPValue = p
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        #expect(doc.withClass("km-pvalue").first?.text == expected)
    }

    @Test func oneGroupHasNoTest() throws {
        let report = try SurvivalAnalysis.analyze(
            SurvivalData(time: AML.maintained.map(\.0), event: AML.maintained.map(\.1)))
        let plot = KaplanMeierPlot(report: report, title: "All", timeUnit: "months", yLabel: "Overall survival")
        #expect(plot.logRankPValue == nil && plot.testNote == nil)
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        #expect(doc.withClass("km-curve").count == 1)
        #expect(doc.withClass("km-pvalue").isEmpty)
    }

    @Test func hostileNamesAreTextNotMarkup() throws {
        let hostile = "<script>alert(\"x\")</script>"
        let ampersand = "A & B's \"site\" ]]> <!-- x -->"
        let plot = try KaplanMeierPlot(
            report: AML.report(extra: [hostile: AML.maintained, ampersand: AML.nonmaintained]),
            title: "Survival by <b>site</b> & \"friends\"", timeUnit: "months", yLabel: "OS <%>", suppressed: [ampersand])
        let svg = plot.svg()
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(!doc.elements.contains { $0.name == "script" || $0.name == "b" })
        #expect(doc.withClass("km-curve", group: hostile).count == 1)
        #expect(doc.withClass("km-legend-key").map(\.text).contains(hostile))
        #expect(doc.withClass("km-legend-key").map(\.text).contains(ampersand))
        #expect(doc.withClass("km-risk-label").map(\.text).contains(hostile))
        #expect(doc.withClass("km-title").first?.text == "Survival by <b>site</b> & \"friends\"")
        #expect(doc.withClass("km-ylabel").first?.text == "OS <%>")
        #expect(doc.elements.first { $0.name == "title" }?.text == "Survival by <b>site</b> & \"friends\"")
    }

    @Test func charactersXMLForbidsAreReplaced() throws {
        let key = "bad\u{01}key\u{1B}\nline"
        let plot = try KaplanMeierPlot(
            report: AML.report(extra: [key: AML.maintained]), title: "t", timeUnit: "days", yLabel: "y")
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        #expect(doc.withClass("km-curve", group: "bad\u{FFFD}key\u{FFFD}\nline").count == 1)
    }

    @Test func noNonFiniteOrExponentNumbers() throws {
        // log-log limits are NA while S = 1; Nonmaintained ends at S = 0 where every limit is NA.
        let report = try AML.report(confType: .logLog)
        var plot = KaplanMeierPlot(report: report, title: "T", timeUnit: "months", yLabel: "S")
        plot.groups[0].median = Estimate(estimate: .nan, lower: -.infinity, upper: .infinity)
        plot.confLevel = .nan
        plot.logRankPValue = .nan
        let svg = plot.svg(width: 10, height: 10)
        let lower = svg.lowercased()
        #expect(!lower.contains("nan"))
        #expect(!lower.contains("inf"))
        let doc = try #require(ParsedSVG.parse(svg))
        let numeric = ["x", "y", "x1", "y1", "x2", "y2", "width", "height"]
        for element in doc.elements {
            for name in numeric {
                guard let value = element.attributes[name] else { continue }
                #expect(Double(value)?.isFinite == true && !value.contains("e"), "\(element.name) \(name)=\(value)")
            }
            for name in ["d", "points"] {
                guard let value = element.attributes[name] else { continue }
                let numbers = value.split(whereSeparator: { $0 == " " || $0 == "," }).filter { Double($0) != nil }
                #expect(!numbers.isEmpty)
                #expect(numbers.allSatisfy { !$0.contains("e") && Double($0)!.isFinite })
            }
        }
        #expect(doc.withClass("km-curve").count == 2)
    }

    @Test func numberAtRiskByHand() throws {
        let plot = try AML.plot()
        let maintained = try #require(plot.groups[0].curve)
        let nonmaintained = try #require(plot.groups[1].curve)
        // Counted from the data: subjects whose time is >= t.
        let expectedMaintained: [(Double, Int)] = [
            (0, 11), (9, 11), (12, 10), (13, 10), (13.5, 8), (24, 6), (36, 3), (48, 2), (100, 1), (161, 1), (162, 0),
        ]
        for (t, n) in expectedMaintained { #expect(KaplanMeierPlot.numberAtRisk(maintained, at: t) == n, "t=\(t)") }
        let expectedNonmaintained: [(Double, Int)] = [(0, 12), (5, 12), (6, 10), (12, 8), (24, 5), (36, 2), (45, 1), (48, 0)]
        for (t, n) in expectedNonmaintained {
            #expect(KaplanMeierPlot.numberAtRisk(nonmaintained, at: t) == n, "t=\(t)")
        }
        // A curve whose first row is at time 0 (an event on day 0 among 4 subjects).
        let report = try SurvivalAnalysis.analyze(SurvivalData(time: [0, 2, 3, 5], event: [true, false, true, true]))
        #expect(KaplanMeierPlot.numberAtRisk(report.groups[0].curve, at: 0) == 4)
        #expect(KaplanMeierPlot.numberAtRisk(report.groups[0].curve, at: 1) == 3)
    }

    @Test func riskTableShowsCountsAtEachTick() throws {
        let doc = try #require(ParsedSVG.parse(try AML.plot().svg()))
        // Ticks every 24 up to 168 (the data end at 161); counts by hand as above.
        func counts(_ group: String) -> [String] { doc.withClass("km-risk-count", group: group).map(\.text) }
        #expect(counts("Maintained") == ["11", "6", "2", "1", "1", "1", "1", "0"])
        #expect(counts("Nonmaintained") == ["12", "5", "0", "0", "0", "0", "0", "0"])
        #expect(doc.withClass("km-risk-label").map(\.text) == ["Maintained", "Nonmaintained"])
    }

    @Test func curveStepsDownAtEachEventTime() throws {
        let plot = try AML.plot()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let frame = Frame(plot: plot, width: 800, height: 600)
        let d = try #require(doc.withClass("km-curve", group: "Maintained").first?.attributes["d"])
        // Kaplan-Meier by hand: events at 9, 13, 18, 23, 31, 34, 48 with 11, 10, 8, 7, 5, 4, 2 at risk.
        let drops: [(Double, Double)] = [
            (9, 10.0 / 11), (13, 10.0 / 11 * 9 / 10), (18, 10.0 / 11 * 9 / 10 * 7 / 8),
            (23, 10.0 / 11 * 9 / 10 * 7 / 8 * 6 / 7), (31, 10.0 / 11 * 9 / 10 * 7 / 8 * 6 / 7 * 4 / 5),
            (34, 10.0 / 11 * 9 / 10 * 7 / 8 * 6 / 7 * 4 / 5 * 3 / 4),
            (48, 10.0 / 11 * 9 / 10 * 7 / 8 * 6 / 7 * 4 / 5 * 3 / 4 * 1 / 2),
        ]
        var expected: [(Double, Double)] = [(0, 1)]
        var level = 1.0
        for (t, s) in drops {
            expected.append((t, level))  // horizontal at the old level ...
            expected.append((t, s))  // ... then down
            level = s
        }
        expected.append((161, level))  // extended to the last (censored) time
        let vertices = pathVertices(d)
        try #require(vertices.count == expected.count)
        for (v, e) in zip(vertices, expected) {
            #expect(abs(v.x - frame.x(e.0)) < 0.006, "x at t=\(e.0)")
            #expect(abs(v.y - frame.y(e.1)) < 0.006, "y at t=\(e.0): S=\(e.1)")
        }
    }

    @Test func bandStopsWhereLimitsAreUndefined() throws {
        let plot = try AML.plot()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let frame = Frame(plot: plot, width: 800, height: 600)
        func xs(_ group: String) throws -> [Double] {
            let points = try #require(doc.withClass("km-band", group: group).first?.attributes["points"])
            return points.split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }
        }
        // Nonmaintained reaches S = 0 at 45 (log limits NA there): the band ends at 45.
        #expect(abs((try xs("Nonmaintained").max() ?? 0) - frame.x(45)) < 0.006)
        // Maintained's last row (161, censored, S = 0.184) has limits: the band reaches 161.
        #expect(abs((try xs("Maintained").max() ?? 0) - frame.x(161)) < 0.006)
        #expect(abs((try xs("Maintained").min() ?? -1) - frame.x(0)) < 0.006)
    }

    @Test func manyGroupsOnASmallCanvasStayInside() throws {
        // Nine groups (the palette repeats, dashed) with long names, times in days.
        var extra: [String: [(Double, Bool)]] = [:]
        for g in 0..<7 {
            extra["Site \(g) with a rather long hospital name"] = AML.nonmaintained.map { ($0.0 * 30 + Double(g) * 40, $0.1) }
        }
        let report = try AML.report(extra: extra)
        let plot = KaplanMeierPlot(
            report: report, title: "Overall survival by site", timeUnit: "days", timeOrigin: "intracranial diagnosis",
            yLabel: "Overall survival")
        let svg = plot.svg(width: 480, height: 360)
        saveForInspection(svg, name: "km-many.svg")
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(doc.withClass("km-curve").count == 9)
        let root = try #require(doc.elements.last)
        let width = try #require(Double(root.attributes["width"] ?? ""))
        let height = try #require(Double(root.attributes["height"] ?? ""))
        #expect(width == 480)
        #expect(height >= 360)  // grown so that the plot area keeps a usable height
        let frame = Frame(plot: plot, width: 480, height: 360)
        #expect(frame.plotBottom - frame.plotTop >= Frame.minPlotHeight - 0.001)
        #expect(frame.legendBaseline(8) + Double(frame.legendLines[8].count - 1) * Frame.legendLine + 8 < frame.plotTop)
        #expect(frame.plotBottom + 18 < frame.xLabelBaseline - 12)
        #expect(frame.xLabelBaseline + 14 < frame.riskHeadingBaseline)
        #expect(frame.riskRowBaseline(8) <= height - Frame.pad)
        for text in doc.elements where text.name == "text" {
            let x = try #require(Double(text.attributes["x"] ?? ""))
            let y = try #require(Double(text.attributes["y"] ?? ""))
            #expect(x >= 0 && x <= width && y >= 0 && y <= height, "\(text.text) at \(x), \(y)")
        }
        // Legend entries too wide for the canvas are wrapped, every line within it.
        for i in plot.groups.indices {
            let lines = frame.legendLines[i]
            #expect(frame.legendKeys[i] == plot.groups[i].key)
            #expect(SVGText.width(frame.legendKeys[i], size: 13, bold: true) + SVGText.width(lines[0], size: 13) <= width - 2 * Frame.pad - 34)
            #expect(lines.dropFirst().allSatisfy { SVGText.width($0, size: 13) <= width - 2 * Frame.pad - 34 })
            #expect(
                (frame.legendKeys[i] + lines.joined()).split(separator: " ").joined(separator: " ")
                    == plot.groups[i].key + " " + plot.legendDetail(plot.groups[i]))
        }
        let site0 = try #require(doc.withClass("km-legend-entry", group: "Site 0 with a rather long hospital name").first)
        #expect(site0.text.contains("median 690.0 days [95% CI"))
        // Row labels are cut to fit the margin.
        #expect(doc.withClass("km-risk-label").contains { $0.text.hasSuffix("\u{2026}") })
        #expect(svg.contains("stroke-dasharray=\"8 4\""))
        #expect(doc.withClass("km-xlabel").first?.text == "Time since intracranial diagnosis (days)")
    }

    @Test func bandSegmentsFollowDefinedLimits() {
        // Hand-made rows: a censoring while S = 1 (log-log limits NA there), two events with
        // limits, then S = 0 (limits NA).
        func table(lower: [Double], upper: [Double]) -> CurveTable {
            CurveTable(
                time: [2, 3, 5, 7], nRisk: [5, 4, 3, 1], nEvent: [0, 1, 1, 1], nCensor: [1, 0, 0, 0],
                survival: [1, 0.8, 0.6, 0], stdErr: [0, 0.1, 0.1, .nan], lower: lower, upper: upper)
        }
        typealias Segment = Steps.BandSegment
        let full = Steps(table(lower: [.nan, 0.5, 0.3, .nan], upper: [.nan, 0.95, 0.85, .nan])).bandSegments()
        #expect(
            full == [
                Segment(from: 0, to: 2, lower: 1, upper: 1), Segment(from: 2, to: 3, lower: 1, upper: 1),
                Segment(from: 3, to: 5, lower: 0.5, upper: 0.95), Segment(from: 5, to: 7, lower: 0.3, upper: 0.85),
            ])
        // Limits undefined while S > 0: the band stops there, as R's lines stop at NA.
        let stopped = Steps(table(lower: [.nan, 0.5, .nan, 0], upper: [.nan, 0.95, .nan, 0.1])).bandSegments()
        #expect(
            stopped == [
                Segment(from: 0, to: 2, lower: 1, upper: 1), Segment(from: 2, to: 3, lower: 1, upper: 1),
                Segment(from: 3, to: 5, lower: 0.5, upper: 0.95),
            ])
    }

    @Test func timeAxisSteps() {
        #expect(TimeAxis.ticks(maxTime: 161, unit: "months") == (24, 168))
        #expect(TimeAxis.ticks(maxTime: 60, unit: "months") == (12, 60))
        #expect(TimeAxis.ticks(maxTime: 30, unit: "months") == (6, 30))
        #expect(TimeAxis.ticks(maxTime: 1000, unit: "days") == (180, 1080))
        #expect(TimeAxis.ticks(maxTime: 3650, unit: "days") == (730, 3650))
        #expect(TimeAxis.ticks(maxTime: 3660, unit: "days") == (730, 4380))
        #expect(TimeAxis.ticks(maxTime: 0.45, unit: "months") == (0.1, 0.5))
        #expect(TimeAxis.ticks(maxTime: 0, unit: "months") == (1, 1))
        #expect(TimeAxis.ticks(maxTime: 17, unit: "weeks (approx.)") == (4, 20))
        #expect(TimeAxis.ticks(maxTime: 730, unit: "units") == (100, 800))
        #expect(TimeAxis.values(step: 24, end: 168) == [0, 24, 48, 72, 96, 120, 144, 168])
    }

    @Test func fixedDecimals() {
        #expect(SVGText.fixed(1e-5, 2) == "0.00")
        #expect(SVGText.fixed(-0.001, 2) == "0.00")
        #expect(SVGText.fixed(-2.5, 1) == "-2.5")
        #expect(SVGText.fixed(3.14159, 2) == "3.14")
        #expect(SVGText.fixed(0.065339, 3) == "0.065")
        #expect(SVGText.fixed(.nan, 2) == "0.00")
        #expect(SVGText.fixed(.infinity, 1) == "0.0")
        #expect(SVGText.fixed(123456.789, 0) == "123457")
        #expect(SVGText.tick(0.30000000000000004, step: 0.1) == "0.3")
    }
}
