/*
 * part/vthread.c - the validator thread: big compressed batches are decompressed
 * and deep-validated (Produce validation), or rebuilt for compression.type (the
 * owner's rebuild, into a malloc'd batch the append uses), off the shards (issue
 * 13 row 7), so one batch cannot hold a shard's other connections for the time it
 * takes to decompress up to the decompression cap (tens of milliseconds, seconds
 * on a loaded machine).
 *
 * It also scans the one batch of a ListOffsets lookup by timestamp (or
 * MAX_TIMESTAMP) whose records decompress to more than the shard does inline
 * (part/offsets.c, a job with tl set: storage/log_time.c's rb_log_time_scan over
 * bytes the owner read; the answer goes back in the lookup).
 *
 * Owns: the thread (one per broker, not pinned), its codec context, and per shard
 * a bounded submission ring (shard -> thread) and completion ring (thread ->
 * shard) of RB_VT_SLOTS jobs each, plus the shard's eventfd. A shard never waits:
 * a full ring is -EAGAIN (the request waits and tries again next turn, which is
 * the producer's back-pressure). The thread sleeps in read() on its own eventfd;
 * a shard writes it (non-blocking) after a push. The thread writes the shard's
 * eventfd after a completion; part/append.c keeps a read armed on it in the
 * shard's ring while jobs are out and calls each job's done callback there.
 * A job's bytes stay owned by the request, which is held while the job is out;
 * a stopping shard is not idle while it has jobs out (rb_part_idle), and the
 * thread is joined only after the shards stopped, so no job outlives its bytes.
 */
#include "core/rb.h"
#include "part/part_int.h"
#include "storage/compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RB_VT_SLOTS 8u

bool rb_part_vthread_enabled = true;
bool rb_part_vthread_sim;

struct vt_ring {
    _Alignas(64) atomic_uint head;
    _Alignas(64) atomic_uint tail;
    struct rb_part_vjob *slot[RB_VT_SLOTS];
};

struct vt_shard {
    struct vt_ring sub, done;
    int efd;                /* the thread writes it after a completion */
    _Atomic int64_t *gauge; /* the shard's rb_part_vt_mem (NULL: none) */
    unsigned out;           /* submitted, not reaped yet (the shard's): at most RB_VT_SLOTS */
};

struct rb_vthread {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int efd; /* the shards write it after a submission */
    int n;
    struct rb_codec_ctx *codec;
    atomic_ullong jobs; /* done, for tests and stats */
    struct vt_shard sh[];
};

static bool ring_push(struct vt_ring *q, struct rb_part_vjob *j)
{
    unsigned t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    unsigned h = atomic_load_explicit(&q->head, memory_order_acquire);
    if (t - h >= RB_VT_SLOTS)
        return false;
    q->slot[t % RB_VT_SLOTS] = j;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return true;
}

static struct rb_part_vjob *ring_pop(struct vt_ring *q)
{
    unsigned h = atomic_load_explicit(&q->head, memory_order_relaxed);
    unsigned t = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (h == t)
        return NULL;
    struct rb_part_vjob *j = q->slot[h % RB_VT_SLOTS];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return j;
}

static void efd_kick(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof(one)); /* waits only at a count of 2^64 - 1 */
    (void)r;
}

/* One job, with the thread's codec context: as rb_batch_deep_validate on the
 * shard would have done it. */
