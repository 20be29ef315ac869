/*
 * coord/quorum_int.h - what a quorum backend provides (coord/quorum.c dispatches
 * the calls of coord/quorum.h through this table). Every backend's handle starts
 * with a struct rb_quorum whose ops point at its functions; the semantics and
 * error codes of each call are those of coord/quorum.h.
 */
#ifndef RB_COORD_QUORUM_INT_H
#define RB_COORD_QUORUM_INT_H

#include "coord/quorum.h"

struct rb_quorum_ops {
    void (*close)(struct rb_quorum *q);
    int32_t (*session_timeout_ms)(const struct rb_quorum *q);
    int64_t (*session_id)(const struct rb_quorum *q);
    int (*get)(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
               int64_t *version);
    int (*exists)(struct rb_quorum *q, const char *path, bool watch, int64_t *version);
    int (*children)(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n);
    int (*create)(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                  char *created, size_t created_cap);
    int (*set)(struct rb_quorum *q, const char *path, const void *data, size_t len, int64_t version,
               int64_t *new_version);
    int (*del)(struct rb_quorum *q, const char *path, int64_t version);
    int (*multi)(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed);
    /* Tests only (may be NULL): end the session from outside, as the store does
     * when it times out; the handle then sees RB_QEV_EXPIRED. */
    int (*expire_for_test)(struct rb_quorum *q);
};

struct rb_quorum {
    const struct rb_quorum_ops *ops;
};

/* The backends' openers (rb_quorum_open picks one by cfg->backend). */
int rb_quorum_zk_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                      size_t errlen);
int rb_quorum_etcd_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                        size_t errlen);

/* Tests only: force the session's expiry through the backend's hook; 0, or
 * -ENOTSUP when the backend has none. Wait for RB_QEV_EXPIRED afterwards. */
int rb_quorum_expire_for_test(struct rb_quorum *q);

/* A backend provided at run time by a test or the simulator (tests/sim/sim_quorum.c),
 * opened for cfg->backend "test". */
typedef int (*rb_quorum_open_fn)(struct rb_quorum **out, const struct rb_quorum_config *cfg,
                                 char *err, size_t errlen);
void rb_quorum_set_test_backend(rb_quorum_open_fn open);

/* Helpers for backends: a sorted, single-block children array from n names
 * (copies them); 0 or -ENOMEM. */
int rb_quorum_pack_children(const char *const *names, int n, char ***out);

#endif
