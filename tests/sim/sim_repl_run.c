/*
 * tests/sim/sim_repl_run.c - sim(repl)'s seed runner (each seed in a forked
 * child: a crashed broker lifetime is left as it was, never freed, and the child
 * exits without teardown) and the part/ read both its leader side (a replica
 * fetch, as net/h_fetch.c asks part/read.c) and its consumer use.
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
    memset(rd, 0, sizeof(*rd));
    memset(&set, 0, sizeof(set));
    rd->it.key = sr_key();
    rd->offset = offset;
    rd->max_bytes = (int32_t)(1024 + sim_below(32768));
    rd->replica = replica_id >= 0;
    rd->replica_id = replica_id;
    rd->check_epoch = replica_id >= 0;
    rd->current_leader_epoch = cur_epoch;
    rd->last_fetched_epoch = last_epoch;
    set.items = items;
    set.n = 1;
    set.deadline_ms = inc->shard.now_ms;
    set.min_bytes = 0;
    set.max_bytes = rd->max_bytes;
    set.done = read_done;
    set.done_arg = &calls;
    rb_part_read_start(inc->ps, &set);
    RB_ASSERT(calls == 1);
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
