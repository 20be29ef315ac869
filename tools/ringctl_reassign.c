/*
 * tools/ringctl_reassign.c - `ringctl reassign --reassignment-json-file F
 * [--execute | --verify] (--zookeeper Z | --etcd E)`: partition reassignment as
 * Kafka 2.8's kafka-reassign-partitions.sh --zookeeper does it.
 *   --execute (default): Kafka's reassignment JSON (coord/kafka_zk_move.c) is
 *     checked against the cluster - every topic, partition and broker must exist
 *     (a broker must be registered: its id in /brokers/ids), no partition named
 *     twice, no broker twice in a list; a replica count other than the current one
 *     is allowed (it changes the replication factor, as in Kafka) - and written to
 *     /admin/reassign_partitions, which must not exist (one reassignment at a
 *     time, Kafka 2.8's rule). The current assignment is printed first, for a
 *     rollback. The controller does the rest (coord/reassign.c).
 *   --verify: for each partition of the file, in progress (still in the node),
 *     complete (the assignment is the file's) or neither; exit 0 only when every
 *     one is complete.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_zk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RA "/admin/reassign_partitions"

/* The whole file (or stdin for "-"), NUL-terminated; NULL with errno. */
static char *slurp(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (n + 1 < cap)
            break;
        if (cap >= ((size_t)64 << 20)) { /* far beyond any real reassignment */
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
        errno = EIO;
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

static bool registered(const struct rb_kzk_broker *b, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (b[i].id == id)
            return true;
    return false;
}

/* Every entry against the cluster; prints each problem. 0, 1 (problems) or -errno. */
static int check(struct ctl_zk *z, const struct rb_kzk_move *m, int n, struct rb_kzk_move *cur)
{
    struct rb_kzk_broker *b = NULL;
    int nb = 0, bad = 0;
    int err = ctl_zk_brokers(z, &b, &nb);
    if (err < 0)
        return err;
    for (int i = 0; i < n; i++) {
        struct rb_kzk_assignment as;
        err = ctl_zk_assignment(z, m[i].topic, &as);
        if (err == -ENOENT || err == -EINVAL) {
            fprintf(stderr, "ringctl reassign: %s-%d: unknown topic %s\n", m[i].topic,
                    m[i].partition, m[i].topic);
            bad = 1;
            continue;
        }
        if (err < 0)
            break;
        if (m[i].partition >= as.n_partitions) {
            fprintf(stderr, "ringctl reassign: %s-%d: unknown partition (%s has %d)\n", m[i].topic,
                    m[i].partition, m[i].topic, as.n_partitions);
            bad = 1;
        } else {
            cur[i] = m[i];
            cur[i].n_replicas = as.n_replicas[m[i].partition];
            memcpy(cur[i].replicas, as.replicas[m[i].partition], sizeof(cur[i].replicas));
        }
        rb_kzk_assignment_free(&as);
        for (int32_t k = 0; k < m[i].n_replicas; k++)
            if (!registered(b, nb, m[i].replicas[k])) {
                fprintf(stderr, "ringctl reassign: %s-%d: broker %d is not registered\n",
                        m[i].topic, m[i].partition, m[i].replicas[k]);
                bad = 1;
            }
        err = 0;
    }
    free(b);
    return err < 0 ? err : bad;
}

static int execute(const struct ctl_args *a, struct ctl_zk *z, const struct rb_kzk_move *m, int n)
{
    char path[512];
    ctl_zk_path(z, path, sizeof(path), RA);
    char *d = NULL;
    int err = ctl_zk_get(z, RA, &d, NULL);
    free(d);
    if (err == 0) {
        fprintf(stderr, "ringctl reassign: there is an existing assignment running (%s exists)\n",
                path);
        return CTL_EXIT_FAIL;
    }
    if (err != -ENOENT)
        return ctl_zk_fail(a, "reading " RA, err);
    struct rb_kzk_move *cur = calloc((size_t)n, sizeof(*cur));
    if (!cur)
        return ctl_zk_fail(a, "checking the assignment", -ENOMEM);
    int rc = check(z, m, n, cur);
    if (rc < 0) {
        free(cur);
        return ctl_zk_fail(a, "checking the assignment", rc);
    }
    if (rc) {
        free(cur);
        return CTL_EXIT_FAIL;
    }
    char *old = rb_kzk_moves_json(cur, n), *js = rb_kzk_moves_json(m, n);
    free(cur);
    printf("Current partition replica assignment\n\n%s\n\nSave this to use as the "
           "--reassignment-json-file option during rollback\n",
           old ? old : "");
    free(old);
    err = js ? rb_quorum_create(z->q, path, js, strlen(js), 0, NULL, 0) : -ENOMEM;
    free(js);
    if (err == -EEXIST) {
        fprintf(stderr, "ringctl reassign: there is an existing assignment running (%s exists)\n",
                path);
        return CTL_EXIT_FAIL;
    }
    if (err < 0)
        return ctl_zk_fail(a, "writing " RA, err);
    printf("Successfully started partition reassignment%s for", n > 1 ? "s" : "");
    for (int i = 0; i < n; i++)
        printf("%s%s-%d", i ? "," : " ", m[i].topic, m[i].partition);
    printf("\n");
    return CTL_EXIT_OK;
}

static int verify(const struct ctl_args *a, struct ctl_zk *z, const struct rb_kzk_move *m, int n)
{
    char *d = NULL;
    struct rb_kzk_move *pend = NULL;
    int np = 0;
    int err = ctl_zk_get(z, RA, &d, NULL);
    if (err && err != -ENOENT)
        return ctl_zk_fail(a, "reading " RA, err);
    char why[256];
    if (d && rb_kzk_parse_moves(d, &pend, &np, why, sizeof(why)))
        fprintf(stderr, "ringctl reassign: %s: %s (the controller deletes it)\n", RA, why);
    free(d);
    int done = 0;
    printf("Status of partition reassignment:\n");
    for (int i = 0; i < n; i++) {
        bool running = false;
        for (int k = 0; k < np && !running; k++)
            running = pend[k].partition == m[i].partition && strcmp(pend[k].topic, m[i].topic) == 0;
        struct rb_kzk_assignment as = {0};
        err = running ? 0 : ctl_zk_assignment(z, m[i].topic, &as);
        char want[256], have[256];
        ctl_fmt_ids(want, sizeof(want), m[i].replicas, m[i].n_replicas);
        if (running) {
            printf("Reassignment of partition %s-%d is still in progress.\n", m[i].topic,
                   m[i].partition);
        } else if (err < 0 || m[i].partition >= as.n_partitions) {
            printf("Reassignment of partition %s-%d failed: no such partition.\n", m[i].topic,
                   m[i].partition);
        } else {
            int32_t p = m[i].partition;
            ctl_fmt_ids(have, sizeof(have), as.replicas[p], as.n_replicas[p]);
            if (strcmp(want, have) == 0) {
                printf("Reassignment of partition %s-%d is complete.\n", m[i].topic, p);
                done++;
            } else {
                printf("There is no active reassignment of partition %s-%d, but replica set is "
                       "[%s] rather than [%s].\n",
                       m[i].topic, p, have, want);
            }
        }
        if (!running && err == 0)
            rb_kzk_assignment_free(&as);
    }
    free(pend);
    return done == n ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int ctl_reassign(const struct ctl_args *a)
{
    char *js = slurp(a->reassign_file);
    if (!js) {
        fprintf(stderr, "ringctl reassign: cannot read %s: %s\n", a->reassign_file,
                strerror(errno));
        return CTL_EXIT_FAIL;
    }
    struct rb_kzk_move *m = NULL;
    int n = 0;
    char why[256];
    int err = rb_kzk_parse_moves(js, &m, &n, why, sizeof(why));
    free(js);
    if (err) {
        fprintf(stderr, "ringctl reassign: %s: %s\n", a->reassign_file, why);
        return CTL_EXIT_FAIL;
    }
    if (n == 0) {
        fprintf(stderr, "ringctl reassign: %s: no partition to reassign\n", a->reassign_file);
        free(m);
        return CTL_EXIT_FAIL;
    }
    struct ctl_zk z;
    int rc = ctl_zk_open(&z, a);
    if (rc == 0) {
        rc = a->verify ? verify(a, &z, m, n) : execute(a, &z, m, n);
        ctl_zk_close(&z);
    }
    free(m);
    return rc;
}
