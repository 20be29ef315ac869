/*
 * tests/fuzz/fuzz_batch.c - libFuzzer target for RecordBatch validation: any
 * bytes go through rb_batch_parse and rb_batch_validate, as the records of a
 * produce request would; a batch that validates must describe itself
 * consistently (length within the input, counts matching).
 */
#include "core/rb.h"
#include "storage/batch.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_parse(data + off, size - off, &bi);
        if (st != RB_BATCH_OK)
            break;
        RB_ASSERT(rb_batch_total_bytes(&bi) <= size - off);
        st = rb_batch_validate(data + off, size - off, &bi);
        if (st == RB_BATCH_OK) {
            RB_ASSERT(bi.record_count == bi.last_offset_delta + 1);
            RB_ASSERT(bi.record_count > 0);
        }
        (void)rb_batch_status_str(st);
        off += rb_batch_total_bytes(&bi);
    }
    return 0;
}
