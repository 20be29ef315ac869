/*
 * storage/compress.c - gzip (zlib), snappy (xerial framing), lz4 (frame) and zstd
 * compression and capped decompression over a per-shard context
 * (storage/compress.h).
 *
 * Owns: the codec libraries' contexts (created on first use, reset between uses)
 * and two scratch buffers: dec (decompressed records) and out (a rebuilt batch).
 * Invariants: dec never grows past the caller's cap; every read of the input is
 * bounded by its length; library contexts are reset before each use, so an error
 * in one call cannot leak state into the next.
 * Fault model: compressed input comes from the network: any byte string is
 * possible, and every failure is an -errno, never an assertion.
 */
#include "storage/compress.h"

#include "core/endian.h"
#include "core/rb.h"

#include <errno.h>
#include <stdatomic.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define SNAPPY_BLOCK_BYTES  32768u /* xerial SnappyOutputStream's default block */
#define XERIAL_HEADER_BYTES 16u
#define DEC_INITIAL_BYTES   (64u << 10)
#define ZSTD_LEVEL          3 /* Kafka's compression.zstd.level default */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

struct zbuf {
    uint8_t *p;
    size_t cap;
    _Atomic int64_t *gauge; /* rb_codec_set_gauge: cap's changes go there too */
};

static void zbuf_count(struct zbuf *b, int64_t delta)
{
    if (b->gauge && delta)
        atomic_fetch_add_explicit(b->gauge, delta, memory_order_relaxed);
}

struct rb_codec_ctx {
    struct zbuf dec, out;
    z_stream inf, def;
    bool inf_ok, def_ok;
    LZ4F_dctx *lz4d;
    LZ4F_cctx *lz4c;
    ZSTD_DCtx *zstdd;
    ZSTD_CCtx *zstdc;
    size_t last_out;    /* bytes the last rb_decompress produced (the work it did) */
    uint64_t total_out; /* and all of them did */
};

size_t rb_decomp_cap(int32_t max_message_bytes)
{
    size_t cap = (size_t)RB_MAX(max_message_bytes, 0) * RB_DECOMP_CAP_FACTOR;
    return RB_MIN(RB_MAX(cap, RB_DECOMP_CAP_MIN), RB_DECOMP_CAP_MAX);
}

static const char *const config_names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};
static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

int rb_codec_from_config(const char *value)
{
    if (!value)
        return -EINVAL;
    if (strcmp(value, "producer") == 0)
        return -1;
    for (int i = 0; i <= RB_CODEC_MAX; i++)
        if (strcmp(value, config_names[i]) == 0)
            return i;
    return -EINVAL;
}

const char *rb_codec_name(int codec)
{
    return codec >= 0 && codec <= RB_CODEC_MAX ? codec_names[codec] : "unknown";
}

struct rb_codec_ctx *rb_codec_ctx_new(void)
{
    return calloc(1, sizeof(struct rb_codec_ctx));
}

void rb_codec_ctx_free(struct rb_codec_ctx *c)
{
    if (!c)
        return;
    if (c->inf_ok)
        inflateEnd(&c->inf);
    if (c->def_ok)
        deflateEnd(&c->def);
    LZ4F_freeDecompressionContext(c->lz4d);
    LZ4F_freeCompressionContext(c->lz4c);
    ZSTD_freeDCtx(c->zstdd);
    ZSTD_freeCCtx(c->zstdc);
    rb_codec_set_gauge(c, NULL);
    free(c->dec.p);
    free(c->out.p);
    free(c);
}

