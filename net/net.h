/*
 * net/net.h - the broker's network layer: process-wide broker context, the
 * per-shard network state, connections and requests.
 *
 * Request lifecycle (per connection, responses leave in request order):
 *
 *   RECEIVING --frame complete--> DISPATCHED --handler done--> DONE --sent--> freed
 *                                     |  (async parts: req->pending > 0)
 *                                     +--acks=0 produce--> DONE (no response)
 *
 * A request and its frame buffer live until its response has been sent AND every
 * asynchronous part (cross-shard work, flush waits, coord calls) has come back,
 * even if the connection closed meanwhile: req->refs counts those.
 *
 * Ownership: a connection, its requests and its buffers belong to the shard that
 * accepted it; other shards only see the pointers they were handed in messages
 * and give them back (rb_post) without touching connection state.
 */
#ifndef RB_NET_NET_H
#define RB_NET_NET_H

#include "coord/coord.h"
#include "coord/metadata.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/shard.h"
#include "net/proto_gen.h"
#include "core/wire.h"

#include <stdbool.h>
#include <stdint.h>

struct rb_pending_update;
struct rb_groups_shard;

#define RB_IP_SLOTS 4096 /* power of two */

/* A message logged at most once per interval with the count of events since. */
struct rb_ratelog {
    int64_t logged_ms; /* 0: never */
    uint64_t count;
};

struct rb_broker {
    struct rb_config *config;
    const struct rb_broker_config *bc;
    struct rb_runtime rt;
    struct rb_coord *coord;
    struct rb_vthread *vt; /* the validator thread (part/vthread.c); NULL: none */
    uint16_t bound_port;   /* actual listening port */
    /* connection limits shared by the shards (net/conn_limits.c), zeroed */
    _Atomic int32_t conns;
    /* bumped when a shard's memory flood is over: every shard returns its free
     * memory to the OS (net/conn.c) */
    _Atomic uint32_t collect_epoch;
    struct {
        _Atomic uint64_t key; /* address hash, 0: free */
        _Atomic int32_t n;
    } ip_slots[RB_IP_SLOTS];
    struct rb_cluster_gauges cl; /* cmd/broker.c writes, the metrics thread reads */
};

struct sockaddr_storage;
/* Admit a new connection from ss against max.connections and
 * max.connections.per.ip: NULL (admitted; *slot is its per-address slot, -1:
 * none) or the name of the limit it is over. An admitted connection is
 * released once with rb_conn_leave(b, slot, true). */
const char *rb_conn_admit(struct rb_broker *b, const struct sockaddr_storage *ss, int32_t *slot);
void rb_conn_leave(struct rb_broker *b, int32_t slot, bool counted);

/* Request metrics of one shard (core/metrics.h: written by the shard, read by the
 * metrics thread). A request is counted once handed to its handler (handled) and
 * once it ends (done, with its API's count and total time). */
#define RB_API_KEYS 64
struct rb_net_metrics {
    rb_counter handled, ended;
    rb_counter requests[RB_API_KEYS];
    struct rb_hist total_ms[RB_API_KEYS];
    /* file bytes of fetch responses staged by the read path: read when needed
     * (fill) or found read ahead (net/resp_send.c) */
    rb_counter file_fill_bytes, file_ahead_bytes;
};

struct rb_net {
    struct rb_shard *shard;
    struct rb_broker *b;
    int listen_fd;
    struct rb_io accept_io;
    bool accept_armed;
    /* accept back-off at the fd limit (EMFILE/ENFILE/ENOBUFS/ENOMEM): the
     * multishot accept stays off until accept_timer fires (net/conn.c). */
    bool accept_paused;
    struct rb_timer accept_timer;
    struct rb_ratelog accept_log;  /* fd-limit failures */
    struct rb_ratelog refused_log; /* connections over max.connections(.per.ip) */
    int64_t idle_ms;               /* connections.max.idle.ms, < 0: never */
    struct rb_timer idle_timer;    /* closes connections idle for idle_ms */
    /* provided receive buffers */
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    uint32_t nbufs;
    uint32_t buf_bytes;
    /* state */
    struct rb_metadata *md;
    struct rb_conn *conns;
    int n_conns;
    uint64_t next_conn_id;
    /* read-ahead slots not free (net/readahead.c): descriptor references
     * held now, and the most this shard may hold (rb_part_fd_hold_cap) */
    uint32_t ra_held, ra_cap;
    int groups_out;           /* pgroups (and cancels) sent, not back yet */
    int64_t stop_deadline_ms; /* stopping: when to stop waiting for them */
    struct rb_timer stop_timer;
    /* metadata updates waiting for their dropped partitions (net/fanout.c) */
    struct rb_pending_update *pending_updates;
    struct rb_groups_shard *groups; /* group coordinator state (net/group_shard.c) */
    struct rb_rfetch_shard *rfetch; /* replica fetchers (net/replica_fetch.c), lazy */
    struct rb_net_metrics m;
    /* memory budget (net/conn.c): bytes of request frames and responses held by
     * this shard's connections (mem, of which frame_mem are frames), connections
     * paused by a budget, and whether memory came back since the last resume scan */
    int64_t mem;
    int64_t frame_mem;
    int n_paused;
    int n_gated;
    bool mem_freed;
    int64_t mem_peak;      /* highest mem since the last collect */
    uint32_t collect_seen; /* the broker's collect_epoch this shard acted on */
    /* Owner items that may decompress (ListOffsets by time, produces rebuilt for
     * compression.type) past this turn's budget (lo_spent bytes decompressed this
     * turn), and every produce or lookup behind them: later turns, in order
     * (net/fanout.c) */
    struct rb_fan_item *lo_head, *lo_tail;
    struct rb_fan_item *lo_wait; /* a produce whose rebuild is on the validator thread */
    bool lo_posted;
    int64_t lo_spent;
};

