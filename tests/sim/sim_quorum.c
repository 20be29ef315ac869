/*
 * tests/sim/sim_quorum.c - a simulated quorum for the cluster simulation
 * (sim_cluster.c): an in-memory ZooKeeper behind coord/quorum.h's backend table,
 * on the simulated clock, deterministic. Sessions have a timeout and a last-heard
 * instant (every call refreshes it); a session not heard from for its timeout
 * expires at the next call of anyone: its ephemeral nodes go, its watches go, and
 * its owner gets RB_QEV_EXPIRED (when its network is cut, once it heals). A cut
 * session's calls fail with -ECONNABORTED and do not refresh it; an expired one's
 * fail with -ENOTCONN. Watches are one-shot and fire synchronously, after the
 * write that triggers them committed. A multi applies its ops in order and undoes
 * them all when one fails. Faults: 2% of the writes that commit answer
 * -ECONNABORTED (the connection dropped after the commit: the writer cannot know);
 * a multi of more than 128 operations is refused (etcd's txn limit).
 *
 * The fencing invariant is checked here, on every write: a partition state node
 * (/brokers/topics/T/partitions/P/state) is written only in a multi that checks
 * /controller_epoch at its current version, by the session that owns /controller.
 */
#include "coord/quorum_int.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_quorum.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sq_node {
    char *path;
    char *data;
    size_t len;
    int64_t version;
    int64_t owner; /* ephemeral: the session; 0: persistent */
    int64_t seq;   /* the next sequential child's number */
};

struct sq_session {
    int64_t id;
    int32_t timeout_ms;
    int64_t last_heard_ns;
    bool expired, cut, closed, told;
    rb_quorum_event_fn on_event;
    void *ctx;
};

struct sq_watch {
    int64_t session;
    char *path;
    bool children;
};

struct sq_event {
    int64_t session;
    enum rb_qevent ev;
    char *path;
};

static struct sq_node *nodes;
static int n_nodes, cap_nodes;
static struct sq_session *sessions;
static int n_sessions, cap_sessions;
static struct sq_watch *watches;
static int n_watches, cap_watches;
static struct sq_event *pending;
static int n_pending, cap_pending;

struct sq_handle {
    struct rb_quorum base;
    int64_t session;
};

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 64;                                                          \
            (arr) = realloc((arr), sizeof(*(arr)) * (size_t)(cap));                                \
            if (!(arr))                                                                            \
                abort();                                                                           \
        }                                                                                          \
    } while (0)

static struct sq_session *session(int64_t id)
{
    for (int i = 0; i < n_sessions; i++)
        if (sessions[i].id == id)
            return &sessions[i];
    return NULL;
}

static int find(const char *path)
{
    for (int i = 0; i < n_nodes; i++)
        if (strcmp(nodes[i].path, path) == 0)
            return i;
    return -1;
}

static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = 0;
}

static bool exists_path(const char *path)
{
    return strcmp(path, "/") == 0 || find(path) >= 0;
}

static bool has_children(const char *path)
{
    char p[1024];
    for (int i = 0; i < n_nodes; i++) {
        parent_of(nodes[i].path, p, sizeof(p));
        if (strcmp(p, path) == 0)
            return true;
    }
    return false;
}

static void queue_event(int64_t sid, enum rb_qevent ev, const char *path)
{
    GROW(pending, n_pending, cap_pending);
    pending[n_pending++] = (struct sq_event){sid, ev, path ? strdup(path) : NULL};
}

/* Fire (queue) the watches a change of path triggers. */
static void trigger(const char *path, bool node, bool children_of_parent)
{
    char parent[1024];
    parent_of(path, parent, sizeof(parent));
    for (int i = 0; i < n_watches;) {
        struct sq_watch *w = &watches[i];
        bool hit = (node && !w->children && strcmp(w->path, path) == 0) ||
                   (children_of_parent && w->children && strcmp(w->path, parent) == 0);
        if (!hit) {
            i++;
            continue;
        }
        queue_event(w->session, w->children ? RB_QEV_CHILDREN : RB_QEV_NODE, w->path);
        free(w->path);
        watches[i] = watches[--n_watches];
    }
}

