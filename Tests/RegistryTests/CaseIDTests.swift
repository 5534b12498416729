import Foundation
@testable import Registry
import Testing

@Suite struct CaseIDTests {
    /// Lower-case UUIDs of version 7 (RFC 9562): 8-4-4-4-12 hex digits, version nibble 7, variant 10.
    @Test func aCaseIDIsALowerCaseVersion7UUID() throws {
        for _ in 0..<1_000 {
            let id = CaseStore.newCaseID()
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            #expect(groups[2].first == "7", "\(id)")
            #expect("89ab".contains(try #require(groups[3].first)), "\(id)")
            #expect(UUID(uuidString: id) != nil)
        }
    }

    /// The first 48 bits are the milliseconds, big-endian: ids sort by creation time, so the unique
    /// index on them grows at its right edge. Within one millisecond the rest is random.
    @Test func idsSortByTheirMillisecondAndDifferWithinOne() {
        let millisecond: UInt64 = 1_764_505_200_123  // 2025-11-30T12:20:00.123Z
        let id = CaseStore.newCaseID(milliseconds: millisecond)
        #expect(id.hasPrefix("019ad4b4-a5fb-7"), "\(id)")
        let sameMillisecond = (0..<1_000).map { _ in CaseStore.newCaseID(milliseconds: millisecond) }
        #expect(Set(sameMillisecond).count == 1_000)
        let ordered = (0..<200).map { CaseStore.newCaseID(milliseconds: millisecond + UInt64($0) * 977) }
        #expect(ordered == ordered.sorted())
        let now = CaseStore.currentMilliseconds()
        // The time part only (48 bits, `xxxxxxxx-xxxx`): within one millisecond the rest is random.
        #expect(CaseStore.newCaseID().prefix(13) >= CaseStore.newCaseID(milliseconds: now).prefix(13))
    }
}
