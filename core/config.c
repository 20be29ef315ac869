/*
 * core/config.c - broker configuration (see core/config.h): the raw map, the
 * precedence defaults < file < env < overrides, and the public accessors.
 *
 * Owns: the raw key/value map (every key with the source that set it last) and the
 * typed struct rb_broker_config built from it once all sources are applied.
 * Invariants: every value in the map for a known key has passed rb_cfg_check; keys
 * are unique (a later source replaces the value and the source in place, so
 * rb_config_foreach keeps first-seen order).
 * Fault model: all input is untrusted text; bad syntax or a bad value fails the load
 * with a one-line reason, never an assertion. Unknown keys are logged and kept.
 * The schema of broker keys and value checks live in core/config_keys.c, the
 * .properties reader in core/config_props.c, topic keys in core/config_topic.c,
 * the typed view in core/config_build.c.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct rb_config_entry {
    char *key;
    char *value;
    const char *source; /* static string: default | file | env | override */
};

struct rb_config {
    atomic_int refs; /* rb_config_ref / rb_config_free */
    struct rb_config_entry *v;
    int n, cap;
    struct rb_broker_config broker;
};

/* ---- the raw map ---- */

static struct rb_config_entry *entry_find(const struct rb_config *cfg, const char *key)
{
    for (int i = 0; i < cfg->n; i++)
        if (strcmp(cfg->v[i].key, key) == 0)
            return &cfg->v[i];
    return NULL;
}

static int map_set(struct rb_config *cfg, const char *key, const char *value, const char *source)
{
    char *nv = strdup(value);
    if (!nv)
        return -ENOMEM;
    struct rb_config_entry *e = entry_find(cfg, key);
    if (!e) {
        if (cfg->n == cfg->cap) {
            int ncap = cfg->cap ? cfg->cap * 2 : 64;
            void *p = realloc(cfg->v, (size_t)ncap * sizeof(*cfg->v));
            if (!p)
                goto out_free;
            cfg->v = p;
            cfg->cap = ncap;
        }
        e = &cfg->v[cfg->n];
        e->key = strdup(key);
        if (!e->key)
            goto out_free;
        e->value = NULL;
        cfg->n++;
    }
    free(e->value);
    e->value = nv;
    e->source = source;
    return 0;
out_free:
    free(nv);
    return -ENOMEM;
}

/* Validate and store one key from a source; where says where it came from
 * ("server.properties:12", "env KAFKA_X", "--override") for error messages. */
static int put(struct rb_config *cfg, const char *key, const char *value, const char *source,
               const char *where, char *err, size_t errlen)
{
    /* Kafka trims values before parsing them; do the same for every source. */
    while (isspace((unsigned char)*value))
        value++;
    size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1]))
        n--;
    char *v = strndup(value, n);
    if (!v)
        return -ENOMEM;
    const struct rb_cfg_spec *s = rb_cfg_spec_find(key);
    char why[160];
    int rc = 0;
    if (s && rb_cfg_check(s, v, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "invalid value '%s' for %s: %s (%s)", v, key, why, where);
        rc = -EINVAL;
        goto out;
    }
    if (!s)
        RB_WARN("config", "unknown configuration key '%s' (ignored) (%s)", key, where);
    rc = map_set(cfg, key, v, source);
out:
    free(v);
    return rc;
}

/* ---- sources ---- */

struct file_ctx {
    struct rb_config *cfg;
    const char *path;
    char *err;
    size_t errlen;
};

static int file_kv(const char *key, const char *value, int line, void *arg)
{
    struct file_ctx *fc = arg;
    char where[512];
    snprintf(where, sizeof(where), "%s:%d", fc->path, line);
    return put(fc->cfg, key, value, "file", where, fc->err, fc->errlen);
}

static int load_file(struct rb_config *cfg, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        snprintf(err, errlen, "cannot read %s: not a regular file of at most 16 MiB", path);
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out_close;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto out_free;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    struct file_ctx fc = {cfg, path, err, errlen};
    rc = rb_config_props_parse(buf, got, path, file_kv, &fc, err, errlen);
out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}

static const char *const launcher_vars[] = {
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_DEBUG",
};

/* NAME (without prefix) -> key: "___" -> '-', "__" -> '_', '_' -> '.', lower case. */
static void env_to_key(const char *name, size_t len, char *key, size_t keylen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < keylen; i++) {
        char c = name[i];
        if (c == '_' && i + 2 < len && name[i + 1] == '_' && name[i + 2] == '_') {
            key[o++] = '-';
            i += 2;
        } else if (c == '_' && i + 1 < len && name[i + 1] == '_') {
            key[o++] = '_';
            i += 1;
        } else {
            key[o++] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
    }
    key[o] = 0;
}

/* Rule for KAFKA_* / RINGBROKER_* variables whose key is unknown: when the name
 * looks like a launcher or image variable - it ends in _OPTS, _HOME, _VERSION,
 * _PATH or _CLASSPATH, or its key has no '.' (every Kafka broker key without a dot,
 * e.g. "listeners", is in the schema) - it is skipped silently (KAFKA_HOME,
 * KAFKA_VERSION, RINGBROKER_BIN, ...). Any other unknown key is a warning and kept. */
static bool looks_like_launcher_var(const char *name, size_t namelen, const char *key)
{
    static const char *const sfx[] = {"_OPTS", "_HOME", "_VERSION", "_PATH", "_CLASSPATH"};
    for (size_t i = 0; i < RB_ARRAY_LEN(sfx); i++) {
        size_t n = strlen(sfx[i]);
        if (namelen >= n && strncmp(name + namelen - n, sfx[i], n) == 0)
            return true;
    }
    return strchr(key, '.') == NULL;
}

