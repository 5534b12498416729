/// Gray's k-sample test of equal cumulative incidence of one cause (R: `cuminc(...)$Tests`).
///
/// Source: Gray (1988), Ann Stat 16:1141-1154; cmprsk 2.2-11 Fortran `crstm` / `crst` with
/// rho = 0 and one stratum, ported step for step: per distinct time, group-wise left- and
/// right-continuous Kaplan-Meier and cumulative incidence, the score s (first ng - 1 groups) and
/// the variance built from the a, c matrices and the v2, v3 sums. One pass over the sorted data:
/// O(n ng^2). The statistic is s' V^-1 s on ng - 1 degrees of freedom.
///
/// Every cause is tested in the same pass: the at-risk counts, the all-cause Kaplan-Meier
/// (`skm`), `tr` and the matrix `a` depend only on events of any cause, so they are computed
/// once per time; the rest is `crstm`'s arithmetic for each cause, in its order.
enum GrayTest {
    /// - Parameters:
    ///   - time: exit times ascending.
    ///   - code: 0 censored, else a cause number below `codeCount`.
    ///   - causes: the causes to test (each cmprsk's m = 1 in its own test, any other non-zero
    ///     code a competing cause, m = 2).
    ///   - group: group index 0..<groupCount per subject.
    /// - Returns: per cause of `causes`, the statistic, nil when the variance matrix is singular.
    static func statistics(
        time: [Double], code: [Int32], codeCount: Int, causes: [Int32], group: [Int32], groupCount ng: Int
    ) -> [Double?] {
        let ng1 = ng - 1
        if ng1 < 1 { return causes.map { _ in nil } }
        // One workspace for every per-group array (pointers: this loop runs once per distinct
        // time, and array bounds and uniqueness checks cost more than its arithmetic at few groups).
        let layout = Layout(ng: ng, causes: causes.count)
        let work = UnsafeMutablePointer<Double>.allocate(capacity: layout.total)
        defer { work.deallocate() }
        work.initialize(repeating: 0, count: layout.total)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: ng * (codeCount + 3))
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: ng * (codeCount + 3))
        time.withUnsafeBufferPointer { time in
            code.withUnsafeBufferPointer { code in
                group.withUnsafeBufferPointer { group in
                    accumulate(
                        time: time, code: code, codeCount: codeCount, causes: causes, group: group, ng: ng,
                        layout: layout, work: work, counts: counts)
                }
            }
        }
        return causes.indices.map { k in
            let block = work + layout.cause(k)
            let s = Array(UnsafeBufferPointer(start: block + layout.s, count: ng1))
            let v = Array(UnsafeBufferPointer(start: block + layout.v, count: ng1 * ng1))
            guard let chol = Cholesky(v, size: ng1) else { return nil }
            let x = chol.solve(s)
            var stat = 0.0
            for i in 0..<ng1 { stat += x[i] * s[i] }
            return stat.isFinite ? stat : nil
        }
    }

    /// Offsets in the workspace: the shared arrays, then one block per cause (offsets within).
    private struct Layout {
        let rs, skmm, skm, a, shared: Int
        let s, v, f1m, f1, v3, v2, c, fm, f, block: Int
        let total: Int

        init(ng: Int, causes: Int) {
            let ng1 = ng - 1
            rs = 0
            skmm = rs + ng
            skm = skmm + ng
            a = skm + ng
            shared = a + ng * ng
            s = 0
            v = s + ng1  // lower triangle used
            f1m = v + ng1 * ng1
            f1 = f1m + ng
            v3 = f1 + ng
            v2 = v3 + ng  // v2[i, k], ng1 x ng
            c = v2 + ng1 * ng
            fm = c + ng * ng
            f = fm + 1
            block = f + 1
            total = shared + causes * block
        }

        func cause(_ k: Int) -> Int { shared + k * block }
    }

    /// The pass over the sorted subjects: per cause, the score in `s` and the variance in `v`
    /// (full) of its block.
    private static func accumulate(
        time: UnsafeBufferPointer<Double>, code: UnsafeBufferPointer<Int32>, codeCount: Int, causes: [Int32],
        group: UnsafeBufferPointer<Int32>, ng: Int, layout: Layout, work: UnsafeMutablePointer<Double>,
        counts: UnsafeMutablePointer<Int>
    ) {
        let n = time.count
        let ng1 = ng - 1
        let rs = work + layout.rs, skmm = work + layout.skmm, skm = work + layout.skm, a = work + layout.a
        // Per group: subjects by code at the current time (row g), events of any cause, and
        // the events of the cause under test (d1) and of the other causes (d2).
        let byCode = counts, events = counts + ng * codeCount
        let d1 = events + ng, d2 = d1 + ng
        for g in group { rs[Int(g)] += 1 }
        for i in 0..<ng {
            skmm[i] = 1
            skm[i] = 1
        }
        var ll = 0
        while ll < n {
            var lu = ll
            while lu + 1 < n, time[lu + 1] <= time[ll] { lu += 1 }
            for i in 0..<(ng * codeCount) { byCode[i] = 0 }
            for i in ll...lu { byCode[Int(group[i]) * codeCount + Int(code[i])] += 1 }
            var any = 0
            for i in 0..<ng {
                var e = 0
                for k in 1..<codeCount { e += byCode[i * codeCount + k] }
                events[i] = e
                any += e
            }
            if any > 0 {
                var tr = 0.0
                for i in 0..<ng where rs[i] > 0 {
                    let td = Double(events[i])
                    skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                    tr += rs[i] / skmm[i]
                }
                let fb = 1.0  // (1 - fm)^rho with rho = 0
                for i in 0..<ng {
                    let ai = a + i * ng  // row i (upper triangle), 0 where a group has no one at risk
                    if rs[i] <= 0 {
                        for j in i..<ng { ai[j] = 0 }
                        continue
                    }
                    let t1 = rs[i] / skmm[i]
                    ai[i] = fb * t1 * (1 - t1 / tr)
                    for j in (i + 1)..<max(ng, i + 1) {
                        ai[j] = rs[j] > 0 ? -fb * t1 * rs[j] / (skmm[j] * tr) : 0
                    }
                }
                for i in 1..<ng {
                    for j in 0..<i { a[i * ng + j] = a[j * ng + i] }
                }
                for (m, cause) in causes.enumerated() {
                    let block = work + layout.cause(m)
                    let s = block + layout.s, v = block + layout.v
                    let f1m = block + layout.f1m, f1 = block + layout.f1
                    let v3 = block + layout.v3, v2 = block + layout.v2, c = block + layout.c
                    let fm = block[layout.fm]
                    var nd1 = 0, nd2 = 0
                    for i in 0..<ng {
                        d1[i] = byCode[i * codeCount + Int(cause)]
                        d2[i] = events[i] - d1[i]
                        nd1 += d1[i]
                        nd2 += d2[i]
                    }
                    var tq = 0.0
                    for i in 0..<ng where rs[i] > 0 {
                        f1[i] = f1m[i] + skmm[i] * Double(d1[i]) / rs[i]
                        tq += rs[i] * (1 - f1m[i]) / skmm[i]
                    }
                    let f = fm + Double(nd1) / tr
                    block[layout.f] = f
                    for i in 0..<ng where rs[i] > 0 {
                        let ai = a + i * ng, ci = c + i * ng
                        ci[i] += ai[i] * Double(nd1) / (tr * (1 - fm))
                        for j in (i + 1)..<max(ng, i + 1) where rs[j] > 0 {
                            ci[j] += ai[j] * Double(nd1) / (tr * (1 - fm))
                        }
                    }
                    for i in 1..<ng {
                        for j in 0..<i { c[i * ng + j] = c[j * ng + i] }
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
            }
            if lu >= n - 1 { break }
            for i in ll...lu { rs[Int(group[i])] -= 1 }
            for m in causes.indices {
                let block = work + layout.cause(m)
                block[layout.fm] = block[layout.f]
                let f1m = block + layout.f1m, f1 = block + layout.f1
                for i in 0..<ng { f1m[i] = f1[i] }
            }
            for i in 0..<ng { skmm[i] = skm[i] }
            ll = lu + 1
        }
        for m in causes.indices {
            let block = work + layout.cause(m)
            let v = block + layout.v, v3 = block + layout.v3, v2 = block + layout.v2, c = block + layout.c
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
}
