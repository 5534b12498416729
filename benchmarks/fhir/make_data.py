"""Writes N synthetic cases twice: as NDJSON batches (for POST /v1/imports) and as FHIR R4 transaction
Bundles of the same cases (for POST /v1/fhir), about 15 resources per case, standard codes where
DOMAIN.md section 10 has them. Usage: make_data.py N PER_REQUEST OUTDIR
Writes OUTDIR/ndjson/NNNN.ndjson and OUTDIR/fhir/NNNN.json, one file per request."""
import json
import os
import random
import sys

n, per_request, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(11)
SCT, LOINC, RX, UCUM = "http://snomed.info/sct", "http://loinc.org", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
RXNORM = {"bortezomib": "358258", "lenalidomide": "342369", "melphalan": "6718", "cyclophosphamide": "3002"}
findings = [["skull_vault_lesion", "dural_involvement"], ["intraparenchymal_lesion"], ["skull_base_lesion", "para_osseous_mass"],
            ["dural_involvement"], ["leptomeningeal_enhancement", "skull_vault_lesion", "dural_involvement"]]


def make_case(i):
    dead = rng.random() < 0.4
    year = rng.randint(2012, 2019)
    case = {
        "external_id": f"B-{i}", "sex": rng.choice(["female", "male"]), "birth_year": rng.randint(1935, 1975),
        "mm_diagnosis_date": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "staging": {"albumin_g_dl": rng.choice([2.9, 3.4, 3.8, 4.1]), "beta2_microglobulin_mg_l": rng.choice([2.1, 3.9, 6.2]),
                    "ldh_elevated": rng.random() < 0.3},
        "intracranial": {"diagnosis_date": "2020-06-15", "prior_lines": rng.randint(0, 3),
                         "imaging": {"modalities": ["mri"], "findings": rng.choice(findings)},
                         "csf": {"cytology": rng.choice(["negative", "positive"])}},
        "therapy": {"agents": rng.choice([["bortezomib", "lenalidomide"], ["melphalan", "cyclophosphamide"], ["bortezomib"]]),
                    "asct": rng.random() < 0.3},
        "response": {"reported": rng.choice(["CR", "VGPR", "PR", "SD", "PD"])},
        "outcome": {"progression_date": "2021-02-0%d" % rng.randint(1, 9)},
    }
    if dead:
        case["outcome"]["death_date"] = "2022-01-0%d" % rng.randint(1, 9)
    else:
        case["outcome"]["last_followup_date"] = "2023-03-1%d" % rng.randint(0, 9)
    return case


def resources(case, p):
    subject = {"reference": p}
    def obs(code, **value):
        o = {"resourceType": "Observation", "status": "final", "code": {"coding": [code]}, "subject": subject}
        o.update(value)
        return o
    field = lambda f: {"system": "urn:icmm:field", "code": f}
    val = lambda v: {"coding": [{"system": "urn:icmm:value", "code": v}]}
    patient = {"resourceType": "Patient", "identifier": [{"value": case["external_id"]}], "gender": case["sex"],
               "birthDate": str(case["birth_year"])}
    if "death_date" in case["outcome"]:
        patient["deceasedDateTime"] = case["outcome"]["death_date"]
    out = [patient,
           {"resourceType": "Condition", "code": {"coding": [{"system": SCT, "code": "109989006"}]}, "subject": subject,
            "onsetDateTime": case["mm_diagnosis_date"]},
           {"resourceType": "Condition", "code": {"coding": [{"system": "urn:icmm:condition", "code": "intracranial-myeloma"}]},
            "subject": subject, "onsetDateTime": case["intracranial"]["diagnosis_date"]}]
    s = case["staging"]
    out.append(obs({"system": LOINC, "code": "1751-7"}, valueQuantity={"value": round(s["albumin_g_dl"] * 10, 6), "unit": "g/L", "system": UCUM, "code": "g/L"}))
    out.append(obs({"system": LOINC, "code": "1952-1"}, valueQuantity={"value": s["beta2_microglobulin_mg_l"], "unit": "mg/L", "system": UCUM, "code": "mg/L"}))
    out.append(obs({"system": LOINC, "code": "2532-0"}, interpretation=[{"coding": [{"system": V3, "code": "H" if s["ldh_elevated"] else "N"}]}]))
    ic = case["intracranial"]
    out.append(obs(field("intracranial.prior_lines"), valueInteger=ic["prior_lines"]))
    out += [obs(field("intracranial.imaging.modalities"), valueCodeableConcept=val(m)) for m in ic["imaging"]["modalities"]]
    out += [obs(field("intracranial.imaging.findings"), valueCodeableConcept=val(f)) for f in ic["imaging"]["findings"]]
    out.append(obs(field("intracranial.csf.cytology"), valueCodeableConcept={"coding": [{"system": V3, "code": "POS" if ic["csf"]["cytology"] == "positive" else "NEG"}]}))
    for agent in case["therapy"]["agents"]:
        out.append({"resourceType": "MedicationStatement", "status": "completed", "subject": subject,
                    "medicationCodeableConcept": {"coding": [{"system": RX, "code": RXNORM[agent]}], "text": agent}})
    out.append({"resourceType": "Procedure", "status": "completed" if case["therapy"]["asct"] else "not-done",
                "code": {"coding": [{"system": SCT, "code": "709115004"}]}, "subject": subject})
    out.append(obs(field("response.reported"), valueCodeableConcept=val(case["response"]["reported"])))
    o = case["outcome"]
    if "last_followup_date" in o:
        out.append(obs(field("outcome.last_followup_date"), valueDateTime=o["last_followup_date"]))
        out.append(obs({"system": LOINC, "code": "97509-4"}, effectiveDateTime=o["progression_date"],
                       valueCodeableConcept={"coding": [{"system": SCT, "code": "271299001"}]}))
    else:
        out.append(obs(field("outcome.progression_date"), valueDateTime=o["progression_date"]))
    return out


os.makedirs(f"{out}/ndjson", exist_ok=True)
os.makedirs(f"{out}/fhir", exist_ok=True)
total_resources = 0
for batch in range(0, n, per_request):
    cases = [make_case(i) for i in range(batch, min(n, batch + per_request))]
    with open(f"{out}/ndjson/{batch // per_request:05d}.ndjson", "w") as f:
        for case in cases:
            f.write(json.dumps(case, separators=(",", ":")) + "\n")
    entries = []
    for case in cases:
        p = "urn:uuid:00000000-0000-4000-8000-%012d" % len(entries)
        for k, resource in enumerate(resources(case, p)):
            url = p if k == 0 else "urn:uuid:00000000-0000-4000-8000-%012d" % (len(entries))
            entries.append({"fullUrl": url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}})
    total_resources += len(entries)
    with open(f"{out}/fhir/{batch // per_request:05d}.json", "w") as f:
        json.dump({"resourceType": "Bundle", "type": "transaction", "entry": entries}, f, separators=(",", ":"))
print(f"{n} cases, {total_resources / n:.1f} resources per case")
