import JSON

extension CaseRecord {
    /// Validates one case against the data dictionary, version 1 (DOMAIN.md section 9), and builds
    /// the typed record. The registry and `POST /v1/classify` both call this one function.
    ///
    /// Every violation is collected (not only the first): field errors in data-dictionary order,
    /// each object's unknown keys (alphabetical) before its fields, chronology errors last. Checks:
    /// - the document and every nested section are objects; unknown keys are `unknown_field`;
    /// - required: `external_id`, `sex`, `mm_diagnosis_date`, `intracranial`,
    ///   `intracranial.diagnosis_date`, `intracranial.imaging`, `intracranial.imaging.findings`
    ///   (may be empty), and `outcome.last_followup_date` unless `outcome.death_date` is given;
    /// - types (`invalid_type`): `null` is accepted only where the dictionary says "or null"
    ///   (`outcome.progression_date`, `outcome.death_date`); elsewhere leave the field out;
    ///   integers (`birth_year`, `prior_lines`) must be whole numbers;
    /// - enums (`invalid_enum`), exact spelling and case; arrays of enums: each element checked
    ///   (path `/therapy/agents/2`), repeats dropped (see `CaseRecord`);
    /// - `external_id` pattern `[A-Za-z0-9._-]{1,64}` (`invalid_format`);
    /// - plausible ranges, inclusive (`out_of_range`): serum M-protein 0-20 g/dL, urine M-protein
    ///   0-50,000 mg/24 h, FLC 0-100,000 mg/L, marrow plasma cells 0-100 %, beta2-microglobulin
    ///   0-100 mg/L, albumin 0.5-7 g/dL, prior lines 0-20, birth year 1900 to today's year;
    /// - dates: strict `YYYY-MM-DD` real calendar dates (`invalid_date`), on or after 1900-01-01
    ///   (`out_of_range`), not after `today` (`future_date`);
    /// - chronology (`chronology`), checked only between dates that are themselves valid: death on
    ///   or after every other date; progression and last follow-up on or after the intracranial
    ///   diagnosis; intracranial diagnosis at most 365 days before the myeloma diagnosis. Beyond
    ///   DOMAIN.md (impossible by definition): neither diagnosis may fall in a year before `birth_year`.
    ///
    /// Messages name the rule, never the submitted value.
    /// - Parameters:
    ///   - json: the parsed request body.
    ///   - today: the current date, injected (the engine reads no clock).
    public static func validate(_ json: JSONValue, today: CalendarDate) -> Result<CaseRecord, CaseValidationErrors> {
        var validator = CaseValidator(today: today)
        if let record = validator.validateCase(json), validator.errors.isEmpty {
            return .success(record)
        }
        return .failure(CaseValidationErrors(validator.errors))
    }

    /// Throwing form of `validate(_:today:)`.
    public init(validating json: JSONValue, today: CalendarDate) throws(CaseValidationErrors) {
        switch Self.validate(json, today: today) {
        case .success(let record): self = record
        case .failure(let errors): throw errors
        }
    }
}

/// The earliest date the registry accepts (DOMAIN.md section 9: "not before 1900").
let earliestAcceptedDate = CalendarDate(year: 1900, month: 1, day: 1)!

/// How far the intracranial diagnosis may precede the myeloma diagnosis (DOMAIN.md section 9).
let maximumDaysIntracranialBeforeMyeloma = 365

private struct CaseValidator {
    let today: CalendarDate
    var errors: [CaseValidationError] = []

    init(today: CalendarDate) { self.today = today }

    mutating func fail(_ pointer: JSONPointer, _ code: CaseValidationError.Code, _ message: String) {
        errors.append(CaseValidationError(pointer: pointer, code: code, message: message))
    }

    // MARK: The case

