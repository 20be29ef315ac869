/*
 * net/fetch_out.c - the bytes of a fetch in the response, on the connection's
 * shard: the owner (part/read.c) hands each read back as memory it copied from the
 * tail cache and/or a dup() of a segment descriptor with position and length
 * (struct rb_part_data); this file places them in the response, sent by the
 * connection (net/resp_send.c).
 *
 * Placing: the response is encoded with the generated encoder; the records of
 * pops with bytes point at tags (one byte each in the request arena) that the
 * writer recognises (struct rb_writer defer_*): it copies nothing and records the
 * position, which becomes a struct rb_resp_ext owning the reference and bytes.
 * Memory-only data (the tail cache's copy) is deferred too (an entry without file
 * bytes, sent from the copy): copying MiBs of it into the response buffer cost a
 * copy and fresh pages per response on a catch-up read from memory.
 * Owns: the references and bytes handed over, until the request frees them.
 * Fault model: a file read that fails while sending is reported to the owner
 * shard (rb_fetch_read_failed), which takes the partition offline.
 */
#include "net/fanout.h"
#include "net/handlers.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

#define COMP "fetch"

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
    const struct rb_part_data *d = &op->u.fetch.data;
    if (!d->len)
        return (struct rb_bytes){d->mem, 0};
    RB_ASSERT(fo->n < fo->cap);
    fo->pops[fo->n] = op;
    return (struct rb_bytes){fo->tags + fo->n++, (int32_t)d->len};
}

static void defer_records(struct rb_writer *w, const uint8_t *p, size_t n, void *arg)
{
    struct rb_fetch_out *fo = arg;
    struct rb_request *req = fo->req;
    struct rb_pop *op = fo->pops[p - fo->tags];
    struct rb_part_data *d = &op->u.fetch.data;
    RB_ASSERT(op && n == d->len && (d->file_len || d->mem));
    struct rb_resp_ext *e = &req->ext[req->n_ext++];
    *e = (struct rb_resp_ext){.at = w->len,
                              .fd = d->file_fd,
                              .direct = d->file_direct,
                              .gen = d->file_gen,
                              .final = d->file_final,
                              .fd_ref = d->file_ref,
                              .file_pos = d->file_pos,
                              .file_len = d->file_len,
                              .mem = d->mem,
                              .mem_len = d->len - d->file_len,
                              .owner = op->fi.shard,
                              .partition = op->u.it.key.index,
                              .topic = op->u.it.key.topic};
    req->ext_bytes += n;
    fo->pops[p - fo->tags] = NULL;
    *d = (struct rb_part_data){.file_fd = -1}; /* the request owns them now */
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
    struct rb_part_key k = {rf->topic, strlen(rf->topic), rf->partition};
    rb_part_read_failed(rb_part_of(s), &k, rf->err);
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
