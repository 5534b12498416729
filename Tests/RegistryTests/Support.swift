import Classification
import Cohorts
import Foundation

/// The repository root, found from this file's path (the tests read fixtures of other targets).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL.path

func date(_ iso: String) -> CalendarDate { CalendarDate(iso: iso)! }

/// A cohort row whose outcome is `days` after the intracranial diagnosis (2020-01-01), death or
/// censoring; the other fields as given.
func row(
    days: Int, dead: Bool, site: String = "A", sex: String = "female", localization: String = "OD",
    therapy: String = "novel", iss: Int? = 1, birthYear: Int? = 1950, progressionDays: Int? = nil,
    responseGroup: String? = "CR+VGPR"
) -> CohortRow {
    let ic = date("2020-01-01")
    let end = ic.adding(days: days)!
    return CohortRow(
        site: site, sex: sex, birthYear: birthYear, mmDiagnosis: date("2019-01-01"), icDiagnosis: ic,
        progression: progressionDays.map { ic.adding(days: $0)! }, death: dead ? end : nil, lastFollowup: dead ? nil : end,
        localization: localization, responseGroup: responseGroup, therapyClass: therapy, asct: true, radiotherapy: false,
        intrathecal: nil, iss: iss, cnsRisk: nil, rISS: nil)
}
