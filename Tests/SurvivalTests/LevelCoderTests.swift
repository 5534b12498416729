import Testing

@testable import Survival
import TestSupport

/// `LevelCoder` (the numbering of group keys and causes) must agree with `String ==` and a
/// dictionary on every kind of column: few short values, many, long ones, non-canonical ones.
@Suite struct LevelCoderTests {
    /// The reference: numbers in order of first sight by a dictionary (`String` hashing, which
    /// follows canonical equivalence as `==` does).
    static func reference(_ values: [String]) -> (levels: [String], numbers: [Int]) {
        var lookup: [String: Int] = [:]
        var levels: [String] = []
        let numbers = values.map { v -> Int in
            if let k = lookup[v] { return k }
            levels.append(v)
            lookup[v] = levels.count - 1
            return levels.count - 1
        }
        return (levels, numbers)
    }

    static func column(_ distinct: [String], count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in distinct[Int.random(in: 0..<distinct.count, using: &rng)] }
    }

    static func expectSameAsReference(_ values: [String]) {
        let (levels, numbers) = LevelCoder.number(values)
        let expected = reference(values)
        #expect(levels == expected.levels)
        #expect(numbers == expected.numbers)
    }

    @Test func fewShortValues() {
        Self.expectSameAsReference(Self.column(["0", "1", "2"], count: 1000, seed: 1))
        Self.expectSameAsReference(Self.column(["a"], count: 10, seed: 2))
        Self.expectSameAsReference([])
    }

    /// More levels than the linear scan (8) and than the word table (16): the table fills up,
    /// misses, and is switched off part way; numbers stay those of the dictionary.
    @Test func manyShortValues() {
        let distinct = (0..<40).map { "level-\($0)" }
        Self.expectSameAsReference(Self.column(distinct, count: 5000, seed: 3))
        Self.expectSameAsReference(Self.column(Array(distinct.prefix(12)), count: 500, seed: 4))
    }

    /// Values longer than 15 bytes live in their own storage: equal values have different
    /// words, so only `==` can tell them equal.
    @Test func longValuesEachWithItsOwnStorage() {
        let distinct = ["a value longer than fifteen bytes", "another value longer than fifteen", "x"]
        let values = Self.column(distinct, count: 2000, seed: 5).map { String(decoding: Array($0.utf8), as: UTF8.self) }
        Self.expectSameAsReference(values)
        #expect(LevelCoder.number(values).levels.count == 3)
    }

    /// "é" precomposed and decomposed are different bytes but equal strings: one level, as with
    /// `==` and `Set`, whichever comes first.
    @Test func canonicallyEquivalentValuesAreOneLevel() {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let values = Self.column([composed, decomposed, "tea"], count: 300, seed: 6)
        let (levels, numbers) = LevelCoder.number(values)
        #expect(levels.count == 2)
        #expect(numbers == Self.reference(values).numbers)
        #expect(Set(values).count == 2)
    }

    /// Group keys come out in code-point order whatever the order of first sight.
    @Test func groupKeysAreSortedAndIndexed() {
        let values = ["b", "c", "a", "b", "\u{E9}", "a", "B"]
        let (keys, index) = SurvivalAnalysis.groupIndices(values, count: values.count)
        #expect(keys == ["B", "a", "b", "c", "\u{E9}"])
        #expect(index.map { keys[$0] } == values)
    }
}
