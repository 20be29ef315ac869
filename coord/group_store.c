/*
 * coord/group_store.c - what a group keeps across restarts: which partition of
 * __consumer_offsets holds it (Java's String.hashCode, as Kafka), its committed
 * offsets (commit checks, lookup, deletion), whether a consumer group still
 * subscribes to a topic, offset expiry by Kafka's classic rules
 * (offsets.retention.minutes), and restoring a group from its GroupMetadata
 * record (rb_group_load_meta; the state change itself is group.c's).
 * Fault model: subscriptions come from clients and are parsed defensively (one
 * that does not parse counts as "unknown", never as "subscribes to nothing").
 */
#include "coord/group.h"
#include "coord/group_int.h"
#include "core/endian.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

/* ---- placement ---- */

int32_t rb_java_string_hash(const char *s, size_t len)
{
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    while (p < end) {
        uint32_t cp = *p++;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (extra) {
            cp &= 0x3Fu >> extra;
            for (int i = 0; i < extra && p < end; i++)
                cp = (cp << 6) | (*p++ & 0x3Fu);
        }
        if (cp >= 0x10000) { /* surrogate pair */
            cp -= 0x10000;
            h = h * 31u + (0xD800u + (cp >> 10));
            h = h * 31u + (0xDC00u + (cp & 0x3FFu));
        } else {
            h = h * 31u + cp;
        }
    }
    return (int32_t)h;
}

int32_t rb_group_partition_for(const char *id, size_t len, int32_t n_partitions)
{
    int32_t h = rb_java_string_hash(id, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return n_partitions > 0 ? a % n_partitions : 0;
}

/* ---- offsets ---- */

int16_t rb_group_commit_check(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                              const char *member_id, const char *instance_id, struct rb_group **out)
{
    *out = NULL;
    if (!group_id[0])
        return RB_KERR_INVALID_GROUP_ID;
    struct rb_group *g = rb_group_find(mgr, group_id);
    if (!g) {
        if (generation >= 0)
            return RB_KERR_ILLEGAL_GENERATION;
        *out = rb_group_get_or_create(mgr, group_id);
        return RB_KERR_NONE;
    }
    if (g->state == RB_GS_DEAD)
        return RB_KERR_COORDINATOR_NOT_AVAILABLE;
    if (generation < 0 && g->state == RB_GS_EMPTY) {
        *out = g;
        return RB_KERR_NONE;
    }
    struct rb_gmember *m;
    int16_t err = rb_group_member_check(g, member_id, instance_id, &m);
    if (err == RB_KERR_FENCED_INSTANCE_ID)
        return err;
    if (g->state == RB_GS_COMPLETING)
        return RB_KERR_REBALANCE_IN_PROGRESS;
    if (err)
        return err;
    if (generation != g->generation)
        return RB_KERR_ILLEGAL_GENERATION;
    rb_group_session_reset(mgr, m);
    *out = g;
    return RB_KERR_NONE;
}

int16_t rb_group_delete_check(struct rb_group_mgr *mgr, const char *group_id)
{
    struct rb_group *g = rb_group_find(mgr, group_id);
    if (!g || g->state == RB_GS_DEAD)
        return RB_KERR_GROUP_ID_NOT_FOUND;
    if (g->state != RB_GS_EMPTY)
        return RB_KERR_NON_EMPTY_GROUP;
    return RB_KERR_NONE;
}

/* Consumer protocol subscription: version int16, topics [string], ... Returns 1
 * when topic is in it, 0 when not, -1 when it does not parse. */
static int subscription_find(const uint8_t *p, int32_t len, const char *topic)
{
    if (!p || len < 6)
        return -1;
    size_t tl = strlen(topic);
    int32_t off = 2;
    int32_t n = (int32_t)rb_get_be32(p + off);
    off += 4;
    if (n < 0)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        if (off + 2 > len)
            return -1;
        int32_t sl = (int16_t)rb_get_be16(p + off);
        off += 2;
        if (sl < 0 || off + sl > len)
            return -1;
        if ((size_t)sl == tl && memcmp(p + off, topic, tl) == 0)
            return 1;
        off += sl;
    }
    return 0;
}

