/*
 * coord/quorum_zk.c - the ZooKeeper backend of the quorum interface
 * (coord/quorum.h) on libzookeeper-mt: every call is the client's synchronous
 * one, answered on the caller's thread while the client's own two threads do
 * the I/O and deliver events.
 *
 * Connect string: Kafka's zookeeper.connect, "h1:p1,h2:p2/chroot". The client
 * is given the whole string and prefixes/strips the chroot itself (paths in
 * answers, created names and watch events come back relative to it). A missing
 * chroot is created, with its parents, through a short session without one.
 *
 * Watches are armed with the w-variants (zoo_wget, zoo_wexists,
 * zoo_wget_children) and a context that says which kind of watch it is, so a
 * children watch always reports RB_QEV_CHILDREN (even when the node itself was
 * deleted) and a data watch RB_QEV_NODE. The client keeps one watch per
 * (path, kind): arming twice still fires once. Session events come through the
 * global watcher only.
 *
 * Fault model: the servers may be down, slow or partitioned away. open waits at
 * most connection_timeout_ms; afterwards a call fails with -ECONNABORTED when the
 * connection is lost with it in flight and -ENOTCONN once the session expired
 * (the handle is dead then). The client's log goes to core/logging.h at WARN and
 * above, rate-limited (a server down makes it log every reconnect attempt).
 */
#define THREADED
#include <zookeeper/zookeeper.h>

#include "coord/quorum.h"
#include "coord/quorum_int.h"
#include "core/logging.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RB_ZK_SESSION_MIN_MS     2000 /* below this the client reconnects in a tight loop */
#define RB_ZK_CONNECT_DEFAULT_MS 10000
#define RB_ZK_GET_BUF            4096
#define RB_ZK_LOG_BURST          5 /* client log lines per window */
#define RB_ZK_LOG_WINDOW_MS      30000

enum zk_conn { ZK_CONNECTING, ZK_CONNECTED, ZK_EXPIRED };

struct zk_quorum {
    struct rb_quorum base;
    zhandle_t *zh;
    rb_quorum_event_fn on_event;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum zk_conn state;
    char *connect; /* the whole connect string (hosts and chroot) */
};

/* Kinds of watch; their addresses are the watcher contexts. */
static const int zk_kind_node = RB_QEV_NODE;
static const int zk_kind_children = RB_QEV_CHILDREN;

/* --- the client's log --------------------------------------------------- */

static pthread_mutex_t zk_log_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t zk_log_window_start_ms;
static int zk_log_in_window;
static long zk_log_dropped;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The client formats "time:pid(0xtid):ZOO_WARN@function@line: text\n". */
static void zk_log(const char *message)
{
    enum rb_loglevel lvl;
    if (strstr(message, ":ZOO_ERROR@"))
        lvl = RB_LL_ERROR;
    else if (strstr(message, ":ZOO_WARN@"))
        lvl = RB_LL_WARN;
    else
        return;
    const char *text = strstr(message, "@");
    text = text ? strstr(text, ": ") : NULL;
    text = text ? text + 2 : message;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;

    int64_t now = mono_ms();
    long dropped = 0;
    pthread_mutex_lock(&zk_log_mu);
    if (now - zk_log_window_start_ms >= RB_ZK_LOG_WINDOW_MS) {
        dropped = zk_log_dropped;
        zk_log_dropped = 0;
        zk_log_window_start_ms = now;
        zk_log_in_window = 0;
    }
    bool emit = zk_log_in_window < RB_ZK_LOG_BURST;
    if (emit)
        zk_log_in_window++;
    else
        zk_log_dropped++;
    pthread_mutex_unlock(&zk_log_mu);
    if (dropped)
        RB_WARN("zookeeper", "%ld client log lines suppressed", dropped);
    if (emit)
        rb_logf(lvl, "zookeeper", "%.*s", (int)n, text);
}

/* --- errors and events -------------------------------------------------- */

