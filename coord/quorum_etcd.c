/*
 * coord/quorum_etcd.c - the etcd backend of coord/quorum.h (etcd.endpoints,
 * etcd.prefix), over etcd's v3 JSON gateway with libcurl and jansson. This file:
 * the design, open/close and the reads (get, exists, children), each one request;
 * the writes (create, set, delete, multi: one txn each, their compares and errors)
 * are in coord/quorum_etcd_txn.c, the transport in coord/quorum_etcd_io.c, the
 * backend thread in coord/quorum_etcd_watch.c.
 *
 * The tree on flat keys. A node's key is its absolute path (etcd.prefix + path)
 * with a '!' before its last name: "/brokers/ids/1" under the prefix "/ringbroker"
 * is the key "/ringbroker/brokers/ids/!1". A node's direct children are then
 * exactly the keys starting with its path + "/!" (grandchildren have a plain name
 * there): one range read lists them, one compare over the range says there are
 * none. The prefix is a chroot, as ZooKeeper's: its own nodes ("/!ringbroker")
 * are made at open when missing, "/" is the prefix's node, and a session under
 * "/ringbroker/x" sees the same nodes as one under "/ringbroker" at "/x". Without
 * a prefix "/" is virtual (exists, empty, version 0, cannot be set). Paths that
 * hold '!' are refused (-EINVAL); Kafka's names never do.
 * A node's version is its key's mod_revision (the store's revision of its last
 * write): it grows with every write, as the contract asks, and is compared for
 * equality only. SEQUENTIAL names take a per-parent counter, the key
 * parent path + "/#" (neither a node nor in a children range): the suffix is
 * the counter's etcd version (its count of writes), and the create compares the
 * counter's mod_revision as read and rewrites it in the same txn (a race
 * retries); deleting the parent deletes its counter.
 * Writes: see coord/quorum_etcd_txn.c (each one txn whose compares are the
 * contract's preconditions; its failure branch reads what explains the error).
 *
 * Sessions: a lease granted at open, TTL = session_timeout_ms rounded up to
 * seconds (etcd may raise it: rb_quorum_session_timeout_ms says what it gave),
 * kept alive by the backend thread every TTL/3; ephemeral nodes are put with the
 * lease, sets keep it (ignore_lease). A keepalive answered without a TTL, or a
 * write refused with "lease not found", means the session expired: EXPIRED is
 * reported once and every later call returns -ENOTCONN. Close revokes the lease.
 * Watches: see coord/quorum_etcd_watch.c (one stream over prefix + "/", a table
 * of one-shot watches, each armed at the revision of the read that set it, fired
 * by the first matching event above it). A get or children of a missing node
 * leaves no watch (as ZooKeeper); exists does.
 *
 * Endpoints: requests go to the endpoint that answered last and fail over to the
 * next when one cannot be reached (nothing sent) or has no leader; every request
 * has a deadline (the op timeout: the session timeout clamped to 1..10 s). A write
 * that may have reached its member gets no second try: -ETIMEDOUT when the
 * deadline passed, -ECONNABORTED when the member broke the connection or answered
 * Unavailable (closing, leader changed); either way its outcome is unknown, and
 * the next call starts at the next endpoint. A read is retried on every endpoint
 * and is -ECONNABORTED when none answered. A hung member (SIGSTOP) holds a call
 * for the whole deadline; the backend thread leaves it within 2/3 of the TTL.
 */
#include "coord/quorum_etcd_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Without a prefix, "/" is no key: it always exists, empty, at version 0. */
static bool virtual_root(const struct rb_etcd *e, const char *path)
{
    return !e->prefix[0] && rb_etcd_is_root(path);
}

/* Range of one key: its kv (or NULL) in *kv (owned by *resp) and the revision. */
static int read_key(struct rb_etcd *e, const char *path, bool keys_only, json_t **resp, json_t **kv,
                    int64_t *rev)
{
    char key[RB_ETCD_KEY_MAX];
    if (rb_etcd_key(e, path, false, key, sizeof(key)))
        return -EINVAL;
    json_t *body = json_pack("{s:o}", "key", rb_etcd_b64s(key));
    if (keys_only)
        json_object_set_new(body, "keys_only", json_true());
    int r = rb_etcd_read(e, "/v3/kv/range", body, resp);
    if (r)
        return r;
    *kv = rb_etcd_first_kv(*resp);
    *rev = rb_etcd_int(json_object_get(*resp, "header"), "revision");
    return 0;
}