/* Deliver queued events to live sessions (cut ones keep theirs). */
static void deliver(void)
{
    for (int i = 0; i < n_pending;) {
        struct sq_event *e = &pending[i];
        struct sq_session *s = session(e->session);
        if (s && !s->closed && s->cut) {
            i++;
            continue;
        }
        struct sq_event ev = *e;
        pending[i] = pending[--n_pending];
        if (s && !s->closed && s->on_event)
            s->on_event(s->ctx, ev.ev, ev.path);
        free(ev.path);
    }
}

static void remove_node(int i)
{
    free(nodes[i].path);
    free(nodes[i].data);
    nodes[i] = nodes[--n_nodes];
}

static void end_session(struct sq_session *s, bool expire)
{
    for (int i = 0; i < n_nodes;) {
        if (nodes[i].owner != s->id) {
            i++;
            continue;
        }
        char *path = strdup(nodes[i].path);
        remove_node(i);
        trigger(path, true, true);
        free(path);
        i = 0;
    }
    for (int i = 0; i < n_watches;) {
        if (watches[i].session == s->id) {
            free(watches[i].path);
            watches[i] = watches[--n_watches];
        } else {
            i++;
        }
    }
    if (expire) {
        s->expired = true;
        SIM_LOG("quorum: session 0x%llx expired", (unsigned long long)s->id);
        queue_event(s->id, RB_QEV_EXPIRED, NULL);
    }
}

void sim_quorum_expire_due(void)
{
    for (int i = 0; i < n_sessions; i++) {
        struct sq_session *s = &sessions[i];
        if (!s->expired && !s->closed &&
            sim_now_ns - s->last_heard_ns > (int64_t)s->timeout_ms * 1000000)
            end_session(s, true);
    }
    deliver();
}

/* Every call: expiries first, then this session's own state. */
static int enter(struct rb_quorum *q)
{
    struct sq_handle *h = (struct sq_handle *)q;
    sim_quorum_expire_due();
    struct sq_session *s = session(h->session);
    if (!s || s->closed || s->expired)
        return -ENOTCONN;
    if (s->cut)
        return -ECONNABORTED;
    s->last_heard_ns = sim_now_ns;
    return 0;
}

static void add_watch(int64_t sid, const char *path, bool children)
{
    for (int i = 0; i < n_watches; i++)
        if (watches[i].session == sid && watches[i].children == children &&
            strcmp(watches[i].path, path) == 0)
            return;
    GROW(watches, n_watches, cap_watches);
    watches[n_watches++] = (struct sq_watch){sid, strdup(path), children};
}

static int sq_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                  int64_t *version)
{
    int r = enter(q);
    if (r)
        return r;
    int i = find(path);
    if (watch && i >= 0)
        add_watch(((struct sq_handle *)q)->session, path, false);
    if (i < 0)
        return -ENOENT;
    if (data) {
        *data = malloc(nodes[i].len + 1);
        memcpy(*data, nodes[i].data ? nodes[i].data : "", nodes[i].len);
        (*data)[nodes[i].len] = 0;
    }
    if (len)
        *len = nodes[i].len;
    if (version)
        *version = nodes[i].version;
    return 0;
}

static int sq_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    int r = enter(q);
    if (r)
        return r;
    if (watch)
        add_watch(((struct sq_handle *)q)->session, path, false);
    int i = find(path);
    if (i < 0 && strcmp(path, "/") != 0)
        return -ENOENT;
    if (version)
        *version = i >= 0 ? nodes[i].version : 0;
    return 0;
}

static int sq_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n)
{
    int r = enter(q);
    if (r)
        return r;
    if (!exists_path(path))
        return -ENOENT;
    if (watch)
        add_watch(((struct sq_handle *)q)->session, path, true);
    const char **tmp = malloc(sizeof(char *) * (size_t)(n_nodes + 1));
    int k = 0;
    char p[1024];
    for (int i = 0; i < n_nodes; i++) {
        parent_of(nodes[i].path, p, sizeof(p));
        if (strcmp(p, path) == 0)
            tmp[k++] = strrchr(nodes[i].path, '/') + 1;
    }
    r = rb_quorum_pack_children(tmp, k, names);
    free(tmp);
    *n = k;
    return r;
}

