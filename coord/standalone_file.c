/*
 * coord/standalone_file.c - the files the standalone backend keeps, each written
 * whole and atomically (core/file.h):
 *   <first log dir>/ringbroker-metadata (ours; one line per record):
 *     ringbroker-metadata 1
 *     cluster.id <22-char id>
 *     topic <name> <topic id base64> <partitions> <shard of p0>,<shard of p1>,...
 *     config <topic> <key> <value, percent-encoded>
 *     broker-config <default | broker id> <key> <value, percent-encoded>
 *         (dynamic broker configs: AlterConfigs on a BROKER resource)
 *   <partition dir>/partition.metadata (Kafka's, version 0: topic_id)
 *   <each log dir>/meta.properties (Kafka's version 1: node.id, cluster.id,
 *     directory.id)
 * Fault model: the metadata file is ours and must parse: a malformed line stops
 * startup with the file and line named (never a guess). A meta.properties whose
 * cluster.id differs from the metadata's means the dir belongs to another cluster:
 * startup stops. Writes are tmp + fsync + rename + fsync dir, except
 * partition.metadata, which rb_coord_sync_logs makes durable with the log files.
 */
#include "coord/coord.h"
#include "coord/standalone_int.h"
#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "coord"

/* Write dir/name atomically (core/file.h); without sync the caller syncs the file
 * system later (rb_coord_sync_logs). */
static int write_file_atomic_opt(const char *dir, const char *name, const char *data, size_t len,
                                 bool sync)
{
    char path[4400];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    return rb_file_write_tmp(path, data, len, RB_FILE_PUBLISH | (sync ? RB_FILE_SYNC : 0));
}

static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    return write_file_atomic_opt(dir, name, data, len, true);
}

int rb_coord_sync_logs(struct rb_coord *c)
{
    int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = syncfs(fd) < 0 ? -errno : 0;
    close(fd);
    if (r)
        RB_ERROR(COMP, "syncfs of %s: %s", c->dir, strerror(-r));
    return r;
}

static void pct_encode(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch <= ' ' || ch == '%' || ch >= 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = 0;
}

/* A percent-encoded copy of in, whatever its length (the caller frees). */
static char *pct_encoded(const char *in)
{
    size_t cap = strlen(in) * 3 + 5;
    char *out = malloc(cap);
    RB_ASSERT(out);
    pct_encode(in, out, cap);
    return out;
}

static void pct_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        unsigned v;
        if (*p == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
}

int rb_coord_format_file(const struct rb_metadata *md, char **out, size_t *out_len)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        for (;;) {                                                                                 \
            int n_ = snprintf(buf + len, cap - len, __VA_ARGS__);                                  \
            if ((size_t)n_ < cap - len) {                                                          \
                len += (size_t)n_;                                                                 \
                break;                                                                             \
            }                                                                                      \
            cap = cap * 2 + (size_t)n_;                                                            \
            char *nb_ = realloc(buf, cap);                                                         \
            if (!nb_) {                                                                            \
                free(buf);                                                                         \
                return -ENOMEM;                                                                    \
            }                                                                                      \
            buf = nb_;                                                                             \
        }                                                                                          \
    } while (0)
    EMIT("ringbroker-metadata 1\ncluster.id %s\n", md->cluster_id);
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        char id[23];
        rb_uuid_to_base64(t->id, id);
        EMIT("topic %s %s %d ", t->name, id, t->n_partitions);
        for (int32_t p = 0; p < t->n_partitions; p++)
            EMIT("%s%d", p ? "," : "", t->partitions[p].shard);
        EMIT("\n");
        for (int32_t k = 0; k < t->n_configs; k++) {
            char *v = pct_encoded(t->configs[k].value);
            EMIT("config %s %s %s\n", t->name, t->configs[k].key, v);
            free(v);
        }
    }
    for (int32_t i = 0; i < md->n_dyn_configs; i++) {
        char ent[16];
        const struct rb_dyn_config_kv *d = &md->dyn_configs[i];
        char *v = pct_encoded(d->value);
        if (d->broker < 0)
            snprintf(ent, sizeof(ent), "default");
        else
            snprintf(ent, sizeof(ent), "%d", d->broker);
        EMIT("broker-config %s %s %s\n", ent, d->key, v);
        free(v);
    }
