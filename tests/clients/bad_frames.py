#!/usr/bin/python3
# tests/clients/bad_frames.py - malformed Kafka frames against a live broker,
# pure sockets (no Kafka library). Used by t_bad_input.sh.
#
#   /usr/bin/python3 bad_frames.py PORT PID
#
# Each case opens its own connection to 127.0.0.1:PORT, sends something broken
# and checks the broker's reaction (a closed connection or a Kafka error, never a
# hang on a complete frame), then checks the broker is still healthy: process
# PID alive and a new connection gets a valid ApiVersions v0 response.
# Finally the broker's RSS must be below 500 MiB. Prints one line per case and
# "bad_frames: N passed, N failed"; exit 0 only when every case passed.
import os
import random
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
TIMEOUT = 5.0


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=TIMEOUT)

    def send(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def response(self):
        """One response frame body, or raises EOFError/ConnectionError/socket.timeout."""
        (size,) = struct.unpack(">i", self.recv_exact(4))
        if size < 4 or size > (16 << 20):
            raise ValueError("bad response size %d" % size)
        return self.recv_exact(size)

    def outcome(self, wait=TIMEOUT):
        """'closed', 'response:<bytes>' or 'open' (nothing within wait seconds)."""
        self.s.settimeout(wait)
        try:
            return ("response", self.response())
        except (EOFError, ConnectionError):
            return ("closed", None)
        except socket.timeout:
            return ("open", None)
        except ValueError as e:
            return ("garbage", str(e))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def header(api_key, api_version, corr, client_id=b"rb-bad-frames"):
    return struct.pack(">hhih", api_key, api_version, corr, len(client_id)) + client_id


def frame(body):
    return struct.pack(">i", len(body)) + body


def api_versions_req(version=0, corr=7):
    return frame(header(18, version, corr))


def parse_api_versions_v0(body, corr):
    """Returns (error_code, {key: (min, max)}) of a v0-encoded ApiVersions response."""
    got_corr, err, n = struct.unpack(">ihi", body[:10])
    if got_corr != corr:
        raise ValueError("correlation id %d, want %d" % (got_corr, corr))
    if n < 0 or len(body) < 10 + 6 * n:
        raise ValueError("api array count %d does not fit %d bytes" % (n, len(body)))
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i])
        keys[k] = (lo, hi)
    return err, keys, len(body) - (10 + 6 * n)


def healthy(port, pid):
    if not os.path.exists("/proc/%d" % pid):
        return "broker process %d is gone" % pid
    try:
        c = Conn(port)
        c.send(api_versions_req(0, 4242))
        kind, body = c.outcome()
        c.close()
    except OSError as e:
        return "cannot connect: %r" % e
    if kind != "response":
        return "ApiVersions v0 on a new connection: %s" % kind
    try:
        err, keys, _ = parse_api_versions_v0(body, 4242)
    except (ValueError, struct.error) as e:
        return "ApiVersions v0 response unparsable: %s" % e
    if err != 0 or 18 not in keys:
        return "ApiVersions v0: error %d, keys %s" % (err, sorted(keys))
    return None


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


# ---- cases: each returns None (ok) or a failure description -----------------

def expect_closed(c, what, wait=TIMEOUT):
    kind, detail = c.outcome(wait)
    c.close()
    if kind == "closed":
        return None
    return "%s: want a closed connection, got %s %r" % (what, kind, (detail or b"")[:60])


def expect_closed_or_error(c, what, corr, wait=TIMEOUT):
    """A complete but invalid request: the broker closes or answers (with an error)."""
    kind, detail = c.outcome(wait)
    c.close()
    if kind == "closed":
        return None
    if kind == "response":
        got = struct.unpack(">i", detail[:4])[0] if len(detail) >= 4 else None
        if got != corr:
            return "%s: response with correlation id %r, want %d" % (what, got, corr)
        return None
    return "%s: neither closed nor answered within %.0fs (%s)" % (what, TIMEOUT, kind)


