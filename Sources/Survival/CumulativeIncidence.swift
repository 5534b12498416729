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

    /// The estimator for every cause and group in one pass over all subjects sorted by time:
    /// each group keeps its own running state (the all-cause Kaplan-Meier and, per cause, F and
    /// the three variance sums), and a group's tied block is its subjects at the current time,
    /// so the arithmetic is exactly that of `cinc` on the group's own subjects, cause by cause.
    ///
    /// - Parameters:
    ///   - time: exit times, ascending.
    ///   - code: 0 = censored, else a cause number 1...causeCount.
    ///   - group: group index 0..<groupCount per subject (same order as `time`).
    /// - Returns: the curves by cause number - 1, then group index.
    static func estimateSorted(
        time: [Double], code: [Int32], group: [Int32], groupCount: Int, causeCount: Int
    ) -> [[CumulativeIncidenceCurve]] {
        time.withUnsafeBufferPointer { time in
            code.withUnsafeBufferPointer { code in
                group.withUnsafeBufferPointer { group in
                    estimateSorted(time: time, code: code, group: group, groupCount: groupCount, causeCount: causeCount)
                }
            }
        }
    }

    private static func estimateSorted(
        time: UnsafeBufferPointer<Double>, code: UnsafeBufferPointer<Int32>, group: UnsafeBufferPointer<Int32>,
        groupCount ng: Int, causeCount nc: Int
    ) -> [[CumulativeIncidenceCurve]] {
        let n = time.count
        let codes = nc + 1  // 0 = censored
        // Per group: size, last time, subjects processed, subjects and events by code at the
        // current time; per group and cause (index g * nc + c - 1): events, jumps written so far.
        var size = [Int](repeating: 0, count: ng)
        var last = [Double](repeating: 0, count: ng)
        var tally = [Int](repeating: 0, count: ng * codes)
        for k in 0..<n {
            let g = Int(group[k])
            size[g] += 1
            last[g] = time[k]
            tally[g * codes + Int(code[k])] += 1
        }
        // Output slots: each (group, cause) gets room for its events (an upper bound of its jumps).
        var offset = [Int](repeating: 0, count: ng * nc + 1)
        for g in 0..<ng {
            for c in 1..<codes { offset[g * nc + c] = offset[g * nc + c - 1] + tally[g * codes + c] }
        }
        let slots = offset[ng * nc]
        let outTime = UnsafeMutablePointer<Double>.allocate(capacity: max(slots, 1))
        let outF = UnsafeMutablePointer<Double>.allocate(capacity: max(slots, 1))
        let outV = UnsafeMutablePointer<Double>.allocate(capacity: max(slots, 1))
        defer {
            outTime.deallocate()
            outF.deallocate()
            outV.deallocate()
        }
        var jumps = [Int](repeating: 0, count: ng * nc)
        var events = [Int](repeating: 0, count: ng * nc)
        var fk = [Double](repeating: 1, count: ng)  // all-cause KM just before the time
        var f = [Double](repeating: 0, count: ng * nc)
        var v1 = f, v2 = f, v3 = f
        var processed = [Int](repeating: 0, count: ng)
        var count = [Int](repeating: 0, count: ng)
        for k in 0..<tally.count { tally[k] = 0 }
        tally.withUnsafeMutableBufferPointer { nd in
            f.withUnsafeMutableBufferPointer { f in
                v1.withUnsafeMutableBufferPointer { v1 in
                    v2.withUnsafeMutableBufferPointer { v2 in
                        v3.withUnsafeMutableBufferPointer { v3 in
                            var i = 0
                            while i < n {
                                let t = time[i]
                                var j = i
                                while j < n, time[j] == t {
                                    let g = Int(group[j])
                                    count[g] += 1
                                    nd[g * codes + Int(code[j])] += 1
                                    j += 1
                                }
                                for g in 0..<ng where count[g] > 0 {
                                    let rs = Double(size[g] - processed[g])
                                    let row = g * codes
                                    let total = count[g] - nd[row]  // events of any cause
                                    if total > 0 {
                                        let fkg = fk[g]
                                        let fkn = fkg * (rs - Double(total)) / rs
                                        for c in 1..<codes {
                                            let d1 = nd[row + c], d2 = total - d1
                                            let s = g * nc + c - 1
                                            if d1 > 0 { f[s] += fkg * Double(d1) / rs }
                                            let fl = f[s]
                                            if d2 > 0, fkn > 0 {
                                                let t5 = d2 > 1 ? 1 - (Double(d2) - 1) / (rs - 1) : 1
                                                let t6 = fkg * fkg * t5 * Double(d2) / (rs * rs)
                                                let t3 = 1 / fkn
                                                let t4 = fl / fkn
                                                v1[s] += t4 * t4 * t6
                                                v2[s] += t3 * t4 * t6
                                                v3[s] += t3 * t3 * t6
                                            }
                                            if d1 > 0 {
                                                let t5 = d1 > 1 ? 1 - (Double(d1) - 1) / (rs - 1) : 1
                                                let t6 = fkg * fkg * t5 * Double(d1) / (rs * rs)
                                                let t3 = fkn > 0 ? 1 / fkn : 0
                                                let t4 = 1 + t3 * fl
                                                v1[s] += t4 * t4 * t6
                                                v2[s] += t3 * t4 * t6
                                                v3[s] += t3 * t3 * t6
                                                let slot = offset[s] + jumps[s]
                                                outTime[slot] = t
                                                outF[slot] = fl
                                                outV[slot] = v1[s] + fl * fl * v3[s] - 2 * fl * v2[s]
                                                jumps[s] += 1
                                                events[s] += d1
                                            }
                                        }
                                        fk[g] = fkn
                                    }
                                    processed[g] += count[g]
                                    count[g] = 0
                                    for c in 0..<codes { nd[row + c] = 0 }
                                }
                                i = j
                            }
                        }
                    }
                }
            }
        }
        return (0..<nc).map { c in
            (0..<ng).map { g in
                let s = g * nc + c
                return CumulativeIncidenceCurve(
                    time: Array(UnsafeBufferPointer(start: outTime + offset[s], count: jumps[s])),
                    estimate: Array(UnsafeBufferPointer(start: outF + offset[s], count: jumps[s])),
                    variance: Array(UnsafeBufferPointer(start: outV + offset[s], count: jumps[s])),
                    lastTime: last[g], n: size[g], events: events[s])
            }
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
