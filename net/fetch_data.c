/*
 * net/fetch_data.c - the bytes of a fetch, from the partition's log to the
 * response: taken on the owner shard, placed in the response on the origin
 * shard, sent by the connection (net/resp_send.c).
 *
 * A read (rb_log_read) is at most one file piece followed by memory pieces (the
 * tail cache and unwritten chunks: storage/tail_cache.h). Memory is copied once,
 * on the owner, into a buffer the pop carries back (cached chunks may be evicted
 * as soon as the owner's loop turns). The file piece is not read here: the owner
 * hands over a dup() of the segment's buffered descriptor with the position and
 * length, so no blocking read runs on the owner shard and the data is copied by
 * no one (splice) or once (read + send), by the connection's shard, while the
 * response goes out. The dup keeps the file alive if a retention pass or a topic
 * deletion unlinks the segment meanwhile; the bytes handed out lie below the
 * log's first chunk, so they are written and never rewritten.
 *
 * Placing: the response is encoded with the generated encoder; the records of
 * pops with file bytes point at tags (one byte each in the request arena) that the
 * writer recognises (struct rb_writer defer_*): it copies nothing and records the
 * position, which becomes a struct rb_resp_ext owning the descriptor and bytes.
 */
#include "net/handlers.h"
#include "net/partition.h"
#include "core/logging.h"
#include "core/rb.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "fetch"

void rb_fetch_data_clear(struct rb_pop *op)
{
    if (op->u.fetch.file_len)
        close(op->u.fetch.file_fd);
    free(op->u.fetch.data);
    op->u.fetch.data = NULL;
    op->u.fetch.data_len = 0;
    op->u.fetch.file_len = 0;
    op->u.fetch.file_fd = -1;
}

int rb_fetch_data_take(struct rb_pop *op, const struct rb_log_slice *sl)
{
    RB_ASSERT(!op->u.fetch.data && !op->u.fetch.file_len);
    const struct rb_log_piece *fp = sl->n && !sl->piece[0].mem ? &sl->piece[0] : NULL;
    uint32_t file = fp ? fp->len : 0;
    for (int i = fp ? 1 : 0; i < sl->n; i++)
        if (!sl->piece[i].mem)
            return -EIO; /* file bytes after memory: not a read of one log */
    uint32_t mem = sl->bytes - file;
    uint8_t *buf = NULL;
    if (mem) {
        buf = malloc(mem);
        if (!buf)
            return -ENOMEM;
        uint32_t off = 0;
        for (int i = fp ? 1 : 0; i < sl->n; i++) {
            memcpy(buf + off, sl->piece[i].mem, sl->piece[i].len);
            off += sl->piece[i].len;
        }
        RB_ASSERT(off == mem);
    }
    if (file) {
        int fd = fcntl(fp->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            int err = -errno;
            free(buf);
            return err;
        }
        op->u.fetch.file_fd = fd;
        op->u.fetch.file_pos = fp->file_pos;
        op->u.fetch.file_len = file;
    }
    op->u.fetch.data = buf;
    op->u.fetch.data_len = sl->bytes;
    return 0;
}

struct rb_fetch_out {
    struct rb_request *req;
    uint8_t *tags; /* the records of pops[i] point at tags + i */
    struct rb_pop **pops;
    int n, cap;
};

struct rb_fetch_out *rb_fetch_out_new(struct rb_request *req, int n_pops)
{
    struct rb_fetch_out *fo = rb_req_alloc(req, 1, sizeof(*fo));
    fo->req = req;
    fo->cap = n_pops;
    fo->tags = rb_req_alloc(req, (size_t)RB_MAX(n_pops, 1), 1);
    fo->pops = rb_req_alloc(req, (size_t)RB_MAX(n_pops, 1), sizeof(*fo->pops));
    return fo;
}

struct rb_bytes rb_fetch_out_records(struct rb_fetch_out *fo, struct rb_pop *op)
{
    if (!op->u.fetch.file_len)
        return (struct rb_bytes){op->u.fetch.data, (int32_t)op->u.fetch.data_len};
    RB_ASSERT(fo->n < fo->cap);
    fo->pops[fo->n] = op;
    return (struct rb_bytes){fo->tags + fo->n++, (int32_t)op->u.fetch.data_len};
}

static void defer_records(struct rb_writer *w, const uint8_t *p, size_t n, void *arg)
{
    struct rb_fetch_out *fo = arg;
    struct rb_request *req = fo->req;
    struct rb_pop *op = fo->pops[p - fo->tags];
    RB_ASSERT(op && n == op->u.fetch.data_len && op->u.fetch.file_len);
    struct rb_resp_ext *e = &req->ext[req->n_ext++];
    *e = (struct rb_resp_ext){.at = w->len,
                              .fd = op->u.fetch.file_fd,
                              .file_pos = op->u.fetch.file_pos,
                              .file_len = op->u.fetch.file_len,
                              .mem = op->u.fetch.data,
                              .mem_len = op->u.fetch.data_len - op->u.fetch.file_len,
                              .owner = op->shard,
                              .partition = op->partition,
                              .topic = op->topic};
    req->ext_bytes += n;
    fo->pops[p - fo->tags] = NULL;
    op->u.fetch.data = NULL;
    op->u.fetch.data_len = 0;
    op->u.fetch.file_len = 0;
    op->u.fetch.file_fd = -1;
}

void rb_fetch_out_encode_begin(struct rb_fetch_out *fo)
{
    struct rb_request *req = fo->req;
    if (!fo->n)
        return;
    RB_ASSERT(req->n_ext == 0);
    req->ext = rb_req_alloc(req, (size_t)fo->n, sizeof(*req->ext));
    req->out.defer_lo = fo->tags;
    req->out.defer_hi = fo->tags + fo->n;
    req->out.defer_fn = defer_records;
    req->out.defer_arg = fo;
}

void rb_fetch_out_encode_end(struct rb_fetch_out *fo)
{
    struct rb_writer *w = &fo->req->out;
    w->defer_lo = w->defer_hi = NULL;
    w->defer_fn = NULL;
    w->defer_arg = NULL;
}

struct read_failed {
    char *topic;
    int32_t partition;
    int err;
};

static void read_failed_on_owner(struct rb_shard *s, void *arg)
{
    struct read_failed *rf = arg;
    struct rb_net *n = s->net;
    struct rb_partition *p = rb_ptable_get(&n->parts, rf->topic, strlen(rf->topic), rf->partition);
    if (p) {
        RB_ERROR(COMP, "partition %s-%d is offline: a read of its log failed: %s", rf->topic,
                 rf->partition, strerror(-rf->err));
        rb_log_read_failed(rb_partition_log(p), rf->err);
    }
    free(rf->topic);
    free(rf);
}

void rb_fetch_read_failed(struct rb_shard *s, const struct rb_resp_ext *e, int err)
{
    struct read_failed *rf = calloc(1, sizeof(*rf));
    if (rf)
        rf->topic = strdup(e->topic ? e->topic : "");
    if (!rf || !rf->topic) {
        free(rf);
        RB_ERROR(COMP, "%s-%d: read failed (%s); out of memory to report it", e->topic,
                 e->partition, strerror(-err));
        return;
    }
    rf->partition = e->partition;
    rf->err = err;
    rb_post(s, e->owner, read_failed_on_owner, rf);
}
