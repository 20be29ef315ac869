#!/bin/sh
# container/healthcheck.sh - the image's HEALTHCHECK: the broker answers a
# Metadata request (ringctl topics --list) within 4 s. RB_HEALTH_BOOTSTRAP
# (default 127.0.0.1:9092) names the listener to ask.
exec timeout 4 /usr/local/bin/ringctl topics --bootstrap-server "${RB_HEALTH_BOOTSTRAP:-127.0.0.1:9092}" \
    --list >/dev/null 2>&1
