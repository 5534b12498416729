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
    public func cohortRowsWithVersion(_ filter: CohortFilter, site: String?) throws -> ([CohortRow], Int) {
        try database.read { connection in
            try connection.transaction(immediate: false) {
                let version = try connection.queryOne(Self.dataVersionSQL(connection.dialect)) { $0.int(0) } ?? 0
                return (try cohortRows(filter, site: site, connection: connection), version)
            }
        }
    }

    /// The cases of a cohort. `site` restricts to one site (a submitter's view); nil is every site.
    public func cohortRows(_ filter: CohortFilter, site: String?) throws -> [CohortRow] {
        try database.read { try cohortRows(filter, site: site, connection: $0) }
    }

    func cohortRows(_ filter: CohortFilter, site: String?, connection: Connection) throws -> [CohortRow] {
        var sql = """
            SELECT site, sex, birth_year, mm_diagnosis_date, ic_diagnosis_date, progression_date, death_date,
                last_followup_date, localization, response_group, therapy_class, asct, radiotherapy, intrathecal, iss,
                cns_risk, r_iss
            FROM cases WHERE 1 = 1
            """
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
        return try connection.query(sql, arguments) { row in
                func date(_ i: Int) -> CalendarDate? { row.withUTF8(i, CalendarDate.parseStored) ?? nil }
                func flag(_ i: Int) -> Bool? { row.optionalInt(i).map { $0 != 0 } }
                guard let mm = date(3), let ic = date(4) else { throw RegistryError.notFound }
                return CohortRow(
                    site: row.string(0), sex: row.string(1), birthYear: row.optionalInt(2), mmDiagnosis: mm, icDiagnosis: ic,
                    progression: date(5), death: date(6), lastFollowup: date(7), localization: row.string(8),
                    responseGroup: row.optionalString(9), therapyClass: row.string(10), asct: flag(11), radiotherapy: flag(12),
                    intrathecal: flag(13), iss: row.optionalInt(14), cnsRisk: row.optionalInt(15), rISS: row.optionalInt(16))
        }
    }
}

extension CalendarDate {
    /// Parses a stored `YYYY-MM-DD` (written by the registry from a valid CalendarDate) straight
    /// from the database's bytes: cohort scans read five dates per case.
    static func parseStored(_ bytes: UnsafeBufferPointer<UInt8>) -> CalendarDate? {
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let d = Int(bytes[i]) - 0x30
                guard d >= 0 && d <= 9 else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10) else { return nil }
        return CalendarDate(year: year, month: month, day: day)
    }
}