static int etcd_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                    int64_t *version)
{
    struct rb_etcd *e = rb_etcd_of(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    if (virtual_root(e, path)) {
        if (data && !(*data = calloc(1, 1)))
            return -ENOMEM;
        if (len)
            *len = 0;
        if (version)
            *version = 0;
        return 0;
    }
    struct rb_etcd_watch *w = watch ? rb_etcd_watch_add(e, path, RB_ETCD_W_NODE) : NULL;
    if (watch && !w)
        return -ENOMEM;
    json_t *resp = NULL, *kv = NULL;
    int64_t rev = 0;
    int r = read_key(e, path, data == NULL && len == NULL, &resp, &kv, &rev);
    if (r == 0 && !kv)
        r = -ENOENT;
    if (r == 0 && (data || len)) {
        char *d;
        size_t l;
        r = rb_etcd_unb64(json_string_value(json_object_get(kv, "value")), &d, &l);
        if (r == 0 && data)
            *data = d;
        else if (r == 0)
            free(d);
        if (r == 0 && len)
            *len = l;
    }
    if (r == 0 && version)
        *version = rb_etcd_int(kv, "mod_revision");
    json_decref(resp);
    if (w && r == 0)
        rb_etcd_watch_set(e, w, rev);
    else if (w)
        rb_etcd_watch_drop(e, w);
    return r;
}

static int etcd_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    struct rb_etcd *e = rb_etcd_of(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    if (virtual_root(e, path)) {
        if (version)
            *version = 0;
        return 0;
    }
    struct rb_etcd_watch *w = watch ? rb_etcd_watch_add(e, path, RB_ETCD_W_NODE) : NULL;
    if (watch && !w)
        return -ENOMEM;
    json_t *resp = NULL, *kv = NULL;
    int64_t rev = 0;
    int r = read_key(e, path, true, &resp, &kv, &rev);
    if (r == 0 && !kv)
        r = -ENOENT;
    if (r == 0 && version)
        *version = rb_etcd_int(kv, "mod_revision");
    json_decref(resp);
    if (w && (r == 0 || r == -ENOENT))
        rb_etcd_watch_set(e, w, rev);
    else if (w)
        rb_etcd_watch_drop(e, w);
    return r;
}

/* The node and its children's keys, read together in one read-only txn. */
static int etcd_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n)
{
    struct rb_etcd *e = rb_etcd_of(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    char key[RB_ETCD_KEY_MAX], start[RB_ETCD_KEY_MAX], end[RB_ETCD_KEY_MAX];
    bool vroot = virtual_root(e, path);
    if ((!vroot && rb_etcd_key(e, path, false, key, sizeof(key))) ||
        rb_etcd_key(e, path, true, start, sizeof(start)))
        return -EINVAL;
    if (vroot)
        snprintf(key, sizeof(key), "%s", start); /* any key: the node's read is ignored */
    rb_etcd_range_end(start, end, sizeof(end));
    struct rb_etcd_watch *w = watch ? rb_etcd_watch_add(e, path, RB_ETCD_W_CHILDREN) : NULL;
    if (watch && !w)
        return -ENOMEM;
    json_t *body = json_pack("{s:[{s:{s:o,s:b}},{s:{s:o,s:o,s:b}}]}", "success", "request_range",
                             "key", rb_etcd_b64s(key), "keys_only", 1, "request_range", "key",
                             rb_etcd_b64s(start), "range_end", rb_etcd_b64s(end), "keys_only", 1);
    json_t *resp = NULL;
    int r = rb_etcd_read(e, "/v3/kv/txn", body, &resp);
    json_t *rs = json_object_get(resp, "responses");
    json_t *kids = json_object_get(json_object_get(json_array_get(rs, 1), "response_range"), "kvs");
    if (r == 0 && !vroot &&
        !rb_etcd_first_kv(json_object_get(json_array_get(rs, 0), "response_range")))
        r = -ENOENT;
    int64_t rev = rb_etcd_int(json_object_get(resp, "header"), "revision");
    size_t cnt = json_array_size(kids);
    const char **tmp = r == 0 ? calloc(cnt + 1, sizeof(*tmp)) : NULL;
    char **keys = r == 0 ? calloc(cnt + 1, sizeof(*keys)) : NULL;
    if (r == 0 && (!tmp || !keys))
        r = -ENOMEM;
    size_t sl = strlen(start);
    for (size_t i = 0; r == 0 && i < cnt; i++) {
        size_t kl;
        r = rb_etcd_unb64(json_string_value(json_object_get(json_array_get(kids, i), "key")),
                          &keys[i], &kl);
        if (r == 0 && (kl <= sl || memcmp(keys[i], start, sl) != 0))
            r = -EIO;
        if (r == 0)
            tmp[i] = keys[i] + sl;
    }
    if (r == 0 && names)
        r = rb_quorum_pack_children(tmp, (int)cnt, names);
    if (r == 0 && n)
        *n = (int)cnt;
    for (size_t i = 0; keys && i < cnt; i++)
        free(keys[i]);
    free(keys);
    free(tmp);
    json_decref(resp);
    if (w && r == 0)
        rb_etcd_watch_set(e, w, rev);
    else if (w)
        rb_etcd_watch_drop(e, w);
    return r;
}

static int32_t etcd_session_timeout_ms(const struct rb_quorum *q)
{
    return ((const struct rb_etcd *)q)->ttl_s * 1000;
}

static int64_t etcd_session_id(const struct rb_quorum *q)
{
    return ((const struct rb_etcd *)q)->lease_id;
}

static void etcd_free(struct rb_etcd *e)
{
    rb_etcd_thread_stop(e);
    if (e->req)
        curl_easy_cleanup(e->req);
    for (int i = 0; i < e->n_eps; i++)
        free(e->eps[i]);
    pthread_mutex_destroy(&e->req_lock);
    pthread_mutex_destroy(&e->wlock);
    pthread_cond_destroy(&e->wcond);
    free(e);
}

static void etcd_close(struct rb_quorum *q)
{
    struct rb_etcd *e = rb_etcd_of(q);
    if (!atomic_load(&e->expired) && e->lease_id) {
        json_t *resp = NULL;
        if (rb_etcd_read(e, "/v3/lease/revoke",
                         json_pack("{s:o}", "ID", rb_etcd_str64(e->lease_id)), &resp) == 0)
            json_decref(resp);
    }
    etcd_free(e);
}

/* Tests: end the session from outside, as etcd does when the lease runs out (the
 * keepalive then finds it gone and reports EXPIRED). */
static int etcd_expire_for_test(struct rb_quorum *q)
{
    struct rb_etcd *e = rb_etcd_of(q);
    json_t *resp = NULL;
    int r = rb_etcd_read(e, "/v3/lease/revoke",
                         json_pack("{s:o}", "ID", rb_etcd_str64(e->lease_id)), &resp);
    json_decref(resp);
    return r;
}

static const struct rb_quorum_ops etcd_ops = {
    .close = etcd_close,
    .session_timeout_ms = etcd_session_timeout_ms,
    .session_id = etcd_session_id,
    .get = etcd_get,
    .exists = etcd_exists,
    .children = etcd_children,
    .create = rb_etcd_op_create,
    .set = rb_etcd_op_set,
    .del = rb_etcd_op_del,
    .multi = rb_etcd_op_multi,
    .expire_for_test = etcd_expire_for_test,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int parse_config(struct rb_etcd *e, const struct rb_quorum_config *cfg, char *err,
                        size_t errlen)
{
    const char *s = cfg->connect;
    while (*s) {
        size_t n = strcspn(s, ",");
        while (n && (*s == ' ')) {
            s++;
            n--;
        }
        while (n && s[n - 1] == ' ')
            n--;
        while (n && s[n - 1] == '/')
            n--;
        if (e->n_eps == RB_ETCD_MAX_EPS || n < 8 || n > 400 ||
            (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)) {
            snprintf(err, errlen, "etcd.endpoints: '%.*s' is not an http://host:port endpoint",
                     (int)n, s);
            return -EINVAL;
        }
        e->eps[e->n_eps++] = strndup(s, n);
        s += strcspn(s, ",");
        if (*s == ',')
            s++;
    }
    const char *root = cfg->root ? cfg->root : "";
    size_t rl = strlen(root);
    while (rl && root[rl - 1] == '/')
        rl--;
    if ((rl && root[0] != '/') || rl >= sizeof(e->prefix) || (rl && strstr(root, "//")) ||
        strchr(root, RB_ETCD_MARK) || strchr(root, RB_ETCD_SEQ_MARK)) {
        snprintf(err, errlen, "etcd.prefix: '%s' must be an absolute path", root);
        return -EINVAL;
    }
    snprintf(e->prefix, sizeof(e->prefix), "%.*s", (int)rl, root);
    if (e->n_eps == 0) {
        snprintf(err, errlen, "etcd.endpoints: no endpoint");
        return -EINVAL;
    }
    return 0;
}

/* The prefix is a chroot: its nodes are made (persistent, empty) when missing. */
static int make_prefix(struct rb_etcd *e)
{
    char abs[sizeof(e->prefix)];
    snprintf(abs, sizeof(abs), "%s", e->prefix);
    e->prefix[0] = 0; /* paths below are absolute */
    int r = 0;
    for (char *p = abs + 1; abs[0] && r == 0; p++) {
        char c = *p;
        if (c != '/' && c != 0)
            continue;
        *p = 0;
        r = rb_etcd_op_create(&e->base, abs, NULL, 0, 0, NULL, 0);
        if (r == -EEXIST)
            r = 0;
        *p = c;
        if (c == 0)
            break;
    }
    snprintf(e->prefix, sizeof(e->prefix), "%s", abs);
    return r;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Grant the session's lease, retrying until the connection timeout. */
static int grant(struct rb_etcd *e, int32_t wait_ms, int64_t *rev, char *err, size_t errlen)
{
    int64_t deadline = mono_ms() + wait_ms;
    int r;
    e->quiet = true; /* the error below says why */
    do {
        json_t *resp = NULL;
        r = rb_etcd_read(e, "/v3/lease/grant", json_pack("{s:o}", "TTL", rb_etcd_str64(e->ttl_s)),
                         &resp);
        if (r == 0) {
            e->lease_id = rb_etcd_int(resp, "ID");
            e->ttl_s = (int32_t)rb_etcd_int(resp, "TTL");
            *rev = rb_etcd_int(json_object_get(resp, "header"), "revision");
            json_decref(resp);
            if (e->lease_id && e->ttl_s > 0) {
                e->quiet = false;
                return 0;
            }
            r = -EIO;
        }
        usleep(200 * 1000);
    } while (mono_ms() < deadline);
    e->quiet = false;
    char eps[512] = "";
    for (int i = 0; i < e->n_eps; i++)
        snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps), "%s%s", i ? "," : "", e->eps[i]);
    snprintf(err, errlen, "etcd: no lease from %s within %d ms: %s", eps, (int)wait_ms,
             rb_quorum_strerror(r));
    return r;
}

int rb_quorum_etcd_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                        size_t errlen)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    struct rb_etcd *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->base.ops = &etcd_ops;
    pthread_mutex_init(&e->req_lock, NULL);
    pthread_mutex_init(&e->wlock, NULL);
    pthread_cond_init(&e->wcond, NULL);
    e->on_event = cfg->on_event;
    e->ctx = cfg->ctx;
    int32_t st = cfg->session_timeout_ms > 0 ? cfg->session_timeout_ms : 10000;
    e->ttl_s = (st + 999) / 1000;
    e->op_timeout_ms = st < 1000 ? 1000 : st > 10000 ? 10000 : st;
    int32_t wait_ms = cfg->connection_timeout_ms > 0 ? cfg->connection_timeout_ms : 10000;
    int r = parse_config(e, cfg, err, errlen);
    if (r)
        goto out_free;
    e->req = rb_etcd_handle();
    if (!e->req) {
        r = -ENOMEM;
        goto out_free;
    }
    int64_t t0 = mono_ms(), rev = 0;
    r = grant(e, wait_ms, &rev, err, errlen);
    if (r)
        goto out_free;
    r = make_prefix(e);
    if (r) {
        snprintf(err, errlen, "etcd: cannot create the prefix %s on %s: %s", e->prefix,
                 e->eps[e->cur_ep], rb_quorum_strerror(r));
        etcd_close(&e->base);
        return r;
    }
    int32_t left = wait_ms - (int32_t)(mono_ms() - t0);
    r = rb_etcd_thread_start(e, rev + 1, left > 100 ? left : 100);
    if (r) {
        snprintf(err, errlen, "etcd: no watch stream from %s within %d ms", e->eps[e->cur_ep],
                 (int)wait_ms);
        etcd_close(&e->base);
        return r;
    }
    RB_INFO(RB_ETCD_COMP, "session (lease %lld, TTL %d s) on %s, prefix '%s'",
            (long long)e->lease_id, (int)e->ttl_s, e->eps[e->cur_ep], e->prefix);
    *out = &e->base;
    return 0;
out_free:
    etcd_free(e);
    return r;
}