static void zbuf_trim(struct zbuf *b)
{
    if (b->cap > RB_CODEC_KEEP_BYTES) {
        zbuf_count(b, -(int64_t)b->cap);
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

/* Make room for need bytes (contents kept), growing geometrically but never past
 * limit: -EMSGSIZE when need > limit. */
static int zbuf_reserve(struct zbuf *b, size_t need, size_t limit)
{
    if (need > limit)
        return -EMSGSIZE;
    if (b->cap >= need)
        return 0;
    size_t n = RB_MAX(need, RB_MIN(limit, RB_MAX(b->cap * 2, (size_t)DEC_INITIAL_BYTES)));
    uint8_t *p = realloc(b->p, n);
    if (!p)
        return -ENOMEM;
    zbuf_count(b, (int64_t)n - (int64_t)b->cap);
    b->p = p;
    b->cap = n;
    return 0;
}

/* The output buffer is full at n bytes and the stream wants more. */
static int dec_grow(struct zbuf *b, size_t n, size_t cap)
{
    return n >= cap ? -EMSGSIZE : zbuf_reserve(b, n + 1, cap);
}

uint8_t *rb_codec_out_reserve(struct rb_codec_ctx *c, size_t need)
{
    zbuf_trim(&c->out);
    return zbuf_reserve(&c->out, need, SIZE_MAX) == 0 ? c->out.p : NULL;
}

/* ---- decompression ---- */

static int dec_gzip(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap,
                    size_t *n_out)
{
    z_stream *z = &c->inf;
    if (!c->inf_ok) {
        memset(z, 0, sizeof(*z));
        if (inflateInit2(z, 16 + MAX_WBITS) != Z_OK)
            return -ENOMEM;
        c->inf_ok = true;
    } else if (inflateReset(z) != Z_OK) {
        return -EIO;
    }
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)len;
    size_t n = 0;
    for (;;) {
        if (n == RB_MIN(c->dec.cap, cap)) {
            int e = dec_grow(&c->dec, n, cap);
            if (e)
                return e;
        }
        size_t room = RB_MIN(RB_MIN(c->dec.cap, cap) - n, (size_t)UINT32_MAX);
        z->next_out = c->dec.p + n;
        z->avail_out = (uInt)room;
        int r = inflate(z, Z_NO_FLUSH);
        n += room - z->avail_out;
        if (r == Z_STREAM_END) {
            if (z->avail_in == 0)
                break;
            if (inflateReset(z) != Z_OK) /* another gzip member follows */
                return -EIO;
            continue;
        }
        if (r == Z_MEM_ERROR)
            return -ENOMEM;
        if (r == Z_OK || (r == Z_BUF_ERROR && z->avail_out == 0))
            continue;
        return -EBADMSG; /* corrupt, or input ended inside the stream */
    }
    *n_out = n;
    return 0;
}

/* Kafka's reader refuses frames whose blocks depend on each other (FLG bit 5
 * clear); so do we, or the Java consumers of a kept batch could not read it. */
static bool lz4_dependent_blocks(const uint8_t *p, size_t len)
{
    return len >= 5 && p[0] == 0x04 && p[1] == 0x22 && p[2] == 0x4D && p[3] == 0x18 &&
           !(p[4] & 0x20);
}

static int dec_lz4_frames(LZ4F_dctx *d, struct zbuf *dec, const uint8_t *in, size_t len, size_t cap,
                          size_t *n_out)
{
    size_t pos = 0, n = 0, r = 0;
    for (;;) {
        if (r == 0 && lz4_dependent_blocks(in + pos, len - pos))
            return -EBADMSG; /* checked at each frame start */
        if (n == RB_MIN(dec->cap, cap)) {
            int e = dec_grow(dec, n, cap);
            if (e)
                return e;
        }
        size_t dst = RB_MIN(dec->cap, cap) - n, src = len - pos;
        r = LZ4F_decompress(d, dec->p + n, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(r))
            return -EBADMSG;
        n += dst;
        pos += src;
        if (r == 0 && pos == len)
            break; /* last frame complete */
        if (pos == len && n < RB_MIN(dec->cap, cap))
            return -EBADMSG; /* input ended inside a frame */
    }
    *n_out = n;
    return 0;
}

/* LZ4F_resetDecompressionContext (1.9.4) leaves the remaining content size of
 * an unfinished frame behind, which then fails the next good frame: after any
 * failure the context is dropped and made anew on the next use. */
static int dec_lz4(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap, size_t *n_out)
{
    if (!c->lz4d && LZ4F_isError(LZ4F_createDecompressionContext(&c->lz4d, LZ4F_VERSION))) {
        c->lz4d = NULL;
        return -ENOMEM;
    }
    LZ4F_resetDecompressionContext(c->lz4d);
    int e = dec_lz4_frames(c->lz4d, &c->dec, in, len, cap, n_out);
    if (e) {
        LZ4F_freeDecompressionContext(c->lz4d);
        c->lz4d = NULL;
    }
    return e;
}

static int floor_log2(size_t x)
{
    int l = 0;
    while (x > 1) {
        x >>= 1;
        l++;
    }
    return l;
}

static int zstd_err(size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_frameParameter_windowTooLarge:
        return -EMSGSIZE;
    case ZSTD_error_memory_allocation:
        return -ENOMEM;
    default:
        return -EBADMSG;
    }
}

