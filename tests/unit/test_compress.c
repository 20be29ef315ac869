/*
 * tests/unit/test_compress.c - storage/compress.c and storage/recompress.c: codec
 * round trips (gzip, xerial snappy, lz4 frame, zstd), raw snappy and multi-member
 * gzip input, the decompression cap (zip bombs), corrupt and truncated streams,
 * record-level deep checks (rb_batch_check_records), and batch recompression
 * checked with the batch validator.
 */
#include "core/rb.h"
#include "storage/batch.h"
#include "storage/compress.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

static struct rb_codec_ctx *ctx;

static void setup(void)
{
    ctx = rb_codec_ctx_new();
    cr_assert_not_null(ctx);
}

static void teardown(void)
{
    rb_codec_ctx_free(ctx);
}

TestSuite(compress, .init = setup, .fini = teardown);

static uint8_t *fill(size_t n, int kind, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    srand(seed);
    for (size_t i = 0; i < n; i++)
        p[i] = kind == 0 ? (uint8_t)rand() : kind == 1 ? 0 : (uint8_t)("kafka-records-"[i % 14]);
    return p;
}

/* compress with codec, decompress, compare. */
static void round_trip(int codec, const uint8_t *in, size_t n)
{
    size_t bound = rb_compress_bound(codec, n);
    uint8_t *z = malloc(bound);
    int64_t zn = rb_compress(ctx, codec, in, n, z, bound);
    cr_assert_gt(zn, 0, "%s compress of %zu bytes: %lld", rb_codec_name(codec), n, (long long)zn);
    cr_assert_leq((size_t)zn, bound);
    const uint8_t *out;
    size_t out_n;
    int e = rb_decompress(ctx, codec, z, (size_t)zn, 64u << 20, &out, &out_n);
    cr_assert_eq(e, 0, "%s decompress of %zu bytes: %d", rb_codec_name(codec), n, e);
    cr_assert_eq(out_n, n, "%s: %zu bytes back, want %zu", rb_codec_name(codec), out_n, n);
    cr_assert(memcmp(out, in, n) == 0, "%s: bytes differ", rb_codec_name(codec));
    free(z);
}

Test(compress, round_trip_every_codec)
{
    static const size_t sizes[] = {1, 100, 32767, 32768, 32769, 65536, 200000, 1u << 20};
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_MAX; codec++)
        for (size_t i = 0; i < RB_ARRAY_LEN(sizes); i++)
            for (int kind = 0; kind < 3; kind++) {
                uint8_t *in = fill(sizes[i], kind, (unsigned)(i * 3 + kind));
                round_trip(codec, in, sizes[i]);
                free(in);
            }
}

Test(compress, snappy_output_is_xerial_framed)
{
    uint8_t in[100000], z[120000];
    memset(in, 'a', sizeof(in));
    int64_t zn = rb_compress(ctx, RB_CODEC_SNAPPY, in, sizeof(in), z, sizeof(z));
    cr_assert_gt(zn, 16);
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    cr_assert(memcmp(z, magic, 8) == 0);
    cr_assert_eq(z[11], 1); /* version 1 */
    cr_assert_eq(z[15], 1); /* compatible version 1 */
    /* 100000 bytes = 4 blocks of at most 32 KiB, each [be32 length][raw snappy]. */
    size_t pos = 16, blocks = 0, total = 0;
    while (pos < (size_t)zn) {
        uint32_t bl = (uint32_t)z[pos] << 24 | (uint32_t)z[pos + 1] << 16 |
                      (uint32_t)z[pos + 2] << 8 | z[pos + 3];
        size_t ul;
        cr_assert_eq(snappy_uncompressed_length((char *)z + pos + 4, bl, &ul), SNAPPY_OK);
        cr_assert_leq(ul, 32768);
        total += ul;
        pos += 4 + bl;
        blocks++;
    }
    cr_assert_eq(pos, (size_t)zn);
    cr_assert_eq(blocks, 4);
    cr_assert_eq(total, sizeof(in));
}

Test(compress, raw_snappy_input_as_librdkafka_writes)
{
    uint8_t *in = fill(50000, 2, 1);
    size_t zn = snappy_max_compressed_length(50000);
    char *z = malloc(zn);
    cr_assert_eq(snappy_compress((char *)in, 50000, z, &zn), SNAPPY_OK);
    const uint8_t *out;
    size_t n;
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_SNAPPY, (uint8_t *)z, zn, 1u << 20, &out, &n), 0);
    cr_assert_eq(n, 50000);
    cr_assert(memcmp(out, in, n) == 0);
    free(z);
    free(in);
}

