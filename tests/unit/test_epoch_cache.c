/*
 * tests/unit/test_epoch_cache.c - storage/epoch_cache.c: Kafka's leader epoch
 * cache rules (assign with conflicts, end offsets for OffsetForLeaderEpoch,
 * truncation from either end) and the leader-epoch-checkpoint file: Kafka's exact
 * text, a round trip through the file, torn and garbled files refused.
 */
#include "core/rb.h"
#include "storage/epoch_cache.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-epoch-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(epoch, .init = setup, .fini = teardown);

static void expect(const struct rb_epoch_cache *c, int n, const int32_t *ep, const int64_t *off)
{
    cr_assert_eq(c->n, n, "entries %d, want %d", c->n, n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(c->e[i].epoch, ep[i], "entry %d epoch %d want %d", i, c->e[i].epoch, ep[i]);
        cr_assert_eq(c->e[i].start_offset, off[i], "entry %d start", i);
    }
}

static void write_text(const char *text)
{
    char p[200];
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_EPOCH_CKPT_NAME);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(epoch, assign_keeps_kafkas_order_and_conflict_rule)
{
    struct rb_epoch_cache c = {0};
    cr_assert_eq(rb_epoch_cache_assign(&c, -1, 0), 0); /* batches without an epoch */
    cr_assert_eq(c.n, 0);
    cr_assert_eq(rb_epoch_cache_assign(&c, 0, 0), 0);
    cr_assert_eq(rb_epoch_cache_assign(&c, 0, 7), 0); /* same epoch continues */
    cr_assert_eq(rb_epoch_cache_assign(&c, 2, 10), 0);
    cr_assert_eq(rb_epoch_cache_assign(&c, 5, 30), 0);
    expect(&c, 3, (int32_t[]){0, 2, 5}, (int64_t[]){0, 10, 30});
    int64_t s;
    cr_assert_eq(rb_epoch_cache_latest(&c, &s), 5);
    cr_assert_eq(s, 30);
    /* an older epoch at a later offset: the newer entries go (Kafka warns, we obey) */
    cr_assert_eq(rb_epoch_cache_assign(&c, 3, 40), 0);
    expect(&c, 3, (int32_t[]){0, 2, 3}, (int64_t[]){0, 10, 40});
    /* a newer epoch at an offset below the latest start drops that entry */
    cr_assert_eq(rb_epoch_cache_assign(&c, 4, 20), 0);
    expect(&c, 3, (int32_t[]){0, 2, 4}, (int64_t[]){0, 10, 20});
    /* the latest epoch again from a lower offset moves its start down */
    cr_assert_eq(rb_epoch_cache_assign(&c, 4, 15), 0);
    expect(&c, 3, (int32_t[]){0, 2, 4}, (int64_t[]){0, 10, 15});
    rb_epoch_cache_free(&c);
}

Test(epoch, end_offsets_answer_as_kafka)
{
    struct rb_epoch_cache c = {0};
    int32_t e;
    int64_t o;
    rb_epoch_cache_end_offset(&c, 0, 100, &e, &o);
    cr_assert(e == -1 && o == -1, "empty cache: undefined");
    rb_epoch_cache_assign(&c, 1, 10);
    rb_epoch_cache_assign(&c, 3, 50);
    rb_epoch_cache_assign(&c, 4, 80);
    rb_epoch_cache_end_offset(&c, 4, 100, &e, &o);
    cr_assert(e == 4 && o == 100, "latest: the log end (%d %ld)", e, (long)o);
    rb_epoch_cache_end_offset(&c, 3, 100, &e, &o);
    cr_assert(e == 3 && o == 80);
    rb_epoch_cache_end_offset(&c, 2, 100, &e, &o);
    cr_assert(e == 1 && o == 50, "a gap: the floor epoch, the next start (%d %ld)", e, (long)o);
    rb_epoch_cache_end_offset(&c, 0, 100, &e, &o);
    cr_assert(e == 0 && o == 10, "older than the oldest: itself, the oldest's start");
    rb_epoch_cache_end_offset(&c, 5, 100, &e, &o);
    cr_assert(e == -1 && o == -1, "newer than the latest: undefined");
    rb_epoch_cache_end_offset(&c, -1, 100, &e, &o);
    cr_assert(e == -1 && o == -1);
    rb_epoch_cache_free(&c);
}

