import JSON
import Testing

@testable import Classification

/// "Today" for every test: fixed, never the clock.
let today = CalendarDate(year: 2025, month: 6, day: 30)!

func date(_ text: String) -> CalendarDate {
    guard let date = CalendarDate(iso: text) else { fatalError("bad test date") }
    return date
}

/// The smallest valid case: only the required fields.
let minimalCase: JSONValue = [
    "external_id": "SITE-001",
    "sex": "male",
    "mm_diagnosis_date": "2023-03-01",
    "intracranial": ["diagnosis_date": "2023-03-10", "imaging": ["findings": []]],
    "outcome": ["last_followup_date": "2025-01-15"],
]

/// A case with every field of the data dictionary: the source letter's patient (para-osseous
/// skull-base mass with leptomeningeal enhancement, negative CSF cytology, flow not done).
let fullCase: JSONValue = [
    "external_id": "rome.2024_07-a",
    "sex": "male",
    "birth_year": 1951,
    "mm_diagnosis_date": "2021-05-03",
    "isotype": ["heavy_chain": "IgG", "light_chain": "kappa"],
    "staging": [
        "beta2_microglobulin_mg_l": 4.2, "albumin_g_dl": 3.1, "ldh_elevated": false, "fish": ["gain1q", "t(4;14)"],
    ],
    "intracranial": [
        "diagnosis_date": "2024-02-12",
        "prior_lines": 2,
        "imaging": [
            "modalities": ["mri", "pet_ct"],
            "findings": ["skull_base_lesion", "para_osseous_mass", "leptomeningeal_enhancement"],
        ],
        "csf": ["cytology": "negative", "flow_cytometry": "not_done", "contraindicated": false],
        "biopsy": ["site": "bone", "plasma_cell_infiltrate": true],
    ],
    "workup": [
        "serum_total_protein": true, "urine_total_protein": true, "serum_electrophoresis": true,
        "urine_electrophoresis": true, "serum_immunofixation": true, "urine_immunofixation": true,
        "serum_free_light_chains": false,
    ],
    "therapy": [
        "agents": ["carfilzomib", "dexamethasone"], "radiotherapy": true, "asct": false, "intrathecal": false,
        "neurosurgery": false,
    ],
    "response": [
        "reported": "CR",
        "baseline": [
            "serum_m_protein_g_dl": 2.4, "urine_m_protein_mg_24h": 350, "involved_flc_mg_l": 410.5,
            "uninvolved_flc_mg_l": 8.2, "flc_ratio_normal": false, "serum_immunofixation": "positive",
            "urine_immunofixation": "positive", "bone_marrow_plasma_cells_pct": 35,
            "clonal_plasma_cells_in_marrow": true,
            "plasmacytoma": "present",
        ],
        "best": [
            "serum_m_protein_g_dl": 0, "urine_m_protein_mg_24h": 0, "involved_flc_mg_l": 15,
            "uninvolved_flc_mg_l": 9, "flc_ratio_normal": true, "serum_immunofixation": "negative",
            "urine_immunofixation": "negative", "bone_marrow_plasma_cells_pct": 2,
            "clonal_plasma_cells_in_marrow": false,
            "plasmacytoma": "disappeared",
        ],
    ],
    "outcome": ["progression_date": "2025-01-20", "last_followup_date": "2025-06-01"],
]

extension JSONValue {
    /// A copy with the member at `path` (object keys) set, or removed when `value` is nil.
    /// Missing intermediate objects are created.
    func setting(_ path: [String], _ value: JSONValue?) -> JSONValue {
        guard let key = path.first else { return value ?? .null }
        var members = objectValue ?? [:]
        if path.count == 1 {
            members[key] = value
        } else {
            members[key] = (members[key] ?? .object([:])).setting(Array(path.dropFirst()), value)
        }
        return .object(members)
    }

    func setting(_ pointer: String, _ value: JSONValue?) -> JSONValue {
        setting(pointer.split(separator: "/").map(String.init), value)
    }
}

/// The errors of an invalid case, or an empty list (and a test failure) when it was accepted.
func errors(_ json: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) -> [CaseValidationError] {
    switch CaseRecord.validate(json, today: today) {
    case .success:
        Issue.record("expected the case to be rejected", sourceLocation: sourceLocation)
        return []
    case .failure(let failure):
        return failure.errors
    }
}

/// The record of a valid case (a test failure listing the errors when it was rejected).
func record(_ json: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws -> CaseRecord {
    switch CaseRecord.validate(json, today: today) {
    case .success(let record):
        return record
    case .failure(let failure):
        Issue.record("expected a valid case, got: \(failure)", sourceLocation: sourceLocation)
        throw failure
    }
}

/// `path code` pairs, easy to compare.
func summary(_ errors: [CaseValidationError]) -> [String] {
    errors.map { "\($0.path) \($0.code.rawValue)" }
}
