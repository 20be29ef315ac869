/*
 * coord/kafka_zk.c - ZooKeeper-era Kafka's node JSON, parsed and written with
 * jansson (layout and rules: coord/kafka_zk.h), and Kafka's replica assignment.
 * Objects are written compact in the key order Kafka 2.8 writes them.
 */
#include "coord/kafka_zk.h"
#include "coord/metadata.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rb_kzk_base_paths[] = {"/brokers/ids",
                                         "/brokers/topics",
                                         "/brokers/seqid",
                                         "/config/topics",
                                         "/config/brokers",
                                         "/config/changes",
                                         "/config/clients",
                                         "/config/users",
                                         "/config/ips",
                                         "/admin/delete_topics",
                                         "/isr_change_notification",
                                         "/log_dir_event_notification",
                                         NULL};

static json_t *load(const char *s)
{
    if (!s)
        return NULL;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool get_i32(json_t *o, const char *k, int32_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < INT32_MIN || x > INT32_MAX)
        return false;
    *out = (int32_t)x;
    return true;
}

/* "PLAINTEXT://host:port" (host may be [v6]) -> host, port. */
static int parse_endpoint(const char *ep, char *host, size_t cap, uint16_t *port)
{
    const char *p = strstr(ep, "://");
    if (!p)
        return -EINVAL;
    p += 3;
    const char *colon = strrchr(p, ':');
    if (!colon || colon == p)
        return -EINVAL;
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (*end || v <= 0 || v > 65535)
        return -EINVAL;
    size_t hl = (size_t)(colon - p);
    if (hl >= 2 && p[0] == '[' && p[hl - 1] == ']') {
        p++;
        hl -= 2;
    }
    if (hl == 0 || hl >= cap)
        return -EINVAL;
    memcpy(host, p, hl);
    host[hl] = 0;
    *port = (uint16_t)v;
    return 0;
}

int rb_kzk_parse_broker(const char *json, int32_t id, struct rb_kzk_broker *out)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    int r = -EINVAL;
    json_t *eps = json_object_get(j, "endpoints");
    json_t *map = json_object_get(j, "listener_security_protocol_map");
    size_t i;
    json_t *e;
    /* The first endpoint whose listener maps to PLAINTEXT (or is named so). */
    json_array_foreach(eps, i, e)
    {
        const char *s = json_string_value(e);
        if (!s)
            continue;
        const char *sep = strstr(s, "://");
        if (!sep)
            continue;
        char lname[128];
        size_t ll = (size_t)(sep - s);
        if (ll >= sizeof(lname))
            continue;
        memcpy(lname, s, ll);
        lname[ll] = 0;
        const char *proto = json_string_value(json_object_get(map, lname));
        if (strcmp(proto ? proto : lname, "PLAINTEXT") != 0)
            continue;
        if (parse_endpoint(s, out->host, sizeof(out->host), &out->port) == 0) {
            r = 0;
            break;
        }
    }
    if (r) { /* version 1-style: host and port only */
        const char *h = json_string_value(json_object_get(j, "host"));
        int32_t port;
        if (h && *h && strlen(h) < sizeof(out->host) && get_i32(j, "port", &port) && port > 0 &&
            port <= 65535) {
            snprintf(out->host, sizeof(out->host), "%s", h);
            out->port = (uint16_t)port;
            r = 0;
        }
    }
    const char *rack = json_string_value(json_object_get(j, "rack"));
    if (rack)
        snprintf(out->rack, sizeof(out->rack), "%s", rack);
    json_decref(j);
    return r;
}

static int parse_ids(json_t *arr, int32_t *ids, int32_t *n, int32_t max)
{
    if (!json_is_array(arr) || json_array_size(arr) > (size_t)max)
        return -EINVAL;
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_integer(e))
            return -EINVAL;
        json_int_t x = json_integer_value(e);
        if (x < 0 || x > INT32_MAX)
            return -EINVAL;
        for (int32_t k = 0; k < *n; k++)
            if (ids[k] == (int32_t)x)
                return -EINVAL;
        ids[(*n)++] = (int32_t)x;
    }
    return 0;
}

int rb_kzk_parse_state(const char *json, struct rb_kzk_state *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    int r = -EINVAL;
    if (get_i32(j, "leader", &out->leader) && get_i32(j, "leader_epoch", &out->leader_epoch) &&
        parse_ids(json_object_get(j, "isr"), out->isr, &out->n_isr, RB_KZK_MAX_REPLICAS) == 0) {
        if (!get_i32(j, "controller_epoch", &out->controller_epoch))
            out->controller_epoch = 0;
        if (out->leader < -1)
            out->leader = -1;
        r = 0;
    }
    json_decref(j);
    return r;
}

