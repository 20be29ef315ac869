/*
 * net/fetch_dedup.c - a Fetch that lists a partition more than once is read as
 * Kafka reads it: the request's partitions go into a map keyed by topic (name, or
 * id from v13) and partition, so a duplicate takes the place of the first entry
 * (its fetch offset and max bytes win: the map keeps the first position and the
 * last value) and the response lists each partition once. So a request listing
 * one partition 600 times costs one read, not 600.
 *
 * Done in place on the decoded request, before any work is routed: partitions are
 * compacted within their topic entry, topic entries left with no partition are
 * removed. One open-addressing table from the request arena, sized by the
 * partition count (bounded by the frame): O(partitions) time and memory.
 *
 * ListOffsets is stricter in Kafka: every occurrence of a partition listed twice
 * is answered INVALID_REQUEST and none is looked up (rb_part_dups flags them).
 */
#include "net/fanout.h"
#include "net/handlers.h"
#include "core/rb.h"

#include <string.h>

struct slot {
    int32_t ti, pi; /* ti < 0: free */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static bool same_topic(const struct rb_fetch_req_topic *a, const struct rb_fetch_req_topic *b,
                       bool by_id)
{
    if (by_id)
        return memcmp(a->topic_id.b, b->topic_id.b, 16) == 0;
    return a->topic.len == b->topic.len &&
           (a->topic.len <= 0 || memcmp(a->topic.ptr, b->topic.ptr, (size_t)a->topic.len) == 0);
}

int rb_fetch_dedup(struct rb_request *req, struct rb_fetch_req *in, bool by_id)
{
    size_t np = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        np += (size_t)RB_MAX(in->topics[i].partitions_n, 0);
    if (np < 2)
        return 0;
    size_t cap = 4;
    while (cap < 2 * np)
        cap *= 2;
    struct slot *tab = rb_req_alloc(req, cap, sizeof(*tab));
    for (size_t k = 0; k < cap; k++)
        tab[k].ti = -1;
    int dups = 0;
    int32_t out_t = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        if (out_t != i) /* topics[out_t] was dropped: reuse its place now */
            in->topics[out_t] = in->topics[i];
        struct rb_fetch_req_topic *t = &in->topics[out_t];
        uint64_t th =
            by_id ? fnv(14695981039346656037ull, t->topic_id.b, 16)
                  : fnv(14695981039346656037ull, t->topic.ptr, (size_t)RB_MAX(t->topic.len, 0));
        int32_t kept = 0, had = t->partitions_n;
        for (int32_t j = 0; j < had; j++) {
            struct rb_fetch_req_partition *p = &t->partitions[j];
            size_t k = (size_t)fnv(th, &p->partition, sizeof(p->partition)) & (cap - 1);
            struct rb_fetch_req_partition *first = NULL;
            for (; tab[k].ti >= 0; k = (k + 1) & (cap - 1)) {
                struct rb_fetch_req_topic *ft = &in->topics[tab[k].ti];
                struct rb_fetch_req_partition *fp = &ft->partitions[tab[k].pi];
                if (fp->partition == p->partition && same_topic(ft, t, by_id)) {
                    first = fp;
                    break;
                }
            }
            if (first) { /* the later entry's values, at the first one's place */
                *first = *p;
                dups++;
                continue;
            }
            t->partitions[kept] = *p;
            tab[k] = (struct slot){out_t, kept};
            kept++;
        }
        if (had > 0)
            t->partitions_n = kept;
        if (had > 0 && kept == 0)
            continue; /* every partition was a duplicate: the topic goes too */
        out_t++;
    }
    in->topics_n = out_t;
    return dups;
}

int rb_part_dups(struct rb_request *req, int n, const struct rb_str *topics, const int32_t *parts,
                 bool *dup)
{
    size_t cap = 4;
    while (cap < 2 * (size_t)RB_MAX(n, 1))
        cap *= 2;
    int32_t *tab = rb_req_alloc(req, cap, sizeof(*tab));
    for (size_t k = 0; k < cap; k++)
        tab[k] = -1;
    int dups = 0;
    for (int i = 0; i < n; i++) {
        dup[i] = false;
        uint64_t h =
            fnv(fnv(14695981039346656037ull, topics[i].ptr, (size_t)RB_MAX(topics[i].len, 0)),
                &parts[i], sizeof(parts[i]));
        size_t k = (size_t)h & (cap - 1);
        for (; tab[k] >= 0; k = (k + 1) & (cap - 1)) {
            int j = tab[k];
            if (parts[j] == parts[i] && topics[j].len == topics[i].len &&
                (topics[i].len <= 0 ||
                 memcmp(topics[j].ptr, topics[i].ptr, (size_t)topics[i].len) == 0))
                break;
        }
        if (tab[k] < 0) {
            tab[k] = i;
            continue;
        }
        dups += !dup[tab[k]];
        dup[tab[k]] = dup[i] = true;
        dups++;
    }
    return dups;
}