Test(compress, gzip_concatenated_members)
{
    uint8_t a[1000], b[3000], z[10000];
    memset(a, 'x', sizeof(a));
    memset(b, 'y', sizeof(b));
    int64_t n1 = rb_compress(ctx, RB_CODEC_GZIP, a, sizeof(a), z, sizeof(z));
    int64_t n2 = rb_compress(ctx, RB_CODEC_GZIP, b, sizeof(b), z + n1, sizeof(z) - (size_t)n1);
    cr_assert(n1 > 0 && n2 > 0);
    const uint8_t *out;
    size_t n;
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_GZIP, z, (size_t)(n1 + n2), 1u << 20, &out, &n), 0);
    cr_assert_eq(n, 4000);
    cr_assert_eq(out[999], 'x');
    cr_assert_eq(out[1000], 'y');
}

/* zstd frames without a content size (as the Java client streams them) take the
 * streaming decoder; so do several frames. */
static size_t zstd_unsized(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    cr_assert_not_null(z);
    ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 0);
    size_t r = ZSTD_compress2(z, out, cap, in, n);
    cr_assert(!ZSTD_isError(r));
    ZSTD_freeCCtx(z);
    cr_assert_eq(ZSTD_getFrameContentSize(out, r), ZSTD_CONTENTSIZE_UNKNOWN);
    return r;
}

Test(compress, zstd_unsized_and_multi_frame)
{
    size_t n = 200000, zcap = ZSTD_compressBound(n) * 2;
    uint8_t *in = fill(n, 2, 9), *z = malloc(zcap);
    size_t z1 = zstd_unsized(in, n, z, zcap);
    const uint8_t *out;
    size_t got;
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1, 1u << 20, &out, &got), 0);
    cr_assert(got == n && memcmp(out, in, n) == 0);
    size_t z2 = zstd_unsized(in, 1000, z + z1, zcap - z1); /* a second frame */
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1 + z2, 1u << 20, &out, &got), 0);
    cr_assert(got == n + 1000 && memcmp(out + n, in, 1000) == 0);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1 + z2 - 1, 1u << 20, &out, &got), -EBADMSG);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1 + z2, n + 999, &out, &got), -EMSGSIZE);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1 + z2, n + 1000, &out, &got), 0);
    free(in);
    free(z);
    /* A bomb without a stated size stops at the cap too. */
    size_t big = 16u << 20;
    in = fill(big, 1, 0);
    zcap = ZSTD_compressBound(big);
    z = malloc(zcap);
    z1 = zstd_unsized(in, big, z, zcap);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1, 8u << 20, &out, &got), -EMSGSIZE);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_ZSTD, z, z1, big, &out, &got), 0);
    cr_assert_eq(got, big);
    free(in);
    free(z);
}

Test(compress, lz4_linked_blocks_refused_as_kafka_does)
{
    uint8_t *in = fill(200000, 2, 4);
    LZ4F_preferences_t prefs = {.frameInfo = {.blockMode = LZ4F_blockLinked}};
    size_t zcap = LZ4F_compressFrameBound(200000, &prefs);
    uint8_t *z = malloc(zcap);
    size_t zn = LZ4F_compressFrame(z, zcap, in, 200000, &prefs);
    cr_assert(!LZ4F_isError(zn));
    const uint8_t *out;
    size_t n;
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, z, zn, 1u << 20, &out, &n), -EBADMSG);
    prefs.frameInfo.blockMode = LZ4F_blockIndependent; /* same data, independent: fine */
    zn = LZ4F_compressFrame(z, zcap, in, 200000, &prefs);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, z, zn, 1u << 20, &out, &n), 0);
    cr_assert(n == 200000 && memcmp(out, in, n) == 0);
    free(z);
    free(in);
}

/* Found by fuzzing: an unfinished frame that stated its content size must not
 * make the next good frame fail (liblz4 1.9.4 keeps the remaining size). */