static int zk_err(int rc)
{
    switch (rc) {
    case ZOK:
        return 0;
    case ZNONODE:
        return -ENOENT;
    case ZNODEEXISTS:
        return -EEXIST;
    case ZBADVERSION:
        return -ESTALE;
    case ZNOTEMPTY:
        return -ENOTEMPTY;
    case ZCONNECTIONLOSS:
        return -ECONNABORTED;
    case ZOPERATIONTIMEOUT:
        return -ETIMEDOUT;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
    case ZAUTHFAILED:
    case ZCLOSING:
        return -ENOTCONN;
    case ZBADARGUMENTS:
    case ZNOCHILDRENFOREPHEMERALS:
        return -EINVAL;
    case ZSYSTEMERROR:
        return errno == ENOMEM ? -ENOMEM : -EIO;
    default:
        RB_WARN("zookeeper", "unexpected ZooKeeper error %d (%s)", rc, zerror(rc));
        return -EIO;
    }
}

static void zk_set_state(struct zk_quorum *z, enum zk_conn st)
{
    pthread_mutex_lock(&z->mu);
    if (z->state != ZK_EXPIRED)
        z->state = st;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

static void zk_session_watcher(zhandle_t *zh, int type, int state, const char *path, void *wctx)
{
    struct zk_quorum *z = (struct zk_quorum *)zoo_get_context(zh);
    if (!z || type != ZOO_SESSION_EVENT)
        return;
    enum rb_qevent ev;
    if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
        zk_set_state(z, ZK_CONNECTED);
        ev = RB_QEV_CONNECTED;
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        zk_set_state(z, ZK_EXPIRED);
        ev = RB_QEV_EXPIRED;
    } else {
        zk_set_state(z, ZK_CONNECTING);
        ev = RB_QEV_DISCONNECTED;
    }
    if (z->on_event)
        z->on_event(z->ctx, ev, NULL);
}

/* The watcher of the w-variants: the context is the kind of watch armed. */
static void zk_watch_fired(zhandle_t *zh, int type, int state, const char *path, void *wctx)
{
    struct zk_quorum *z = (struct zk_quorum *)zoo_get_context(zh);
    if (!z || type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT || !path)
        return;
    if (z->on_event)
        z->on_event(z->ctx, (enum rb_qevent) * (const int *)wctx, path);
}

/* --- open --------------------------------------------------------------- */

/* Wait until the session is connected or expired, or until deadline_ms (monotonic). */
static enum zk_conn zk_wait_session(struct zk_quorum *z, int64_t deadline_ms)
{
    pthread_mutex_lock(&z->mu);
    while (z->state == ZK_CONNECTING) {
        int64_t left = deadline_ms - mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&z->cv, &z->mu, &ts);
    }
    enum zk_conn st = z->state;
    pthread_mutex_unlock(&z->mu);
    return st;
}

/* Start a session on connect (hosts and optional chroot) and wait for it. */
static int zk_start(struct zk_quorum *z, const char *connect, int32_t session_ms,
                    int64_t deadline_ms, char *err, size_t errlen)
{
    int64_t start_ms = mono_ms();
    z->state = ZK_CONNECTING;
    errno = 0;
    z->zh = zookeeper_init2(connect, zk_session_watcher, session_ms, NULL, z, 0, zk_log);
    if (!z->zh) {
        int e = errno ? errno : EINVAL;
        snprintf(err, errlen, "zookeeper.connect '%s': %s", connect,
                 e == EINVAL ? "malformed or unresolvable host list" : strerror(e));
        return e == EINVAL ? -EINVAL : -e;
    }
    enum zk_conn st = zk_wait_session(z, deadline_ms);
    if (st == ZK_CONNECTED)
        return 0;
    zookeeper_close(z->zh);
    z->zh = NULL;
    if (st == ZK_EXPIRED) {
        snprintf(err, errlen, "ZooKeeper at '%s' refused the session", connect);
        return -ENOTCONN;
    }
    snprintf(err, errlen, "could not connect to ZooKeeper at '%s': no session within %lld ms",
             connect, (long long)(deadline_ms - start_ms));
    return -ETIMEDOUT;
}