int rb_kzk_assignment_alloc(struct rb_kzk_assignment *a, int32_t n)
{
    memset(a, 0, sizeof(*a));
    a->n_partitions = n;
    size_t k = (size_t)(n > 0 ? n : 1);
    a->n_replicas = calloc(k, sizeof(*a->n_replicas));
    a->replicas = calloc(k, sizeof(*a->replicas));
    a->n_adding = calloc(k, sizeof(*a->n_adding));
    a->adding = calloc(k, sizeof(*a->adding));
    a->n_removing = calloc(k, sizeof(*a->n_removing));
    a->removing = calloc(k, sizeof(*a->removing));
    if (!a->n_replicas || !a->replicas || !a->n_adding || !a->adding || !a->n_removing ||
        !a->removing) {
        rb_kzk_assignment_free(a);
        return -ENOMEM;
    }
    return 0;
}

void rb_kzk_assignment_free(struct rb_kzk_assignment *a)
{
    free(a->n_replicas);
    free(a->replicas);
    free(a->n_adding);
    free(a->adding);
    free(a->n_removing);
    free(a->removing);
    a->n_replicas = a->n_adding = a->n_removing = NULL;
    a->replicas = a->adding = a->removing = NULL;
    a->n_partitions = 0;
}

/* "adding_replicas" / "removing_replicas": {"<p>":[ids]} for some of the n
 * partitions; absent (written before version 2) is empty. */
static int parse_moving(json_t *o, int32_t (*ids)[RB_KZK_MAX_REPLICAS], int32_t *cnt, size_t n)
{
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return -EINVAL;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        char *end;
        long p = strtol(key, &end, 10);
        if (*end || end == key || p < 0 || (size_t)p >= n ||
            parse_ids(v, ids[p], &cnt[p], RB_KZK_MAX_REPLICAS))
            return -EINVAL;
    }
    return 0;
}

int rb_kzk_parse_assignment(const char *json, struct rb_kzk_assignment *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    int r = -EINVAL;
    json_t *parts = json_object_get(j, "partitions");
    size_t n = json_is_object(parts) ? json_object_size(parts) : 0;
    if (n == 0 || n > 1000000)
        goto out;
    r = rb_kzk_assignment_alloc(out, (int32_t)n);
    if (r)
        goto out;
    r = -EINVAL;
    bool *seen = calloc(n, 1);
    if (!seen) {
        r = -ENOMEM;
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(parts, key, v)
    {
        char *end;
        long p = strtol(key, &end, 10);
        if (*end || end == key || p < 0 || (size_t)p >= n || seen[p])
            goto bad;
        seen[p] = true;
        if (parse_ids(v, out->replicas[p], &out->n_replicas[p], RB_KZK_MAX_REPLICAS) ||
            out->n_replicas[p] == 0)
            goto bad;
    }
    if (parse_moving(json_object_get(j, "adding_replicas"), out->adding, out->n_adding, n) ||
        parse_moving(json_object_get(j, "removing_replicas"), out->removing, out->n_removing, n))
        goto bad;
    const char *tid = json_string_value(json_object_get(j, "topic_id"));
    if (tid && rb_uuid_from_base64(tid, out->topic_id) == 0)
        out->has_id = true;
    r = 0;
bad:
    free(seen);
    if (r)
        rb_kzk_assignment_free(out);
out:
    json_decref(j);
    return r;
}

int rb_kzk_parse_controller(const char *json, int32_t *broker_id)
{
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    int r = get_i32(j, "brokerid", broker_id) && *broker_id >= 0 ? 0 : -EINVAL;
    json_decref(j);
    return r;
}

int rb_kzk_parse_cluster_id(const char *json, char *id, size_t cap)
{
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    const char *s = json_string_value(json_object_get(j, "id"));
    int r = -EINVAL;
    if (s && *s && strlen(s) < cap) {
        snprintf(id, cap, "%s", s);
        r = 0;
    }
    json_decref(j);
    return r;
}

void rb_kzk_config_free(struct rb_kzk_config *c)
{
    for (int32_t i = 0; i < c->n; i++) {
        free(c->keys[i]);
        free(c->values[i]);
    }
    free(c->keys);
    free(c->values);
    memset(c, 0, sizeof(*c));
}

int rb_kzk_parse_config(const char *json, struct rb_kzk_config *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    json_t *cfg = json_object_get(j, "config");
    int r = -EINVAL;
    if (!json_is_object(cfg))
        goto out;
    size_t n = json_object_size(cfg);
    out->keys = calloc(n + 1, sizeof(char *));
    out->values = calloc(n + 1, sizeof(char *));
    r = -ENOMEM;
    if (!out->keys || !out->values)
        goto out;
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        const char *s = json_string_value(v);
        if (!s) {
            r = -EINVAL;
            goto out;
        }
        out->keys[out->n] = strdup(k);
        out->values[out->n] = strdup(s);
        out->n++;
        if (!out->keys[out->n - 1] || !out->values[out->n - 1])
            goto out;
    }
    r = 0;
out:
    if (r)
        rb_kzk_config_free(out);
    json_decref(j);
    return r;
}

