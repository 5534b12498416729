import Cohorts
import Foundation
import Survival
import Testing
import TestSupport

/// The compact curve encoder (blocks in raw memory, optionally two at a time on two threads)
/// writes the text the general member-by-member path writes, byte for byte.
@Suite struct JSONWriterCurveTests {
    /// A long curve with what real curves have: censoring-only runs that repeat the previous
    /// values, NaN limits and standard errors, zero survival, integral and tiny numbers.
    static func curve(points n: Int, seed: UInt64) -> CurveTable {
        var random = SplitMix64(seed: seed)
        var time: [Double] = [], nRisk: [Int] = [], nEvent: [Int] = [], nCensor: [Int] = []
        var survival: [Double] = [], stdErr: [Double] = [], lower: [Double] = [], upper: [Double] = []
        var s = 1.0, t = 0.0
        for k in 0..<n {
            t += [1, 0.5, 1e-7, 0.000126, 3.25e-5][Int(random.next() % 5)] + Double(random.next() % 1000) / 997
            let event = random.next() % 2 == 0
            if event { s *= 1 - Double(random.next() % 1000 + 1) / 1e6 }
            if k == n - 10 { s = 0 }
            time.append(k % 500 == 0 ? t.rounded() : t)
            nRisk.append(n - k + Int(random.next() % 3_000_000_000))
            nEvent.append(event ? Int(random.next() % 12) + 1 : 0)
            nCensor.append(Int(random.next() % 3))
            survival.append(s)
            let se = s == 0 ? Double.nan : s * Double(random.next() % 1000) / 1e5
            stdErr.append(se)
            lower.append(s == 0 ? .nan : max(s - 2 * se, 0))
            upper.append(s == 0 ? .nan : min(s + 2 * se, 1))
        }
        return CurveTable(
            time: time, nRisk: nRisk, nEvent: nEvent, nCensor: nCensor, survival: survival, stdErr: stdErr,
            lower: lower, upper: upper)
    }

    /// The reference: every point member by member through the writer's public calls.
    static func reference(_ curve: CurveTable) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginArray()
        for k in 0..<curve.count {
            writer.beginObject()
            writer.member("lower", curve.lower[k])
            writer.member("n_censor", curve.nCensor[k])
            writer.member("n_event", curve.nEvent[k])
            writer.member("n_risk", curve.nRisk[k])
            writer.member("std_err", curve.stdErr[k])
            writer.member("survival", finite: curve.survival[k])
            writer.member("time", finite: curve.time[k])
            writer.member("upper", curve.upper[k])
            writer.endObject()
        }
        writer.endArray()
        return writer.bytes
    }

    final class Collector: @unchecked Sendable { var bytes: [UInt8] = [] }

    @Test(arguments: [0, 1, 4095, 4096, 4097, 8192, 20_001])
    func blocksWriteTheMemberByMemberText(points: Int) {
        let curve = Self.curve(points: points, seed: UInt64(points) + 1)
        let expected = Self.reference(curve)
        for parallel in [false, true] {
            var writer = JSONWriter()
            writer.parallelCurves = parallel
            writer.write(curve)
            #expect(writer.bytes == expected)
            let collected = Collector()
            var streaming = JSONWriter(chunkSize: 1000) { collected.bytes.append(contentsOf: $0) }
            streaming.parallelCurves = parallel
            streaming.write(curve)
            streaming.flush()
            #expect(collected.bytes == expected)
        }
    }

    /// Non-finite survival or time values are written as null and counted, as `finite(_:)` does.
    @Test func nonFiniteSurvivalAndTimesAreCounted() {
        var curve = Self.curve(points: 9000, seed: 7)
        curve.survival[10] = .nan
        curve.time[8500] = .infinity
        curve.time[8501] = -.infinity
        for parallel in [false, true] {
            var writer = JSONWriter()
            writer.parallelCurves = parallel
            writer.write(curve)
            #expect(writer.nonFiniteCount == 3)
            #expect(writer.bytes == Self.reference(curve))
        }
    }
}
