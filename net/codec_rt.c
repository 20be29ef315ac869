/*
 * net/codec_rt.c - request and response headers (Kafka's header v0-v2), on top
 * of the API table that net/proto_gen.c generates: whether a header carries
 * tagged fields depends on the api key and version.
 */
#include "net/proto_gen.h"

int rb_req_header_decode(struct rb_reader *r, struct rb_req_header *h)
{
    h->api_key = rb_read_i16(r);
    h->api_version = rb_read_i16(r);
    h->correlation_id = rb_read_i32(r);
    h->client_id = rb_read_str(r, false);
    const struct rb_api_info *ai = rb_api_info(h->api_key);
    if (!r->err && ai && h->api_version >= ai->min_version && h->api_version >= ai->flexible_min)
        rb_skip_tagged_fields(r);
    return r->err;
}

void rb_req_header_encode(struct rb_writer *w, const struct rb_req_header *h)
{
    rb_write_i16(w, h->api_key);
    rb_write_i16(w, h->api_version);
    rb_write_i32(w, h->correlation_id);
    rb_write_str(w, h->client_id, false);
    const struct rb_api_info *ai = rb_api_info(h->api_key);
    if (ai && h->api_version >= ai->min_version && h->api_version >= ai->flexible_min)
        rb_write_uvarint(w, 0);
}

int rb_resp_header_version(int16_t api_key, int16_t api_version)
{
    const struct rb_api_info *ai = rb_api_info(api_key);
    if (api_key == 18 || !ai)
        return 0;
    return api_version >= ai->flexible_min ? 1 : 0;
}

void rb_resp_header_encode(struct rb_writer *w, int16_t api_key, int16_t api_version,
                           int32_t correlation_id)
{
    rb_write_i32(w, correlation_id);
    if (rb_resp_header_version(api_key, api_version) == 1)
        rb_write_uvarint(w, 0);
}

int rb_resp_header_decode(struct rb_reader *r, int16_t api_key, int16_t api_version,
                          int32_t *correlation_id)
{
    *correlation_id = rb_read_i32(r);
    if (rb_resp_header_version(api_key, api_version) == 1)
        rb_skip_tagged_fields(r);
    return r->err;
}