static bool subscription_has(const uint8_t *p, int32_t len, const char *topic)
{
    return subscription_find(p, len, topic) == 1;
}

bool rb_group_subscribed(const struct rb_group *g, const char *topic)
{
    if (!rb_group_str_eq(g->protocol_type, "consumer"))
        return false;
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        int32_t len;
        const uint8_t *meta = rb_group_member_meta(g, m, &len);
        if (!meta && m->n_protocols > 0) {
            meta = m->proto_meta[0];
            len = m->proto_meta_len[0];
        }
        if (subscription_has(meta, len, topic))
            return true;
    }
    return false;
}

struct rb_goffset *rb_group_offset_get(struct rb_group *g, const char *topic, int32_t partition)
{
    for (struct rb_goffset *o = g->offsets; o; o = o->next)
        if (o->partition == partition && strcmp(o->topic, topic) == 0)
            return o;
    return NULL;
}

void rb_group_offset_put(struct rb_group *g, const char *topic, int32_t partition, int64_t offset,
                         int32_t leader_epoch, const char *metadata, int64_t commit_ts)
{
    struct rb_goffset *o = rb_group_offset_get(g, topic, partition);
    if (!o) {
        o = calloc(1, sizeof(*o));
        RB_ASSERT(o);
        o->topic = rb_group_strdup(topic);
        o->partition = partition;
        o->next = g->offsets;
        g->offsets = o;
        g->n_offsets++;
    }
    free(o->metadata);
    o->metadata = rb_group_strdup(metadata ? metadata : "");
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->commit_ts = commit_ts;
}

bool rb_group_offset_del(struct rb_group *g, const char *topic, int32_t partition)
{
    for (struct rb_goffset **pp = &g->offsets; *pp; pp = &(*pp)->next) {
        struct rb_goffset *o = *pp;
        if (o->partition == partition && strcmp(o->topic, topic) == 0) {
            *pp = o->next;
            free(o->topic);
            free(o->metadata);
            free(o);
            g->n_offsets--;
            return true;
        }
    }
    return false;
}

/* ---- offset expiry ---- */

/* Kafka's classic-group expiration condition: the base time of o's retention, or
 * INT64_MIN when o must not expire. */
static int64_t expiry_base(const struct rb_group *g, const struct rb_goffset *o)
{
    if (!g->protocol_type) /* standalone (simple) commits */
        return o->commit_ts;
    if (g->state == RB_GS_EMPTY)
        return g->state_ts >= 0 ? g->state_ts : o->commit_ts;
    if (g->state != RB_GS_STABLE || strcmp(g->protocol_type, "consumer") != 0)
        return INT64_MIN;
    /* Stable consumer group: only topics no member subscribes to (every member's
     * subscription must be known). */
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        int32_t len;
        const uint8_t *meta = rb_group_member_meta(g, m, &len);
        int r = subscription_find(meta, len, o->topic);
        if (r != 0)
            return INT64_MIN;
    }
    return o->commit_ts;
}

int rb_group_expire_offsets(struct rb_group *g, int64_t now, int64_t retention_ms,
                            void (*fn)(void *arg, struct rb_group *g, const struct rb_goffset *o),
                            void *arg)
{
    if (g->state == RB_GS_DEAD || retention_ms < 0)
        return 0;
    int n = 0;
    for (struct rb_goffset **pp = &g->offsets; *pp;) {
        struct rb_goffset *o = *pp;
        int64_t base = expiry_base(g, o);
        if (base == INT64_MIN || now - base < retention_ms) {
            pp = &o->next;
            continue;
        }
        if (fn)
            fn(arg, g, o);
        *pp = o->next;
        free(o->topic);
        free(o->metadata);
        free(o);
        g->n_offsets--;
        n++;
    }
    return n;
}

/* ---- group metadata records ---- */

