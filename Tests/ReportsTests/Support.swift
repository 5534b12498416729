import Foundation
import Survival
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Reports

/// R's `aml` data set (survival package): weeks to relapse by maintenance chemotherapy.
enum AML {
    static let maintained: [(Double, Bool)] = [
        (9, true), (13, true), (13, false), (18, true), (23, true), (28, false), (31, true), (34, true),
        (45, false), (48, true), (161, false),
    ]
    static let nonmaintained: [(Double, Bool)] = [
        (5, true), (5, true), (8, true), (8, true), (12, true), (16, false), (23, true), (27, true),
        (30, true), (33, true), (43, true), (45, true),
    ]

    /// The analysis of `aml` by group, plus any extra groups of (time, event) subjects.
    static func report(
        extra: [String: [(Double, Bool)]] = [:], confType: ConfidenceType = .log
    ) throws -> SurvivalReport {
        var rows = maintained.map { ($0.0, $0.1, "Maintained") } + nonmaintained.map { ($0.0, $0.1, "Nonmaintained") }
        for (key, subjects) in extra.sorted(by: { $0.key < $1.key }) { rows += subjects.map { ($0.0, $0.1, key) } }
        return try SurvivalAnalysis.analyze(
            SurvivalData(time: rows.map(\.0), event: rows.map(\.1), group: rows.map(\.2)),
            options: AnalysisOptions(confType: confType))
    }

    static func plot(suppressed: Set<String> = [], extra: [String: [(Double, Bool)]] = [:]) throws -> KaplanMeierPlot {
        KaplanMeierPlot(
            report: try report(extra: extra), title: "Time to relapse by maintenance (aml)", timeUnit: "months",
            timeOrigin: "randomization", yLabel: "Relapse-free survival", suppressed: suppressed)
    }
}

/// The elements of a parsed XML document, in document order of their end tags.
struct ParsedSVG {
    struct Element {
        var name: String
        var attributes: [String: String]
        /// All character data inside the element, descendants included.
        var text: String
    }

    var elements: [Element]

    /// Parses `svg`; records an issue and returns nil when the document is not well-formed.
    static func parse(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) -> ParsedSVG? {
        let collector = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        let ok = parser.parse()
        if !ok {
            Issue.record(
                "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown") at line \(parser.lineNumber)",
                sourceLocation: sourceLocation)
            return nil
        }
        return ParsedSVG(elements: collector.finished)
    }

    func withClass(_ cls: String) -> [Element] {
        elements.filter { ($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(cls)) }
    }

    func withClass(_ cls: String, group: String) -> [Element] {
        withClass(cls).filter { $0.attributes["data-group"] == group }
    }

    final class Collector: NSObject, XMLParserDelegate {
        var open: [Element] = []
        var finished: [Element] = []

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            open.append(Element(name: elementName, attributes: attributeDict, text: ""))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            for i in open.indices { open[i].text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            if let element = open.popLast() { finished.append(element) }
        }
    }
}

/// The vertices of a path made of absolute M, H, V and L commands.
func pathVertices(_ d: String) -> [(x: Double, y: Double)] {
    let tokens = d.split(separator: " ").map(String.init)
    var points: [(x: Double, y: Double)] = []
    var x = 0.0, y = 0.0
    var i = 0
    while i < tokens.count {
        switch tokens[i] {
        case "M", "L":
            x = Double(tokens[i + 1]) ?? .nan
            y = Double(tokens[i + 2]) ?? .nan
            i += 3
        case "H":
            x = Double(tokens[i + 1]) ?? .nan
            i += 2
        case "V":
            y = Double(tokens[i + 1]) ?? .nan
            i += 2
        default:
            Issue.record("unexpected path token \(tokens[i])")
            return points
        }
        points.append((x, y))
    }
    return points
}

/// Writes the document to `$KM_PLOT_DIR/name` when that variable is set (for looking at the
/// rendering with `rsvg-convert`); does nothing otherwise.
func saveForInspection(_ svg: String, name: String) {
    guard let dir = ProcessInfo.processInfo.environment["KM_PLOT_DIR"] else { return }
    try? svg.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
}