/* RECEIVED: complete, waiting for the connection's budget to dispatch it. */
enum rb_req_state { RB_REQ_RECEIVED = 0, RB_REQ_DISPATCHED, RB_REQ_DONE };

struct rb_fd_ref;
/* Response bytes that are not in req->out (fetch data, net/fetch_out.c): they go
 * into the stream at out position `at`, file bytes first (file_len bytes of fd at
 * file_pos, moved by splice or by read + send: fetch.file.transfer), then mem_len
 * bytes of mem. The request owns fd_ref (the owner shard's cached descriptor fd,
 * open while it is held) and mem (dropped and freed with it). The partition named
 * by owner/topic/partition is reported when the file read fails. */
struct rb_resp_ext {
    size_t at;
    int fd;
    bool direct;    /* fd is O_DIRECT: the read path reads whole aligned 4 KiB blocks */
    uint32_t gen;   /* the log's truncation count: read-ahead of fd is valid while equal */
    uint64_t final; /* bytes of fd below it are final (storage/log.h rb_log_piece) */
    struct rb_fd_ref *fd_ref;
    uint64_t file_pos;
    uint32_t file_len;
    uint8_t *mem;
    uint32_t mem_len;
    int16_t owner;
    int32_t partition;
    const char *topic; /* NUL-terminated, request arena */
};

struct rb_request {
    struct rb_request *next;
    struct rb_conn *conn;
    uint8_t *frame; /* body of the frame (after the size) */
    uint32_t frame_len;
    uint32_t frame_have; /* bytes received so far (while receiving) */
    uint32_t frame_cap;  /* allocated bytes of frame */
    struct rb_req_header hdr;
    struct rb_reader body;
    struct rb_arena arena;
    struct rb_writer out; /* size + response header + body */
    enum rb_req_state state;
    bool respond;
    bool stepping; /* between rb_request_step_begin and _end */
    int refs;      /* 1 for the connection queue + 1 per outstanding async part */
    int64_t start_ms;
    struct rb_net *metered;  /* handed to its handler: counted in its metrics */
    void *ctx;               /* handler state */
    struct rb_resp_ext *ext; /* request arena; ascending at */
    int n_ext;
    uint64_t ext_bytes;
    /* bytes charged to the connection's budget (net/conn.c) */
    int64_t frame_charged; /* the frame buffer */
    int64_t resp_charged;  /* the response, once done */
    int64_t reserved;      /* granted before the response exists (rb_request_reserve) */
};

/* A connection's life (drawn in net/conn.c). paused (too much queued) is apart. */
enum rb_conn_state {
    RB_CONN_OPEN = 0, /* reading requests */
    RB_CONN_DRAINING, /* bad input seen: answer what came before it, then close */
    RB_CONN_CLOSING,  /* shut down; freed once no I/O and no callback holds it */
};

/* Read-ahead of a connection's file streams (net/readahead.c): at most
 * RB_AHEAD_SLOTS stages of O_DIRECT file bytes read before the responses ask for them. */
