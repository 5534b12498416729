import Testing

@testable import FHIR

/// `NameIndex` finds exactly what a `Dictionary` keyed by the same names finds.
@Suite struct NameIndexTests {
    @Test func findsWhatADictionaryFinds() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghij.-/:0123456789")
        func name() -> String { String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }) }
        let entries = (0..<2000).map { index in (NameIndex<Int>.Name(first: name(), second: index % 3 == 0 ? "" : name()), index) }
        let index = NameIndex(entries)
        var dictionary: [NameIndex<Int>.Name: Int] = [:]
        for (name, value) in entries where dictionary[name] == nil { dictionary[name] = value }
        for (name, _) in entries { #expect(index[name.first, name.second] == dictionary[name]) }
        for _ in 0..<2000 {
            let probe = NameIndex<Int>.Name(first: name(), second: name())
            #expect(index[probe.first, probe.second] == dictionary[probe])
        }
    }

    @Test func theFirstValueOfANameIsKeptAndPartsAreNotRunTogether() {
        let index = NameIndex<Int>([(.init(first: "ab", second: "c"), 1), (.init(first: "a", second: "bc"), 2), (.init(first: "ab", second: "c"), 3)])
        #expect(index["ab", "c"] == 1)
        #expect(index["a", "bc"] == 2)
        #expect(index["abc", ""] == nil)
        #expect(index["abc"] == nil)
        #expect(index["", ""] == nil)
    }

    /// Names compare as `String` compares them: canonically equivalent names are one name, whether
    /// the index or the name looked up is the one not in ASCII.
    @Test func canonicallyEquivalentNamesAreTheSameName() {
        let ascii = NameIndex<Int>([("K", 1), ("cafe", 2)])
        #expect(ascii["\u{212A}"] == 1)  // KELVIN SIGN is K
        #expect(ascii["K"] == 1)
        #expect(ascii["caf\u{E9}"] == nil)
        let unicode = NameIndex<Int>([("\u{212A}", 1), ("caf\u{E9}", 2), ("plain", 3)])
        #expect(unicode["K"] == 1)
        #expect(unicode["cafe\u{301}"] == 2)  // e + COMBINING ACUTE ACCENT
        #expect(unicode["plain"] == 3)
        #expect(unicode["other"] == nil)
    }
}