/* One frame that states its size (librdkafka writes it; the Java client's
 * streams do not) decodes in one call straight into the buffer, so the decoder
 * needs no window buffer of its own. 1: not such a frame, stream it. */
static int dec_zstd_sized(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap,
                          size_t *n_out)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(in, len);
    if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR)
        return 1;
    size_t flen = ZSTD_findFrameCompressedSize(in, len);
    if (ZSTD_isError(flen) || flen != len)
        return 1; /* several frames, or truncated: the streaming decoder says which */
    if (fcs >= cap)
        return -EMSGSIZE;
    int e = zbuf_reserve(&c->dec, RB_MAX((size_t)fcs, (size_t)1), cap);
    if (e)
        return e;
    size_t r = ZSTD_decompressDCtx(c->zstdd, c->dec.p, (size_t)fcs, in, len);
    if (ZSTD_isError(r))
        return zstd_err(r);
    if (r != fcs)
        return -EBADMSG;
    *n_out = r;
    return 0;
}

static int dec_zstd(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap,
                    size_t *n_out)
{
    if (!c->zstdd && !(c->zstdd = ZSTD_createDCtx()))
        return -ENOMEM;
    ZSTD_DCtx_reset(c->zstdd, ZSTD_reset_session_only);
    int e = dec_zstd_sized(c, in, len, cap, n_out);
    if (e <= 0)
        return e;
    /* The decoder allocates the frame's window: keep it within the cap. */
    int wlog = RB_MIN(RB_MAX(floor_log2(cap), 20), 27);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(c->zstdd, ZSTD_d_windowLogMax, wlog)))
        return -EIO;
    ZSTD_inBuffer ib = {in, len, 0};
    size_t n = 0;
    for (;;) {
        if (n == RB_MIN(c->dec.cap, cap) && (e = dec_grow(&c->dec, n, cap)))
            return e;
        ZSTD_outBuffer ob = {c->dec.p, RB_MIN(c->dec.cap, cap), n};
        size_t r = ZSTD_decompressStream(c->zstdd, &ob, &ib);
        n = ob.pos;
        if (ZSTD_isError(r))
            return zstd_err(r);
        if (r == 0 && ib.pos == ib.size)
            break;
        if (ib.pos == ib.size && ob.pos < ob.size)
            return -EBADMSG; /* input ended inside a frame */
    }
    *n_out = n;
    return 0;
}

/* One raw snappy block appended at n. */
static int dec_snappy_block(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap,
                            size_t *n)
{
    size_t ul;
    if (snappy_uncompressed_length((const char *)in, len, &ul) != SNAPPY_OK)
        return -EBADMSG;
    if (ul > cap - *n)
        return -EMSGSIZE;
    int e = zbuf_reserve(&c->dec, *n + ul, cap);
    if (e)
        return e;
    size_t got = ul;
    if (ul > 0 &&
        (snappy_uncompress((const char *)in, len, (char *)c->dec.p + *n, &got) != SNAPPY_OK ||
         got != ul))
        return -EBADMSG;
    *n += ul;
    return 0;
}

