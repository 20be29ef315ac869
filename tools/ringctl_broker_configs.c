/*
 * tools/ringctl_broker_configs.c - `ringctl configs --entity-type brokers`:
 * --describe and --alter of dynamic broker configs, for one broker id or the
 * cluster-wide default (--entity-default), printed like kafka-configs.sh.
 *
 * Spoken over a plain blocking socket with the broker's own codec
 * (net/proto_gen.h): librdkafka 2.0 cannot name the cluster-wide default (a
 * BROKER resource with an empty name) and has no IncrementalAlterConfigs. So
 * --alter sends one IncrementalAlterConfigs v0 (SET for --add-config, DELETE for
 * --delete-config): each key changes on its own, nothing is read back and
 * rewritten, unlike the topic path (tools/ringctl_configs.c).
 * Fault model: the broker may be unreachable, slow (every socket call is bounded
 * by --timeout-ms) or answer garbage (a short or undecodable response is an
 * error); every failure prints one line on stderr and gives exit status 1.
 */
#include "tools/ringctl.h"
#include "core/endian.h"
#include "core/rb.h"
#include "net/proto_gen.h"
#include "core/wire.h"

#include <librdkafka/rdkafka.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define API_DESCRIBE_CONFIGS  32
#define API_INCREMENTAL_ALTER 44
#define RES_BROKER            4
#define SRC_DYNAMIC_BROKER    2
#define SRC_DYNAMIC_DEFAULT   3
#define RESP_MAX_BYTES        (64u << 20)

static const char *source_name(int8_t s)
{
    static const char *const names[] = {"UNKNOWN",
                                        "DYNAMIC_TOPIC_CONFIG",
                                        "DYNAMIC_BROKER_CONFIG",
                                        "DYNAMIC_DEFAULT_BROKER_CONFIG",
                                        "STATIC_BROKER_CONFIG",
                                        "DEFAULT_CONFIG",
                                        "DYNAMIC_BROKER_LOGGER_CONFIG"};
    return s >= 0 && s < (int8_t)RB_ARRAY_LEN(names) ? names[s] : "UNKNOWN";
}

/* Connect to the first HOST:PORT of the bootstrap list; -1 (printed) on failure. */
static int connect_bootstrap(const struct ctl_args *a, int timeout_ms)
{
    char host[256], port[16];
    const char *b = a->bootstrap, *end = b + strcspn(b, ",");
    const char *colon = end;
    while (colon > b && *colon != ':')
        colon--;
    if (*colon != ':' || colon == b || (size_t)(colon - b) >= sizeof(host) ||
        (size_t)(end - colon - 1) >= sizeof(port) || end == colon + 1) {
        fprintf(stderr, "ringctl configs: bad --bootstrap-server '%s' (HOST:PORT)\n", b);
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - b), b);
    snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai), fd = -1;
    if (rc) {
        fprintf(stderr, "ringctl configs: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, p->ai_addr, p->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        fprintf(stderr, "ringctl configs: cannot connect to %s:%s: %s\n", host, port,
                strerror(errno));
    return fd;
}

static int io_all(int fd, uint8_t *buf, size_t n, bool wr)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r =
            wr ? send(fd, buf + off, n - off, MSG_NOSIGNAL) : recv(fd, buf + off, n - off, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? -ECONNRESET : -errno;
        off += (size_t)r;
    }
    return 0;
}

/* Send the request in w (its first 4 bytes are the size placeholder) and read the
 * response body into *out (malloc'd; caller frees). */
