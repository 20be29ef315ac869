/*
 * coord/producer_ids.c - producer id blocks persisted in the first log dir, and the
 * round trip shard -> coordination thread -> shard (see producer_ids.h).
 *
 * Invariant: next <= end, and the file on disk says next.block.start >= end, so
 * every id below `end` handed out in this life is above every id of an earlier
 * life. Fault model: an unreadable or malformed file fails allocation (-EINVAL)
 * rather than risking reuse; a missing file starts at 0.
 */
#include "coord/producer_ids.h"
#include "coord/cluster_int.h"

#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "producer-ids"

void rb_pid_block_init(struct rb_pid_block *b, const char *dir)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->dir, sizeof(b->dir), "%s", dir);
}

static int pid_file_read(const char *dir, int64_t *start)
{
    char path[4200], buf[256];
    snprintf(path, sizeof(path), "%s/%s", dir, RB_PID_BLOCK_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return -errno;
        *start = 0;
        return 0;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    buf[n] = 0;
    const char *p = strstr(buf, "next.block.start=");
    char *end = NULL;
    if (!strstr(buf, "version=1\n") || !p)
        return -EINVAL;
    errno = 0;
    long long v = strtoll(p + strlen("next.block.start="), &end, 10);
    if (errno || v < 0 || *end != '\n')
        return -EINVAL;
    *start = v;
    return 0;
}

static int pid_file_write(const char *dir, int64_t start)
{
    char path[4200], buf[128];
    if (snprintf(path, sizeof(path), "%s/%s", dir, RB_PID_BLOCK_FILE) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int len = snprintf(buf, sizeof(buf), "version=1\nnext.block.start=%" PRId64 "\n", start);
    return rb_file_write_atomic(path, buf, (size_t)len);
}

int rb_pid_block_alloc(struct rb_pid_block *b, int64_t *id_out)
{
    if (!b->loaded) {
        int64_t start;
        int err = pid_file_read(b->dir, &start);
        if (err)
            return err;
        b->next = b->end = start;
        b->loaded = true;
    }
    if (b->next >= b->end) {
        if (b->next > INT64_MAX - RB_PID_BLOCK_SIZE)
            return -EOVERFLOW;
        int64_t end = b->next + RB_PID_BLOCK_SIZE;
        int err = pid_file_write(b->dir, end);
        if (err)
            return err;
        b->end = end;
    }
    *id_out = b->next++;
    return 0;
}

/* ---- shard <-> coord thread ---- */

struct pid_call {
    int origin;
    const char *dir;
    rb_pid_done_fn done;
    void *arg;
    int err;
    int64_t id;
};

static struct rb_pid_block g_block; /* coordination thread only */

static void pid_call_back(struct rb_shard *s, void *arg)
{
    struct pid_call *c = arg;
    c->done(s, c->err, c->id, c->arg);
    free(c);
}

static void pid_call_on_coord(struct rb_shard *cs, void *arg)
{
    struct pid_call *c = arg;
    struct rb_coord *co = cs->coord;
    if (co && co->cl) { /* a cluster: blocks from the quorum, unique across brokers */
        c->err = rb_cl_alloc_producer_id(co->cl, &c->id);
        if (c->err)
            RB_ERROR(COMP, "cannot allocate a producer id from the quorum: %s", strerror(-c->err));
        rb_post(cs, c->origin, pid_call_back, c);
        return;
    }
    if (!g_block.dir[0] || strcmp(g_block.dir, c->dir) != 0)
        rb_pid_block_init(&g_block, c->dir);
    c->err = rb_pid_block_alloc(&g_block, &c->id);
    if (c->err)
        RB_ERROR(COMP, "cannot allocate a producer id in %s: %s", c->dir, strerror(-c->err));
    rb_post(cs, c->origin, pid_call_back, c);
}

void rb_coord_alloc_producer_id(struct rb_shard *from, const char *dir, rb_pid_done_fn done,
                                void *arg)
{
    struct pid_call *c = calloc(1, sizeof(*c));
    if (!c) {
        done(from, -ENOMEM, -1, arg);
        return;
    }
    c->origin = from->id;
    c->dir = dir;
    c->done = done;
    c->arg = arg;
    c->id = -1;
    rb_post(from, from->rt->n_shards, pid_call_on_coord, c);
}
