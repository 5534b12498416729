import Foundation
import JSON
import Testing

/// `icmm analyze --competing` (the real binary) on the CSV files cmprsk read, against the
/// `competing_risks` objects `Tests/SurvivalTests/Fixtures/competing/make_competing_fixtures.R`
/// wrote (cmprsk 2.2-11: cuminc, timepoints, crr). Tolerances of issue 10: 1e-6 incidence,
/// 1e-5 variances (and the limits computed from them) and Gray's test, 1e-4 Fine-Gray.
@Suite struct CLIAnalyzeCompetingTests {
    static let directory = repositoryRoot + "/Tests/SurvivalTests/Fixtures/competing"

    static func cases() throws -> [JSONValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/cases.json"))
        return try JSONValue.parse(data).arrayValue ?? []
    }

    static func caseIDs() throws -> [String] { try cases().compactMap { $0["id"]?.stringValue } }

    /// The command line for a fixture case, built from the columns the R script used.
    static func arguments(_ fixture: JSONValue) -> [String] {
        let columns = fixture["columns"]
        var arguments = [
            "analyze", "--csv", directory + "/" + (fixture["csv"]?.stringValue ?? ""), "--competing",
            "--time", columns?["time"]?.stringValue ?? "", "--event", columns?["event"]?.stringValue ?? "",
        ]
        if let group = columns?["group"]?.stringValue { arguments += ["--group", group] }
        func list(_ key: String) -> String {
            (columns?[key]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
        }
        if !list("numeric").isEmpty { arguments += ["--fine-gray", list("numeric")] }
        if !list("categorical").isEmpty { arguments += ["--fine-gray-factor", list("categorical")] }
        let times = (fixture["times"]?.arrayValue ?? []).compactMap(\.numberValue).map { "\($0)" }
        if !times.isEmpty { arguments += ["--times", times.joined(separator: ",")] }
        if let level = fixture["conf_level"]?.numberValue { arguments += ["--conf-level", "\(level)"] }
        return arguments
    }

    static func tolerance(_ path: String) -> Double {
        if path.hasPrefix("$.fine_gray") { return 1e-4 }
        if path.hasPrefix("$.gray_test") || path.hasSuffix("variance") { return 1e-5 }
        // Limits are functions of the variance, so they carry its tolerance.
        if path.hasSuffix("lower") || path.hasSuffix("upper") { return 1e-5 }
        return 1e-6
    }

    /// Every member of both trees, numbers within the relative tolerance of their path.
    static func differences(_ actual: JSONValue, _ expected: JSONValue, path: String = "$") -> [String] {
        switch (actual, expected) {
        case (.null, .null): return []
        case (.number(let a), .number(let e)):
            let floor = path.hasSuffix("p_value") ? 1e-300 : 1e-12
            return abs(a - e) <= max(floor, tolerance(path) * max(abs(a), abs(e))) ? [] : ["\(path): \(a) vs R \(e)"]
        case (.string(let a), .string(let e)): return a == e ? [] : ["\(path): \"\(a)\" vs R \"\(e)\""]
        case (.array(let a), .array(let e)):
            if a.count != e.count { return ["\(path): \(a.count) items vs R \(e.count)"] }
            return zip(a, e).enumerated().flatMap { i, pair in differences(pair.0, pair.1, path: "\(path)[\(i)]") }
        case (.object(let a), .object(let e)):
            return Set(a.keys).union(e.keys).sorted().flatMap { key -> [String] in
                guard let x = a[key], let y = e[key] else { return ["\(path).\(key): only on one side"] }
                return differences(x, y, path: "\(path).\(key)")
            }
        default: return ["\(path): \(actual) vs R \(expected)"]
        }
    }

    @Test(arguments: try caseIDs())
    func competingRisksMatchCmprsk(_ id: String) throws {
        let fixture = try #require(try Self.cases().first { $0["id"]?.stringValue == id })
        let (status, output, errors) = try runICMM(Self.arguments(fixture))
        try #require(status == 0, "\(errors)")
        #expect(errors.isEmpty)
        let document = try JSONValue.parse(output)
        #expect(Set(document.objectValue?.keys.map { $0 } ?? []) == ["competing_risks", "conf_level", "dropped_rows"])
        #expect(document["dropped_rows"] == 0)
        #expect(document["conf_level"]?.numberValue == fixture["conf_level"]?.numberValue)
        let actual = try #require(document["competing_risks"])
        let expected = try #require(fixture["competing_risks"])
        // The fixtures cover groups and no groups, with and without Fine-Gray: a comparison
        // that found nothing to compare would prove nothing.
        #expect((expected["groups"]?.arrayValue?.count ?? 0) > 0)
        #expect((actual["gray_test"] == nil) == (expected["gray_test"] == nil))
        #expect((actual["fine_gray"] == nil) == (expected["fine_gray"] == nil))
        let diffs = Self.differences(actual, expected)
        #expect(diffs.isEmpty, "\(diffs.count) differences, first: \(diffs.prefix(15).joined(separator: "\n"))")
    }

    /// The pretty form is the same document (the option only indents).
    @Test func prettyOutputIsTheSameDocument() throws {
        let fixture = try #require(try Self.cases().first { $0["id"]?.stringValue == "pbc" })
        let (s1, compact, _) = try runICMM(Self.arguments(fixture))
        let (s2, pretty, _) = try runICMM(Self.arguments(fixture) + ["--pretty"])
        #expect(s1 == 0 && s2 == 0)
        #expect(pretty.contains("\n  \"competing_risks\" : {"))
        #expect(try JSONValue.parse(compact) == JSONValue.parse(pretty))
    }

    /// Bad input fails with a non-zero exit, nothing on stdout and a message on stderr that says
    /// what is wrong, as the incidence endpoint's 422 does (same engine error descriptions).
    @Test func badInputIsRefusedNamingTheCause() throws {
        let pbc = Self.directory + "/pbc.csv"
        let base = ["analyze", "--csv", pbc, "--time", "time", "--event", "status", "--competing"]

        // No transplant (cause "1") with edema 1: crr does not converge (the R script notes it).
        let (s1, o1, e1) = try runICMM(base + ["--group", "edema", "--fine-gray-factor", "edema"])
        #expect(s1 != 0 && o1.isEmpty)
        #expect(e1.contains("Fine-Gray model for cause '1' did not converge"), "\(e1)")

        // A covariate with a single value is named.
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("competing-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: csv) }
        try "t,ev,g,site,x\n1,1,a,A,1\n2,0,a,A,1\n3,2,b,A,1\n4,1,b,A,1\n5,2,a,A,1\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let small = ["analyze", "--csv", csv.path, "--time", "t", "--event", "ev", "--competing"]
        let (s2, o2, e2) = try runICMM(small + ["--fine-gray-factor", "site"])
        #expect(s2 != 0 && o2.isEmpty && e2.contains("'site'") && e2.contains("no variation"), "\(e2)")
        let (s3, o3, e3) = try runICMM(small + ["--fine-gray", "x"])
        #expect(s3 != 0 && o3.isEmpty && e3.contains("'x'") && e3.contains("no variation"), "\(e3)")

        // Options of the Kaplan-Meier/Cox report are refused, naming the option.
        let (s4, o4, e4) = try runICMM(base + ["--cox", "logbili"])
        #expect(s4 != 0 && o4.isEmpty && e4.contains("--cox") && e4.contains("--competing"), "\(e4)")
        let (s5, _, e5) = try runICMM(base + ["--conf-type", "log"])
        #expect(s5 != 0 && e5.contains("--conf-type"))
        let (s6, _, e6) = try runICMM(["analyze", "--csv", pbc, "--time", "time", "--event", "status", "--fine-gray", "logbili"])
        #expect(s6 != 0 && e6.contains("--competing"))
        // Without --competing a cause column is not an event indicator: the usual CSV error.
        let (s7, _, e7) = try runICMM(["analyze", "--csv", Self.directory + "/mgus2.csv", "--time", "time", "--event", "event"])
        #expect(s7 != 0 && e7.contains("'event'"))
        // An unknown column is named.
        let (s8, _, e8) = try runICMM(base + ["--group", "stage"])
        #expect(s8 != 0 && e8.contains("'stage'"))
    }

    /// A cause without events is reported with zero events, not an error: a cause absent from one
    /// group, and a cause declared with --causes that no row has (as the incidence endpoint declares
    /// death and progression): zero incidence, a null Gray statistic and a Fine-Gray entry without
    /// terms, each with a reason.
    @Test func aCauseWithoutEventsIsReportedWithZeroEvents() throws {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("competing-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: csv) }
        try "t,ev,g,age\n1,death,a,50\n2,0,a,61\n3,death,a,72\n4,progression,b,45\n5,0,b,66\n6,progression,b,58\n7,death,b,70\n8,death,a,49\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let (status, output, errors) = try runICMM([
            "analyze", "--csv", csv.path, "--time", "t", "--event", "ev", "--group", "g", "--competing",
            "--times", "2,5", "--fine-gray", "age", "--causes", "relapse",
        ])
        try #require(status == 0, "\(errors)")
        let report = try #require(try JSONValue.parse(output)["competing_risks"])
        #expect(report["causes"] == ["death", "progression", "relapse"])
        let aProgression = try #require(
            report["groups"]?.arrayValue?.first { $0["key"] == "a" && $0["cause"] == "progression" })
        #expect(aProgression["events"] == 0 && aProgression["n"] == 4)
        #expect(aProgression["curve"]?.arrayValue?.isEmpty == true)
        #expect(aProgression["at"]?.arrayValue?.map { $0["estimate"] } == [0, 0])
        let relapse = report["groups"]?.arrayValue?.filter { $0["cause"] == "relapse" } ?? []
        #expect(relapse.count == 2 && relapse.allSatisfy { $0["events"] == 0 && $0["curve"] == [] })
        let gray = try #require(report["gray_test"]?.arrayValue?.first { $0["cause"] == "relapse" })
        #expect(gray["statistic"] == .null && gray["p_value"] == .null && gray["reason"]?.stringValue != nil)
        let fineGray = try #require(report["fine_gray"]?.arrayValue?.first { $0["cause"] == "relapse" })
        #expect(fineGray["terms"] == [] && fineGray["events"] == 0 && fineGray["reason"]?.stringValue != nil)
        let death = try #require(report["fine_gray"]?.arrayValue?.first { $0["cause"] == "death" })
        #expect(death["terms"]?.arrayValue?.count == 1 && death["events"] == 4)
    }
}
