/*
 * storage/checkpoint.c - Kafka's offset checkpoint files (see checkpoint.h).
 *
 * Invariants: a written file always parses (count matches the lines); topic names
 * hold no whitespace (Kafka's legal characters), so one space separates fields.
 * Fault model: a file that does not parse is ignored with a warning: recovery then
 * treats every partition's recovery point as unknown (it validates the last
 * segment) and log start offsets as the first segment's base, both safe.
 */
#include "storage/checkpoint.h"

#include "core/file.h"
#include "core/logging.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rb_ckpt_add(struct rb_ckpt *c, const char *topic, int32_t partition, int64_t offset)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        struct rb_ckpt_entry *ne = realloc(c->e, (size_t)cap * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        c->e = ne;
        c->cap = cap;
    }
    char *t = strdup(topic);
    if (!t)
        return -ENOMEM;
    c->e[c->n++] = (struct rb_ckpt_entry){.topic = t, .partition = partition, .offset = offset};
    c->sorted = 0;
    return 0;
}

void rb_ckpt_free(struct rb_ckpt *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->e[i].topic);
    free(c->e);
    memset(c, 0, sizeof(*c));
}

static int cmp_entry(const void *a, const void *b)
{
    const struct rb_ckpt_entry *x = a, *y = b;
    int r = strcmp(x->topic, y->topic);
    if (r)
        return r;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

int64_t rb_ckpt_find(struct rb_ckpt *c, const char *topic, int32_t partition)
{
    if (c->n == 0)
        return -1;
    if (!c->sorted) {
        qsort(c->e, (size_t)c->n, sizeof(*c->e), cmp_entry);
        c->sorted = 1;
    }
    struct rb_ckpt_entry key = {.topic = (char *)topic, .partition = partition};
    const struct rb_ckpt_entry *e = bsearch(&key, c->e, (size_t)c->n, sizeof(*c->e), cmp_entry);
    return e ? e->offset : -1;
}

static int parse_line(char *line, struct rb_ckpt *c)
{
    char *save = NULL;
    char *t = strtok_r(line, " \t\r\n", &save);
    char *p = strtok_r(NULL, " \t\r\n", &save);
    char *o = strtok_r(NULL, " \t\r\n", &save);
    if (!t || !p || !o || strtok_r(NULL, " \t\r\n", &save))
        return -EINVAL;
    char *end;
    errno = 0;
    long part = strtol(p, &end, 10);
    if (errno || *end || part < 0 || part > INT32_MAX)
        return -EINVAL;
    long long off = strtoll(o, &end, 10);
    if (errno || *end || off < 0)
        return -EINVAL;
    return rb_ckpt_add(c, t, (int32_t)part, off);
}

int rb_ckpt_read(const char *path, struct rb_ckpt *c)
{
    char line[1024];
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int err = 0, lineno = 0;
    long count = -1, seen = 0;
    while (!err && fgets(line, sizeof(line), f)) {
        lineno++;
        if (lineno == 1)
            err = strtol(line, NULL, 10) == 0 && line[0] == '0' ? 0 : -EINVAL;
        else if (lineno == 2)
            err = (count = strtol(line, NULL, 10)) >= 0 ? 0 : -EINVAL;
        else if ((err = parse_line(line, c)) == 0)
            seen++;
    }
    fclose(f);
    if (!err && (lineno < 2 || seen != count))
        err = -EINVAL;
    if (err == -EINVAL)
        RB_WARN("storage", "%s: malformed checkpoint (line %d): ignored", path, lineno);
    return err;
}

/* Kafka's format: version 0, the entry count, one "topic partition offset" line
 * each. Returns the malloc'd text in *out (caller frees). */
static int format_body(const struct rb_ckpt *c, char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);
    if (!f)
        return -errno;
    fprintf(f, "0\n%d\n", c->n);
    for (int i = 0; i < c->n; i++)
        fprintf(f, "%s %" PRId32 " %" PRId64 "\n", c->e[i].topic, c->e[i].partition,
                c->e[i].offset);
    int err = ferror(f) ? -ENOMEM : 0;
    if (fclose(f) != 0 && !err)
        err = -ENOMEM;
    if (err)
        free(*out);
    return err;
}

int rb_ckpt_write(const char *dir, const char *name, const struct rb_ckpt *c)
{
    char path[4096], *body;
    size_t len;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int err = format_body(c, &body, &len);
    if (err)
        return err;
    err = rb_file_write_atomic(path, body, len);
    free(body);
    return err;
}

static struct {
    char dir[4096];
    struct rb_ckpt rp, ls, hw;
    int loaded;
} startup;

static void startup_load(const char *log_dir)
{
    char path[4200];
    if (startup.loaded && strcmp(startup.dir, log_dir) == 0)
        return;
    rb_ckpt_free(&startup.rp);
    rb_ckpt_free(&startup.ls);
    rb_ckpt_free(&startup.hw);
    snprintf(startup.dir, sizeof(startup.dir), "%s", log_dir);
    snprintf(path, sizeof(path), "%s/%s", log_dir, RB_CKPT_RECOVERY_POINT);
    int rp_err = rb_ckpt_read(path, &startup.rp);
    if (rp_err)
        rb_ckpt_free(&startup.rp);
    snprintf(path, sizeof(path), "%s/%s", log_dir, RB_CKPT_LOG_START);
    if (rb_ckpt_read(path, &startup.ls))
        rb_ckpt_free(&startup.ls);
    snprintf(path, sizeof(path), "%s/%s", log_dir, RB_CKPT_HIGH_WATERMARK);
    int err = rb_ckpt_read(path, &startup.hw);
    if (err)
        rb_ckpt_free(&startup.hw);
    if (err == -ENOENT && rp_err != -ENOENT) /* not a fresh log dir */
        RB_WARN("storage", "%s: missing: high watermarks start at the log start offsets", path);
    else if (err && err != -ENOENT && err != -EINVAL) /* -EINVAL was warned about */
        RB_WARN("storage", "%s: %s: high watermarks start at the log start offsets", path,
                strerror(-err));
    startup.loaded = 1;
}

void rb_ckpt_startup_lookup(const char *log_dir, const char *topic, int32_t partition,
                            int64_t *recovery_point, int64_t *log_start_offset)
{
    startup_load(log_dir);
    *recovery_point = rb_ckpt_find(&startup.rp, topic, partition);
    *log_start_offset = rb_ckpt_find(&startup.ls, topic, partition);
}

int64_t rb_ckpt_startup_hw(const char *log_dir, const char *topic, int32_t partition)
{
    startup_load(log_dir);
    return rb_ckpt_find(&startup.hw, topic, partition);
}
