/*
 * coord/quorum_etcd.c - the etcd backend of coord/quorum.h (etcd.endpoints,
 * etcd.prefix), over etcd's v3 JSON gateway with libcurl and jansson. This file:
 * open/close, and every operation as one request; the transport is in
 * coord/quorum_etcd_io.c, the backend thread in coord/quorum_etcd_watch.c.
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
 *
 * Every write is one txn whose compares are the contract's preconditions, in the
 * order ZooKeeper checks them, each tagged with its op and the error it means:
 *   parent exists (create; skipped for top-level nodes) -> -ENOENT
 *   key absent, create_revision == 0 (create)          -> -EEXIST
 *   mod_revision == version (set, delete, check)       -> -ENOENT / -ESTALE
 *   no child: create_revision == 0 over the children's range (delete) -> -ENOTEMPTY
 * The failure branch reads every compared key (or range) in the same txn, so the
 * error reported is decided on the very state that failed the compares, with no
 * second read and no race. Safety of "delete refuses a node with children" and
 * "create needs its parent": both are compares inside the txn that writes, and
 * etcd applies txns one at a time, so a child created concurrently with its
 * parent's deletion makes exactly one of the two fail.
 * multi is one txn of all its ops (parents created earlier in the same multi are
 * not compared). etcd refuses to write one key twice in a txn: such a multi
 * (create then set of one node, delete then create) fails with -EINVAL at the op
 * that repeats the key; and deleting a node after its children in the same multi
 * fails -ENOTEMPTY (the compares see the state before the txn).
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
 * Endpoints: requests go to the last endpoint that answered and fail over to the
 * next when one cannot be reached (or has no leader); every request has a
 * deadline (the op timeout: session timeout, clamped to 1..10 s). A write whose
 * request was sent and got no answer returns -ETIMEDOUT or -ECONNABORTED (its
 * outcome is unknown), a read is retried on the other endpoints.
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

enum ck { CK_EXISTS, CK_ABSENT, CK_MODREV, CK_NOCHILD, CK_SEQ };

struct check {
    int op;
    enum ck kind;
    int64_t v;
};

struct txn {
    json_t *cmp, *succ, *fail;
    struct check *ck;
    int n, cap;
    char (*keys)[RB_ETCD_KEY_MAX]; /* keys written, to refuse a repeated one */
    int *key_op;
    int n_keys;
};

static struct rb_etcd *E(struct rb_quorum *q)
{
    return (struct rb_etcd *)q;
}

static int txn_init(struct txn *t, int n_ops)
{
    memset(t, 0, sizeof(*t));
    t->cap = 4 * n_ops + 2;
    t->cmp = json_array();
    t->succ = json_array();
    t->fail = json_array();
    t->ck = calloc((size_t)t->cap, sizeof(*t->ck));
    t->keys = calloc((size_t)t->cap, sizeof(*t->keys));
    t->key_op = calloc((size_t)t->cap, sizeof(*t->key_op));
    return t->cmp && t->succ && t->fail && t->ck && t->keys && t->key_op ? 0 : -ENOMEM;
}

static void txn_free(struct txn *t)
{
    json_decref(t->cmp);
    json_decref(t->succ);
    json_decref(t->fail);
    free(t->ck);
    free(t->keys);
    free(t->key_op);
}

static json_t *b64s(const char *s)
{
    char *b = rb_etcd_b64(s, strlen(s));
    json_t *j = json_string(b ? b : "");
    free(b);
    return j;
}

static void end_of(const char *start, char *end, size_t cap)
{
    snprintf(end, cap, "%s", start);
    end[strlen(end) - 1]++; /* the range of every key starting with start */
}

