import Foundation
import Testing

@testable import Survival
import TestSupport

/// `icmm analyze`'s two-thread paths give what the one-thread paths give, bit for bit: the CSV
/// read in two halves, the log-rank family from one pass, the Cox model fitted beside the curves.
@Suite struct ParallelTests {
    let columns = CSVColumns(time: "t", event: "e", group: "g", numeric: ["age"], categorical: ["sex"])

    /// A CSV of about 1.5 MB (past the two-halves threshold) with the forms the reader accepts:
    /// CRLF, bare CR and LF line ends, blank lines, spaces, NA and empty values, true/false.
    static func largeCSV(rows: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var text = "t,e,g,age,sex,unused\n"
        let ends = ["\n", "\r\n", "\r"]
        for i in 0..<rows {
            let t = Double(random.next() % 100_000) / 1000
            let e = ["1", "0", "true", "FALSE", " 1 "][Int(random.next() % 5)]
            let g = ["a", "b", "c", " b", "NA"][Int(random.next() % 5)]
            let age = random.next() % 50 == 0 ? "" : String(Double(random.next() % 9000) / 100 + 20)
            let sex = random.next() % 2 == 0 ? "male" : "female"
            text += "\(t),\(e),\(g),\(age),\(sex),x\(i)" + ends[Int(random.next() % 3)]
            if random.next() % 1000 == 0 { text += "\n" }
        }
        return Array(text.utf8)
    }

    func read(_ bytes: [UInt8], parallel: Bool) -> Result<CSVInput, SurvivalError> {
        Result { () throws(SurvivalError) in
            try bytes.withUnsafeBufferPointer { (b) throws(SurvivalError) in
                try SurvivalCSV.read(bytes: b, columns: columns, parallel: parallel)
            }
        }
    }

    @Test func twoHalvesReadAsOneReader() throws {
        let bytes = Self.largeCSV(rows: 50_000, seed: 1)
        #expect(bytes.count > 1 << 20)
        let one = try read(bytes, parallel: false).get()
        let two = try read(bytes, parallel: true).get()
        #expect(one.data.time.count > 30_000)
        #expect(one.data.time.map(\.bitPattern) == two.data.time.map(\.bitPattern))
        #expect(one.data.event == two.data.event)
        #expect(one.data.group == two.data.group)
        #expect(one.data.covariates == two.data.covariates)
        #expect(one.droppedRows == two.droppedRows)
        #expect(one.droppedRows > 0)
    }