def case_truncated_then_close(port):
    c = Conn(port)
    req = api_versions_req(0, 1)
    c.send(req[:len(req) - 3])
    c.s.shutdown(socket.SHUT_WR)
    return expect_closed(c, "truncated frame then EOF")


def case_truncated_idle(port):
    # a half-sent frame must not block other connections
    c = Conn(port)
    c.send(struct.pack(">i", 100) + b"\x00\x03\x00")
    other = Conn(port)
    other.send(api_versions_req(0, 99))
    kind, _ = other.outcome()
    other.close()
    c.close()
    return None if kind == "response" else "other connection starved while a frame is half-sent: %s" % kind


def case_truncated_header(port):
    c = Conn(port)
    c.send(b"\x00\x00")
    c.s.shutdown(socket.SHUT_WR)
    return expect_closed(c, "2 bytes of a size field then EOF")


def case_huge_size(port, pid):
    before = rss_mb(pid)
    c = Conn(port)
    c.send(struct.pack(">i", 0x7FFFFFF0) + header(3, 1, 5) + b"\x00\x00\x00\x00")
    r = expect_closed(c, "size 2147483632")
    after = rss_mb(pid)
    if r is None and after - before > 200:
        r = "RSS grew from %d to %d MiB after a 2 GB size field" % (before, after)
    return r


def case_over_limit_size(port):
    # 200 MiB: above the default socket.request.max.bytes (100 MiB)
    c = Conn(port)
    c.send(struct.pack(">i", 200 << 20) + header(0, 8, 6))
    return expect_closed(c, "size 200 MiB")


def case_negative_size(port, size):
    c = Conn(port)
    c.send(struct.pack(">i", size) + header(18, 0, 8))
    return expect_closed(c, "size %d" % size)


def case_unknown_api_key(port, key):
    c = Conn(port)
    c.send(frame(header(key, 0, 11) + b"\x00" * 8))
    return expect_closed_or_error(c, "unknown api key %d" % key, 11)


def case_api_versions_unsupported(port, version):
    # what a newer client sends: request header v2 (tagged fields after
    # client_id) and a v3-style body (compact software name and version)
    c = Conn(port)
    body = header(18, version, 12) + b"\x00" + b"\x07rb-test" + b"\x041.0" + b"\x00"
    c.send(frame(body))
    kind, body = c.outcome()
    c.close()
    if kind != "response":
        return "ApiVersions v%d: want an error 35 response, got %s" % (version, kind)
    try:
        err, keys, extra = parse_api_versions_v0(body, 12)
    except (ValueError, struct.error) as e:
        return "ApiVersions v%d: response is not a v0 body: %s (%r)" % (version, e, body[:40])
    if err != 35:
        return "ApiVersions v%d: error_code %d, want 35 (UNSUPPORTED_VERSION)" % (version, err)
    if 18 not in keys:
        return "ApiVersions v%d: error response lists no ApiVersions (key 18): %s" % (version, sorted(keys))
    if extra not in (0, 4):  # v0 body; tolerate a trailing throttle_time_ms
        return "ApiVersions v%d: %d unexpected trailing bytes" % (version, extra)
    return None


def case_garbage(port, seed):
    rnd = random.Random(seed)
    c = Conn(port)
    try:
        c.send(bytes(rnd.randrange(256) for _ in range(4096)))
    except ConnectionError:
        c.close()
        return None
    kind, _ = c.outcome(2.0)  # any reaction is fine; only liveness matters
    c.close()
    return None


def case_garbage_body(port, api_key, version, seed):
    rnd = random.Random(seed)
    body = header(api_key, version, 21) + bytes(rnd.randrange(256) for _ in range(300))
    c = Conn(port)
    c.send(frame(body))
    return expect_closed_or_error(c, "garbage body for api %d v%d" % (api_key, version), 21)


def case_metadata_lying_count(port, count, version=1):
    c = Conn(port)
    body = header(3, version, 31) + struct.pack(">i", count) + struct.pack(">h", 3) + b"abc"
    if version >= 4:
        body += b"\x01"  # allow_auto_topic_creation
    c.send(frame(body))
    return expect_closed_or_error(c, "Metadata v%d with topic count %d" % (version, count), 31)


