@testable import FHIR
import JSON
import Testing

/// `TransactionResponse.write` writes the answer without building its tree: the bytes must be
/// those of the tree (`bundle`) written by `JSONValue.write`.
@Suite struct TransactionResponseTests {
    static func treeBytes(_ outcomes: [CaseWriteOutcome], ignored: [IngestedBundle.IgnoredCount], dryRun: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        TransactionResponse.bundle(outcomes, ignored: ignored, dryRun: dryRun).write(into: &bytes)
        return bytes
    }

    static func writtenBytes(_ outcomes: [CaseWriteOutcome], ignored: [IngestedBundle.IgnoredCount], dryRun: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        TransactionResponse.write(outcomes, ignored: ignored, dryRun: dryRun, into: &bytes)
        return bytes
    }

    @Test func theAnswerIsWrittenAsItsTreeWouldBe() throws {
        let classification: JSONValue = [
            "localization": "OD", "rules": ["L1", "L2"], "note": "a \"quoted\" text\\ with\ttab and \u{1} control, é and 🧠",
            "stage": 2,
        ]
        let outcomes = [
            CaseWriteOutcome(externalID: "B-0", result: "created", classification: classification),
            CaseWriteOutcome(externalID: "id with \"quotes\" and /slash/ é", result: "updated", classificationText: "{}"),
            CaseWriteOutcome(externalID: "", result: "unchanged", classificationText: "\u{0}\n\r\u{8}\u{C}\\\""),
            CaseWriteOutcome(externalID: String(repeating: "x", count: 300), result: "created", classificationText: String(repeating: "ab\"", count: 700)),
            // Every control character, DEL (not escaped) and a few others.
            CaseWriteOutcome(
                externalID: "c", result: "created",
                classificationText: String(decoding: Array(0...0x20) + [0x7F, 0x22, 0x5C, 0x2F, 0x41], as: UTF8.self)),
        ]
        let ignored = [
            IngestedBundle.IgnoredCount(resourceType: "Encounter", count: 3),
            IngestedBundle.IgnoredCount(resourceType: "Medication", count: 1),
        ]
        var checked = 0
        for count in [0, 1, 2, 5] {
            for ignoredCount in [0, 1, 2] {
                for dryRun in [false, true] {
                    let chosen = Array(outcomes.prefix(count))
                    let chosenIgnored = Array(ignored.prefix(ignoredCount))
                    let written = Self.writtenBytes(chosen, ignored: chosenIgnored, dryRun: dryRun)
                    #expect(written == Self.treeBytes(chosen, ignored: chosenIgnored, dryRun: dryRun), "\(count) cases, \(ignoredCount) ignored, dry run \(dryRun)")
                    // And it is the tree, read back.
                    #expect(try JSONValue.parse(written) == TransactionResponse.bundle(chosen, ignored: chosenIgnored, dryRun: dryRun))
                    checked += 1
                }
            }
        }
        #expect(checked == 24)
    }
}
