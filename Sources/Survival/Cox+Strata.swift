/// The Cox partial likelihood over one or more strata: a product of per-stratum likelihoods
/// with their own risk sets (R: `coxph(... + strata(s))`; survival's C `coxfit6` resets its
/// risk-set sums at each stratum boundary, which is what separate parts do here).
struct CoxLikelihood {
    /// One sorted problem per stratum (a single part when unstratified).
    let parts: [CoxProblem]
    let p: Int

    /// Builds the parts: covariates centred at their overall means (as `coxfit6`; the partial
    /// likelihood does not change), subjects of each stratum in exit-time order.
    init(_ subjects: SortedSubjects, columns: [[Double]], strata: [Int32]?) {
        let n = subjects.time.count
        let p = columns.count
        self.p = p
        var means = [Double](repeating: 0, count: p)
        for j in 0..<p {
            var s = 0.0
            for v in columns[j] { s += v }
            means[j] = s / Double(n)
        }
        let stratumCount = strata.map { Int(($0.max() ?? 0) + 1) } ?? 1
        var parts: [CoxProblem] = []
        parts.reserveCapacity(stratumCount)
        for stratum in 0..<stratumCount {
            // Positions in the global exit-time order that belong to this stratum (still sorted).
            // Unstratified: every position, without an array of a million indices.
            let members: [Int]? = strata.map { strata in
                (0..<n).filter { strata[Int(subjects.order[$0])] == Int32(stratum) }
            }
            let m = members?.count ?? n
            if m == 0 { continue }
            var localRank: [Int32] = []  // subject -> position within this part (entry only)
            if subjects.entry != nil { localRank = [Int32](repeating: -1, count: n) }
            // Unstratified, the part's times and events are the sorted ones themselves.
            var time = members == nil ? subjects.time : []
            var event = members == nil ? subjects.event : []
            if let members {
                time = members.map { subjects.time[$0] }
                event = members.map { subjects.event[$0] }
            }
            // The covariates gathered into exit-time order through raw pointers: the subjects are
            // read in random order, and array accesses cost more than the loads here.
            let x = [Double](unsafeUninitializedCapacity: m * p) { out, count in
                let columnBases = columns.map { $0.withUnsafeBufferPointer { $0.baseAddress! } }
                withExtendedLifetime(columns) {
                    subjects.order.withUnsafeBufferPointer { order in
                        means.withUnsafeBufferPointer { means in
                            for k in 0..<m {
                                let subject = Int(order[members?[k] ?? k])
                                for j in 0..<p { out[k &* p &+ j] = columnBases[j][subject] - means[j] }
                            }
                        }
                    }
                }
                count = m * p
            }
            if subjects.entry != nil {
                for k in 0..<m { localRank[Int(subjects.order[members?[k] ?? k])] = Int32(k) }
            }
            var entry: [Double]? = nil
            var entryPosition: [Int32] = []
            if let entryOrder = subjects.entryOrder, let entrySorted = subjects.entry {
                var e: [Double] = []
                e.reserveCapacity(m)
                entryPosition.reserveCapacity(m)
                for i in 0..<n {
                    let r = localRank[Int(entryOrder[i])]
                    if r >= 0 {
                        e.append(entrySorted[i])
                        entryPosition.append(r)
                    }
                }
                entry = e
            }
            parts.append(
                CoxProblem(n: m, p: p, time: time, event: event, x: x, entry: entry, entryPosition: entryPosition))
        }
        self.parts = parts
    }

    /// Log partial likelihood, score and information at beta, summed over strata.
    func evaluate(_ beta: [Double]) -> CoxProblem.State {
        if parts.count == 1 { return parts[0].evaluate(beta) }
        var total = CoxProblem.State(
            loglik: 0, u: [Double](repeating: 0, count: p), imat: [Double](repeating: 0, count: p * p))
        for part in parts {
            let s = part.evaluate(beta)
            total.loglik += s.loglik
            for j in 0..<p { total.u[j] += s.u[j] }
            for j in 0..<(p * p) { total.imat[j] += s.imat[j] }
        }
        return total
    }
}
