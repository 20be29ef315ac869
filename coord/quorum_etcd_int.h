/*
 * coord/quorum_etcd_int.h - state and helpers shared by the files of the etcd
 * quorum backend (coord/quorum_etcd.c: open/close and the reads;
 * coord/quorum_etcd_txn.c: the writes, each one txn;
 * coord/quorum_etcd_io.c: the HTTP/JSON transport, endpoints, keys, base64;
 * coord/quorum_etcd_watch.c: the backend thread with the watch stream, the lease
 * keepalive and the table of armed one-shot watches). Not a public API; the
 * design is written down in coord/quorum_etcd.c.
 */
#ifndef RB_COORD_QUORUM_ETCD_INT_H
#define RB_COORD_QUORUM_ETCD_INT_H

#include "coord/quorum_int.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define RB_ETCD_COMP     "quorum-etcd"
#define RB_ETCD_MAX_EPS  16
#define RB_ETCD_MARK     '!' /* before a node's name in its key */
#define RB_ETCD_SEQ_MARK '#' /* a parent's sequence counter */
#define RB_ETCD_KEY_MAX  1200

enum rb_etcd_wkind { RB_ETCD_W_NODE = 1, RB_ETCD_W_CHILDREN = 2 };

/* An armed one-shot watch. armed_rev < 0: still being armed (the read that arms it
 * is in flight); seen_rev: the highest matching event revision seen meanwhile. */
struct rb_etcd_watch {
    struct rb_etcd_watch *next;
    enum rb_etcd_wkind kind;
    int64_t armed_rev;
    int64_t seen_rev;
    char path[];
};

struct rb_etcd {
    struct rb_quorum base;
    char *eps[RB_ETCD_MAX_EPS]; /* "http://h:p", no trailing '/' */
    int n_eps;
    atomic_int cur_ep; /* the endpoint requests go to first */
    char prefix[256];  /* etcd.prefix without a trailing '/' ("" for none) */
    int64_t lease_id;
    int32_t ttl_s;
    int32_t op_timeout_ms;
    rb_quorum_event_fn on_event;
    void *ctx;
    atomic_bool expired; /* the lease is gone: every call -ENOTCONN */
    bool quiet;          /* open's retries: request failures are not logged */

    pthread_mutex_t req_lock; /* callers' handle */
    CURL *req;

    /* the backend thread (coord/quorum_etcd_watch.c) */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    CURLM *multi;
    pthread_mutex_t wlock; /* the fields below */
    pthread_cond_t wcond;
    struct rb_etcd_watch *watches;
    struct rb_etcd_watch *fire; /* to fire on the thread (armed after their event) */
    int64_t start_rev;          /* the stream's events start here */
    bool stream_created;        /* the watch stream is open */
    bool expired_sent;
};

static inline struct rb_etcd *rb_etcd_of(struct rb_quorum *q)
{
    return (struct rb_etcd *)q;
}

/* ---- quorum_etcd_io.c ---- */
/* One request of the JSON gateway (api "/v3/kv/range"...): 0 with the parsed body
 * in *resp, or -errno. idempotent: also retried on the next endpoint after a
 * failure that may have reached the server. Uses h (the caller serializes). */
int rb_etcd_post(struct rb_etcd *e, CURL *h, const char *api, json_t *body, json_t **resp,
                 bool idempotent);
/* Prepare h for a request to url with body and the given total deadline; the
 * response goes to buf (a growing string, see rb_etcd_buf). */
struct rb_etcd_buf {
    char *p;
    size_t len, cap;
};
void rb_etcd_buf_reset(struct rb_etcd_buf *b);
size_t rb_etcd_buf_write(char *ptr, size_t size, size_t nmemb, void *arg);
CURL *rb_etcd_handle(void);
/* The key of a path (prefix + parent path + "/!" + name); -EINVAL when too long,
 * when the path holds the marker '!', or for the virtual root (no prefix).
 * children: the range start of its children (prefix + path + "/!"), whose end
 * is the same with the last byte plus one. */
int rb_etcd_key(const struct rb_etcd *e, const char *path, bool children, char *out, size_t cap);
/* The key of a parent's sequence counter. */
int rb_etcd_seq_key(const struct rb_etcd *e, const char *path, char *out, size_t cap);
/* The path of a tree key (into out), or NULL when the key is not a node's. */
const char *rb_etcd_path_of(const struct rb_etcd *e, const char *key, size_t klen, char *out,
                            size_t cap);
/* base64 */
char *rb_etcd_b64(const void *data, size_t len); /* malloc'd */
/* Decodes a base64 JSON string member into a malloc'd, NUL-terminated buffer. */
int rb_etcd_unb64(const char *s, char **out, size_t *len);
/* A JSON int64 (etcd's are strings), 0 when absent. */
int64_t rb_etcd_int(json_t *obj, const char *name);
json_t *rb_etcd_str64(int64_t v);
/* Map an error body of the gateway to -errno (marks the session expired when the
 * lease is gone). */
int rb_etcd_status_err(struct rb_etcd *e, long http, json_t *resp, const char *ep, const char *api);
/* Mark the lease gone; the backend thread reports EXPIRED. */
void rb_etcd_set_expired(struct rb_etcd *e);

/* The helpers of the operations (quorum_etcd.c, quorum_etcd_txn.c). */
/* A C string as a base64 JSON string. */
json_t *rb_etcd_b64s(const char *s);
/* The end of the range of every key starting with start (into end). */
void rb_etcd_range_end(const char *start, char *end, size_t cap);
/* The first kv of a range response (owned by it), or NULL. */
json_t *rb_etcd_first_kv(json_t *range_resp);
/* A read-only request (range, read txn: idempotent) on the callers' handle; takes
 * body. */
int rb_etcd_read(struct rb_etcd *e, const char *api, json_t *body, json_t **resp);
bool rb_etcd_is_root(const char *path);
/* The parent path of path ("/" for a top-level node). */
void rb_etcd_parent_of(const char *path, char *out, size_t cap);

/* ---- quorum_etcd_txn.c: the writes of the ops table ---- */
int rb_etcd_op_create(struct rb_quorum *q, const char *path, const void *data, size_t len,
                      int flags, char *created, size_t created_cap);
int rb_etcd_op_set(struct rb_quorum *q, const char *path, const void *data, size_t len,
                   int64_t version, int64_t *new_version);
int rb_etcd_op_del(struct rb_quorum *q, const char *path, int64_t version);
int rb_etcd_op_multi(struct rb_quorum *q, const struct rb_qop *ops, int n, int *failed);

/* ---- quorum_etcd_watch.c ---- */
/* Start the backend thread from revision start_rev and wait (at most wait_ms)
 * until its watch stream is open: 0 or -ETIMEDOUT (the thread is running anyway). */
int rb_etcd_thread_start(struct rb_etcd *e, int64_t start_rev, int32_t wait_ms);
void rb_etcd_thread_stop(struct rb_etcd *e);
/* Arm a watch before the read that sets it; rb_etcd_watch_set then gives it the
 * read's revision (or rb_etcd_watch_drop when the read failed). */
struct rb_etcd_watch *rb_etcd_watch_add(struct rb_etcd *e, const char *path,
                                        enum rb_etcd_wkind kind);
void rb_etcd_watch_set(struct rb_etcd *e, struct rb_etcd_watch *w, int64_t rev);
void rb_etcd_watch_drop(struct rb_etcd *e, struct rb_etcd_watch *w);

#endif
