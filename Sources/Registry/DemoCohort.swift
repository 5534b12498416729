import Classification
import Foundation
import JSON

/// A synthetic cohort shaped like the GIMEMA survey (Gozzetti et al., Cancer 2012; DOMAIN.md
/// section 2): 50 patients, 38 osteodural and 12 CNS, about half reaching CR+VGPR, 35 treated with
/// novel agents. Survival is drawn so that the medians land near the published ones (OD about 25
/// months, CNS about 12; CR+VGPR clearly better than PR+NR). Every case is marked synthetic by its
/// `DEMO-` external id. Deterministic: the same seed gives the same cases.
public enum DemoCohort {
    public static let site = "DEMO"
    /// Chosen among seeds 1-40 as the draw closest to the survey: OD 25.5 vs CNS 14.0 months;
    /// CR+VGPR not reached vs PR+NR 10.2 months; novel 25.5 vs conventional 19.7 months.
    public static let seed: UInt64 = 3

    /// SplitMix64: small, fast and fully specified, so the cohort is the same on every machine.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in (0, 1).
        mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    }

    /// The cases, in the data-dictionary format (DOMAIN.md section 9).
    public static func cases(seed: UInt64 = seed) -> [JSONValue] {
        var rng = Generator(state: seed)
        var result: [JSONValue] = []
        let start = CalendarDate(year: 2006, month: 1, day: 1)!
        for i in 0..<50 {
            let isCNS = i >= 38
            // Response: 21 of 38 OD and 4 of 12 CNS reach CR+VGPR (25 of 50, as in the survey).
            let good = isCNS ? (i - 38) < 4 : i < 21
            // Novel agents for 35 of 50.
            let novel = (i * 7) % 10 < 7
            // Median survival in months by localization and response (exponential times).
            let median: Double =
                switch (isCNS, good) {
                case (false, true): 70
                case (false, false): 12
                case (true, true): 20
                case (true, false): 10
                }
            let months = -log(rng.uniform()) * median / log(2.0) * (novel ? 1.2 : 0.6)
            let icDiagnosis = start.adding(days: Int(rng.uniform() * 6 * 365))!
            let atDiagnosis = rng.uniform() < 0.4
            let mmDiagnosis = atDiagnosis ? icDiagnosis.adding(days: -Int(rng.uniform() * 20))! : icDiagnosis.adding(days: -(120 + Int(rng.uniform() * 1500)))!
            // Follow-up ends at 72 months or at a loss to follow-up, whichever comes first.
            let followUp = min(72.0, -log(rng.uniform()) * 150)
            let died = months <= followUp
            let endDays = Int((min(months, followUp) * 30.4375).rounded())
            let end = icDiagnosis.adding(days: max(endDays, 1))!
            var outcome: JSONObject = died ? ["death_date": .string(end.description)] : ["last_followup_date": .string(end.description)]
            if died, endDays > 90, rng.uniform() < 0.7 {
                outcome["progression_date"] = .string(icDiagnosis.adding(days: endDays / 2)!.description)
            }
            let findings: [JSONValue]
            let csf: JSONValue
            if isCNS {
                if rng.uniform() < 0.5 {
                    findings = ["leptomeningeal_enhancement"]
                    csf = ["cytology": "positive", "flow_cytometry": "positive"]
                } else {
                    findings = ["intraparenchymal_lesion"]
                    csf = ["cytology": "negative", "flow_cytometry": "not_done"]
                }
            } else {
                findings = rng.pick([
                    ["skull_vault_lesion", "dural_involvement"], ["skull_base_lesion", "para_osseous_mass"],
                    ["dural_involvement"], ["skull_base_lesion", "para_osseous_mass", "leptomeningeal_enhancement"],
                    ["skull_vault_lesion", "para_osseous_mass", "orbital_lesion"],
                ])
                csf = rng.uniform() < 0.6 ? ["cytology": "negative", "flow_cytometry": "negative"] : ["cytology": "not_done", "flow_cytometry": "not_done"]
            }
            let agents: [JSONValue] =
                novel
                ? rng.pick([["bortezomib", "dexamethasone"], ["lenalidomide", "dexamethasone"], ["thalidomide", "melphalan", "prednisone"], ["carfilzomib", "dexamethasone"]])
                : rng.pick([["melphalan", "prednisone"], ["vincristine", "doxorubicin", "dexamethasone"], ["cyclophosphamide", "dexamethasone"]])
            let reported: JSONValue = good ? rng.pick(["CR", "VGPR"]) : rng.pick(["PR", "PR", "SD", "PD"])
            result.append([
                "external_id": .string(String(format: "DEMO-%03d", i + 1)),
                "sex": rng.uniform() < 0.55 ? "male" : "female",
                "birth_year": .number(Double(icDiagnosis.year - 45 - Int(rng.uniform() * 35))),
                "mm_diagnosis_date": .string(mmDiagnosis.description),
                "isotype": ["heavy_chain": rng.pick(["IgG", "IgG", "IgA", "light_chain_only"]), "light_chain": rng.pick(["kappa", "lambda"])],
                "staging": ["beta2_microglobulin_mg_l": .number((1.5 + rng.uniform() * 8).rounded() / 1), "albumin_g_dl": .number(((2.8 + rng.uniform() * 1.6) * 10).rounded() / 10)],
                "intracranial": [
                    "diagnosis_date": .string(icDiagnosis.description), "prior_lines": .number(atDiagnosis ? 0 : Double(1 + Int(rng.uniform() * 3))),
                    "imaging": ["modalities": ["mri", "ct"], "findings": .array(findings)], "csf": csf,
                ],
                "workup": [
                    "serum_total_protein": true, "urine_total_protein": true, "serum_electrophoresis": true, "urine_electrophoresis": true,
                    "serum_immunofixation": true, "urine_immunofixation": .bool(rng.uniform() < 0.8), "serum_free_light_chains": .bool(rng.uniform() < 0.6),
                ],
                "therapy": ["agents": .array(agents), "radiotherapy": .bool(rng.uniform() < 0.6), "asct": .bool(!isCNS && rng.uniform() < 0.4),
                            "intrathecal": .bool(isCNS && rng.uniform() < 0.5), "neurosurgery": .bool(rng.uniform() < 0.15)],
                "response": ["reported": reported],
                "outcome": .object(outcome),
            ])
        }
        return result
    }
}
