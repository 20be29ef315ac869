/*
 * tools/ringctl_format.c - the record formats of `ringctl produce` and `ringctl
 * consume`: splitting a stdin line into headers, key and value as
 * kafka-console-producer's LineMessageReader does, and printing a record as
 * kafka-console-consumer's DefaultMessageFormatter does (print.* properties) or
 * as one JSON object a line (--formatter json).
 *
 * Pure (no librdkafka, output only to the FILE given) so the unit tests drive it
 * directly (tests/unit/test_ringctl_format.c). A parsed line points into the
 * caller's buffer; nothing is allocated.
 */
#include "tools/ringctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_marker(const struct ctl_args *a, const char *p, size_t n)
{
    return a->null_marker && strlen(a->null_marker) == n && memcmp(a->null_marker, p, n) == 0;
}

static int add_header(const struct ctl_args *a, const char *p, size_t n, struct ctl_line *out,
                      char *err, size_t errlen)
{
    if (out->n_headers == CTL_MAX_HEADERS) {
        snprintf(err, errlen, "more than %d headers", CTL_MAX_HEADERS);
        return -EINVAL;
    }
    struct ctl_header *h = &out->headers[out->n_headers];
    size_t ksl = strlen(a->headers_key_sep);
    const char *ks = memmem(p, n, a->headers_key_sep, ksl);
    if (!ks && !a->ignore_error) {
        snprintf(err, errlen, "no header key separator '%s' found in pair '%.*s'",
                 a->headers_key_sep, (int)n, p);
        return -EINVAL;
    }
    h->name = p;
    h->name_len = ks ? (size_t)(ks - p) : n;
    h->value = NULL;
    h->value_len = 0;
    if (is_marker(a, h->name, h->name_len)) {
        snprintf(err, errlen, "header keys should not be equal to the null marker '%s'",
                 a->null_marker);
        return -EINVAL;
    }
    if (ks) {
        const char *v = ks + ksl;
        size_t vl = n - (size_t)(v - p);
        if (!is_marker(a, v, vl)) {
            h->value = v;
            h->value_len = vl;
        }
    }
    out->n_headers++;
    return 0;
}

/* Split on headers_sep the way Java's String.split does: trailing empty items are
 * dropped, but an empty string is one empty item. */
static int split_headers(const struct ctl_args *a, const char *p, size_t n, struct ctl_line *out,
                         char *err, size_t errlen)
{
    size_t sl = strlen(a->headers_sep);
    size_t end = n;
    while (n > 0 && end >= sl && memcmp(p + end - sl, a->headers_sep, sl) == 0)
        end -= sl;
    if (n > 0 && end == 0)
        return 0;
    const char *s = p, *e = p + end;
    for (;;) {
        const char *q = memmem(s, (size_t)(e - s), a->headers_sep, sl);
        size_t len = q ? (size_t)(q - s) : (size_t)(e - s);
        if (add_header(a, s, len, out, err, errlen))
            return -EINVAL;
        if (!q)
            return 0;
        s = q + sl;
    }
}

int ctl_parse_line(const struct ctl_args *a, const char *line, size_t n, struct ctl_line *out,
                   char *err, size_t errlen)
{
    size_t pos = 0;
    out->key = out->value = NULL;
    out->key_len = out->value_len = 0;
    out->n_headers = 0;
    if (a->parse_headers) {
        size_t dl = strlen(a->headers_delim);
        const char *d = memmem(line, n, a->headers_delim, dl);
        if (!d && !a->ignore_error) {
            snprintf(err, errlen, "no headers delimiter found");
            return -EINVAL;
        }
        if (d) {
            size_t hl = (size_t)(d - line);
            if (!is_marker(a, line, hl) && split_headers(a, line, hl, out, err, errlen))
                return -EINVAL;
            pos = hl + dl;
        }
    }
    if (a->key_sep) {
        size_t kl = strlen(a->key_sep);
        const char *s = memmem(line + pos, n - pos, a->key_sep, kl);
        if (!s && !a->ignore_error) {
            snprintf(err, errlen, "no key separator '%s' found", a->key_sep);
            return -EINVAL;
        }
        if (s) {
            size_t len = (size_t)(s - (line + pos));
            if (!is_marker(a, line + pos, len)) {
                out->key = line + pos;
                out->key_len = len;
            }
            pos += len + kl;
        }
    }
    if (!is_marker(a, line + pos, n - pos)) {
        out->value = line + pos;
        out->value_len = n - pos;
    }
    return 0;
}

