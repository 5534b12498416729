/// Stable ascending argsort of non-negative, finite doubles (times), by LSD radix sort on the
/// IEEE-754 bit patterns: for x >= 0 the bit pattern orders exactly like the value, so sorting is
/// O(n) passes instead of O(n log n) comparisons. Ties keep their input order.
///
/// - Precondition: every value is finite and >= 0 (the engine validates before sorting).
func argsortTimes(_ values: UnsafeBufferPointer<Double>) -> [Int32] {
    let n = values.count
    if n < 512 {
        var idx = (0..<n).map { Int32($0) }
        idx.sort { a, b in
            let va = values[Int(a)], vb = values[Int(b)]
            return va < vb || (va == vb && a < b)
        }
        return idx
    }
    var keys = [UInt64](repeating: 0, count: n)
    var idx = [Int32](repeating: 0, count: n)
    for i in 0..<n {
        let v = values[i]
        keys[i] = v == 0 ? 0 : v.bitPattern  // folds -0.0 into +0.0
        idx[i] = Int32(i)
    }
    var keys2 = [UInt64](repeating: 0, count: n)
    var idx2 = [Int32](repeating: 0, count: n)
    var counts = [Int](repeating: 0, count: 65536)
    var shift: UInt64 = 0
    while shift < 64 {
        for i in 0..<65536 { counts[i] = 0 }
        keys.withUnsafeBufferPointer { k in
            counts.withUnsafeMutableBufferPointer { c in
                for i in 0..<n { c[Int((k[i] >> shift) & 0xFFFF)] += 1 }
            }
        }
        // A pass where every key has the same digit would be a no-op.
        let first = Int((keys[0] >> shift) & 0xFFFF)
        if counts[first] == n {
            shift += 16
            continue
        }
        var total = 0
        for i in 0..<65536 {
            let c = counts[i]
            counts[i] = total
            total += c
        }
        keys.withUnsafeBufferPointer { k in
            idx.withUnsafeBufferPointer { ix in
                keys2.withUnsafeMutableBufferPointer { k2 in
                    idx2.withUnsafeMutableBufferPointer { ix2 in
                        counts.withUnsafeMutableBufferPointer { c in
                            for i in 0..<n {
                                let d = Int((k[i] >> shift) & 0xFFFF)
                                let pos = c[d]
                                c[d] = pos + 1
                                k2[pos] = k[i]
                                ix2[pos] = ix[i]
                            }
                        }
                    }
                }
            }
        }
        swap(&keys, &keys2)
        swap(&idx, &idx2)
        shift += 16
    }
    return idx
}

/// Convenience overload for arrays.
func argsortTimes(_ values: [Double]) -> [Int32] {
    values.withUnsafeBufferPointer { argsortTimes($0) }
}
