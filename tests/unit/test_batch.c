/*
 * tests/unit/test_batch.c - CRC-32C vectors and RecordBatch v2 validation on
 * batches built by hand (tests/unit/storage_test_util.h).
 */
#include "core/rb.h"
#include "storage/batch.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>

/* Bitwise reference CRC-32C (reflected polynomial 0x82F63B78). */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

Test(crc32c, standard_vectors)
{
    uint8_t buf[32];
    cr_assert_eq(rb_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(rb_crc32c(0, "", 0), 0u);
    memset(buf, 0, sizeof(buf)); /* RFC 3720 B.4 */
    cr_assert_eq(rb_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, sizeof(buf));
    cr_assert_eq(rb_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    cr_assert_eq(rb_crc32c(0, buf, 32), 0x46DD794Eu);
}

Test(crc32c, continuation_and_reference)
{
    uint8_t buf[5000];
    srand(7);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    uint32_t whole = rb_crc32c(0, buf, sizeof(buf));
    cr_assert_eq(whole, ref_crc32c(buf, sizeof(buf)));
    for (size_t split = 0; split <= sizeof(buf); split += 333) {
        uint32_t c = rb_crc32c(rb_crc32c(0, buf, split), buf + split, sizeof(buf) - split);
        cr_assert_eq(c, whole, "split at %zu", split);
    }
    cr_assert_eq(rb_crc32c(rb_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static uint8_t g_batch[200000];

static size_t good_batch(void)
{
    struct tu_batch_spec s = {.nrec = 5,
                              .base_ts = 1700000000000,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 20,
                              .seed = 3};
    return tu_build(g_batch, &s);
}

Test(batch, valid_batch_validates_and_parses)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
    cr_assert_eq(bi.record_count, 5);
    cr_assert_eq(bi.last_offset_delta, 4);
    cr_assert_eq(rb_batch_total_bytes(&bi), n);
    cr_assert_eq(bi.base_timestamp, 1700000000000);
    cr_assert_eq(bi.max_timestamp, 1700000000004);
    cr_assert_eq(bi.producer_id, -1);
    cr_assert_eq(bi.magic, 2);
    /* Extra bytes after the batch are not part of it. */
    cr_assert_eq(rb_batch_validate(g_batch, n + 100, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_total_bytes(&bi), n);
    /* baseOffset and leader epoch are outside the CRC. */
    rb_put_be64(g_batch, 123456);
    rb_put_be32(g_batch + 12, 9);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
    cr_assert_eq(bi.base_offset, 123456);
    cr_assert_eq(bi.leader_epoch, 9);
}

Test(batch, idempotent_and_transactional_batches_validate)
{
    struct rb_batch_info bi;
    struct tu_batch_spec s = {.nrec = 3,
                              .base_ts = 5,
                              .producer_id = 42,
                              .base_seq = 0,
                              .attributes = RB_BATCH_ATTR_TRANSACTIONAL,
                              .value_bytes = 300,
                              .seed = 1};
    size_t n = tu_build(g_batch, &s);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
    cr_assert_eq(bi.producer_id, 42);
    cr_assert_eq(bi.attributes, RB_BATCH_ATTR_TRANSACTIONAL);
}

Test(batch, bad_crc)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    g_batch[n - 1] ^= 0x01; /* in the records */
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_CRC);
    g_batch[n - 1] ^= 0x01;
    g_batch[RB_BATCH_OFF_ATTRIBUTES + 1] ^= 0x04; /* in the header, under the CRC */
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_CRC);
    g_batch[RB_BATCH_OFF_ATTRIBUTES + 1] ^= 0x04;
    g_batch[RB_BATCH_OFF_CRC] ^= 0x80; /* the CRC itself */
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_CRC);
    /* parse does not look at the CRC */
    cr_assert_eq(rb_batch_parse(g_batch, n, &bi), RB_BATCH_OK);
}

Test(batch, bad_magic)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    for (int m = -1; m <= 3; m++) {
        if (m == 2)
            continue;
        g_batch[RB_BATCH_OFF_MAGIC] = (uint8_t)m;
        cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_MAGIC, "magic %d", m);
        cr_assert_eq(rb_batch_parse(g_batch, n, &bi), RB_BATCH_BAD_MAGIC);
    }
}

Test(batch, truncated_at_every_length)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches overreads */
        memcpy(copy, g_batch, len);
        cr_assert_eq(rb_batch_validate(copy, len, &bi), RB_BATCH_TRUNCATED, "len %zu", len);
        free(copy);
    }
    uint8_t *copy = malloc(n);
    memcpy(copy, g_batch, n);
    cr_assert_eq(rb_batch_validate(copy, n, &bi), RB_BATCH_OK);
    free(copy);
}

Test(batch, batch_length_lies)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    int32_t real = (int32_t)(n - 12);
    int32_t lies_bad[] = {0, 1, 48, -1, -49, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < RB_ARRAY_LEN(lies_bad); i++) {
        rb_put_be32(g_batch + 8, (uint32_t)lies_bad[i]);
        cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_LENGTH, "length %d",
                     lies_bad[i]);
    }
    rb_put_be32(g_batch + 8, (uint32_t)(real + 1)); /* claims more than there is */
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_TRUNCATED);
    rb_put_be32(g_batch + 8, (uint32_t)(real + 100000));
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_TRUNCATED);
    rb_put_be32(g_batch + 8, (uint32_t)(real - 1)); /* shorter: CRC no longer matches */
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_BAD_CRC);
    rb_put_be32(g_batch + 8, 49); /* header only, CRC fixed: count says 5 records */
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_parse(g_batch, n, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_batch_total_bytes(&bi), 61u);
}

Test(batch, record_count_mismatch)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    rb_put_be32(g_batch + 57, 4); /* lastOffsetDelta is 4: count must be 5 */
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
    rb_put_be32(g_batch + 57, 0);
    rb_put_be32(g_batch + 23, (uint32_t)-1);
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
    rb_put_be32(g_batch + 57, (uint32_t)INT32_MIN);
    rb_put_be32(g_batch + 23, (uint32_t)INT32_MAX);
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
}

Test(batch, control_batch_rejected)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    rb_put_be16(g_batch + 21, RB_BATCH_ATTR_CONTROL | RB_BATCH_ATTR_TRANSACTIONAL);
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
    cr_assert_eq(rb_batch_parse(g_batch, n, &bi), RB_BATCH_OK);
}

Test(batch, producer_id_with_negative_sequence)
{
    struct rb_batch_info bi;
    struct tu_batch_spec s = {
        .nrec = 2, .base_ts = 1, .producer_id = 7, .base_seq = -1, .value_bytes = 4};
    size_t n = tu_build(g_batch, &s);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
    s.producer_id = -1;
    n = tu_build(g_batch, &s);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
}

Test(batch, max_timestamp_below_base)
{
    struct rb_batch_info bi;
    size_t n = good_batch();
    rb_put_be64(g_batch + 35, 1699999999999);
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_INVALID);
    rb_put_be64(g_batch + 35, (uint64_t)-1); /* no timestamp: allowed */
    tu_fix_crc(g_batch);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
}

Test(batch, status_strings)
{
    const char *seen[6];
    for (int i = RB_BATCH_OK; i <= RB_BATCH_INVALID; i++) {
        seen[i] = rb_batch_status_str((enum rb_batch_status)i);
        cr_assert_not_null(seen[i]);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j]);
    }
    cr_assert_not_null(rb_batch_status_str((enum rb_batch_status)99));
}
