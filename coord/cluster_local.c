/*
 * coord/cluster_local.c - the file naming the partitions a cluster broker hosts
 * and the shard each lives on: <first log dir>/ringbroker-replicas, one line per
 * partition, "<topic> <partition> <shard> <topic id base64>", after a first line
 * "ringbroker-replicas 1". Written whole and atomically (core/file.h) whenever
 * the set changes. It keeps placement stable across restarts and tells a broker
 * that starts which logs belong to topics deleted while it was down.
 * Fault model: the file is ours and must parse: a malformed line stops startup
 * with the file and line named.
 */
#include "coord/cluster_int.h"
#include "core/file.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "ringbroker-replicas"

int rb_cl_local_load(const char *dir, struct rb_cl_local **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, FILE_NAME);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char line[1024];
    int lineno = 0, r = 0, cap = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (lineno == 1) {
            if (strcmp(line, "ringbroker-replicas 1") != 0) {
                r = -EINVAL;
                break;
            }
            continue;
        }
        if (!line[0])
            continue;
        struct rb_cl_local l;
        char id[64];
        int p, s;
        if (sscanf(line, "%255s %d %d %63s", l.topic, &p, &s, id) != 4 || p < 0 || s < 0 ||
            s > 32767 || rb_uuid_from_base64(id, l.id)) {
            r = -EINVAL;
            break;
        }
        l.partition = p;
        l.shard = (int16_t)s;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            struct rb_cl_local *nl = realloc(*out, sizeof(*nl) * (size_t)cap);
            RB_ASSERT(nl);
            *out = nl;
        }
        (*out)[(*n)++] = l;
    }
    fclose(f);
    if (r) {
        snprintf(err, errlen, "%s line %d: malformed", path, lineno);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return r;
}

int rb_cl_local_save(const char *dir, const struct rb_metadata *md)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    RB_ASSERT(buf);
    len += (size_t)snprintf(buf, cap, "ringbroker-replicas 1\n");
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        char id[23];
        rb_uuid_to_base64(t->id, id);
        for (int32_t p = 0; p < t->n_partitions; p++) {
            if (t->partitions[p].shard < 0)
                continue;
            if (cap - len < 400) {
                cap *= 2;
                buf = realloc(buf, cap);
                RB_ASSERT(buf);
            }
            len += (size_t)snprintf(buf + len, cap - len, "%s %d %d %s\n", t->name, p,
                                    t->partitions[p].shard, id);
        }
    }
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, FILE_NAME);
    int r = rb_file_write_tmp(path, buf, len, RB_FILE_PUBLISH | RB_FILE_SYNC);
    free(buf);
    return r;
}
