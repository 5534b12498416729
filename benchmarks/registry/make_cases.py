"""Writes N valid synthetic cases as NDJSON (for the import benchmark). Usage: make_cases.py N > file"""
import json
import random
import sys

n = int(sys.argv[1])
rng = random.Random(7)
findings = [["skull_vault_lesion", "dural_involvement"], ["intraparenchymal_lesion"], ["skull_base_lesion", "para_osseous_mass"],
            ["dural_involvement"], ["leptomeningeal_enhancement"]]
for i in range(n):
    dead = rng.random() < 0.5
    case = {
        "external_id": f"IMP-{i}", "sex": rng.choice(["female", "male"]), "birth_year": rng.randint(1935, 1975),
        "mm_diagnosis_date": f"20{rng.randint(10, 19)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "intracranial": {"diagnosis_date": "2020-06-15", "prior_lines": rng.randint(0, 3),
                         "imaging": {"findings": rng.choice(findings)},
                         "csf": {"cytology": rng.choice(["negative", "positive", "not_done"])}},
        "therapy": {"agents": rng.choice([["bortezomib"], ["melphalan"], []]), "asct": rng.random() < 0.3},
        "response": {"reported": rng.choice(["CR", "VGPR", "PR", "SD", "PD"])},
        "outcome": {"death_date": "2022-01-0%d" % rng.randint(1, 9)} if dead else {"last_followup_date": "2023-03-1%d" % rng.randint(0, 9)},
    }
    sys.stdout.write(json.dumps(case, separators=(",", ":")) + "\n")
