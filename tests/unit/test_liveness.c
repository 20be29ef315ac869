/*
 * tests/unit/test_liveness.c - coord/liveness.c: the refusal counting (only a
 * broker seen up in its current incarnation counts, RB_LIVE_REFUSALS in a row,
 * anything else resets), the peers kept per incarnation across view changes, the
 * guarded removal (the registration deleted only while it is the incarnation
 * probed, by version and data; /controller with it when that names the broker,
 * in one multi) against a small in-memory quorum double, and the probes on real
 * loopback sockets: a listener that is closed is found dead at the second round,
 * one that never accepts (a paused process) never is.
 */
#include "coord/cluster_int.h"
#include "coord/liveness.h"
#include "coord/quorum_int.h"
#include "quorum_fake.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    struct rb_quorum q;
    struct qf_node n[QF_MAX_NODES];
    int multis;
    /* before the next multi: bump this node's version (someone else wrote it), or
     * delete it (another broker's probes removed it) */
    char race_path[64];
    bool race_delete;
} fq;

static struct qf_node *find(const char *path)
{
    return qf_find(fq.n, path);
}

static void put(const char *path, const char *data, int64_t version)
{
    struct qf_node *x = qf_slot(fq.n, path);
    snprintf(x->data, sizeof(x->data), "%s", data);
    x->version = version;
}

static int f_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                 int64_t *version)
{
    (void)q;
    (void)watch;
    return qf_read(fq.n, path, data, len, version);
}

static int f_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    (void)q;
    fq.multis++;
    if (fq.race_path[0]) {
        struct qf_node *r = find(fq.race_path);
        if (r && fq.race_delete)
            r->used = false;
        else if (r)
            r->version++;
        fq.race_path[0] = 0;
    }
    for (int i = 0; i < n; i++) { /* all or nothing */
        struct qf_node *x = find(ops[i].path);
        cr_assert_eq(ops[i].type, RB_QOP_DELETE);
        if (!x || (ops[i].version != -1 && ops[i].version != x->version)) {
            *failed = i;
            return x ? -ESTALE : -ENOENT;
        }
    }
    for (int i = 0; i < n; i++)
        find(ops[i].path)->used = false;
    return 0;
}

static const struct rb_quorum_ops f_ops = {.get = f_get, .multi = f_multi};

#define REG2     "{\"version\":4,\"host\":\"127.0.0.1\",\"port\":9092,\"timestamp\":\"1000\"}"
#define REG2_NEW "{\"version\":4,\"host\":\"127.0.0.1\",\"port\":9092,\"timestamp\":\"2000\"}"
#define CTL2     "{\"version\":1,\"brokerid\":2,\"timestamp\":\"1000\"}"
#define CTL3     "{\"version\":1,\"brokerid\":3,\"timestamp\":\"1000\"}"

static void setup(void)
{
    memset(&fq, 0, sizeof(fq));
    fq.q.ops = &f_ops;
}

TestSuite(liveness, .init = setup);

Test(liveness, refusals_count_only_once_seen_up)
{
    struct rb_live_peer p = {.id = 2, .fd = -1};
    for (int i = 0; i < 5; i++) /* starting: its listener is not open yet */
        cr_assert_not(rb_live_note(&p, RB_PROBE_REFUSED));
    cr_assert_not(rb_live_note(&p, RB_PROBE_UP));
    cr_assert_not(rb_live_note(&p, RB_PROBE_REFUSED));
    cr_assert(rb_live_note(&p, RB_PROBE_REFUSED));
}

Test(liveness, anything_but_a_refusal_resets_the_count)
{
    struct rb_live_peer p = {.id = 2, .fd = -1};
    cr_assert_not(rb_live_note(&p, RB_PROBE_UP));
    cr_assert_not(rb_live_note(&p, RB_PROBE_REFUSED));
    cr_assert_not(rb_live_note(&p, RB_PROBE_UNKNOWN)); /* pending: paused or cut off */
    cr_assert_not(rb_live_note(&p, RB_PROBE_REFUSED));
    cr_assert_not(rb_live_note(&p, RB_PROBE_UP));
    cr_assert_not(rb_live_note(&p, RB_PROBE_REFUSED));
    cr_assert(rb_live_note(&p, RB_PROBE_REFUSED));
}

Test(liveness, peers_follow_incarnations)
{
    struct rb_liveness lv = {0};
    struct rb_kzk_broker b[3] = {{.id = 1, .reg_version = 0, .reg_hash = 11},
                                 {.id = 2, .reg_version = 0, .reg_hash = 22},
                                 {.id = 3, .reg_version = 0, .reg_hash = 33}};
    rb_live_sync(&lv, b, 3, 1);
    cr_assert_eq(lv.n, 2); /* self left out */
    cr_assert_eq(lv.p[0].id, 2);
    cr_assert_eq(lv.p[1].id, 3);
    rb_live_note(&lv.p[0], RB_PROBE_UP);
    rb_live_note(&lv.p[0], RB_PROBE_REFUSED);
    rb_live_note(&lv.p[1], RB_PROBE_UP);
    rb_live_sync(&lv, b, 3, 1); /* the same view: state kept */
    cr_assert(lv.p[0].seen_up);
    cr_assert_eq(lv.p[0].refusals, 1);
    b[1].reg_hash = 23; /* broker 2 restarted: a new registration, same version */
    rb_live_sync(&lv, b, 3, 1);
    cr_assert_not(lv.p[0].seen_up);
    cr_assert_eq(lv.p[0].refusals, 0);
    cr_assert(lv.p[1].seen_up);
    rb_live_sync(&lv, b, 2, 1); /* broker 3 gone */
    cr_assert_eq(lv.n, 1);
    cr_assert_eq(lv.p[0].id, 2);
    rb_live_free(&lv);
}