    mutating func validateCase(_ json: JSONValue) -> CaseRecord? {
        let root = JSONPointer.root
        guard let members = object(json, at: root, keys: Keys.root) else { return nil }

        let externalID = externalID(members["external_id"], at: root.appending("external_id"))
        let sex: CaseRecord.Sex? = enumValue(members["sex"], at: root.appending("sex"), required: true)
        let birthYear = integer(
            members["birth_year"], at: root.appending("birth_year"), range: 1900...today.year,
            rangeMessage: "must be a year from 1900 to the current year")
        let mmDiagnosisDate = date(
            members["mm_diagnosis_date"], at: root.appending("mm_diagnosis_date"), required: true)
        let isotype = isotype(members["isotype"], at: root.appending("isotype"))
        let staging = staging(members["staging"], at: root.appending("staging"))
        let intracranial = intracranial(members["intracranial"], at: root.appending("intracranial"))
        let workup = workup(members["workup"], at: root.appending("workup"))
        let therapy = therapy(members["therapy"], at: root.appending("therapy"))
        let response = response(members["response"], at: root.appending("response"))
        let outcome = outcome(members["outcome"], at: root.appending("outcome"))

        checkChronology(
            birthYear: birthYear, mmDiagnosis: mmDiagnosisDate, intracranialDiagnosis: intracranial.diagnosisDate,
            outcome: outcome)

        guard let externalID, let sex, let mmDiagnosisDate, let intracranialDiagnosis = intracranial.diagnosisDate,
            let imaging = intracranial.imaging
        else { return nil }
        return CaseRecord(
            externalID: externalID, sex: sex, birthYear: birthYear, mmDiagnosisDate: mmDiagnosisDate,
            isotype: isotype, staging: staging,
            intracranial: CaseRecord.Intracranial(
                diagnosisDate: intracranialDiagnosis, priorLines: intracranial.priorLines, imaging: imaging,
                csf: intracranial.csf, biopsy: intracranial.biopsy),
            workup: workup, therapy: therapy, response: response, outcome: outcome.record)
    }

