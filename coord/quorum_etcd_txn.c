/*
 * coord/quorum_etcd_txn.c - the writes of the etcd backend of coord/quorum.h
 * (create, set, delete, multi), each one txn of the JSON gateway; the design of
 * the backend (keys, versions, sessions, endpoints) is in coord/quorum_etcd.c,
 * the shared state and helpers in coord/quorum_etcd_int.h.
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
 * multi is one txn of all its ops. Its compares see the state before the txn,
 * while ZooKeeper applies a multi's ops in order, so an op that depends on an
 * earlier op of the same multi is decided here (multi_local): a create below a
 * node deleted before -> -ENOENT, a delete of a node that got a child before ->
 * -ENOTEMPTY, a check or set of a node deleted before -> -ENOENT; a parent
 * created before is not compared; a delete after deletes of children compares
 * that every child it has at a read just before is among them and that no child
 * was created since (CK_NONEW). When an op fails so, the compares of the ops
 * before it still go to etcd (without writes) so that an earlier failure is the
 * one reported, as in ZooKeeper. etcd refuses to write one key twice in a txn:
 * a create after a delete of the same node, or a set after its create, fails
 * with -EINVAL at that op (ZooKeeper allows both; Kafka's layout needs neither).
 */
#include "coord/quorum_etcd_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CK_NONEW: no child created after revision v (a multi deleting every child first). */
enum ck { CK_EXISTS, CK_ABSENT, CK_MODREV, CK_NOCHILD, CK_NONEW, CK_SEQ };

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

/* A compare and, in the failure branch, the read that explains it. */
static void add_check(struct txn *t, int op, enum ck kind, const char *key, int64_t v)
{
    RB_ASSERT(t->n < t->cap);
    t->ck[t->n++] = (struct check){op, kind, v};
    json_t *c = json_object(), *r = json_object();
    json_object_set_new(c, "key", rb_etcd_b64s(key));
    json_object_set_new(r, "key", rb_etcd_b64s(key));
    if (kind == CK_NOCHILD || kind == CK_NONEW) {
        char end[RB_ETCD_KEY_MAX];
        rb_etcd_range_end(key, end, sizeof(end));
        json_object_set_new(c, "range_end", rb_etcd_b64s(end));
        json_object_set_new(r, "range_end", rb_etcd_b64s(end));
    }
    if (kind == CK_NONEW)
        json_object_set_new(r, "min_create_revision", rb_etcd_str64(v + 1));
    bool mod = kind == CK_MODREV || kind == CK_SEQ;
    json_object_set_new(c, "target", json_string(mod ? "MOD" : "CREATE"));
    json_object_set_new(c, "result",
                        json_string(kind == CK_EXISTS  ? "GREATER"
                                    : kind == CK_NONEW ? "LESS"
                                                       : "EQUAL"));
    json_object_set_new(c, mod ? "mod_revision" : "create_revision",
                        rb_etcd_str64(mod                ? v
                                      : kind == CK_NONEW ? v + 1
                                                         : 0));
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
    json_t *p = json_pack("{s:o,s:s}", "key", rb_etcd_b64s(key), "value", v);
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
                          json_pack("{s:{s:o}}", "request_delete_range", "key", rb_etcd_b64s(key)));
    return 0;
}

