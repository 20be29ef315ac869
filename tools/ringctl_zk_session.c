/*
 * tools/ringctl_zk_session.c - ringctl's session with the cluster's ZooKeeper
 * (--zookeeper h:p[,h:p][/chroot]) or etcd (--etcd URL,... --etcd-prefix P)
 * through coord/quorum.h, and the reads the
 * --zookeeper commands share: brokers, controller, cluster id, partition states.
 * The session is opened on the hosts alone and ringctl prefixes the chroot
 * itself, so a mistyped chroot is reported, never created (the broker's own
 * session creates a missing chroot; an admin tool must not).
 */
#include "tools/ringctl_zk.h"
#include "core/logging.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_ZK_SESSION_MS 10000

int ctl_zk_fail(const struct ctl_args *a, const char *what, int err)
{
    fprintf(stderr, "ringctl %s: %s: %s\n", ctl_cmd_name(a->cmd), what, rb_quorum_strerror(err));
    return CTL_EXIT_FAIL;
}

/* Hosts and chroot of --zookeeper, or endpoints and prefix of --etcd. */
static int target(struct ctl_zk *z, const struct ctl_args *a)
{
    char err[512];
    if (a->etcd) {
        const char *p = a->etcd_prefix ? a->etcd_prefix : "/ringbroker";
        z->what = "etcd";
        snprintf(z->hosts, sizeof(z->hosts), "%s", a->etcd);
        snprintf(z->chroot, sizeof(z->chroot), "%s", strcmp(p, "/") == 0 ? "" : p);
        return 0;
    }
    z->what = "ZooKeeper";
    if (ctl_zk_split_connect(a->zookeeper, z->hosts, sizeof(z->hosts), z->chroot, sizeof(z->chroot),
                             err, sizeof(err)) < 0) {
        fprintf(stderr, "ringctl %s: --zookeeper %s\n", ctl_cmd_name(a->cmd), err);
        return CTL_EXIT_USAGE;
    }
    return 0;
}

int ctl_zk_open(struct ctl_zk *z, const struct ctl_args *a)
{
    char err[512];
    memset(z, 0, sizeof(*z));
    /* The quorum client's own notes only with --verbose. */
    rb_loglevel_max = a->verbose ? RB_LL_DEBUG : RB_LL_ERROR;
    int rc = target(z, a);
    if (rc)
        return rc;
    /* Opened without a root: ringctl prefixes the chroot (etcd: the prefix; its
     * nested prefixes see one tree) so that a missing one is not created. */
    struct rb_quorum_config cfg = {
        .backend = a->etcd ? "etcd" : "zookeeper",
        .connect = z->hosts,
        .session_timeout_ms = CTL_ZK_SESSION_MS,
        .connection_timeout_ms = (int32_t)a->connect_timeout_ms,
    };
    /* Without --verbose the client's connection errors (one per refused server
     * and retry, at ERROR level) are kept off stderr while the session is made:
     * a failure is reported below in one line. */
    int saved = a->verbose ? -1 : dup(STDERR_FILENO);
    int devnull = saved >= 0 ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
    if (devnull >= 0)
        dup2(devnull, STDERR_FILENO);
    rc = rb_quorum_open(&z->q, &cfg, err, sizeof(err));
    if (devnull >= 0) {
        dup2(saved, STDERR_FILENO);
        close(devnull);
    }
    if (saved >= 0)
        close(saved);
    if (rc < 0) {
        fprintf(stderr, "ringctl %s: cannot reach %s at %s within %lld ms: %s\n",
                ctl_cmd_name(a->cmd), z->what, z->hosts, (long long)a->connect_timeout_ms, err);
        return CTL_EXIT_FAIL;
    }
    if (z->chroot[0]) {
        rc = rb_quorum_exists(z->q, z->chroot, false, NULL);
        if (rc < 0) {
            if (rc == -ENOENT)
                fprintf(stderr, "ringctl %s: %s at %s has no node %s: a wrong %s? (%s)\n",
                        ctl_cmd_name(a->cmd), z->what, z->hosts, z->chroot,
                        a->etcd ? "--etcd-prefix" : "chroot",
                        a->etcd ? "the brokers' etcd.prefix, /ringbroker by default"
                                : "it is the part after the last port of the brokers' "
                                  "zookeeper.connect");
            else
                fprintf(stderr, "ringctl %s: checking the chroot %s: %s\n", ctl_cmd_name(a->cmd),
                        z->chroot, rb_quorum_strerror(rc));
            ctl_zk_close(z);
            return CTL_EXIT_FAIL;
        }
    }
    return 0;
}

