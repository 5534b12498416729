"""POSTs every file of a folder, in name order, over one keep-alive connection; every answer must be
201. Prints the elapsed seconds. Usage: post_all.py PORT PATH CONTENT_TYPE FOLDER"""
import http.client
import os
import sys
import time

port, path, content_type, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
key = os.environ["ICMM_KEY"]
bodies = [open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
start = time.monotonic()
for body in bodies:
    connection.request("POST", path, body=body, headers={"Content-Type": content_type, "Authorization": "Bearer " + key})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 201:
        sys.exit(f"{path}: status {response.status}: {answer[:500]!r}")
print(f"{time.monotonic() - start:.3f}")