def case_metadata_lying_string(port):
    c = Conn(port)
    body = header(3, 1, 32) + struct.pack(">i", 1) + struct.pack(">h", 30000) + b"abc"
    c.send(frame(body))
    return expect_closed_or_error(c, "Metadata v1 with topic name length 30000", 32)


def case_lying_client_id(port):
    c = Conn(port)
    body = struct.pack(">hhih", 18, 0, 33, 32000) + b"x" * 5
    c.send(frame(body))
    return expect_closed_or_error(c, "client_id length 32000 in a 15-byte frame", 33)


def case_metadata_flexible_huge_varint(port):
    # Metadata v9 (flexible): header v2 (+ empty tagged fields), then a compact
    # array length varint of ~2^35 and nothing else.
    c = Conn(port)
    body = header(3, 9, 34) + b"\x00" + b"\xff\xff\xff\xff\x7f"
    c.send(frame(body))
    return expect_closed_or_error(c, "Metadata v9 with compact array length 2^35", 34)


def case_pipelined_after_valid(port):
    c = Conn(port)
    c.send(api_versions_req(0, 41) + struct.pack(">i", -5))
    kind, body = c.outcome()
    if kind != "response":
        c.close()
        return "valid ApiVersions before a bad frame on the same connection: %s" % kind
    return expect_closed(c, "negative size after a valid request")


def cases(port, pid):
    yield "truncated frame + EOF", lambda: case_truncated_then_close(port)
    yield "half-sent frame does not block others", lambda: case_truncated_idle(port)
    yield "truncated size field", lambda: case_truncated_header(port)
    yield "2 GB size field", lambda: case_huge_size(port, pid)
    yield "200 MiB size field", lambda: case_over_limit_size(port)
    for size in (-1, -2147483648, 0, 3):
        yield "size %d" % size, lambda size=size: case_negative_size(port, size)
    for key in (9999, 32767, -1):
        yield "unknown api key %d" % key, lambda key=key: case_unknown_api_key(port, key)
    for v in (127, 64, 32767):
        yield "ApiVersions v%d -> error 35" % v, lambda v=v: case_api_versions_unsupported(port, v)
    for seed in range(5):
        yield "garbage bytes #%d" % seed, lambda seed=seed: case_garbage(port, seed)
    for key, ver in ((0, 8), (1, 11), (3, 1), (3, 9), (19, 4), (32, 1)):
        yield "garbage body api %d v%d" % (key, ver), \
            lambda key=key, ver=ver: case_garbage_body(port, key, ver, key * 100 + ver)
    for cnt in (1000000, 2147483647, -2):
        yield "Metadata lying count %d" % cnt, lambda cnt=cnt: case_metadata_lying_count(port, cnt)
    yield "Metadata v4 lying count", lambda: case_metadata_lying_count(port, 50000000, 4)
    yield "Metadata lying string length", lambda: case_metadata_lying_string(port)
    yield "lying client_id length", lambda: case_lying_client_id(port)
    yield "Metadata v9 huge compact length", lambda: case_metadata_flexible_huge_varint(port)
    yield "bad frame after a valid one", lambda: case_pipelined_after_valid(port)


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    passed = failed = 0
    for name, fn in cases(port, pid):
        t0 = time.time()
        try:
            why = fn()
        except (OSError, struct.error) as e:
            why = "client error: %r" % e
        health = healthy(port, pid)
        if health:
            why = (why + "; " if why else "") + "after it: " + health
        if why:
            failed += 1
            print("FAIL %-40s %s" % (name, why))
        else:
            passed += 1
            print("ok   %-40s (%.2fs)" % (name, time.time() - t0))
        if health and not os.path.exists("/proc/%d" % pid):
            print("broker died; stopping")
            failed += 1
            break
    if os.path.exists("/proc/%d" % pid):
        rss = rss_mb(pid)
        print("broker RSS after the bad input: %d MiB" % rss)
        if rss >= 500:
            failed += 1
            print("FAIL RSS %d MiB >= 500 MiB" % rss)
    print("bad_frames: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
