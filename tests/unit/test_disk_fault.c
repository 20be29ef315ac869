/*
 * tests/unit/test_disk_fault.c - the fault-injecting disk wrapper
 * (storage/disk_fault.c) around the simulated disk: writes pass through, the
 * first N syncs succeed, later ones complete with -EIO, never inline.
 */
#include "storage/disk_fault.h"
#include "storage/disk_sim.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct rec {
    struct rb_disk_op op;
    int calls, res;
};

static void rec_done(struct rb_disk_op *op, int res)
{
    struct rec *r = (struct rec *)op;
    r->calls++;
    r->res = res;
}

static int tmp_fd(char *path)
{
    snprintf(path, 64, "/tmp/rb-ut-dfault.XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    return fd;
}

Test(disk_fault, syncs_fail_after_n_writes_pass)
{
    struct rb_disk_sim *sim;
    char path[64];
    cr_assert_eq(rb_disk_sim_new(&sim), 0);
    int fd = tmp_fd(path);
    struct rb_disk d;
    cr_assert_eq(rb_disk_fault_wrap(rb_disk_sim_disk(sim), 2, &d), 0);
    for (int i = 0; i < 4; i++) {
        struct rec r = {.op.done = rec_done};
        d.ops->fdatasync(d.ctx, fd, &r.op);
        cr_assert_eq(r.calls, 0, "never inline");
        rb_disk_sim_run(sim);
        cr_assert_eq(r.calls, 1);
        cr_assert_eq(r.res, i < 2 ? 0 : -EIO, "sync %d: %d", i, r.res);
    }
    cr_assert_eq(rb_disk_fault_injected(d), 2);
    char buf[512] = "hello";
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct rec w = {.op.done = rec_done};
    d.ops->writev(d.ctx, fd, &iov, 1, 0, &w.op);
    rb_disk_sim_run(sim);
    cr_assert_eq(w.res, (int)sizeof(buf), "writes pass through: %d", w.res);
    cr_assert_eq(rb_disk_fault_injected(rb_disk_sim_disk(sim)), 0);
    close(fd);
    unlink(path);
    rb_disk_sim_free(sim);
}

Test(disk_fault, zero_fails_every_sync)
{
    struct rb_disk_sim *sim;
    char path[64];
    cr_assert_eq(rb_disk_sim_new(&sim), 0);
    int fd = tmp_fd(path);
    struct rb_disk d;
    cr_assert_eq(rb_disk_fault_wrap(rb_disk_sim_disk(sim), 0, &d), 0);
    struct rec r = {.op.done = rec_done};
    d.ops->fdatasync(d.ctx, fd, &r.op);
    rb_disk_sim_run(sim);
    cr_assert_eq(r.res, -EIO);
    close(fd);
    unlink(path);
    rb_disk_sim_free(sim);
}
