"""Schemathesis hooks for Tests/contract/run.sh: how to send `application/x-ndjson` bodies.

The contract describes an NDJSON import body as a string (one case per line), so the generated
value is sent as its UTF-8 bytes; anything else is sent as one JSON line.
"""
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    return (json.dumps(value) + "\n").encode()
