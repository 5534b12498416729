import Classification
import Cohorts
import Storage

extension CohortField {
    /// The `cases` column behind the field.
    var column: String {
        switch self {
        case .responseGroup: "response_group"
        case .therapyClass: "therapy_class"
        case .cnsRisk: "cns_risk"
        default: rawValue
        }
    }
}

extension CaseStore {
    /// The cases of a cohort and the data version they belong to, read in one transaction.
    /// `reading`: see `cohortRows(_:site:reading:)`.
    public func cohortRowsWithVersion(_ filter: CohortFilter, site: String?, reading: CohortRowReading = .everything) throws -> (
        [CohortRow], Int
    ) {
        try database.read { connection in
            try connection.transaction(immediate: false) {
                let version = try connection.queryOne(Self.dataVersionSQL(connection.dialect)) { $0.int(0) } ?? 0
                return (try cohortRows(filter, site: site, reading: reading, connection: connection), version)
            }
        }
    }

    /// The cases of a cohort. `site` restricts to one site (a submitter's view); nil is every site.
    /// `reading`: the columns to read (`CohortRowReading`); the others are left empty. For an
    /// analysis that declares what it reads (`SurvivalQuery.reading`): fewer columns make the
    /// scan, the largest cost of a cold cohort query, several times cheaper.
    public func cohortRows(_ filter: CohortFilter, site: String?, reading: CohortRowReading = .everything) throws -> [CohortRow] {
        try database.read { try cohortRows(filter, site: site, reading: reading, connection: $0) }
    }

    func cohortRows(_ filter: CohortFilter, site: String?, reading: CohortRowReading, connection: Connection) throws -> [CohortRow] {
        func reads(_ field: CohortField) -> Bool { reading.fields.contains(field) }
        func reads(_ date: CohortDate) -> Bool { reading.dates.contains(date) }
        // Only the columns read are selected (a NULL placeholder per unread column cost PostgreSQL's
        // client library as much as a real column); `position` maps each to its place in the row.
        let columns: [(name: String, read: Bool)] = [
            ("site", reads(.site)), ("sex", reads(.sex)), ("birth_year", reading.birthYearAndRISS),
            ("mm_diagnosis_date", reads(.mmDiagnosis)), ("ic_diagnosis_date", true), ("progression_date", reads(.progression)),
            ("death_date", reads(.death)), ("last_followup_date", reads(.lastFollowup)),
            ("localization", reads(.localization)), ("response_group", reads(.responseGroup)),
            ("therapy_class", reads(.therapyClass)), ("asct", reads(.asct)), ("radiotherapy", reads(.radiotherapy)),
            ("intrathecal", reads(.intrathecal)), ("iss", reads(.iss)), ("cns_risk", reads(.cnsRisk)),
            ("r_iss", reading.birthYearAndRISS),
        ]
        let read = columns.map(\.read)
        let selected = columns.filter(\.read).map(\.name)
        // A constant (captured `var`s cost an exclusivity check per access in the row closure).
        let position = read.indices.map { i in read[i] ? read[..<i].count(where: { $0 }) : -1 }
        var sql = "SELECT " + selected.joined(separator: ", ") + " FROM cases WHERE 1 = 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let site {
            sql += " AND site = ?"
            arguments.append(site)
        }
        for field in filter.values.keys.sorted() {
            let values = filter.values[field] ?? []
            guard !values.isEmpty else { continue }
            sql += " AND \(field.column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))"
            for value in values {
                if field.isBoolean {
                    arguments.append(value == "true" ? 1 : 0)
                } else if field.isInteger {
                    arguments.append(Int(value) ?? -1)
                } else {
                    arguments.append(value)
                }
            }
        }
        if let from = filter.icDiagnosisFrom {
            sql += " AND ic_diagnosis_date >= ?"
            arguments.append(from.description)
        }
        if let to = filter.icDiagnosisTo {
            sql += " AND ic_diagnosis_date <= ?"
            arguments.append(to.description)
        }
        // The scan is the cold cohort query's largest cost (100,000 rows and more): each row is read
        // through the public Row accessors without a String per column (the few distinct texts
        // are made once, dates are parsed from the bytes into day numbers), and appended to an
        // array of this module's own type rather than through the generic mapping's result.
        var rows: [CohortRow] = []
        // Reserved once for every case (an upper bound with filters): growing by doubling copied the
        // rows up to 17 times and faulted in fresh pages each time; pages beyond the cohort are
        // never touched, so the reserve costs address space, not memory. SQLite counts from its
        // smallest index (about 1 ms at 100,000 cases); PostgreSQL would scan the table for it, so
        // there the array grows.
        if connection.dialect == .sqlite {
            rows.reserveCapacity(try connection.queryOne("SELECT count(*) FROM cases") { $0.int(0) } ?? 0)
        }
        var sites = ColumnTexts(), sexes = ColumnTexts(), localizations = ColumnTexts()
        var responseGroups = ColumnTexts(), therapyClasses = ColumnTexts()
        try connection.forEachRow(sql, arguments) { row in
            if rows.isEmpty, let count = row.resultRowCount { rows.reserveCapacity(count) }
            // `i` is the column's place in `columns`; unread columns are never asked for.
            func day(_ i: Int) -> Int32 {
                guard read[i], let text = row.utf8(position[i]) else { return CohortRow.noDate }
                return CalendarDate.storedDayNumber(text)
            }
            func text(_ texts: inout ColumnTexts, _ i: Int) -> String { read[i] ? texts.text(row.utf8(position[i])) : "" }
            func flag(_ i: Int) -> Bool? { !read[i] || row.isNull(position[i]) ? nil : row.int64(position[i]) != 0 }
            func int(_ i: Int) -> Int? { read[i] ? row.optionalInt(position[i]) : nil }
            let mm = day(3), ic = day(4)
            // Both diagnoses are NOT NULL: an unparsable one is a damaged row, not a case to skip.
            guard !read[3] || mm != CohortRow.noDate, ic != CohortRow.noDate else { throw RegistryError.notFound }
            rows.append(
                CohortRow(
                    site: text(&sites, 0), sex: text(&sexes, 1), birthYear: int(2), mmDiagnosisDay: mm, icDiagnosisDay: ic,
                    progressionDay: day(5), deathDay: day(6), lastFollowupDay: day(7), localization: text(&localizations, 8),
                    responseGroup: !read[9] || row.isNull(position[9]) ? nil : responseGroups.text(row.utf8(position[9])),
                    therapyClass: text(&therapyClasses, 10), asct: flag(11), radiotherapy: flag(12), intrathecal: flag(13),
                    iss: int(14), cnsRisk: int(15), rISS: int(16)))
        }
        return rows
    }
}

