import Foundation
import Survival
import Testing

@testable import Reports

/// A Cox model on a small data set with a numeric covariate and a three-level factor.
enum ForestData {
    static let time: [Double] = [5, 8, 9, 12, 13, 13, 18, 23, 27, 28, 30, 31, 33, 34, 43, 45, 45, 48, 52, 60, 61, 70, 75, 80]
    static let event: [Bool] = [true, true, true, true, true, false, true, true, true, false, true, true, true, true, true, true, false, true, true, false, true, true, false, true]
    static let age: [Double] = [71, 65, 80, 59, 62, 77, 55, 68, 49, 73, 61, 58, 66, 52, 60, 47, 69, 57, 50, 63, 45, 54, 41, 48]
    static let site: [String] = ["brain", "dura", "csf", "brain", "csf", "dura", "brain", "csf", "dura", "brain", "csf", "dura",
                                 "brain", "csf", "dura", "brain", "dura", "csf", "brain", "dura", "csf", "brain", "dura", "csf"]

    static func report() throws -> SurvivalReport {
        try SurvivalAnalysis.analyze(
            SurvivalData(time: time, event: event, covariates: [.numeric("age", age), .categorical("site", site)]),
            options: AnalysisOptions(phTest: true))
    }

    static func levels() -> [ForestPlot.Level] {
        ["brain", "csf", "dura"].map { level in
            let members = site.indices.filter { site[$0] == level }
            return ForestPlot.Level(name: level, n: members.count, events: members.filter { event[$0] }.count)
        }
    }

    static func plot() throws -> ForestPlot {
        ForestPlot(
            cox: try report().cox!, covariates: [.init(name: "age"), .init(name: "site", levels: levels())],
            title: "Hazard ratios for death", confLevel: 0.95)
    }
}

@Suite struct ForestPlotTests {

    @Test func forestIsWellFormedWithOneMarkerPerTermAndAReferencePerFactor() throws {
        let plot = try ForestData.plot()
        let svg = plot.svg()
        saveForInspection(svg, name: "forest.svg")
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(doc.elements.last?.name == "svg")
        #expect(doc.withClass("forest-hr").count == 3)  // age, sitecsf, sitedura
        #expect(doc.withClass("forest-ci").count == 3)
        #expect(doc.withClass("forest-reference").count == 1)
        #expect(doc.withClass("forest-covariate").map(\.text) == ["site"])
        #expect(doc.withClass("forest-term").map(\.text) == ["age", "  brain (reference)", "  csf", "  dura"])
        // n / events per level, counted by hand from the data (every csf subject has the event).
        let counts = doc.withClass("forest-counts").map(\.text)
        #expect(counts == ["24 / 19", "", "8 / 7", "8 / 8", "8 / 4"])
        #expect(!doc.elements.contains { ["script", "image", "use", "foreignObject", "style"].contains($0.name) })
    }

    @Test func hazardRatiosAndPHTestAreThoseOfTheReport() throws {
        let plot = try ForestData.plot()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let texts = doc.withClass("forest-hr-text").map(\.text)
        for (text, term) in zip(texts, plot.cox.terms) {
            #expect(text == "\(ForestPlot.number(term.hazardRatio)) (\(ForestPlot.number(term.lower))-\(ForestPlot.number(term.upper)))")
        }
        let ph = try #require(plot.cox.phTest)
        let phTexts = doc.withClass("forest-ph").map(\.text)
        #expect(phTexts == ph.terms.map { SVGText.pValueColumn($0.pValue!) })
        #expect(doc.withClass("forest-footer").first?.text.contains("global PH test") == true)
    }

    /// Markers sit on a log axis: HR = 1 on the dashed line, HR and its limits in order, and
    /// equal ratios equally far from 1 on both sides.
    @Test func markersAreOnALogAxis() throws {
        var plot = try ForestData.plot()
        plot.cox.terms[0].hazardRatio = 2
        plot.cox.terms[0].lower = 1
        plot.cox.terms[0].upper = 4
        plot.cox.terms[1].hazardRatio = 0.5
        plot.cox.terms[1].lower = 0.25
        plot.cox.terms[1].upper = 1
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let null = try #require(doc.withClass("forest-null").first.flatMap { Double($0.attributes["x1"]!) })
        let markers = doc.withClass("forest-hr").map { Double($0.attributes["x"]!)! + 4.5 }
        #expect(abs((markers[0] - null) + (markers[1] - null)) < 0.02)
        let ci = doc.withClass("forest-ci")
        #expect(abs(Double(ci[0].attributes["x1"]!)! - null) < 0.02)
        #expect(abs(Double(ci[1].attributes["x2"]!)! - null) < 0.02)
        #expect(Double(ci[0].attributes["x2"]!)! > markers[0])
    }

    @Test func nonFiniteValuesPrintAsNAAndDrawNothingBroken() throws {
        var plot = try ForestData.plot()
        plot.cox.terms[0].hazardRatio = .infinity
        plot.cox.terms[0].upper = .nan
        plot.cox.terms[1].lower = 0
        plot.confLevel = .nan
        let svg = plot.svg(width: 10)
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(doc.withClass("forest-hr-text").first?.text.contains("NA") == true)
    }

    @Test func hostileNamesAreText() throws {
        var plot = try ForestData.plot()
        plot.covariates[0].name = "<script>&\"'"
        plot.cox.terms[0].term = "<script>&\"'"
        plot.note = "left out: <b>x</b>"
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        #expect(!doc.elements.contains { $0.name == "script" || $0.name == "b" })
        #expect(doc.withClass("forest-term").first?.text == "<script>&\"'")
        #expect(doc.withClass("forest-note").first?.text == "left out: <b>x</b>")
    }
}
