/// A cumulative incidence function of one cause in one group (Aalen-Johansen), with the variance
/// exactly as `cmprsk::cuminc` computes it.
///
/// Source: cmprsk 2.2-11, Fortran `cinc` (Gray's delta-method variance): at each distinct time with
/// d1 events of the cause and d2 of other causes among r at risk, with S the all-cause
/// Kaplan-Meier just before, F jumps by S d1 / r; three running sums v1, v2, v3 collect the
/// variance terms (with the tie corrections 1 - (d - 1)/(r - 1)), and after each jump of F the
/// variance is v1 + F^2 v3 - 2 F v2. Between jumps F and its variance stay as at the last jump
/// (a step function, as cuminc reports it).
public struct CumulativeIncidenceCurve: Sendable, Equatable {
    /// Times at which the cause has events, ascending (the jumps of the step function).
    public let time: [Double]
    /// F just after each time.
    public let estimate: [Double]
    /// cmprsk's variance of F at each time.
    public let variance: [Double]
    /// The last follow-up time of the group (the curve is defined up to here).
    public let lastTime: Double
    public let n: Int
    public let events: Int

    /// The estimator for every group in one pass over all subjects sorted by time: each group
    /// keeps its own running state, and a group's tied block is its subjects at the current time,
    /// so the arithmetic is exactly that of `cinc` on the group's own subjects.
    ///
    /// - Parameters:
    ///   - time: exit times, ascending.
    ///   - code: 0 = censored, else a cause number; `cause` is the cause of interest.
    ///   - group: group index 0..<groupCount per subject (same order as `time`).
    static func estimateSorted(
        time: [Double], code: [Int32], group: [Int32], groupCount: Int, cause: Int32
    ) -> [CumulativeIncidenceCurve] {
        let n = time.count
        var size = [Int](repeating: 0, count: groupCount)
        var last = [Double](repeating: 0, count: groupCount)
        for k in 0..<n {
            size[Int(group[k])] += 1
            last[Int(group[k])] = time[k]
        }
        var outTime = [[Double]](repeating: [], count: groupCount)
        var outF = outTime, outV = outTime
        var fk = [Double](repeating: 1, count: groupCount)  // all-cause KM just before the time
        var f = [Double](repeating: 0, count: groupCount)
        var v1 = f, v2 = f, v3 = f
        var processed = [Int](repeating: 0, count: groupCount)
        var events = [Int](repeating: 0, count: groupCount)
        var nd1 = [Int](repeating: 0, count: groupCount), nd2 = nd1, count = nd1
        var i = 0
        while i < n {
            let t = time[i]
            var j = i
            while j < n, time[j] == t {
                let g = Int(group[j])
                count[g] += 1
                let c = code[j]
                if c == cause { nd1[g] += 1 } else if c != 0 { nd2[g] += 1 }
                j += 1
            }
            for g in 0..<groupCount where count[g] > 0 {
                let rs = Double(size[g] - processed[g])
                let d1 = nd1[g], d2 = nd2[g]
                let nd = d1 + d2
                if nd > 0 {
                    let fkg = fk[g]
                    let fkn = fkg * (rs - Double(nd)) / rs
                    if d1 > 0 { f[g] += fkg * Double(d1) / rs }
                    let fl = f[g]
                    if d2 > 0, fkn > 0 {
                        let t5 = d2 > 1 ? 1 - (Double(d2) - 1) / (rs - 1) : 1
                        let t6 = fkg * fkg * t5 * Double(d2) / (rs * rs)
                        let t3 = 1 / fkn
                        let t4 = fl / fkn
                        v1[g] += t4 * t4 * t6
                        v2[g] += t3 * t4 * t6
                        v3[g] += t3 * t3 * t6
                    }
                    if d1 > 0 {
                        let t5 = d1 > 1 ? 1 - (Double(d1) - 1) / (rs - 1) : 1
                        let t6 = fkg * fkg * t5 * Double(d1) / (rs * rs)
                        let t3 = fkn > 0 ? 1 / fkn : 0
                        let t4 = 1 + t3 * fl
                        v1[g] += t4 * t4 * t6
                        v2[g] += t3 * t4 * t6
                        v3[g] += t3 * t3 * t6
                        outTime[g].append(t)
                        outF[g].append(fl)
                        outV[g].append(v1[g] + fl * fl * v3[g] - 2 * fl * v2[g])
                        events[g] += d1
                    }
                    fk[g] = fkn
                }
                processed[g] += count[g]
                count[g] = 0
                nd1[g] = 0
                nd2[g] = 0
            }
            i = j
        }
        return (0..<groupCount).map { g in
            CumulativeIncidenceCurve(
                time: outTime[g], estimate: outF[g], variance: outV[g], lastTime: last[g], n: size[g], events: events[g])
        }
    }

    /// F and its variance at time t (R: `timepoints`): the value at the last jump <= t (0 before
    /// the first), nil after the last follow-up time.
    public func value(at t: Double) -> (estimate: Double, variance: Double)? {
        if n == 0 || t > lastTime { return nil }
        var lo = 0, hi = time.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if time[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? (0, 0) : (estimate[lo - 1], variance[lo - 1])
    }

    /// Pointwise limits by the log(-log) transform,
    /// est^exp(-/+ z sqrt(var) / (est log est)), nil where est is 0 or 1 (or the result is not finite).
    public static func limits(estimate: Double, variance: Double, z: Double) -> (lower: Double?, upper: Double?) {
        if !(estimate > 0 && estimate < 1) || !(variance >= 0) { return (nil, nil) }
        let a = exp(z * variance.squareRoot() / (estimate * Glibc_log(estimate)))
        let x = pow(estimate, a), y = pow(estimate, 1 / a)
        return (finite(min(x, y)), finite(max(x, y)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
