/*
 * tests/unit/test_isr_change.c - coord/isr_change.c against a small in-memory
 * quorum double (coord/quorum_int.h's ops table): a leader's ISR change is a
 * version-conditional write of the state node keeping the controller and leader
 * epochs as read, followed by a Kafka 2.8 /isr_change_notification node; a
 * proposal of an older leader epoch or by a broker that is no longer the leader
 * writes nothing; a write that lost a race is re-read and re-applied while still
 * that leadership; the controller drops dead brokers from ISRs (never the leader,
 * leader epoch bumped) and consumes the notifications through its fenced multi.
 */
#include "coord/cluster_int.h"
#include "coord/quorum_int.h"
#include "quorum_fake.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake {
    struct rb_quorum q;
    struct qf_node n[QF_MAX_NODES];
    int64_t seq;
    int sets;
    /* before the next conditional set of race_path: replace its data */
    char race_path[300];
    char race_data[512];
};

static struct fake fq;

static struct qf_node *find(const char *path)
{
    return qf_find(fq.n, path);
}

static struct qf_node *put(const char *path, const char *data)
{
    struct qf_node *x = qf_slot(fq.n, path);
    snprintf(x->data, sizeof(x->data), "%s", data);
    x->version++;
    return x;
}

static int f_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                 int64_t *version)
{
    (void)q;
    (void)watch;
    return qf_read(fq.n, path, data, len, version);
}

static int f_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    return f_get(q, path, watch, NULL, NULL, version);
}

static int f_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                 int64_t version, int64_t *new_version)
{
    (void)q;
    (void)len;
    if (fq.race_path[0] && strcmp(path, fq.race_path) == 0) {
        put(path, fq.race_data); /* someone else wrote it first */
        fq.race_path[0] = 0;
    }
    struct qf_node *x = find(path);
    if (!x)
        return -ENOENT;
    if (version != -1 && version != x->version)
        return -ESTALE;
    put(path, data);
    fq.sets++;
    if (new_version)
        *new_version = x->version;
    return 0;
}

static int f_create(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                    char *created, size_t cap)
{
    (void)q;
    (void)len;
    char p[300];
    snprintf(p, sizeof(p), "%s", path);
    if (flags & RB_QC_SEQUENTIAL)
        snprintf(p, sizeof(p), "%s%010lld", path, (long long)fq.seq++);
    if (find(p))
        return -EEXIST;
    put(p, data ? data : "");
    if (created)
        snprintf(created, cap, "%s", p);
    return 0;
}

static int f_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n)
{
    (void)q;
    (void)watch;
    const char *list[QF_MAX_NODES];
    int k = 0;
    size_t pl = strlen(path);
    for (int i = 0; i < QF_MAX_NODES; i++)
        if (fq.n[i].used && strncmp(fq.n[i].path, path, pl) == 0 && fq.n[i].path[pl] == '/' &&
            !strchr(fq.n[i].path + pl + 1, '/'))
            list[k++] = fq.n[i].path + pl + 1;
    *n = k;
    return rb_quorum_pack_children(list, k, names);
}

static int f_del(struct rb_quorum *q, const char *path, int64_t version)
{
    (void)q;
    struct qf_node *x = find(path);
    if (!x)
        return -ENOENT;
    if (version != -1 && version != x->version)
        return -ESTALE;
    x->used = false;
    return 0;
}

static int f_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    for (int i = 0; i < n; i++) { /* checks first: all or nothing */
        struct qf_node *x = find(ops[i].path);
        if (!x) {
            *failed = i;
            return -ENOENT;
        }
        if (ops[i].type == RB_QOP_CHECK && x->version != ops[i].version) {
            *failed = i;
            return -ESTALE;
        }
    }
    for (int i = 0; i < n; i++) {
        if (ops[i].type == RB_QOP_DELETE)
            f_del(q, ops[i].path, ops[i].version);
        else if (ops[i].type == RB_QOP_SET)
            f_set(q, ops[i].path, ops[i].data, ops[i].len, ops[i].version, NULL);
    }
    return 0;
}

static const struct rb_quorum_ops f_ops = {
    .get = f_get,
    .exists = f_exists,
    .children = f_children,
    .create = f_create,
    .set = f_set,
    .del = f_del,
    .multi = f_multi,
};

#define STATE "/brokers/topics/t/partitions/0/state"

static struct rb_cluster cl;
static struct rb_kzk_broker live[3];

static void setup(void)
{
    memset(&fq, 0, sizeof(fq));
    fq.q.ops = &f_ops;
    memset(&cl, 0, sizeof(cl));
    cl.q = &fq.q;
    cl.self = 1;
    put("/isr_change_notification", "");
    put("/controller_epoch", "4");
    put(STATE, "{\"controller_epoch\":4,\"leader\":1,\"version\":1,\"leader_epoch\":6,"
               "\"isr\":[1,2,3]}");
}

TestSuite(isr_change, .init = setup);

static struct rb_kzk_state state(int64_t *version)
{
    struct qf_node *x = find(STATE);
    cr_assert_not_null(x);
    struct rb_kzk_state st;
    cr_assert_eq(rb_kzk_parse_state(x->data, &st), 0);
    if (version)
        *version = x->version;
    return st;
}

static int notifications(void)
{
    char **names = NULL;
    int n = 0;
    cr_assert_eq(f_children(&fq.q, "/isr_change_notification", false, &names, &n), 0);
    free(names);
    return n;
}