Test(compress, lz4_context_clean_after_unfinished_sized_frame)
{
    uint8_t *in = fill(100000, 2, 6);
    LZ4F_preferences_t sized = {
        .frameInfo = {.blockMode = LZ4F_blockIndependent, .contentSize = 100000}};
    size_t zcap = LZ4F_compressFrameBound(100000, &sized);
    uint8_t *z = malloc(zcap), *good = malloc(zcap);
    size_t zn = LZ4F_compressFrame(z, zcap, in, 100000, &sized);
    cr_assert(!LZ4F_isError(zn));
    int64_t gn = rb_compress(ctx, RB_CODEC_LZ4, in, 1000, good, zcap); /* no content size */
    cr_assert_gt(gn, 0);
    const uint8_t *out;
    size_t n;
    for (size_t cut = 20; cut < zn; cut += zn / 7) {
        cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, z, cut, 1u << 20, &out, &n), -EBADMSG);
        cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, good, (size_t)gn, 1u << 20, &out, &n), 0,
                     "good frame after a frame cut at %zu", cut);
        cr_assert(n == 1000 && memcmp(out, in, n) == 0);
    }
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, z, zn, 50000, &out, &n), -EMSGSIZE);
    cr_assert_eq(rb_decompress(ctx, RB_CODEC_LZ4, good, (size_t)gn, 1u << 20, &out, &n), 0);
    free(z);
    free(good);
    free(in);
}

Test(compress, zip_bomb_stops_at_cap)
{
    size_t big = 16u << 20; /* 16 MiB of zeros: a few KiB compressed */
    uint8_t *in = fill(big, 1, 0);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_MAX; codec++) {
        size_t bound = rb_compress_bound(codec, big);
        uint8_t *z = malloc(bound);
        int64_t zn = rb_compress(ctx, codec, in, big, z, bound);
        cr_assert_gt(zn, 0);
        cr_assert_lt((size_t)zn, big / 20, "%s: %lld", rb_codec_name(codec), (long long)zn);
        const uint8_t *out;
        size_t n;
        int e = rb_decompress(ctx, codec, z, (size_t)zn, 1u << 20, &out, &n);
        cr_assert_eq(e, -EMSGSIZE, "%s: %d", rb_codec_name(codec), e);
        /* Exactly at the cap is fine; one byte under is not. */
        e = rb_decompress(ctx, codec, z, (size_t)zn, big, &out, &n);
        cr_assert_eq(e, 0, "%s at cap: %d", rb_codec_name(codec), e);
        cr_assert_eq(n, big);
        e = rb_decompress(ctx, codec, z, (size_t)zn, big - 1, &out, &n);
        cr_assert_eq(e, -EMSGSIZE, "%s under cap: %d", rb_codec_name(codec), e);
        free(z);
    }
    free(in);
}

Test(compress, corrupt_and_truncated_streams)
{
    uint8_t *in = fill(100000, 2, 5);
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_MAX; codec++) {
        size_t bound = rb_compress_bound(codec, 100000);
        uint8_t *z = malloc(bound);
        int64_t zn = rb_compress(ctx, codec, in, 100000, z, bound);
        cr_assert_gt(zn, 10);
        const uint8_t *out;
        size_t n;
        int e = rb_decompress(ctx, codec, z, (size_t)zn - 5, 1u << 20, &out, &n);
        cr_assert_eq(e, -EBADMSG, "%s truncated: %d", rb_codec_name(codec), e);
        e = rb_decompress(ctx, codec, z, 3, 1u << 20, &out, &n);
        cr_assert_eq(e, -EBADMSG, "%s 3 bytes: %d", rb_codec_name(codec), e);
        e = rb_decompress(ctx, codec, z, 0, 1u << 20, &out, &n);
        cr_assert_eq(e, -EBADMSG, "%s empty: %d", rb_codec_name(codec), e);
        uint8_t junk[64];
        memset(junk, 0xA5, sizeof(junk));
        e = rb_decompress(ctx, codec, junk, sizeof(junk), 1u << 20, &out, &n);
        cr_assert_eq(e, -EBADMSG, "%s junk: %d", rb_codec_name(codec), e);
        /* Trailing garbage after a complete stream. */
        memcpy(z + zn, junk, 16);
        e = rb_decompress(ctx, codec, z, (size_t)zn + 16, 1u << 20, &out, &n);
        cr_assert_eq(e, -EBADMSG, "%s trailing junk: %d", rb_codec_name(codec), e);
        /* The context still works after the errors. */
        e = rb_decompress(ctx, codec, z, (size_t)zn, 1u << 20, &out, &n);
        cr_assert_eq(e, 0, "%s after errors: %d", rb_codec_name(codec), e);
        cr_assert(n == 100000 && memcmp(out, in, n) == 0);
        free(z);
    }
    const uint8_t *out;
    size_t n;
    cr_assert_eq(rb_decompress(ctx, 5, in, 10, 100, &out, &n), -EINVAL);
    free(in);
}

