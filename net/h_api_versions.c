/*
 * net/h_api_versions.c - ApiVersions (18): the advertised ranges of
 * net/dispatch.c. Versions we do not know are answered in net/dispatch.c.
 */
#include "core/kerr.h"
#include "net/handlers.h"

void rb_handle_api_versions(struct rb_request *req, void *msg)
{
    (void)msg;
    struct rb_api_versions_resp resp;
    rb_api_versions_resp_init(&resp);
    resp.api_keys = rb_req_alloc(req, (size_t)rb_api_support_n, sizeof(*resp.api_keys));
    resp.api_keys_n = rb_api_support_n;
    for (int i = 0; i < rb_api_support_n; i++) {
        resp.api_keys[i].api_key = rb_api_support[i].key;
        resp.api_keys[i].min_version = rb_api_support[i].min_version;
        resp.api_keys[i].max_version = rb_api_support[i].max_version;
    }
    rb_resp_begin(req);
    rb_api_versions_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}
