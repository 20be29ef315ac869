/*
 * core/config_build.c - the typed view (struct rb_broker_config) built from the
 * raw map once every source is applied: keys that combine (broker.id/node.id,
 * listeners/advertised.listeners/listener.security.protocol.map, log.dirs/log.dir,
 * log.retention.ms/minutes/hours, log.roll.ms/hours) and the generic fields.
 * Invariant: runs after every stored value passed its per-key check, so only
 * cross-key and structural problems (listener URLs) are reported here, each
 * naming its key. Owns the log_dirs strings of the typed view.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct listener {
    char name[64];
    char host[RB_HOST_MAX];
    uint16_t port;
};

static int64_t get_i64(const struct rb_config *cfg, const char *key, int64_t dflt)
{
    const char *v = rb_config_get(cfg, key);
    int64_t x;
    if (v && rb_parse_i64(v, INT64_MIN, INT64_MAX, &x) == 0)
        return x;
    return dflt;
}

static int build_ids(const struct rb_config *cfg, struct rb_broker_config *b, char *err,
                     size_t errlen)
{
    const char *bid = rb_config_get(cfg, "broker.id"), *nid = rb_config_get(cfg, "node.id");
    int64_t x = get_i64(cfg, bid ? "broker.id" : "node.id", 0);
    if (bid && nid && strcmp(bid, nid) != 0 && get_i64(cfg, "node.id", -1) != x) {
        snprintf(err, errlen, "invalid value '%s' for node.id: differs from broker.id=%s", nid,
                 bid);
        return -EINVAL;
    }
    b->broker_id = (int32_t)x;
    return 0;
}

/* Security protocol of listener name per listener.security.protocol.map
 * ("NAME:PROTO,..."), or the name itself when it is not mapped (Kafka's default
 * map sends PLAINTEXT, SSL, SASL_* to themselves). */