#define RB_AHEAD_SLOTS 16
enum { RB_AHEAD_FREE, RB_AHEAD_PENDING, RB_AHEAD_READY };
struct rb_ahead_slot {
    struct rb_io io;
    struct rb_conn *c;
    uint8_t *buf;          /* a stage (STAGE_ALLOC), made on first use, kept until close */
    struct rb_fd_ref *ref; /* held while the slot is not free */
    int fd;
    uint8_t state;
    uint32_t gen;   /* the log's truncation count when it was issued */
    uint32_t want;  /* bytes asked (PENDING), whole blocks */
    uint32_t len;   /* valid bytes from `from` (READY): read and final */
    uint64_t from;  /* file position of buf[0], 4 KiB aligned */
    uint64_t final; /* the file's final bytes when it was issued */
    uint64_t seen;  /* rb_ahead.resp when it was issued or last planned for */
    uint64_t taken; /* file position after the bytes the send took from it */
};
struct rb_ahead {
    struct rb_ahead_slot slot[RB_AHEAD_SLOTS];
    struct rb_ahead_slot *wait;    /* the send in flight waits for this slot's read */
    struct rb_ahead_slot *sending; /* the stage is this slot's buffer (until drained) */
    uint64_t resp;                 /* responses sent on the connection */
    int pending;                   /* slots whose read is in flight */
    uint8_t miss;                  /* slots dropped unused, in a row */
    uint8_t skip;                  /* speculative chances skipped meanwhile */
};

struct rb_conn {
    struct rb_conn *next, *prev;
    struct rb_net *net;
    int fd;
    uint64_t id;
    char peer[64];
    int32_t ip_slot;        /* per-address count (net/conn_limits.c), -1: none */
    int64_t last_active_ms; /* last bytes received or sent (connections.max.idle.ms) */
    struct rb_io recv_io;
    struct rb_io send_io;
    bool recv_armed;
    bool paused;
    enum rb_conn_state state; /* net/conn.c: the one writer is conn_set_state */
    bool send_in_flight;
    int busy;        /* > 0 while a callback works on the connection: do not free it */
    size_t send_off; /* bytes of the current region sent (net/resp_send.c) */
    /* response transmission in regions (net/resp_send.c) */
    struct rb_io fill_io; /* file -> stage (pipe or buffer) of a linked pair */
    int send_region;
    uint64_t send_done; /* bytes of the head response sent */
    uint8_t send_kind;
    uint8_t send_cqes; /* CQEs still due for the operation in flight */
    bool send_filled;  /* the operation in flight has a fill step */
    int fill_res, drain_res;
    uint32_t staged;    /* file bytes in the stage, not yet sent */
    uint32_t stage_off; /* read path: where they start in stage_buf */
    uint32_t fill_head; /* O_DIRECT fill: bytes before the wanted ones (alignment) */
    uint32_t fill_want; /* O_DIRECT fill: the wanted bytes (the read may return more) */
    /* O_DIRECT read path: file bytes of this connection's streams read ahead
     * (net/readahead.c) */
    struct rb_ahead ra;
    uint32_t stage_cap;
    int pipe_fd[2]; /* splice path; valid when pipe_open */
    bool pipe_open;
    uint8_t *stage_buf; /* read path */
    /* framing */
    uint8_t size_buf[4];
    uint32_t size_have;
    struct rb_request *cur; /* frame being received */
    /* in-order queue of requests */
    struct rb_request *q_head, *q_tail;
    struct rb_request *q_undispatched; /* first RECEIVED request of the queue */
    int n_queued;
    size_t queued_bytes;
    int64_t mem;       /* bytes charged: frames, responses, reservations */
    int64_t frame_mem; /* of which frames */
    bool dispatching;  /* in conn_dispatch_more */
    bool gated;        /* requests wait for the budget (counted in n_gated) */
    int stepping;      /* requests whose work runs over several loop turns */
};

/* Start/stop hooks for the shard runtime (net/conn.c). */
int rb_net_shard_start(struct rb_shard *s);
void rb_net_shard_turn(struct rb_shard *s);
void rb_net_shard_stop(struct rb_shard *s);
bool rb_net_shard_stop_done(struct rb_shard *s);
void rb_net_shard_finish(struct rb_shard *s);
/* Create the listening socket before the shards start (to report bind errors and
 * learn the port); each shard then opens its own SO_REUSEPORT socket on it. */
int rb_net_prebind(struct rb_broker *b, char *err, size_t errlen);

static inline struct rb_net *rb_net_of(struct rb_shard *s)
{
    return s->net;
}

/* ---- requests (net/conn.c) ---- */

/* Begin the response: writes the size placeholder and the response header. */
void rb_resp_begin(struct rb_request *req);
/* The response in req->out is complete: patch its size and let it go out. */
void rb_request_done(struct rb_request *req);
/* Finish without a response (acks=0 produce). */
void rb_request_done_silent(struct rb_request *req);
/* Reserve up to want bytes of response memory for req from its connection's and
 * its shard's budgets (connection.memory.max.bytes, shard.memory.budget.bytes);
 * returns what was granted (maybe 0: the caller then returns the least it may,
 * e.g. a fetch's first batch). Released when the response is done. */