Test(compress, config_values)
{
    cr_assert_eq(rb_codec_from_config("producer"), -1);
    cr_assert_eq(rb_codec_from_config("uncompressed"), RB_CODEC_NONE);
    cr_assert_eq(rb_codec_from_config("gzip"), RB_CODEC_GZIP);
    cr_assert_eq(rb_codec_from_config("snappy"), RB_CODEC_SNAPPY);
    cr_assert_eq(rb_codec_from_config("lz4"), RB_CODEC_LZ4);
    cr_assert_eq(rb_codec_from_config("zstd"), RB_CODEC_ZSTD);
    cr_assert_eq(rb_codec_from_config("none"), -EINVAL);
    cr_assert_eq(rb_codec_from_config("LZ4"), -EINVAL);
    cr_assert_eq(rb_codec_from_config(NULL), -EINVAL);
    cr_assert_str_eq(rb_codec_name(3), "lz4");
    cr_assert_str_eq(rb_codec_name(7), "unknown");
    cr_assert_eq(rb_decomp_cap(1048588), RB_DECOMP_CAP_MIN);
    cr_assert_eq(rb_decomp_cap(8 << 20), (size_t)256 << 20);
    cr_assert_eq(rb_decomp_cap(INT32_MAX), RB_DECOMP_CAP_MAX);
}

/* ---- batches ---- */

static uint8_t g_src[400000], g_tmp[400000];

static size_t plain_batch(uint8_t *out, int nrec, uint32_t value_bytes, int64_t pid)
{
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = 1700000000000,
                              .producer_id = pid,
                              .base_seq = pid >= 0 ? 7 : -1,
                              .value_bytes = value_bytes,
                              .seed = 11};
    return tu_build(out, &s);
}

/* Compress the records of the plain batch in[0..n) with codec into out (as a
 * producer would); returns the new size. */
static size_t compress_batch(const uint8_t *in, size_t n, int codec, uint8_t *out)
{
    memcpy(out, in, RB_BATCH_HEADER_BYTES);
    int64_t zn = rb_compress(ctx, codec, in + RB_BATCH_HEADER_BYTES, n - RB_BATCH_HEADER_BYTES,
                             out + RB_BATCH_HEADER_BYTES, 400000 - RB_BATCH_HEADER_BYTES);
    cr_assert_gt(zn, 0);
    size_t total = RB_BATCH_HEADER_BYTES + (size_t)zn;
    rb_put_be32(out + 8, (uint32_t)(total - 12));
    rb_put_be16(out + 21, (uint16_t)codec);
    tu_fix_crc(out);
    return total;
}

Test(compress, recompress_every_pair_validates)
{
    size_t n = plain_batch(g_src, 50, 300, 42);
    struct rb_batch_info src_bi, bi, obi;
    cr_assert_eq(rb_batch_validate(g_src, n, &src_bi), RB_BATCH_OK);
    static uint8_t in[400000];
    for (int from = RB_CODEC_NONE; from <= RB_CODEC_MAX; from++) {
        size_t in_n = from ? compress_batch(g_src, n, from, in) : n;
        if (!from)
            memcpy(in, g_src, n);
        cr_assert_eq(rb_batch_validate(in, in_n, &bi), RB_BATCH_OK);
        cr_assert_eq(rb_batch_deep_validate(ctx, in, &bi, 1u << 20, NULL), RB_BATCH_OK);
        for (int to = RB_CODEC_NONE; to <= RB_CODEC_MAX; to++) {
            const uint8_t *out;
            cr_assert_eq(rb_batch_recompress(ctx, in, &bi, to, 1u << 20, &out, &obi, NULL),
                         RB_BATCH_OK, "%d -> %d", from, to);
            size_t on = rb_batch_total_bytes(&obi);
            memcpy(g_tmp, out, on);
            struct rb_batch_info vbi;
            cr_assert_eq(rb_batch_validate(g_tmp, on, &vbi), RB_BATCH_OK, "%d -> %d", from, to);
            cr_assert_eq(vbi.attributes & RB_BATCH_ATTR_COMPRESSION_MASK, to);
            cr_assert_eq(vbi.record_count, 50);
            cr_assert_eq(vbi.last_offset_delta, 49);
            cr_assert_eq(vbi.producer_id, 42);
            cr_assert_eq(vbi.base_sequence, 7);
            cr_assert_eq(vbi.base_timestamp, src_bi.base_timestamp);
            cr_assert_eq(vbi.max_timestamp, src_bi.base_timestamp + 49);
            cr_assert_eq(vbi.crc, obi.crc);
            struct rb_ts_range ts;
            cr_assert_eq(rb_batch_deep_validate(ctx, g_tmp, &vbi, 1u << 20, &ts), RB_BATCH_OK);
            cr_assert(ts.min == src_bi.base_timestamp && ts.max == src_bi.base_timestamp + 49);
            /* Back to uncompressed: the records are the producer's bytes. */
            cr_assert_eq(
                rb_batch_recompress(ctx, g_tmp, &vbi, RB_CODEC_NONE, 1u << 20, &out, &obi, NULL),
                RB_BATCH_OK);
            cr_assert_eq(rb_batch_total_bytes(&obi), n);
            cr_assert(memcmp(out + RB_BATCH_HEADER_BYTES, g_src + RB_BATCH_HEADER_BYTES,
                             n - RB_BATCH_HEADER_BYTES) == 0);
        }
    }
}