static void listener_protocol(const struct rb_config *cfg, const char *name, char *out,
                              size_t outlen)
{
    const char *map = rb_config_get(cfg, "listener.security.protocol.map");
    snprintf(out, outlen, "%s", name);
    size_t nl = strlen(name);
    for (const char *p = map; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        const char *colon = memchr(p, ':', n);
        if (colon && (size_t)(colon - p) == nl && strncasecmp(p, name, nl) == 0) {
            size_t pl = n - (size_t)(colon - p) - 1;
            while (pl && colon[pl] == ' ')
                pl--;
            snprintf(out, outlen, "%.*s", (int)pl, colon + 1);
            return;
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

/* One "NAME://host:port" (IPv6 as [addr]); returns 0 or -EINVAL with why. */
static int parse_listener(const char *s, size_t n, struct listener *l, const char **why)
{
    const char *sep = memmem(s, n, "://", 3);
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof(l->name)) {
        *why = "expected NAME://host:port";
        return -EINVAL;
    }
    snprintf(l->name, sizeof(l->name), "%.*s", (int)(sep - s), s);
    const char *h = sep + 3, *end = s + n, *hend, *colon;
    if (h < end && *h == '[') {
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend || hend + 1 >= end || hend[1] != ':') {
            *why = "bad IPv6 address, expected [addr]:port";
            return -EINVAL;
        }
        colon = hend + 1;
        h++;
    } else {
        colon = memrchr(h, ':', (size_t)(end - h));
        hend = colon;
    }
    if (!colon || (size_t)(hend - h) >= RB_HOST_MAX) {
        *why = "expected NAME://host:port";
        return -EINVAL;
    }
    char port[8];
    int64_t p;
    size_t pl = (size_t)(end - colon - 1);
    if (pl == 0 || pl >= sizeof(port)) {
        *why = "bad port";
        return -EINVAL;
    }
    snprintf(port, sizeof(port), "%.*s", (int)pl, colon + 1);
    if (rb_parse_i64(port, 0, 65535, &p) < 0) {
        *why = "bad port";
        return -EINVAL;
    }
    snprintf(l->host, sizeof(l->host), "%.*s", (int)(hend - h), h);
    if (strcmp(l->host, "0.0.0.0") == 0)
        l->host[0] = 0; /* one spelling for "all interfaces" */
    l->port = (uint16_t)p;
    return 0;
}

/* Pick the first listener of key whose protocol is PLAINTEXT (and, when want is
 * given, whose name is want). Any non-PLAINTEXT listener is an error: only
 * PLAINTEXT is supported so far. Returns 0, -ENOENT (none) or -EINVAL. */
static int pick_listener(const struct rb_config *cfg, const char *key, const char *want,
                         struct listener *out, char *err, size_t errlen)
{
    const char *v = rb_config_get(cfg, key);
    bool found = false;
    for (const char *p = v; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        struct listener l;
        const char *why;
        char proto[64];
        if (parse_listener(p, n, &l, &why) < 0) {
            snprintf(err, errlen, "invalid value '%s' for %s: %s", v, key, why);
            return -EINVAL;
        }
        listener_protocol(cfg, l.name, proto, sizeof(proto));
        if (strcasecmp(proto, "PLAINTEXT") != 0) {
            snprintf(err, errlen,
                     "invalid value '%s' for %s: listener %s uses %s; only PLAINTEXT is "
                     "supported so far",
                     v, key, l.name, proto);
            return -EINVAL;
        }
        if (!found && (!want || strcasecmp(want, l.name) == 0)) {
            *out = l;
            found = true;
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return found ? 0 : -ENOENT;
}

static int build_listeners(const struct rb_config *cfg, struct rb_broker_config *b, char *err,
                           size_t errlen)
{
    struct listener l, a;
    int rc = pick_listener(cfg, "listeners", NULL, &l, err, errlen);
    if (rc == -ENOENT) {
        snprintf(err, errlen, "invalid value '' for listeners: no listener given");
        return -EINVAL;
    }
    if (rc < 0)
        return rc;
    snprintf(b->listener_host, sizeof(b->listener_host), "%s", l.host);
    b->listener_port = l.port;
    if (rb_config_get(cfg, "advertised.listeners")) {
        rc = pick_listener(cfg, "advertised.listeners", l.name, &a, err, errlen);
        if (rc == -ENOENT)
            rc = pick_listener(cfg, "advertised.listeners", NULL, &a, err, errlen);
        if (rc < 0)
            return rc;
        if (!a.host[0]) {
            snprintf(err, errlen,
                     "invalid value '%s' for advertised.listeners: %s needs a host clients "
                     "can reach",
                     rb_config_get(cfg, "advertised.listeners"), a.name);
            return -EINVAL;
        }
        snprintf(b->advertised_host, sizeof(b->advertised_host), "%s", a.host);
        b->advertised_port = a.port;
        return 0;
    }
    b->advertised_port = l.port;
    if (l.host[0]) {
        snprintf(b->advertised_host, sizeof(b->advertised_host), "%s", l.host);
    } else if (gethostname(b->advertised_host, sizeof(b->advertised_host) - 1) < 0 ||
               !b->advertised_host[0]) {
        snprintf(b->advertised_host, sizeof(b->advertised_host), "localhost");
    }
    return 0;
}

static int build_log_dirs(const struct rb_config *cfg, struct rb_broker_config *b, char *err,
                          size_t errlen)
{
    const char *key = rb_config_get(cfg, "log.dirs") ? "log.dirs" : "log.dir";
    const char *v = rb_config_get(cfg, key);
    for (const char *p = v; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ","), t = n;
        while (t && p[t - 1] == ' ')
            t--;
        if (t == 0 || b->n_log_dirs == RB_MAX_LOG_DIRS) {
            snprintf(err, errlen, "invalid value '%s' for %s: %s", v, key,
                     t ? "too many directories (max 16)" : "empty directory in list");
            return -EINVAL;
        }
        b->log_dirs[b->n_log_dirs] = strndup(p, t);
        if (!b->log_dirs[b->n_log_dirs])
            return -ENOMEM;
        b->n_log_dirs++;
        p += n;
        if (*p == ',')
            p++;
    }
    if (b->n_log_dirs == 0) {
        snprintf(err, errlen, "invalid value '%s' for %s: must not be empty", v ? v : "", key);
        return -EINVAL;
    }
    return 0;
}

/* Kafka's precedence: log.retention.ms > minutes > hours; a negative result is
 * -1 (keep forever). log.roll.ms > log.roll.hours. */
static void build_durations(const struct rb_config *cfg, struct rb_broker_config *b)
{
    int64_t r;
    if (rb_config_get(cfg, "log.retention.ms"))
        r = get_i64(cfg, "log.retention.ms", -1);
    else if (rb_config_get(cfg, "log.retention.minutes"))
        r = get_i64(cfg, "log.retention.minutes", -1) * 60000;
    else
        r = get_i64(cfg, "log.retention.hours", 168) * 3600000;
    b->log_retention_ms = r < 0 ? -1 : r;
    if (rb_config_get(cfg, "log.roll.ms"))
        b->log_roll_ms = get_i64(cfg, "log.roll.ms", 0);
    else
        b->log_roll_ms = get_i64(cfg, "log.roll.hours", 168) * 3600000;
    b->log_flush_interval_ms = get_i64(cfg, "log.flush.interval.ms", -1);
}

int rb_config_build(struct rb_config *cfg, struct rb_broker_config *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    int rc = build_ids(cfg, b, err, errlen);
    if (rc == 0)
        rc = build_listeners(cfg, b, err, errlen);
    if (rc == 0)
        rc = build_log_dirs(cfg, b, err, errlen);
    if (rc < 0)
        return rc;
    build_durations(cfg, b);
    rb_config_apply_fields(cfg, b);
    const char *zk = rb_config_get(cfg, "zookeeper.connect");
    if (zk && strlen(zk) >= sizeof(b->zookeeper_connect)) {
        snprintf(err, errlen, "invalid value for zookeeper.connect: longer than %zu bytes",
                 sizeof(b->zookeeper_connect) - 1);
        return -EINVAL;
    }
    snprintf(b->zookeeper_connect, sizeof(b->zookeeper_connect), "%s", zk ? zk : "");
    const char *ts = rb_config_get(cfg, "log.message.timestamp.type");
    b->log_message_timestamp_log_append = ts && strcmp(ts, "LogAppendTime") == 0;
    const char *ft = rb_config_get(cfg, "fetch.file.transfer");
    b->fetch_file_splice = ft && strcasecmp(ft, "splice") == 0;
    const char *ll = rb_config_get(cfg, "log.level");
    snprintf(b->log_level, sizeof(b->log_level), "%s", ll ? ll : "info");
    return 0;
}

void rb_config_broker_free(struct rb_broker_config *b)
{
    for (int i = 0; i < b->n_log_dirs; i++)
        free(b->log_dirs[i]);
    b->n_log_dirs = 0;
}