uint32_t rb_request_reserve(struct rb_request *req, uint32_t want);
/* Charge bytes (< 0: give them back) that the shard holds for a connection's
 * life, e.g. its send stage (net/resp_send.c), to the shard's budget only: they
 * make the shard's figure without making the connection look big. */
void rb_net_mem_charge(struct rb_net *n, int64_t bytes);
/* Close the connection because of this request (bad input). */
void rb_request_fail_close(struct rb_request *req, const char *why);
/* Async parts: hold before handing req to another thread or a callback, release
 * when it comes back. */
static inline void rb_request_hold(struct rb_request *req)
{
    req->refs++;
}
void rb_request_release(struct rb_request *req);
/* req's work continues on later loop turns (rb_post to self): its connection
 * dispatches nothing after it meanwhile, so later requests keep their order
 * (a produce behind it must not reach the partition first). Each pause is ended
 * with rb_request_step_end (also when the connection closed meanwhile), which
 * runs then(req) - the rest of the handler - before the connection's later
 * requests are dispatched; not at all when the connection is gone. */
void rb_request_step_begin(struct rb_request *req);
void rb_request_step_end(struct rb_request *req, void (*then)(struct rb_request *req));

/* ---- response transmission (net/resp_send.c) ---- */
/* Issue the next operation for the head response req: 1 issued, 0 when it is all
 * sent (nothing issued). Errors come back through rb_resp_send_cqe. */
int rb_resp_send_issue(struct rb_conn *c, struct rb_request *req);
/* A CQE of the operation in flight (which: the drain, the fill step of a pair or
 * a read-ahead slot the send waits for). Returns 1 when
 * the operation is over, 0 when another CQE is due, -errno to close the connection. */
enum { RB_SEND_CQE_DRAIN, RB_SEND_CQE_FILL, RB_SEND_CQE_AHEAD };
int rb_resp_send_cqe(struct rb_conn *c, struct rb_request *req, int which, int res);
/* Reset the cursor for the next response; release a connection's stage. */
void rb_resp_send_reset(struct rb_conn *c);
#define RB_STAGE_BYTES (1u << 20)
#define RB_DIO_ALIGN   4096u /* O_DIRECT reads: offset, length and buffer */
/* read path buffers: a whole stage of file bytes at any alignment, in whole blocks */
#define RB_STAGE_ALLOC (RB_STAGE_BYTES + RB_DIO_ALIGN)

/* ---- read-ahead of file streams (net/readahead.c) ---- */
void rb_ahead_init(struct rb_conn *c);
/* The slot (pending or ready) holding the file bytes at `at` of e's file, or NULL. */
struct rb_ahead_slot *rb_ahead_find(struct rb_conn *c, const struct rb_resp_ext *e, uint64_t at);
/* Make a ready slot the stage (no copy): sets stage_off and returns the bytes of
 * [at, at + n) it holds. The slot stays until they are drained (rb_ahead_sent). */
uint32_t rb_ahead_take(struct rb_conn *c, struct rb_ahead_slot *s, uint64_t at, uint32_t n);
/* The stage taken from a slot is drained: the slot is freed if the send took its
 * last bytes, else kept for the rest (the next response starts there). */
void rb_ahead_sent(struct rb_conn *c);
/* Queue reads ahead of the bytes after [.., next) of region e of req. */
void rb_ahead_plan(struct rb_conn *c, struct rb_request *req, const struct rb_resp_ext *e,
                   uint64_t next);
/* A response is sent: drop slots no plan has wanted since the one before. */
void rb_ahead_response_done(struct rb_conn *c);
/* Reads still in flight (the connection may not be freed). */
bool rb_ahead_busy(const struct rb_conn *c);
/* The connection went quiet: release every slot not in use (descriptors) and
 * free their buffers; the next response makes them again. */
void rb_ahead_idle(struct rb_conn *c);
void rb_ahead_free(struct rb_conn *c);
/* A slot's read completed (net/conn.c): waited says the send in flight waited on it. */
void rb_conn_ahead_done(struct rb_conn *c, bool waited, int res);
void rb_resp_send_free(struct rb_conn *c);
/* Close the fds and free the memory of req->ext. */
void rb_resp_ext_release(struct rb_request *req);

/* ---- dispatch (net/dispatch.c) ---- */
void rb_dispatch(struct rb_request *req);
/* A handled request ends (done, silent or failed): its metrics (net/dispatch.c). */
void rb_request_metered_end(struct rb_request *req);

#endif
