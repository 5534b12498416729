import Foundation
import JSON
import TestSupport
import Testing

/// `GET /v1/cohorts/dataset.csv` round-trips through R: the committed `dataset.csv` is what
/// make_cohort_fixtures.R derives from the same cases, and the script checks that R's `read.csv`
/// of it gives the same survival as the cases. Here the service's export must equal that file.
@Suite struct CohortDatasetFixtureTests {
    /// Rows of a CSV as cells, quotes removed (values here never contain commas or quotes).
    static func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).map { cell in
                cell.hasPrefix("\"") && cell.hasSuffix("\"") && cell.count >= 2 ? String(cell.dropFirst().dropLast()) : String(cell)
            }
        }
    }

    @Test func theServicesDatasetEqualsTheOneRReadsBack() throws {
        let (service, analyst) = try CohortFixtureTests.serviceWithCases()
        let response = try service.client.get("/v1/cohorts/dataset.csv?endpoint=os&origin=ic_diagnosis", headers: [analyst])
        #expect(response.status == 200)
        let exported = Self.rows(response.text)
        let reference = Self.rows(try String(contentsOfFile: CohortFixtureTests.directory + "/dataset.csv", encoding: .utf8))
        #expect(exported.first == reference.first, "the same columns, in the same order")
        // Both are in time order; within a time, order rows the same way before comparing.
        func sorted(_ rows: ArraySlice<[String]>) -> [[String]] {
            rows.sorted { a, b in
                let (ta, tb) = (Double(a[0]) ?? 0, Double(b[0]) ?? 0)
                return ta != tb ? ta < tb : a.dropFirst().joined(separator: ",") < b.dropFirst().joined(separator: ",")
            }
        }
        let mine = sorted(exported.dropFirst())
        let theirs = sorted(reference.dropFirst())
        #expect(mine.count == 227 && theirs.count == 227)
        var differences: [String] = []
        for (index, (a, b)) in zip(mine, theirs).enumerated() {
            guard a.count == b.count else {
                differences.append("row \(index): \(a.count) vs \(b.count) cells")
                continue
            }
            for (column, (x, y)) in zip(a, b).enumerated() where x != y {
                if let u = Double(x), let v = Double(y), abs(u - v) <= 1e-12 * max(abs(v), 1) { continue }
                differences.append("row \(index) \(reference[0][column]): \(x) vs \(y)")
            }
        }
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }
}
