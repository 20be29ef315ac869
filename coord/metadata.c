/*
 * coord/metadata.c - snapshot lifetime, lookup, copy (see coord/metadata.h).
 */
#include "coord/metadata.h"
#include "core/config.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void rb_metadata_ref(struct rb_metadata *md)
{
    atomic_fetch_add_explicit(&md->refs, 1, memory_order_relaxed);
}

void rb_metadata_unref(struct rb_metadata *md)
{
    if (!md)
        return;
    if (atomic_fetch_sub_explicit(&md->refs, 1, memory_order_acq_rel) == 1)
        rb_metadata_free(md);
}

static void topic_free(struct rb_topic_meta *t)
{
    free(t->name);
    for (int32_t p = 0; p < t->n_partitions; p++) {
        free(t->partitions[p].replicas);
        free(t->partitions[p].isr);
    }
    free(t->partitions);
    for (int32_t c = 0; c < t->n_configs; c++) {
        free(t->configs[c].key);
        free(t->configs[c].value);
    }
    free(t->configs);
}

void rb_metadata_free(struct rb_metadata *md)
{
    if (!md)
        return;
    for (int32_t i = 0; i < md->n_topics; i++)
        topic_free(&md->topics[i]);
    free(md->topics);
    for (int32_t i = 0; i < md->n_brokers; i++) {
        free(md->brokers[i].host);
        free(md->brokers[i].rack);
    }
    free(md->brokers);
    for (int32_t i = 0; i < md->n_dyn_configs; i++) {
        free(md->dyn_configs[i].key);
        free(md->dyn_configs[i].value);
    }
    free(md->dyn_configs);
    rb_config_free(md->config);
    free(md);
}

const char *rb_metadata_dyn_config(const struct rb_metadata *md, int32_t broker, const char *key)
{
    for (int32_t i = 0; i < md->n_dyn_configs; i++)
        if (md->dyn_configs[i].broker == broker && strcmp(md->dyn_configs[i].key, key) == 0)
            return md->dyn_configs[i].value;
    return NULL;
}

void rb_metadata_set_config(struct rb_metadata *md, struct rb_config *cfg)
{
    rb_config_free(md->config);
    md->config = cfg;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, RB_MIN(alen, blen));
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

