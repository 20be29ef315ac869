#!/usr/bin/python3
"""tests/clients/py_conn_flood.py - hold many idle TCP connections to a broker.

  py_conn_flood.py HOST:PORT N HOLD_S [SOURCE_ADDR]

Raises its own soft fd limit, opens N connections (connect() completes in the
kernel's backlog whether or not the broker accepts), prints "open N", holds them
HOLD_S seconds, prints "closed_by_broker M" (how many the broker closed
meanwhile: end of stream or reset), then closes them all and prints "closed".
"""
import resource
import socket
import sys
import time

bs, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
src = sys.argv[4] if len(sys.argv) > 4 else None  # e.g. 127.0.0.2: another client address
host, port = bs.split(":")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
socks = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(5)
    if src:
        s.bind((src, 0))
    try:
        s.connect((host, int(port)))
    except OSError as e:  # the backlog is full: count what got through
        s.close()
        print("connect failed after %d: %s" % (len(socks), e), flush=True)
        break
    socks.append(s)
print("open %d" % len(socks), flush=True)
time.sleep(hold)
gone = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            gone += 1
    except BlockingIOError:
        pass
    except OSError:
        gone += 1
print("closed_by_broker %d" % gone, flush=True)
for s in socks:
    s.close()
print("closed", flush=True)