Test(isr_change, shrink_is_a_conditional_write_with_the_epochs_as_read)
{
    int64_t v0;
    (void)state(&v0);
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 3), 0);
    int64_t v1;
    struct rb_kzk_state st = state(&v1);
    cr_assert_eq(v1, v0 + 1);
    cr_assert_eq(st.n_isr, 2);
    cr_assert_eq(st.isr[0], 1);
    cr_assert_eq(st.isr[1], 2);
    cr_assert_eq(st.leader, 1);
    cr_assert_eq(st.leader_epoch, 6, "the leader epoch changed");
    cr_assert_eq(st.controller_epoch, 4, "the controller epoch changed");
    cr_assert_eq(notifications(), 1);
    struct qf_node *nn = find("/isr_change_notification/isr_change_0000000000");
    cr_assert_not_null(nn);
    cr_assert_str_eq(nn->data,
                     "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}");
    /* the same change again: already so, nothing written */
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 3), 0);
    cr_assert_eq(fq.sets, 1);
    /* expand back */
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, 3, -1), 0);
    st = state(NULL);
    cr_assert_eq(st.n_isr, 3);
    cr_assert_eq(st.isr[2], 3);
    cr_assert_eq(notifications(), 2);
}

Test(isr_change, a_stale_leadership_writes_nothing)
{
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 5, -1, 3), -ESTALE, "older leader epoch");
    cl.self = 2;
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 3), -ESTALE, "not the leader");
    cr_assert_eq(fq.sets, 0);
    cr_assert_eq(notifications(), 0);
    cl.self = 1;
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 1, 6, -1, 3), -ENOENT, "no such partition state");
}

Test(isr_change, the_leader_never_leaves_its_own_isr)
{
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 1), 0);
    struct rb_kzk_state st = state(NULL);
    cr_assert_eq(st.n_isr, 3);
    cr_assert_eq(st.isr[0], 1);
}

Test(isr_change, a_lost_race_is_reread_and_reapplied)
{
    /* the controller removed broker 2 meanwhile, same leader epoch */
    snprintf(fq.race_path, sizeof(fq.race_path), "%s", STATE);
    snprintf(fq.race_data, sizeof(fq.race_data),
             "{\"controller_epoch\":5,\"leader\":1,\"version\":1,\"leader_epoch\":6,"
             "\"isr\":[1,3]}");
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 3), 0);
    struct rb_kzk_state st = state(NULL);
    cr_assert_eq(st.n_isr, 1, "the change applied to the ISR as re-read");
    cr_assert_eq(st.isr[0], 1);
    cr_assert_eq(st.controller_epoch, 5);
    /* a race that moved the leader epoch: fenced */
    snprintf(fq.race_path, sizeof(fq.race_path), "%s", STATE);
    snprintf(fq.race_data, sizeof(fq.race_data),
             "{\"controller_epoch\":5,\"leader\":1,\"version\":1,\"leader_epoch\":7,"
             "\"isr\":[1]}");
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, 2, -1), -ESTALE);
    st = state(NULL);
    cr_assert_eq(st.n_isr, 1);
    cr_assert_eq(st.leader_epoch, 7);
}

Test(isr_change, the_controller_drops_dead_brokers_from_the_isr)
{
    struct rb_cl_topic t = {0};
    struct rb_kzk_state st[1];
    int64_t ver[1] = {3};
    cr_assert_eq(rb_kzk_parse_state(find(STATE)->data, &st[0]), 0);
    t.st = st;
    t.st_version = ver;
    live[0].id = 1;
    live[1].id = 3;
    cl.brokers = live;
    cl.n_brokers = 2; /* broker 2 is dead */
    cl.ctl_epoch = 9;
    struct rb_kzk_state ns;
    cr_assert(rb_ctl_isr_dead(&cl, &t, 0, &ns));
    cr_assert_eq(ns.leader, 1);
    cr_assert_eq(ns.n_isr, 2);
    cr_assert_eq(ns.isr[0], 1);
    cr_assert_eq(ns.isr[1], 3);
    cr_assert_eq(ns.leader_epoch, 7, "the leader epoch is bumped");
    cr_assert_eq(ns.controller_epoch, 9);
    live[1].id = 2; /* now broker 3 is the dead one */
    cr_assert(rb_ctl_isr_dead(&cl, &t, 0, &ns));
    cr_assert_eq(ns.n_isr, 2);
    cr_assert_eq(ns.isr[1], 2);
    cl.n_brokers = 3;
    live[2].id = 3;
    cr_assert_not(rb_ctl_isr_dead(&cl, &t, 0, &ns), "all live: nothing to do");
    /* an ISR of one (the leader) stays even when the leader is dead */
    st[0].n_isr = 1;
    cl.n_brokers = 0;
    cr_assert_not(rb_ctl_isr_dead(&cl, &t, 0, &ns));
}

Test(isr_change, the_controller_consumes_notifications_fenced)
{
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, -1, 3), 0);
    cr_assert_eq(rb_cl_isr_change(&cl, "t", 0, 6, 3, -1), 0);
    cr_assert_eq(notifications(), 2);
    /* a controller whose epoch moved on deletes nothing */
    cl.is_controller = true;
    cl.ctl_epoch_version = find("/controller_epoch")->version + 1;
    cl.isr_notes_dirty = true;
    (void)rb_ctl_isr_notes(&cl);
    cr_assert_eq(notifications(), 2);
    cr_assert_not(cl.is_controller);
    cl.is_controller = true;
    cl.ctl_epoch_version = find("/controller_epoch")->version;
    cl.isr_notes_dirty = true;
    (void)rb_ctl_isr_notes(&cl);
    cr_assert_eq(notifications(), 0);
    cr_assert_not(cl.isr_notes_dirty);
}