static void run_job_with(struct rb_codec_ctx *codec, struct rb_part_vjob *j, _Atomic int64_t *gauge)
{
    if (j->tl) { /* a ListOffsets scan: the answer goes into the lookup */
        int r = rb_log_time_scan(codec, j->tl, RB_DECOMP_CAP_MIN);
        RB_ASSERT(r == 0); /* under the full cap there is no "try larger" */
        j->out_bytes = codec ? rb_codec_last_out(codec) : 0;
        if (codec)
            rb_codec_trim(codec);
        j->status = RB_BATCH_OK;
        return;
    }
    struct rb_batch_info bi;
    struct rb_ts_range ts = {INT64_MAX, INT64_MIN};
    enum rb_batch_status st = rb_batch_parse(j->batch, j->len, &bi);
    if (st == RB_BATCH_OK && !codec)
        st = RB_BATCH_NOMEM;
    if (st == RB_BATCH_OK && j->rebuild) { /* a rebuild: its batch to keep */
        const uint8_t *o;
        struct rb_batch_info obi;
        st = rb_batch_recompress(codec, j->batch, &bi, j->target, j->cap, &o, &obi, &ts);
        j->out_bytes = rb_codec_last_out(codec);
        if (st == RB_BATCH_OK) {
            j->out_len = rb_batch_total_bytes(&obi);
            j->out = malloc(j->out_len);
            if (j->out) {
                memcpy(j->out, o, j->out_len);
                j->gauge = gauge; /* charged until rb_part_vjob_release */
                if (gauge)
                    atomic_fetch_add_explicit(gauge, (int64_t)j->out_len, memory_order_relaxed);
            } else {
                st = RB_BATCH_NOMEM;
            }
        }
        rb_codec_trim(codec);
    } else if (st == RB_BATCH_OK) {
        st = rb_batch_deep_validate(codec, j->batch, &bi, j->cap, &ts);
        j->out_bytes = rb_codec_last_out(codec);
        rb_codec_trim(codec); /* a bomb's scratch is not kept */
    }
    j->status = (int)st;
    j->ts_min = ts.min;
    j->ts_max = ts.max;
}

/* A job of shard i: the scratch it grows is charged to that shard meanwhile. */
static void run_job(struct rb_vthread *vt, int i, struct rb_part_vjob *j)
{
    if (vt->codec)
        rb_codec_set_gauge(vt->codec, vt->sh[i].gauge);
    run_job_with(vt->codec, j, vt->sh[i].gauge);
    if (vt->codec) {
        rb_codec_trim(vt->codec);
        rb_codec_set_gauge(vt->codec, NULL); /* what it keeps is the thread's */
    }
    atomic_fetch_add(&vt->jobs, 1);
}

static void *vt_main(void *arg)
{
    struct rb_vthread *vt = arg;
    for (;;) {
        bool any = false;
        for (int i = 0; i < vt->n; i++) {
            struct rb_part_vjob *j;
            while ((j = ring_pop(&vt->sh[i].sub))) {
                run_job(vt, i, j);
                /* at most RB_VT_SLOTS out per shard: the done ring has room */
                bool pushed = ring_push(&vt->sh[i].done, j);
                RB_ASSERT(pushed);
                efd_kick(vt->sh[i].efd);
                any = true;
            }
        }
        if (any)
            continue;
        if (atomic_load(&vt->stop))
            return NULL;
        uint64_t v;
        ssize_t r = read(vt->efd, &v, sizeof(v)); /* sleeps until a shard writes */
        (void)r;
    }
}

struct rb_vthread *rb_vthread_new(int n_shards)
{
    RB_ASSERT(n_shards > 0);
    struct rb_vthread *vt = calloc(1, sizeof(*vt) + (size_t)n_shards * sizeof(vt->sh[0]));
    if (!vt)
        return NULL;
    vt->n = n_shards;
    vt->efd = eventfd(0, EFD_CLOEXEC);
    for (int i = 0; i < n_shards; i++)
        vt->sh[i].efd = eventfd(0, EFD_CLOEXEC); /* read through the ring */
    vt->codec = rb_codec_ctx_new();
    bool ok = vt->efd >= 0 && vt->codec;
    for (int i = 0; i < n_shards; i++)
        ok = ok && vt->sh[i].efd >= 0;
    if (ok && pthread_create(&vt->thread, NULL, vt_main, vt) == 0) {
        vt->started = true;
        pthread_setname_np(vt->thread, "rb-validate");
        return vt;
    }
    rb_vthread_free(vt);
    return NULL;
}

void rb_vthread_free(struct rb_vthread *vt)
{
    if (!vt)
        return;
    if (vt->started) {
        atomic_store(&vt->stop, true);
        efd_kick(vt->efd);
        pthread_join(vt->thread, NULL); /* it finishes the jobs submitted before */
    }
    if (vt->efd >= 0)
        close(vt->efd);
    for (int i = 0; i < vt->n; i++)
        if (vt->sh[i].efd >= 0)
            close(vt->sh[i].efd);
    rb_codec_ctx_free(vt->codec);
    free(vt);
}

int rb_vthread_submit(struct rb_vthread *vt, int shard, struct rb_part_vjob *j)
{
    RB_ASSERT(shard >= 0 && shard < vt->n);
    struct vt_shard *sh = &vt->sh[shard];
    /* counting the finished ones not reaped yet: the done ring never overflows */
    if (sh->out >= RB_VT_SLOTS)
        return -EAGAIN;
    bool pushed = ring_push(&sh->sub, j);
    RB_ASSERT(pushed); /* it holds at most out jobs */
    sh->out++;
    efd_kick(vt->efd);
    return 0;
}

