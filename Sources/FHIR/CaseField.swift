/// The leaf fields of the case data dictionary (DOMAIN.md section 9) by dotted path, with the FHIR
/// value type the generic rule of section 10 reads for each.
public enum CaseField {
    public enum Kind: Sendable, Equatable {
        /// An enum value: `valueCodeableConcept` (system `urn:icmm:value`, or a table value row).
        case code
        /// An array of enum values: one Observation per element.
        case codeArray
        case boolean
        case integer
        /// A number in the dictionary's unit: `valueQuantity` with a UCUM unit of the table.
        case quantity
        /// An ISO date: `valueDateTime`, date part.
        case date
    }

    /// The system of the generic rule's field codes.
    public static let fieldSystem = "urn:icmm:field"
    /// The system of the generic rule's enum values.
    public static let valueSystem = "urn:icmm:value"
    /// The value that sends an empty array field (e.g. FISH done, no abnormality found): a decision
    /// of this registry, as section 10 cannot send an empty array with one Observation per element.
    public static let emptyArrayValue = "none"

    private static let assessment: [(String, Kind)] = [
        ("serum_m_protein_g_dl", .quantity), ("urine_m_protein_mg_24h", .quantity), ("involved_flc_mg_l", .quantity),
        ("uninvolved_flc_mg_l", .quantity), ("flc_ratio_normal", .boolean), ("serum_immunofixation", .code),
        ("urine_immunofixation", .code), ("bone_marrow_plasma_cells_pct", .quantity),
        ("clonal_plasma_cells_in_marrow", .boolean), ("plasmacytoma", .code),
    ]

    /// Every field in data-dictionary order.
    public static let all: [(path: String, kind: Kind)] = {
        var fields: [(String, Kind)] = [
            ("external_id", .code), ("sex", .code), ("birth_year", .integer), ("mm_diagnosis_date", .date),
            ("isotype.heavy_chain", .code), ("isotype.light_chain", .code),
            ("staging.beta2_microglobulin_mg_l", .quantity), ("staging.albumin_g_dl", .quantity),
            ("staging.ldh_elevated", .boolean), ("staging.fish", .codeArray),
            ("intracranial.diagnosis_date", .date), ("intracranial.prior_lines", .integer),
            ("intracranial.imaging.modalities", .codeArray), ("intracranial.imaging.findings", .codeArray),
            ("intracranial.csf.cytology", .code), ("intracranial.csf.flow_cytometry", .code),
            ("intracranial.csf.contraindicated", .boolean), ("intracranial.biopsy.site", .code),
            ("intracranial.biopsy.plasma_cell_infiltrate", .boolean),
        ]
        for name in [
            "serum_total_protein", "urine_total_protein", "serum_electrophoresis", "urine_electrophoresis",
            "serum_immunofixation", "urine_immunofixation", "serum_free_light_chains",
        ] {
            fields.append(("workup." + name, .boolean))
        }
        fields += [
            ("therapy.agents", .codeArray), ("therapy.radiotherapy", .boolean), ("therapy.asct", .boolean),
            ("therapy.intrathecal", .boolean), ("therapy.neurosurgery", .boolean), ("response.reported", .code),
        ]
        for part in ["baseline", "best"] {
            for (name, kind) in assessment { fields.append(("response.\(part).\(name)", kind)) }
        }
        fields += [("outcome.progression_date", .date), ("outcome.death_date", .date), ("outcome.last_followup_date", .date)]
        return fields
    }()

    private static let kinds: [String: Kind] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0.kind) })

    public static func kind(of path: String) -> Kind? { kinds[path] }

    /// Each field's place in `all`: the mapping names a field by it (one lookup per code, then
    /// arrays instead of dictionaries keyed by the field's name).
    private static let positions = NameIndex(all.enumerated().map { ($1.path, $0) })

    static func position(of path: String) -> Int? { positions[path] }

    /// The JSON Pointer of each field of `all` (`/staging/albumin_g_dl`), by place.
    static let pointers: [String] = all.map { "/" + $0.path.split(separator: ".").joined(separator: "/") }

    /// The places of the fields the mapping sets itself.
    static let externalID = position(of: "external_id")!
    static let sex = position(of: "sex")!
    static let birthYear = position(of: "birth_year")!
    static let mmDiagnosisDate = position(of: "mm_diagnosis_date")!
    static let intracranialDiagnosisDate = position(of: "intracranial.diagnosis_date")!
    static let agents = position(of: "therapy.agents")!
    static let progressionDate = position(of: "outcome.progression_date")!
    static let deathDate = position(of: "outcome.death_date")!
    static let lastFollowupDate = position(of: "outcome.last_followup_date")!

    /// The case object's shape: a member is a field (its place in `all`) or an object of members.
    /// In `all`'s order, which lists each object's fields in one run (tested), so that a case
    /// built by walking it has its members in the order of the data dictionary.
    indirect enum Node: Sendable {
        case field(key: String, position: Int)
        case object(key: String, members: [Node])
    }

    static let shape: [Node] = nodes(all.indices.map { (all[$0].path.split(separator: ".").map(String.init)[...], $0) })

    private static func nodes(_ fields: [(keys: ArraySlice<String>, position: Int)]) -> [Node] {
        var shape: [Node] = []
        var index = 0
        while index < fields.count {
            let key = fields[index].keys.first!
            if fields[index].keys.count == 1 {
                shape.append(.field(key: key, position: fields[index].position))
                index += 1
                continue
            }
            var members: [(keys: ArraySlice<String>, position: Int)] = []
            while index < fields.count, fields[index].keys.count > 1, fields[index].keys.first == key {
                members.append((fields[index].keys.dropFirst(), fields[index].position))
                index += 1
            }
            shape.append(.object(key: key, members: nodes(members)))
        }
        return shape
    }

    private static let keyPaths: [String: (keys: [String], pointer: String, rank: Int)] = Dictionary(
        uniqueKeysWithValues: all.enumerated().map { rank, field in
            let keys = field.path.split(separator: ".").map(String.init)
            return (field.path, (keys, "/" + keys.joined(separator: "/"), rank))
        })

    /// `staging.albumin_g_dl` -> `["staging", "albumin_g_dl"]`.
    static func keys(_ path: String) -> [String] { keyPaths[path]?.keys ?? path.split(separator: ".").map(String.init) }

    /// Both, with one lookup.
    static func keysAndPointer(_ path: String) -> (keys: [String], pointer: String) {
        keyPaths[path].map { ($0.keys, $0.pointer) }
            ?? (path.split(separator: ".").map(String.init), "/" + path.split(separator: ".").joined(separator: "/"))
    }

    /// Keys, pointer and the field's place in `all` (nil for a path that is no field of it).
    /// Sorting fields by that place keeps together the fields that share any prefix of keys
    /// (`all` lists each object's fields in one run: tested).
    static func keysPointerAndRank(_ path: String) -> (keys: [String], pointer: String, rank: Int?) {
        if let known = keyPaths[path] { return (known.keys, known.pointer, known.rank) }
        let (keys, pointer) = keysAndPointer(path)
        return (keys, pointer, nil)
    }

    /// `staging.albumin_g_dl` -> `/staging/albumin_g_dl`.
    static func pointer(_ path: String) -> String {
        keyPaths[path]?.pointer ?? "/" + path.split(separator: ".").joined(separator: "/")
    }
}
