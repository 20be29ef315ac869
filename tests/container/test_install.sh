#!/usr/bin/env bash
# tests/container/test_install.sh - `make install` into a staging DESTDIR: the
# binaries run, server.properties lands with log.dirs=/var/lib/ringbroker and is
# kept on a second install, the systemd unit's paths point at what was
# installed, and systemd-analyze verify accepts the unit (no systemd needed).
# Prints "install: N passed, N failed"; exit 1 on any failure.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() {
    local name=$1
    shift
    if "$@" >"$tmp/check.out" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$tmp/check.out" | tail -15
    fi
}
d=$tmp/stage
check make_install make -C "$root" --no-print-directory install PREFIX=/opt/rb DESTDIR="$d"
check binaries_run bash -c "'$d/opt/rb/bin/ringbroker' --version | grep -q '^ringbroker ' &&
    '$d/opt/rb/bin/ringctl' --help | grep -q '^usage: ringctl'"
cfg=$d/opt/rb/etc/ringbroker/server.properties
check config_log_dirs grep -qx 'log.dirs=/var/lib/ringbroker' "$cfg"
unit=$d/opt/rb/lib/systemd/system/ringbroker.service
check unit_paths grep -qx 'ExecStart=/opt/rb/bin/ringbroker /opt/rb/etc/ringbroker/server.properties' "$unit"
check unit_no_placeholders bash -c "! grep -q '@[A-Z]*@' '$unit'"
check unit_limits bash -c "grep -qx 'LimitNOFILE=1048576' '$unit' && grep -qx 'LimitMEMLOCK=infinity' '$unit' &&
    grep -qx 'Restart=on-failure' '$unit' && grep -qx 'KillSignal=SIGTERM' '$unit'"
# systemd-analyze verify resolves ExecStart on the real root: point a copy at
# the staged binary
sed "s|/opt/rb/bin/ringbroker|$d/opt/rb/bin/ringbroker|" "$unit" >"$tmp/ringbroker.service"
check unit_verifies bash -c "out=\$(systemd-analyze verify '$tmp/ringbroker.service' 2>&1);
    echo \"\$out\"; ! echo \"\$out\" | grep -i ringbroker.service"
echo 'broker.id=7' >"$cfg"
check config_kept_on_reinstall bash -c "make -C '$root' --no-print-directory install PREFIX=/opt/rb DESTDIR='$d' &&
    [ \"\$(cat '$cfg')\" = broker.id=7 ]"
check prefix_usr_uses_etc bash -c "make -C '$root' --no-print-directory install PREFIX=/usr DESTDIR='$tmp/usr' &&
    [ -f '$tmp/usr/etc/ringbroker/server.properties' ] &&
    grep -qx 'ExecStart=/usr/bin/ringbroker /etc/ringbroker/server.properties' '$tmp/usr/usr/lib/systemd/system/ringbroker.service'"
echo "install: $passed passed, $failed failed"
[ $failed -eq 0 ]