struct rb_part_vjob *rb_vthread_reap(struct rb_vthread *vt, int shard)
{
    RB_ASSERT(shard >= 0 && shard < vt->n);
    struct rb_part_vjob *j = ring_pop(&vt->sh[shard].done);
    if (j)
        vt->sh[shard].out--;
    return j;
}

int rb_vthread_efd(const struct rb_vthread *vt, int shard)
{
    RB_ASSERT(shard >= 0 && shard < vt->n);
    return vt->sh[shard].efd;
}

uint64_t rb_vthread_jobs(const struct rb_vthread *vt)
{
    return atomic_load(&vt->jobs);
}

/* ---- the shard's side ---- */

void rb_part_set_vthread(struct rb_part_shard *ps, struct rb_vthread *vt, int shard)
{
    RB_ASSERT(!vt || (shard >= 0 && shard < vt->n));
    ps->vt = vt;
    ps->vt_sim = !vt && rb_part_vthread_sim;
    ps->vt_idx = shard;
    if (vt)
        vt->sh[shard].gauge = &ps->vt_mem;
}

static void sim_back(struct rb_shard *s, void *arg)
{
    struct rb_part_shard *ps = s->part;
    struct rb_part_vjob *j = arg;
    RB_ASSERT(j->state == RB_VJOB_OUT && ps->vt_out > 0);
    ps->vt_out--;
    j->state = RB_VJOB_DONE;
    j->done(j);
}

static void arm_read(struct rb_part_shard *ps);

static void on_vt_read(struct rb_io *io, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct rb_part_shard *ps = RB_CONTAINER_OF(io, struct rb_part_shard, vt_io);
    ps->vt_armed = false;
    struct rb_part_vjob *j;
    while ((j = rb_vthread_reap(ps->vt, ps->vt_idx))) {
        RB_ASSERT(j->state == RB_VJOB_OUT && ps->vt_out > 0);
        ps->vt_out--;
        j->state = RB_VJOB_DONE;
        j->done(j); /* may submit again */
    }
    if (ps->vt_out > 0 && !ps->vt_armed)
        arm_read(ps);
}

static void arm_read(struct rb_part_shard *ps)
{
    struct io_uring_sqe *sqe = rb_sqe(ps->shard);
    io_uring_prep_read(sqe, rb_vthread_efd(ps->vt, ps->vt_idx), &ps->vt_buf, sizeof(ps->vt_buf), 0);
    ps->vt_io.cb = on_vt_read;
    rb_sqe_set_io(sqe, &ps->vt_io);
    ps->vt_armed = true;
}

int rb_part_vjob_submit(struct rb_part_shard *ps, struct rb_part_vjob *j)
{
    RB_ASSERT((ps->vt || ps->vt_sim) && j->state == RB_VJOB_WANTED && j->done);
    if (ps->mem_over && ps->vt_out > 0)
        return -EAGAIN; /* over the shard's budget: wait for the jobs out */
    if (ps->vt_sim) {   /* on the shard now, answered next turn; the same limit */
        if (ps->vt_out >= (int)RB_VT_SLOTS)
            return -EAGAIN;
        struct rb_codec_ctx *c = rb_part_codec(ps);
        run_job_with(c, j, &ps->vt_mem);
        if (c)
            rb_codec_trim(c);
        j->state = RB_VJOB_OUT;
        ps->vt_out++;
        rb_post(ps->shard, ps->shard->id, sim_back, j);
        return 0;
    }
    j->state = RB_VJOB_OUT;
    int r = rb_vthread_submit(ps->vt, ps->vt_idx, j);
    if (r) {
        j->state = RB_VJOB_WANTED;
        return r;
    }
    ps->vt_out++;
    if (!ps->vt_armed)
        arm_read(ps);
    return 0;
}

int64_t rb_part_vt_mem(const struct rb_part_shard *ps)
{
    return atomic_load_explicit((_Atomic int64_t *)&ps->vt_mem, memory_order_relaxed);
}

void rb_part_set_mem_over(struct rb_part_shard *ps, bool over)
{
    ps->mem_over = over;
}