/* ---- writes, with an undo log for multi ---- */

struct undo {
    enum { U_CREATED, U_DELETED, U_SET } kind;
    struct sq_node old; /* U_DELETED, U_SET: the node as it was (owns strings) */
    char *path;         /* U_CREATED */
};

struct fired {
    char *path;
    bool node, children;
};

static int do_create(int64_t sid, const char *path, const void *data, size_t len, int flags,
                     char *made, size_t made_cap, struct undo *u, struct fired *f)
{
    char parent[1024], full[1100];
    parent_of(path, parent, sizeof(parent));
    if (!exists_path(parent))
        return -ENOENT;
    int pi = find(parent);
    if (pi >= 0 && nodes[pi].owner)
        return -EINVAL; /* ephemerals have no children */
    snprintf(full, sizeof(full), "%s", path);
    if (flags & RB_QC_SEQUENTIAL) {
        int64_t seq = pi >= 0 ? nodes[pi].seq++ : 0;
        snprintf(full, sizeof(full), "%s%010lld", path, (long long)seq);
    }
    if (find(full) >= 0)
        return -EEXIST;
    GROW(nodes, n_nodes, cap_nodes);
    struct sq_node *nd = &nodes[n_nodes++];
    memset(nd, 0, sizeof(*nd));
    nd->path = strdup(full);
    nd->len = len;
    nd->data = malloc(len + 1);
    if (len)
        memcpy(nd->data, data, len);
    nd->owner = (flags & RB_QC_EPHEMERAL) ? sid : 0;
    if (made)
        snprintf(made, made_cap, "%s", full);
    u->kind = U_CREATED;
    u->path = strdup(full);
    *f = (struct fired){strdup(full), true, true};
    return 0;
}

static int do_set(const char *path, const void *data, size_t len, int64_t version, int64_t *newv,
                  struct undo *u, struct fired *f)
{
    int i = find(path);
    if (i < 0)
        return -ENOENT;
    if (version >= 0 && nodes[i].version != version)
        return -ESTALE;
    u->kind = U_SET;
    u->old = nodes[i];
    u->old.path = strdup(nodes[i].path);
    nodes[i].data = malloc(len + 1);
    if (len)
        memcpy(nodes[i].data, data, len);
    nodes[i].len = len;
    nodes[i].version++;
    if (newv)
        *newv = nodes[i].version;
    *f = (struct fired){strdup(path), true, false};
    return 0;
}

static int do_delete(const char *path, int64_t version, struct undo *u, struct fired *f)
{
    int i = find(path);
    if (i < 0)
        return -ENOENT;
    if (version >= 0 && nodes[i].version != version)
        return -ESTALE;
    if (has_children(path))
        return -ENOTEMPTY;
    u->kind = U_DELETED;
    u->old = nodes[i];
    nodes[i] = nodes[--n_nodes];
    *f = (struct fired){strdup(path), true, true};
    return 0;
}

static void undo_one(struct undo *u)
{
    if (u->kind == U_CREATED) {
        int i = find(u->path);
        if (i >= 0)
            remove_node(i);
        free(u->path);
    } else if (u->kind == U_DELETED) {
        GROW(nodes, n_nodes, cap_nodes);
        nodes[n_nodes++] = u->old;
    } else {
        int i = find(u->old.path);
        free(nodes[i].data);
        free(nodes[i].path);
        nodes[i] = u->old;
    }
}

static void commit_one(struct undo *u)
{
    if (u->kind == U_CREATED) {
        free(u->path);
    } else {
        free(u->old.path);
        free(u->old.data);
    }
}

static bool is_state_path(const char *p)
{
    static const char pre[] = "/brokers/topics/";
    return strncmp(p, pre, sizeof(pre) - 1) == 0 && strstr(p, "/partitions/") && strlen(p) > 6 &&
           strcmp(p + strlen(p) - 6, "/state") == 0;
}