static int load_env_one(struct rb_config *cfg, const char *ent, char *err, size_t errlen)
{
    const char *eq = strchr(ent, '=');
    size_t plen;
    if (!eq)
        return 0;
    if (strncmp(ent, "KAFKA_", 6) == 0)
        plen = 6;
    else if (strncmp(ent, "RINGBROKER_", 11) == 0)
        plen = 11;
    else
        return 0;
    size_t namelen = (size_t)(eq - ent);
    for (size_t i = 0; i < RB_ARRAY_LEN(launcher_vars); i++)
        if (strlen(launcher_vars[i]) == namelen && strncmp(ent, launcher_vars[i], namelen) == 0)
            return 0;
    if (namelen == plen)
        return 0;
    char key[256];
    env_to_key(ent + plen, namelen - plen, key, sizeof(key));
    if (!rb_cfg_spec_find(key) && looks_like_launcher_var(ent, namelen, key)) {
        RB_DEBUG("config", "environment variable %.*s is not configuration (skipped)", (int)namelen,
                 ent);
        return 0;
    }
    char where[300];
    snprintf(where, sizeof(where), "env %.*s", (int)RB_MIN(namelen, 200), ent);
    return put(cfg, key, eq + 1, "env", where, err, errlen);
}

static int load_overrides(struct rb_config *cfg, int n, char *const *ov, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(ov[i], '=');
        size_t kl = eq ? (size_t)(eq - ov[i]) : 0;
        while (kl && isspace((unsigned char)ov[i][kl - 1]))
            kl--;
        size_t ks = 0;
        while (ks < kl && isspace((unsigned char)ov[i][ks]))
            ks++;
        if (!eq || ks == kl) {
            snprintf(err, errlen, "invalid override '%s': expected key=value", ov[i]);
            return -EINVAL;
        }
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(kl - ks), ov[i] + ks);
        int rc = put(cfg, key, eq + 1, "override", "--override", err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- public API (typed view is built in core/config_build.c) ---- */

/* A new empty config with one reference; *out and err cleared for the caller. */
static struct rb_config *config_new(struct rb_config **out, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    *out = NULL;
    struct rb_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg)
        atomic_init(&cfg->refs, 1);
    return cfg;
}

int rb_config_load(struct rb_config **out, const char *path, char *const *envp, int n_overrides,
                   char *const *overrides, char *err, size_t errlen)
{
    struct rb_config *cfg = config_new(out, err, errlen);
    if (!cfg)
        return -ENOMEM;
    int rc = 0;
    size_t n_specs;
    const struct rb_cfg_spec *specs = rb_cfg_specs(&n_specs);
    for (size_t i = 0; i < n_specs && rc == 0; i++)
        if (specs[i].def)
            rc = map_set(cfg, specs[i].key, specs[i].def, "default");
    if (rc == 0 && path)
        rc = load_file(cfg, path, err, errlen);
    for (int i = 0; rc == 0 && envp && envp[i]; i++)
        rc = load_env_one(cfg, envp[i], err, errlen);
    if (rc == 0)
        rc = load_overrides(cfg, n_overrides, overrides, err, errlen);
    if (rc == 0)
        rc = rb_config_build(cfg, &cfg->broker, err, errlen);
    if (rc < 0) {
        if (rc == -ENOMEM && errlen && !err[0])
            snprintf(err, errlen, "out of memory loading configuration");
        rb_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

void rb_config_free(struct rb_config *cfg)
{
    if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
        return;
    for (int i = 0; i < cfg->n; i++) {
        free(cfg->v[i].key);
        free(cfg->v[i].value);
    }
    free(cfg->v);
    rb_config_broker_free(&cfg->broker);
    free(cfg);
}

struct rb_config *rb_config_ref(struct rb_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

const char *rb_config_source(const struct rb_config *cfg, const char *key)
{
    const struct rb_config_entry *e = entry_find(cfg, key);
    return e ? e->source : NULL;
}

int rb_config_overlay(struct rb_config **out, const struct rb_config *base, int n,
                      const char *const *keys, const char *const *values, const bool *per_broker,
                      char *err, size_t errlen)
{
    struct rb_config *cfg = config_new(out, err, errlen);
    if (!cfg)
        return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < base->n && rc == 0; i++)
        rc = map_set(cfg, base->v[i].key, base->v[i].value, base->v[i].source);
    /* cluster-wide defaults first: a per-broker value wins over them */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (int i = 0; i < n && rc == 0; i++) {
            if (per_broker[i] != (pass == 1))
                continue;
            const struct rb_cfg_spec *s = rb_cfg_spec_find(keys[i]);
            char why[160];
            if (s && rb_cfg_check(s, values[i], why, sizeof(why)) < 0) {
                snprintf(err, errlen, "invalid value '%s' for %s: %s", values[i], keys[i], why);
                rc = -EINVAL;
                break;
            }
            rc = map_set(cfg, keys[i], values[i], pass ? "dynamic-broker" : "dynamic-default");
        }
    }
    if (rc == 0)
        rc = rb_config_build(cfg, &cfg->broker, err, errlen);
    if (rc < 0) {
        rb_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

const struct rb_broker_config *rb_config_broker(const struct rb_config *cfg)
{
    return &cfg->broker;
}

const char *rb_config_get(const struct rb_config *cfg, const char *key)
{
    const struct rb_config_entry *e = entry_find(cfg, key);
    return e ? e->value : NULL;
}

int rb_config_foreach(const struct rb_config *cfg,
                      void (*fn)(const char *key, const char *value, const char *source, void *arg),
                      void *arg)
{
    for (int i = 0; i < cfg->n; i++)
        fn(cfg->v[i].key, cfg->v[i].value, cfg->v[i].source, arg);
    return cfg->n;
}