/// The texts of one column during a scan: each distinct value becomes a String once, later rows
/// with the same bytes reuse it (a vocabulary column has a handful of values, the site column a
/// few dozen), which saves validating and building a String per row and column.
struct ColumnTexts {
    private var bytes: [[UInt8]] = []
    private var strings: [String] = []
    /// Distinct values remembered; beyond them a String is made per row, as before.
    private static let capacity = 64

    /// The column's text from its bytes (`Row.utf8`; nil, NULL, reads "" as `Row.string`).
    mutating func text(_ utf8: UnsafeBufferPointer<UInt8>?) -> String {
        guard let text = utf8 else { return "" }
        for i in bytes.indices where Self.equal(bytes[i], text) { return strings[i] }
        let string = String(decoding: text, as: UTF8.self)
        if bytes.count < Self.capacity {
            bytes.append(Array(text))
            strings.append(string)
        }
        return string
    }

    private static func equal(_ known: [UInt8], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard known.count == text.count else { return false }
        return known.withUnsafeBufferPointer { known in
            for i in 0..<known.count where known[i] != text[i] { return false }
            return true
        }
    }
}

extension CalendarDate {
    /// The day number (`dayNumber`) of a stored `YYYY-MM-DD` (written by the registry from a valid
    /// CalendarDate), parsed straight from the database's bytes; `CohortRow.noDate` when the text
    /// is not such a date. Cohort scans read five dates per case.
    static func storedDayNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return CohortRow.noDate }
        var valid = true
        func digit(_ i: Int) -> Int {
            let value = Int(bytes[i]) &- 0x30
            if value < 0 || value > 9 { valid = false }
            return value
        }
        let year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3)
        let month = digit(5) * 10 + digit(6)
        let day = digit(8) * 10 + digit(9)
        guard valid, let date = CalendarDate(year: year, month: month, day: day) else { return CohortRow.noDate }
        return Int32(date.dayNumber)
    }
}
