/*
 * tests/sim/sim_records.c - record batches the simulated producers send, the
 * walker that checks what fetches return, and the ledger file (sim_work.h).
 */
#include "core/endian.h"
#include "core/rb.h"
#include "storage/batch.h"
#include "storage/compress.h"
#include "tests/sim/sim_work.h"
#include "tests/unit/storage_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ledger_fd = -1;

void sim_ledger_open(const char *dir)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/ledger", dir);
    ledger_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    RB_ASSERT(ledger_fd >= 0);
}

void sim_ledger_add(const struct sim_ledger_rec *r)
{
    RB_ASSERT(write(ledger_fd, r, sizeof(*r)) == (ssize_t)sizeof(*r));
}

int sim_ledger_load(const char *dir, struct sim_ledger_rec **out)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/ledger", dir);
    *out = NULL;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    RB_ASSERT(fstat(fd, &st) == 0);
    int n = (int)(st.st_size / (off_t)sizeof(struct sim_ledger_rec));
    *out = calloc((size_t)n + 1, sizeof(**out));
    RB_ASSERT(*out);
    RB_ASSERT(pread(fd, *out, (size_t)n * sizeof(**out), 0) ==
              (ssize_t)((size_t)n * sizeof(**out)));
    close(fd);
    return n;
}

/* The value of record n of producer tag: 0..40 bytes. */
static size_t value_of(uint32_t tag, uint32_t n, uint8_t *out)
{
    uint64_t x = ((uint64_t)tag << 32 | n) * 0x9e3779b97f4a7c15ull;
    size_t len = (size_t)(x >> 58) % 41;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(x >> (8 * (i % 8))) ^ (uint8_t)i;
    return len;
}

int sim_codec;

static struct rb_codec_ctx *codec_ctx(void)
{
    static struct rb_codec_ctx *c;
    if (!c)
        c = rb_codec_ctx_new();
    RB_ASSERT(c);
    return c;
}

size_t sim_batch_build(uint8_t *out, size_t cap, uint32_t tag, uint32_t first, int count,
                       int64_t producer_id, int16_t epoch, int32_t base_seq)
{
    size_t n = RB_BATCH_HEADER_BYTES;
    int64_t ts = rb_wall_ms();
    for (int i = 0; i < count; i++) {
        uint8_t key[8], val[64];
        rb_put_be32(key, tag);
        rb_put_be32(key + 4, first + (uint32_t)i);
        size_t vl = value_of(tag, first + (uint32_t)i, val);
        n += tu_record(out + n, 0, i, key, 8, val, (int32_t)vl, 0);
    }
    rb_put_be64(out + 0, 0);
    rb_put_be32(out + 8, (uint32_t)(n - 12));
    rb_put_be32(out + 12, 0);
    out[16] = 2;
    rb_put_be16(out + 21, 0);
    rb_put_be32(out + 23, (uint32_t)(count - 1));
    rb_put_be64(out + 27, (uint64_t)ts);
    rb_put_be64(out + 35, (uint64_t)ts);
    rb_put_be64(out + 43, (uint64_t)producer_id);
    rb_put_be16(out + 51, (uint16_t)(producer_id < 0 ? -1 : epoch));
    rb_put_be32(out + 53, (uint32_t)(producer_id < 0 ? -1 : base_seq));
    rb_put_be32(out + 57, (uint32_t)count);
    if (sim_codec) { /* the records compressed, as a client with compression.type does */
        uint8_t z[8192];
        size_t rl = n - RB_BATCH_HEADER_BYTES;
        RB_ASSERT(rb_compress_bound(sim_codec, rl) <= sizeof(z));
        int64_t zn =
            rb_compress(codec_ctx(), sim_codec, out + RB_BATCH_HEADER_BYTES, rl, z, sizeof(z));
        RB_ASSERT(zn > 0 && RB_BATCH_HEADER_BYTES + (size_t)zn <= cap);
        memcpy(out + RB_BATCH_HEADER_BYTES, z, (size_t)zn);
        n = RB_BATCH_HEADER_BYTES + (size_t)zn;
        rb_put_be32(out + 8, (uint32_t)(n - 12));
        rb_put_be16(out + 21, (uint16_t)sim_codec);
    }
    tu_fix_crc(out);
    return n;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static bool varint(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t z = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        z |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return true;
        }
    }
    return false;
}

static int walk_records(const uint8_t *p, const uint8_t *end, int64_t base, int count, int64_t pid,
                        sim_record_fn fn, void *arg)
{
    for (int i = 0; i < count; i++) {
        int64_t len, tsd, od, kl, vl, hc;
        if (!varint(&p, end, &len) || len < 0 || len > end - p)
            return -EBADMSG;
        const uint8_t *rend = p + len;
        p++; /* attributes */
        if (!varint(&p, rend, &tsd) || !varint(&p, rend, &od) || !varint(&p, rend, &kl) ||
            kl != 8 || rend - p < 8)
            return -EBADMSG;
        uint32_t tag = (uint32_t)be(p, 4), n = (uint32_t)be(p + 4, 4);
        p += 8;
        if (!varint(&p, rend, &vl) || vl < 0 || vl > rend - p)
            return -EBADMSG;
        uint8_t want[64];
        size_t wl = value_of(tag, n, want);
        if ((size_t)vl != wl || memcmp(p, want, wl)) {
            sim_fail("record at offset %lld (producer %u, record %u): wrong value",
                     (long long)(base + od), tag, n);
            return -EBADMSG;
        }
        p += vl;
        if (!varint(&p, rend, &hc) || hc != 0 || p != rend)
            return -EBADMSG;
        fn(arg, base + od, pid, tag, n);
    }
    return 0;
}

int sim_batches_walk(const uint8_t *buf, size_t len, sim_record_fn fn, void *arg)
{
    size_t off = 0;
    while (len - off >= RB_BATCH_HEADER_BYTES) {
        const uint8_t *b = buf + off;
        int64_t base = (int64_t)be(b, 8);
        uint32_t blen = (uint32_t)be(b + 8, 4);
        if (len - off - 12 < blen)
            break; /* truncated by the fetch size limit */
        uint32_t crc = (uint32_t)be(b + RB_BATCH_OFF_CRC, 4);
        if (rb_crc32c(0, b + RB_BATCH_OFF_ATTRIBUTES, 12 + blen - RB_BATCH_OFF_ATTRIBUTES) != crc) {
            sim_fail("batch at offset %lld: bad CRC", (long long)base);
            return -EBADMSG;
        }
        int count = (int)be(b + 57, 4);
        int64_t pid = (int64_t)be(b + 43, 8);
        const uint8_t *recs = b + RB_BATCH_HEADER_BYTES;
        size_t rlen = 12 + blen - RB_BATCH_HEADER_BYTES;
        int codec = (int)be(b + RB_BATCH_OFF_ATTRIBUTES, 2) & RB_BATCH_ATTR_COMPRESSION_MASK;
        if (codec && rb_decompress(codec_ctx(), codec, recs, rlen, 1 << 20, &recs, &rlen)) {
            sim_fail("batch at offset %lld: does not decompress", (long long)base);
            return -EBADMSG;
        }
        if (walk_records(recs, recs + rlen, base, count, pid, fn, arg)) {
            sim_fail("batch at offset %lld: bad records", (long long)base);
            return -EBADMSG;
        }
        off += 12 + blen;
    }
    return 0;
}
