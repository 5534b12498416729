"""Validates FHIR JSON files against the FHIR R4 (4.0.1) structure definitions.

Used by `make fhir-check` in the private virtualenv .build-venv-fhir with fhir.resources 6.4.0,
the last release whose default models are R4 4.0.1 (6.5 moved to R4B 4.3.0). Arguments: files or
folders of *.json; a folder must hold at least one file (an empty one means the tests kept nothing).
"""
import json
import pathlib
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

files = []
for argument in sys.argv[1:]:
    path = pathlib.Path(argument)
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        if not found:
            sys.exit(f"validate_r4: {path} holds no FHIR output; run the tests with ICMM_FHIR_OUTPUT set")
        files += found
    else:
        files.append(path)

failures = 0
kinds = {}
for path in files:
    data = json.loads(path.read_text())
    resource_type = data.get("resourceType")
    try:
        construct_fhir_element(resource_type, data)
        kinds[resource_type] = kinds.get(resource_type, 0) + 1
    except Exception as error:  # pydantic's ValidationError lists every problem
        failures += 1
        print(f"{path}: not valid FHIR R4 {resource_type}:\n{error}", file=sys.stderr)

summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
print(f"validate_r4: {len(files) - failures} of {len(files)} files are valid FHIR R4 ({summary})")
sys.exit(1 if failures else 0)
