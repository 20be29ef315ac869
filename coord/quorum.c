/*
 * coord/quorum.c - the quorum interface's dispatch (coord/quorum.h): picks the
 * backend at open, forwards every call through the handle's ops table, and the
 * helpers every backend shares (children arrays, error names, parent creation).
 */
#include "coord/quorum.h"
#include "coord/quorum_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rb_quorum_open_fn test_backend;

void rb_quorum_set_test_backend(rb_quorum_open_fn open)
{
    test_backend = open;
}

int rb_quorum_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (!cfg->backend || !cfg->connect || !*cfg->connect) {
        snprintf(err, errlen, "no quorum configured (zookeeper.connect or etcd.endpoints)");
        return -EINVAL;
    }
    if (strcmp(cfg->backend, "zookeeper") == 0)
        return rb_quorum_zk_open(out, cfg, err, errlen);
    if (strcmp(cfg->backend, "etcd") == 0)
        return rb_quorum_etcd_open(out, cfg, err, errlen);
    if (strcmp(cfg->backend, "test") == 0 && test_backend)
        return test_backend(out, cfg, err, errlen);
    snprintf(err, errlen, "unknown quorum backend '%s'", cfg->backend);
    return -EINVAL;
}

void rb_quorum_close(struct rb_quorum *q)
{
    if (q)
        q->ops->close(q);
}

int32_t rb_quorum_session_timeout_ms(const struct rb_quorum *q)
{
    return q->ops->session_timeout_ms(q);
}

int64_t rb_quorum_session_id(const struct rb_quorum *q)
{
    return q->ops->session_id(q);
}

static bool path_ok(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n >= 1 && path[0] == '/' && (n == 1 || path[n - 1] != '/') && !strstr(path, "//");
}

int rb_quorum_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                  int64_t *version)
{
    if (!path_ok(path))
        return -EINVAL;
    return q->ops->get(q, path, watch, data, len, version);
}

int rb_quorum_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    if (!path_ok(path))
        return -EINVAL;
    return q->ops->exists(q, path, watch, version);
}

int rb_quorum_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n)
{
    if (!path_ok(path))
        return -EINVAL;
    return q->ops->children(q, path, watch, names, n);
}

int rb_quorum_create(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                     char *created, size_t created_cap)
{
    if (!path_ok(path) || strcmp(path, "/") == 0)
        return -EINVAL;
    return q->ops->create(q, path, data, len, flags, created, created_cap);
}

int rb_quorum_create_parents(struct rb_quorum *q, const char *path)
{
    if (!path_ok(path))
        return -EINVAL;
    if (strcmp(path, "/") == 0)
        return 0;
    char buf[1024];
    if (strlen(path) >= sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        bool end = *p == 0;
        if (*p != '/' && !end)
            continue;
        *p = 0;
        int r = rb_quorum_exists(q, buf, false, NULL);
        if (r == -ENOENT)
            r = rb_quorum_create(q, buf, NULL, 0, 0, NULL, 0);
        if (r && r != -EEXIST)
            return r;
        if (end)
            return 0;
        *p = '/';
    }
}

int rb_quorum_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                  int64_t version, int64_t *new_version)
{
    if (!path_ok(path))
        return -EINVAL;
    return q->ops->set(q, path, data, len, version, new_version);
}

int rb_quorum_delete(struct rb_quorum *q, const char *path, int64_t version)
{
    if (!path_ok(path) || strcmp(path, "/") == 0)
        return -EINVAL;
    return q->ops->del(q, path, version);
}

int rb_quorum_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed)
{
    for (int i = 0; i < n; i++)
        if (!path_ok(ops[i].path) || (ops[i].type == RB_QOP_CHECK && ops[i].version < 0)) {
            if (failed)
                *failed = i;
            return -EINVAL;
        }
    if (n == 0)
        return 0;
    return q->ops->multi(q, ops, n, failed);
}

int rb_quorum_expire_for_test(struct rb_quorum *q)
{
    return q->ops->expire_for_test ? q->ops->expire_for_test(q) : -ENOTSUP;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rb_quorum_pack_children(const char *const *names, int n, char ***out)
{
    size_t bytes = sizeof(char *) * (size_t)(n + 1);
    for (int i = 0; i < n; i++)
        bytes += strlen(names[i]) + 1;
    char **arr = malloc(bytes);
    if (!arr)
        return -ENOMEM;
    char *p = (char *)(arr + n + 1);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]) + 1;
        memcpy(p, names[i], l);
        arr[i] = p;
        p += l;
    }
    arr[n] = NULL;
    qsort(arr, (size_t)n, sizeof(char *), cmp_str);
    *out = arr;
    return 0;
}

const char *rb_quorum_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case -ENOENT:
        return "no such node";
    case -EEXIST:
        return "node exists";
    case -ESTALE:
        return "version mismatch";
    case -ENOTEMPTY:
        return "node has children";
    case -ECONNABORTED:
        return "connection lost (outcome unknown)";
    case -ETIMEDOUT:
        return "timed out";
    case -ENOTCONN:
        return "session expired";
    case -EINVAL:
        return "invalid argument";
    default:
        return strerror(-err);
    }
}
