/*
 * storage/compress.h - Kafka's record-batch codecs (gzip, snappy, lz4, zstd) over
 * per-shard scratch buffers, and broker-side deep validation and recompression of
 * RecordBatch v2 (storage/recompress.c).
 *
 * Wire formats, as Kafka's clients write and read them:
 *   gzip   a gzip stream (RFC 1952); concatenated members are accepted on input
 *   snappy xerial framing as the Java client writes it (16-byte header "\x82SNAPPY\0",
 *          version 1, compatible 1; then [int32 BE length, raw snappy block of at most
 *          32 KiB input] ...); input may also be one raw snappy block (librdkafka)
 *   lz4    the LZ4 frame format, 64 KiB independent blocks, no checksums
 *   zstd   zstd frames
 *
 * Memory: a struct rb_codec_ctx belongs to one shard (no locks; never shared). Its
 * two scratch buffers grow as needed up to the caller's cap and are reused, so a
 * steady stream of batches allocates nothing; a buffer that grew past
 * RB_CODEC_KEEP_BYTES is released at the start of the next operation, so one huge
 * batch does not pin memory. (snappy's C library allocates its own working memory
 * per call: not avoidable through its API.)
 *
 * Decompression is bounded: output beyond cap stops the work with -EMSGSIZE, so a
 * zip bomb costs at most cap bytes of memory and the time to produce them. The zstd
 * decoder's window is limited to the cap as well (frames that need more: -EMSGSIZE).
 */
#ifndef RB_STORAGE_COMPRESS_H
#define RB_STORAGE_COMPRESS_H

#include "storage/batch.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum rb_codec {
    RB_CODEC_NONE = 0,
    RB_CODEC_GZIP = 1,
    RB_CODEC_SNAPPY = 2,
    RB_CODEC_LZ4 = 3,
    RB_CODEC_ZSTD = 4,
};
#define RB_CODEC_MAX 4

/* Scratch buffers above this size are freed at the start of the next operation. */
#define RB_CODEC_KEEP_BYTES (4u << 20)

/* Decompressed-size cap for a batch: 32 x max.message.bytes, at least 64 MiB and at
 * most 1 GiB. (Kafka streams and has no cap; real batches compress 2-10x, so
 * this only refuses pathological ratios.) */
#define RB_DECOMP_CAP_MIN    ((size_t)64 << 20)
#define RB_DECOMP_CAP_MAX    ((size_t)1 << 30)
#define RB_DECOMP_CAP_FACTOR 32
size_t rb_decomp_cap(int32_t max_message_bytes);

/* compression.type value -> codec: 0..4, or -1 for "producer"; -EINVAL for anything
 * else. "uncompressed" is RB_CODEC_NONE. */
int rb_codec_from_config(const char *value);
/* Codec name as Kafka prints it (none, gzip, snappy, lz4, zstd), "unknown" else. */
const char *rb_codec_name(int codec);

struct rb_codec_ctx;
/* A codec context with empty buffers; NULL on -ENOMEM. */
struct rb_codec_ctx *rb_codec_ctx_new(void);
void rb_codec_ctx_free(struct rb_codec_ctx *c);

/* Decompress in[0..len) (codec 1..4) into the context's decompression buffer.
 * *out points at the result, valid until the next call on c. Returns 0, -EMSGSIZE
 * (more than cap bytes), -EBADMSG (not a valid stream of that codec), -ENOMEM,
 * -EINVAL (codec). */
int rb_decompress(struct rb_codec_ctx *c, int codec, const uint8_t *in, size_t len, size_t cap,
                  const uint8_t **out, size_t *out_len);

/* The bytes the last rb_decompress on c produced (on failure: the buffer it
 * filled), the measure of its work for callers that budget it per loop turn. */
size_t rb_codec_last_out(const struct rb_codec_ctx *c);
/* The bytes every rb_decompress on c produced so far. */
uint64_t rb_codec_total_out(const struct rb_codec_ctx *c);
/* Bytes the context's scratch buffers hold now; rb_codec_trim releases the ones
 * above RB_CODEC_KEEP_BYTES at once (after a big batch, instead of at the next
 * operation), so at rest a context holds at most 2 x RB_CODEC_KEEP_BYTES. */
size_t rb_codec_scratch_bytes(const struct rb_codec_ctx *c);
void rb_codec_trim(struct rb_codec_ctx *c);
/* From now on every change of c's scratch bytes is also added to *gauge (atomic,
 * another thread may read it; NULL: none): what the scratch holds moves from the
 * previous gauge to this one. The validator thread charges its scratch to the
 * shard whose job it runs. */
void rb_codec_set_gauge(struct rb_codec_ctx *c, _Atomic int64_t *gauge);

/* Compress in[0..len) with codec (1..4) into dst, which must hold
 * rb_compress_bound(codec, len) bytes. Returns the compressed size, or -ENOMEM /
 * -EINVAL / -EIO (library failure). */
size_t rb_compress_bound(int codec, size_t len);
int64_t rb_compress(struct rb_codec_ctx *c, int codec, const uint8_t *in, size_t len, uint8_t *dst,
                    size_t dst_cap);

/* The context's output buffer with room for need bytes (its contents are not
 * kept), for storage/recompress.c; NULL on -ENOMEM. Valid until the next call. */
uint8_t *rb_codec_out_reserve(struct rb_codec_ctx *c, size_t need);

/* ---- deep validation and recompression (storage/recompress.c) ---- */

/* Deep validation of a batch that passed rb_batch_validate: decompress its records
 * (codec from the attributes, capped at cap bytes) and check them with
 * rb_batch_check_records, which fills *ts (may be NULL). Returns RB_BATCH_OK or
 * RB_BATCH_BAD_RECORD / BAD_COMPRESSION / TOO_LARGE / BAD_CODEC / NOMEM. */
enum rb_batch_status rb_batch_deep_validate(struct rb_codec_ctx *c, const uint8_t *batch,
                                            const struct rb_batch_info *bi, size_t cap,
                                            struct rb_ts_range *ts);

/* Rebuild a validated batch with its records compressed by codec (0..4): decompress
 * (capped), deep-validate, recompress, then rewrite attributes' codec bits,
 * batchLength, maxTimestamp (largest record timestamp, as Kafka's rebuild does) and
 * the CRC. *out points at the new batch (valid until the next call on c), *obi
 * describes it, *ts (may be NULL) gets the records' timestamp range. Same statuses
 * as rb_batch_deep_validate. */
enum rb_batch_status rb_batch_recompress(struct rb_codec_ctx *c, const uint8_t *batch,
                                         const struct rb_batch_info *bi, int codec, size_t cap,
                                         const uint8_t **out, struct rb_batch_info *obi,
                                         struct rb_ts_range *ts);

#endif
