#!/usr/bin/env bash
# container/seccomp-profile.sh - the narrow seccomp profile ringbroker's
# containers run with: the container engine's own default profile plus
# io_uring_setup, io_uring_enter and io_uring_register (which the defaults of
# Docker and podman refuse). Generated from the profile installed on this host
# (containers-common's /usr/share/containers/seccomp.json) rather than kept in
# the repository, so it follows the engine's updates.
#   container/seccomp-profile.sh [SOURCE.json] > seccomp-io_uring.json
set -euo pipefail
src=${1:-/usr/share/containers/seccomp.json}
[ -f "$src" ] || {
    echo "seccomp-profile: no $src (install containers-common, or pass Docker's default profile)" >&2
    exit 1
}
/usr/bin/python3 - "$src" <<'PY'
import json, sys
prof = json.load(open(sys.argv[1]))
calls = ["io_uring_setup", "io_uring_enter", "io_uring_register"]
if prof.get("defaultAction") == "SCMP_ACT_ALLOW":
    sys.exit("seccomp-profile: the source allows everything by default: nothing to add")
for rule in prof.get("syscalls", []):
    if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args") and not rule.get("includes") \
            and not rule.get("excludes"):
        names = rule.setdefault("names", [])
        for c in calls:
            if c not in names:
                names.append(c)
        break
else:
    prof.setdefault("syscalls", []).append({"names": calls, "action": "SCMP_ACT_ALLOW"})
json.dump(prof, sys.stdout, indent=1)
print()
PY
