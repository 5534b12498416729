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
        // Pointers, not arrays: the loop over groups runs once per distinct time, and bounds and
        // uniqueness checks would cost more than its arithmetic.
        // Per group: size, subjects processed, subjects at the current time, and (row g) subjects
        // by code at the current time. Per group and cause (index g * nc + c - 1): events, jumps
        // written so far, and the first output slot.
        let counts = Workspace<Int>(sizes: [ng, ng, ng, ng * codes, ng * nc, ng * nc, ng * nc + 1])
        defer { counts.deallocate() }
        let size = counts[0], processed = counts[1], count = counts[2], nd = counts[3]
        let events = counts[4], jumps = counts[5], offset = counts[6]
        // Per group: last time, all-cause KM just before the time; per group and cause: F and
        // the three variance sums.
        let sums = Workspace<Double>(sizes: [ng, ng, ng * nc, ng * nc, ng * nc, ng * nc])
        defer { sums.deallocate() }
        let last = sums[0], fk = sums[1], f = sums[2], v1 = sums[3], v2 = sums[4], v3 = sums[5]
        for g in 0..<ng { fk[g] = 1 }
        for k in 0..<n {
            let g = Int(group[k])
            size[g] += 1
            last[g] = time[k]
            nd[g * codes + Int(code[k])] += 1
        }
        // Output slots: each (group, cause) gets room for its events (an upper bound of its jumps).
        for g in 0..<ng {
            for c in 1..<codes { offset[g * nc + c] = offset[g * nc + c - 1] + nd[g * codes + c] }
        }
        for k in 0..<(ng * codes) { nd[k] = 0 }
        let output = Workspace<Double>(sizes: [offset[ng * nc], offset[ng * nc], offset[ng * nc]])
        defer { output.deallocate() }
        let outTime = output[0], outF = output[1], outV = output[2]
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
                    let inverse = fkn > 0 ? 1 / fkn : 0  // (one division for every cause)
                    for c in 1..<codes {
                        let d1 = nd[row + c], d2 = total - d1
                        nd[row + c] = 0
                        let s = g * nc + c - 1
                        if d1 > 0 { f[s] += fkg * Double(d1) / rs }
                        let fl = f[s]
                        if d2 > 0, fkn > 0 {
                            let t5 = d2 > 1 ? 1 - (Double(d2) - 1) / (rs - 1) : 1
                            let t6 = fkg * fkg * t5 * Double(d2) / (rs * rs)
                            let t3 = inverse
                            let t4 = fl / fkn
                            v1[s] += t4 * t4 * t6
                            v2[s] += t3 * t4 * t6
                            v3[s] += t3 * t3 * t6
                        }
                        if d1 > 0 {
                            let t5 = d1 > 1 ? 1 - (Double(d1) - 1) / (rs - 1) : 1
                            let t6 = fkg * fkg * t5 * Double(d1) / (rs * rs)
                            let t3 = inverse
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
                nd[row] = 0  // (the causes' counts were reset as they were used, or are 0)
            }
            i = j
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
    /// est^a is computed as exp(a log est) with the log already taken for the exponent (two
    /// `exp` instead of two `pow`, a curve has a point per event time; the relative difference
    /// is a few units in the 15th digit).
    public static func limits(estimate: Double, variance: Double, z: Double) -> (lower: Double?, upper: Double?) {
        if !(estimate > 0 && estimate < 1) || !(variance >= 0) { return (nil, nil) }
        let logEstimate = Glibc_log(estimate)
        let a = exp(z * variance.squareRoot() / (estimate * logEstimate))
        let x = exp(a * logEstimate), y = exp(logEstimate / a)
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

/// Zeroed scratch arrays of one element type in one allocation, for loops where array bounds
/// and uniqueness checks would cost more than the arithmetic. The caller deallocates it.
struct Workspace<Element: Numeric> {
    private let base: UnsafeMutablePointer<Element>
    private let starts: [Int]

    init(sizes: [Int]) {
        var starts: [Int] = []
        var total = 0
        for size in sizes {
            starts.append(total)
            total += size
        }
        base = .allocate(capacity: max(total, 1))
        base.initialize(repeating: 0, count: max(total, 1))
        self.starts = starts
    }

    /// The start of array `k`.
    subscript(k: Int) -> UnsafeMutablePointer<Element> { base + starts[k] }

    func deallocate() { base.deallocate() }
}