/* Create chroot and its parents through a session opened on hosts alone. */
static int zk_make_chroot(const char *hosts, const char *chroot, int32_t session_ms,
                          int64_t deadline_ms, char *err, size_t errlen)
{
    struct zk_quorum boot = {.state = ZK_CONNECTING};
    pthread_mutex_init(&boot.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&boot.cv, &ca);
    pthread_condattr_destroy(&ca);
    int r = zk_start(&boot, hosts, session_ms, deadline_ms, err, errlen);
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", chroot);
    for (char *p = buf + 1; r == 0; p++) {
        bool end = *p == 0;
        if (*p != '/' && !end)
            continue;
        *p = 0;
        int rc = zoo_create(boot.zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            r = zk_err(rc);
            snprintf(err, errlen, "creating the chroot %s on ZooKeeper at '%s': %s", buf, hosts,
                     zerror(rc));
        }
        if (end)
            break;
        *p = '/';
    }
    if (boot.zh)
        zookeeper_close(boot.zh);
    pthread_cond_destroy(&boot.cv);
    pthread_mutex_destroy(&boot.mu);
    return r;
}

static const struct rb_quorum_ops zk_ops;

static void zk_free(struct zk_quorum *z)
{
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    free(z->connect);
    free(z);
}

int rb_quorum_zk_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                      size_t errlen)
{
    *out = NULL;
    const char *slash = strchr(cfg->connect, '/');
    size_t hosts_len = slash ? (size_t)(slash - cfg->connect) : strlen(cfg->connect);
    if (hosts_len == 0 || (slash && (strlen(slash) >= 1024 || strstr(slash, "//")))) {
        snprintf(err, errlen, "zookeeper.connect '%s': expected h1:p1,h2:p2[/chroot]",
                 cfg->connect);
        return -EINVAL;
    }
    bool has_chroot = slash && strcmp(slash, "/") != 0;
    if (has_chroot && slash[strlen(slash) - 1] == '/') {
        snprintf(err, errlen, "zookeeper.connect '%s': the chroot ends with '/'", cfg->connect);
        return -EINVAL;
    }
    int32_t session_ms = cfg->session_timeout_ms;
    if (session_ms < RB_ZK_SESSION_MIN_MS) {
        RB_WARN("zookeeper", "session timeout %d ms raised to %d ms", (int)session_ms,
                RB_ZK_SESSION_MIN_MS);
        session_ms = RB_ZK_SESSION_MIN_MS;
    }
    int32_t connect_ms =
        cfg->connection_timeout_ms > 0 ? cfg->connection_timeout_ms : RB_ZK_CONNECT_DEFAULT_MS;
    int64_t deadline_ms = mono_ms() + connect_ms;
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);

    struct zk_quorum *z = calloc(1, sizeof(*z));
    char *hosts = strndup(cfg->connect, hosts_len);
    if (!z || !hosts || !(z->connect = strdup(cfg->connect))) {
        free(hosts);
        if (z)
            free(z->connect);
        free(z);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    z->base.ops = &zk_ops;
    z->on_event = cfg->on_event;
    z->ctx = cfg->ctx;
    pthread_mutex_init(&z->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&z->cv, &ca);
    pthread_condattr_destroy(&ca);

    int r = zk_start(z, cfg->connect, session_ms, deadline_ms, err, errlen);
    if (r == 0 && has_chroot) {
        /* With a chroot, "/" is the chroot itself. */
        int rc = zoo_exists(z->zh, "/", 0, NULL);
        if (rc == ZNONODE) {
            r = zk_make_chroot(hosts, slash, session_ms, deadline_ms, err, errlen);
        } else if (rc != ZOK) {
            r = zk_err(rc);
            snprintf(err, errlen, "checking the chroot %s on ZooKeeper at '%s': %s", slash, hosts,
                     zerror(rc));
        }
        if (r)
            zookeeper_close(z->zh);
    }
    free(hosts);
    if (r) {
        zk_free(z);
        return r;
    }
    int32_t negotiated = zoo_recv_timeout(z->zh);
    if (negotiated != session_ms)
        RB_INFO("zookeeper", "session timeout %d ms negotiated (asked %d ms)", (int)negotiated,
                (int)session_ms);
    *out = &z->base;
    return 0;
}

/* --- the calls ---------------------------------------------------------- */

static struct zk_quorum *zk_of(struct rb_quorum *q)
{
    return (struct zk_quorum *)q;
}

static void zk_close(struct rb_quorum *q)
{
    struct zk_quorum *z = zk_of(q);
    zookeeper_close(z->zh);
    zk_free(z);
}

