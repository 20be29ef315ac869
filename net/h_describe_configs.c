/*
 * net/h_describe_configs.c - DescribeConfigs (32), versions 1-3: topic configs
 * (every key Kafka knows, its value and whether the topic sets it or it comes
 * from the broker's defaults) and broker configs (every key that is set, with
 * where it came from). Keys that look like secrets are reported as sensitive
 * with a null value.
 *
 * Sources, as Kafka's ConfigSource: TOPIC_CONFIG 1, DYNAMIC_BROKER_CONFIG 2 (set
 * for this broker id), DYNAMIC_DEFAULT_BROKER_CONFIG 3 (set on the cluster-wide
 * default), STATIC_BROKER_CONFIG 4 (server.properties, environment, --override),
 * DEFAULT_CONFIG 5. A broker resource named "" (the cluster-wide default) lists
 * only the dynamic defaults, as Kafka does; one named by this broker's id lists
 * every key, read_only unless the key is dynamically updatable
 * (core/config_dynamic.c). With include_synonyms each broker entry carries the
 * values of its key at every level below it, most preferred first.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_TOPIC  2
#define RES_BROKER 4
/* Kafka's ConfigSource values */
#define SRC_TOPIC_CONFIG                  1
#define SRC_DYNAMIC_BROKER_CONFIG         2
#define SRC_DYNAMIC_DEFAULT_BROKER_CONFIG 3
#define SRC_STATIC_BROKER_CONFIG          4
#define SRC_DEFAULT_CONFIG                5

static int8_t source_code(const char *source)
{
    return rb_kafka_config_source(source);
}

static bool wanted(const struct rb_describe_configs_req_resource *r, const char *key)
{
    if (r->configuration_keys_n < 0)
        return true;
    for (int32_t i = 0; i < r->configuration_keys_n; i++)
        if (rb_str_eq(r->configuration_keys[i], key))
            return true;
    return false;
}

static bool sensitive(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.jaas");
}

/* Kafka's synonyms of a topic entry: the topic's own value, then the broker key
 * its default comes from (at the level that sets it). */
static void topic_synonyms(struct rb_request *req, struct rb_describe_configs_resp_config *c,
                           const char *key, const char *topic_value)
{
    const struct rb_config *cfg = rb_net_config(rb_req_net(req));
    const char *bk = rb_topic_config_broker_key(cfg, key);
    struct rb_describe_configs_resp_synonym *sy = rb_req_alloc(req, 2, sizeof(*sy));
    int k = 0;
    if (topic_value)
        sy[k++] = (struct rb_describe_configs_resp_synonym){rb_str_c(key), rb_str_c(topic_value),
                                                            SRC_TOPIC_CONFIG};
    if (bk)
        sy[k++] = (struct rb_describe_configs_resp_synonym){
            rb_str_c(bk), rb_str_c(rb_req_strdup(req, rb_str_c(rb_config_get(cfg, bk)))),
            source_code(rb_config_source(cfg, bk))};
    c->synonyms = sy;
    c->synonyms_n = k;
}

static void topic_configs(struct rb_request *req, const struct rb_describe_configs_req *in,
                          const struct rb_describe_configs_req_resource *r,
                          struct rb_describe_configs_resp_result *out)
{
    struct rb_net *n = rb_req_net(req);
    const struct rb_topic_meta *t =
        r->resource_name.len > 0
            ? rb_metadata_topic(n->md, r->resource_name.ptr, (size_t)r->resource_name.len)
            : NULL;
    if (!t) {
        out->error_code = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = rb_str_c("Topic does not exist");
        out->configs_n = 0;
        return;
    }
    const char *const *keys = rb_topic_config_keys();
    int nk = 0;
    while (keys[nk])
        nk++;
    out->configs = rb_req_alloc(req, (size_t)nk, sizeof(*out->configs));
    out->configs_n = 0;
    for (int i = 0; i < nk; i++) {
        if (!wanted(r, keys[i]))
            continue;
        struct rb_describe_configs_resp_config *c = &out->configs[out->configs_n++];
        rb_describe_configs_resp_config_init(c);
        c->name = rb_str_c(keys[i]);
        const char *v = rb_topic_config(t, keys[i]);
        if (v) {
            c->config_source = SRC_TOPIC_CONFIG;
        } else {
            char buf[256];
            const struct rb_config *cfg = rb_net_config(n);
            v = rb_topic_config_default(cfg, keys[i], buf, sizeof(buf));
            c->config_source = source_code(rb_topic_config_default_source(cfg, keys[i]));
            c->is_default = c->config_source == SRC_DEFAULT_CONFIG;
            v = v ? rb_req_strdup(req, rb_str_c(v)) : NULL;
        }
        c->value = v ? rb_str_c(v) : RB_STR_NULL;
        c->synonyms_n = 0;
        if (in->include_synonyms)
            topic_synonyms(req, c, keys[i], rb_topic_config(t, keys[i]));
    }
}

struct broker_walk {
    struct rb_request *req;
    const struct rb_describe_configs_req_resource *r;
    struct rb_describe_configs_resp_result *out;
    int cap;
    bool defaults_only; /* the cluster-wide default resource */
    bool synonyms;
};

static struct rb_str req_str(struct rb_request *req, const char *s)
{
    return rb_str_c(rb_req_strdup(req, rb_str_c(s)));
}