static int exchange(int fd, struct rb_writer *w, uint8_t **out, uint32_t *len)
{
    rb_write_patch_i32(w, 0, (int32_t)(w->len - 4));
    uint8_t sz[4];
    int rc = w->err ? -ENOMEM : io_all(fd, w->buf, w->len, true);
    if (!rc)
        rc = io_all(fd, sz, 4, false);
    if (rc)
        return rc;
    *len = rb_get_be32(sz);
    if (*len < 4 || *len > RESP_MAX_BYTES)
        return -EBADMSG;
    *out = malloc(*len);
    if (!*out)
        return -ENOMEM;
    rc = io_all(fd, *out, *len, false);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* One request/response round trip: body_fn encodes the body; the response body
 * (after its header) is decoded by the caller from *r. */
struct call {
    int fd;
    int16_t key, version;
    struct rb_writer w; /* the request, header written by call_init */
    struct rb_arena ar; /* what the decoded response points into */
    uint8_t *resp;
    struct rb_reader r;
};

static void header(struct rb_writer *w, int16_t key, int16_t version);

static void call_init(struct call *c, int fd, int16_t key, int16_t version)
{
    *c = (struct call){.fd = fd, .key = key, .version = version};
    rb_writer_init(&c->w, 256);
    rb_arena_init(&c->ar, 0);
    header(&c->w, key, version);
}

static void call_free(struct call *c)
{
    free(c->resp);
    rb_arena_free(&c->ar);
    rb_writer_free(&c->w);
}

static int call_start(struct call *c)
{
    uint32_t len = 0;
    int rc = exchange(c->fd, &c->w, &c->resp, &len);
    if (rc) {
        fprintf(stderr, "ringctl configs: request failed: %s\n", strerror(-rc));
        return -1;
    }
    int32_t corr;
    rb_reader_init(&c->r, c->resp, len);
    if (rb_resp_header_decode(&c->r, c->key, c->version, &corr) || corr != 1) {
        fprintf(stderr, "ringctl configs: bad response header\n");
        return -1;
    }
    return 0;
}

static void header(struct rb_writer *w, int16_t key, int16_t version)
{
    struct rb_req_header h = {key, version, 1, rb_str_c("ringctl")};
    rb_write_i32(w, 0);
    rb_req_header_encode(w, &h);
}

static const char *entity_label(const struct ctl_args *a, char *buf, size_t n)
{
    if (a->entity_default)
        return "brokers in the cluster";
    snprintf(buf, n, "broker %s", a->entity_name);
    return buf;
}

static int cmp_cfg(const void *x, const void *y)
{
    const struct rb_describe_configs_resp_config *p = x, *q = y;
    int c = memcmp(p->name.ptr, q->name.ptr, (size_t)RB_MIN(p->name.len, q->name.len));
    return c ? c : p->name.len - q->name.len;
}

static void print_config(const struct rb_describe_configs_resp_config *c)
{
    bool hide = c->is_sensitive || c->value.len < 0;
    printf("  %.*s=%.*s sensitive=%s synonyms={", (int)c->name.len, c->name.ptr,
           hide ? 4 : (int)c->value.len, hide ? "null" : c->value.ptr,
           c->is_sensitive ? "true" : "false");
    for (int32_t i = 0; i < c->synonyms_n; i++) {
        const struct rb_describe_configs_resp_synonym *s = &c->synonyms[i];
        bool h = c->is_sensitive || s->value.len < 0;
        printf("%s%s:%.*s=%.*s", i ? ", " : "", source_name(s->source), (int)s->name.len,
               s->name.ptr, h ? 4 : (int)s->value.len, h ? "null" : s->value.ptr);
    }
    printf("}\n");
}

static int describe(int fd, const struct ctl_args *a)
{
    struct rb_describe_configs_req_resource res;
    struct rb_describe_configs_req req;
    rb_describe_configs_req_resource_init(&res);
    rb_describe_configs_req_init(&req);
    res.resource_type = RES_BROKER;
    res.resource_name = rb_str_c(a->entity_name);
    res.configuration_keys_n = -1;
    req.resources = &res;
    req.resources_n = 1;
    req.include_synonyms = true;
    struct call c;
    struct rb_describe_configs_resp resp;
    char lbl[64];
    int rc = CTL_EXIT_FAIL;
    call_init(&c, fd, API_DESCRIBE_CONFIGS, 1);
    rb_describe_configs_req_encode(&c.w, c.version, &req);
    if (call_start(&c))
        goto out;
    if (rb_describe_configs_resp_decode(&c.r, &c.ar, c.version, &resp) || resp.results_n != 1) {
        fprintf(stderr, "ringctl configs: undecodable DescribeConfigs response\n");
        goto out;
    }
    struct rb_describe_configs_resp_result *r = &resp.results[0];
    if (r->error_code) {
        fprintf(stderr, "ringctl configs: describing %s failed: %s: %.*s\n",
                entity_label(a, lbl, sizeof(lbl)), rd_kafka_err2str(r->error_code),
                (int)RB_MAX(r->error_message.len, 0), r->error_message.ptr);
        goto out;
    }
    int8_t want = a->entity_default ? SRC_DYNAMIC_DEFAULT : SRC_DYNAMIC_BROKER;
    if (r->configs_n > 0)
        qsort(r->configs, (size_t)r->configs_n, sizeof(*r->configs), cmp_cfg);
    if (a->entity_default)
        printf("Default configs for brokers in the cluster are:\n");
    else
        printf("%s configs for broker %s are:\n", a->all ? "All" : "Dynamic", a->entity_name);
    for (int32_t i = 0; i < r->configs_n; i++)
        if (a->all || r->configs[i].config_source == want)
            print_config(&r->configs[i]);
    rc = CTL_EXIT_OK;
out:
    call_free(&c);
    return rc;
}

/* The --delete-config then --add-config items as IncrementalAlterConfigs entries. */
static int alter_items(const struct ctl_args *a, struct rb_incremental_alter_configs_req_config *cf,
                       char (*buf)[1024], int cap)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        int cnt = pass ? a->n_add_configs : a->n_delete_configs;
        for (int k = 0; k < cnt; k++) {
            const char *p = pass ? a->add_configs[k] : a->delete_configs[k];
            while (n < cap && ctl_list_next(&p, buf[n], sizeof(buf[n])) > 0) {
                rb_incremental_alter_configs_req_config_init(&cf[n]);
                char *eq = pass ? strchr(buf[n], '=') : NULL;
                if (eq)
                    *eq = 0;
                cf[n].name = rb_str_c(buf[n]);
                cf[n].config_operation = pass ? 0 : 1; /* SET : DELETE */
                cf[n].value = eq ? rb_str_c(eq + 1) : RB_STR_NULL;
                n++;
            }
        }
    }
    return n;
}