const struct rb_topic_meta *rb_metadata_topic(const struct rb_metadata *md, const char *name,
                                              size_t len)
{
    int32_t lo = 0, hi = md->n_topics - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const struct rb_topic_meta *t = &md->topics[mid];
        int c = name_cmp(t->name, t->name_len, name, len);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const struct rb_topic_meta *rb_metadata_topic_by_id(const struct rb_metadata *md,
                                                    const uint8_t id[16])
{
    for (int32_t i = 0; i < md->n_topics; i++)
        if (memcmp(md->topics[i].id, id, 16) == 0)
            return &md->topics[i];
    return NULL;
}

const char *rb_topic_config(const struct rb_topic_meta *t, const char *key)
{
    for (int32_t i = 0; i < t->n_configs; i++)
        if (strcmp(t->configs[i].key, key) == 0)
            return t->configs[i].value;
    return NULL;
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    RB_ASSERT(d);
    return d;
}

static void *xdup(const void *p, size_t n)
{
    if (!p || !n)
        return NULL;
    void *d = malloc(n);
    RB_ASSERT(d);
    memcpy(d, p, n);
    return d;
}

static void topic_copy(struct rb_topic_meta *dst, const struct rb_topic_meta *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    dst->partitions = calloc((size_t)RB_MAX(src->n_partitions, 1), sizeof(*dst->partitions));
    RB_ASSERT(dst->partitions);
    for (int32_t p = 0; p < src->n_partitions; p++) {
        const struct rb_partition_meta *sp = &src->partitions[p];
        struct rb_partition_meta *dp = &dst->partitions[p];
        *dp = *sp;
        dp->replicas = xdup(sp->replicas, sizeof(int32_t) * (size_t)sp->n_replicas);
        dp->isr = xdup(sp->isr, sizeof(int32_t) * (size_t)sp->n_isr);
    }
    dst->configs = calloc((size_t)RB_MAX(src->n_configs, 1), sizeof(*dst->configs));
    RB_ASSERT(dst->configs);
    for (int32_t c = 0; c < src->n_configs; c++) {
        dst->configs[c].key = xstrdup(src->configs[c].key);
        dst->configs[c].value = xstrdup(src->configs[c].value);
    }
}

struct rb_metadata *rb_metadata_clone(const struct rb_metadata *md)
{
    struct rb_metadata *n = calloc(1, sizeof(*n));
    RB_ASSERT(n);
    atomic_init(&n->refs, 1);
    n->epoch = md->epoch;
    memcpy(n->cluster_id, md->cluster_id, sizeof(n->cluster_id));
    n->controller_id = md->controller_id;
    n->leader_lease = md->leader_lease;
    n->resolve_again = md->resolve_again;
    n->n_brokers = md->n_brokers;
    n->brokers = calloc((size_t)RB_MAX(md->n_brokers, 1), sizeof(*n->brokers));
    RB_ASSERT(n->brokers);
    for (int32_t i = 0; i < md->n_brokers; i++) {
        n->brokers[i] = md->brokers[i];
        n->brokers[i].host = xstrdup(md->brokers[i].host);
        n->brokers[i].rack = xstrdup(md->brokers[i].rack);
    }
    n->n_topics = md->n_topics;
    n->topics = calloc((size_t)RB_MAX(md->n_topics, 1), sizeof(*n->topics));
    RB_ASSERT(n->topics);
    for (int32_t i = 0; i < md->n_topics; i++)
        topic_copy(&n->topics[i], &md->topics[i]);
    n->n_dyn_configs = md->n_dyn_configs;
    n->dyn_configs = calloc((size_t)RB_MAX(md->n_dyn_configs, 1), sizeof(*n->dyn_configs));
    RB_ASSERT(n->dyn_configs);
    for (int32_t i = 0; i < md->n_dyn_configs; i++) {
        n->dyn_configs[i].broker = md->dyn_configs[i].broker;
        n->dyn_configs[i].key = xstrdup(md->dyn_configs[i].key);
        n->dyn_configs[i].value = xstrdup(md->dyn_configs[i].value);
    }
    n->config = md->config ? rb_config_ref(md->config) : NULL;
    return n;
}

static int topic_sort_cmp(const void *a, const void *b)
{
    const struct rb_topic_meta *x = a, *y = b;
    return name_cmp(x->name, x->name_len, y->name, y->name_len);
}

void rb_metadata_sort(struct rb_metadata *md)
{
    if (md->n_topics > 1) /* topics may be NULL when empty: qsort(NULL, 0) is UB */
        qsort(md->topics, (size_t)md->n_topics, sizeof(*md->topics), topic_sort_cmp);
}

bool rb_topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void rb_uuid_to_base64(const uint8_t id[16], char out[23])
{
    int o = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id[i + 1] << 8;
        if (i + 2 < 16)
            v |= id[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < 16)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < 16)
            out[o++] = b64url[v & 63];
    }
    out[o] = 0; /* 22 characters */
}

int rb_uuid_from_base64(const char *s, uint8_t id[16])
{
    if (strlen(s) != 22)
        return -EINVAL;
    uint8_t bits[22];
    for (int i = 0; i < 22; i++) {
        const char *p = strchr(b64url, s[i]);
        if (!p || !s[i])
            return -EINVAL;
        bits[i] = (uint8_t)(p - b64url);
    }
    int o = 0;
    for (int i = 0; i < 22; i += 4) {
        uint32_t v = (uint32_t)bits[i] << 18 | (uint32_t)bits[i + 1] << 12;
        if (i + 2 < 22)
            v |= (uint32_t)bits[i + 2] << 6;
        if (i + 3 < 22)
            v |= bits[i + 3];
        id[o++] = (uint8_t)(v >> 16);
        if (o < 16)
            id[o++] = (uint8_t)(v >> 8);
        if (o < 16)
            id[o++] = (uint8_t)v;
    }
    return 0;
}

void rb_uuid_random(uint8_t id[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(id + got, 16 - got, 0);
        if (r > 0)
            got += (size_t)r;
    }
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}