static int dec_snappy(struct rb_codec_ctx *c, const uint8_t *in, size_t len, size_t cap,
                      size_t *n_out)
{
    size_t n = 0;
    if (len < XERIAL_HEADER_BYTES || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0) {
        int e = dec_snappy_block(c, in, len, cap, &n); /* raw snappy (librdkafka) */
        *n_out = n;
        return e;
    }
    size_t pos = XERIAL_HEADER_BYTES;
    while (pos < len) {
        /* A concatenated stream repeats the header. */
        if (len - pos >= XERIAL_HEADER_BYTES &&
            memcmp(in + pos, xerial_magic, sizeof(xerial_magic)) == 0) {
            pos += XERIAL_HEADER_BYTES;
            continue;
        }
        if (len - pos < 4)
            return -EBADMSG;
        uint32_t bl = rb_get_be32(in + pos);
        pos += 4;
        if (bl > len - pos)
            return -EBADMSG;
        int e = dec_snappy_block(c, in + pos, bl, cap, &n);
        if (e)
            return e;
        pos += bl;
    }
    *n_out = n;
    return 0;
}

int rb_decompress(struct rb_codec_ctx *c, int codec, const uint8_t *in, size_t len, size_t cap,
                  const uint8_t **out, size_t *out_len)
{
    size_t n = 0;
    int e;
    c->last_out = 0;
    zbuf_trim(&c->dec);
    /* Decode into at most cap + 1 bytes: a stream that fills them is over the cap,
     * and one of exactly cap bytes still has room to reach its end. */
    cap = RB_MIN(cap, SIZE_MAX - 1) + 1;
    /* First guess: a few times the input, so most batches need one allocation
     * the first time and none after. */
    size_t guess = RB_MIN(cap, RB_MAX((size_t)DEC_INITIAL_BYTES, len * 4));
    if (c->dec.cap < guess && (e = zbuf_reserve(&c->dec, guess, cap)))
        return e;
    switch (codec) {
    case RB_CODEC_GZIP:
        e = dec_gzip(c, in, len, cap, &n);
        break;
    case RB_CODEC_SNAPPY:
        e = dec_snappy(c, in, len, cap, &n);
        break;
    case RB_CODEC_LZ4:
        e = dec_lz4(c, in, len, cap, &n);
        break;
    case RB_CODEC_ZSTD:
        e = dec_zstd(c, in, len, cap, &n);
        break;
    default:
        return -EINVAL;
    }
    c->last_out = e ? RB_MIN(c->dec.cap, cap) : n; /* a failed stream did up to a buffer */
    c->total_out += c->last_out;
    if (e)
        return e;
    if (n >= cap)
        return -EMSGSIZE;
    *out = c->dec.p;
    *out_len = n;
    return 0;
}

size_t rb_codec_last_out(const struct rb_codec_ctx *c)
{
    return c->last_out;
}

uint64_t rb_codec_total_out(const struct rb_codec_ctx *c)
{
    return c->total_out;
}

size_t rb_codec_scratch_bytes(const struct rb_codec_ctx *c)
{
    return c->dec.cap + c->out.cap;
}

void rb_codec_set_gauge(struct rb_codec_ctx *c, _Atomic int64_t *gauge)
{
    zbuf_count(&c->dec, -(int64_t)c->dec.cap);
    zbuf_count(&c->out, -(int64_t)c->out.cap);
    c->dec.gauge = c->out.gauge = gauge;
    zbuf_count(&c->dec, (int64_t)c->dec.cap);
    zbuf_count(&c->out, (int64_t)c->out.cap);
}

void rb_codec_trim(struct rb_codec_ctx *c)
{
    zbuf_trim(&c->dec);
    zbuf_trim(&c->out);
}

/* ---- compression ---- */

static const LZ4F_preferences_t lz4_prefs = {
    .frameInfo = {.blockSizeID = LZ4F_max64KB,
                  .blockMode = LZ4F_blockIndependent,
                  .contentChecksumFlag = LZ4F_noContentChecksum,
                  .frameType = LZ4F_frame},
    .compressionLevel = 0,
    .autoFlush = 1,
};

size_t rb_compress_bound(int codec, size_t len)
{
    switch (codec) {
    case RB_CODEC_GZIP:
        return compressBound((uLong)len) + 32; /* + gzip header/trailer over zlib's */
    case RB_CODEC_SNAPPY: {
        size_t blocks = (len + SNAPPY_BLOCK_BYTES - 1) / SNAPPY_BLOCK_BYTES;
        return XERIAL_HEADER_BYTES +
               blocks * (4 + snappy_max_compressed_length(SNAPPY_BLOCK_BYTES));
    }
    case RB_CODEC_LZ4:
        return LZ4F_compressFrameBound(len, &lz4_prefs) + LZ4F_HEADER_SIZE_MAX;
    case RB_CODEC_ZSTD:
        return ZSTD_compressBound(len);
    default:
        return len;
    }
}

