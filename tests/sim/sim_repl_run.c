/*
 * tests/sim/sim_repl_run.c - sim(repl)'s seed runner (each seed in a forked
 * child: a crashed broker lifetime is left as it was, never freed, and the child
 * exits without teardown) and the part/ reads: a follower's fetch on the leader
 * as net/h_fetch.c asks part/read.c (a long poll: parked until data is written
 * or its deadline) and a consumer's (answered at once).
 */
#include "core/rb.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void fill(struct rb_part_read *rd, struct rb_part_read_set *set, int32_t replica_id,
                 int64_t offset, int32_t cur_epoch, int32_t last_epoch)
{
    memset(rd, 0, sizeof(*rd));
    memset(set, 0, sizeof(*set));
    rd->it.key = sr_key();
    rd->offset = offset;
    rd->max_bytes = (int32_t)(1024 + sim_below(32768));
    rd->replica = replica_id >= 0;
    rd->replica_id = replica_id;
    rd->check_epoch = replica_id >= 0;
    rd->current_leader_epoch = cur_epoch;
    rd->last_fetched_epoch = last_epoch;
    set->n = 1;
    set->max_bytes = rd->max_bytes;
}

/* The bytes of an answered read (a descriptor's, then memory) into *out. */
static void copy_out(struct rb_part_read *rd, uint8_t **out, uint32_t *len)
{
    *len = rd->data.len;
    *out = NULL;
    if (rd->data.len) {
        *out = malloc(rd->data.len);
        RB_ASSERT(*out);
        uint32_t fl = rd->data.file_len;
        if (fl)
            RB_ASSERT(pread(rd->data.file_fd, *out, fl, (off_t)rd->data.file_pos) == (ssize_t)fl);
        if (rd->data.len > fl)
            memcpy(*out + fl, rd->data.mem, rd->data.len - fl);
    }
    rb_part_data_clear(&rd->data);
}

static void read_done(struct rb_shard *s, struct rb_part_read_set *set, void *arg)
{
    (void)s;
    (void)set;
    (*(int *)arg)++;
}

void sr_read_part(struct sr_inc *inc, struct rb_part_read *rd, int32_t replica_id, int64_t offset,
                  int32_t cur_epoch, int32_t last_epoch, uint8_t **out, uint32_t *len)
{
    struct rb_part_read *items[1] = {rd};
    struct rb_part_read_set set;
    int calls = 0;
    fill(rd, &set, replica_id, offset, cur_epoch, last_epoch);
    set.items = items;
    set.deadline_ms = inc->shard.now_ms;
    set.min_bytes = 0;
    set.done = read_done;
    set.done_arg = &calls;
    rb_part_read_start(inc->ps, &set);
    RB_ASSERT(calls == 1);
    copy_out(rd, out, len);
}

/* A long poll parked on the leader: heap, freed when answered (never, when its
 * broker crashed first). */
struct poll {
    struct rb_part_read rd;
    struct rb_part_read *items[1];
    struct rb_part_read_set set;
    sr_poll_fn fn;
    struct sr_poll_ctx ctx;
};

static void poll_done(struct rb_shard *s, struct rb_part_read_set *set, void *arg)
{
    (void)s;
    (void)set;
    struct poll *q = arg;
    uint8_t *out;
    uint32_t len;
    copy_out(&q->rd, &out, &len);
    q->fn(&q->ctx, &q->rd, out, len);
    free(q);
}

void sr_read_poll(struct sr_inc *inc, int32_t replica_id, int64_t offset, int32_t cur_epoch,
                  int32_t last_epoch, int64_t wait_ms, sr_poll_fn fn, const struct sr_poll_ctx *ctx)
{
    struct poll *q = calloc(1, sizeof(*q));
    RB_ASSERT(q);
    fill(&q->rd, &q->set, replica_id, offset, cur_epoch, last_epoch);
    q->items[0] = &q->rd;
    q->set.items = q->items;
    q->set.deadline_ms = inc->shard.now_ms + wait_ms;
    q->set.min_bytes = wait_ms > 0 ? 1 : 0;
    q->set.done = poll_done;
    q->set.done_arg = q;
    q->fn = fn;
    q->ctx = *ctx;
    rb_part_read_start(inc->ps, &q->set);
}

struct sr_result {
    int rc;
    uint64_t fingerprint, acked, committed;
    char why[200];
};

int sim_repl_seed(uint64_t seed, const char *root, char *why, size_t whylen, uint64_t *fp,
                  uint64_t *acked)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/repl-%llu", root, (unsigned long long)seed);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd)) {
    }
    (void)mkdir(dir, 0755);
    int pfd[2];
    RB_ASSERT(pipe(pfd) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    RB_ASSERT(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        struct sr_result r = {0};
        r.rc = sr_run(seed, dir, r.why, sizeof(r.why), &r.fingerprint);
        r.acked = sr_check_acked();
        r.committed = (uint64_t)sr_check_committed_end();
        SIM_LOG("seed %llu: %llu acknowledged, committed end %llu", (unsigned long long)seed,
                (unsigned long long)r.acked, (unsigned long long)r.committed);
        if (write(pfd[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(3);
        fflush(stderr);
        _exit(0); /* no teardown: crashed lifetimes are left as they were */
    }
    close(pfd[1]);
    struct sr_result r = {0};
    ssize_t got = read(pfd[0], &r, sizeof(r));
    close(pfd[0]);
    int st = 0;
    (void)waitpid(pid, &st, 0);
    if (got != (ssize_t)sizeof(r) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, whylen, "the run died (status 0x%x)", st);
        r.rc = 1;
    } else {
        snprintf(why, whylen, "%s", r.why);
    }
    *fp = r.fingerprint;
    *acked = r.acked;
    if (system(cmd)) {
    }
    return r.rc;
}
