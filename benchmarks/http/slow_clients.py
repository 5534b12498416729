#!/usr/bin/env python3
"""Holds N slow-header connections to a server: each sends one byte of a request header per
second and never finishes it (a "slowloris" client). Used by benchmarks/http/run.sh.

Usage: slow_clients.py HOST PORT SOURCE_ADDRESS COUNT SECONDS
Prints how many connections were accepted, how many the server closed, and how many were open at the end.
"""
import resource
import socket
import sys
import time

host, port, source, count, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 100)), hard))

request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
sockets = []
refused = 0
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.settimeout(2)
    try:
        s.bind((source, 0))
        s.connect((host, port))
        s.setblocking(False)
        sockets.append([s, 0])
    except OSError:
        refused += 1
        s.close()

closed = 0
end = time.time() + seconds
while time.time() < end and sockets:
    alive = []
    for entry in sockets:
        s, sent = entry
        try:
            s.send(request[sent:sent + 1])
            entry[1] = min(sent + 1, len(request) - 1)
            try:
                if s.recv(4096) == b"":
                    raise OSError("closed")
            except BlockingIOError:
                pass
            alive.append(entry)
        except OSError:
            closed += 1
            s.close()
    sockets = alive
    time.sleep(1)

print(f"slow clients: {count} attempted, {refused} refused at connect, {closed} closed by the server, {len(sockets)} still open")
for s, _ in sockets:
    s.close()
