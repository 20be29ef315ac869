/*
 * storage/epoch_cache.c - the leader epoch cache of one partition and Kafka's
 * leader-epoch-checkpoint file (see storage/epoch_cache.h): assignment with
 * Kafka's conflict rule, end offsets for OffsetForLeaderEpoch, truncation from
 * either end, and the text format (strict parse: the version, the count and every
 * line must be there and well formed, or the whole file is refused).
 */
#include "storage/epoch_cache.h"

#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A checkpoint holding more entries than this is refused as garbled. */
#define EPOCH_FILE_MAX_BYTES (1u << 20)

void rb_epoch_cache_free(struct rb_epoch_cache *c)
{
    free(c->e);
    *c = (struct rb_epoch_cache){0};
}

void rb_epoch_cache_clear(struct rb_epoch_cache *c)
{
    if (c->n) {
        c->dirty = true;
        c->gen++;
    }
    c->n = 0;
}

static int push(struct rb_epoch_cache *c, int32_t epoch, int64_t offset)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 8;
        struct rb_epoch_entry *e = realloc(c->e, (size_t)cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        c->e = e;
        c->cap = cap;
    }
    c->e[c->n++] = (struct rb_epoch_entry){epoch, offset};
    c->dirty = true;
    c->gen++;
    return 0;
}

int rb_epoch_cache_assign(struct rb_epoch_cache *c, int32_t epoch, int64_t offset)
{
    if (epoch < 0 || offset < 0)
        return 0;
    if (c->n > 0) {
        const struct rb_epoch_entry *l = &c->e[c->n - 1];
        if (l->epoch == epoch && offset >= l->start_offset)
            return 0; /* the latest epoch continues */
    }
    if (c->n == c->cap) { /* room first: a failure changes nothing */
        int err = push(c, 0, 0);
        if (err)
            return err;
        c->n--;
    }
    /* Kafka: entries a new one contradicts (not older, or not starting below it) go */
    while (c->n > 0 && (c->e[c->n - 1].epoch >= epoch || c->e[c->n - 1].start_offset >= offset))
        c->n--;
    return push(c, epoch, offset);
}

int32_t rb_epoch_cache_latest(const struct rb_epoch_cache *c, int64_t *start)
{
    if (c->n == 0) {
        if (start)
            *start = -1;
        return RB_EPOCH_UNDEFINED;
    }
    if (start)
        *start = c->e[c->n - 1].start_offset;
    return c->e[c->n - 1].epoch;
}

void rb_epoch_cache_end_offset(const struct rb_epoch_cache *c, int32_t epoch, int64_t log_end,
                               int32_t *epoch_out, int64_t *end_out)
{
    *epoch_out = RB_EPOCH_UNDEFINED;
    *end_out = -1;
    if (epoch < 0 || c->n == 0)
        return;
    if (c->e[c->n - 1].epoch == epoch) {
        *epoch_out = epoch;
        *end_out = log_end;
        return;
    }
    int hi = 0; /* the first entry with a higher epoch */
    while (hi < c->n && c->e[hi].epoch <= epoch)
        hi++;
    if (hi == c->n)
        return; /* newer than anything we know */
    *epoch_out = hi == 0 ? epoch : c->e[hi - 1].epoch;
    *end_out = c->e[hi].start_offset;
}

int32_t rb_epoch_cache_epoch_for(const struct rb_epoch_cache *c, int64_t offset)
{
    int32_t epoch = RB_EPOCH_UNDEFINED;
    for (int i = 0; i < c->n && c->e[i].start_offset <= offset; i++)
        epoch = c->e[i].epoch;
    return epoch;
}

void rb_epoch_cache_truncate_end(struct rb_epoch_cache *c, int64_t end)
{
    if (end < 0)
        return;
    while (c->n > 0 && c->e[c->n - 1].start_offset >= end) {
        c->n--;
        c->dirty = true;
        c->gen++;
    }
}

void rb_epoch_cache_truncate_start(struct rb_epoch_cache *c, int64_t start)
{
    int keep = 0; /* the last entry starting at or below start holds it */
    while (keep + 1 < c->n && c->e[keep + 1].start_offset <= start)
        keep++;
    if (c->n == 0 || c->e[keep].start_offset > start)
        return;
    if (keep > 0) {
        memmove(c->e, c->e + keep, (size_t)(c->n - keep) * sizeof(*c->e));
        c->n -= keep;
        c->dirty = true;
        c->gen++;
    }
    if (c->e[0].start_offset < start) {
        c->e[0].start_offset = start;
        c->dirty = true;
        c->gen++;
    }
}

int rb_epoch_cache_format(const struct rb_epoch_cache *c, char *buf, size_t cap)
{
    size_t len = 0;
    int w = snprintf(buf, cap, "0\n%d\n", c->n);
    if (w < 0 || (size_t)w >= cap)
        return -ENOSPC;
    len = (size_t)w;
    for (int i = 0; i < c->n; i++) {
        w = snprintf(buf + len, cap - len, "%" PRId32 " %" PRId64 "\n", c->e[i].epoch,
                     c->e[i].start_offset);
        if (w < 0 || (size_t)w >= cap - len)
            return -ENOSPC;
        len += (size_t)w;
    }
    return (int)len;
}