static int32_t zk_session_timeout_ms(const struct rb_quorum *q)
{
    return zoo_recv_timeout(((const struct zk_quorum *)q)->zh);
}

static int64_t zk_session_id(const struct rb_quorum *q)
{
    const clientid_t *id = zoo_client_id(((const struct zk_quorum *)q)->zh);
    return id ? id->client_id : 0;
}

static int zk_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                  int64_t *version)
{
    struct zk_quorum *z = zk_of(q);
    int cap = RB_ZK_GET_BUF;
    for (;;) {
        char *buf = malloc((size_t)cap + 1);
        if (!buf)
            return -ENOMEM;
        int n = cap;
        struct Stat st;
        int rc = zoo_wget(z->zh, path, watch ? zk_watch_fired : NULL,
                          watch ? (void *)&zk_kind_node : NULL, buf, &n, &st);
        if (rc != ZOK) {
            free(buf);
            return zk_err(rc);
        }
        if (st.dataLength > cap) { /* it did not fit: read again with room for it */
            free(buf);
            cap = st.dataLength;
            continue;
        }
        if (n < 0) /* null data */
            n = 0;
        buf[n] = 0;
        if (len)
            *len = (size_t)n;
        if (version)
            *version = st.version;
        if (data)
            *data = buf;
        else
            free(buf);
        return 0;
    }
}

static int zk_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    struct zk_quorum *z = zk_of(q);
    struct Stat st;
    int rc = zoo_wexists(z->zh, path, watch ? zk_watch_fired : NULL,
                         watch ? (void *)&zk_kind_node : NULL, &st);
    if (rc == ZOK && version)
        *version = st.version;
    return zk_err(rc);
}

static int zk_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n)
{
    struct zk_quorum *z = zk_of(q);
    struct String_vector sv = {0, NULL};
    int rc = zoo_wget_children(z->zh, path, watch ? zk_watch_fired : NULL,
                               watch ? (void *)&zk_kind_children : NULL, &sv);
    if (rc != ZOK)
        return zk_err(rc);
    int r = 0;
    if (names)
        r = rb_quorum_pack_children((const char *const *)sv.data, sv.count, names);
    if (r == 0 && n)
        *n = sv.count;
    deallocate_String_vector(&sv);
    return r;
}

static int zk_flags(int flags)
{
    return ((flags & RB_QC_EPHEMERAL) ? ZOO_EPHEMERAL : 0) |
           ((flags & RB_QC_SEQUENTIAL) ? ZOO_SEQUENCE : 0);
}

static int zk_create(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                     char *created, size_t created_cap)
{
    struct zk_quorum *z = zk_of(q);
    size_t need = strlen(path) + 1 + ((flags & RB_QC_SEQUENTIAL) ? 10 : 0);
    if (len > INT32_MAX || (flags & ~(RB_QC_EPHEMERAL | RB_QC_SEQUENTIAL)) ||
        (created && created_cap < need))
        return -EINVAL;
    int rc = zoo_create(z->zh, path, len ? data : NULL, len ? (int)len : -1, &ZOO_OPEN_ACL_UNSAFE,
                        zk_flags(flags), created,
                        created ? (int)(created_cap > INT32_MAX ? INT32_MAX : created_cap) : 0);
    return zk_err(rc);
}

/* ZooKeeper versions are int32; any other expected version cannot match. */
static bool zk_version_ok(int64_t version)
{
    return version >= -1 && version <= INT32_MAX;
}

static int zk_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                  int64_t version, int64_t *new_version)
{
    struct zk_quorum *z = zk_of(q);
    if (len > INT32_MAX)
        return -EINVAL;
    if (!zk_version_ok(version))
        return -ESTALE;
    struct Stat st;
    int rc = zoo_set2(z->zh, path, len ? data : NULL, len ? (int)len : -1, (int)version, &st);
    if (rc == ZOK && new_version)
        *new_version = st.version;
    return zk_err(rc);
}

static int zk_del(struct rb_quorum *q, const char *path, int64_t version)
{
    struct zk_quorum *z = zk_of(q);
    if (!zk_version_ok(version))
        return -ESTALE;
    return zk_err(zoo_delete(z->zh, path, (int)version));
}