/* The fencing invariant over a committed write set. */
static void check_fencing(int64_t sid, const struct rb_qop *ops, int n)
{
    bool writes_state = false, checked = false;
    for (int i = 0; i < n; i++) {
        if (ops[i].type != RB_QOP_CHECK && is_state_path(ops[i].path))
            writes_state = true;
        if (ops[i].type == RB_QOP_CHECK && strcmp(ops[i].path, "/controller_epoch") == 0)
            checked = true;
    }
    if (!writes_state)
        return;
    int c = find("/controller");
    if (!checked)
        sim_fail("fencing: session 0x%llx wrote a partition state without checking "
                 "/controller_epoch",
                 (unsigned long long)sid);
    if (c < 0 || nodes[c].owner != sid)
        sim_fail("fencing: session 0x%llx wrote a partition state without owning /controller",
                 (unsigned long long)sid);
}

static int apply(int64_t sid, const struct rb_qop *ops, int n, int *failed, char *made,
                 size_t made_cap, int64_t *newv)
{
    if (n > 128) { /* etcd's txn limit (ZooKeeper's is a byte size): the stricter */
        if (failed)
            *failed = -1;
        return -EINVAL;
    }
    struct undo *u = calloc((size_t)n + 1, sizeof(*u));
    struct fired *f = calloc((size_t)n + 1, sizeof(*f));
    int r = 0, k;
    for (k = 0; k < n && !r; k++) {
        const struct rb_qop *o = &ops[k];
        int i;
        switch (o->type) {
        case RB_QOP_CHECK:
            i = find(o->path);
            r = i < 0 ? -ENOENT : nodes[i].version != o->version ? -ESTALE : 0;
            u[k].kind = U_CREATED;
            u[k].path = NULL;
            break;
        case RB_QOP_CREATE:
            r = do_create(sid, o->path, o->data, o->len, o->flags, made, made_cap, &u[k], &f[k]);
            break;
        case RB_QOP_SET:
            r = do_set(o->path, o->data, o->len, o->version, newv, &u[k], &f[k]);
            break;
        case RB_QOP_DELETE:
            r = do_delete(o->path, o->version, &u[k], &f[k]);
            break;
        }
    }
    if (r) {
        if (failed)
            *failed = k - 1;
        for (int j = k - 2; j >= 0; j--)
            if (ops[j].type != RB_QOP_CHECK)
                undo_one(&u[j]);
    } else {
        if (failed)
            *failed = -1;
        check_fencing(sid, ops, n);
        for (int j = 0; j < n; j++)
            if (ops[j].type != RB_QOP_CHECK)
                commit_one(&u[j]);
        for (int j = 0; j < n; j++)
            if (f[j].path)
                trigger(f[j].path, f[j].node, f[j].children);
    }
    for (int j = 0; j < n; j++)
        free(f[j].path);
    free(u);
    free(f);
    deliver();
    /* The connection drops after the write committed: the writer learns nothing. */
    if (!r && sim_chance(20000)) {
        if (failed)
            *failed = -1;
        return -ECONNABORTED;
    }
    return r;
}

static int sq_create(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                     char *created, size_t created_cap)
{
    int r = enter(q);
    if (r)
        return r;
    struct rb_qop op = {.type = RB_QOP_CREATE,
                        .path = path,
                        .data = data,
                        .len = len,
                        .flags = flags & RB_QC_EPHEMERAL};
    char made[1100];
    if (flags & RB_QC_SEQUENTIAL)
        op.flags |= RB_QC_SEQUENTIAL;
    r = apply(((struct sq_handle *)q)->session, &op, 1, NULL, made, sizeof(made), NULL);
    if (!r && created)
        snprintf(created, created_cap, "%s", made);
    return r;
}

static int sq_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                  int64_t version, int64_t *new_version)
{
    int r = enter(q);
    if (r)
        return r;
    struct rb_qop op = {
        .type = RB_QOP_SET, .path = path, .data = data, .len = len, .version = version};
    return apply(((struct sq_handle *)q)->session, &op, 1, NULL, NULL, 0, new_version);
}

static int sq_del(struct rb_quorum *q, const char *path, int64_t version)
{
    int r = enter(q);
    if (r)
        return r;
    struct rb_qop op = {.type = RB_QOP_DELETE, .path = path, .version = version};
    return apply(((struct sq_handle *)q)->session, &op, 1, NULL, NULL, 0, NULL);
}