/* One line of text from *pos (without its '\n', which must be there). */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *nl = *pos < len ? memchr(text + *pos, '\n', len - *pos) : NULL;
    if (!nl)
        return false;
    *line = text + *pos;
    *n = (size_t)(nl - *line);
    *pos = (size_t)(nl - text) + 1;
    return true;
}

/* A decimal integer in [lo, hi] filling s[0..n) exactly (Kafka: Integer/Long.parseInt). */
static bool parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    char tmp[24];
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    size_t i = tmp[0] == '-' ? 1 : 0;
    if (i == n)
        return false;
    for (size_t j = i; j < n; j++)
        if (tmp[j] < '0' || tmp[j] > '9')
            return false;
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int garbled(struct rb_epoch_cache *c, const char *what, int line, const char *why)
{
    RB_WARN("storage", "%s: line %d: %s: leader epoch checkpoint ignored", what, line, why);
    c->n = 0;
    return -EINVAL;
}

int rb_epoch_cache_parse(struct rb_epoch_cache *c, const char *text, size_t len, const char *what)
{
    c->n = 0;
    size_t pos = 0, n;
    const char *line;
    int64_t v, count;
    if (!next_line(text, len, &pos, &line, &n) || !parse_int(line, n, 0, 0, &v))
        return garbled(c, what, 1, "not version 0");
    if (!next_line(text, len, &pos, &line, &n) || !parse_int(line, n, 0, INT32_MAX, &count))
        return garbled(c, what, 2, "bad entry count");
    for (int64_t i = 0; i < count; i++) {
        int ln = (int)i + 3;
        if (!next_line(text, len, &pos, &line, &n))
            return garbled(c, what, ln, "missing entry");
        /* Kafka splits on whitespace runs; we write one space */
        size_t a = 0;
        while (a < n && line[a] != ' ' && line[a] != '\t')
            a++;
        size_t b = a;
        while (b < n && (line[b] == ' ' || line[b] == '\t'))
            b++;
        int64_t epoch, off;
        if (a == b || !parse_int(line, a, 0, INT32_MAX, &epoch) ||
            !parse_int(line + b, n - b, 0, INT64_MAX, &off))
            return garbled(c, what, ln, "bad entry");
        if (c->n > 0 && (epoch <= c->e[c->n - 1].epoch || off < c->e[c->n - 1].start_offset))
            return garbled(c, what, ln, "entries not ascending");
        if (push(c, (int32_t)epoch, off))
            return c->n = 0, -ENOMEM;
    }
    if (pos != len)
        return garbled(c, what, (int)count + 3, "data after the entries");
    c->dirty = false;
    return 0;
}

static int epoch_path(char *buf, size_t cap, const char *dir)
{
    int w = snprintf(buf, cap, "%s/%s", dir, RB_EPOCH_CKPT_NAME);
    return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

int rb_epoch_cache_read(struct rb_epoch_cache *c, const char *dir)
{
    char path[4096];
    int err = epoch_path(path, sizeof(path), dir);
    c->n = 0;
    if (err)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* sized by the file (a few bytes as a rule; one spare byte shows growth), not
     * by the limit: 10,000 partitions open at start */
    struct stat st;
    size_t cap = EPOCH_FILE_MAX_BYTES;
    if (fstat(fd, &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size < EPOCH_FILE_MAX_BYTES)
        cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap && cap < EPOCH_FILE_MAX_BYTES) { /* grew since the fstat */
            size_t ncap = RB_MIN((size_t)EPOCH_FILE_MAX_BYTES, cap * 2);
            char *nb = realloc(buf, ncap);
            if (!nb) {
                err = -ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = -errno;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == EPOCH_FILE_MAX_BYTES) {
            err = garbled(c, path, 0, "too large");
            break;
        }
    }
    close(fd);
    if (!err)
        err = rb_epoch_cache_parse(c, buf, len, path);
    free(buf);
    return err;
}

static int epoch_write(const struct rb_epoch_cache *c, const char *dir, unsigned flags)
{
    char path[4096];
    int err = epoch_path(path, sizeof(path), dir);
    if (err)
        return err;
    size_t cap = 32 + (size_t)c->n * 32;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    int len = rb_epoch_cache_format(c, buf, cap);
    RB_ASSERT(len >= 0);
    err = rb_file_write_tmp(path, buf, (size_t)len, flags);
    free(buf);
    return err;
}

int rb_epoch_cache_write(struct rb_epoch_cache *c, const char *dir)
{
    int err = epoch_write(c, dir, RB_FILE_SYNC | RB_FILE_PUBLISH);
    if (!err)
        c->dirty = false;
    return err;
}

int rb_epoch_cache_write_tmp(const struct rb_epoch_cache *c, const char *dir)
{
    return epoch_write(c, dir, 0);
}

int rb_epoch_cache_publish_tmp(struct rb_epoch_cache *c, const char *dir)
{
    char path[4096];
    int err = epoch_path(path, sizeof(path), dir);
    if (!err)
        err = rb_file_publish_tmp(path);
    if (!err)
        c->dirty = false;
    return err;
}
