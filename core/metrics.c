/*
 * core/metrics.c - named counter sets and Prometheus text rendering
 * (core/metrics.h). Rendering runs on the metrics thread only and allocates
 * freely; rb_mnames_get runs on the owning shard and allocates nothing.
 */
#include "core/metrics.h"
#include "core/rb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_SLOTS (2 * RB_MNAMES_MAX)

struct rb_mnames *rb_mnames_new(void)
{
    struct rb_mnames *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->index = calloc(INDEX_SLOTS, sizeof(uint32_t));
    if (!m->index) {
        free(m);
        return NULL;
    }
    return m;
}

void rb_mnames_free(struct rb_mnames *m)
{
    if (!m)
        return;
    free(m->index);
    free(m);
}

static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

struct rb_mname *rb_mnames_get(struct rb_mnames *m, const char *name, size_t len)
{
    uint32_t n = atomic_load_explicit(&m->n, memory_order_relaxed);
    if (len >= RB_MNAME_BYTES)
        len = RB_MNAME_BYTES - 1;
    uint32_t i = name_hash(name, len) & (INDEX_SLOTS - 1);
    for (; m->index[i]; i = (i + 1) & (INDEX_SLOTS - 1)) {
        struct rb_mname *s = &m->slot[m->index[i] - 1];
        if (strncmp(s->name, name, len) == 0 && s->name[len] == 0)
            return s;
    }
    /* the last slot is the overflow slot, named "" */
    if (n >= RB_MNAMES_MAX - 1) {
        struct rb_mname *o = &m->slot[RB_MNAMES_MAX - 1];
        if (n == RB_MNAMES_MAX - 1)
            atomic_store_explicit(&m->n, RB_MNAMES_MAX, memory_order_release);
        return o;
    }
    struct rb_mname *s = &m->slot[n];
    memcpy(s->name, name, len);
    s->name[len] = 0;
    m->index[i] = n + 1;
    atomic_store_explicit(&m->n, n + 1, memory_order_release);
    return s;
}

void rb_mbuf_free(struct rb_mbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void rb_mbuf_printf(struct rb_mbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        RB_ASSERT(n >= 0);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void rb_metric_head(struct rb_mbuf *b, const char *name, const char *type, const char *help)
{
    rb_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void rb_metric_label_value(struct rb_mbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            rb_mbuf_printf(b, "\\\\");
        else if (*v == '"')
            rb_mbuf_printf(b, "\\\"");
        else if (*v == '\n')
            rb_mbuf_printf(b, "\\n");
        else
            rb_mbuf_printf(b, "%c", *v);
    }
}

static void name_labels(struct rb_mbuf *b, const char *name, const char *suffix, const char *labels,
                        const char *extra)
{
    bool any = labels && labels[0], more = extra && extra[0];
    rb_mbuf_printf(b, "%s%s", name, suffix);
    if (any || more)
        rb_mbuf_printf(b, "{%s%s%s}", any ? labels : "", any && more ? "," : "", more ? extra : "");
}

void rb_metric_u64(struct rb_mbuf *b, const char *name, const char *labels, uint64_t v)
{
    name_labels(b, name, "", labels, NULL);
    rb_mbuf_printf(b, " %llu\n", (unsigned long long)v);
}

void rb_metric_double(struct rb_mbuf *b, const char *name, const char *labels, double v)
{
    name_labels(b, name, "", labels, NULL);
    rb_mbuf_printf(b, " %.9g\n", v);
}

void rb_hist_merge(struct rb_hist *dst, const struct rb_hist *src)
{
    for (int i = 0; i < RB_HIST_BUCKETS; i++)
        rb_counter_add(&dst->bucket[i], rb_counter_get(&src->bucket[i]));
    rb_counter_add(&dst->sum, rb_counter_get(&src->sum));
}

void rb_metric_hist(struct rb_mbuf *b, const char *name, const char *labels,
                    const struct rb_hist *h, double scale)
{
    uint64_t v[RB_HIST_BUCKETS], count = 0;
    int top = 0;
    for (int i = 0; i < RB_HIST_BUCKETS; i++) {
        v[i] = rb_counter_get(&h->bucket[i]);
        if (v[i])
            top = i;
    }
    /* bucket i holds values < 2^i: its le bound is 2^i - 1 for integers */
    for (int i = 0; i <= top && i < RB_HIST_BUCKETS - 1; i++) {
        count += v[i];
        char le[48];
        snprintf(le, sizeof(le), "le=\"%.9g\"", (double)((1ull << i) - 1) / scale);
        name_labels(b, name, "_bucket", labels, le);
        rb_mbuf_printf(b, " %llu\n", (unsigned long long)count);
    }
    if (top == RB_HIST_BUCKETS - 1)
        count += v[top];
    name_labels(b, name, "_bucket", labels, "le=\"+Inf\"");
    rb_mbuf_printf(b, " %llu\n", (unsigned long long)count);
    name_labels(b, name, "_sum", labels, NULL);
    rb_mbuf_printf(b, " %.9g\n", (double)rb_counter_get(&h->sum) / scale);
    name_labels(b, name, "_count", labels, NULL);
    rb_mbuf_printf(b, " %llu\n", (unsigned long long)count);
}