    mutating func externalID(_ value: JSONValue?, at pointer: JSONPointer) -> String? {
        guard let text = string(value, at: pointer, required: true) else { return nil }
        let allowed = text.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": true
            default: false
            }
        }
        guard allowed, (1...64).contains(text.unicodeScalars.count) else {
            fail(
                pointer, .invalidFormat,
                "must be 1 to 64 characters, each a letter A-Z or a-z, a digit, '.', '_' or '-'")
            return nil
        }
        return text
    }

    mutating func isotype(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.Isotype? {
        guard let members = object(value, at: pointer, keys: Keys.isotype) else { return nil }
        return CaseRecord.Isotype(
            heavyChain: enumValue(members["heavy_chain"], at: pointer.appending("heavy_chain")),
            lightChain: enumValue(members["light_chain"], at: pointer.appending("light_chain")))
    }

    mutating func staging(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.Staging? {
        guard let members = object(value, at: pointer, keys: Keys.staging) else { return nil }
        return CaseRecord.Staging(
            beta2MicroglobulinMgL: number(
                members["beta2_microglobulin_mg_l"], at: pointer.appending("beta2_microglobulin_mg_l"), range: 0...100,
                unit: "mg/L"),
            albuminGDl: number(
                members["albumin_g_dl"], at: pointer.appending("albumin_g_dl"), range: 0.5...7, unit: "g/dL"),
            ldhElevated: bool(members["ldh_elevated"], at: pointer.appending("ldh_elevated")),
            fish: enumArray(members["fish"], at: pointer.appending("fish")))
    }

    struct PartialIntracranial {
        var diagnosisDate: CalendarDate?
        var priorLines: Int?
        var imaging: CaseRecord.Imaging?
        var csf: CaseRecord.CSF?
        var biopsy: CaseRecord.Biopsy?
    }

    mutating func intracranial(_ value: JSONValue?, at pointer: JSONPointer) -> PartialIntracranial {
        var result = PartialIntracranial()
        guard let members = object(value, at: pointer, keys: Keys.intracranial, required: true) else { return result }
        result.diagnosisDate = date(members["diagnosis_date"], at: pointer.appending("diagnosis_date"), required: true)
        result.priorLines = integer(
            members["prior_lines"], at: pointer.appending("prior_lines"), range: 0...20,
            rangeMessage: "must be an integer from 0 to 20")

        let imagingPointer = pointer.appending("imaging")
        if let imaging = object(members["imaging"], at: imagingPointer, keys: Keys.imaging, required: true) {
            let modalities: [CaseRecord.ImagingModality]? = enumArray(
                imaging["modalities"], at: imagingPointer.appending("modalities"))
            let findings: [CaseRecord.ImagingFinding]? = enumArray(
                imaging["findings"], at: imagingPointer.appending("findings"), required: true)
            if let findings {
                result.imaging = CaseRecord.Imaging(modalities: modalities, findings: findings)
            }
        }

        let csfPointer = pointer.appending("csf")
        if let csf = object(members["csf"], at: csfPointer, keys: Keys.csf) {
            result.csf = CaseRecord.CSF(
                cytology: enumValue(csf["cytology"], at: csfPointer.appending("cytology")),
                flowCytometry: enumValue(csf["flow_cytometry"], at: csfPointer.appending("flow_cytometry")),
                contraindicated: bool(csf["contraindicated"], at: csfPointer.appending("contraindicated")))
        }

        let biopsyPointer = pointer.appending("biopsy")
        if let biopsy = object(members["biopsy"], at: biopsyPointer, keys: Keys.biopsy) {
            result.biopsy = CaseRecord.Biopsy(
                site: enumValue(biopsy["site"], at: biopsyPointer.appending("site")),
                plasmaCellInfiltrate: bool(
                    biopsy["plasma_cell_infiltrate"], at: biopsyPointer.appending("plasma_cell_infiltrate")))
        }
        return result
    }

    mutating func workup(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.Workup? {
        guard let members = object(value, at: pointer, keys: Keys.workup) else { return nil }
        func done(_ key: String) -> Bool? { bool(members[key], at: pointer.appending(key)) }
        return CaseRecord.Workup(
            serumTotalProtein: done("serum_total_protein"), urineTotalProtein: done("urine_total_protein"),
            serumElectrophoresis: done("serum_electrophoresis"), urineElectrophoresis: done("urine_electrophoresis"),
            serumImmunofixation: done("serum_immunofixation"), urineImmunofixation: done("urine_immunofixation"),
            serumFreeLightChains: done("serum_free_light_chains"))
    }

    mutating func therapy(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.Therapy? {
        guard let members = object(value, at: pointer, keys: Keys.therapy) else { return nil }
        return CaseRecord.Therapy(
            agents: enumArray(members["agents"], at: pointer.appending("agents")),
            radiotherapy: bool(members["radiotherapy"], at: pointer.appending("radiotherapy")),
            asct: bool(members["asct"], at: pointer.appending("asct")),
            intrathecal: bool(members["intrathecal"], at: pointer.appending("intrathecal")),
            neurosurgery: bool(members["neurosurgery"], at: pointer.appending("neurosurgery")))
    }

    mutating func response(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.Response? {
        guard let members = object(value, at: pointer, keys: Keys.response) else { return nil }
        return CaseRecord.Response(
            reported: enumValue(members["reported"], at: pointer.appending("reported")),
            baseline: assessment(members["baseline"], at: pointer.appending("baseline")),
            best: assessment(members["best"], at: pointer.appending("best")))
    }

    mutating func assessment(_ value: JSONValue?, at pointer: JSONPointer) -> CaseRecord.ResponseAssessment? {
        guard let members = object(value, at: pointer, keys: Keys.assessment) else { return nil }
        func measurement(_ key: String, _ range: ClosedRange<Double>, _ unit: String) -> Double? {
            number(members[key], at: pointer.appending(key), range: range, unit: unit)
        }
        return CaseRecord.ResponseAssessment(
            serumMProteinGDl: measurement("serum_m_protein_g_dl", 0...20, "g/dL"),
            urineMProteinMg24h: measurement("urine_m_protein_mg_24h", 0...50_000, "mg/24 h"),
            involvedFLCMgL: measurement("involved_flc_mg_l", 0...100_000, "mg/L"),
            uninvolvedFLCMgL: measurement("uninvolved_flc_mg_l", 0...100_000, "mg/L"),
            flcRatioNormal: bool(members["flc_ratio_normal"], at: pointer.appending("flc_ratio_normal")),
            serumImmunofixation: enumValue(
                members["serum_immunofixation"], at: pointer.appending("serum_immunofixation")),
            urineImmunofixation: enumValue(
                members["urine_immunofixation"], at: pointer.appending("urine_immunofixation")),
            boneMarrowPlasmaCellsPct: measurement("bone_marrow_plasma_cells_pct", 0...100, "%"),
            clonalPlasmaCellsInMarrow: bool(
                members["clonal_plasma_cells_in_marrow"], at: pointer.appending("clonal_plasma_cells_in_marrow")),
            plasmacytoma: enumValue(members["plasmacytoma"], at: pointer.appending("plasmacytoma")))
    }

    struct PartialOutcome {
        var present = false
        var progressionDate: CalendarDate?
        var deathDate: CalendarDate?
        var lastFollowupDate: CalendarDate?
        /// Whether a death date was submitted at all (valid or not), so that an invalid death date
        /// does not add a second error claiming the last follow-up is required.
        var deathSubmitted = false

        var record: CaseRecord.Outcome? {
            present
                ? CaseRecord.Outcome(
                    progressionDate: progressionDate, deathDate: deathDate, lastFollowupDate: lastFollowupDate)
                : nil
        }
    }

    mutating func outcome(_ value: JSONValue?, at pointer: JSONPointer) -> PartialOutcome {
        var result = PartialOutcome()
        let followupPointer = pointer.appending("last_followup_date")
        guard value != nil else {
            fail(followupPointer, .required, "is required unless /outcome/death_date is given")
            return result
        }
        guard let members = object(value, at: pointer, keys: Keys.outcome) else { return result }
        result.present = true
        result.progressionDate = date(
            members["progression_date"], at: pointer.appending("progression_date"), nullable: true)
        result.deathDate = date(members["death_date"], at: pointer.appending("death_date"), nullable: true)
        result.deathSubmitted = members["death_date"].map { !$0.isNull } ?? false
        if members["last_followup_date"] == nil, !result.deathSubmitted {
            fail(followupPointer, .required, "is required unless /outcome/death_date is given")
        } else {
            result.lastFollowupDate = date(members["last_followup_date"], at: followupPointer)
        }
        return result
    }

    /// DOMAIN.md section 9, chronology. Each error sits on the later field of the pair and names
    /// the other field by its JSON Pointer.
    mutating func checkChronology(
        birthYear: Int?, mmDiagnosis: CalendarDate?, intracranialDiagnosis: CalendarDate?, outcome: PartialOutcome
    ) {
        let mmPath = "/mm_diagnosis_date"
        let icPath = "/intracranial/diagnosis_date"
        let outcomePointer = JSONPointer(["outcome"])
        let icPointer = JSONPointer(["intracranial", "diagnosis_date"])

        if let birthYear {
            if let mmDiagnosis, mmDiagnosis.year < birthYear {
                fail(JSONPointer(["mm_diagnosis_date"]), .chronology, "must not be in a year before /birth_year")
            }
            if let intracranialDiagnosis, intracranialDiagnosis.year < birthYear {
                fail(icPointer, .chronology, "must not be in a year before /birth_year")
            }
        }
        if let mmDiagnosis, let intracranialDiagnosis,
            mmDiagnosis.daysSince(intracranialDiagnosis) > maximumDaysIntracranialBeforeMyeloma
        {
            fail(
                icPointer, .chronology, "must be at most \(maximumDaysIntracranialBeforeMyeloma) days before \(mmPath)")
        }
        if let intracranialDiagnosis {
            if let progression = outcome.progressionDate, progression < intracranialDiagnosis {
                fail(outcomePointer.appending("progression_date"), .chronology, "must be on or after \(icPath)")
            }
            if let followup = outcome.lastFollowupDate, followup < intracranialDiagnosis {
                fail(outcomePointer.appending("last_followup_date"), .chronology, "must be on or after \(icPath)")
            }
        }
        if let death = outcome.deathDate {
            let others: [(CalendarDate?, String)] = [
                (mmDiagnosis, mmPath), (intracranialDiagnosis, icPath),
                (outcome.progressionDate, "/outcome/progression_date"),
                (outcome.lastFollowupDate, "/outcome/last_followup_date"),
            ]
            for case (let other?, let path) in others where death < other {
                fail(outcomePointer.appending("death_date"), .chronology, "must be on or after \(path)")
            }
        }
    }

    // MARK: Primitive checks

    /// The members of an object, after reporting every unknown key. nil when absent or not an object.
    mutating func object(
        _ value: JSONValue?, at pointer: JSONPointer, keys: [String], required: Bool = false
    ) -> JSONObject? {
        guard let value else {
            if required { fail(pointer, .required, "is required") }
            return nil
        }
        guard case .object(let members) = value else {
            fail(pointer, .invalidType, "must be an object, not \(article(value.typeName))")
            return nil
        }
        for key in members.keys.sorted() where !keys.contains(key) {
            fail(pointer.appending(key), .unknownField, "is not a field of the case data dictionary (version 1)")
        }
        return members
    }

    mutating func string(_ value: JSONValue?, at pointer: JSONPointer, required: Bool = false) -> String? {
        guard let value else {
            if required { fail(pointer, .required, "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(pointer, .invalidType, "must be a string, not \(article(value.typeName))")
            return nil
        }
        return text
    }

    mutating func enumValue<E: RawRepresentable & CaseIterable>(
        _ value: JSONValue?, at pointer: JSONPointer, required: Bool = false
    ) -> E? where E.RawValue == String {
        guard let text = string(value, at: pointer, required: required) else { return nil }
        guard let result = E(rawValue: text) else {
            fail(pointer, .invalidEnum, "must be one of: " + E.allCases.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        return result
    }

    /// An array of enum values; invalid elements are reported at their index, repeats are dropped.
    mutating func enumArray<E: RawRepresentable & CaseIterable & Hashable>(
        _ value: JSONValue?, at pointer: JSONPointer, required: Bool = false
    ) -> [E]? where E.RawValue == String {
        guard let value else {
            if required { fail(pointer, .required, "is required (it may be an empty array)") }
            return nil
        }
        guard case .array(let elements) = value else {
            fail(pointer, .invalidType, "must be an array, not \(article(value.typeName))")
            return nil
        }
        var result: [E] = []
        var seen: Set<E> = []
        var valid = true
        for (index, element) in elements.enumerated() {
            guard let item: E = enumValue(element, at: pointer.appending(index)) else {
                valid = false
                continue
            }
            if seen.insert(item).inserted { result.append(item) }
        }
        return valid ? result : nil
    }

    mutating func bool(_ value: JSONValue?, at pointer: JSONPointer) -> Bool? {
        guard let value else { return nil }
        guard case .bool(let flag) = value else {
            fail(pointer, .invalidType, "must be a boolean (true or false), not \(article(value.typeName))")
            return nil
        }
        return flag
    }

    mutating func number(_ value: JSONValue?, at pointer: JSONPointer, range: ClosedRange<Double>, unit: String)
        -> Double?
    {
        guard let value else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            fail(pointer, .invalidType, "must be a number, not \(article(value.typeName))")
            return nil
        }
        guard range.contains(number) else {
            fail(
                pointer, .outOfRange, "must be from \(format(range.lowerBound)) to \(format(range.upperBound)) \(unit)")
            return nil
        }
        return number
    }

    mutating func integer(_ value: JSONValue?, at pointer: JSONPointer, range: ClosedRange<Int>, rangeMessage: String)
        -> Int?
    {
        guard let value else { return nil }
        guard case .number = value else {
            fail(pointer, .invalidType, "must be an integer, not \(article(value.typeName))")
            return nil
        }
        guard let integer = value.integerValue else {
            fail(pointer, .invalidType, "must be an integer (a whole number)")
            return nil
        }
        guard range.contains(integer) else {
            fail(pointer, .outOfRange, rangeMessage)
            return nil
        }
        return integer
    }

    /// A `YYYY-MM-DD` date on or after 1900-01-01 and not after `today`.
    /// `nullable`: JSON `null` is accepted and means "no date".
    mutating func date(_ value: JSONValue?, at pointer: JSONPointer, required: Bool = false, nullable: Bool = false)
        -> CalendarDate?
    {
        guard let value else {
            if required { fail(pointer, .required, "is required") }
            return nil
        }
        if nullable, value.isNull { return nil }
        guard case .string(let text) = value else {
            let expected = nullable ? "a date string (YYYY-MM-DD) or null" : "a date string (YYYY-MM-DD)"
            fail(pointer, .invalidType, "must be \(expected), not \(article(value.typeName))")
            return nil
        }
        guard let date = CalendarDate(iso: text) else {
            fail(pointer, .invalidDate, "must be a real calendar date written YYYY-MM-DD (ISO 8601)")
            return nil
        }
        guard date >= earliestAcceptedDate else {
            fail(pointer, .outOfRange, "must be on or after 1900-01-01")
            return nil
        }
        guard date <= today else {
            fail(pointer, .futureDate, "must not be in the future")
            return nil
        }
        return date
    }

    func article(_ typeName: String) -> String {
        switch typeName {
        case "array", "object": "an \(typeName)"
        case "null": "null"
        default: "a \(typeName)"
        }
    }

    func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }
}

/// The data-dictionary keys of each object (DOMAIN.md section 9, version 1).
enum Keys {
    static let root = [
        "external_id", "sex", "birth_year", "mm_diagnosis_date", "isotype", "staging", "intracranial", "workup",
        "therapy", "response", "outcome",
    ]
    static let isotype = ["heavy_chain", "light_chain"]
    static let staging = ["beta2_microglobulin_mg_l", "albumin_g_dl", "ldh_elevated", "fish"]
    static let intracranial = ["diagnosis_date", "prior_lines", "imaging", "csf", "biopsy"]
    static let imaging = ["modalities", "findings"]
    static let csf = ["cytology", "flow_cytometry", "contraindicated"]
    static let biopsy = ["site", "plasma_cell_infiltrate"]
    static let workup = [
        "serum_total_protein", "urine_total_protein", "serum_electrophoresis", "urine_electrophoresis",
        "serum_immunofixation", "urine_immunofixation", "serum_free_light_chains",
    ]
    static let therapy = ["agents", "radiotherapy", "asct", "intrathecal", "neurosurgery"]
    static let response = ["reported", "baseline", "best"]
    static let assessment = [
        "serum_m_protein_g_dl", "urine_m_protein_mg_24h", "involved_flc_mg_l", "uninvolved_flc_mg_l",
        "flc_ratio_normal", "serum_immunofixation", "urine_immunofixation", "bone_marrow_plasma_cells_pct",
        "clonal_plasma_cells_in_marrow", "plasmacytoma",
    ]
    static let outcome = ["progression_date", "death_date", "last_followup_date"]
}