/* A compare and, in the failure branch, the read that explains it. */
static void add_check(struct txn *t, int op, enum ck kind, const char *key, int64_t v)
{
    RB_ASSERT(t->n < t->cap);
    t->ck[t->n++] = (struct check){op, kind, v};
    json_t *c = json_object(), *r = json_object();
    json_object_set_new(c, "key", b64s(key));
    json_object_set_new(r, "key", b64s(key));
    if (kind == CK_NOCHILD) {
        char end[RB_ETCD_KEY_MAX];
        end_of(key, end, sizeof(end));
        json_object_set_new(c, "range_end", b64s(end));
        json_object_set_new(r, "range_end", b64s(end));
    }
    bool mod = kind == CK_MODREV || kind == CK_SEQ;
    json_object_set_new(c, "target", json_string(mod ? "MOD" : "CREATE"));
    json_object_set_new(c, "result", json_string(kind == CK_EXISTS ? "GREATER" : "EQUAL"));
    json_object_set_new(c, mod ? "mod_revision" : "create_revision",
                        rb_etcd_str64(kind == CK_MODREV || kind == CK_SEQ ? v : 0));
    json_array_append_new(t->cmp, c);
    json_object_set_new(r, "limit", json_string("1"));
    json_object_set_new(r, "keys_only", json_true());
    json_array_append_new(t->fail, json_pack("{s:o}", "request_range", r));
}

/* -EINVAL when the txn already writes key. */
static int add_key(struct txn *t, int op, const char *key)
{
    for (int i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i], key) == 0)
            return -EINVAL;
    RB_ASSERT(t->n_keys < t->cap);
    snprintf(t->keys[t->n_keys], RB_ETCD_KEY_MAX, "%s", key);
    t->key_op[t->n_keys++] = op;
    return 0;
}

static int add_put(struct txn *t, int op, const char *key, const void *data, size_t len,
                   int64_t lease, bool keep_lease)
{
    if (add_key(t, op, key))
        return -EINVAL;
    char *v = rb_etcd_b64(data ? data : "", data ? len : 0);
    if (!v)
        return -ENOMEM;
    json_t *p = json_pack("{s:o,s:s}", "key", b64s(key), "value", v);
    free(v);
    if (lease)
        json_object_set_new(p, "lease", rb_etcd_str64(lease));
    if (keep_lease)
        json_object_set_new(p, "ignore_lease", json_true());
    json_array_append_new(t->succ, json_pack("{s:o}", "request_put", p));
    return 0;
}

static int add_del(struct txn *t, int op, const char *key)
{
    if (add_key(t, op, key))
        return -EINVAL;
    json_array_append_new(t->succ,
                          json_pack("{s:{s:o}}", "request_delete_range", "key", b64s(key)));
    return 0;
}

static json_t *first_kv(json_t *range_resp)
{
    return json_array_get(json_object_get(range_resp, "kvs"), 0);
}

/* Which check failed, from the failure branch's reads. */
static int explain(struct txn *t, json_t *resp, int *failed)
{
    json_t *rs = json_object_get(resp, "responses");
    for (int i = 0; i < t->n; i++) {
        json_t *kv = first_kv(json_object_get(json_array_get(rs, (size_t)i), "response_range"));
        int64_t mod = kv ? rb_etcd_int(kv, "mod_revision") : 0;
        int err = 0;
        switch (t->ck[i].kind) {
        case CK_EXISTS:
            err = kv ? 0 : -ENOENT;
            break;
        case CK_ABSENT:
            err = kv ? -EEXIST : 0;
            break;
        case CK_MODREV:
            err = !kv ? -ENOENT : mod != t->ck[i].v ? -ESTALE : 0;
            break;
        case CK_NOCHILD:
            err = kv ? -ENOTEMPTY : 0;
            break;
        case CK_SEQ:
            err = mod != t->ck[i].v ? -EAGAIN : 0;
            break;
        }
        if (err) {
            if (failed)
                *failed = t->ck[i].op;
            return err;
        }
    }
    RB_WARN(RB_ETCD_COMP, "txn failed with every compare holding");
    return -EIO;
}

static int run_txn(struct rb_etcd *e, struct txn *t, int *failed, int64_t *rev)
{
    json_t *body =
        json_pack("{s:O,s:O,s:O}", "compare", t->cmp, "success", t->succ, "failure", t->fail);
    json_t *resp = NULL;
    pthread_mutex_lock(&e->req_lock);
    int r = rb_etcd_post(e, e->req, "/v3/kv/txn", body, &resp, false);
    pthread_mutex_unlock(&e->req_lock);
    json_decref(body);
    if (r) {
        if (failed)
            *failed = -1; /* no op failed: the request did */
        return r;
    }
    if (json_is_true(json_object_get(resp, "succeeded"))) {
        if (rev)
            *rev = rb_etcd_int(json_object_get(resp, "header"), "revision");
    } else {
        r = explain(t, resp, failed);
    }
    json_decref(resp);
    return r;
}

