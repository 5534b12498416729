"""Schemathesis hooks for Tests/contract/run.sh.

- How to send `application/x-ndjson` bodies: the contract describes an NDJSON import body as a
  string (one case per line), so the generated value is sent as its UTF-8 bytes; anything else is
  sent as one JSON line.
- Which generated cases not to send: those breaking a rule between parameters that the contract
  states in prose, and those larger than the server's request buffer (see below).
"""
import json
from urllib.parse import quote, urlencode

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    return (json.dumps(value) + "\n").encode()


# Rules between parameters, which the contract states in its descriptions and a JSON Schema of one
# parameter cannot: a schema-valid request that breaks one is answered 400 (documented), so the
# positive phases must not send it. Negative cases are left alone (any 4xx is right for them).
#   survival, survival.svg: `tau` and every `times` value at most 100 years in `unit`: 1200 when
#     `unit` is `months` (the default), 36525 when it is `days`; `endpoint=pfs` with
#     `origin=mm_diagnosis` is 400 (Tau, Times, SurvivalOrigin parameters).
#   cox, cox.svg: `strata` is not one of `covariates` (CoxStrata parameter).
SURVIVAL_PATHS = {"/v1/cohorts/survival", "/v1/cohorts/survival.svg"}
COX_PATHS = {"/v1/cohorts/cox", "/v1/cohorts/cox.svg"}

# libmicrohttpd reads a request line and headers into the per-connection buffer (32 KiB by default);
# a larger request is answered 431/414 by libmicrohttpd itself, or its connection is closed, as the
# contract's introduction says ("Refused by the server before any route"). No operation's responses
# can list that, so no case that large is sent: half the buffer leaves room for the rest.
MAX_REQUEST_HEAD_BYTES = 16 * 1024


def _items(value):
    """A parameter's values: a list as generated, or a string as serialized (`12,24`)."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return value.split(",")
    return [] if value is None else [value]


def _numbers(value):
    numbers = []
    for item in _items(value):
        if isinstance(item, bool):
            continue
        try:
            numbers.append(float(item))
        except (TypeError, ValueError):
            pass
    return numbers


def _breaks_a_rule_between_parameters(path, query):
    if path in SURVIVAL_PATHS:
        bound = 36525 if query.get("unit") == "days" else 1200
        if any(number > bound for name in ("tau", "times") for number in _numbers(query.get(name))):
            return True
        if query.get("endpoint") == "pfs" and query.get("origin") == "mm_diagnosis":
            return True
    if path in COX_PATHS:
        if query.get("strata") in [str(item) for item in _items(query.get("covariates"))]:
            return True
    return False


def _head_size(case):
    query = urlencode(
        [(str(k), ",".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in (case.query or {}).items()]
    )
    headers = sum(len(str(k)) + len(str(v)) + 4 for k, v in (case.headers or {}).items())
    path = sum(len(quote(str(v))) for v in (case.path_parameters or {}).values())
    return len(case.operation.path) + path + len(query) + headers


@schemathesis.hook
def filter_case(ctx, case):
    if _head_size(case) > MAX_REQUEST_HEAD_BYTES:
        return False
    meta = getattr(case, "meta", None)
    negative = meta is not None and str(meta.generation.mode) == "negative"
    if not negative and isinstance(case.query, dict) and _breaks_a_rule_between_parameters(case.operation.path, case.query):
        return False
    return True
