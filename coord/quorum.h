/*
 * coord/quorum.h - the quorum a cluster coordinates through, as one small
 * interface with a backend per store: ZooKeeper (coord/quorum_zk.c, through
 * libzookeeper-mt) and etcd (coord/quorum_etcd.c, the v3 JSON gateway through
 * libcurl). The simulator brings its own (tests/sim/). The broker's cluster logic
 * (coord/cluster*.c, coord/controller*.c) is written against this interface only.
 *
 * Model: ZooKeeper's. A tree of nodes named by absolute paths ("/brokers/ids/1")
 * below the backend's root (the chroot of zookeeper.connect, or etcd.prefix): the
 * caller never sees the root. A node holds bytes (possibly none) and a version
 * that every successful write of it increases (ZooKeeper: the stat's version;
 * etcd: the key's mod_revision; compare only for equality). A node is persistent
 * or ephemeral; an ephemeral node is deleted when the session that created it ends
 * (ZooKeeper: the session; etcd: a lease kept alive by the backend). Children are
 * the nodes one level below a path; a parent must exist before its child is
 * created (etcd emulates this with a txn that compares the parent's existence).
 *
 * Threads: every call blocks its caller (the coordination thread, never a shard)
 * until the store answered or the connection is declared lost. The event callback
 * runs on a backend thread and must only record and wake (no quorum calls there).
 *
 * Errors (0 or a negative errno, the same for every backend):
 *   -ENOENT        the node (or, for create, its parent) does not exist
 *   -EEXIST        create: the node exists
 *   -ESTALE        the expected version did not match
 *   -ENOTEMPTY     delete: the node has children
 *   -ECONNABORTED  the connection was lost with the call in flight: its outcome is
 *                  unknown (ZCONNECTIONLOSS); retry once connected, re-reading first
 *   -ETIMEDOUT     no answer within the backend's operation deadline
 *   -ENOTCONN      the session has expired: the handle is dead, every later call
 *                  fails so; close it and open a new one (ephemeral nodes are gone)
 *   -EINVAL        a malformed path or argument
 *   -EIO           anything else (the backend logs the detail)
 *
 * Watches are one-shot, as in ZooKeeper: a read with watch=true arms a watch that
 * fires once, with RB_QEV_NODE (get/exists: the node was created, changed or
 * deleted) or RB_QEV_CHILDREN (children: a child was added or removed) and the
 * watched path. A watch armed on a dead session never fires; the EXPIRED event
 * says that every watch is gone.
 */
#ifndef RB_COORD_QUORUM_H
#define RB_COORD_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_quorum;

enum rb_qevent {
    RB_QEV_CONNECTED = 1,    /* (re)connected; the session is the same one as before */
    RB_QEV_DISCONNECTED = 2, /* lost the connection; the session may still be alive */
    RB_QEV_EXPIRED = 3,      /* the session is gone (ephemerals deleted, watches lost) */
    RB_QEV_NODE = 4,         /* a node watch fired: path */
    RB_QEV_CHILDREN = 5      /* a children watch fired: path */
};

/* Called on a backend thread. path is valid only during the call (NULL for the
 * session events). */
typedef void (*rb_quorum_event_fn)(void *ctx, enum rb_qevent ev, const char *path);

struct rb_quorum_config {
    const char *backend; /* "zookeeper" or "etcd" */
    /* ZooKeeper: zookeeper.connect, "h1:p1,h2:p2,h3:p3" with an optional chroot
     * ("/kafka") after the last port, created with its parents when missing.
     * etcd: etcd.endpoints, "http://h1:2379,http://h2:2379". */
    const char *connect;
    const char *root; /* etcd: etcd.prefix ("/ringbroker"; "" or NULL: none); ZooKeeper: unused */
    int32_t session_timeout_ms;    /* zookeeper.session.timeout.ms (etcd: the lease TTL) */
    int32_t connection_timeout_ms; /* how long rb_quorum_open waits for a session */
    rb_quorum_event_fn on_event;
    void *ctx;
};

enum rb_qcreate_flags {
    RB_QC_EPHEMERAL = 1,
    RB_QC_SEQUENTIAL = 2 /* the name gets a 10-digit increasing suffix, as ZooKeeper's */
};

/* Open a session and wait until it is connected (at most connection_timeout_ms):
 * 0, or -errno with the reason in err (unreachable servers, a bad connect string). */
int rb_quorum_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                   size_t errlen);
/* End the session (its ephemeral nodes go at once) and free the handle. */
void rb_quorum_close(struct rb_quorum *q);

/* The session's negotiated timeout (ZooKeeper may clamp the requested one). */
int32_t rb_quorum_session_timeout_ms(const struct rb_quorum *q);
/* An identifier of the current session (ZooKeeper: the session id; etcd: the lease id). */
int64_t rb_quorum_session_id(const struct rb_quorum *q);

/* Read a node: its data in *data (malloc'd, NUL-terminated for convenience; *len
 * excludes the NUL; the caller frees) and its version. data/len/version may be NULL. */
int rb_quorum_get(struct rb_quorum *q, const char *path, bool watch, char **data, size_t *len,
                  int64_t *version);
/* Whether a node exists (0, or -ENOENT: the watch then fires on creation). */
int rb_quorum_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version);
/* The names (not paths) of a node's children, sorted; *names is one malloc'd
 * array of pointers into the same block (free(*names) frees all). */
int rb_quorum_children(struct rb_quorum *q, const char *path, bool watch, char ***names, int *n);
/* Create a node. With RB_QC_SEQUENTIAL the name made is written to created (when
 * not NULL; the full path). */
int rb_quorum_create(struct rb_quorum *q, const char *path, const void *data, size_t len, int flags,
                     char *created, size_t created_cap);
/* Create every missing node on the way to path, and path itself (empty data):
 * 0 when it exists afterwards. */
int rb_quorum_create_parents(struct rb_quorum *q, const char *path);
/* Replace a node's data; version -1: any. *new_version may be NULL. */
int rb_quorum_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                  int64_t version, int64_t *new_version);
/* Delete a node (not one with children); version -1: any. */
int rb_quorum_delete(struct rb_quorum *q, const char *path, int64_t version);

/* Several operations applied all together or not at all (ZooKeeper's multi, an
 * etcd txn). On failure, *failed (when not NULL) is the index of the op that
 * failed and the return is its error; -1 when no one op failed (the connection
 * was lost, the session expired). */
enum rb_qop_type { RB_QOP_CHECK = 1, RB_QOP_CREATE = 2, RB_QOP_SET = 3, RB_QOP_DELETE = 4 };
struct rb_qop {
    enum rb_qop_type type;
    const char *path;
    const void *data; /* CREATE, SET */
    size_t len;
    int64_t version; /* CHECK, SET, DELETE; -1: any (not for CHECK) */
    int flags;       /* CREATE: enum rb_qcreate_flags (not SEQUENTIAL) */
};
int rb_quorum_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed);

/* A printable name of an error returned above ("node exists", ...). */
const char *rb_quorum_strerror(int err);

#endif