Test(liveness, removes_the_incarnation_probed_and_its_controller)
{
    put("/brokers/ids/2", REG2, 0);
    put("/brokers/ids/3", "{}", 0);
    put("/controller", CTL2, 0);
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), 0);
    cr_assert_null(find("/brokers/ids/2"));
    cr_assert_null(find("/controller"));
    cr_assert_not_null(find("/brokers/ids/3"));
    cr_assert_eq(fq.multis, 1);
    /* already gone: nothing to do */
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), 0);
    cr_assert_eq(fq.multis, 1);
}

Test(liveness, another_brokers_controller_stays)
{
    put("/brokers/ids/2", REG2, 0);
    put("/controller", CTL3, 0);
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), 0);
    cr_assert_null(find("/brokers/ids/2"));
    cr_assert_not_null(find("/controller"));
}

Test(liveness, a_new_incarnation_is_never_deleted)
{
    /* broker 2 registered again: same version (0), other data (timestamp) */
    put("/brokers/ids/2", REG2_NEW, 0);
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), -ESTALE);
    cr_assert_not_null(find("/brokers/ids/2"));
    /* same data, another version (etcd: another mod_revision) */
    put("/brokers/ids/2", REG2, 7);
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), -ESTALE);
    cr_assert_not_null(find("/brokers/ids/2"));
    cr_assert_eq(fq.multis, 0);
}

Test(liveness, a_changed_controller_fails_the_whole_removal)
{
    put("/brokers/ids/2", REG2, 0);
    put("/controller", CTL2, 0);
    snprintf(fq.race_path, sizeof(fq.race_path), "/controller");
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), -ESTALE);
    cr_assert_not_null(find("/brokers/ids/2")); /* all or nothing */
    cr_assert_not_null(find("/controller"));
}

/* ---- the probes, on loopback ---- */

static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 64), 0); /* never accepted from: a paused process */
    socklen_t l = sizeof(a);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

Test(liveness, probes_find_a_closed_listener_but_not_a_paused_one)
{
    uint16_t p2, p3;
    int l2 = listener(&p2), l3 = listener(&p3);
    struct rb_kzk_broker b[3] = {{.id = 1}, {.id = 2, .port = p2}, {.id = 3, .port = p3}};
    for (int i = 0; i < 3; i++)
        snprintf(b[i].host, sizeof(b[i].host), "127.0.0.1");
    char d2[256], d3[256];
    snprintf(d2, sizeof(d2), "{\"host\":\"127.0.0.1\",\"port\":%u,\"timestamp\":\"1\"}", p2);
    snprintf(d3, sizeof(d3), "{\"host\":\"127.0.0.1\",\"port\":%u,\"timestamp\":\"1\"}", p3);
    put("/brokers/ids/2", d2, 0);
    put("/brokers/ids/3", d3, 0);
    b[1].reg_hash = rb_live_hash(d2, strlen(d2));
    b[2].reg_hash = rb_live_hash(d3, strlen(d3));
    static struct rb_cluster c;
    memset(&c, 0, sizeof(c));
    c.q = &fq.q;
    c.self = 1;
    c.brokers = b;
    c.n_brokers = 3;
    rb_resolver_init(&c.res, NULL, 30000);
    rb_resolver_sync(&c.res, b, 3, 0, 30000);
    for (int round = 0; round < 10; round++) /* both accept (into the backlog) */
        cr_assert_not(rb_cl_live_probe(&c));
    cr_assert_not_null(find("/brokers/ids/2"));
    cr_assert_not_null(find("/brokers/ids/3"));
    close(l2);                           /* broker 2 dies: its port refuses */
    cr_assert_not(rb_cl_live_probe(&c)); /* one refusal */
    cr_assert_not_null(find("/brokers/ids/2"));
    bool removed = rb_cl_live_probe(&c);
    for (int round = 0; !removed && round < 5; round++) /* a pending connect: one more */
        removed = rb_cl_live_probe(&c);
    cr_assert(removed);
    cr_assert_null(find("/brokers/ids/2"));
    cr_assert_not_null(find("/brokers/ids/3")); /* paused: never refuses */
    close(l3);
    rb_live_free(&c.live);
    rb_resolver_free(&c.res);
}

Test(liveness, removed_by_another_broker_meanwhile_is_done)
{
    put("/brokers/ids/2", REG2, 0);
    put("/controller", CTL3, 0);
    snprintf(fq.race_path, sizeof(fq.race_path), "/brokers/ids/2");
    fq.race_delete = true;
    cr_assert_eq(rb_live_remove(&fq.q, 2, 0, rb_live_hash(REG2, strlen(REG2))), 0);
    cr_assert_not_null(find("/controller"));
}