void ctl_zk_close(struct ctl_zk *z)
{
    rb_quorum_close(z->q);
    z->q = NULL;
}

const char *ctl_zk_path(const struct ctl_zk *z, char *buf, size_t cap, const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    if (z->chroot[0] && strcmp(rel, "/") == 0)
        snprintf(buf, cap, "%s", z->chroot);
    else
        snprintf(buf, cap, "%s%s", z->chroot, rel);
    return buf;
}

int ctl_zk_get(struct ctl_zk *z, const char *path, char **data, int64_t *version)
{
    char full[1536];
    return rb_quorum_get(z->q, ctl_zk_path(z, full, sizeof(full), "%s", path), false, data, NULL,
                         version);
}

int ctl_zk_children(struct ctl_zk *z, const char *path, char ***names, int *n)
{
    char full[1536];
    return rb_quorum_children(z->q, ctl_zk_path(z, full, sizeof(full), "%s", path), false, names,
                              n);
}

static int cmp_broker(const void *x, const void *y)
{
    const struct rb_kzk_broker *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

int ctl_zk_brokers(struct ctl_zk *z, struct rb_kzk_broker **out, int *n)
{
    char **names = NULL;
    int nn = 0;
    *out = NULL;
    *n = 0;
    int rc = ctl_zk_children(z, "/brokers/ids", &names, &nn);
    if (rc == -ENOENT)
        return 0; /* no broker ever started on this chroot */
    if (rc < 0)
        return rc;
    struct rb_kzk_broker *bs = calloc((size_t)(nn ? nn : 1), sizeof(*bs));
    if (!bs) {
        free(names);
        return -ENOMEM;
    }
    int k = 0;
    for (int i = 0; i < nn; i++) {
        char path[512], *data = NULL;
        char *end;
        long id = strtol(names[i], &end, 10);
        if (*end || end == names[i] || id < 0 || id > INT32_MAX)
            continue;
        snprintf(path, sizeof(path), "/brokers/ids/%s", names[i]);
        rc = ctl_zk_get(z, path, &data, NULL);
        if (rc == -ENOENT)
            continue; /* gone since the listing */
        if (rc < 0) {
            free(bs);
            free(names);
            return rc;
        }
        if (rb_kzk_parse_broker(data, (int32_t)id, &bs[k]) == 0)
            k++;
        else
            fprintf(stderr, "ringctl: warning: %s%s does not parse as a broker registration\n",
                    z->chroot, path);
        free(data);
    }
    free(names);
    qsort(bs, (size_t)k, sizeof(*bs), cmp_broker);
    *out = bs;
    *n = k;
    return 0;
}

int ctl_zk_controller(struct ctl_zk *z, int32_t *id)
{
    char *data = NULL;
    *id = -1;
    int rc = ctl_zk_get(z, "/controller", &data, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (rb_kzk_parse_controller(data, id) < 0)
        *id = -1;
    free(data);
    return 0;
}

void ctl_zk_cluster_id(struct ctl_zk *z, char *id, size_t cap)
{
    char *data = NULL;
    id[0] = 0;
    if (ctl_zk_get(z, "/cluster/id", &data, NULL) == 0 &&
        rb_kzk_parse_cluster_id(data, id, cap) < 0)
        id[0] = 0;
    free(data);
}

int ctl_zk_assignment(struct ctl_zk *z, const char *topic, struct rb_kzk_assignment *as)
{
    char path[512], *data = NULL;
    snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
    int rc = ctl_zk_get(z, path, &data, NULL);
    if (rc < 0)
        return rc;
    rc = rb_kzk_parse_assignment(data, as) < 0 ? -EINVAL : 0;
    free(data);
    return rc;
}

int ctl_zk_state(struct ctl_zk *z, const char *topic, int32_t p, struct rb_kzk_state *st)
{
    char path[512], *data = NULL;
    memset(st, 0, sizeof(*st));
    st->leader = -1;
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, p);
    int rc = ctl_zk_get(z, path, &data, NULL);
    if (rc < 0)
        return rc;
    if (rb_kzk_parse_state(data, st) < 0) {
        memset(st, 0, sizeof(*st));
        st->leader = -1;
        rc = -EINVAL;
    }
    free(data);
    return rc;
}
