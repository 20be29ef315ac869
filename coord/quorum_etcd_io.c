/*
 * coord/quorum_etcd_io.c - the etcd backend's transport (coord/quorum_etcd.c has
 * the design): one POST of the v3 JSON gateway through libcurl with a deadline,
 * failing over to the next endpoint when a request could not reach its server;
 * the map of gateway errors to the errno codes of coord/quorum.h; node keys; base64;
 * the small helpers the reads and writes share (read requests, ranges, paths).
 *
 * Fault model: the servers are ours but the network is not: every request has a
 * deadline, every answer is parsed defensively (a body that is not JSON is -EIO,
 * logged with the endpoint). A write is resent to another endpoint only when
 * nothing of it was sent; reads are resent after any failure.
 */
#include "coord/quorum_etcd_int.h"
#include "core/logging.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rb_etcd_buf_reset(struct rb_etcd_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

size_t rb_etcd_buf_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct rb_etcd_buf *b = arg;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0; /* curl fails the transfer */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = 0;
    return n;
}

CURL *rb_etcd_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rb_etcd_buf_write);
    return h;
}

void rb_etcd_set_expired(struct rb_etcd *e)
{
    if (!atomic_exchange(&e->expired, true)) {
        RB_WARN(RB_ETCD_COMP, "lease %lld is gone: the session expired", (long long)e->lease_id);
        if (e->multi)
            curl_multi_wakeup(e->multi);
    }
}

/* -EAGAIN: another endpoint may do better (nothing was applied). */
static int status_err(struct rb_etcd *e, long http, json_t *resp, const char *ep, const char *api,
                      bool idempotent)
{
    json_t *m = json_object_get(resp, "message");
    const char *msg = json_is_string(m) ? json_string_value(m) : "(no message)";
    int64_t code = rb_etcd_int(resp, "code");
    if (strstr(msg, "lease not found")) {
        rb_etcd_set_expired(e);
        return -ENOTCONN;
    }
    RB_WARN(RB_ETCD_COMP, "%s%s: HTTP %ld, code %lld: %s", ep, api, http, (long long)code, msg);
    if (strstr(msg, "no leader") || strstr(msg, "not capable"))
        return -EAGAIN;
    switch (code) {
    case 3: /* InvalidArgument */
        return -EINVAL;
    case 4: /* DeadlineExceeded */
        return -ETIMEDOUT;
    case 1:  /* Canceled: the gateway's connection to its member is closing */
    case 14: /* Unavailable: closing, leader changed, "request timed out" */
        return idempotent ? -EAGAIN : -ECONNABORTED; /* a write may have been applied */
    default:
        return -EIO;
    }
}

int rb_etcd_status_err(struct rb_etcd *e, long http, json_t *resp, const char *ep, const char *api)
{
    int r = status_err(e, http, resp, ep, api, false);
    return r == -EAGAIN ? -ECONNABORTED : r;
}

int rb_etcd_post(struct rb_etcd *e, CURL *h, const char *api, json_t *body, json_t **resp,
                 bool idempotent)
{
    *resp = NULL;
    char *txt = json_dumps(body, JSON_COMPACT);
    if (!txt)
        return -ENOMEM;
    struct rb_etcd_buf b = {0};
    int r = -ECONNABORTED;
    int start = atomic_load(&e->cur_ep);
    long connect_ms = e->op_timeout_ms < 1000 ? e->op_timeout_ms : 1000;
    for (int i = 0; i < e->n_eps; i++) {
        int ep = (start + i) % e->n_eps;
        char url[512];
        snprintf(url, sizeof(url), "%s%s", e->eps[ep], api);
        rb_etcd_buf_reset(&b);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, txt);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->op_timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        CURLcode c = curl_easy_perform(h);
        int next = (ep + 1) % e->n_eps;
        if (c != CURLE_OK) {
            long sent = 0;
            curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
            if (!e->quiet)
                RB_WARN(RB_ETCD_COMP, "%s: %s%s", url, curl_easy_strerror(c),
                        sent ? " (the request was sent)" : "");
            r = c == CURLE_OPERATION_TIMEDOUT && sent ? -ETIMEDOUT : -ECONNABORTED;
            atomic_compare_exchange_strong(&e->cur_ep, &ep, next);
            if (sent == 0 || idempotent)
                continue;
            break;
        }
        long http = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
        json_error_t jerr;
        json_t *j = b.p ? json_loadb(b.p, b.len, 0, &jerr) : NULL;
        if (!j) {
            RB_WARN(RB_ETCD_COMP, "%s: HTTP %ld, not JSON: %.200s", url, http, b.p ? b.p : "");
            r = -EIO;
            break;
        }
        if (http != 200) {
            r = status_err(e, http, j, e->eps[ep], api, idempotent);
            json_decref(j);
            if (r == -EAGAIN || r == -ECONNABORTED || r == -ETIMEDOUT)
                atomic_compare_exchange_strong(&e->cur_ep, &ep, next); /* next call: next one */
            if (r == -EAGAIN) {
                r = -ECONNABORTED;
                continue;
            }
            break;
        }
        *resp = j;
        r = 0;
        break;
    }
    if (r == -ETIMEDOUT && idempotent)
        r = -ECONNABORTED; /* nothing to be unsure of: retry once connected */
    free(b.p);
    free(txt);
    return r;
}

