/*
 * tests/quorum/multi_order.c - rb_quorum_multi where an op depends on what an
 * earlier op of the same multi did (ZooKeeper applies a multi's ops in order;
 * the etcd backend must give the same answers from one txn): deleting children
 * then their parent, a parent deleted before a create below it, a child created
 * before its parent's delete, a check after a delete, and an earlier op's own
 * failure reported first. Nothing of a failed multi may be applied.
 *
 *   multi_order zookeeper 'h1:p1,h2:p2/chroot'
 *   multi_order etcd http://h:p[,...] /prefix
 *
 * Works under /multi-order-PID (removed at the end); prints "ok"/"FAIL" per case
 * and "multi_order(BACKEND): N passed, M failed"; exit status non-zero on failure.
 */
#include "coord/quorum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rb_quorum *g_q;
static char g_base[64];
static int g_failed_exp;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("    line %d: expected %s\n", __LINE__, #cond);                                 \
            g_failed_exp++;                                                                        \
        }                                                                                          \
    } while (0)

static const char *P(char *buf, const char *rel)
{
    snprintf(buf, 256, "%s%s", g_base, rel);
    return buf;
}

static void mk(const char *rel)
{
    char p[256];
    int r = rb_quorum_create(g_q, P(p, rel), "", 0, 0, NULL, 0);
    if (r) {
        printf("    create %s: %s\n", p, rb_quorum_strerror(r));
        g_failed_exp++;
    }
}

static bool there(const char *rel)
{
    char p[256];
    return rb_quorum_exists(g_q, P(p, rel), false, NULL) == 0;
}

static int multi(struct rb_qop *ops, int n, int *failed)
{
    static char paths[8][256];
    for (int i = 0; i < n; i++)
        ops[i].path = P(paths[i], ops[i].path); /* relative to the base */
    *failed = 77;
    return rb_quorum_multi(g_q, ops, n, failed);
}

static void t_children_then_parent(void)
{
    mk("/p");
    mk("/p/a");
    mk("/p/b");
    struct rb_qop ops[] = {{.type = RB_QOP_DELETE, .path = "/p/a", .version = -1},
                           {.type = RB_QOP_DELETE, .path = "/p/b", .version = -1},
                           {.type = RB_QOP_DELETE, .path = "/p", .version = -1}};
    int failed;
    EXPECT(multi(ops, 3, &failed) == 0);
    EXPECT(!there("/p") && !there("/p/a") && !there("/p/b"));
    /* three levels */
    mk("/d");
    mk("/d/a");
    mk("/d/a/b");
    struct rb_qop deep[] = {{.type = RB_QOP_DELETE, .path = "/d/a/b", .version = -1},
                            {.type = RB_QOP_DELETE, .path = "/d/a", .version = -1},
                            {.type = RB_QOP_DELETE, .path = "/d", .version = -1}};
    EXPECT(multi(deep, 3, &failed) == 0);
    EXPECT(!there("/d"));
}

static void t_child_left(void)
{
    mk("/p");
    mk("/p/a");
    mk("/p/b");
    struct rb_qop ops[] = {{.type = RB_QOP_DELETE, .path = "/p/a", .version = -1},
                           {.type = RB_QOP_DELETE, .path = "/p", .version = -1}};
    int failed;
    EXPECT(multi(ops, 2, &failed) == -ENOTEMPTY);
    EXPECT(failed == 1);
    EXPECT(there("/p/a") && there("/p"));
}

static void t_parent_deleted_then_create(void)
{
    mk("/q");
    struct rb_qop ops[] = {{.type = RB_QOP_DELETE, .path = "/q", .version = -1},
                           {.type = RB_QOP_CREATE, .path = "/q/x"}};
    int failed;
    EXPECT(multi(ops, 2, &failed) == -ENOENT);
    EXPECT(failed == 1);
    EXPECT(there("/q") && !there("/q/x"));
}

