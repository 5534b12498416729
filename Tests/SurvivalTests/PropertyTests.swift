import Testing

@testable import Survival
import TestSupport

func randomData(seed: UInt64, n: Int, tied: Bool, entry: Bool = false) -> SurvivalData {
    var rng = SplitMix64(seed: seed)
    var time: [Double] = [], event: [Bool] = [], entries: [Double] = [], group: [String] = []
    for _ in 0..<n {
        var t = -log(Double.random(in: 0.0001..<1, using: &rng)) * 10
        if tied { t = (t).rounded(.up) }
        time.append(t)
        event.append(Double.random(in: 0..<1, using: &rng) < 0.6)
        entries.append(t * Double.random(in: 0..<0.5, using: &rng))
        group.append(["a", "b", "c"][Int.random(in: 0..<3, using: &rng)])
    }
    return SurvivalData(time: time, event: event, entry: entry ? entries : nil, group: group)
}

import Foundation

@Suite struct PropertyTests {
    @Test(arguments: [(1, false, false), (2, true, false), (3, true, true), (4, false, true)])
    func survivalIsNonIncreasingAndLimitsBracketIt(seed: Int, tied: Bool, entry: Bool) throws {
        let data = randomData(seed: UInt64(seed), n: 400, tied: tied, entry: entry)
        for type in ConfidenceType.allCases {
            let report = try SurvivalAnalysis.analyze(data, options: AnalysisOptions(confType: type, confLevel: 0.9))
            #expect(report.groups.map(\.key) == ["a", "b", "c"])
            for group in report.groups {
                let c = group.curve
                #expect(c.count > 10)
                for k in 0..<c.count {
                    if k > 0 {
                        #expect(c.survival[k] <= c.survival[k - 1])
                        #expect(c.time[k] > c.time[k - 1])
                    }
                    #expect(c.survival[k] >= 0 && c.survival[k] <= 1)
                    if !c.lower[k].isNaN {
                        #expect(c.lower[k] <= c.survival[k] + 1e-15)
                        #expect(c.lower[k] >= 0)
                    }
                    if !c.upper[k].isNaN {
                        #expect(c.upper[k] >= c.survival[k] - 1e-15)
                        #expect(c.upper[k] <= 1)
                    }
                    if entry == false {
                        // Without delayed entry the risk set only shrinks.
                        if k > 0 { #expect(c.nRisk[k] == c.nRisk[k - 1] - c.nEvent[k - 1] - c.nCensor[k - 1]) }
                    }
                }
                if let m = group.median.estimate {
                    if let lo = group.median.lower { #expect(lo <= m) }
                    if let up = group.median.upper { #expect(up >= m) }
                }
            }
        }
    }

    @Test func noCensoringGivesTheEmpiricalSurvivalFunction() throws {
        var rng = SplitMix64(seed: 42)
        let time = (0..<200).map { _ in Double(Int.random(in: 1...60, using: &rng)) }
        let curve = try KaplanMeierCurve.fit(time: time, event: Array(repeating: true, count: time.count))
        #expect(curve.time == Array(Set(time)).sorted())
        for (k, t) in curve.time.enumerated() {
            let survivors = time.filter { $0 > t }.count
            #expect(abs(curve.survival[k] - Double(survivors) / 200) < 1e-14)
            #expect(curve.nCensor[k] == 0)
        }
        #expect(curve.survival.last == 0)
        // Greenwood without censoring is the binomial variance S(1-S)/n.
        for (k, s) in curve.survival.enumerated() where s > 0 {
            #expect(abs(curve.standardError[k] - (s * (1 - s) / 200).squareRoot()) < 1e-12)
        }
    }

    @Test func delayedEntryAtZeroEqualsRightCensoring() throws {
        let data = randomData(seed: 9, n: 300, tied: true)
        var withEntry = data
        withEntry.entry = Array(repeating: 0, count: data.time.count)
        withEntry.time = data.time.map { max($0, 1) }
        var plain = data
        plain.time = withEntry.time
        let a = try SurvivalAnalysis.analyze(plain, options: AnalysisOptions(landmarks: [5], tau: 20))
        let b = try SurvivalAnalysis.analyze(withEntry, options: AnalysisOptions(landmarks: [5], tau: 20))
        for (ga, gb) in zip(a.groups, b.groups) {
            #expect(ga.curve.survival == gb.curve.survival)
            #expect(ga.curve.nRisk == gb.curve.nRisk)
            #expect(ga.rmst == gb.rmst)
        }
        #expect(b.logrank == nil && a.logrank != nil)
    }

    @Test func coxWithEntryAtZeroEqualsRightCensoredCox() throws {
        let data = randomData(seed: 11, n: 300, tied: true)
        var rng = SplitMix64(seed: 5)
        let x = (0..<300).map { _ in Double.random(in: -1..<1, using: &rng) }
        let time = data.time
        let plain = try CoxModel.fit(time: time, event: data.event, columns: [x], terms: ["x"])
        let counting = try CoxModel.fit(
            time: time, event: data.event, entry: Array(repeating: 0, count: 300), columns: [x], terms: ["x"])
        #expect(abs(plain.coefficients[0] - counting.coefficients[0]) < 1e-12)
        #expect(abs(plain.loglikFitted - counting.loglikFitted) < 1e-9)
    }

    @Test func radixArgsortIsAStableSort() {
        var rng = SplitMix64(seed: 7)
        for n in [0, 1, 5, 511, 512, 5000] {
            let values = (0..<n).map { _ in Double(Int.random(in: 0...50, using: &rng)) * 0.25 }
            let order = argsortTimes(values).map(Int.init)
            let expected = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
            #expect(order == expected)
        }
        #expect(argsortTimes([1, -0.0, 0, 2e300, 5e-324]).map(Int.init) == [1, 2, 4, 0, 3])
    }

    /// The radix sort sorts on the bits that differ between keys only: constant columns, whole
    /// days, a narrow band of fractions, zeros among large values and full-range doubles.
    @Test func radixSortOnTheVaryingBitsIsAStableSort() {
        var rng = SplitMix64(seed: 9)
        let columns: [[Double]] = [
            Array(repeating: 7, count: 600),
            Array(repeating: 0, count: 300) + [-0.0],
            (0..<3000).map { _ in Double(Int.random(in: 1...3000, using: &rng)) },
            (0..<3000).map { _ in 1 + Double(Int.random(in: 0...7, using: &rng)) / 1024 },
            (0..<2000).map { i in i % 3 == 0 ? 0 : Double.random(in: 1e10..<1e12, using: &rng) },
            (0..<2000).map { _ in Double.random(in: 0..<1, using: &rng) * pow(2, Double(Int.random(in: -1000...1000, using: &rng))) },
        ]
        for values in columns {
            let (order, sorted) = sortTimes(values)
            let expected = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
            #expect(order.map(Int.init) == expected)
            #expect(sorted == expected.map { values[$0] == 0 ? 0 : values[$0] })
            #expect(sorted.allSatisfy { $0.sign == .plus })
        }
    }

    @Test func comparatorDetectsDifferences() throws {
        let a = try JSONTree.parse(Data(#"{"x": 1.0, "p_value": 1e-30, "y": null, "z": [1, 2]}"#.utf8))
        let b = try JSONTree.parse(Data(#"{"x": 1.000001, "p_value": 2e-30, "y": 0, "z": [1]}"#.utf8))
        let diffs = differences(a, b) { _ in 1e-9 }
        #expect(diffs.count == 4)
        #expect(differences(a, a) { _ in 1e-9 }.isEmpty)
    }
}