/* Read-only requests (ranges, read txns): idempotent. */
static int read_req(struct rb_etcd *e, const char *api, json_t *body, json_t **resp)
{
    pthread_mutex_lock(&e->req_lock);
    int r = rb_etcd_post(e, e->req, api, body, resp, true);
    pthread_mutex_unlock(&e->req_lock);
    json_decref(body);
    return r;
}

static bool is_root(const char *path)
{
    return strcmp(path, "/") == 0;
}

/* Without a prefix, "/" is no key: it always exists, empty, at version 0. */
static bool virtual_root(const struct rb_etcd *e, const char *path)
{
    return !e->prefix[0] && is_root(path);
}

static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(out, cap, "%.*s", (int)n, path);
}

/* Range of one key: its kv (or NULL) in *kv (owned by *resp) and the revision. */
static int read_key(struct rb_etcd *e, const char *path, bool keys_only, json_t **resp, json_t **kv,
                    int64_t *rev)
{
    char key[RB_ETCD_KEY_MAX];
    if (rb_etcd_key(e, path, false, key, sizeof(key)))
        return -EINVAL;
    json_t *body = json_pack("{s:o}", "key", b64s(key));
    if (keys_only)
        json_object_set_new(body, "keys_only", json_true());
    int r = read_req(e, "/v3/kv/range", body, resp);
    if (r)
        return r;
    *kv = first_kv(*resp);
    *rev = rb_etcd_int(json_object_get(*resp, "header"), "revision");
    return 0;
}

