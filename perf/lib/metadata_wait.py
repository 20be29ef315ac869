#!/usr/bin/env python3
"""perf/lib/metadata_wait.py BOOTSTRAP PID TIMEOUT_S [MIN_BROKERS [T0_NS]]

Polls a broker with a Kafka Metadata v4 request (all topics) every 10 ms
until it answers with at least MIN_BROKERS (1) brokers, the process PID
exits, or TIMEOUT_S passes. BOOTSTRAP is host:port[,host:port...]; each
address is tried in turn. On success prints the milliseconds from T0_NS
(CLOCK_REALTIME nanoseconds, e.g. `date +%s%N` taken just before the broker
was started; default: when this script started) to the first good answer,
and exits 0; otherwise exits 1. Standard library only; used by
perf/lib/brokers.sh for readiness and for "time from start to serving".
"""
import os
import socket
import struct
import sys
import time


def metadata_brokers(host, port, timeout):
    """Sends Metadata v4 (topics=null, no auto-create); returns broker count."""
    client = b"rb-perf-wait"
    body = struct.pack(">i", -1) + b"\x00"  # topics: null = all; allow_auto_create=false
    hdr = struct.pack(">hhih", 3, 4, 1, len(client)) + client
    req = hdr + body
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(req)) + req)
        buf = b""
        while len(buf) < 4:
            chunk = s.recv(4 - len(buf))
            if not chunk:
                raise OSError("closed")
            buf += chunk
        (n,) = struct.unpack(">i", buf)
        if n < 12 or n > 64 << 20:
            raise OSError("bad length")
        resp = b""
        while len(resp) < n:
            chunk = s.recv(min(65536, n - len(resp)))
            if not chunk:
                raise OSError("closed")
            resp += chunk
    corr, _throttle, nbrokers = struct.unpack(">iii", resp[:12])
    if corr != 1:
        raise OSError("bad correlation id")
    return nbrokers


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    addrs = []
    for a in sys.argv[1].split(","):
        h, p = a.rsplit(":", 1)
        addrs.append((h, int(p)))
    pid, timeout = int(sys.argv[2]), float(sys.argv[3])
    need = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    t0 = int(sys.argv[5]) if len(sys.argv) > 5 else time.time_ns()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid > 0 and not alive(pid):
            return 1
        for h, p in addrs:
            try:
                if metadata_brokers(h, p, 2.0) >= need:
                    print(f"{(time.time_ns() - t0) / 1e6:.1f}")
                    return 0
            except (OSError, struct.error):
                pass
        time.sleep(0.01)
    return 1


if __name__ == "__main__":
    sys.exit(main())