static int sq_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    int r = enter(q);
    if (r)
        return r;
    return apply(((struct sq_handle *)q)->session, ops, n, failed, NULL, 0, NULL);
}

static void sq_close(struct rb_quorum *q)
{
    struct sq_handle *h = (struct sq_handle *)q;
    struct sq_session *s = session(h->session);
    if (s && !s->expired && !s->closed)
        end_session(s, false);
    if (s)
        s->closed = true;
    deliver();
    free(h);
}

static int32_t sq_timeout(const struct rb_quorum *q)
{
    struct sq_session *s = session(((const struct sq_handle *)q)->session);
    return s ? s->timeout_ms : 0;
}

static int64_t sq_id(const struct rb_quorum *q)
{
    return ((const struct sq_handle *)q)->session;
}

static int sq_expire_for_test(struct rb_quorum *q)
{
    struct sq_session *s = session(((struct sq_handle *)q)->session);
    if (s && !s->expired)
        end_session(s, true);
    deliver();
    return 0;
}

static const struct rb_quorum_ops sq_ops = {
    .close = sq_close,
    .session_timeout_ms = sq_timeout,
    .session_id = sq_id,
    .get = sq_get,
    .exists = sq_exists,
    .children = sq_children,
    .create = sq_create,
    .set = sq_set,
    .del = sq_del,
    .multi = sq_multi,
    .expire_for_test = sq_expire_for_test,
};

static int64_t next_session = 0x100;

static int sq_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                   size_t errlen)
{
    (void)err;
    (void)errlen;
    sim_quorum_expire_due();
    struct sq_handle *h = calloc(1, sizeof(*h));
    h->base.ops = &sq_ops;
    h->session = next_session++;
    GROW(sessions, n_sessions, cap_sessions);
    int32_t t = cfg->session_timeout_ms < 1000 ? 1000 : cfg->session_timeout_ms;
    sessions[n_sessions++] = (struct sq_session){.id = h->session,
                                                 .timeout_ms = t,
                                                 .last_heard_ns = sim_now_ns,
                                                 .on_event = cfg->on_event,
                                                 .ctx = cfg->ctx};
    *out = &h->base;
    return 0;
}

void sim_quorum_install(void)
{
    rb_quorum_set_test_backend(sq_open);
}

void sim_quorum_reset(void)
{
    while (n_nodes)
        remove_node(n_nodes - 1);
    for (int i = 0; i < n_watches; i++)
        free(watches[i].path);
    for (int i = 0; i < n_pending; i++)
        free(pending[i].path);
    n_watches = n_pending = n_sessions = 0;
    next_session = 0x100;
}

void sim_quorum_set_cut(struct rb_quorum *q, bool cut)
{
    struct sq_session *s = q ? session(((struct sq_handle *)q)->session) : NULL;
    if (!s)
        return;
    s->cut = cut;
    if (!cut)
        deliver();
}

/* A crash: the handle is abandoned; the session lives on until it expires. */
void sim_quorum_abandon(struct rb_quorum *q)
{
    struct sq_handle *h = (struct sq_handle *)q;
    struct sq_session *s = session(h->session);
    if (s) {
        s->on_event = NULL;
        s->cut = true; /* nothing more is heard from it */
    }
    free(h);
}

int sim_quorum_read(const char *path, char **data, int64_t *version)
{
    int i = find(path);
    if (i < 0)
        return -ENOENT;
    if (data) {
        *data = malloc(nodes[i].len + 1);
        memcpy(*data, nodes[i].data, nodes[i].len);
        (*data)[nodes[i].len] = 0;
    }
    if (version)
        *version = nodes[i].version;
    return 0;
}

int sim_quorum_owner_is(const char *path, struct rb_quorum *q)
{
    int i = find(path);
    return i >= 0 && q && nodes[i].owner == ((struct sq_handle *)q)->session;
}

int sim_quorum_count_children(const char *path)
{
    char p[1024];
    int k = 0;
    for (int i = 0; i < n_nodes; i++) {
        parent_of(nodes[i].path, p, sizeof(p));
        k += strcmp(p, path) == 0;
    }
    return k;
}