static int zk_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    struct zk_quorum *z = zk_of(q);
    if (failed)
        *failed = -1;
    for (int i = 0; i < n; i++) {
        bool bad = ops[i].len > INT32_MAX ||
                   (ops[i].type == RB_QOP_CREATE && (ops[i].flags & ~RB_QC_EPHEMERAL)) ||
                   ops[i].type < RB_QOP_CHECK || ops[i].type > RB_QOP_DELETE;
        int r = bad ? -EINVAL : (!zk_version_ok(ops[i].version) ? -ESTALE : 0);
        if (r) {
            if (failed)
                *failed = i;
            return r;
        }
    }
    /* libzookeeper-mt 3.8.0's zoo_amulti frees a request buffer twice when the
     * handle is dead: answer for it. */
    if (is_unrecoverable(z->zh) == ZINVALIDSTATE)
        return -ENOTCONN;
    zoo_op_t *zops = calloc((size_t)n, sizeof(*zops));
    zoo_op_result_t *res = calloc((size_t)n, sizeof(*res));
    struct Stat *stats = calloc((size_t)n, sizeof(*stats));
    char *names = calloc((size_t)n, 1024);
    int r = -ENOMEM;
    if (!zops || !res || !stats || !names)
        goto out_free;
    for (int i = 0; i < n; i++) {
        const struct rb_qop *o = &ops[i];
        const char *d = o->len ? o->data : NULL;
        int dl = o->len ? (int)o->len : -1;
        switch (o->type) {
        case RB_QOP_CHECK:
            zoo_check_op_init(&zops[i], o->path, (int)o->version);
            break;
        case RB_QOP_CREATE:
            zoo_create_op_init(&zops[i], o->path, d, dl, &ZOO_OPEN_ACL_UNSAFE, zk_flags(o->flags),
                               names + (size_t)i * 1024, 1024);
            break;
        case RB_QOP_SET:
            zoo_set_op_init(&zops[i], o->path, d, dl, (int)o->version, &stats[i]);
            break;
        case RB_QOP_DELETE:
            zoo_delete_op_init(&zops[i], o->path, (int)o->version);
            break;
        }
    }
    int rc = zoo_multi(z->zh, n, zops, res);
    r = zk_err(rc);
    if (rc != ZOK && failed) {
        /* The failed op carries its error; ops before it say ZOK, after it
         * ZRUNTIMEINCONSISTENCY. A lost connection names no op (-1). */
        for (int i = 0; i < n; i++)
            if (res[i].err != ZOK && res[i].err != ZRUNTIMEINCONSISTENCY) {
                *failed = i;
                r = zk_err(res[i].err);
                break;
            }
    }
out_free:
    free(names);
    free(stats);
    free(res);
    free(zops);
    return r;
}

/* Test hook: end the session from outside, as the servers do when it times
 * out. A second handle joins the session with its id and password and closes
 * it; this handle then learns on its next reconnection that it expired. */
static int zk_expire_for_test(struct rb_quorum *q)
{
    struct zk_quorum *z = zk_of(q);
    clientid_t id = *zoo_client_id(z->zh);
    struct zk_quorum other = {.state = ZK_CONNECTING};
    pthread_mutex_init(&other.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&other.cv, &ca);
    pthread_condattr_destroy(&ca);
    int r = -EIO;
    other.zh = zookeeper_init2(z->connect, zk_session_watcher, zoo_recv_timeout(z->zh), &id, &other,
                               0, zk_log);
    if (other.zh) {
        r = zk_wait_session(&other, mono_ms() + 10000) == ZK_CONNECTED ? 0 : -ETIMEDOUT;
        zookeeper_close(other.zh);
    }
    pthread_cond_destroy(&other.cv);
    pthread_mutex_destroy(&other.mu);
    return r;
}

static const struct rb_quorum_ops zk_ops = {
    .close = zk_close,
    .session_timeout_ms = zk_session_timeout_ms,
    .session_id = zk_session_id,
    .get = zk_get,
    .exists = zk_exists,
    .children = zk_children,
    .create = zk_create,
    .set = zk_set,
    .del = zk_del,
    .multi = zk_multi,
    .expire_for_test = zk_expire_for_test,
};
