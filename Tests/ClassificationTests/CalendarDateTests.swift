import Testing

@testable import Classification

@Suite("CalendarDate") struct CalendarDateTests {
    @Test(
        "parses real ISO 8601 calendar dates",
        arguments: [
            ("2023-02-28", 2023, 2, 28), ("2024-02-29", 2024, 2, 29), ("2000-02-29", 2000, 2, 29),
            ("1900-01-01", 1900, 1, 1), ("2023-12-31", 2023, 12, 31), ("0999-01-05", 999, 1, 5),
        ])
    func parsesRealDates(text: String, year: Int, month: Int, day: Int) throws {
        let parsed = try #require(CalendarDate(iso: text))
        #expect(parsed.year == year && parsed.month == month && parsed.day == day)
        #expect(parsed.description == text)
    }

    @Test(
        "rejects impossible dates and other forms",
        arguments: [
            "2023-02-29", "2023-02-30", "1900-02-29", "2100-02-29", "2023-04-31", "2023-13-01", "2023-00-10",
            "2023-01-00", "2023-1-01", "20230101", "2023-01-01T00:00", " 2023-01-01", "2023-01-01Z", "31/01/2023",
            "+2023-01-01", "2023-W01-1", "2023-001", "", "0000-01-01", "2023-01-1a",
        ])
    func rejectsImpossibleDates(text: String) {
        #expect(CalendarDate(iso: text) == nil)
    }

    @Test("day numbers count from 1970-01-01")
    func dayNumbers() {
        #expect(date("1970-01-01").dayNumber == 0)
        #expect(date("1970-01-02").dayNumber == 1)
        #expect(date("1969-12-31").dayNumber == -1)
        // 2000-01-01 is day 10957 (30 years, 7 of them leap: 30*365 + 7); 2000 is a leap year.
        #expect(date("2000-01-01").dayNumber == 10957)
        #expect(date("2000-03-01").dayNumber == 10957 + 31 + 29)
        #expect(date("1900-01-01").dayNumber == -25567)
    }

    @Test("daysSince counts whole days across leap days and years")
    func daysSince() {
        #expect(date("2024-03-01").daysSince(date("2024-02-28")) == 2)
        #expect(date("2023-03-01").daysSince(date("2023-02-28")) == 1)
        #expect(date("2025-01-01").daysSince(date("2024-01-01")) == 366)
        #expect(date("2024-01-01").daysSince(date("2025-01-01")) == -366)
        #expect(date("2000-03-01").daysSince(date("1900-03-01")) == 36524 + 1)
    }

    @Test("day arithmetic round-trips through the day number")
    func arithmetic() {
        #expect(date("2024-02-28").adding(days: 1) == date("2024-02-29"))
        #expect(date("2024-02-28").adding(days: 2) == date("2024-03-01"))
        #expect(date("2024-01-01").adding(days: -1) == date("2023-12-31"))
        // Walk day by day from 1899 to 2030: each step is one day, and the parts agree with the
        // day number and with the printed form.
        var day = date("1899-12-25")
        var mismatches = 0
        for _ in 0..<(366 * 130) {
            guard let next = day.adding(days: 1) else {
                mismatches += 1
                break
            }
            let expected: (Int, Int, Int) =
                day.day < CalendarDate.daysIn(month: day.month, year: day.year)
                ? (day.year, day.month, day.day + 1)
                : (day.month == 12 ? (day.year + 1, 1, 1) : (day.year, day.month + 1, 1))
            if (next.year, next.month, next.day) != expected || next.daysSince(day) != 1
                || CalendarDate(iso: next.description) != next
            {
                mismatches += 1
            }
            day = next
        }
        #expect(mismatches == 0)
        #expect(day.year == 2030)
        #expect(CalendarDate(dayNumber: Int.max / 2) == nil)
    }

    @Test("orders chronologically")
    func ordering() {
        #expect(date("2023-12-31") < date("2024-01-01"))
        #expect(date("2024-01-31") < date("2024-02-01"))
        #expect(!(date("2024-01-01") < date("2024-01-01")))
        #expect(
            [date("2024-05-01"), date("1999-12-31"), date("2024-04-30")].sorted().map(\.description) == [
                "1999-12-31", "2024-04-30", "2024-05-01",
            ])
    }
}