#undef EMIT
    *out = buf;
    *out_len = len;
    return 0;
}

int rb_coord_persist(struct rb_coord *c, const struct rb_metadata *md)
{
    char *buf;
    size_t len;
    int r = rb_coord_format_file(md, &buf, &len);
    if (r)
        return r;
    r = write_file_atomic(c->dir, RB_COORD_MD_FILE, buf, len);
    free(buf);
    if (r)
        RB_ERROR(COMP, "cannot write %s/%s: %s", c->dir, RB_COORD_MD_FILE, strerror(-r));
    return r;
}

/* Not synced: a new partition's files become durable by rb_coord_sync_logs before
 * the metadata names them; one lost to a crash is written again at startup. */
int rb_coord_write_partition_metadata(const char *dir, const uint8_t id[16])
{
    char b64[23], buf[128];
    rb_uuid_to_base64(id, b64);
    int n = snprintf(buf, sizeof(buf), "version: 0\ntopic_id: %s\n", b64);
    return write_file_atomic_opt(dir, "partition.metadata", buf, (size_t)n, false);
}

static int read_meta_properties(const char *dir, char *cluster_id, size_t cap)
{
    char path[4400], line[512];
    snprintf(path, sizeof(path), "%s/meta.properties", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "cluster.id=", 11) == 0) {
            line[strcspn(line, "\r\n")] = 0;
            snprintf(cluster_id, cap, "%s", line + 11);
            r = 0;
        }
    }
    fclose(f);
    return r;
}

static int write_meta_properties(const struct rb_coord *c, const char *dir, const char *cluster_id)
{
    uint8_t did[16];
    char dids[23], buf[512];
    rb_uuid_random(did);
    rb_uuid_to_base64(did, dids);
    int n = snprintf(buf, sizeof(buf),
                     "#\n#Written by ringbroker\nversion=1\nnode.id=%d\ncluster.id=%s\n"
                     "directory.id=%s\n",
                     c->bc->broker_id, cluster_id, dids);
    return write_file_atomic(dir, "meta.properties", buf, (size_t)n);
}

int rb_coord_load_file(struct rb_coord *c, struct rb_metadata *md, char *err, size_t errlen)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", c->dir, RB_COORD_MD_FILE);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? -ENOENT : -errno;
    int r = rb_coord_parse_file(c, f, path, md, err, errlen);
    fclose(f);
    return r;
}

/* "<shard>,<shard>,..." after the partition count: n shard indexes (-1 where the
 * list is short); 0 or -EINVAL for anything but non-negative numbers. */
static int parse_shards(const char *sp, int32_t n, int16_t *sh)
{
    for (int32_t p = 0; p < n; p++) {
        sh[p] = -1;
        if (!sp || !*sp)
            continue;
        char *end;
        errno = 0;
        long v = strtol(sp, &end, 10);
        if (end == sp || errno || v < 0 || v > INT16_MAX || (*end && *end != ','))
            return -EINVAL;
        sh[p] = (int16_t)v;
        sp = *end ? end + 1 : NULL;
    }
    return 0;
}

static int parse_topic(struct rb_coord *c, struct rb_metadata *md, const char *line, char *err,
                       size_t errlen, const char *path, int lineno)
{
    char name[256], ids[64];
    int np, used = 0;
    if (sscanf(line, "topic %255s %63s %d%n", name, ids, &np, &used) != 3 || np <= 0 ||
        np > 1000000 || (line[used] && line[used] != ' ') ||
        !rb_topic_name_valid(name, strlen(name))) {
        snprintf(err, errlen, "%s:%d: malformed topic line", path, lineno);
        return -EINVAL;
    }
    for (int32_t i = 0; i < md->n_topics; i++)
        if (strcmp(md->topics[i].name, name) == 0) {
            snprintf(err, errlen, "%s:%d: topic %s appears twice", path, lineno, name);
            return -EINVAL;
        }
    int16_t *sh = calloc((size_t)np, sizeof(int16_t));
    RB_ASSERT(sh);
    if (parse_shards(line[used] ? line + used + 1 : NULL, np, sh)) {
        free(sh);
        snprintf(err, errlen, "%s:%d: malformed shard list", path, lineno);
        return -EINVAL;
    }
    struct rb_topic_meta *t = rb_coord_topic_append(md, name);
    if (rb_uuid_from_base64(ids, t->id))
        rb_uuid_random(t->id);
    rb_coord_topic_set_partitions(c, t, np, sh);
    free(sh);
    return 0;
}

