/// Gray's k-sample test of equal cumulative incidence of one cause (R: `cuminc(...)$Tests`).
///
/// Source: Gray (1988), Ann Stat 16:1141-1154; cmprsk 2.2-11 Fortran `crstm` / `crst` with
/// rho = 0 and one stratum, ported step for step: per distinct time, group-wise left- and
/// right-continuous Kaplan-Meier and cumulative incidence, the score s (first ng - 1 groups) and
/// the variance built from the a, c matrices and the v2, v3 sums. One pass over the sorted data:
/// O(n ng^2). The statistic is s' V^-1 s on ng - 1 degrees of freedom.
enum GrayTest {
    /// - Parameters:
    ///   - time: exit times ascending.
    ///   - code: 0 censored, else a cause number; `cause` is the cause of interest (cmprsk's
    ///     m = 1), any other non-zero code a competing cause (m = 2).
    ///   - group: group index 0..<groupCount per subject.
    /// - Returns: the statistic, nil when the variance matrix is singular.
    static func statistic(time: [Double], code: [Int32], cause: Int32, group: [Int32], groupCount ng: Int) -> Double? {
        let ng1 = ng - 1
        if ng1 < 1 { return nil }
        // One workspace for every per-group array (pointers: this loop runs once per distinct
        // time, and array bounds and uniqueness checks cost more than its arithmetic at few groups).
        let layout = Layout(ng: ng)
        let work = UnsafeMutablePointer<Double>.allocate(capacity: layout.total)
        defer { work.deallocate() }
        work.initialize(repeating: 0, count: layout.total)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * ng)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 2 * ng)
        time.withUnsafeBufferPointer { time in
            code.withUnsafeBufferPointer { code in
                group.withUnsafeBufferPointer { group in
                    accumulate(
                        time: time, code: code, cause: cause, group: group, ng: ng, layout: layout, work: work,
                        d1: counts, d2: counts + ng)
                }
            }
        }
        let s = Array(UnsafeBufferPointer(start: work + layout.s, count: ng1))
        let v = Array(UnsafeBufferPointer(start: work + layout.v, count: ng1 * ng1))
        guard let chol = Cholesky(v, size: ng1) else { return nil }
        let x = chol.solve(s)
        var stat = 0.0
        for i in 0..<ng1 { stat += x[i] * s[i] }
        return stat.isFinite ? stat : nil
    }

    /// Offsets of the per-group arrays in the workspace.
    private struct Layout {
        let rs, s, v, f1m, f1, skmm, skm, v3, v2, c, a, total: Int

        init(ng: Int) {
            let ng1 = ng - 1
            rs = 0
            s = rs + ng
            v = s + ng1  // lower triangle used
            f1m = v + ng1 * ng1
            f1 = f1m + ng
            skmm = f1 + ng
            skm = skmm + ng
            v3 = skm + ng
            v2 = v3 + ng  // v2[i, k], ng1 x ng
            c = v2 + ng1 * ng
            a = c + ng * ng
            total = a + ng * ng
        }
    }

    /// The pass over the sorted subjects: the score in `work[s]`, the variance in `work[v]` (full).
    private static func accumulate(
        time: UnsafeBufferPointer<Double>, code: UnsafeBufferPointer<Int32>, cause: Int32,
        group: UnsafeBufferPointer<Int32>, ng: Int, layout: Layout, work: UnsafeMutablePointer<Double>,
        d1: UnsafeMutablePointer<Int>, d2: UnsafeMutablePointer<Int>
    ) {
        let n = time.count
        let ng1 = ng - 1
        let rs = work + layout.rs, s = work + layout.s, v = work + layout.v
        let f1m = work + layout.f1m, f1 = work + layout.f1
        let skmm = work + layout.skmm, skm = work + layout.skm
        let v3 = work + layout.v3, v2 = work + layout.v2
        let c = work + layout.c, a = work + layout.a
        for g in group { rs[Int(g)] += 1 }
        for i in 0..<ng {
            skmm[i] = 1
            skm[i] = 1
        }
        var fm = 0.0
        var f = 0.0
        var ll = 0
        while ll < n {
            var lu = ll
            while lu + 1 < n, time[lu + 1] <= time[ll] { lu += 1 }
            for i in 0..<ng {
                d1[i] = 0
                d2[i] = 0
            }
            for i in ll...lu {
                let g = Int(group[i])
                let c = code[i]
                if c == cause { d1[g] += 1 } else if c != 0 { d2[g] += 1 }
            }
            var nd1 = 0, nd2 = 0
            for i in 0..<ng {
                nd1 += d1[i]
                nd2 += d2[i]
            }
            if nd1 > 0 || nd2 > 0 {
                var tr = 0.0, tq = 0.0
                for i in 0..<ng where rs[i] > 0 {
                    let td = Double(d1[i] + d2[i])
                    skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                    f1[i] = f1m[i] + skmm[i] * Double(d1[i]) / rs[i]
                    tr += rs[i] / skmm[i]
                    tq += rs[i] * (1 - f1m[i]) / skmm[i]
                }
                f = fm + Double(nd1) / tr
                let fb = 1.0  // (1 - fm)^rho with rho = 0
                for i in 0..<ng {
                    let ai = a + i * ng, ci = c + i * ng  // row i
                    for j in i..<ng { ai[j] = 0 }
                    if rs[i] <= 0 { continue }
                    let t1 = rs[i] / skmm[i]
                    ai[i] = fb * t1 * (1 - t1 / tr)
                    ci[i] += ai[i] * Double(nd1) / (tr * (1 - fm))
                    for j in (i + 1)..<max(ng, i + 1) where rs[j] > 0 {
                        ai[j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                        ci[j] += ai[j] * Double(nd1) / (tr * (1 - fm))
                    }
                }
                for i in 1..<ng {
                    let ai = a + i * ng, ci = c + i * ng
                    for j in 0..<i {
                        ai[j] = a[j * ng + i]
                        ci[j] = c[j * ng + i]
                    }
                }
                for i in 0..<ng1 where rs[i] > 0 {
                    s[i] += fb * (Double(d1[i]) - Double(nd1) * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
                }
                if nd1 > 0 {
                    for k in 0..<ng where rs[k] > 0 {
                        let t4 = skm[k] > 0 ? 1 - (1 - f) / skm[k] : 1
                        let t5 = nd1 > 1 ? 1 - Double(nd1 - 1) / (tr * skmm[k] - 1) : 1
                        let t3 = t5 * skmm[k] * Double(nd1) / (tr * rs[k])
                        v3[k] += t4 * t4 * t3
                        for i in 0..<ng1 {
                            let t1 = a[i * ng + k] - t4 * c[i * ng + k]
                            v2[i * ng + k] += t1 * t4 * t3
                            let vi = v + i * ng1  // row i
                            for j in 0...i {
                                let t2 = a[j * ng + k] - t4 * c[j * ng + k]
                                vi[j] += t1 * t2 * t3
                            }
                        }
                    }
                }
                if nd2 > 0 {
                    for k in 0..<ng where skm[k] > 0 && d2[k] > 0 {
                        let t4 = (1 - f) / skm[k]
                        let t5 = d2[k] > 1 ? 1 - (Double(d2[k]) - 1) / (rs[k] - 1) : 1
                        let t3 = t5 * (skmm[k] * skmm[k] * Double(d2[k])) / (rs[k] * rs[k])
                        v3[k] += t4 * t4 * t3
                        for i in 0..<ng1 {
                            let t1 = t4 * c[i * ng + k]
                            v2[i * ng + k] -= t1 * t4 * t3
                            let vi = v + i * ng1
                            for j in 0...i {
                                let t2 = t4 * c[j * ng + k]
                                vi[j] += t1 * t2 * t3
                            }
                        }
                    }
                }
            }
            if lu >= n - 1 { break }
            for i in ll...lu { rs[Int(group[i])] -= 1 }
            fm = f
            for i in 0..<ng {
                f1m[i] = f1[i]
                skmm[i] = skm[i]
            }
            ll = lu + 1
        }
        for i in 0..<ng1 {
            for j in 0...i {
                var add = 0.0
                for k in 0..<ng {
                    add += c[i * ng + k] * c[j * ng + k] * v3[k]
                    add += c[i * ng + k] * v2[j * ng + k]
                    add += c[j * ng + k] * v2[i * ng + k]
                }
                v[i * ng1 + j] += add
            }
        }
        for i in 0..<ng1 {
            for j in 0..<i { v[j * ng1 + i] = v[i * ng1 + j] }
        }
    }
}