static int64_t comp_gzip(struct rb_codec_ctx *c, const uint8_t *in, size_t len, uint8_t *dst,
                         size_t cap)
{
    z_stream *z = &c->def;
    if (!c->def_ok) {
        memset(z, 0, sizeof(*z));
        if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return -ENOMEM;
        c->def_ok = true;
    } else if (deflateReset(z) != Z_OK) {
        return -EIO;
    }
    if (len > UINT32_MAX || cap > UINT32_MAX)
        return -EINVAL;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)len;
    z->next_out = dst;
    z->avail_out = (uInt)cap;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return -EIO;
    return (int64_t)(cap - z->avail_out);
}

static int64_t comp_snappy(const uint8_t *in, size_t len, uint8_t *dst, size_t cap)
{
    if (cap < XERIAL_HEADER_BYTES)
        return -EINVAL;
    memcpy(dst, xerial_magic, sizeof(xerial_magic));
    rb_put_be32(dst + 8, 1);  /* version */
    rb_put_be32(dst + 12, 1); /* minimum compatible version */
    size_t pos = XERIAL_HEADER_BYTES;
    for (size_t off = 0; off < len; off += SNAPPY_BLOCK_BYTES) {
        size_t chunk = RB_MIN(len - off, (size_t)SNAPPY_BLOCK_BYTES);
        if (cap - pos < 4 + snappy_max_compressed_length(chunk))
            return -EINVAL;
        size_t olen = cap - pos - 4;
        if (snappy_compress((const char *)in + off, chunk, (char *)dst + pos + 4, &olen) !=
            SNAPPY_OK)
            return -EIO;
        rb_put_be32(dst + pos, (uint32_t)olen);
        pos += 4 + olen;
    }
    return (int64_t)pos;
}

static int64_t comp_lz4(struct rb_codec_ctx *c, const uint8_t *in, size_t len, uint8_t *dst,
                        size_t cap)
{
    if (!c->lz4c && LZ4F_isError(LZ4F_createCompressionContext(&c->lz4c, LZ4F_VERSION)))
        return -ENOMEM;
    size_t pos = LZ4F_compressBegin(c->lz4c, dst, cap, &lz4_prefs);
    if (LZ4F_isError(pos))
        return -EIO;
    size_t r = LZ4F_compressUpdate(c->lz4c, dst + pos, cap - pos, in, len, NULL);
    if (LZ4F_isError(r))
        return -EIO;
    pos += r;
    r = LZ4F_compressEnd(c->lz4c, dst + pos, cap - pos, NULL);
    return LZ4F_isError(r) ? -EIO : (int64_t)(pos + r);
}

static int64_t comp_zstd(struct rb_codec_ctx *c, const uint8_t *in, size_t len, uint8_t *dst,
                         size_t cap)
{
    if (!c->zstdc) {
        if (!(c->zstdc = ZSTD_createCCtx()))
            return -ENOMEM;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zstdc, ZSTD_c_compressionLevel, ZSTD_LEVEL)))
            return -EIO;
    }
    size_t r = ZSTD_compress2(c->zstdc, dst, cap, in, len);
    return ZSTD_isError(r) ? -EIO : (int64_t)r;
}

int64_t rb_compress(struct rb_codec_ctx *c, int codec, const uint8_t *in, size_t len, uint8_t *dst,
                    size_t dst_cap)
{
    switch (codec) {
    case RB_CODEC_GZIP:
        return comp_gzip(c, in, len, dst, dst_cap);
    case RB_CODEC_SNAPPY:
        return comp_snappy(in, len, dst, dst_cap);
    case RB_CODEC_LZ4:
        return comp_lz4(c, in, len, dst, dst_cap);
    case RB_CODEC_ZSTD:
        return comp_zstd(c, in, len, dst, dst_cap);
    default:
        return -EINVAL;
    }
}