Test(compress, recompress_sets_max_timestamp_from_records)
{
    size_t n = plain_batch(g_src, 5, 10, -1);
    rb_put_be64(g_src + RB_BATCH_OFF_MAX_TS, 1700000000002); /* producer's was wrong */
    tu_fix_crc(g_src);
    struct rb_batch_info bi, obi;
    cr_assert_eq(rb_batch_validate(g_src, n, &bi), RB_BATCH_OK);
    const uint8_t *out;
    cr_assert_eq(rb_batch_recompress(ctx, g_src, &bi, RB_CODEC_LZ4, 1u << 20, &out, &obi, NULL),
                 RB_BATCH_OK);
    cr_assert_eq(obi.max_timestamp, 1700000000004);
}

Test(compress, batch_over_cap_is_too_large)
{
    /* 10 records of 60000 bytes repeating every 256: ~600 KB, zstd makes it small. */
    static uint8_t big[700000], z[700000];
    struct tu_batch_spec s = {.nrec = 10,
                              .base_ts = 1,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 60000,
                              .seed = 0};
    size_t n = tu_build(big, &s);
    size_t zn = compress_batch(big, n, RB_CODEC_ZSTD, z);
    cr_assert_lt(zn, 100000);
    struct rb_batch_info bi, obi;
    const uint8_t *out;
    cr_assert_eq(rb_batch_validate(z, zn, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 100000, NULL), RB_BATCH_TOO_LARGE);
    cr_assert_eq(rb_batch_recompress(ctx, z, &bi, RB_CODEC_LZ4, 100000, &out, &obi, NULL),
                 RB_BATCH_TOO_LARGE);
    cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 1u << 20, NULL), RB_BATCH_OK);
}

