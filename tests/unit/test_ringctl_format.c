/*
 * tests/unit/test_ringctl_format.c - tools/ringctl_format.c: produce's line
 * parsing (kafka-console-producer's rules) and consume's output formats
 * (kafka-console-consumer's DefaultMessageFormatter, and --formatter json).
 * tools/ is not part of the broker library, so the sources are compiled in here.
 */
#include "tools/ringctl_args.c"
#include "tools/ringctl_args_check.c"
#include "tools/ringctl_format.c"
#include "tools/ringctl_props.c"
#include "tools/ringctl_usage.c"
#include "tools/ringctl_zkfmt.c"

#include <criterion/criterion.h>
#include <stdlib.h>

static char err[512];

#define PARSE(a, ...)                                                                              \
    ({                                                                                             \
        char *argv_[] = {"ringctl", __VA_ARGS__, NULL};                                            \
        ctl_parse_args((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (a), err, sizeof(err)); \
    })

static struct ctl_line l;

static int line(const struct ctl_args *a, const char *s)
{
    return ctl_parse_line(a, s, strlen(s), &l, err, sizeof(err));
}

static void expect_part(const char *p, size_t n, const char *want)
{
    if (!want) {
        cr_expect_null(p, "want null, got '%.*s'", (int)n, p ? p : "");
        return;
    }
    cr_assert_not_null(p, "want '%s', got null", want);
    cr_expect(n == strlen(want) && memcmp(p, want, n) == 0, "want '%s', got '%.*s'", want, (int)n,
              p);
}

Test(ringctl_format, plain_lines)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    cr_assert_eq(line(&a, "a\tb:c,d"), 0);
    expect_part(l.value, l.value_len, "a\tb:c,d");
    cr_expect_null(l.key);
    cr_expect_eq(l.n_headers, 0);
    cr_assert_eq(line(&a, ""), 0);
    expect_part(l.value, l.value_len, "");
}

Test(ringctl_format, keys_and_headers)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "parse.key=true", "--property", "parse.headers=true"),
                 0, "%s", err);
    cr_assert_eq(line(&a, "h1:v1,h2:,h3:a:b\tkey one\tvalue\twith tab"), 0, "%s", err);
    cr_assert_eq(l.n_headers, 3);
    expect_part(l.headers[0].name, l.headers[0].name_len, "h1");
    expect_part(l.headers[0].value, l.headers[0].value_len, "v1");
    expect_part(l.headers[1].name, l.headers[1].name_len, "h2");
    expect_part(l.headers[1].value, l.headers[1].value_len, "");
    expect_part(l.headers[2].name, l.headers[2].name_len, "h3");
    expect_part(l.headers[2].value, l.headers[2].value_len, "a:b");
    expect_part(l.key, l.key_len, "key one");
    expect_part(l.value, l.value_len, "value\twith tab");
    /* Java's split: trailing empty items vanish */
    cr_assert_eq(line(&a, "x:1,,\tk\tv"), 0, "%s", err);
    cr_expect_eq(l.n_headers, 1);
    cr_expect_neq(line(&a, "no-delimiter-here"), 0);
    cr_expect(strstr(err, "no headers delimiter"), "%s", err);
    cr_expect_neq(line(&a, "h1:v1\tno-key-separator"), 0);
    cr_expect(strstr(err, "no key separator"), "%s", err);
    cr_expect_neq(line(&a, "h1\tk\tv"), 0);
    cr_expect(strstr(err, "no header key separator"), "%s", err);
    cr_expect_neq(line(&a, "\tk\tv"), 0, "an empty header list is one pair without ':'");
}