Test(epoch, truncate_from_end_and_start)
{
    struct rb_epoch_cache c = {0};
    rb_epoch_cache_assign(&c, 1, 0);
    rb_epoch_cache_assign(&c, 2, 10);
    rb_epoch_cache_assign(&c, 3, 20);
    rb_epoch_cache_assign(&c, 6, 30);
    c.dirty = false;
    rb_epoch_cache_truncate_end(&c, 31); /* above every start: nothing */
    cr_assert_eq(c.n, 4);
    cr_assert(!c.dirty);
    rb_epoch_cache_truncate_end(&c, 20);
    expect(&c, 2, (int32_t[]){1, 2}, (int64_t[]){0, 10});
    cr_assert(c.dirty);
    rb_epoch_cache_assign(&c, 7, 20);
    rb_epoch_cache_truncate_start(&c, 5); /* inside epoch 1 */
    expect(&c, 3, (int32_t[]){1, 2, 7}, (int64_t[]){5, 10, 20});
    rb_epoch_cache_truncate_start(&c, 10); /* exactly at epoch 2's start */
    expect(&c, 2, (int32_t[]){2, 7}, (int64_t[]){10, 20});
    rb_epoch_cache_truncate_start(&c, 25);
    expect(&c, 1, (int32_t[]){7}, (int64_t[]){25});
    rb_epoch_cache_truncate_end(&c, 0);
    cr_assert_eq(c.n, 0);
    rb_epoch_cache_truncate_start(&c, 50); /* empty: nothing to do */
    cr_assert_eq(c.n, 0);
    rb_epoch_cache_free(&c);
}

Test(epoch, file_is_kafkas_text_and_round_trips)
{
    struct rb_epoch_cache c = {0}, r = {0};
    rb_epoch_cache_assign(&c, 0, 0);
    rb_epoch_cache_assign(&c, 3, 1234);
    rb_epoch_cache_assign(&c, 2147483647, 9223372036854775806LL);
    cr_assert_eq(rb_epoch_cache_write(&c, g_dir), 0);
    cr_assert(!c.dirty);
    char p[200], buf[256];
    snprintf(p, sizeof(p), "%s/leader-epoch-checkpoint", g_dir);
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    cr_assert(n > 0);
    buf[n] = 0;
    cr_assert_str_eq(buf, "0\n3\n0 0\n3 1234\n2147483647 9223372036854775806\n");
    cr_assert_eq(access(strcat(p, ".tmp"), F_OK), -1, "no temp file left");
    cr_assert_eq(rb_epoch_cache_read(&r, g_dir), 0);
    expect(&r, 3, (int32_t[]){0, 3, 2147483647}, (int64_t[]){0, 1234, 9223372036854775806LL});
    /* an empty cache is "0\n0\n" and reads back empty */
    rb_epoch_cache_clear(&c);
    cr_assert_eq(rb_epoch_cache_write(&c, g_dir), 0);
    cr_assert_eq(rb_epoch_cache_read(&r, g_dir), 0);
    cr_assert_eq(r.n, 0);
    rb_epoch_cache_free(&c);
    rb_epoch_cache_free(&r);
}

Test(epoch, file_written_by_kafka_reads)
{
    /* Kafka 4.x LeaderEpochCheckpointFile output for a partition led three times */
    write_text("0\n3\n0 0\n1 152\n4 9000\n");
    struct rb_epoch_cache r = {0};
    cr_assert_eq(rb_epoch_cache_read(&r, g_dir), 0);
    expect(&r, 3, (int32_t[]){0, 1, 4}, (int64_t[]){0, 152, 9000});
    /* Kafka's reader splits on whitespace runs */
    write_text("0\n1\n7  42\n");
    cr_assert_eq(rb_epoch_cache_read(&r, g_dir), 0);
    expect(&r, 1, (int32_t[]){7}, (int64_t[]){42});
    rb_epoch_cache_free(&r);
}

Test(epoch, torn_or_garbled_files_are_refused_whole)
{
    static const char *bad[] = {
        "",                               /* empty (torn before the first byte reached disk) */
        "0\n",                            /* torn after the version */
        "0\n2\n0 0\n",                    /* fewer entries than counted */
        "0\n2\n0 0\n3 12",                /* last line without its newline */
        "1\n1\n0 0\n",                    /* unknown version */
        "0\n1\n0 x\n",                    /* not a number */
        "0\n1\n0\n",                      /* one field */
        "0\n1\n-1 0\n",                   /* negative epoch */
        "0\n1\n0 -5\n",                   /* negative offset */
        "0\n2\n3 10\n2 20\n",             /* epochs going down */
        "0\n2\n2 20\n3 10\n",             /* offsets going down */
        "0\n1\n0 0\n1 5\n",               /* more lines than counted */
        "0\n-1\n",                        /* negative count */
        "0\n1\n0 99999999999999999999\n", /* offset overflow */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(bad[i]);
        struct rb_epoch_cache r = {0};
        rb_epoch_cache_assign(&r, 9, 9); /* replaced, not merged */
        cr_assert_eq(rb_epoch_cache_read(&r, g_dir), -EINVAL, "case %zu accepted", i);
        cr_assert_eq(r.n, 0, "case %zu left entries", i);
        rb_epoch_cache_free(&r);
    }
    struct rb_epoch_cache r = {0};
    char p[200];
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_EPOCH_CKPT_NAME);
    unlink(p);
    cr_assert_eq(rb_epoch_cache_read(&r, g_dir), -ENOENT);
    rb_epoch_cache_free(&r);
}
