/*
 * coord/kafka_zk_move.c - the JSON of a partition reassignment, as Kafka 2.8's
 * kafka-reassign-partitions.sh writes it to /admin/reassign_partitions and reads
 * it from its --reassignment-json-file, and as `ringctl reassign` takes it:
 *   {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}
 * (Kafka's file may also carry "log_dirs": ignored, "any" is all we do). The
 * bytes are untrusted (an operator or another tool wrote them): anything
 * malformed is -EINVAL with the reason, never an assertion.
 */
#include "coord/kafka_zk.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *what, size_t i)
{
    if (err && errlen)
        snprintf(err, errlen, "partitions[%zu]: %s", i, what);
    return -EINVAL;
}

static int parse_entry(json_t *e, size_t i, struct rb_kzk_move *m, char *err, size_t errlen)
{
    const char *topic = json_string_value(json_object_get(e, "topic"));
    json_t *pj = json_object_get(e, "partition");
    json_t *rj = json_object_get(e, "replicas");
    if (!topic || !topic[0] || strlen(topic) >= sizeof(m->topic))
        return bad(err, errlen, "no \"topic\" (or too long)", i);
    if (!json_is_integer(pj) || json_integer_value(pj) < 0 || json_integer_value(pj) > INT32_MAX)
        return bad(err, errlen, "\"partition\" must be an integer >= 0", i);
    if (!json_is_array(rj) || json_array_size(rj) == 0 || json_array_size(rj) > RB_KZK_MAX_REPLICAS)
        return bad(err, errlen, "\"replicas\" must be a list of 1 to 32 broker ids", i);
    snprintf(m->topic, sizeof(m->topic), "%s", topic);
    m->partition = (int32_t)json_integer_value(pj);
    m->n_replicas = 0;
    size_t k;
    json_t *v;
    json_array_foreach(rj, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return bad(err, errlen, "a replica is not a broker id", i);
        int32_t id = (int32_t)json_integer_value(v);
        for (int32_t q = 0; q < m->n_replicas; q++)
            if (m->replicas[q] == id) {
                char w[96];
                snprintf(w, sizeof(w), "broker %d is named twice in \"replicas\"", id);
                return bad(err, errlen, w, i);
            }
        m->replicas[m->n_replicas++] = id;
    }
    return 0;
}

int rb_kzk_parse_moves(const char *json, struct rb_kzk_move **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *j = json ? json_loads(json, 0, &je) : NULL;
    if (!j) {
        if (err && errlen)
            snprintf(err, errlen, "not JSON: %s (line %d)", json ? je.text : "empty",
                     json ? je.line : 0);
        return -EINVAL;
    }
    int r = -EINVAL;
    json_t *parts = json_is_object(j) ? json_object_get(j, "partitions") : NULL;
    if (!json_is_array(parts) || json_array_size(parts) > 1000000) {
        if (err && errlen)
            snprintf(err, errlen, "not {\"version\":1,\"partitions\":[...]}");
        goto out;
    }
    size_t cnt = json_array_size(parts);
    struct rb_kzk_move *m = calloc(cnt ? cnt : 1, sizeof(*m));
    if (!m) {
        r = -ENOMEM;
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(parts, i, e)
    {
        r = parse_entry(e, i, &m[i], err, errlen);
        for (size_t k = 0; !r && k < i; k++)
            if (m[k].partition == m[i].partition && strcmp(m[k].topic, m[i].topic) == 0)
                r = bad(err, errlen, "the partition is named twice", i);
        if (r) {
            free(m);
            goto out;
        }
    }
    *out = m;
    *n = (int)cnt;
    r = 0;
out:
    json_decref(j);
    return r;
}

char *rb_kzk_moves_json(const struct rb_kzk_move *m, int n)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "version", json_integer(1));
    json_t *parts = json_array();
    for (int i = 0; i < n; i++) {
        json_t *e = json_object(), *reps = json_array();
        json_object_set_new(e, "topic", json_string(m[i].topic));
        json_object_set_new(e, "partition", json_integer(m[i].partition));
        for (int32_t k = 0; k < m[i].n_replicas; k++)
            json_array_append_new(reps, json_integer(m[i].replicas[k]));
        json_object_set_new(e, "replicas", reps);
        json_array_append_new(parts, e);
    }
    json_object_set_new(j, "partitions", parts);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}
