/*
 * tests/fuzz/fuzz_compress.c - libFuzzer target for storage/compress.c and the
 * record checks: the first byte picks a codec (gzip, snappy, lz4, zstd) and a
 * record count, the rest is decompressed under a 256 KiB cap with one context
 * reused across inputs (as a shard reuses it). Whatever decompresses is run
 * through rb_batch_check_records, and must survive a compress/decompress round
 * trip with every codec byte for byte.
 */
#include "core/rb.h"
#include "storage/batch.h"
#include "storage/compress.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (256u << 10)

static struct rb_codec_ctx *ctx;
static uint8_t copy[CAP + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!ctx)
        ctx = rb_codec_ctx_new();
    RB_ASSERT(ctx);
    int codec = 1 + data[0] % 4;
    const uint8_t *out;
    size_t n;
    int e = rb_decompress(ctx, codec, data + 1, size - 1, CAP, &out, &n);
    RB_ASSERT(e == 0 || e == -EMSGSIZE || e == -EBADMSG || e == -ENOMEM);
    if (e)
        return 0;
    RB_ASSERT(n <= CAP);
    memcpy(copy, out, n);
    struct rb_batch_info bi = {.record_count = 1 + (data[0] >> 2), .base_timestamp = 1};
    struct rb_ts_range ts;
    enum rb_batch_status st = rb_batch_check_records(copy, n, &bi, &ts);
    RB_ASSERT(st == RB_BATCH_OK || st == RB_BATCH_BAD_RECORD);
    for (int c = RB_CODEC_GZIP; c <= RB_CODEC_MAX; c++) {
        size_t bound = rb_compress_bound(c, n);
        uint8_t *z = malloc(bound);
        RB_ASSERT(z);
        int64_t zn = rb_compress(ctx, c, copy, n, z, bound);
        RB_ASSERT(zn > 0 && (size_t)zn <= bound);
        size_t back;
        e = rb_decompress(ctx, c, z, (size_t)zn, CAP, &out, &back);
        RB_ASSERT(e == 0 && back == n);
        RB_ASSERT(memcmp(out, copy, n) == 0);
        free(z);
    }
    return 0;
}
