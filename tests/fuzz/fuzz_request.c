/*
 * tests/fuzz/fuzz_request.c - libFuzzer target for request frames.
 *
 * The input is a frame body (request header + request body, no size prefix).
 * Decode the header, then the body for whatever api key/version it names
 * (rb_req_decode_any, 1 MiB arena limit). When decoding succeeds, re-encode;
 * the encoding must decode again and re-encode to the same bytes (the codecs
 * are each other's inverse on everything they accept). Any crash, sanitizer
 * report or property violation is a finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proto_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rb_reader r;
    rb_reader_init(&r, data, size);
    struct rb_req_header h;
    if (rb_req_header_decode(&r, &h) != 0)
        return 0;
    struct rb_arena a;
    rb_arena_init(&a, 1 << 20);
    void *m = NULL;
    int rc = rb_req_decode_any(&r, &a, h.api_key, h.api_version, &m);
    if (rc != 0 && rc != -EBADMSG && rc != -ENOMEM)
        abort();
    if (rc == 0) {
        struct rb_writer w1, w2;
        rb_writer_init(&w1, 256);
        w1.max = 16 << 20;
        rb_req_encode_any(&w1, h.api_key, h.api_version, m);
        if (w1.err)
            abort();
        struct rb_reader r2;
        rb_reader_init(&r2, w1.buf, w1.len);
        struct rb_arena b;
        rb_arena_init(&b, 1 << 20);
        void *m2 = NULL;
        if (rb_req_decode_any(&r2, &b, h.api_key, h.api_version, &m2) != 0)
            abort(); /* our own encoding must decode within the same limit */
        {
            rb_writer_init(&w2, 256);
            rb_req_encode_any(&w2, h.api_key, h.api_version, m2);
            if (w2.err || w2.len != w1.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
                abort();
            rb_writer_free(&w2);
        }
        rb_arena_free(&b);
        rb_writer_free(&w1);
    }
    rb_arena_free(&a);
    return 0;
}