Test(compress, bad_compressed_payload_and_codec)
{
    size_t n = plain_batch(g_src, 20, 100, -1);
    static uint8_t z[400000];
    size_t zn = compress_batch(g_src, n, RB_CODEC_GZIP, z);
    z[zn - 3] ^= 0xFF; /* inside the gzip trailer (CRC-32 / size) */
    tu_fix_crc(z);
    struct rb_batch_info bi, obi;
    const uint8_t *out;
    cr_assert_eq(rb_batch_validate(z, zn, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 1u << 20, NULL), RB_BATCH_BAD_COMPRESSION);
    cr_assert_eq(rb_batch_recompress(ctx, z, &bi, RB_CODEC_NONE, 1u << 20, &out, &obi, NULL),
                 RB_BATCH_BAD_COMPRESSION);
    /* An uncompressed payload labelled lz4. */
    memcpy(z, g_src, n);
    rb_put_be16(z + 21, RB_CODEC_LZ4);
    tu_fix_crc(z);
    cr_assert_eq(rb_batch_validate(z, n, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 1u << 20, NULL), RB_BATCH_BAD_COMPRESSION);
    rb_put_be16(z + 21, 6);
    tu_fix_crc(z);
    cr_assert_eq(rb_batch_validate(z, n, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 1u << 20, NULL), RB_BATCH_BAD_CODEC);
    memcpy(z, g_src, n);
    cr_assert_eq(rb_batch_validate(z, n, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_recompress(ctx, z, &bi, 5, 1u << 20, &out, &obi, NULL),
                 RB_BATCH_BAD_CODEC);
}

/* ---- record-level checks ---- */

/* Records section built record by record with tu_record; returns its length. */
static size_t recs3(uint8_t *p, int32_t d0, int32_t d1, int32_t d2)
{
    const uint8_t k[3] = {'k', 'e', 'y'}, v[5] = {'v', 'a', 'l', 'u', 'e'};
    size_t n = tu_record(p, 0, d0, k, 3, v, 5, 1);
    n += tu_record(p + n, 5, d1, NULL, 0, v, 5, 0);
    n += tu_record(p + n, 2, d2, k, 3, v, 0, 1);
    return n;
}

static struct rb_batch_info info3(void)
{
    struct rb_batch_info bi = {.record_count = 3, .last_offset_delta = 2, .base_timestamp = 100};
    return bi;
}

Test(records, good_records_and_max_timestamp)
{
    uint8_t r[512];
    size_t n = recs3(r, 0, 1, 2);
    struct rb_batch_info bi = info3();
    struct rb_ts_range ts;
    cr_assert_eq(rb_batch_check_records(r, n, &bi, &ts), RB_BATCH_OK);
    cr_assert_eq(ts.max, 105);
    cr_assert_eq(ts.min, 100);
    /* A record at -1 (no timestamp) does not count for min; max is at least -1. */
    bi.base_timestamp = -1;
    cr_assert_eq(rb_batch_check_records(r, n, &bi, &ts), RB_BATCH_OK);
    cr_assert_eq(ts.min, 1);
    cr_assert_eq(ts.max, 4);
    n = tu_record(r, 0, 0, NULL, 0, (const uint8_t *)"v", 1, 0);
    bi.record_count = 1;
    cr_assert_eq(rb_batch_check_records(r, n, &bi, &ts), RB_BATCH_OK);
    cr_assert_eq(ts.min, INT64_MAX);
    cr_assert_eq(ts.max, -1);
}

Test(records, count_and_length_mismatches)
{
    uint8_t r[512];
    size_t n = recs3(r, 0, 1, 2);
    struct rb_batch_info bi = info3();
    cr_assert_eq(rb_batch_check_records(r, n - 1, &bi, NULL), RB_BATCH_BAD_RECORD);
    r[n] = 0;
    cr_assert_eq(rb_batch_check_records(r, n + 1, &bi, NULL), RB_BATCH_BAD_RECORD);
    bi.record_count = 2; /* a record left over */
    cr_assert_eq(rb_batch_check_records(r, n, &bi, NULL), RB_BATCH_BAD_RECORD);
    bi.record_count = 4; /* one missing */
    cr_assert_eq(rb_batch_check_records(r, n, &bi, NULL), RB_BATCH_BAD_RECORD);
    bi.record_count = 0;
    cr_assert_eq(rb_batch_check_records(r, 0, &bi, NULL), RB_BATCH_BAD_RECORD);
}

Test(records, offset_deltas_in_order)
{
    uint8_t r[512];
    struct rb_batch_info bi = info3();
    size_t n = recs3(r, 0, 2, 1);
    cr_assert_eq(rb_batch_check_records(r, n, &bi, NULL), RB_BATCH_BAD_RECORD);
    n = recs3(r, 1, 2, 3);
    cr_assert_eq(rb_batch_check_records(r, n, &bi, NULL), RB_BATCH_BAD_RECORD);
    n = recs3(r, 0, 1, 1);
    cr_assert_eq(rb_batch_check_records(r, n, &bi, NULL), RB_BATCH_BAD_RECORD);
}

/* One record from raw fields after the attributes byte. */
static size_t raw_record(uint8_t *out, const uint8_t *fields, size_t n)
{
    uint8_t body[256];
    body[0] = 0;
    memcpy(body + 1, fields, n);
    size_t h = tu_varint(out, (int64_t)(n + 1));
    memcpy(out + h, body, n + 1);
    return h + n + 1;
}

static enum rb_batch_status one(const uint8_t *fields, size_t n)
{
    uint8_t r[300];
    size_t len = raw_record(r, fields, n);
    struct rb_batch_info bi = {.record_count = 1, .base_timestamp = 100};
    return rb_batch_check_records(r, len, &bi, NULL);
}

/* Zigzag: 0 -> 0, -1 -> 1, 1 -> 2, 2 -> 4, -2 -> 3, 3 -> 6. */
Test(records, field_level_errors)
{
    /* ts 0, off 0, key null, value "ab", 0 headers */
    const uint8_t ok[] = {0, 0, 1, 4, 'a', 'b', 0};
    cr_assert_eq(one(ok, sizeof(ok)), RB_BATCH_OK);
    const uint8_t key_m2[] = {0, 0, 3, 4, 'a', 'b', 0}; /* key length -2 */
    cr_assert_eq(one(key_m2, sizeof(key_m2)), RB_BATCH_BAD_RECORD);
    const uint8_t val_long[] = {0, 0, 1, 6, 'a', 'b', 0}; /* value says 3, has 2 + count */
    cr_assert_eq(one(val_long, sizeof(val_long)), RB_BATCH_BAD_RECORD);
    const uint8_t hdr_neg[] = {0, 0, 1, 4, 'a', 'b', 1}; /* header count -1 */
    cr_assert_eq(one(hdr_neg, sizeof(hdr_neg)), RB_BATCH_BAD_RECORD);
    const uint8_t hdr_many[] = {0, 0, 1, 4, 'a', 'b', 20}; /* 10 headers, no bytes */
    cr_assert_eq(one(hdr_many, sizeof(hdr_many)), RB_BATCH_BAD_RECORD);
    const uint8_t hdr_ok[] = {0, 0, 1, 4, 'a', 'b', 2, 2, 'h', 1}; /* h = null */
    cr_assert_eq(one(hdr_ok, sizeof(hdr_ok)), RB_BATCH_OK);
    const uint8_t hdr_nullkey[] = {0, 0, 1, 4, 'a', 'b', 2, 1, 1}; /* null header key */
    cr_assert_eq(one(hdr_nullkey, sizeof(hdr_nullkey)), RB_BATCH_BAD_RECORD);
    const uint8_t extra[] = {0, 0, 1, 4, 'a', 'b', 0, 9}; /* a byte past the headers */
    cr_assert_eq(one(extra, sizeof(extra)), RB_BATCH_BAD_RECORD);
    const uint8_t short_rec[] = {0, 0, 1, 4, 'a'}; /* value cut off */
    cr_assert_eq(one(short_rec, sizeof(short_rec)), RB_BATCH_BAD_RECORD);
    /* offset delta as a 6-byte varint (Kafka's varint is at most 5 bytes) */
    const uint8_t long_varint[] = {0, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 4, 'a', 'b', 0};
    cr_assert_eq(one(long_varint, sizeof(long_varint)), RB_BATCH_BAD_RECORD);
    /* timestamp delta that overflows base + delta */
    const uint8_t ts_big[] = {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0x01, 0,    1,    4,    'a',  'b',  0};
    cr_assert_eq(one(ts_big, sizeof(ts_big)), RB_BATCH_BAD_RECORD);
    /* record length varint larger than what is there */
    uint8_t r[8] = {40, 0, 0, 0, 1, 0, 0};
    struct rb_batch_info bi = {.record_count = 1};
    cr_assert_eq(rb_batch_check_records(r, 7, &bi, NULL), RB_BATCH_BAD_RECORD);
    r[0] = 1; /* negative length */
    cr_assert_eq(rb_batch_check_records(r, 7, &bi, NULL), RB_BATCH_BAD_RECORD);
}

Test(compress, malformed_records_inside_compressed_batch)
{
    size_t n = plain_batch(g_src, 3, 10, -1);
    /* 3 records while the header says 4 (consistent with lastOffsetDelta 3). */
    rb_put_be32(g_src + 57, 4);
    rb_put_be32(g_src + 23, 3);
    tu_fix_crc(g_src);
    static uint8_t z[400000];
    for (int codec = RB_CODEC_GZIP; codec <= RB_CODEC_MAX; codec++) {
        size_t zn = compress_batch(g_src, n, codec, z);
        struct rb_batch_info bi, obi;
        const uint8_t *out;
        cr_assert_eq(rb_batch_validate(z, zn, &bi), RB_BATCH_OK);
        cr_assert_eq(rb_batch_deep_validate(ctx, z, &bi, 1u << 20, NULL), RB_BATCH_BAD_RECORD);
        cr_assert_eq(rb_batch_recompress(ctx, z, &bi, RB_CODEC_LZ4, 1u << 20, &out, &obi, NULL),
                     RB_BATCH_BAD_RECORD);
    }
}
