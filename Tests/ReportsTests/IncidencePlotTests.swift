import Foundation
import Survival
import Testing

@testable import Reports

/// A small competing-risks data set: progression and death by localization.
enum IncidenceData {
    static let time: [Double] = [2, 3, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 22, 25, 27, 30, 31, 34]
    static let cause = ["progression", "death", "0", "progression", "progression", "0", "death", "progression", "0", "death",
                        "progression", "death", "progression", "0", "progression", "0", "death", "progression", "0", "0"]
    static let group = ["brain", "dura", "brain", "dura", "brain", "dura", "brain", "dura", "brain", "dura",
                        "brain", "dura", "brain", "dura", "brain", "dura", "brain", "dura", "brain", "dura"]

    static func report() throws -> CompetingRisksReport {
        try CompetingRisks.analyze(CompetingRisksData(time: time, cause: cause, group: group))
    }

    static func exitTimes() -> [String: [Double]] {
        Dictionary(grouping: time.indices, by: { group[$0] }).mapValues { $0.map { time[$0] } }
    }

    static func plot(suppressed: Set<String> = []) throws -> IncidencePlot {
        IncidencePlot(
            report: try report(), exitTimes: exitTimes(), confLevel: 0.95, title: "Progression with death as a competing event",
            timeUnit: "months", timeOrigin: "intracranial diagnosis", suppressed: suppressed)
    }
}

@Suite struct IncidencePlotTests {

    @Test func plotHasOneCurveAndBandPerGroupAndCause() throws {
        let svg = try IncidenceData.plot().svg()
        saveForInspection(svg, name: "incidence.svg")
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(doc.elements.last?.name == "svg")
        let curves = doc.withClass("cif-curve")
        #expect(curves.count == 4)
        #expect(Set(curves.map { "\($0.attributes["data-group"]!)/\($0.attributes["data-cause"]!)" })
            == ["brain/death", "brain/progression", "dura/death", "dura/progression"])
        // The same group has one colour; causes differ by dash pattern.
        let brain = curves.filter { $0.attributes["data-group"] == "brain" }
        #expect(Set(brain.map { $0.attributes["stroke"]! }).count == 1)
        #expect(Set(brain.map { $0.attributes["stroke-dasharray"] ?? "solid" }).count == 2)
        #expect(doc.withClass("cif-band").count == 4)
        #expect(doc.withClass("cif-legend-entry").count == 4)
        #expect(doc.withClass("cif-pvalue").count == 2)
        #expect(doc.withClass("cif-pvalue").allSatisfy { $0.text.hasPrefix("Gray's test, ") })
    }

    /// The curve rises at each event time to the estimate and runs flat to the last follow-up.
    @Test func curveStepsUpToTheEstimates() throws {
        let plot = try IncidenceData.plot()
        let report = try IncidenceData.report()
        let doc = try #require(ParsedSVG.parse(plot.svg()))
        let path = try #require(doc.withClass("cif-curve").first {
            $0.attributes["data-group"] == "brain" && $0.attributes["data-cause"] == "progression"
        })
        let vertices = pathVertices(path.attributes["d"]!)
        let group = try #require(report.groups.first { $0.key == "brain" && $0.cause == "progression" })
        // M, then H + V per jump, then the final H.
        #expect(vertices.count == 1 + 2 * group.curve.count + 1)
        let ys = stride(from: 2, to: vertices.count - 1, by: 2).map { vertices[$0].y }
        #expect(zip(ys, ys.dropFirst()).allSatisfy { $0.0 > $0.1 })  // rising: y decreases
        #expect(vertices.last!.x > vertices[vertices.count - 2].x)
    }

    @Test func riskTableCountsByHand() throws {
        let doc = try #require(ParsedSVG.parse(try IncidenceData.plot().svg()))
        let brain = doc.withClass("cif-risk-count", group: "brain").map { Int($0.text)! }
        // Ticks 0, 6, 12, ... months (step 6 for 34 months): brain exit times 2 3 6 9 12 15 18 22 27 31.
        #expect(brain.first == 10)
        #expect(brain.count >= 6)
        #expect(Array(brain.prefix(6)) == [10, 8, 6, 4, 2, 1])
    }

    @Test func suppressedGroupHasNoCurveAndNoTest() throws {
        let doc = try #require(ParsedSVG.parse(try IncidenceData.plot(suppressed: ["dura"]).svg()))
        #expect(doc.withClass("cif-curve").allSatisfy { $0.attributes["data-group"] == "brain" })
        #expect(doc.withClass("cif-band").allSatisfy { $0.attributes["data-group"] == "brain" })
        #expect(doc.withClass("cif-risk-suppressed").count == 1)
        #expect(doc.withClass("cif-risk-count", group: "dura").isEmpty)
        #expect(doc.withClass("cif-pvalue").map(\.text) == ["Gray's test omitted: a group is below the minimum cell size"])
        #expect(doc.withClass("cif-legend-entry").filter { $0.text.contains("suppressed") }.count == 2)
    }

    @Test func noNonFiniteNumbersAndHostileNamesAreText() throws {
        var plot = try IncidenceData.plot()
        plot.curves[0].key = "<a href='x'>"
        plot.curves[0].points?[0].upper = nil
        plot.confLevel = .infinity
        let svg = plot.svg(width: 10, height: 10)
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        let doc = try #require(ParsedSVG.parse(svg))
        #expect(!doc.elements.contains { $0.name == "a" })
        for element in doc.elements {
            for name in ["x", "y", "x1", "y1", "x2", "y2", "width", "height"] {
                guard let value = element.attributes[name] else { continue }
                #expect(Double(value)?.isFinite == true && !value.contains("e"), "\(element.name) \(name)=\(value)")
            }
        }
    }
}