    /// The first error in the file is reported, with its line number, wherever it is.
    @Test func twoHalvesReportTheFirstErrorWithItsLine() throws {
        let good = Self.largeCSV(rows: 50_000, seed: 2)
        let text = String(decoding: good, as: UTF8.self)
        // Lines as the reader counts them (a CRLF is one line end, a bare CR is one).
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func file(replacing changes: [Int: String]) -> [UInt8] {
            var edited = lines
            for (index, line) in changes { edited[index] = line }
            return Array(edited.joined(separator: "\n").utf8)
        }
        let late = lines.count * 3 / 4, early = lines.count / 4
        let cases: [[Int: String]] = [
            [late: "soon,1,a,50,male,x"],
            [late: "1,1,a,50,male"],
            [late: "1,maybe,a,50,male,x"],
            [early: "1,1,a,old,male,x", late: "soon,1,a,50,male,x"],
            [late - 1: "1,1,a,50,male,x,extra", late: "soon,1,a,50,male,x"],
        ]
        for change in cases {
            let bytes = file(replacing: change)
            let one = read(bytes, parallel: false)
            let two = read(bytes, parallel: true)
            guard case .failure(let expected) = one, case .failure(let actual) = two else {
                Issue.record("expected errors: \(one) \(two)")
                continue
            }
            #expect(expected == actual)
            if case .csvInvalidValue(let line, _, _) = expected { #expect(line == change.keys.min()! + 1) }
            if case .csvMalformed(let line, _) = expected { #expect(line == change.keys.min()! + 1) }
        }
    }

    /// A quote anywhere keeps the file in one reader (a quoted field may hold a line end).
    @Test func quotedFieldsSpanningTheMiddleStayInOneReader() throws {
        var text = String(decoding: Self.largeCSV(rows: 25_000, seed: 3), as: UTF8.self)
        text += "5,1,\"a\nb\",40,male,\"x\"\n"
        text += String(String(decoding: Self.largeCSV(rows: 25_000, seed: 4), as: UTF8.self).drop { $0 != "\n" }.dropFirst())
        let bytes = Array(text.utf8)
        let one = try read(bytes, parallel: false).get()
        let two = try read(bytes, parallel: true).get()
        #expect(one.data.group?.contains("a\nb") == true)
        #expect(one.data.time.map(\.bitPattern) == two.data.time.map(\.bitPattern))
        #expect(one.data.group == two.data.group)
    }

    /// Random subjects with many ties, `k` groups.
    static func subjects(n: Int, groups k: Int, seed: UInt64) -> (time: [Double], event: [Bool], group: [Int32]) {
        var random = SplitMix64(seed: seed)
        var time: [Double] = [], event: [Bool] = [], group: [Int32] = []
        for _ in 0..<n {
            let g = Int32(random.next() % UInt64(k))
            time.append(Double(random.next() % 400) / 10 * Double(1 + g) / 2)
            event.append(random.next() % 3 != 0)
            group.append(g)
        }
        return (time, event, group)
    }

    @Test(arguments: [2, 3, 5])
    func logRankFamilyMatchesTheTestsOneByOne(groups k: Int) throws {
        let (time, event, group) = Self.subjects(n: 4000, groups: k, seed: UInt64(k))
        let (order, sortedTime) = sortTimes(time)
        let sortedEvent = order.map { event[Int($0)] }
        let sortedGroup = order.map { group[Int($0)] }
        let family = try LogRankFamily.compute(
            time: sortedTime, event: sortedEvent, group: sortedGroup, groupCount: k, pairs: true)
        func same(_ a: LogRankTest, _ b: LogRankTest) {
            #expect(a.chisq.bitPattern == b.chisq.bitPattern)
            #expect(a.df == b.df)
            #expect(a.pValue?.bitPattern == b.pValue?.bitPattern)
            #expect(a.observed.map(\.bitPattern) == b.observed.map(\.bitPattern))
            #expect(a.expected.map(\.bitPattern) == b.expected.map(\.bitPattern))
        }
        same(family.logRank, try LogRankTest.compute(
            time: sortedTime, event: sortedEvent, group: sortedGroup, groupCount: k, rho: 0))
        same(family.petoPeto, try LogRankTest.compute(
            time: sortedTime, event: sortedEvent, group: sortedGroup, groupCount: k, rho: 1))
        #expect(family.pairs.count == k * (k - 1) / 2)
        var q = 0
        for a in 0..<k {
            for b in (a + 1)..<k {
                let keep = sortedGroup.indices.filter { sortedGroup[$0] == Int32(a) || sortedGroup[$0] == Int32(b) }
                same(family.pairs[q], try LogRankTest.compute(
                    time: keep.map { sortedTime[$0] }, event: keep.map { sortedEvent[$0] },
                    group: keep.map { sortedGroup[$0] == Int32(b) ? 1 : 0 }, groupCount: 2, rho: 0))
                q += 1
            }
        }
        #expect(family.logRank.chisq > 0)
    }

    /// The Cox model on its own thread, the tests from one pass: the same report as the stages
    /// one after the other (an observer forces that order and the separate tests).
    @Test func parallelAnalysisMatchesTheStagesInSequence() throws {
        let (time, event, group) = Self.subjects(n: 5000, groups: 3, seed: 9)
        var random = SplitMix64(seed: 10)
        let age = (0..<time.count).map { _ in Double(random.next() % 6000) / 100 + 30 }
        let sex = (0..<time.count).map { _ in random.next() % 2 == 0 ? "male" : "female" }
        let data = SurvivalData(
            time: time, event: event, group: group.map { ["x", "y", "z"][Int($0)] },
            covariates: [.numeric("age", age), .categorical("sex", sex)])
        let options = AnalysisOptions(landmarks: [5, 10], tau: 15, quantiles: [0.25], phTest: true)
        let parallel = try SurvivalAnalysis.analyze(data, options: options, parallel: true)
        let plain = try SurvivalAnalysis.analyze(data, options: options)
        var stages: [AnalysisStage?] = []
        let observed = try SurvivalAnalysis.analyze(data, options: options, observer: { stages.append($0) }, parallel: true)
        #expect(try encodeReport(parallel) == encodeReport(plain))
        #expect(try encodeReport(parallel) == encodeReport(observed))
        #expect(parallel.pairwise?.count == 3)
        #expect(stages.compactMap { $0 } == [.prepare, .logRank, .petoPeto, .pairwise, .followUp, .cox, .kaplanMeier])
    }

    /// The error the stages in sequence throw (here the Cox model's: no events).
    @Test func parallelAnalysisThrowsTheSequentialError() {
        let data = SurvivalData(
            time: [1, 2, 3, 4], event: [false, false, false, false], group: ["a", "a", "b", "b"],
            covariates: [.numeric("age", [1, 2, 3, 4])])
        let sequential = Result { () throws(SurvivalError) in try SurvivalAnalysis.analyze(data) }
        let parallel = Result { () throws(SurvivalError) in try SurvivalAnalysis.analyze(data, parallel: true) }
        guard case .failure(let a) = sequential, case .failure(let b) = parallel else {
            Issue.record("expected errors: \(sequential) \(parallel)")
            return
        }
        #expect(a == b)
    }
}
