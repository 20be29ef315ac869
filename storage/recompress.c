/*
 * storage/recompress.c - broker-side deep validation and recompression of a
 * RecordBatch v2 (declared in storage/compress.h).
 *
 * Owns: the rebuilt batch layout. Only the records section, the codec bits of
 * attributes, batchLength, maxTimestamp and the CRC change; base offset, epochs,
 * producer fields, sequence and counts are copied, so idempotence and offset
 * assignment see the same batch. Records are copied verbatim (Kafka's rebuild
 * re-encodes them against the first record's timestamp; the records read the same).
 * Fault model: the input batch passed rb_batch_validate (header, CRC), but its
 * records come from the network: they are decompressed under a cap and checked by
 * rb_batch_check_records before anything is built from them.
 */
#include "storage/compress.h"

#include "core/endian.h"

#include <errno.h>
#include <string.h>

static enum rb_batch_status status_of(int e)
{
    switch (e) {
    case -EMSGSIZE:
        return RB_BATCH_TOO_LARGE;
    case -ENOMEM:
        return RB_BATCH_NOMEM;
    case -EINVAL:
        return RB_BATCH_BAD_CODEC;
    default:
        return RB_BATCH_BAD_COMPRESSION;
    }
}

/* The batch's records, decompressed into c when the batch is compressed. */
static enum rb_batch_status batch_records(struct rb_codec_ctx *c, const uint8_t *batch,
                                          const struct rb_batch_info *bi, size_t cap,
                                          const uint8_t **recs, size_t *len)
{
    int codec = bi->attributes & RB_BATCH_ATTR_COMPRESSION_MASK;
    const uint8_t *in = batch + RB_BATCH_HEADER_BYTES;
    size_t in_len = rb_batch_total_bytes(bi) - RB_BATCH_HEADER_BYTES;
    if (codec > RB_CODEC_MAX)
        return RB_BATCH_BAD_CODEC;
    if (codec == RB_CODEC_NONE) {
        *recs = in;
        *len = in_len;
        return RB_BATCH_OK;
    }
    int e = rb_decompress(c, codec, in, in_len, cap, recs, len);
    return e ? status_of(e) : RB_BATCH_OK;
}

enum rb_batch_status rb_batch_deep_validate(struct rb_codec_ctx *c, const uint8_t *batch,
                                            const struct rb_batch_info *bi, size_t cap,
                                            struct rb_ts_range *ts)
{
    const uint8_t *recs;
    size_t len;
    enum rb_batch_status st = batch_records(c, batch, bi, cap, &recs, &len);
    return st != RB_BATCH_OK ? st : rb_batch_check_records(recs, len, bi, ts);
}

enum rb_batch_status rb_batch_recompress(struct rb_codec_ctx *c, const uint8_t *batch,
                                         const struct rb_batch_info *bi, int codec, size_t cap,
                                         const uint8_t **out, struct rb_batch_info *obi,
                                         struct rb_ts_range *ts)
{
    const uint8_t *recs;
    size_t len;
    struct rb_ts_range tsr;
    if (codec < RB_CODEC_NONE || codec > RB_CODEC_MAX)
        return RB_BATCH_BAD_CODEC;
    enum rb_batch_status st = batch_records(c, batch, bi, cap, &recs, &len);
    if (st == RB_BATCH_OK)
        st = rb_batch_check_records(recs, len, bi, &tsr);
    if (st != RB_BATCH_OK)
        return st;

    size_t bound = codec == RB_CODEC_NONE ? len : rb_compress_bound(codec, len);
    uint8_t *o = rb_codec_out_reserve(c, RB_BATCH_HEADER_BYTES + bound);
    if (!o)
        return RB_BATCH_NOMEM;
    int64_t clen = (int64_t)len;
    if (codec == RB_CODEC_NONE)
        memcpy(o + RB_BATCH_HEADER_BYTES, recs, len);
    else
        clen = rb_compress(c, codec, recs, len, o + RB_BATCH_HEADER_BYTES, bound);
    if (clen < 0)
        return clen == -ENOMEM ? RB_BATCH_NOMEM : RB_BATCH_BAD_COMPRESSION;
    size_t total = RB_BATCH_HEADER_BYTES + (size_t)clen;
    if (total - RB_BATCH_LOG_OVERHEAD > INT32_MAX)
        return RB_BATCH_TOO_LARGE;

    memcpy(o, batch, RB_BATCH_HEADER_BYTES);
    uint16_t attrs = (uint16_t)((bi->attributes & ~RB_BATCH_ATTR_COMPRESSION_MASK) | codec);
    rb_put_be16(o + RB_BATCH_OFF_ATTRIBUTES, attrs);
    rb_put_be32(o + RB_BATCH_OFF_LENGTH, (uint32_t)(total - RB_BATCH_LOG_OVERHEAD));
    if (!(attrs & RB_BATCH_ATTR_TIMESTAMP_TYPE)) /* LogAppendTime: the log sets it */
        rb_put_be64(o + RB_BATCH_OFF_MAX_TS, (uint64_t)tsr.max);
    rb_put_be32(o + RB_BATCH_OFF_CRC,
                rb_crc32c(0, o + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES));
    st = rb_batch_parse(o, total, obi);
    if (st != RB_BATCH_OK)
        return st;
    *out = o;
    if (ts)
        *ts = tsr;
    return RB_BATCH_OK;
}
