/*
 * net/h_describe_configs.c - DescribeConfigs (32), versions 1-3: topic configs
 * (every key Kafka knows, its value and whether the topic sets it or it comes
 * from the broker's defaults) and broker configs (every key that is set, with
 * where it came from). Keys that look like secrets are reported as sensitive
 * with a null value.
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
#define SRC_TOPIC_CONFIG         1
#define SRC_STATIC_BROKER_CONFIG 4
#define SRC_DEFAULT_CONFIG       5

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

static void topic_configs(struct rb_request *req, const struct rb_describe_configs_req_resource *r,
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
            v = rb_topic_config_default(n->b->config, keys[i], buf, sizeof(buf));
            c->config_source = SRC_DEFAULT_CONFIG;
            c->is_default = true;
            v = v ? rb_req_strdup(req, rb_str_c(v)) : NULL;
        }
        c->value = v ? rb_str_c(v) : RB_STR_NULL;
        c->synonyms_n = 0;
    }
}

struct broker_walk {
    struct rb_request *req;
    const struct rb_describe_configs_req_resource *r;
    struct rb_describe_configs_resp_result *out;
    int cap;
};

static void broker_one(const char *key, const char *value, const char *source, void *arg)
{
    struct broker_walk *w = arg;
    if (!wanted(w->r, key) || w->out->configs_n >= w->cap)
        return;
    struct rb_describe_configs_resp_config *c = &w->out->configs[w->out->configs_n++];
    rb_describe_configs_resp_config_init(c);
    c->name = rb_str_c(rb_req_strdup(w->req, rb_str_c(key)));
    c->is_sensitive = sensitive(key);
    c->value = c->is_sensitive ? RB_STR_NULL : rb_str_c(rb_req_strdup(w->req, rb_str_c(value)));
    bool dflt = strcmp(source, "default") == 0;
    c->is_default = dflt;
    c->read_only = true; /* dynamic broker configs do not exist yet */
    c->config_source = dflt ? SRC_DEFAULT_CONFIG : SRC_STATIC_BROKER_CONFIG;
    c->synonyms_n = 0;
}

static void noop_fn(const char *k, const char *v, const char *s, void *a)
{
    (void)k;
    (void)v;
    (void)s;
    (void)a;
}

static void broker_configs(struct rb_request *req, const struct rb_describe_configs_req_resource *r,
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
    int total = rb_config_foreach(n->b->config, noop_fn, NULL);
    struct broker_walk w = {req, r, out, total};
    out->configs = rb_req_alloc(req, (size_t)total, sizeof(*out->configs));
    out->configs_n = 0;
    rb_config_foreach(n->b->config, broker_one, &w);
}

void rb_handle_describe_configs(struct rb_request *req, void *msg)
{
    struct rb_describe_configs_req *in = msg;
    struct rb_describe_configs_resp resp;
    rb_describe_configs_resp_init(&resp);
    int32_t nr = RB_MAX(in->resources_n, 0);
    resp.results = rb_req_alloc(req, (size_t)nr, sizeof(*resp.results));
    resp.results_n = nr;
    for (int32_t i = 0; i < nr; i++) {
        const struct rb_describe_configs_req_resource *r = &in->resources[i];
        struct rb_describe_configs_resp_result *out = &resp.results[i];
        rb_describe_configs_resp_result_init(out);
        out->resource_type = r->resource_type;
        out->resource_name = r->resource_name;
        if (r->resource_type == RES_TOPIC) {
            topic_configs(req, r, out);
        } else if (r->resource_type == RES_BROKER) {
            broker_configs(req, r, out);
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
