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
        let n = time.count
        let ng1 = ng - 1
        if ng1 < 1 { return nil }
        var rs = [Double](repeating: 0, count: ng)
        for g in group { rs[Int(g)] += 1 }
        var s = [Double](repeating: 0, count: ng1)
        var v = [Double](repeating: 0, count: ng1 * ng1)  // lower triangle used
        var f1m = [Double](repeating: 0, count: ng), f1 = f1m
        var skmm = [Double](repeating: 1, count: ng), skm = skmm
        var v3 = [Double](repeating: 0, count: ng)
        var v2 = [Double](repeating: 0, count: ng1 * ng)  // v2[i, k]
        var c = [Double](repeating: 0, count: ng * ng)
        var a = [Double](repeating: 0, count: ng * ng)
        var d0 = [Int](repeating: 0, count: ng), d1 = d0, d2 = d0
        var fm = 0.0
        var f = 0.0
        var ll = 0
        while ll < n {
            var lu = ll
            while lu + 1 < n, time[lu + 1] <= time[ll] { lu += 1 }
            for i in 0..<ng {
                d0[i] = 0
                d1[i] = 0
                d2[i] = 0
            }
            for i in ll...lu {
                let g = Int(group[i])
                let c = code[i]
                if c == cause { d1[g] += 1 } else if c != 0 { d2[g] += 1 } else { d0[g] += 1 }
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
                    for j in i..<ng { a[i * ng + j] = 0 }
                    if rs[i] <= 0 { continue }
                    let t1 = rs[i] / skmm[i]
                    a[i * ng + i] = fb * t1 * (1 - t1 / tr)
                    c[i * ng + i] += a[i * ng + i] * Double(nd1) / (tr * (1 - fm))
                    for j in (i + 1)..<max(ng, i + 1) where rs[j] > 0 {
                        a[i * ng + j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                        c[i * ng + j] += a[i * ng + j] * Double(nd1) / (tr * (1 - fm))
                    }
                }
                for i in 1..<ng {
                    for j in 0..<i {
                        a[i * ng + j] = a[j * ng + i]
                        c[i * ng + j] = c[j * ng + i]
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
                            for j in 0...i {
                                let t2 = a[j * ng + k] - t4 * c[j * ng + k]
                                v[i * ng1 + j] += t1 * t2 * t3
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
                            for j in 0...i {
                                let t2 = t4 * c[j * ng + k]
                                v[i * ng1 + j] += t1 * t2 * t3
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
        guard let chol = Cholesky(v, size: ng1) else { return nil }
        let x = chol.solve(s)
        var stat = 0.0
        for i in 0..<ng1 { stat += x[i] * s[i] }
        return stat.isFinite ? stat : nil
    }
}