Test(ringctl_format, null_marker_and_ignore_error)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "parse.key=true", "--property", "parse.headers=true", "--property",
                       "null.marker=~", "--property", "key.separator=|", "--property",
                       "headers.delimiter=#"),
                 0, "%s", err);
    cr_assert_eq(line(&a, "a:~,b:2#~|~"), 0, "%s", err);
    cr_assert_eq(l.n_headers, 2);
    cr_expect_null(l.headers[0].value);
    expect_part(l.headers[1].value, l.headers[1].value_len, "2");
    cr_expect_null(l.key);
    cr_expect_null(l.value);
    cr_expect_neq(line(&a, "~:1#k|v"), 0);
    cr_expect(strstr(err, "null marker"), "%s", err);
    cr_assert_eq(line(&a, "~#k|v"), 0, "headers equal to the marker: none");
    cr_expect_eq(l.n_headers, 0);
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "parse.key=true", "--property", "parse.headers=true", "--property",
                       "ignore.error=true"),
                 0, "%s", err);
    cr_assert_eq(line(&a, "just a value"), 0, "%s", err);
    cr_expect_null(l.key);
    cr_expect_eq(l.n_headers, 0);
    expect_part(l.value, l.value_len, "just a value");
    cr_assert_eq(line(&a, "flag,k:v\trest"), 0, "%s", err);
    cr_assert_eq(l.n_headers, 2);
    cr_expect_null(l.headers[0].value, "a header without ':' has a null value");
    expect_part(l.value, l.value_len, "rest");
}

static char *fmt(const struct ctl_args *a, const struct ctl_record *r)
{
    static char buf[4096];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    cr_assert_not_null(f);
    ctl_format_record(f, a, r);
    fclose(f);
    return buf;
}

static const struct ctl_header hs[] = {{"h1", "v1", 2, 2}, {"h2", NULL, 2, 0}};

static struct ctl_record rec(void)
{
    return (struct ctl_record){.partition = 3,
                               .offset = 42,
                               .ts_type = 1,
                               .timestamp = 1700000000123,
                               .key = "k",
                               .key_len = 1,
                               .value = "v\"al\n",
                               .value_len = 5,
                               .headers = hs,
                               .n_headers = 2};
}

Test(ringctl_format, default_formatter)
{
    struct ctl_args a;
    struct ctl_record r = rec();
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    r.value = "plain";
    r.value_len = 5;
    cr_expect_str_eq(fmt(&a, &r), "plain\n");
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "print.timestamp=true", "--property", "print.partition=true", "--property",
                       "print.offset=true", "--property", "print.headers=true", "--property",
                       "print.key=true"),
                 0, "%s", err);
    cr_expect_str_eq(fmt(&a, &r),
                     "CreateTime:1700000000123\tPartition:3\tOffset:42\th1:v1,h2:null\t"
                     "k\tplain\n");
    r.n_headers = 0;
    r.key = NULL;
    r.ts_type = 2;
    cr_expect_str_eq(
        fmt(&a, &r),
        "LogAppendTime:1700000000123\tPartition:3\tOffset:42\tNO_HEADERS\tnull\tplain\n");
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "print.key=true", "--property", "print.value=false", "--property",
                       "key.separator=|", "--property", "null.literal=<nil>"),
                 0, "%s", err);
    cr_expect_str_eq(fmt(&a, &r), "<nil>\n", "the last column ends the line");
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "print.headers=true", "--property", "print.key=true", "--property",
                       "key.separator=|", "--property", "headers.separator=;"),
                 0, "%s", err);
    r = rec();
    r.value = NULL;
    cr_expect_str_eq(fmt(&a, &r), "h1:v1;h2:null|k|null\n");
    r.ts_type = 0;
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "print.timestamp=true"),
                 0, "%s", err);
    cr_expect_str_eq(fmt(&a, &r), "NO_TIMESTAMP\tnull\n");
}

Test(ringctl_format, json_formatter)
{
    struct ctl_args a;
    struct ctl_record r = rec();
    cr_assert_eq(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--formatter", "json"), 0,
        "%s", err);
    cr_expect_str_eq(
        fmt(&a, &r),
        "{\"partition\":3,\"offset\":42,\"timestamp\":1700000000123,\"timestamp_type\":"
        "\"CreateTime\",\"headers\":[{\"key\":\"h1\",\"value\":\"v1\"},{\"key\":"
        "\"h2\",\"value\":null}],\"key\":\"k\",\"value\":\"v\\\"al\\n\"}\n");
    r.key = NULL;
    r.n_headers = 0;
    r.ts_type = 0;
    r.value = "\xc3\xa9\xff\x01\\";
    r.value_len = 5;
    cr_expect_str_eq(fmt(&a, &r),
                     "{\"partition\":3,\"offset\":42,\"timestamp\":null,\"timestamp_type\":null,"
                     "\"headers\":[],\"key\":null,\"value\":\"\xc3\xa9\\u00ff\\u0001\\\\\"}\n");
}