/* ---- consume ---- */

static void put_bytes(FILE *out, const void *p, size_t n)
{
    if (n)
        fwrite(p, 1, n, out);
}

static void put_or_null(FILE *out, const struct ctl_args *a, const void *p, size_t n)
{
    if (p)
        put_bytes(out, p, n);
    else
        fputs(a->null_literal, out);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
                 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
                 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                                : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

static void json_str(FILE *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (!p) {
        fputs("null", out);
        return;
    }
    putc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t ul;
        if (c == '"' || c == '\\') {
            putc('\\', out);
            putc(c, out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\r') {
            fputs("\\r", out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else if (c < 0x80) {
            putc(c, out);
        } else if ((ul = utf8_len(p + i, n - i)) > 0) {
            put_bytes(out, p + i, ul);
            i += ul;
            continue;
        } else {
            fprintf(out, "\\u%04x", c); /* not UTF-8: the byte as a code point */
        }
        i++;
    }
    putc('"', out);
}

static const char *ts_type_name(int t)
{
    return t == 1 ? "CreateTime" : t == 2 ? "LogAppendTime" : NULL;
}

static void format_json(FILE *out, const struct ctl_record *r)
{
    fprintf(out, "{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",", r->partition, r->offset);
    if (ts_type_name(r->ts_type))
        fprintf(out, "\"timestamp\":%" PRId64 ",\"timestamp_type\":\"%s\",", r->timestamp,
                ts_type_name(r->ts_type));
    else
        fputs("\"timestamp\":null,\"timestamp_type\":null,", out);
    fputs("\"headers\":[", out);
    for (int i = 0; i < r->n_headers; i++) {
        fputs(i ? ",{\"key\":" : "{\"key\":", out);
        json_str(out, r->headers[i].name, r->headers[i].name_len);
        fputs(",\"value\":", out);
        json_str(out, r->headers[i].value, r->headers[i].value_len);
        putc('}', out);
    }
    fputs("],\"key\":", out);
    json_str(out, r->key, r->key_len);
    fputs(",\"value\":", out);
    json_str(out, r->value, r->value_len);
    fputs("}\n", out);
}

/* After a column: the column separator when more columns follow, else the line end. */
static void sep(FILE *out, const struct ctl_args *a, bool more)
{
    fputs(more ? a->key_sep : a->line_sep, out);
}

void ctl_format_record(FILE *out, const struct ctl_args *a, const struct ctl_record *r)
{
    if (a->json) {
        format_json(out, r);
        return;
    }
    bool v = a->print_value, k = v || a->print_key, h = k || a->print_headers;
    bool o = h || a->print_offset, p = o || a->print_partition;
    if (a->print_timestamp) {
        if (ts_type_name(r->ts_type))
            fprintf(out, "%s:%" PRId64, ts_type_name(r->ts_type), r->timestamp);
        else
            fputs("NO_TIMESTAMP", out);
        sep(out, a, p);
    }
    if (a->print_partition) {
        fprintf(out, "Partition:%" PRId32, r->partition);
        sep(out, a, o);
    }
    if (a->print_offset) {
        fprintf(out, "Offset:%" PRId64, r->offset);
        sep(out, a, h);
    }
    if (a->print_headers) {
        if (!r->n_headers)
            fputs("NO_HEADERS", out);
        for (int i = 0; i < r->n_headers; i++) {
            if (i)
                fputs(a->headers_sep, out);
            put_bytes(out, r->headers[i].name, r->headers[i].name_len);
            putc(':', out);
            put_or_null(out, a, r->headers[i].value, r->headers[i].value_len);
        }
        sep(out, a, k);
    }
    if (a->print_key) {
        put_or_null(out, a, r->key, r->key_len);
        sep(out, a, v);
    }
    if (v) {
        put_or_null(out, a, r->value, r->value_len);
        fputs(a->line_sep, out);
    }
}