/* The levels below the value in effect: this broker's dynamic value, the cluster
 * default, the static value, the built-in default (as Kafka lists synonyms). */
static void broker_synonyms(struct broker_walk *w, struct rb_describe_configs_resp_config *c,
                            const char *key)
{
    struct rb_net *n = rb_req_net(w->req);
    struct rb_describe_configs_resp_synonym *sy = rb_req_alloc(w->req, 4, sizeof(*sy));
    const char *v;
    int k = 0;
    if (!w->defaults_only && (v = rb_metadata_dyn_config(n->md, n->b->bc->broker_id, key)))
        sy[k++] = (struct rb_describe_configs_resp_synonym){
            req_str(w->req, key), req_str(w->req, v), SRC_DYNAMIC_BROKER_CONFIG};
    if ((v = rb_metadata_dyn_config(n->md, -1, key)))
        sy[k++] = (struct rb_describe_configs_resp_synonym){
            req_str(w->req, key), req_str(w->req, v), SRC_DYNAMIC_DEFAULT_BROKER_CONFIG};
    const char *src = rb_config_source(n->b->config, key);
    if (!w->defaults_only && (v = rb_config_get(n->b->config, key)))
        sy[k++] = (struct rb_describe_configs_resp_synonym){req_str(w->req, key),
                                                            req_str(w->req, v), source_code(src)};
    for (int i = 0; i < k; i++)
        if (c->is_sensitive)
            sy[i].value = RB_STR_NULL;
    c->synonyms = sy;
    c->synonyms_n = k;
}

static void broker_one(const char *key, const char *value, const char *source, void *arg)
{
    struct broker_walk *w = arg;
    int8_t src = source_code(source);
    if (!wanted(w->r, key) || w->out->configs_n >= w->cap)
        return;
    if (w->defaults_only && src != SRC_DYNAMIC_DEFAULT_BROKER_CONFIG)
        return;
    struct rb_describe_configs_resp_config *c = &w->out->configs[w->out->configs_n++];
    rb_describe_configs_resp_config_init(c);
    c->name = req_str(w->req, key);
    c->is_sensitive = sensitive(key);
    c->value = c->is_sensitive ? RB_STR_NULL : req_str(w->req, value);
    c->is_default = src == SRC_DEFAULT_CONFIG;
    c->read_only = !rb_config_key_dynamic(key);
    c->config_source = src;
    c->synonyms_n = 0;
    if (w->synonyms)
        broker_synonyms(w, c, key);
}

static void noop_fn(const char *k, const char *v, const char *s, void *a)
{
    (void)k;
    (void)v;
    (void)s;
    (void)a;
}

static void broker_configs(struct rb_request *req, const struct rb_describe_configs_req *in,
                           const struct rb_describe_configs_req_resource *r,
                           struct rb_describe_configs_resp_result *out)
{
    struct rb_net *n = rb_req_net(req);
    char self[16];
    snprintf(self, sizeof(self), "%d", n->b->bc->broker_id);
    if (r->resource_name.len > 0 && !rb_str_eq(r->resource_name, self)) {
        out->error_code = RB_KERR_INVALID_REQUEST;
        out->error_message = rb_str_c("Unexpected broker id");
        out->configs_n = 0;
        return;
    }
    const struct rb_config *cfg = rb_net_config(n);
    bool dflt = r->resource_name.len <= 0;
    int total = dflt ? n->md->n_dyn_configs : rb_config_foreach(cfg, noop_fn, NULL);
    struct broker_walk w = {req, r, out, total, dflt, in->include_synonyms};
    out->configs = rb_req_alloc(req, (size_t)total, sizeof(*out->configs));
    out->configs_n = 0;
    if (!dflt) {
        rb_config_foreach(cfg, broker_one, &w);
        return;
    }
    /* the cluster default's own values (this broker's may hide them in cfg) */
    for (int32_t i = 0; i < n->md->n_dyn_configs; i++)
        if (n->md->dyn_configs[i].broker < 0)
            broker_one(n->md->dyn_configs[i].key, n->md->dyn_configs[i].value, "dynamic-default",
                       &w);
}

void rb_handle_describe_configs(struct rb_request *req, void *msg)
{
    struct rb_describe_configs_req *in = msg;
    struct rb_describe_configs_resp resp;
    rb_describe_configs_resp_init(&resp);
    resp.results = rb_req_array(req, in->resources_n, sizeof(*resp.results), &resp.results_n);
    for (int32_t i = 0; i < resp.results_n; i++) {
        const struct rb_describe_configs_req_resource *r = &in->resources[i];
        struct rb_describe_configs_resp_result *out = &resp.results[i];
        rb_describe_configs_resp_result_init(out);
        out->resource_type = r->resource_type;
        out->resource_name = r->resource_name;
        if (r->resource_type == RES_TOPIC) {
            topic_configs(req, in, r, out);
        } else if (r->resource_type == RES_BROKER) {
            broker_configs(req, in, r, out);
        } else {
            out->error_code = RB_KERR_INVALID_REQUEST;
            out->error_message = rb_str_c("Unsupported resource type");
            out->configs_n = 0;
        }
    }
    rb_resp_begin(req);
    rb_describe_configs_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}
