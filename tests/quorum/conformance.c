/*
 * tests/quorum/conformance.c - holds a quorum backend to coord/quorum.h: every
 * call, every error code, watches, ephemeral and sequential nodes, multi, the
 * root (chroot/prefix), a dead address and session expiry, against a live store.
 *
 *   conformance zookeeper 'h1:p1,h2:p2/chroot'      every case below
 *   conformance etcd http://h:p[,...] /prefix       the same against etcd
 *   conformance zookeeper CONNECT --failover        for tests/quorum/run.sh: a
 *       session that must survive the loss of its server (see run_failover)
 *
 * Each case works under its own node /conformance-PID/CASE and prints "ok" or
 * "FAIL" with the failed expectations; the closing line is
 * "conformance(BACKEND): N passed, M failed"; the exit status is non-zero when
 * a case failed. Waits for events are bounded (EV_WAIT_MS).
 */
#include "coord/quorum.h"
#include "coord/quorum_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EV_WAIT_MS  10000 /* an event that must come */
#define EV_QUIET_MS 500   /* how long an event that must not come is waited for */
#define SESSION_MS  6000

static const char *g_backend, *g_connect, *g_root;
static char g_base[128]; /* the current case's node */
static char g_top[64];   /* this run's node below the root (/conformance-PID) */
static int g_case_failed;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("    line %d: expected %s\n", __LINE__, #cond);                                 \
            g_case_failed++;                                                                       \
        }                                                                                          \
    } while (0)
#define EXPECT_RC(call, want)                                                                      \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (want)) {                                                                       \
            printf("    line %d: %s = %d (%s), expected %s (%s)\n", __LINE__, #call, rc_,          \
                   rb_quorum_strerror(rc_), #want, rb_quorum_strerror(want));                      \
            g_case_failed++;                                                                       \
        }                                                                                          \
    } while (0)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* --- events ------------------------------------------------------------- */

struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    struct {
        enum rb_qevent ev;
        char path[256];
    } e[512];
};

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void rec_fn(void *ctx, enum rb_qevent ev, const char *path)
{
    struct rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n < (int)(sizeof(r->e) / sizeof(r->e[0]))) {
        r->e[r->n].ev = ev;
        snprintf(r->e[r->n].path, sizeof(r->e[0].path), "%s", path ? path : "");
        r->n++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static int rec_count_locked(struct rec *r, enum rb_qevent ev, const char *path)
{
    int c = 0;
    for (int i = 0; i < r->n; i++)
        if (r->e[i].ev == ev && (!path || strcmp(r->e[i].path, path) == 0))
            c++;
    return c;
}

static int rec_count(struct rec *r, enum rb_qevent ev, const char *path)
{
    pthread_mutex_lock(&r->mu);
    int c = rec_count_locked(r, ev, path);
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* Wait until at least want events (ev, path) were seen; the count seen. */
static int rec_wait(struct rec *r, enum rb_qevent ev, const char *path, int want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    pthread_mutex_lock(&r->mu);
    int c;
    while ((c = rec_count_locked(r, ev, path)) < want && now_ms() < end) {
        pthread_mutex_unlock(&r->mu);
        sleep_ms(10);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* --- sessions and paths ------------------------------------------------- */

/* Open a session whose root is the configured one plus sub ("" or "/x"). */
static int open_q(struct rb_quorum **q, struct rec *r, const char *connect, const char *sub,
                  int32_t session_ms, int32_t connect_ms, char *err, size_t errlen)
{
    char conn[512], root[512];
    bool zk = strcmp(g_backend, "zookeeper") == 0;
    snprintf(conn, sizeof(conn), "%s%s", connect, zk ? sub : "");
    snprintf(root, sizeof(root), "%s%s", g_root ? g_root : "", zk ? "" : sub);
    struct rb_quorum_config cfg = {
        .backend = g_backend,
        .connect = conn,
        .root = root,
        .session_timeout_ms = session_ms,
        .connection_timeout_ms = connect_ms,
        .on_event = r ? rec_fn : NULL,
        .ctx = r,
    };
    return rb_quorum_open(q, &cfg, err, errlen);
}

static struct rb_quorum *must_open(struct rec *r, const char *sub)
{
    struct rb_quorum *q = NULL;
    char err[512] = "";
    int rc = open_q(&q, r, g_connect, sub, SESSION_MS, 15000, err, sizeof(err));
    if (rc) {
        printf("    cannot open a session: %s (%s)\n", err, rb_quorum_strerror(rc));
        g_case_failed++;
        return NULL;
    }
    return q;
}

static const char *P(char *buf, const char *rel)
{
    snprintf(buf, 256, "%s%s", g_base, rel);
    return buf;
}

static int get_str(struct rb_quorum *q, const char *path, char *out, size_t cap, int64_t *ver)
{
    char *d = NULL;
    size_t len = 0;
    int rc = rb_quorum_get(q, path, false, &d, &len, ver);
    if (rc == 0) {
        snprintf(out, cap, "%.*s", (int)len, d);
        free(d);
    }
    return rc;
}

/* Delete path and everything below it (best effort). */
static void rm_tree(struct rb_quorum *q, const char *path)
{
    char **names = NULL;
    int n = 0;
    if (rb_quorum_children(q, path, false, &names, &n) == 0) {
        for (int i = 0; i < n; i++) {
            char child[512];
            snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", names[i]);
            rm_tree(q, child);
        }
        free(names);
    }
    if (strcmp(path, "/") != 0)
        rb_quorum_delete(q, path, -1);
}

/* Wait (bounded) until a node is gone as seen from q: another session's change
 * reaches q's server after a replication delay. */
static int wait_gone(struct rb_quorum *q, const char *path, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    int rc;
    while ((rc = rb_quorum_exists(q, path, false, NULL)) == 0 && now_ms() < end)
        sleep_ms(20);
    return rc;
}

/* ZooKeeper does not order one session's reads after another session's writes
 * (each may talk to a different server, a follower may lag): a case that reads
 * what another session wrote first waits (bounded) until its server has it. */
static int wait_seen(struct rb_quorum *q, const char *path, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    int rc;
    while ((rc = rb_quorum_exists(q, path, false, NULL)) == -ENOENT && now_ms() < end)
        sleep_ms(20);
    return rc;
}

static int wait_value(struct rb_quorum *q, const char *path, const char *want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    char s[256] = "";
    int rc;
    while (((rc = get_str(q, path, s, sizeof(s), NULL)) != 0 || strcmp(s, want) != 0) &&
           now_ms() < end)
        sleep_ms(20);
    return rc == 0 && strcmp(s, want) != 0 ? -ESTALE : rc;
}

/* --- cases -------------------------------------------------------------- */

static void t_versions(struct rb_quorum *q)
{
    char p[256], s[64];
    int64_t v0 = -7, v1 = -7, v2 = -7, v;
    EXPECT_RC(rb_quorum_create(q, P(p, "/n"), "hello", 5, 0, NULL, 0), 0);
    EXPECT_RC(get_str(q, p, s, sizeof(s), &v0), 0);
    EXPECT(strcmp(s, "hello") == 0);
    EXPECT_RC(rb_quorum_exists(q, p, false, &v), 0);
    EXPECT(v == v0);
    EXPECT_RC(rb_quorum_set(q, p, "world", 5, v0, &v1), 0);
    EXPECT(v1 != v0);
    EXPECT_RC(get_str(q, p, s, sizeof(s), &v), 0);
    EXPECT(strcmp(s, "world") == 0 && v == v1);
    EXPECT_RC(rb_quorum_set(q, p, "stale", 5, v0, NULL), -ESTALE);
    EXPECT_RC(get_str(q, p, s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "world") == 0);
    EXPECT_RC(rb_quorum_set(q, p, "any", 3, -1, &v2), 0);
    EXPECT(v2 != v1 && v2 != v0);
    EXPECT_RC(rb_quorum_delete(q, p, v1), -ESTALE);
    EXPECT_RC(rb_quorum_exists(q, p, false, NULL), 0);
    EXPECT_RC(rb_quorum_delete(q, p, v2), 0);
    EXPECT_RC(rb_quorum_get(q, p, false, NULL, NULL, NULL), -ENOENT);
    EXPECT_RC(rb_quorum_exists(q, p, false, NULL), -ENOENT);
    /* create, delete, create again: a new node whose writes still check versions */
    EXPECT_RC(rb_quorum_create(q, p, "a", 1, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_exists(q, p, false, &v), 0);
    EXPECT_RC(rb_quorum_set(q, p, "b", 1, v, &v1), 0);
    EXPECT_RC(rb_quorum_delete(q, p, -1), 0);
}

static void t_data(struct rb_quorum *q)
{
    char p[256];
    char *d = NULL;
    size_t len = 99;
    /* empty data: a NUL-terminated empty buffer */
    EXPECT_RC(rb_quorum_create(q, P(p, "/empty"), NULL, 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == 0 && d[0] == 0);
    free(d);
    /* binary data with NUL bytes */
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    EXPECT_RC(rb_quorum_create(q, P(p, "/bin"), bin, sizeof(bin), 0, NULL, 0), 0);
    d = NULL;
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == sizeof(bin) && memcmp(d, bin, sizeof(bin)) == 0 && d[len] == 0);
    free(d);
    /* large data (below ZooKeeper's 1 MiB jute.maxbuffer and etcd's request limit) */
    size_t big = 600 * 1024;
    char *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (char)('a' + (i * 7) % 26);
    EXPECT_RC(rb_quorum_create(q, P(p, "/big"), b, big, 0, NULL, 0), 0);
    d = NULL;
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == big && memcmp(d, b, big) == 0);
    free(d);
    /* replaced by small data, then by large again through set */
    EXPECT_RC(rb_quorum_set(q, p, "x", 1, -1, NULL), 0);
    d = NULL;
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == 1 && d[0] == 'x');
    free(d);
    b[0] = 'Z';
    EXPECT_RC(rb_quorum_set(q, p, b, big, -1, NULL), 0);
    d = NULL;
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == big && memcmp(d, b, big) == 0);
    free(d);
    free(b);
    /* NULL out-parameters are allowed */
    EXPECT_RC(rb_quorum_get(q, p, false, NULL, NULL, NULL), 0);
    EXPECT_RC(rb_quorum_set(q, p, "", 0, -1, NULL), 0);
    d = NULL;
    EXPECT_RC(rb_quorum_get(q, p, false, &d, &len, NULL), 0);
    EXPECT(d && len == 0);
    free(d);
}

static void t_errors(struct rb_quorum *q)
{
    char p[256], c[256];
    EXPECT_RC(rb_quorum_create(q, P(p, "/n"), "1", 1, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, p, "2", 1, 0, NULL, 0), -EEXIST);
    EXPECT_RC(rb_quorum_create(q, P(c, "/missing/child"), "", 0, 0, NULL, 0), -ENOENT);
    EXPECT_RC(rb_quorum_get(q, P(c, "/missing"), false, NULL, NULL, NULL), -ENOENT);
    EXPECT_RC(rb_quorum_set(q, c, "x", 1, -1, NULL), -ENOENT);
    EXPECT_RC(rb_quorum_delete(q, c, -1), -ENOENT);
    char **names = NULL;
    int n = -1;
    EXPECT_RC(rb_quorum_children(q, c, false, &names, &n), -ENOENT);
    EXPECT_RC(rb_quorum_create(q, P(c, "/n/kid"), "", 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_delete(q, p, -1), -ENOTEMPTY);
    EXPECT_RC(rb_quorum_exists(q, p, false, NULL), 0);
    EXPECT_RC(rb_quorum_delete(q, c, -1), 0);
    EXPECT_RC(rb_quorum_delete(q, p, -1), 0);
    /* malformed paths */
    const char *bad[] = {"", "n", "/n/", "//n", "/a//b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT_RC(rb_quorum_get(q, bad[i], false, NULL, NULL, NULL), -EINVAL);
        EXPECT_RC(rb_quorum_exists(q, bad[i], false, NULL), -EINVAL);
        EXPECT_RC(rb_quorum_create(q, bad[i], "", 0, 0, NULL, 0), -EINVAL);
        EXPECT_RC(rb_quorum_set(q, bad[i], "", 0, -1, NULL), -EINVAL);
        EXPECT_RC(rb_quorum_delete(q, bad[i], -1), -EINVAL);
        EXPECT_RC(rb_quorum_children(q, bad[i], false, &names, &n), -EINVAL);
    }
    EXPECT_RC(rb_quorum_create(q, "/", "", 0, 0, NULL, 0), -EINVAL);
    EXPECT_RC(rb_quorum_delete(q, "/", -1), -EINVAL);
    EXPECT(strcmp(rb_quorum_strerror(-EEXIST), "node exists") == 0);
}

static void t_children(struct rb_quorum *q)
{
    char p[256];
    const char *make[] = {"/kids",
                          "/kids/b",
                          "/kids/a",
                          "/kids/a0",
                          "/kids/b/deep",
                          "/kidsx",
                          "/kidsx/not-a-child",
                          "/kids/a/deeper"};
    for (size_t i = 0; i < sizeof(make) / sizeof(make[0]); i++)
        EXPECT_RC(rb_quorum_create(q, P(p, make[i]), "", 0, 0, NULL, 0), 0);
    char **names = NULL;
    int n = -1;
    EXPECT_RC(rb_quorum_children(q, P(p, "/kids"), false, &names, &n), 0);
    EXPECT(n == 3);
    if (n == 3)
        EXPECT(strcmp(names[0], "a") == 0 && strcmp(names[1], "a0") == 0 &&
               strcmp(names[2], "b") == 0);
    free(names);
    EXPECT_RC(rb_quorum_children(q, P(p, "/kids/a0"), false, &names, &n), 0);
    EXPECT(n == 0);
    free(names);
    /* the root's children include this run's base node */
    EXPECT_RC(rb_quorum_children(q, "/", false, &names, &n), 0);
    bool found = false;
    for (int i = 0; i < n; i++)
        found |= strcmp(names[i], g_top + 1) == 0;
    EXPECT(found);
    free(names);
    /* names is optional; n still counts */
    EXPECT_RC(rb_quorum_children(q, P(p, "/kids"), false, NULL, &n), 0);
    EXPECT(n == 3);
}

static void t_ephemeral(struct rb_quorum *q)
{
    char p[256], s[64];
    EXPECT_RC(rb_quorum_create(q, P(p, "/eph"), "", 0, 0, NULL, 0), 0);
    struct rb_quorum *q2 = must_open(NULL, "");
    if (!q2)
        return;
    EXPECT_RC(rb_quorum_create(q2, P(p, "/eph/e"), "mine", 4, RB_QC_EPHEMERAL, NULL, 0), 0);
    char made[256] = "";
    EXPECT_RC(rb_quorum_create(q2, P(p, "/eph/s-"), "", 0, RB_QC_EPHEMERAL | RB_QC_SEQUENTIAL, made,
                               sizeof(made)),
              0);
    int64_t end = now_ms() + 3000;
    int rc;
    while ((rc = get_str(q, P(p, "/eph/e"), s, sizeof(s), NULL)) == -ENOENT && now_ms() < end)
        sleep_ms(20);
    EXPECT_RC(rc, 0);
    EXPECT(strcmp(s, "mine") == 0);
    EXPECT_RC(rb_quorum_exists(q2, made, false, NULL), 0);
    EXPECT_RC(wait_seen(q, made, 3000), 0); /* so that its absence below means something */
    rb_quorum_close(q2);
    EXPECT_RC(wait_gone(q, P(p, "/eph/e"), 3000), -ENOENT);
    if (made[0])
        EXPECT_RC(wait_gone(q, made, 3000), -ENOENT);
    /* a persistent node made by the same session stays */
    struct rb_quorum *q3 = must_open(NULL, "");
    if (!q3)
        return;
    EXPECT_RC(rb_quorum_create(q3, P(p, "/eph/keep"), "", 0, 0, NULL, 0), 0);
    rb_quorum_close(q3);
    EXPECT_RC(wait_seen(q, p, 3000), 0);
}

static bool seq_suffix(const char *made, const char *prefix)
{
    size_t l = strlen(prefix);
    if (strncmp(made, prefix, l) != 0 || strlen(made) != l + 10)
        return false;
    for (int i = 0; i < 10; i++)
        if (made[l + i] < '0' || made[l + i] > '9')
            return false;
    return true;
}

static void t_sequential(struct rb_quorum *q)
{
    char p[256], pre[256], made[3][256];
    EXPECT_RC(rb_quorum_create(q, P(p, "/seq"), "", 0, 0, NULL, 0), 0);
    P(pre, "/seq/n-");
    for (int i = 0; i < 3; i++) {
        made[i][0] = 0;
        EXPECT_RC(rb_quorum_create(q, pre, "v", 1, RB_QC_SEQUENTIAL, made[i], sizeof(made[i])), 0);
        EXPECT(seq_suffix(made[i], pre));
        EXPECT_RC(rb_quorum_exists(q, made[i], false, NULL), 0);
    }
    EXPECT(strcmp(made[0], made[1]) < 0 && strcmp(made[1], made[2]) < 0);
    /* created may be NULL */
    EXPECT_RC(rb_quorum_create(q, pre, "v", 1, RB_QC_SEQUENTIAL, NULL, 0), 0);
    char **names = NULL;
    int n = 0;
    EXPECT_RC(rb_quorum_children(q, p, false, &names, &n), 0);
    EXPECT(n == 4);
    if (n == 4)
        EXPECT(strcmp(names[0], made[0] + strlen(p) + 1) == 0);
    free(names);
    /* the plain name is free to create too */
    char plain[256];
    EXPECT_RC(rb_quorum_create(q, P(plain, "/seq/n-"), "", 0, 0, NULL, 0), 0);
}

static void t_multi(struct rb_quorum *q)
{
    char p[256], a[256], b[256], c[256], d[256], e[256], s[64];
    int64_t vc, vd, v;
    EXPECT_RC(rb_quorum_create(q, P(p, "/multi"), "", 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, P(c, "/multi/c"), "c0", 2, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, P(d, "/multi/d"), "d0", 2, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, P(e, "/multi/e"), "", 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_exists(q, c, false, &vc), 0);
    EXPECT_RC(rb_quorum_exists(q, d, false, &vd), 0);
    P(a, "/multi/a");
    P(b, "/multi/a/b");
    struct rb_qop ok[] = {
        {.type = RB_QOP_CREATE, .path = a, .data = "A", .len = 1},
        {.type = RB_QOP_CREATE, .path = b, .data = "B", .len = 1}, /* parent made just before */
        {.type = RB_QOP_SET, .path = c, .data = "c1", .len = 2, .version = vc},
        {.type = RB_QOP_CHECK, .path = d, .version = vd},
        {.type = RB_QOP_DELETE, .path = e, .version = -1},
    };
    int failed = 77;
    EXPECT_RC(rb_quorum_multi(q, ok, 5, &failed), 0);
    EXPECT_RC(get_str(q, b, s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "B") == 0);
    EXPECT_RC(get_str(q, c, s, sizeof(s), &v), 0);
    EXPECT(strcmp(s, "c1") == 0 && v != vc);
    EXPECT_RC(rb_quorum_exists(q, e, false, NULL), -ENOENT);

    /* a stale SET in the middle: nothing applied, index 1 */
    char f[256], g[256];
    P(f, "/multi/f");
    P(g, "/multi/g");
    struct rb_qop stale[] = {
        {.type = RB_QOP_CREATE, .path = f, .data = "", .len = 0},
        {.type = RB_QOP_SET, .path = c, .data = "c2", .len = 2, .version = vc},
        {.type = RB_QOP_CREATE, .path = g, .data = "", .len = 0},
    };
    failed = 77;
    EXPECT_RC(rb_quorum_multi(q, stale, 3, &failed), -ESTALE);
    EXPECT(failed == 1);
    EXPECT_RC(rb_quorum_exists(q, f, false, NULL), -ENOENT);
    EXPECT_RC(rb_quorum_exists(q, g, false, NULL), -ENOENT);
    EXPECT_RC(get_str(q, c, s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "c1") == 0);

    /* a CREATE of an existing node last: index 2, the earlier writes undone */
    struct rb_qop exists[] = {
        {.type = RB_QOP_CREATE, .path = f, .data = "", .len = 0},
        {.type = RB_QOP_SET, .path = c, .data = "c3", .len = 2, .version = -1},
        {.type = RB_QOP_CREATE, .path = d, .data = "", .len = 0},
    };
    failed = 77;
    EXPECT_RC(rb_quorum_multi(q, exists, 3, &failed), -EEXIST);
    EXPECT(failed == 2);
    EXPECT_RC(rb_quorum_exists(q, f, false, NULL), -ENOENT);
    EXPECT_RC(get_str(q, c, s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "c1") == 0);

    /* a failing CHECK first; a DELETE of a missing node; a DELETE of a parent */
    struct rb_qop check[] = {
        {.type = RB_QOP_CHECK, .path = d, .version = vd + 1000},
        {.type = RB_QOP_CREATE, .path = f, .data = "", .len = 0},
    };
    failed = 77;
    EXPECT_RC(rb_quorum_multi(q, check, 2, &failed), -ESTALE);
    EXPECT(failed == 0);
    struct rb_qop gone[] = {
        {.type = RB_QOP_CREATE, .path = f, .data = "", .len = 0},
        {.type = RB_QOP_DELETE, .path = e, .version = -1},
    };
    failed = 77;
    EXPECT_RC(rb_quorum_multi(q, gone, 2, &failed), -ENOENT);
    EXPECT(failed == 1);
    struct rb_qop parent[] = {{.type = RB_QOP_DELETE, .path = a, .version = -1}};
    failed = 77;
    EXPECT_RC(rb_quorum_multi(q, parent, 1, &failed), -ENOTEMPTY);
    EXPECT(failed == 0);
    /* a CHECK of a missing node, a CREATE under a missing parent */
    struct rb_qop nochk[] = {{.type = RB_QOP_CHECK, .path = e, .version = 0}};
    EXPECT_RC(rb_quorum_multi(q, nochk, 1, &failed), -ENOENT);
    struct rb_qop orphan[] = {{.type = RB_QOP_CREATE, .path = P(s, "/multi/none/x"), .len = 0}};
    EXPECT_RC(rb_quorum_multi(q, orphan, 1, &failed), -ENOENT);
    EXPECT(failed == 0);
    /* a CHECK needs a version; an empty multi is a no-op */
    struct rb_qop anyv[] = {{.type = RB_QOP_CHECK, .path = d, .version = -1}};
    EXPECT_RC(rb_quorum_multi(q, anyv, 1, &failed), -EINVAL);
    EXPECT_RC(rb_quorum_multi(q, NULL, 0, NULL), 0);
    EXPECT_RC(rb_quorum_exists(q, f, false, NULL), -ENOENT);
    /* ephemeral creation inside a multi */
    struct rb_qop eph[] = {
        {.type = RB_QOP_CREATE, .path = f, .data = "", .len = 0, .flags = RB_QC_EPHEMERAL}};
    EXPECT_RC(rb_quorum_multi(q, eph, 1, NULL), 0);
    EXPECT_RC(rb_quorum_delete(q, f, -1), 0);
}

/* Make sure every notification q's store had for us arrived: a round trip on
 * the same session (ZooKeeper orders watch events before later replies), then
 * a short quiet period. */
static void settle(struct rb_quorum *q)
{
    rb_quorum_exists(q, "/", false, NULL);
    sleep_ms(EV_QUIET_MS);
}

static void t_watch_node(struct rb_quorum *q)
{
    struct rec r2;
    rec_init(&r2);
    struct rb_quorum *q2 = must_open(&r2, "");
    if (!q2)
        return;
    char p[256];
    /* changed: fires once, then not again until re-armed */
    EXPECT_RC(rb_quorum_create(q, P(p, "/wn"), "0", 1, 0, NULL, 0), 0);
    EXPECT_RC(wait_seen(q2, p, 3000), 0);
    EXPECT_RC(rb_quorum_get(q2, p, true, NULL, NULL, NULL), 0);
    EXPECT_RC(rb_quorum_exists(q2, p, true, NULL), 0); /* the same watch armed twice */
    EXPECT_RC(rb_quorum_set(q, p, "1", 1, -1, NULL), 0);
    EXPECT(rec_wait(&r2, RB_QEV_NODE, p, 1, EV_WAIT_MS) == 1);
    EXPECT_RC(rb_quorum_set(q, p, "2", 1, -1, NULL), 0);
    settle(q2);
    EXPECT(rec_count(&r2, RB_QEV_NODE, p) == 1);
    EXPECT_RC(wait_value(q2, p, "2", 3000), 0);
    /* deleted */
    EXPECT_RC(rb_quorum_get(q2, p, true, NULL, NULL, NULL), 0);
    EXPECT_RC(rb_quorum_delete(q, p, -1), 0);
    EXPECT(rec_wait(&r2, RB_QEV_NODE, p, 2, EV_WAIT_MS) == 2);
    /* created: exists on a missing node arms a watch */
    EXPECT_RC(rb_quorum_exists(q2, p, true, NULL), -ENOENT);
    EXPECT_RC(rb_quorum_create(q, p, "3", 1, 0, NULL, 0), 0);
    EXPECT(rec_wait(&r2, RB_QEV_NODE, p, 3, EV_WAIT_MS) == 3);
    EXPECT_RC(rb_quorum_set(q, p, "4", 1, -1, NULL), 0);
    /* an unwatched node's change fires nothing */
    char o[256];
    EXPECT_RC(rb_quorum_create(q, P(o, "/wn-other"), "", 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_set(q, o, "x", 1, -1, NULL), 0);
    settle(q2);
    EXPECT(rec_count(&r2, RB_QEV_NODE, p) == 3);
    EXPECT(rec_count(&r2, RB_QEV_NODE, o) == 0);
    EXPECT(rec_count(&r2, RB_QEV_CHILDREN, NULL) == 0);
    /* the watch fires for the session's own writes too */
    EXPECT_RC(wait_seen(q2, o, 3000), 0);
    EXPECT_RC(rb_quorum_exists(q2, o, true, NULL), 0);
    EXPECT_RC(rb_quorum_delete(q2, o, -1), 0);
    EXPECT(rec_wait(&r2, RB_QEV_NODE, o, 1, EV_WAIT_MS) == 1);
    rb_quorum_close(q2);
}

static void t_watch_children(struct rb_quorum *q)
{
    struct rec r2;
    rec_init(&r2);
    struct rb_quorum *q2 = must_open(&r2, "");
    if (!q2)
        return;
    char p[256], c[256], d[256];
    EXPECT_RC(rb_quorum_create(q, P(p, "/wc"), "", 0, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, P(d, "/wc/old"), "", 0, 0, NULL, 0), 0);
    int n = 0;
    EXPECT_RC(wait_seen(q2, d, 3000), 0);
    EXPECT_RC(rb_quorum_children(q2, p, true, NULL, &n), 0);
    EXPECT(n == 1);
    /* the parent's data and a child's data are not membership changes */
    EXPECT_RC(rb_quorum_set(q, p, "x", 1, -1, NULL), 0);
    EXPECT_RC(rb_quorum_set(q, d, "x", 1, -1, NULL), 0);
    settle(q2);
    EXPECT(rec_count(&r2, RB_QEV_CHILDREN, p) == 0);
    /* added */
    EXPECT_RC(rb_quorum_create(q, P(c, "/wc/new"), "", 0, 0, NULL, 0), 0);
    EXPECT(rec_wait(&r2, RB_QEV_CHILDREN, p, 1, EV_WAIT_MS) == 1);
    EXPECT_RC(rb_quorum_create(q, P(c, "/wc/newer"), "", 0, 0, NULL, 0), 0);
    settle(q2);
    EXPECT(rec_count(&r2, RB_QEV_CHILDREN, p) == 1);
    /* removed */
    EXPECT_RC(wait_seen(q2, c, 3000), 0);
    EXPECT_RC(rb_quorum_children(q2, p, true, NULL, &n), 0);
    EXPECT(n == 3);
    EXPECT_RC(rb_quorum_delete(q, d, -1), 0);
    EXPECT(rec_wait(&r2, RB_QEV_CHILDREN, p, 2, EV_WAIT_MS) == 2);
    /* a grandchild is not a child */
    EXPECT_RC(rb_quorum_children(q2, p, true, NULL, &n), 0);
    EXPECT_RC(rb_quorum_create(q, P(c, "/wc/new/grand"), "", 0, 0, NULL, 0), 0);
    settle(q2);
    EXPECT(rec_count(&r2, RB_QEV_CHILDREN, p) == 2);
    EXPECT(rec_count(&r2, RB_QEV_NODE, NULL) == 0);
    rb_quorum_close(q2);
}

static void t_create_parents(struct rb_quorum *q)
{
    char p[256], s[64];
    EXPECT_RC(rb_quorum_create_parents(q, P(p, "/cp/a/b/c")), 0);
    EXPECT_RC(rb_quorum_exists(q, P(s, "/cp"), false, NULL), 0);
    EXPECT_RC(rb_quorum_exists(q, P(s, "/cp/a/b"), false, NULL), 0);
    EXPECT_RC(rb_quorum_exists(q, p, false, NULL), 0);
    EXPECT_RC(rb_quorum_create_parents(q, p), 0); /* already there */
    EXPECT_RC(rb_quorum_set(q, P(s, "/cp/a"), "keep", 4, -1, NULL), 0);
    EXPECT_RC(rb_quorum_create_parents(q, P(p, "/cp/a/x")), 0);
    EXPECT_RC(get_str(q, P(p, "/cp/a"), s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "keep") == 0); /* existing nodes untouched */
    EXPECT_RC(rb_quorum_create_parents(q, "/"), 0);
    EXPECT_RC(rb_quorum_create_parents(q, "bad/"), -EINVAL);
}

/* A root (chroot/prefix) that does not exist yet: created, with its parents. */
static void t_root_created(struct rb_quorum *q)
{
    char sub[256], p[256], s[64];
    snprintf(sub, sizeof(sub), "%s/newroot/deeper", g_base);
    struct rb_quorum *qs = must_open(NULL, sub);
    if (!qs)
        return;
    EXPECT_RC(rb_quorum_create(qs, "/inside", "in", 2, 0, NULL, 0), 0);
    EXPECT_RC(wait_seen(q, P(p, "/newroot/deeper/inside"), 3000), 0);
    EXPECT_RC(get_str(q, p, s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "in") == 0);
    char **names = NULL;
    int n = 0;
    EXPECT_RC(rb_quorum_children(qs, "/", false, &names, &n), 0);
    EXPECT(n == 1 && strcmp(names[0], "inside") == 0);
    free(names);
    /* events name paths below the root */
    struct rec r;
    rec_init(&r);
    struct rb_quorum *qw = must_open(&r, sub);
    if (qw) {
        EXPECT_RC(wait_seen(qw, "/inside", 3000), 0);
        EXPECT_RC(rb_quorum_exists(qw, "/inside", true, NULL), 0);
        EXPECT_RC(rb_quorum_children(qw, "/", true, NULL, &n), 0);
        EXPECT_RC(rb_quorum_create(qs, "/inside2", "", 0, 0, NULL, 0), 0);
        EXPECT_RC(rb_quorum_delete(qs, "/inside", -1), 0);
        EXPECT(rec_wait(&r, RB_QEV_NODE, "/inside", 1, EV_WAIT_MS) == 1);
        EXPECT(rec_wait(&r, RB_QEV_CHILDREN, "/", 1, EV_WAIT_MS) == 1);
        rb_quorum_close(qw);
    }
    /* sequential names come back below the root too */
    char made[256] = "";
    EXPECT_RC(rb_quorum_create(qs, "/s-", "", 0, RB_QC_SEQUENTIAL, made, sizeof(made)), 0);
    EXPECT(seq_suffix(made, "/s-"));
    rb_quorum_close(qs);
}

/* A root that an operator made before (zkCli create /kafka) holding data. */
static void t_root_existing(struct rb_quorum *q)
{
    char sub[256], p[256], s[64];
    EXPECT_RC(rb_quorum_create(q, P(p, "/pre"), "operator", 8, 0, NULL, 0), 0);
    EXPECT_RC(rb_quorum_create(q, P(p, "/pre/m"), "m", 1, 0, NULL, 0), 0);
    snprintf(sub, sizeof(sub), "%s/pre", g_base);
    struct rb_quorum *qs = must_open(NULL, sub);
    if (!qs)
        return;
    EXPECT_RC(wait_seen(qs, "/m", 3000), 0);
    EXPECT_RC(get_str(qs, "/m", s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "m") == 0);
    char **names = NULL;
    int n = 0;
    EXPECT_RC(rb_quorum_children(qs, "/", false, &names, &n), 0);
    EXPECT(n == 1 && strcmp(names[0], "m") == 0);
    free(names);
    rb_quorum_close(qs);
    EXPECT_RC(get_str(q, P(p, "/pre"), s, sizeof(s), NULL), 0);
    EXPECT(strcmp(s, "operator") == 0);
}

static void t_dead_address(struct rb_quorum *q)
{
    const char *dead = strcmp(g_backend, "zookeeper") == 0 ? "127.0.0.1:1" : "http://127.0.0.1:1";
    struct rb_quorum *qd = (struct rb_quorum *)&qd;
    char err[512] = "";
    int64_t t0 = now_ms();
    int rc = open_q(&qd, NULL, dead, "", SESSION_MS, 1500, err, sizeof(err));
    int64_t took = now_ms() - t0;
    EXPECT(rc < 0);
    EXPECT(qd == NULL);
    EXPECT(took < 1500 + 2000);
    EXPECT(strstr(err, "127.0.0.1:1") != NULL);
    printf("    dead address: %s (%lld ms): %s\n", rb_quorum_strerror(rc), (long long)took, err);
    if (rc == 0)
        rb_quorum_close(qd);
    /* a connect string that names nothing */
    struct rb_quorum_config cfg = {.backend = g_backend, .connect = ""};
    EXPECT_RC(rb_quorum_open(&qd, &cfg, err, sizeof(err)), -EINVAL);
    if (strcmp(g_backend, "zookeeper") == 0) {
        /* the client's reconnect chatter (a line or two each 100 ms) is
         * rate-limited: a few lines per window, never a flood on stderr */
        FILE *tmp = tmpfile();
        int saved = dup(2);
        fflush(stderr);
        dup2(fileno(tmp), 2);
        rc = open_q(&qd, NULL, dead, "", SESSION_MS, 3000, err, sizeof(err));
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        EXPECT(rc < 0);
        rewind(tmp);
        char line[512];
        int lines = 0;
        while (fgets(line, sizeof(line), tmp))
            lines += strstr(line, "(zookeeper)") != NULL;
        fclose(tmp);
        printf("    %d client log lines in a 3 s connect attempt\n", lines);
        EXPECT(lines <= 6);
        const char *bad[] = {"127.0.0.1", "127.0.0.1:2181/chroot/", "127.0.0.1:2181/a//b"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err[0] = 0;
            cfg.connect = bad[i];
            EXPECT_RC(rb_quorum_open(&qd, &cfg, err, sizeof(err)), -EINVAL);
            EXPECT(strstr(err, bad[i]) != NULL);
        }
    }
    cfg.backend = "nosuch";
    cfg.connect = dead;
    EXPECT_RC(rb_quorum_open(&qd, &cfg, err, sizeof(err)), -EINVAL);
}

static void t_session(struct rb_quorum *q)
{
    struct rec r;
    rec_init(&r);
    struct rb_quorum *q2 = NULL;
    char err[512] = "";
    /* a tiny timeout is raised to a sane one */
    int rc = open_q(&q2, &r, g_connect, "", 10, 15000, err, sizeof(err));
    EXPECT_RC(rc, 0);
    if (rc)
        return;
    printf("    negotiated session timeouts: %d ms (asked 10), %d ms (asked %d)\n",
           (int)rb_quorum_session_timeout_ms(q2), (int)rb_quorum_session_timeout_ms(q), SESSION_MS);
    EXPECT(rb_quorum_session_timeout_ms(q2) >= 1000);
    EXPECT(rb_quorum_session_timeout_ms(q) > 0);
    EXPECT(rb_quorum_session_id(q) != 0 && rb_quorum_session_id(q2) != 0);
    EXPECT(rb_quorum_session_id(q) != rb_quorum_session_id(q2));
    EXPECT(rec_count(&r, RB_QEV_EXPIRED, NULL) == 0);
    rb_quorum_close(q2);
    /* a long one may be cut by the store, never lengthened */
    rc = open_q(&q2, NULL, g_connect, "", 600000, 15000, err, sizeof(err));
    EXPECT_RC(rc, 0);
    if (rc)
        return;
    int32_t t = rb_quorum_session_timeout_ms(q2);
    printf("    negotiated %d ms (asked 600000)\n", (int)t);
    EXPECT(t > 0 && t <= 600000);
    rb_quorum_close(q2);
}

static void t_expiry(struct rb_quorum *q)
{
    struct rec r;
    rec_init(&r);
    struct rb_quorum *q2 = must_open(&r, "");
    if (!q2)
        return;
    char p[256], w[256];
    int64_t sid = rb_quorum_session_id(q2);
    EXPECT_RC(rb_quorum_create(q2, P(p, "/exp-eph"), "", 0, RB_QC_EPHEMERAL, NULL, 0), 0);
    EXPECT_RC(rb_quorum_exists(q2, P(w, "/exp-watched"), true, NULL), -ENOENT);
    EXPECT_RC(wait_seen(q, p, 3000), 0);
    int rc = rb_quorum_expire_for_test(q2);
    EXPECT_RC(rc, 0);
    if (rc) {
        rb_quorum_close(q2);
        return;
    }
    EXPECT(rec_wait(&r, RB_QEV_EXPIRED, NULL, 1, 2 * SESSION_MS + EV_WAIT_MS) == 1);
    EXPECT_RC(rb_quorum_get(q2, p, false, NULL, NULL, NULL), -ENOTCONN);
    EXPECT_RC(rb_quorum_create(q2, w, "", 0, 0, NULL, 0), -ENOTCONN);
    EXPECT_RC(rb_quorum_set(q2, p, "", 0, -1, NULL), -ENOTCONN);
    EXPECT_RC(rb_quorum_exists(q2, p, false, NULL), -ENOTCONN);
    EXPECT_RC(rb_quorum_delete(q2, p, -1), -ENOTCONN);
    EXPECT_RC(rb_quorum_children(q2, "/", false, NULL, NULL), -ENOTCONN);
    struct rb_qop op = {.type = RB_QOP_DELETE, .path = p, .version = -1};
    EXPECT_RC(rb_quorum_multi(q2, &op, 1, NULL), -ENOTCONN);
    EXPECT_RC(wait_gone(q, p, 3000), -ENOENT);
    /* watches of the dead session never fire */
    EXPECT_RC(rb_quorum_create(q, w, "", 0, 0, NULL, 0), 0);
    settle(q);
    EXPECT(rec_count(&r, RB_QEV_NODE, NULL) == 0);
    rb_quorum_close(q2);
    /* a new session works */
    struct rb_quorum *q3 = must_open(NULL, "");
    if (q3) {
        EXPECT(rb_quorum_session_id(q3) != sid);
        EXPECT_RC(wait_seen(q3, w, 3000), 0);
        rb_quorum_close(q3);
    }
}

/* --- driver ------------------------------------------------------------- */

struct tcase {
    const char *name;
    void (*fn)(struct rb_quorum *q);
};

static const struct tcase cases[] = {
    {"versions", t_versions},
    {"data", t_data},
    {"errors", t_errors},
    {"children", t_children},
    {"ephemeral", t_ephemeral},
    {"sequential", t_sequential},
    {"multi", t_multi},
    {"watch_node", t_watch_node},
    {"watch_children", t_watch_children},
    {"create_parents", t_create_parents},
    {"root_created", t_root_created},
    {"root_existing", t_root_existing},
    {"dead_address", t_dead_address},
    {"session", t_session},
    {"expiry", t_expiry},
};

static int run_failover(void);

static int usage(void)
{
    fprintf(stderr, "usage: conformance zookeeper 'h:p[,h:p...][/chroot]' [--failover] [CASE...]\n"
                    "       conformance etcd http://h:p[,...] /prefix [CASE...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3)
        return usage();
    g_backend = argv[1];
    g_connect = argv[2];
    int argi = 3;
    if (strcmp(g_backend, "etcd") == 0) {
        if (argc < 4)
            return usage();
        g_root = argv[3];
        argi = 4;
    }
    if (argi < argc && strcmp(argv[argi], "--failover") == 0)
        return run_failover();
    snprintf(g_top, sizeof(g_top), "/conformance-%d", (int)getpid());
    snprintf(g_base, sizeof(g_base), "%s", g_top);

    struct rb_quorum *q = must_open(NULL, "");
    if (!q) {
        printf("conformance(%s): 0 passed, 1 failed\n", g_backend);
        return 1;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool pick = argi >= argc;
        for (int a = argi; a < argc; a++)
            pick |= strcmp(argv[a], cases[i].name) == 0;
        if (!pick)
            continue;
        char base[256];
        snprintf(base, sizeof(base), "%s/%s", g_base, cases[i].name);
        g_case_failed = 0;
        /* each case starts from its own empty node, g_base pointing at it */
        char saved[sizeof(g_base)];
        snprintf(saved, sizeof(saved), "%s", g_base);
        int rc = rb_quorum_create_parents(q, base);
        if (rc) {
            printf("    cannot create %s: %s\n", base, rb_quorum_strerror(rc));
            g_case_failed++;
        } else {
            snprintf(g_base, sizeof(g_base), "%s", base);
            int64_t t0 = now_ms();
            cases[i].fn(q);
            snprintf(g_base, sizeof(g_base), "%s", saved);
            printf("%s %s (%lld ms)\n", g_case_failed ? "FAIL" : "ok  ", cases[i].name,
                   (long long)(now_ms() - t0));
        }
        if (g_case_failed)
            failed++;
        else
            passed++;
    }
    rm_tree(q, g_base);
    rb_quorum_close(q);
    printf("conformance(%s): %d passed, %d failed\n", g_backend, passed, failed);
    return failed ? 1 : 0;
}

/* --- failover (driven by tests/quorum/run.sh) ----------------------------
 * Opens a session and writes, prints "ready" and waits for a line on stdin
 * (meanwhile the script stops the server this session is connected to); then
 * writes and reads back WRITES times, retrying what the lost connection
 * aborted, and checks the session survived (same id, no EXPIRED) after a
 * DISCONNECTED and a CONNECTED. Prints "ready" again and waits (the script
 * stops a second server: no quorum left); then a call must fail with
 * -ECONNABORTED. One "ok"/"FAIL" line per check and the closing count line. */

#define WRITES 20

static int fo_passed, fo_failed;

static void fo_check(bool ok, const char *what)
{
    printf("%s failover: %s\n", ok ? "ok  " : "FAIL", what);
    if (ok)
        fo_passed++;
    else
        fo_failed++;
}

static void fo_wait_go(void)
{
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof(line), stdin))
        printf("    (stdin closed)\n");
}

static int run_failover(void)
{
    struct rec r;
    rec_init(&r);
    struct rb_quorum *q = NULL;
    char err[512] = "", path[128];
    snprintf(path, sizeof(path), "/failover-%d", (int)getpid());
    int rc = open_q(&q, &r, g_connect, "", SESSION_MS, 15000, err, sizeof(err));
    fo_check(rc == 0, "open");
    if (rc) {
        printf("    %s\n", err);
        printf("failover(%s): %d passed, %d failed\n", g_backend, fo_passed, fo_failed);
        return 1;
    }
    int64_t sid = rb_quorum_session_id(q);
    fo_check(rb_quorum_create(q, path, "start", 5, 0, NULL, 0) == 0, "write before");
    fo_wait_go();

    int good = 0, aborted = 0, other = 0;
    int64_t end = now_ms() + 4 * SESSION_MS;
    for (int i = 0; i < WRITES && now_ms() < end;) {
        char want[32], got[32] = "";
        snprintf(want, sizeof(want), "w%d", i);
        rc = rb_quorum_set(q, path, want, strlen(want), -1, NULL);
        if (rc == 0)
            rc = get_str(q, path, got, sizeof(got), NULL);
        if (rc == -ECONNABORTED) {
            aborted++;
            sleep_ms(100);
            continue;
        }
        if (rc == 0 && strcmp(got, want) == 0)
            good++;
        else {
            other++;
            printf("    write %d: %s, read '%s'\n", i, rb_quorum_strerror(rc), got);
            sleep_ms(100);
        }
        i++;
    }
    printf("    %d of %d writes read back, %d aborted calls retried, %d other errors\n", good,
           WRITES, aborted, other);
    fo_check(good == WRITES, "every write after the server stopped read back");
    fo_check(rec_count(&r, RB_QEV_DISCONNECTED, NULL) >= 1, "saw DISCONNECTED");
    /* CONNECTED comes from the session's own loop (etcd: once the watch stream
     * and a keepalive both work on the next member), which may lag calls that
     * already succeed there: wait for it, bounded by the session timeout. */
    fo_check(rec_wait(&r, RB_QEV_CONNECTED, NULL, 1, SESSION_MS) >= 1, "saw CONNECTED again");
    fo_check(rec_count(&r, RB_QEV_EXPIRED, NULL) == 0, "session did not expire");
    fo_check(rb_quorum_session_id(q) == sid, "same session id");

    fo_wait_go();
    int64_t t0 = now_ms();
    rc = rb_quorum_get(q, path, false, NULL, NULL, NULL);
    for (int tries = 0; rc == 0 && tries < 50; tries++) {
        sleep_ms(100);
        rc = rb_quorum_get(q, path, false, NULL, NULL, NULL);
    }
    printf("    without quorum: %s after %lld ms\n", rb_quorum_strerror(rc),
           (long long)(now_ms() - t0));
    fo_check(rc == -ECONNABORTED, "a call without quorum fails with -ECONNABORTED");
    rb_quorum_close(q);
    printf("failover(%s): %d passed, %d failed\n", g_backend, fo_passed, fo_failed);
    return fo_failed ? 1 : 0;
}