int rb_kzk_parse_change(const char *json, char *entity, size_t cap)
{
    json_t *j = load(json);
    if (!j)
        return -EINVAL;
    const char *s = json_string_value(json_object_get(j, "entity_path"));
    int r = -EINVAL;
    if (s && *s && strlen(s) < cap) {
        snprintf(entity, cap, "%s", s);
        r = 0;
    }
    json_decref(j);
    return r;
}

/* ---- encoding ---- */

static char *dump(json_t *j)
{
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

static char *ms_str(int64_t ms, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld", (long long)ms);
    return buf;
}

static json_t *id_array(const int32_t *ids, int32_t n)
{
    json_t *a = json_array();
    for (int32_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

char *rb_kzk_broker_json(const struct rb_kzk_broker *b, int64_t timestamp_ms)
{
    char ep[RB_KZK_HOST_MAX + 32], ts[32];
    bool v6 = strchr(b->host, ':') != NULL;
    snprintf(ep, sizeof(ep), v6 ? "PLAINTEXT://[%s]:%u" : "PLAINTEXT://%s:%u", b->host, b->port);
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "features", json_object());
    json_t *map = json_object();
    json_object_set_new(map, "PLAINTEXT", json_string("PLAINTEXT"));
    json_object_set_new(j, "listener_security_protocol_map", map);
    json_t *eps = json_array();
    json_array_append_new(eps, json_string(ep));
    json_object_set_new(j, "endpoints", eps);
    json_object_set_new(j, "jmx_port", json_integer(-1));
    if (b->rack[0])
        json_object_set_new(j, "rack", json_string(b->rack));
    json_object_set_new(j, "port", json_integer(b->port));
    json_object_set_new(j, "host", json_string(b->host));
    json_object_set_new(j, "version", json_integer(5));
    json_object_set_new(j, "timestamp", json_string(ms_str(timestamp_ms, ts, sizeof(ts))));
    return dump(j);
}

char *rb_kzk_state_json(const struct rb_kzk_state *s)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "controller_epoch", json_integer(s->controller_epoch));
    json_object_set_new(j, "leader", json_integer(s->leader));
    json_object_set_new(j, "version", json_integer(1));
    json_object_set_new(j, "leader_epoch", json_integer(s->leader_epoch));
    json_object_set_new(j, "isr", id_array(s->isr, s->n_isr));
    return dump(j);
}

char *rb_kzk_assignment_json(const struct rb_kzk_assignment *a, bool with_id)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_t *parts = json_object();
    for (int32_t p = 0; p < a->n_partitions; p++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", p);
        json_object_set_new(parts, k, id_array(a->replicas[p], a->n_replicas[p]));
    }
    json_object_set_new(j, "partitions", parts);
    if (with_id && a->has_id) {
        char id[23];
        rb_uuid_to_base64(a->topic_id, id);
        json_object_set_new(j, "topic_id", json_string(id));
    }
    json_t *add = json_object(), *rem = json_object();
    for (int32_t p = 0; p < a->n_partitions; p++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", p);
        if (a->n_adding && a->n_adding[p])
            json_object_set_new(add, k, id_array(a->adding[p], a->n_adding[p]));
        if (a->n_removing && a->n_removing[p])
            json_object_set_new(rem, k, id_array(a->removing[p], a->n_removing[p]));
    }
    json_object_set_new(j, "adding_replicas", add);
    json_object_set_new(j, "removing_replicas", rem);
    json_object_set_new(j, "version", json_integer(3));
    return dump(j);
}

char *rb_kzk_controller_json(int32_t broker_id, int64_t timestamp_ms)
{
    char ts[32];
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "version", json_integer(1));
    json_object_set_new(j, "brokerid", json_integer(broker_id));
    json_object_set_new(j, "timestamp", json_string(ms_str(timestamp_ms, ts, sizeof(ts))));
    return dump(j);
}

char *rb_kzk_cluster_id_json(const char *id)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "version", json_string("1"));
    json_object_set_new(j, "id", json_string(id));
    return dump(j);
}

char *rb_kzk_config_json(const struct rb_kzk_config *c)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "version", json_integer(1));
    json_t *cfg = json_object();
    for (int32_t i = 0; i < c->n; i++)
        json_object_set_new(cfg, c->keys[i], json_string(c->values[i]));
    json_object_set_new(j, "config", cfg);
    return dump(j);
}