static int etcd_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                    int64_t *version)
{
    struct rb_etcd *e = E(q);
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
    struct rb_etcd *e = E(q);
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
    struct rb_etcd *e = E(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    char key[RB_ETCD_KEY_MAX], start[RB_ETCD_KEY_MAX], end[RB_ETCD_KEY_MAX];
    bool vroot = virtual_root(e, path);
    if ((!vroot && rb_etcd_key(e, path, false, key, sizeof(key))) ||
        rb_etcd_key(e, path, true, start, sizeof(start)))
        return -EINVAL;
    if (vroot)
        snprintf(key, sizeof(key), "%s", start); /* any key: the node's read is ignored */
    end_of(start, end, sizeof(end));
    struct rb_etcd_watch *w = watch ? rb_etcd_watch_add(e, path, RB_ETCD_W_CHILDREN) : NULL;
    if (watch && !w)
        return -ENOMEM;
    json_t *body = json_pack("{s:[{s:{s:o,s:b}},{s:{s:o,s:o,s:b}}]}", "success", "request_range",
                             "key", b64s(key), "keys_only", 1, "request_range", "key", b64s(start),
                             "range_end", b64s(end), "keys_only", 1);
    json_t *resp = NULL;
    int r = read_req(e, "/v3/kv/txn", body, &resp);
    json_t *rs = json_object_get(resp, "responses");
    json_t *kids = json_object_get(json_object_get(json_array_get(rs, 1), "response_range"), "kvs");
    if (r == 0 && !vroot && !first_kv(json_object_get(json_array_get(rs, 0), "response_range")))
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

/* The compares and writes of a create (path is the final name). */
static int build_create(struct rb_etcd *e, struct txn *t, int op, const char *path,
                        const void *data, size_t len, int flags, bool parent_known)
{
    char key[RB_ETCD_KEY_MAX], pkey[RB_ETCD_KEY_MAX], parent[RB_ETCD_KEY_MAX];
    parent_of(path, parent, sizeof(parent));
    if (rb_etcd_key(e, path, false, key, sizeof(key)))
        return -EINVAL;
    if (!is_root(parent) && !parent_known) {
        if (rb_etcd_key(e, parent, false, pkey, sizeof(pkey)))
            return -EINVAL;
        add_check(t, op, CK_EXISTS, pkey, 0);
    }
    add_check(t, op, CK_ABSENT, key, 0);
    return add_put(t, op, key, data, len, flags & RB_QC_EPHEMERAL ? e->lease_id : 0, false);
}

static int build_version(struct rb_etcd *e, struct txn *t, int op, const char *key, int64_t v)
{
    if (v == 0) /* a missing key's mod_revision is 0 too */
        add_check(t, op, CK_EXISTS, key, 0);
    if (v >= 0)
        add_check(t, op, CK_MODREV, key, v);
    else
        add_check(t, op, CK_EXISTS, key, 0);
    return 0;
}

static int build_delete(struct rb_etcd *e, struct txn *t, int op, const char *path, int64_t v)
{
    char key[RB_ETCD_KEY_MAX], kids[RB_ETCD_KEY_MAX], seq[RB_ETCD_KEY_MAX];
    if (rb_etcd_key(e, path, false, key, sizeof(key)) ||
        rb_etcd_key(e, path, true, kids, sizeof(kids)) ||
        rb_etcd_seq_key(e, path, seq, sizeof(seq)))
        return -EINVAL;
    build_version(e, t, op, key, v);
    add_check(t, op, CK_NOCHILD, kids, 0);
    int r = add_del(t, op, key);
    return r ? r : add_del(t, op, seq);
}

static int build_set(struct rb_etcd *e, struct txn *t, int op, const char *path, const void *data,
                     size_t len, int64_t v)
{
    char key[RB_ETCD_KEY_MAX];
    if (rb_etcd_key(e, path, false, key, sizeof(key)))
        return -EINVAL;
    build_version(e, t, op, key, v);
    return add_put(t, op, key, data, len, 0, true);
}

/* The next sequential name under path's parent: the counter's version and mod_revision. */
static int read_seq(struct rb_etcd *e, const char *path, int64_t *seq, int64_t *mod)
{
    char parent[RB_ETCD_KEY_MAX], key[RB_ETCD_KEY_MAX];
    parent_of(path, parent, sizeof(parent));
    if (rb_etcd_seq_key(e, parent, key, sizeof(key)))
        return -EINVAL;
    json_t *resp = NULL;
    int r = read_req(e, "/v3/kv/range", json_pack("{s:o}", "key", b64s(key)), &resp);
    if (r)
        return r;
    json_t *kv = first_kv(resp);
    *seq = kv ? rb_etcd_int(kv, "version") : 0;
    *mod = kv ? rb_etcd_int(kv, "mod_revision") : 0;
    json_decref(resp);
    return 0;
}

static int etcd_create(struct rb_quorum *q, const char *path, const void *data, size_t len,
                       int flags, char *created, size_t created_cap)
{
    struct rb_etcd *e = E(q);
    for (int attempt = 0; attempt < 64; attempt++) {
        if (atomic_load(&e->expired))
            return -ENOTCONN;
        char name[RB_ETCD_KEY_MAX];
        snprintf(name, sizeof(name), "%s", path);
        struct txn t;
        int r = txn_init(&t, 2);
        if (r == 0 && (flags & RB_QC_SEQUENTIAL)) {
            int64_t seq, mod;
            char parent[RB_ETCD_KEY_MAX], skey[RB_ETCD_KEY_MAX];
            parent_of(path, parent, sizeof(parent));
            r = read_seq(e, path, &seq, &mod);
            if (r == 0 && rb_etcd_seq_key(e, parent, skey, sizeof(skey)) == 0) {
                snprintf(name, sizeof(name), "%s%010lld", path, (long long)seq);
                add_check(&t, 0, CK_SEQ, skey, mod);
                r = add_put(&t, 0, skey, NULL, 0, 0, false);
            }
        }
        if (r == 0)
            r = build_create(e, &t, 0, name, data, len, flags, false);
        if (r == 0)
            r = run_txn(e, &t, NULL, NULL);
        txn_free(&t);
        if (r == -EAGAIN)
            continue;
        if (r == 0 && created)
            snprintf(created, created_cap, "%s", name);
        return r;
    }
    return -EIO;
}

static int etcd_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                    int64_t version, int64_t *new_version)
{
    struct rb_etcd *e = E(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    struct txn t;
    int r = txn_init(&t, 1);
    if (r == 0)
        r = build_set(e, &t, 0, path, data, len, version);
    if (r == 0)
        r = run_txn(e, &t, NULL, new_version);
    txn_free(&t);
    return r;
}

static int etcd_del(struct rb_quorum *q, const char *path, int64_t version)
{
    struct rb_etcd *e = E(q);
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    struct txn t;
    int r = txn_init(&t, 1);
    if (r == 0)
        r = build_delete(e, &t, 0, path, version);
    if (r == 0)
        r = run_txn(e, &t, NULL, NULL);
    txn_free(&t);
    return r;
}

static bool created_before(const struct rb_qop *ops, int i, const char *path)
{
    for (int j = 0; j < i; j++)
        if (ops[j].type == RB_QOP_CREATE && strcmp(ops[j].path, path) == 0)
            return true;
    return false;
}

static int etcd_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    struct rb_etcd *e = E(q);
    if (failed)
        *failed = -1;
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    struct txn t;
    int r = txn_init(&t, 2 * n);
    int i = 0;
    for (; r == 0 && i < n; i++) {
        const struct rb_qop *o = &ops[i];
        char key[RB_ETCD_KEY_MAX], parent[RB_ETCD_KEY_MAX];
        switch (o->type) {
        case RB_QOP_CHECK:
            r = rb_etcd_key(e, o->path, false, key, sizeof(key));
            if (r == 0)
                build_version(e, &t, i, key, o->version);
            break;
        case RB_QOP_CREATE:
            parent_of(o->path, parent, sizeof(parent));
            r = o->flags & RB_QC_SEQUENTIAL
                    ? -EINVAL
                    : build_create(e, &t, i, o->path, o->data, o->len, o->flags,
                                   created_before(ops, i, parent));
            break;
        case RB_QOP_SET:
            r = build_set(e, &t, i, o->path, o->data, o->len, o->version);
            break;
        case RB_QOP_DELETE:
            r = is_root(o->path) ? -EINVAL : build_delete(e, &t, i, o->path, o->version);
            break;
        default:
            r = -EINVAL;
        }
    }
    if (r) {
        if (failed)
            *failed = i - 1;
    } else {
        r = run_txn(e, &t, failed, NULL);
    }
    txn_free(&t);
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
    struct rb_etcd *e = E(q);
    if (!atomic_load(&e->expired) && e->lease_id) {
        json_t *resp = NULL;
        if (read_req(e, "/v3/lease/revoke", json_pack("{s:o}", "ID", rb_etcd_str64(e->lease_id)),
                     &resp) == 0)
            json_decref(resp);
    }
    etcd_free(e);
}

/* Tests: end the session from outside, as etcd does when the lease runs out (the
 * keepalive then finds it gone and reports EXPIRED). */
static int etcd_expire_for_test(struct rb_quorum *q)
{
    struct rb_etcd *e = E(q);
    json_t *resp = NULL;
    int r = read_req(e, "/v3/lease/revoke", json_pack("{s:o}", "ID", rb_etcd_str64(e->lease_id)),
                     &resp);
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
    .create = etcd_create,
    .set = etcd_set,
    .del = etcd_del,
    .multi = etcd_multi,
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
        r = etcd_create(&e->base, abs, NULL, 0, 0, NULL, 0);
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
    do {
        json_t *resp = NULL;
        r = read_req(e, "/v3/lease/grant", json_pack("{s:o}", "TTL", rb_etcd_str64(e->ttl_s)),
                     &resp);
        if (r == 0) {
            e->lease_id = rb_etcd_int(resp, "ID");
            e->ttl_s = (int32_t)rb_etcd_int(resp, "TTL");
            *rev = rb_etcd_int(json_object_get(resp, "header"), "revision");
            json_decref(resp);
            if (e->lease_id && e->ttl_s > 0)
                return 0;
            r = -EIO;
        }
        usleep(200 * 1000);
    } while (mono_ms() < deadline);
    snprintf(err, errlen, "etcd: no lease from %s within %d ms: %s", e->eps[0], (int)wait_ms,
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
