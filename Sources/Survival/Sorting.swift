/// Stable ascending sort of non-negative, finite doubles (times) that also returns the
/// permutation, by LSD radix sort on the IEEE-754 bit patterns: for x >= 0 the bit pattern orders
/// exactly like the value, so the sort takes a fixed number of linear passes. Only the bits that
/// differ between keys are sorted on (the span from the lowest to the highest such bit, in
/// 11-bit digits: whole days up to a few thousand take two passes), and passes where every key
/// has the same digit are skipped. Ties keep their input order.
///
/// - Precondition: every value is finite and >= 0 (the engine validates before sorting).
/// - Returns: `order` (subject indices, ascending by value) and `sorted` (the values in that order).
func sortTimes(_ values: UnsafeBufferPointer<Double>) -> (order: [Int32], sorted: [Double]) {
    let n = values.count
    if n < 256 {
        var idx = (0..<n).map { Int32($0) }
        idx.sort { a, b in
            let va = values[Int(a)], vb = values[Int(b)]
            return va < vb || (va == vb && a < b)
        }
        return (idx, idx.map { values[Int($0)] == 0 ? 0 : values[Int($0)] })
    }
    var anyBits: UInt64 = 0, allBits: UInt64 = ~0
    var keys = [UInt64](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n {
            let v = values[i]
            let key = v == 0 ? 0 : v.bitPattern  // folds -0.0 into +0.0
            buffer[i] = key
            anyBits |= key
            allBits &= key
        }
        count = n
    }
    var idx = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n { buffer[i] = Int32(i) }
        count = n
    }
    // Bits outside [low, high) are the same in every key, so they cannot change the order.
    let varying = anyBits ^ allBits
    if varying == 0 { return (idx, keys.map { Double(bitPattern: $0) }) }
    let low = UInt64(varying.trailingZeroBitCount), high = UInt64(64 - varying.leadingZeroBitCount)
    let digitBits: UInt64 = 11
    let buckets = 1 << Int(digitBits)
    let passes = Int((high - low + digitBits - 1) / digitBits)
    // All digit histograms in one pass.
    var counts = [Int](repeating: 0, count: buckets * passes)
    keys.withUnsafeBufferPointer { k in
        counts.withUnsafeMutableBufferPointer { c in
            for i in 0..<n {
                var key = k[i] >> low
                for pass in 0..<passes {
                    c[pass &* buckets &+ Int(key & UInt64(buckets - 1))] &+= 1
                    key >>= digitBits
                }
            }
        }
    }
    var keys2 = [UInt64](repeating: 0, count: n)
    var idx2 = [Int32](repeating: 0, count: n)
    for pass in 0..<passes {
        let base = pass * buckets
        let shift = low + UInt64(pass) * digitBits
        let firstDigit = Int((keys[0] >> shift) & UInt64(buckets - 1))
        if counts[base + firstDigit] == n { continue }  // every key has this digit: a no-op pass
        var total = 0
        for d in 0..<buckets {
            let c = counts[base + d]
            counts[base + d] = total
            total += c
        }
        keys.withUnsafeBufferPointer { k in
            idx.withUnsafeBufferPointer { ix in
                keys2.withUnsafeMutableBufferPointer { k2 in
                    idx2.withUnsafeMutableBufferPointer { ix2 in
                        counts.withUnsafeMutableBufferPointer { c in
                            for i in 0..<n {
                                let key = k[i]
                                let slot = base &+ Int((key >> shift) & UInt64(buckets - 1))
                                let pos = c[slot]
                                c[slot] = pos &+ 1
                                k2[pos] = key
                                ix2[pos] = ix[i]
                            }
                        }
                    }
                }
            }
        }
        swap(&keys, &keys2)
        swap(&idx, &idx2)
    }
    keys2 = []
    idx2 = []
    let sorted = [Double](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n { buffer[i] = Double(bitPattern: keys[i]) }
        count = n
    }
    return (idx, sorted)
}

func sortTimes(_ values: [Double]) -> (order: [Int32], sorted: [Double]) {
    values.withUnsafeBufferPointer { sortTimes($0) }
}

/// Permutation only (see `sortTimes`).
func argsortTimes(_ values: [Double]) -> [Int32] {
    sortTimes(values).order
}

/// Number of distinct values in an ascending array.
func distinctCount(_ sorted: [Double]) -> Int {
    if sorted.isEmpty { return 0 }
    var count = 1
    for i in 1..<sorted.count where sorted[i] != sorted[i - 1] { count += 1 }
    return count
}

/// Subjects sorted once by exit time (and entry time), shared by every stage of an analysis.
struct SortedSubjects {
    /// Subject indices by ascending exit time (stable).
    let order: [Int32]
    /// Exit times, ascending.
    let time: [Double]
    /// Events in the same order.
    let event: [Bool]
    /// Subject indices by ascending entry time, and the entry times in that order (delayed entry only).
    let entryOrder: [Int32]?
    let entry: [Double]?

    init(time: [Double], event: [Bool], entry: [Double]?) {
        let (order, sorted) = sortTimes(time)
        self.order = order
        self.time = sorted
        self.event = order.map { event[Int($0)] }
        if let entry {
            let (entryOrder, entrySorted) = sortTimes(entry)
            self.entryOrder = entryOrder
            self.entry = entrySorted
        } else {
            self.entryOrder = nil
            self.entry = nil
        }
    }
}
