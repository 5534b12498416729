import JSON

extension CaseRecord {
    /// The canonical JSON form: exactly the data-dictionary keys (DOMAIN.md section 9) of the
    /// fields the record holds. Absent fields stay absent; nothing is defaulted.
    ///
    /// Normalisations against the submitted JSON (so that equal cases have equal JSON):
    /// - `progression_date`/`death_date` submitted as `null` are left out (null and absent both
    ///   mean "no such event recorded");
    /// - repeated entries of enum arrays are dropped (first occurrence kept, order kept);
    /// - numbers are numbers (`2.0` and `2` are the same JSON value).
    public func toJSON() -> JSONValue {
        var root = JSONObjectBuilder()
        root["external_id"] = .string(externalID)
        root["sex"] = .string(sex.rawValue)
        root["birth_year"] = birthYear.map { .number(Double($0)) }
        root["mm_diagnosis_date"] = .string(mmDiagnosisDate.description)
        root["isotype"] = isotype.map { isotype in
            var object = JSONObjectBuilder()
            object["heavy_chain"] = isotype.heavyChain.map { .string($0.rawValue) }
            object["light_chain"] = isotype.lightChain.map { .string($0.rawValue) }
            return object.value
        }
        root["staging"] = staging.map { staging in
            var object = JSONObjectBuilder()
            object["beta2_microglobulin_mg_l"] = staging.beta2MicroglobulinMgL.map { .number($0) }
            object["albumin_g_dl"] = staging.albuminGDl.map { .number($0) }
            object["ldh_elevated"] = staging.ldhElevated.map { .bool($0) }
            object["fish"] = staging.fish.map(Self.enumArray)
            return object.value
        }
        root["intracranial"] = {
            var object = JSONObjectBuilder()
            object["diagnosis_date"] = .string(intracranial.diagnosisDate.description)
            object["prior_lines"] = intracranial.priorLines.map { .number(Double($0)) }
            var imaging = JSONObjectBuilder()
            imaging["modalities"] = intracranial.imaging.modalities.map(Self.enumArray)
            imaging["findings"] = Self.enumArray(intracranial.imaging.findings)
            object["imaging"] = imaging.value
            object["csf"] = intracranial.csf.map { csf in
                var object = JSONObjectBuilder()
                object["cytology"] = csf.cytology.map { .string($0.rawValue) }
                object["flow_cytometry"] = csf.flowCytometry.map { .string($0.rawValue) }
                object["contraindicated"] = csf.contraindicated.map { .bool($0) }
                return object.value
            }
            object["biopsy"] = intracranial.biopsy.map { biopsy in
                var object = JSONObjectBuilder()
                object["site"] = biopsy.site.map { .string($0.rawValue) }
                object["plasma_cell_infiltrate"] = biopsy.plasmaCellInfiltrate.map { .bool($0) }
                return object.value
            }
            return object.value
        }()
        root["workup"] = workup.map { workup in
            var object = JSONObjectBuilder()
            object["serum_total_protein"] = workup.serumTotalProtein.map { .bool($0) }
            object["urine_total_protein"] = workup.urineTotalProtein.map { .bool($0) }
            object["serum_electrophoresis"] = workup.serumElectrophoresis.map { .bool($0) }
            object["urine_electrophoresis"] = workup.urineElectrophoresis.map { .bool($0) }
            object["serum_immunofixation"] = workup.serumImmunofixation.map { .bool($0) }
            object["urine_immunofixation"] = workup.urineImmunofixation.map { .bool($0) }
            object["serum_free_light_chains"] = workup.serumFreeLightChains.map { .bool($0) }
            return object.value
        }
        root["therapy"] = therapy.map { therapy in
            var object = JSONObjectBuilder()
            object["agents"] = therapy.agents.map(Self.enumArray)
            object["radiotherapy"] = therapy.radiotherapy.map { .bool($0) }
            object["asct"] = therapy.asct.map { .bool($0) }
            object["intrathecal"] = therapy.intrathecal.map { .bool($0) }
            object["neurosurgery"] = therapy.neurosurgery.map { .bool($0) }
            return object.value
        }
        root["response"] = response.map { response in
            var object = JSONObjectBuilder()
            object["reported"] = response.reported.map { .string($0.rawValue) }
            object["baseline"] = response.baseline.map(Self.assessmentJSON)
            object["best"] = response.best.map(Self.assessmentJSON)
            return object.value
        }
        root["outcome"] = outcome.map { outcome in
            var object = JSONObjectBuilder()
            object["progression_date"] = outcome.progressionDate.map { .string($0.description) }
            object["death_date"] = outcome.deathDate.map { .string($0.description) }
            object["last_followup_date"] = outcome.lastFollowupDate.map { .string($0.description) }
            return object.value
        }
        return root.value
    }

    private static func enumArray<E: RawRepresentable>(_ values: [E]) -> JSONValue where E.RawValue == String {
        .array(values.map { .string($0.rawValue) })
    }

    private static func assessmentJSON(_ assessment: ResponseAssessment) -> JSONValue {
        var object = JSONObjectBuilder()
        object["serum_m_protein_g_dl"] = assessment.serumMProteinGDl.map { .number($0) }
        object["urine_m_protein_mg_24h"] = assessment.urineMProteinMg24h.map { .number($0) }
        object["involved_flc_mg_l"] = assessment.involvedFLCMgL.map { .number($0) }
        object["uninvolved_flc_mg_l"] = assessment.uninvolvedFLCMgL.map { .number($0) }
        object["flc_ratio_normal"] = assessment.flcRatioNormal.map { .bool($0) }
        object["serum_immunofixation"] = assessment.serumImmunofixation.map { .string($0.rawValue) }
        object["urine_immunofixation"] = assessment.urineImmunofixation.map { .string($0.rawValue) }
        object["bone_marrow_plasma_cells_pct"] = assessment.boneMarrowPlasmaCellsPct.map { .number($0) }
        object["clonal_plasma_cells_in_marrow"] = assessment.clonalPlasmaCellsInMarrow.map { .bool($0) }
        object["plasmacytoma"] = assessment.plasmacytoma.map { .string($0.rawValue) }
        return object.value
    }
}

/// Collects object members; assigning nil leaves the key out.
struct JSONObjectBuilder {
    private(set) var members = JSONObject()

    subscript(key: String) -> JSONValue? {
        get { members[key] }
        set { if let newValue { members[key] = newValue } }
    }

    var value: JSONValue { .object(members) }
}