static int alter(int fd, const struct ctl_args *a)
{
    enum { CAP = 2 * CTL_MAX_KV };
    static char items[CAP][1024];
    struct rb_incremental_alter_configs_req_config cf[CAP];
    struct rb_incremental_alter_configs_req_resource res;
    struct rb_incremental_alter_configs_req req;
    rb_incremental_alter_configs_req_resource_init(&res);
    rb_incremental_alter_configs_req_init(&req);
    res.resource_type = RES_BROKER;
    res.resource_name = rb_str_c(a->entity_name);
    res.configs = cf;
    res.configs_n = alter_items(a, cf, items, CAP);
    req.resources = &res;
    req.resources_n = 1;
    struct call c;
    struct rb_incremental_alter_configs_resp resp;
    char lbl[64];
    int rc = CTL_EXIT_FAIL;
    call_init(&c, fd, API_INCREMENTAL_ALTER, 0);
    rb_incremental_alter_configs_req_encode(&c.w, c.version, &req);
    if (call_start(&c))
        goto out;
    if (rb_incremental_alter_configs_resp_decode(&c.r, &c.ar, c.version, &resp) ||
        resp.responses_n != 1) {
        fprintf(stderr, "ringctl configs: undecodable IncrementalAlterConfigs response\n");
        goto out;
    }
    struct rb_incremental_alter_configs_resp_response *r = &resp.responses[0];
    if (r->error_code) {
        fprintf(stderr, "ringctl configs: altering %s failed: %s: %.*s\n",
                entity_label(a, lbl, sizeof(lbl)), rd_kafka_err2str(r->error_code),
                (int)RB_MAX(r->error_message.len, 0), r->error_message.ptr);
        goto out;
    }
    if (a->entity_default)
        printf("Completed updating default config for brokers in the cluster.\n");
    else
        printf("Completed updating config for broker %s.\n", a->entity_name);
    rc = CTL_EXIT_OK;
out:
    call_free(&c);
    return rc;
}

int ctl_broker_configs(const struct ctl_args *a)
{
    int timeout_ms = a->timeout_ms > 0 && a->timeout_ms < INT32_MAX ? (int)a->timeout_ms : 30000;
    int fd = connect_bootstrap(a, timeout_ms);
    if (fd < 0)
        return CTL_EXIT_FAIL;
    int rc = a->action == CTL_TOPICS_ALTER ? alter(fd, a) : describe(fd, a);
    close(fd);
    return rc;
}