/* Which check failed, from the failure branch's reads. */
static int explain(struct txn *t, json_t *resp, int *failed)
{
    json_t *rs = json_object_get(resp, "responses");
    for (int i = 0; i < t->n; i++) {
        json_t *kv =
            rb_etcd_first_kv(json_object_get(json_array_get(rs, (size_t)i), "response_range"));
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
        case CK_NONEW:
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

/* The compares and writes of a create (path is the final name). */
static int build_create(struct rb_etcd *e, struct txn *t, int op, const char *path,
                        const void *data, size_t len, int flags, bool parent_known)
{
    char key[RB_ETCD_KEY_MAX], pkey[RB_ETCD_KEY_MAX], parent[RB_ETCD_KEY_MAX];
    rb_etcd_parent_of(path, parent, sizeof(parent));
    if (rb_etcd_key(e, path, false, key, sizeof(key)))
        return -EINVAL;
    if (!rb_etcd_is_root(parent) && !parent_known) {
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
    rb_etcd_parent_of(path, parent, sizeof(parent));
    if (rb_etcd_seq_key(e, parent, key, sizeof(key)))
        return -EINVAL;
    json_t *resp = NULL;
    int r = rb_etcd_read(e, "/v3/kv/range", json_pack("{s:o}", "key", rb_etcd_b64s(key)), &resp);
    if (r)
        return r;
    json_t *kv = rb_etcd_first_kv(resp);
    *seq = kv ? rb_etcd_int(kv, "version") : 0;
    *mod = kv ? rb_etcd_int(kv, "mod_revision") : 0;
    json_decref(resp);
    return 0;
}

int rb_etcd_op_create(struct rb_quorum *q, const char *path, const void *data, size_t len,
                      int flags, char *created, size_t created_cap)
{
    struct rb_etcd *e = rb_etcd_of(q);
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
            rb_etcd_parent_of(path, parent, sizeof(parent));
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

int rb_etcd_op_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                   int64_t version, int64_t *new_version)
{
    struct rb_etcd *e = rb_etcd_of(q);
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

int rb_etcd_op_del(struct rb_quorum *q, const char *path, int64_t version)
{
    struct rb_etcd *e = rb_etcd_of(q);
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

/* What the ops before i did to path: 1 created it, -1 deleted it, 0 neither. */
static int done_before(const struct rb_qop *ops, int i, const char *path)
{
    int st = 0;
    for (int j = 0; j < i; j++)
        if (strcmp(ops[j].path, path) == 0 && ops[j].type == RB_QOP_CREATE)
            st = 1;
        else if (strcmp(ops[j].path, path) == 0 && ops[j].type == RB_QOP_DELETE)
            st = -1;
    return st;
}

/* How many ops before i are of type on a direct child of path. */
static int kids_before(const struct rb_qop *ops, int i, const char *path, enum rb_qop_type type)
{
    int c = 0;
    for (int j = 0; j < i; j++) {
        char parent[RB_ETCD_KEY_MAX];
        rb_etcd_parent_of(ops[j].path, parent, sizeof(parent));
        c += ops[j].type == type && strcmp(parent, path) == 0;
    }
    return c;
}

/* A delete of path after deletes of some of its children in the same multi: when
 * every child it has now is among them, compare that no child appeared since
 * (each deleted child's own compare says it is still there); else the usual
 * no-child compare (it fails: ZooKeeper's -ENOTEMPTY). */
static int build_delete_after_kids(struct rb_etcd *e, struct txn *t, int op,
                                   const struct rb_qop *ops, const char *path)
{
    char start[RB_ETCD_KEY_MAX], end[RB_ETCD_KEY_MAX];
    if (rb_etcd_key(e, path, true, start, sizeof(start)))
        return -EINVAL;
    rb_etcd_range_end(start, end, sizeof(end));
    json_t *resp = NULL;
    int r = rb_etcd_read(e, "/v3/kv/range",
                         json_pack("{s:o,s:o,s:b}", "key", rb_etcd_b64s(start), "range_end",
                                   rb_etcd_b64s(end), "keys_only", 1),
                         &resp);
    if (r)
        return r;
    json_t *kids = json_object_get(resp, "kvs");
    bool all_gone = true;
    for (size_t k = 0; all_gone && k < json_array_size(kids); k++) {
        char *key, kid[RB_ETCD_KEY_MAX];
        size_t klen;
        if (rb_etcd_unb64(json_string_value(json_object_get(json_array_get(kids, k), "key")), &key,
                          &klen))
            continue;
        const char *p = rb_etcd_path_of(e, key, klen, kid, sizeof(kid));
        all_gone = p && done_before(ops, op, p) == -1;
        free(key);
    }
    int64_t rev = rb_etcd_int(json_object_get(resp, "header"), "revision");
    json_decref(resp);
    add_check(t, op, all_gone ? CK_NONEW : CK_NOCHILD, start, rev);
    return 0;
}

/* The ops that etcd cannot express as compares on the state before the txn
 * because an earlier op of the same multi changes what they see: the error
 * ZooKeeper would give op i, 0 when none, -EINVAL for what a txn cannot do
 * (write one key twice: create after delete, set after create). */
static int multi_local(const struct rb_qop *ops, int i)
{
    const struct rb_qop *o = &ops[i];
    char parent[RB_ETCD_KEY_MAX];
    int self = done_before(ops, i, o->path);
    switch (o->type) {
    case RB_QOP_CREATE:
        rb_etcd_parent_of(o->path, parent, sizeof(parent));
        if (done_before(ops, i, parent) == -1)
            return -ENOENT;
        return self == 1 ? -EEXIST : self == -1 ? -EINVAL : 0;
    case RB_QOP_CHECK:
    case RB_QOP_SET:
        return self == -1 ? -ENOENT : self == 1 && o->type == RB_QOP_SET ? -EINVAL : 0;
    case RB_QOP_DELETE:
        if (self == -1)
            return -ENOENT;
        if (self == 1)
            return -EINVAL;
        return kids_before(ops, i, o->path, RB_QOP_CREATE) ? -ENOTEMPTY : 0;
    default:
        return -EINVAL;
    }
}

/* One txn for all ops. An op that fails locally (multi_local) still sends the
 * compares of the ops before it, without writes: one of them may fail first. */
int rb_etcd_op_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    struct rb_etcd *e = rb_etcd_of(q);
    if (failed)
        *failed = -1;
    if (atomic_load(&e->expired))
        return -ENOTCONN;
    struct txn t;
    int r = txn_init(&t, 2 * n), local = 0, i = 0;
    for (; r == 0 && local == 0 && i < n; i++) {
        const struct rb_qop *o = &ops[i];
        char key[RB_ETCD_KEY_MAX], parent[RB_ETCD_KEY_MAX];
        local = multi_local(ops, i);
        if (local)
            break;
        switch (o->type) {
        case RB_QOP_CHECK:
            r = rb_etcd_key(e, o->path, false, key, sizeof(key));
            if (r == 0)
                build_version(e, &t, i, key, o->version);
            break;
        case RB_QOP_CREATE:
            rb_etcd_parent_of(o->path, parent, sizeof(parent));
            r = o->flags & RB_QC_SEQUENTIAL
                    ? -EINVAL
                    : build_create(e, &t, i, o->path, o->data, o->len, o->flags,
                                   done_before(ops, i, parent) == 1);
            break;
        case RB_QOP_SET:
            r = build_set(e, &t, i, o->path, o->data, o->len, o->version);
            break;
        case RB_QOP_DELETE:
            if (rb_etcd_is_root(o->path)) {
                r = -EINVAL;
            } else if (kids_before(ops, i, o->path, RB_QOP_DELETE)) {
                char k[RB_ETCD_KEY_MAX], seq[RB_ETCD_KEY_MAX];
                r = rb_etcd_key(e, o->path, false, k, sizeof(k)) ||
                            rb_etcd_seq_key(e, o->path, seq, sizeof(seq))
                        ? -EINVAL
                        : build_version(e, &t, i, k, o->version);
                if (r == 0)
                    r = build_delete_after_kids(e, &t, i, ops, o->path);
                if (r == 0)
                    r = add_del(&t, i, k);
                if (r == 0)
                    r = add_del(&t, i, seq);
            } else {
                r = build_delete(e, &t, i, o->path, o->version);
            }
            break;
        default:
            r = -EINVAL;
        }
    }
    if (r) {
        if (failed)
            *failed = i - 1;
    } else {
        if (local)
            json_array_clear(t.succ); /* only the compares of the ops before i */
        r = run_txn(e, &t, failed, NULL);
        if (r == 0 && local) {
            r = local;
            if (failed)
                *failed = i;
        }
    }
    txn_free(&t);
    return r;
}