char *rb_kzk_change_json(const char *entity)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "version", json_integer(2));
    json_object_set_new(j, "entity_path", json_string(entity));
    return dump(j);
}

/* ---- replica assignment ---- */

static int32_t replica_index(int32_t first, int32_t shift, int32_t j, int32_t n)
{
    int32_t s = 1 + (shift + j) % (n - 1);
    return (first + s) % n;
}

static int cmp_broker(const void *a, const void *b)
{
    const struct rb_kzk_broker *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_rack_then_id(const void *a, const void *b)
{
    const struct rb_kzk_broker *x = a, *y = b;
    int c = strcmp(x->rack, y->rack);
    return c ? c : cmp_broker(a, b);
}

int rb_kzk_assign(const struct rb_kzk_broker *brokers, int n_brokers, int32_t rf, int32_t first,
                  int32_t count, struct rb_kzk_assignment *a, uint32_t (*rnd)(void *),
                  void *rnd_ctx)
{
    if (n_brokers <= 0 || rf <= 0 || rf > n_brokers || rf > RB_KZK_MAX_REPLICAS ||
        first + count > a->n_partitions)
        return -EINVAL;
    struct rb_kzk_broker *arr = malloc(sizeof(*arr) * (size_t)n_brokers);
    if (!arr)
        return -ENOMEM;
    memcpy(arr, brokers, sizeof(*arr) * (size_t)n_brokers);
    bool racks = true;
    for (int i = 0; i < n_brokers; i++)
        if (!arr[i].rack[0])
            racks = false;
    int n_racks = 1;
    if (racks) { /* alternate racks: one broker of each rack in turn */
        qsort(arr, (size_t)n_brokers, sizeof(*arr), cmp_rack_then_id);
        struct rb_kzk_broker *alt = malloc(sizeof(*alt) * (size_t)n_brokers);
        int *start = malloc(sizeof(int) * (size_t)(n_brokers + 1));
        if (!alt || !start) {
            free(alt);
            free(start);
            free(arr);
            return -ENOMEM;
        }
        n_racks = 0;
        for (int i = 0; i < n_brokers; i++)
            if (i == 0 || strcmp(arr[i].rack, arr[i - 1].rack) != 0)
                start[n_racks++] = i;
        start[n_racks] = n_brokers;
        int out = 0;
        for (int round = 0; out < n_brokers; round++)
            for (int r = 0; r < n_racks; r++)
                if (start[r] + round < start[r + 1])
                    alt[out++] = arr[start[r] + round];
        free(start);
        free(arr);
        arr = alt;
    } else {
        qsort(arr, (size_t)n_brokers, sizeof(*arr), cmp_broker);
    }
    int32_t n = n_brokers;
    int32_t start_index = (int32_t)(rnd(rnd_ctx) % (uint32_t)n);
    int32_t shift = (int32_t)(rnd(rnd_ctx) % (uint32_t)n);
    for (int32_t p = first; p < first + count; p++) {
        if (p > 0 && p % n == 0)
            shift++;
        int32_t fi = (p + start_index) % n;
        int32_t *rep = a->replicas[p];
        int32_t k = 0;
        rep[k++] = arr[fi].id;
        if (!racks) {
            for (int32_t j = 0; j < rf - 1; j++)
                rep[k++] = arr[replica_index(fi, shift, j, n)].id;
        } else {
            for (int32_t j = 0, step = 0; k < rf; step++) {
                const struct rb_kzk_broker *b = &arr[replica_index(fi, shift * n_racks, step, n)];
                bool rack_used = false, broker_used = false;
                int racks_used = 0;
                for (int32_t q = 0; q < k; q++) {
                    if (rep[q] == b->id)
                        broker_used = true;
                }
                /* racks holding a replica so far */
                for (int32_t q = 0; q < k; q++) {
                    const char *rq = NULL;
                    for (int i = 0; i < n; i++)
                        if (arr[i].id == rep[q])
                            rq = arr[i].rack;
                    bool dup = false;
                    for (int32_t q2 = 0; q2 < q; q2++)
                        for (int i = 0; i < n; i++)
                            if (arr[i].id == rep[q2] && strcmp(arr[i].rack, rq) == 0)
                                dup = true;
                    if (!dup)
                        racks_used++;
                    if (strcmp(rq, b->rack) == 0)
                        rack_used = true;
                }
                if ((!rack_used || racks_used == n_racks) && (!broker_used || k == n)) {
                    rep[k++] = b->id;
                    j++;
                }
            }
        }
        a->n_replicas[p] = k;
    }
    free(arr);
    return 0;
}