/* The absolute path (prefix + path) of a caller's path; "/" for the virtual root. */
static int abs_path(const struct rb_etcd *e, const char *path, char *out, size_t cap)
{
    if (strchr(path, RB_ETCD_MARK))
        return -EINVAL;
    bool root = strcmp(path, "/") == 0;
    int n = snprintf(out, cap, "%s%s", e->prefix, root && e->prefix[0] ? "" : path);
    return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

int rb_etcd_key(const struct rb_etcd *e, const char *path, bool children, char *out, size_t cap)
{
    char a[RB_ETCD_KEY_MAX];
    if (abs_path(e, path, a, sizeof(a)))
        return -EINVAL;
    bool root = strcmp(a, "/") == 0;
    int n;
    if (children) {
        n = snprintf(out, cap, "%s/%c", root ? "" : a, RB_ETCD_MARK);
    } else {
        if (root)
            return -EINVAL; /* the virtual root has no key */
        const char *slash = strrchr(a, '/');
        n = snprintf(out, cap, "%.*s/%c%s", (int)(slash - a), a, RB_ETCD_MARK, slash + 1);
    }
    return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

int rb_etcd_seq_key(const struct rb_etcd *e, const char *path, char *out, size_t cap)
{
    char a[RB_ETCD_KEY_MAX];
    if (abs_path(e, path, a, sizeof(a)))
        return -EINVAL;
    int n = snprintf(out, cap, "%s/%c", strcmp(a, "/") == 0 ? "" : a, RB_ETCD_SEQ_MARK);
    return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

const char *rb_etcd_path_of(const struct rb_etcd *e, const char *key, size_t klen, char *out,
                            size_t cap)
{
    size_t pl = strlen(e->prefix);
    if (klen < pl + 3 || klen + 1 > cap || memcmp(key, e->prefix, pl) != 0 || key[pl] != '/' ||
        memchr(key, 0, klen))
        return NULL;
    const char *slash = memrchr(key, '/', klen);
    if ((size_t)(slash - key) + 2 >= klen || slash[1] != RB_ETCD_MARK)
        return NULL;
    /* prefix + "/a/b/" + MARK + "c" -> "/a/b/c" */
    size_t head = (size_t)(slash - key) + 1 - pl;
    memcpy(out, key + pl, head);
    memcpy(out + head, slash + 2, klen - (size_t)(slash - key) - 2);
    out[klen - pl - 1] = 0;
    return out;
}

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *rb_etcd_b64(const void *data, size_t len)
{
    const unsigned char *s = data;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < len)
            v |= s[i + 2];
        *o++ = b64tab[(v >> 18) & 63];
        *o++ = b64tab[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? b64tab[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64tab, c) : NULL;
    return p ? (int)(p - b64tab) : -1;
}

int rb_etcd_unb64(const char *s, char **out, size_t *len)
{
    size_t n = s ? strlen(s) : 0;
    char *d = malloc(n / 4 * 3 + 4);
    if (!d)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            free(d);
            return -EIO;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    d[o] = 0;
    *out = d;
    if (len)
        *len = o;
    return 0;
}

int64_t rb_etcd_int(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return 0;
}

json_t *rb_etcd_str64(int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return json_string(buf);
}

/* ---- helpers of the operations (coord/quorum_etcd.c, coord/quorum_etcd_txn.c) ---- */

json_t *rb_etcd_b64s(const char *s)
{
    char *b = rb_etcd_b64(s, strlen(s));
    json_t *j = json_string(b ? b : "");
    free(b);
    return j;
}

void rb_etcd_range_end(const char *start, char *end, size_t cap)
{
    snprintf(end, cap, "%s", start);
    end[strlen(end) - 1]++; /* the range of every key starting with start */
}

json_t *rb_etcd_first_kv(json_t *range_resp)
{
    return json_array_get(json_object_get(range_resp, "kvs"), 0);
}

/* Read-only requests (ranges, read txns): idempotent. */
int rb_etcd_read(struct rb_etcd *e, const char *api, json_t *body, json_t **resp)
{
    pthread_mutex_lock(&e->req_lock);
    int r = rb_etcd_post(e, e->req, api, body, resp, true);
    pthread_mutex_unlock(&e->req_lock);
    json_decref(body);
    return r;
}

bool rb_etcd_is_root(const char *path)
{
    return strcmp(path, "/") == 0;
}

void rb_etcd_parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(out, cap, "%.*s", (int)n, path);
}