int rb_coord_parse_file(struct rb_coord *c, FILE *f, const char *path, struct rb_metadata *md,
                        char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, r = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (lineno == 1) {
            if (strcmp(line, "ringbroker-metadata 1") != 0) {
                snprintf(err, errlen, "%s: unknown format '%s'", path, line);
                r = -EINVAL;
                break;
            }
        } else if (strncmp(line, "cluster.id ", 11) == 0) {
            snprintf(md->cluster_id, sizeof(md->cluster_id), "%s", line + 11);
        } else if (strncmp(line, "topic ", 6) == 0) {
            if ((r = parse_topic(c, md, line, err, errlen, path, lineno)))
                break;
        } else if (strncmp(line, "config ", 7) == 0) {
            char *tn = line + 7, *k = strchr(tn, ' '), *v = k ? strchr(k + 1, ' ') : NULL;
            if (!k || !v) {
                snprintf(err, errlen, "%s:%d: malformed config line", path, lineno);
                r = -EINVAL;
                break;
            }
            *k++ = 0;
            *v++ = 0;
            pct_decode(v);
            for (int32_t i = md->n_topics - 1; i >= 0; i--)
                if (strcmp(md->topics[i].name, tn) == 0)
                    rb_coord_topic_add_config(&md->topics[i], k, v);
        } else if (strncmp(line, "broker-config ", 14) == 0) {
            char *ent = line + 14, *k = strchr(ent, ' '), *v = k ? strchr(k + 1, ' ') : NULL;
            int64_t id = -1;
            if (!k || !v) {
                snprintf(err, errlen, "%s:%d: malformed broker-config line", path, lineno);
                r = -EINVAL;
                break;
            }
            *k++ = 0;
            *v++ = 0;
            pct_decode(v);
            if (strcmp(ent, "default") != 0 && rb_parse_i64(ent, 0, INT32_MAX, &id)) {
                snprintf(err, errlen, "%s:%d: bad broker '%s'", path, lineno, ent);
                r = -EINVAL;
                break;
            }
            rb_coord_dyn_config_set(md, (int32_t)id, k, v);
        } else if (line[0]) {
            snprintf(err, errlen, "%s:%d: malformed line", path, lineno);
            r = -EINVAL;
            break;
        }
    }
    free(line);
    return r;
}

int rb_coord_ensure_cluster_id(struct rb_coord *c, struct rb_metadata *md, char *err, size_t errlen)
{
    char from_meta[64] = "";
    int have_meta = read_meta_properties(c->dir, from_meta, sizeof(from_meta)) == 0;
    if (!md->cluster_id[0]) {
        if (have_meta) {
            snprintf(md->cluster_id, sizeof(md->cluster_id), "%s", from_meta);
        } else {
            uint8_t id[16];
            rb_uuid_random(id);
            rb_uuid_to_base64(id, md->cluster_id);
        }
    } else if (have_meta && strcmp(from_meta, md->cluster_id) != 0) {
        snprintf(err, errlen,
                 "%s/meta.properties has cluster.id %s but the metadata says %s: this log dir "
                 "belongs to another cluster",
                 c->dir, from_meta, md->cluster_id);
        return -EINVAL;
    }
    for (int i = 0; i < c->bc->n_log_dirs; i++) {
        char cid[64] = "";
        if (read_meta_properties(c->bc->log_dirs[i], cid, sizeof(cid)) == 0)
            continue;
        int r = write_meta_properties(c, c->bc->log_dirs[i], md->cluster_id);
        if (r) {
            snprintf(err, errlen, "cannot write %s/meta.properties: %s", c->bc->log_dirs[i],
                     strerror(-r));
            return r;
        }
    }
    return 0;
}
