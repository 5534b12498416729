import Foundation
import Testing

@testable import Survival

/// `CSVNumber.parse` must give the very double `Double(String)` gives (it replaced it in the CSV
/// reader): compared bit for bit on edge cases and on many random values in the forms CSV
/// writers use.
@Suite struct CSVNumberTests {
    private func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { CSVNumber.parse($0) }
    }

    private func expectSame(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = Double(text)
        let actual = parse(text)
        #expect(
            expected?.bitPattern == actual?.bitPattern, "'\(text)': \(String(describing: actual)) != \(String(describing: expected))",
            sourceLocation: sourceLocation)
    }

    @Test func edgeCasesMatchDoubleFromString() {
        let cases = [
            "0", "-0", "+0", "0.0", "-0.0", "00", "007", "1", "-1", "+1", "1.", ".5", "-.5", "+.5", ".", "-", "+", "",
            "1e5", "1E5", "1e+5", "1e-5", "1e", "1e+", "e5", ".e1", "1.5e3", "-1.5E-3", "1e22", "1e23", "1e-22", "1e-23",
            "9007199254740992", "9007199254740993", "9007199254740991.5", "18446744073709551615",
            "18446744073709551616", "1234567890123456789", "12345678901234567890", "0.1234567890123456789",
            "0.000000000000000000000000001", "4.250808", "0.355769", "1.112334", "4.1e-05", "0.000126",
            "1e308", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "2.2250738585072014e-308",
            "4.9e-324", "2.4e-324", "1e-400", "1e99999", "1e-99999", "0e99999", "inf", "-inf", "Infinity", "nan",
            "NaN", "0x1p3", "0X10", "1_000", "1,5", "1 ", " 1", "1d", "1f", "12abc", "--1", "+-1", "1..2", "1.2.3",
            "1e5.5", "٣", "１", "0.30000000000000004", "0.1", "0.2", "0.3", "123456789012345678e-10",
            "9007199254740993e-22", "9007199254740992e-22", "9007199254740992e22", "9007199254740992e23",
        ]
        for text in cases { expectSame(text) }
    }

    @Test func randomValuesInManyFormsMatchBitForBit() {
        var generator = SystemRandomNumberGenerator()
        var texts: [String] = []
        for _ in 0..<40_000 {
            // Doubles of every magnitude, as Swift prints them (shortest round trip) ...
            let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
            let any = Double(bitPattern: bits)
            if any.isFinite { texts.append(any.description) }
            // ... uniform values in the ranges survival data has, at fixed decimals (R's
            // write.csv, printf) and with exponents ...
            let value = Double.random(in: -1e6...1e6, using: &generator)
            let decimals = Int.random(in: 0...20, using: &generator)
            texts.append(String(format: "%.\(decimals)f", value))
            texts.append(String(format: "%.\(decimals)e", value))
            texts.append(String(format: "%.\(decimals)g", value))
            // ... and integers and decimal digit strings near the fast path's limits.
            let digits = Int.random(in: 1...22, using: &generator)
            var s = ""
            for _ in 0..<digits { s.append(Character(String(Int.random(in: 0...9, using: &generator)))) }
            let point = Int.random(in: 0...digits, using: &generator)
            s.insert(".", at: s.index(s.startIndex, offsetBy: point))
            texts.append(s)
            texts.append(s + "e\(Int.random(in: -30...30, using: &generator))")
        }
        var mismatches: [String] = []
        for text in texts {
            let expected = Double(text), actual = parse(text)
            if expected?.bitPattern != actual?.bitPattern { mismatches.append(text) }
        }
        #expect(texts.count > 200_000)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func fastPathTakesTheCommonForms() {
        // The benchmark's values go the fast way, not through strtod.
        for text in ["4.250808", "0", "1", "-3.5", "1e-05", "0.000126", "123456.789"] {
            var t = text
            #expect(t.withUTF8 { CSVNumber.fastPath($0) } != nil, "\(text)")
        }
    }
}