static void load_member(struct rb_group *g, const struct rb_gmeta *meta,
                        const struct rb_gmeta_member *src)
{
    /* One protocol: the group's, with the member's subscription (as Kafka). */
    const char *name = meta->protocol ? meta->protocol : "";
    int32_t len = src->subscription_len > 0 ? src->subscription_len : 0;
    struct rb_gjoin in = {
        .instance_id = src->instance_id,
        .client_id = src->client_id,
        .client_host = src->client_host,
        .session_timeout_ms = src->session_timeout_ms,
        .rebalance_timeout_ms =
            src->rebalance_timeout_ms >= 0 ? src->rebalance_timeout_ms : src->session_timeout_ms,
        .n_protocols = 1,
        .proto_names = &name,
        .proto_meta = &src->subscription,
        .proto_meta_len = &len,
    };
    struct rb_gmember *m = rb_group_member_add(g, src->id, &in); /* a fresh session */
    rb_group_set_assignment(m, src->assignment, src->assignment_len);
}

void rb_group_load_meta(struct rb_group_mgr *mgr, const char *id, const struct rb_gmeta *meta)
{
    struct rb_group *g = meta ? rb_group_get_or_create(mgr, id) : rb_group_find(mgr, id);
    if (!g || g->state == RB_GS_DEAD)
        return;
    g->initial_delay = g->new_in_delay = false;
    rb_group_drop_members(g, RB_KERR_UNKNOWN_MEMBER_ID);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    g->protocol_type = g->protocol = g->leader = NULL;
    if (!meta) {
        g->generation = 0;
        g->persisted = false;
        rb_group_restore_state(g, RB_GS_EMPTY, -1);
        rb_group_gc(mgr, g);
        return;
    }
    g->persisted = true;
    g->generation = meta->generation;
    g->protocol_type =
        meta->protocol_type && meta->protocol_type[0] ? rb_group_strdup(meta->protocol_type) : NULL;
    g->protocol = rb_group_strdup(meta->protocol);
    g->leader = rb_group_strdup(meta->leader);
    for (int i = 0; i < meta->n_members; i++)
        load_member(g, meta, &meta->members[i]);
    rb_group_restore_state(g, g->n_members ? RB_GS_STABLE : RB_GS_EMPTY, meta->state_ts);
    if (g->n_members && (!g->leader || !rb_group_member(g, g->leader))) {
        free(g->leader);
        g->leader = rb_group_strdup(g->members->id);
    }
}

static int64_t str_bytes(const char *s)
{
    return 2 + (s ? (int64_t)strlen(s) : 0);
}

/* A member's subscription as the record will hold it: the selected protocol's,
 * else (no selection yet) its largest. */
static int64_t member_meta_bytes(const struct rb_group *g, const struct rb_gmember *m)
{
    int32_t len = 0;
    if (g->protocol && rb_group_member_meta(g, m, &len))
        return len;
    int64_t max = 0;
    for (int i = 0; i < m->n_protocols; i++)
        max = RB_MAX(max, (int64_t)m->proto_meta_len[i]);
    return max;
}

int64_t rb_group_record_bytes(const struct rb_group *g, const struct rb_gjoin *in)
{
    /* version, protocol type, generation, protocol, leader, state time, count */
    int64_t n = 2 +
                str_bytes(g->protocol_type ? g->protocol_type
                          : in             ? in->protocol_type
                                           : NULL) +
                4 + str_bytes(g->protocol) + str_bytes(g->leader) + 8 + 4;
    const struct rb_gmember *self = NULL;
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        if (in && in->member_id[0] && strcmp(m->id, in->member_id) == 0) {
            self = m;
            continue;
        }
        n += str_bytes(m->id) + str_bytes(m->instance_id) + str_bytes(m->client_id) +
             str_bytes(m->client_host) + 8 + 4 + member_meta_bytes(g, m) + 4 + m->assignment_len;
    }
    if (!in)
        return n;
    int64_t meta = 0;
    for (int i = 0; i < in->n_protocols; i++)
        meta = RB_MAX(meta, (int64_t)RB_MAX(in->proto_meta_len[i], 0));
    /* A new member's id is its instance or client id, '-' and a 36-character uuid. */
    const char *prefix = in->instance_id ? in->instance_id : in->client_id;
    int64_t id = in->member_id[0] ? (int64_t)strlen(in->member_id)
                                  : RB_MIN((int64_t)(prefix ? strlen(prefix) : 0), 200) + 37;
    n += 2 + id + str_bytes(in->instance_id) + str_bytes(in->client_id) +
         str_bytes(in->client_host) + 8 + 4 + meta + 4 + (self ? self->assignment_len : 0);
    return n;
}
