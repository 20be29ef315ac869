/*
 * tools/ringctl_dump.c - `ringctl dump-log --files F[,F...] [--print-data-log]
 * [--deep-iteration]`: prints the record batches of .log segment files in the
 * layout of Kafka's kafka-dump-log.sh and verifies each batch (length, magic,
 * CRC-32C); with --deep-iteration (implied by --print-data-log) it also decodes
 * every record, decompressing gzip, snappy (xerial or raw), lz4 and zstd batches,
 * and checks the record count.
 * Fault model: the file is untrusted input: every length is checked against the
 * bytes that remain, decompression is capped (DECOMP_CAP), and the walk stops at
 * the first bad batch, which makes the exit status 1. Trailing zeros (a
 * preallocated segment that was not trimmed) end the walk quietly.
 */
#include "tools/ringctl_dump.h"

#include "storage/batch.h"
#include "storage/compress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define DECOMP_CAP (256u << 20)

struct dump_opts {
    bool data, deep;
};

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

/* Zigzag varint (Kafka's varint/varlong): false when it runs past end. */
static bool varint(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
    }
    return false;
}

static int decomp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = len * 4 + 1024, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int r;
    do {
        if (n == cap) {
            if (cap >= DECOMP_CAP)
                break;
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n);
        r = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
    } while (r == Z_OK);
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int decomp_lz4(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return -1;
    size_t cap = len * 4 + 1024, n = 0, pos = 0, r = 1;
    uint8_t *buf = malloc(cap);
    while (buf && pos < len && r != 0) {
        if (n == cap) {
            uint8_t *nb = cap < DECOMP_CAP ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t dst = cap - n, src = len - pos;
        r = LZ4F_decompress(dctx, buf + n, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(r))
            break;
        n += dst;
        pos += src;
    }
    LZ4F_freeDecompressionContext(dctx);
    if (!buf || r != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int decomp_zstd(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    size_t cap = len * 4 + 1024, r = 1;
    uint8_t *buf = malloc(cap);
    ZSTD_inBuffer ib = {in, len, 0};
    ZSTD_outBuffer ob = {buf, cap, 0};
    if (ds)
        ZSTD_initDStream(ds);
    while (ds && buf && ib.pos < ib.size) {
        if (ob.pos == ob.size) {
            uint8_t *nb = cap < DECOMP_CAP ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
            ob.dst = buf;
            ob.size = cap;
        }
        r = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(r))
            break;
    }
    ZSTD_freeDStream(ds);
    if (!buf || !ds || ZSTD_isError(r) || ib.pos < ib.size) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = ob.pos;
    return 0;
}

/* xerial-framed or raw snappy, through the broker's codec (storage/compress.h). */
static int decomp_snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    const uint8_t *p;
    int r = c ? rb_decompress(c, RB_CODEC_SNAPPY, in, len, DECOMP_CAP, &p, out_len) : -ENOMEM;
    if (r == 0 && !(*out = malloc(*out_len ? *out_len : 1)))
        r = -ENOMEM;
    if (r == 0)
        memcpy(*out, p, *out_len);
    rb_codec_ctx_free(c);
    return r ? -1 : 0;
}

static void print_bytes(const char *label, const uint8_t *p, int64_t len)
{
    printf(" %s: ", label);
    if (len < 0) {
        printf("null");
        return;
    }
    fwrite(p, 1, (size_t)len, stdout);
}

/* One record at *p; prints it when opts->data. NULL when good, else why not. */
static const char *record(const uint8_t **p, const uint8_t *end, const struct rb_batch_info *bi,
                          const struct dump_opts *o, int idx)
{
    int64_t len, attr_ts, off_d, klen, vlen, nh;
    if (!varint(p, end, &len) || len < 0 || len > end - *p)
        return "bad record length";
    const uint8_t *r = *p, *rend = *p + len;
    *p = rend;
    if (r >= rend)
        return "empty record";
    r++; /* attributes */
    if (!varint(&r, rend, &attr_ts) || !varint(&r, rend, &off_d) || !varint(&r, rend, &klen) ||
        klen > rend - r)
        return "bad record header";
    const uint8_t *key = r;
    r += klen > 0 ? klen : 0;
    if (!varint(&r, rend, &vlen) || vlen > rend - r)
        return "bad record value";
    const uint8_t *val = r;
    r += vlen > 0 ? vlen : 0;
    if (!varint(&r, rend, &nh) || nh < 0)
        return "bad header count";
    if (!o->data) {
        (void)idx;
        return NULL;
    }
    bool lat = bi->attributes & RB_BATCH_ATTR_TIMESTAMP_TYPE;
    int64_t seq = bi->base_sequence < 0 ? -1 : bi->base_sequence + idx;
    printf("| offset: %" PRId64 " %s: %" PRId64 " keySize: %" PRId64 " valueSize: %" PRId64
           " sequence: %" PRId64 " headerKeys: [",
           bi->base_offset + off_d, lat ? "LogAppendTime" : "CreateTime",
           lat ? bi->max_timestamp : bi->base_timestamp + attr_ts, klen, vlen, seq);
    for (int64_t h = 0; h < nh; h++) {
        int64_t hk, hv;
        if (!varint(&r, rend, &hk) || hk < 0 || hk > rend - r)
            return "bad header key";
        printf("%s%.*s", h ? "," : "", (int)hk, (const char *)r);
        r += hk;
        if (!varint(&r, rend, &hv) || hv > rend - r)
            return "bad header value";
        r += hv > 0 ? hv : 0;
    }
    printf("]");
    print_bytes("key", key, klen);
    print_bytes("payload", val, vlen);
    printf("\n");
    return NULL;
}

static const char *records(const uint8_t *batch, const struct rb_batch_info *bi,
                           const struct dump_opts *o)
{
    const uint8_t *in = batch + RB_BATCH_HEADER_BYTES;
    size_t in_len = rb_batch_total_bytes(bi) - RB_BATCH_HEADER_BYTES;
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    int codec = bi->attributes & RB_BATCH_ATTR_COMPRESSION_MASK;
    int r = 0;
    if (codec == 1)
        r = decomp_gzip(in, in_len, &dec, &dec_len);
    else if (codec == 3)
        r = decomp_lz4(in, in_len, &dec, &dec_len);
    else if (codec == 4)
        r = decomp_zstd(in, in_len, &dec, &dec_len);
    else if (codec == 2)
        r = decomp_snappy(in, in_len, &dec, &dec_len);
    else if (codec != 0)
        return "unknown codec";
    if (r)
        return "cannot decompress";
    const uint8_t *p = dec ? dec : in, *end = p + (dec ? dec_len : in_len);
    const char *why = NULL;
    int i = 0;
    for (; !why && p < end; i++)
        why = record(&p, end, bi, o, i);
    free(dec);
    if (!why && i != bi->record_count)
        why = "record count does not match";
    return why;
}

static void print_batch(const struct rb_batch_info *bi, uint64_t pos, bool valid, uint32_t crc)
{
    int64_t last_seq = bi->base_sequence < 0 ? -1 : bi->base_sequence + bi->last_offset_delta;
    int codec = bi->attributes & RB_BATCH_ATTR_COMPRESSION_MASK;
    bool lat = bi->attributes & RB_BATCH_ATTR_TIMESTAMP_TYPE;
    char horizon[48] = "OptionalLong.empty";
    if (bi->attributes & 0x40) /* delete horizon flag: the base timestamp is the horizon */
        snprintf(horizon, sizeof(horizon), "OptionalLong[%" PRId64 "]", bi->base_timestamp);
    printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %" PRId32
           " baseSequence: %" PRId32 " lastSequence: %" PRId64 " producerId: %" PRId64
           " producerEpoch: %d partitionLeaderEpoch: %" PRId32
           " isTransactional: %s isControl: %s deleteHorizonMs: %s position: %" PRIu64
           " %s: %" PRId64 " size: %u magic: %d compresscodec: %s crc: %u isvalid: %s\n",
           bi->base_offset, bi->base_offset + bi->last_offset_delta, bi->record_count,
           bi->base_sequence, last_seq, bi->producer_id, bi->producer_epoch, bi->leader_epoch,
           bi->attributes & RB_BATCH_ATTR_TRANSACTIONAL ? "true" : "false",
           bi->attributes & RB_BATCH_ATTR_CONTROL ? "true" : "false", horizon, pos,
           lat ? "LogAppendTime" : "CreateTime", bi->max_timestamp, rb_batch_total_bytes(bi),
           bi->magic, codec < 5 ? codec_names[codec] : "unknown", bi->crc,
           valid && crc == bi->crc ? "true" : "false");
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Walk one mapped file; 0 when every batch is valid, 1 otherwise. */
static int dump_bytes(const char *path, const uint8_t *m, size_t size, const struct dump_opts *o)
{
    uint64_t pos = 0;
    while (pos < size) {
        struct rb_batch_info bi;
        if (all_zero(m + pos, size - pos))
            break;
        enum rb_batch_status st = rb_batch_parse(m + pos, size - pos, &bi);
        if (st != RB_BATCH_OK) {
            printf("Found invalid batch at position %" PRIu64 ": %s\n", pos,
                   rb_batch_status_str(st));
            fprintf(stderr, "ringctl dump-log: %s: invalid batch at position %" PRIu64 ": %s\n",
                    path, pos, rb_batch_status_str(st));
            return 1;
        }
        uint32_t total = rb_batch_total_bytes(&bi);
        uint32_t crc =
            rb_crc32c(0, m + pos + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES);
        print_batch(&bi, pos, true, crc);
        const char *why = crc != bi.crc ? "CRC mismatch" : NULL;
        if (!why && (o->deep || o->data))
            why = records(m + pos, &bi, o);
        if (why) {
            fprintf(stderr, "ringctl dump-log: %s: bad batch at position %" PRIu64 ": %s\n", path,
                    pos, why);
            return 1;
        }
        pos += total;
    }
    return 0;
}

static int dump_file(const char *path, const struct dump_opts *o)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "ringctl dump-log: %s: %m\n", path);
        if (fd >= 0)
            close(fd);
        return 2;
    }
    const char *base = strrchr(path, '/');
    printf("Dumping %s\n", path);
    printf("Log starting offset: %lld\n", atoll(base ? base + 1 : path));
    int rc = 0;
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            fprintf(stderr, "ringctl dump-log: %s: mmap: %m\n", path);
            rc = 2;
        } else {
            rc = dump_bytes(path, m, (size_t)st.st_size, o);
            munmap(m, (size_t)st.st_size);
        }
    }
    close(fd);
    return rc;
}

static const char usage[] =
    "Usage: ringctl dump-log --files F[,F...] [--print-data-log] [--deep-iteration]\n"
    "Prints the record batches of segment (.log) files and verifies their CRCs;\n"
    "exit status 1 when a batch is invalid.\n";

int ctl_dump_log(int argc, char **argv)
{
    struct dump_opts o = {0};
    char *files = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--files") && i + 1 < argc)
            files = argv[++i];
        else if (!strncmp(argv[i], "--files=", 8))
            files = argv[i] + 8;
        else if (!strcmp(argv[i], "--print-data-log"))
            o.data = o.deep = true;
        else if (!strcmp(argv[i], "--deep-iteration"))
            o.deep = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "ringctl dump-log: unknown argument %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!files) {
        fprintf(stderr, "ringctl dump-log: --files is required\n%s", usage);
        return 2;
    }
    int rc = 0;
    char *save = NULL;
    for (char *f = strtok_r(files, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        int r = dump_file(f, &o);
        rc = r > rc ? r : rc;
    }
    return rc;
}