static void t_child_created_then_parent_deleted(void)
{
    mk("/r");
    struct rb_qop ops[] = {{.type = RB_QOP_CREATE, .path = "/r/x"},
                           {.type = RB_QOP_DELETE, .path = "/r", .version = -1}};
    int failed;
    EXPECT(multi(ops, 2, &failed) == -ENOTEMPTY);
    EXPECT(failed == 1);
    EXPECT(there("/r") && !there("/r/x"));
}

static void t_check_after_delete(void)
{
    char p[256];
    mk("/s");
    int64_t v = -1;
    EXPECT(rb_quorum_exists(g_q, P(p, "/s"), false, &v) == 0);
    struct rb_qop ops[] = {{.type = RB_QOP_DELETE, .path = "/s", .version = -1},
                           {.type = RB_QOP_CHECK, .path = "/s", .version = v}};
    int failed;
    EXPECT(multi(ops, 2, &failed) == -ENOENT);
    EXPECT(failed == 1);
    EXPECT(there("/s"));
}

static void t_earlier_failure_first(void)
{
    char p[256];
    mk("/u");
    mk("/t");
    int64_t v = -1;
    EXPECT(rb_quorum_exists(g_q, P(p, "/u"), false, &v) == 0);
    struct rb_qop ops[] = {{.type = RB_QOP_CHECK, .path = "/u", .version = v + 1000},
                           {.type = RB_QOP_DELETE, .path = "/t", .version = -1},
                           {.type = RB_QOP_CREATE, .path = "/t/x"}};
    int failed;
    EXPECT(multi(ops, 3, &failed) == -ESTALE);
    EXPECT(failed == 0);
    EXPECT(there("/t"));
}

static void rm_tree(const char *path)
{
    char **names = NULL;
    int n = 0;
    if (rb_quorum_children(g_q, path, false, &names, &n) == 0) {
        for (int i = 0; i < n; i++) {
            char child[512];
            snprintf(child, sizeof(child), "%s/%s", path, names[i]);
            rm_tree(child);
        }
        free(names);
    }
    rb_quorum_delete(g_q, path, -1);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool etcd = argc >= 2 && strcmp(argv[1], "etcd") == 0;
    if (argc < 3 || (etcd && argc < 4)) {
        fprintf(stderr, "usage: multi_order zookeeper CONNECT | etcd URLS /prefix\n");
        return 2;
    }
    struct rb_quorum_config cfg = {.backend = argv[1],
                                   .connect = argv[2],
                                   .root = etcd ? argv[3] : NULL,
                                   .session_timeout_ms = 6000,
                                   .connection_timeout_ms = 15000};
    char err[512];
    int r = rb_quorum_open(&g_q, &cfg, err, sizeof(err));
    if (r) {
        printf("    cannot open a session: %s\nmulti_order(%s): 0 passed, 1 failed\n", err,
               argv[1]);
        return 1;
    }
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"children_then_parent", t_children_then_parent},
        {"child_left", t_child_left},
        {"parent_deleted_then_create", t_parent_deleted_then_create},
        {"child_created_then_parent_deleted", t_child_created_then_parent_deleted},
        {"check_after_delete", t_check_after_delete},
        {"earlier_failure_first", t_earlier_failure_first},
    };
    char top[64];
    snprintf(top, sizeof(top), "/multi-order-%d", (int)getpid());
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(g_base, sizeof(g_base), "%s/%zu", top, i);
        g_failed_exp = 0;
        r = rb_quorum_create_parents(g_q, g_base);
        if (r) {
            printf("    cannot create %s: %s\n", g_base, rb_quorum_strerror(r));
            g_failed_exp++;
        } else {
            cases[i].fn();
        }
        printf("%s %s\n", g_failed_exp ? "FAIL" : "ok  ", cases[i].name);
        if (g_failed_exp)
            failed++;
        else
            passed++;
    }
    rm_tree(top);
    rb_quorum_close(g_q);
    printf("multi_order(%s): %d passed, %d failed\n", argv[1], passed, failed);
    return failed ? 1 : 0;
}
