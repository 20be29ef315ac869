/*
 * core/config_props.c - reader for Java's .properties format, as Kafka reads
 * server.properties (java.util.Properties.load semantics):
 *   - natural lines end at \n, \r or \r\n; a line whose first non-blank character
 *     is '#' or '!' is a comment (comments never continue);
 *   - a line ending in an odd number of backslashes continues on the next line,
 *     whose leading blanks are dropped;
 *   - the key runs to the first unescaped '=', ':' or blank; then blanks, at most
 *     one '=' or ':', blanks; the rest is the value;
 *   - escapes \t \n \r \f \uXXXX (UTF-16, emitted as UTF-8), any other \c is c.
 * Bytes are passed through unchanged (UTF-8 files stay UTF-8).
 * Fault model: input is untrusted; a malformed \u escape or an empty key is a
 * syntax error reported as "path:line: reason" (line where the entry starts).
 */
#include "core/config_int.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_u4(const char *s, size_t n, size_t i, unsigned *out)
{
    if (i + 4 > n)
        return -EINVAL;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(s[i + k]);
        if (h < 0)
            return -EINVAL;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescape s[0..n) into out (at least n+1 bytes: escapes never grow the text).
 * Returns 0 or -EINVAL for a malformed or unpaired \u escape. */
static int unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        if (++i == n)
            break; /* a lone trailing backslash (at end of file) is dropped */
        char c = s[i];
        if (c != 'u') {
            out[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
            continue;
        }
        unsigned cp, lo;
        if (read_u4(s, n, i + 1, &cp) < 0)
            return -EINVAL;
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -EINVAL;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 2 >= n || s[i + 1] != '\\' || s[i + 2] != 'u' ||
                read_u4(s, n, i + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -EINVAL;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        o += put_utf8(out + o, cp);
    }
    out[o] = 0;
    return 0;
}

/* Split one logical line (continuations already joined) and hand it to fn. */
static int parse_logical(char *line, size_t n, char *tmp, const char *path, int lineno,
                         int (*fn)(const char *, const char *, int, void *), void *arg, char *err,
                         size_t errlen)
{
    size_t k = 0;
    while (k < n && line[k] != '=' && line[k] != ':' && !is_blank(line[k]))
        k += line[k] == '\\' ? 2 : 1;
    size_t kend = RB_MIN(k, n), v = kend;
    while (v < n && is_blank(line[v]))
        v++;
    if (v < n && (line[v] == '=' || line[v] == ':'))
        v++;
    while (v < n && is_blank(line[v]))
        v++;
    char *key = tmp, *val = tmp + kend + 1;
    if (kend == 0) {
        snprintf(err, errlen, "%s:%d: syntax error: empty key", path, lineno);
        return -EINVAL;
    }
    if (unescape(line, kend, key) < 0 || unescape(line + v, n - v, val) < 0) {
        snprintf(err, errlen, "%s:%d: syntax error: malformed \\uXXXX escape", path, lineno);
        return -EINVAL;
    }
    return fn(key, val, lineno, arg);
}

/* Length of the natural line at text[i..] and the offset of the next one. */
static size_t natural_line(const char *text, size_t len, size_t i, size_t *next)
{
    size_t e = i;
    while (e < len && text[e] != '\n' && text[e] != '\r')
        e++;
    *next = e;
    if (e < len)
        *next = (text[e] == '\r' && e + 1 < len && text[e + 1] == '\n') ? e + 2 : e + 1;
    return e - i;
}

static bool ends_continued(const char *s, size_t n)
{
    size_t bs = 0;
    while (bs < n && s[n - 1 - bs] == '\\')
        bs++;
    return bs % 2 == 1;
}

int rb_config_props_parse(const char *text, size_t len, const char *path,
                          int (*fn)(const char *key, const char *value, int line, void *arg),
                          void *arg, char *err, size_t errlen)
{
    /* A logical line is never longer than the file, and unescaping never grows it. */
    char *line = malloc(len + 1), *tmp = malloc(len + 2);
    int rc = 0, lineno = 0;
    size_t i = 0;
    if (!line || !tmp) {
        rc = -ENOMEM;
        goto out;
    }
    while (i < len && rc == 0) {
        size_t next, n = natural_line(text, len, i, &next), s = 0;
        int start = ++lineno;
        while (s < n && is_blank(text[i + s]))
            s++;
        if (s == n || text[i + s] == '#' || text[i + s] == '!') {
            i = next;
            continue;
        }
        size_t ll = 0;
        for (;;) {
            memcpy(line + ll, text + i + s, n - s);
            ll += n - s;
            i = next;
            if (!ends_continued(line, ll) || i >= len)
                break;
            ll--; /* drop the continuation backslash */
            n = natural_line(text, len, i, &next);
            lineno++;
            for (s = 0; s < n && is_blank(text[i + s]);)
                s++;
        }
        if (ends_continued(line, ll))
            ll--; /* continuation at end of file */
        line[ll] = 0;
        rc = parse_logical(line, ll, tmp, path, start, fn, arg, err, errlen);
    }
out:
    free(line);
    free(tmp);
    return rc;
}
