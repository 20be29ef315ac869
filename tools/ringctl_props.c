/*
 * tools/ringctl_props.c - the --property KEY=VALUE options of `ringctl produce`
 * and `ringctl consume`, named and defaulted as kafka-console-producer's
 * LineMessageReader and kafka-console-consumer's DefaultMessageFormatter name
 * them, and the cross-checks of the console options (--partition, --offset,
 * --group, --from-beginning). Pure: no I/O, no librdkafka (unit-tested through
 * tests/unit/test_ringctl_args.c). Values are borrowed from argv.
 *
 * Differences from Kafka, on purpose: an unknown property or a boolean other than
 * true/false is a usage error (Kafka ignores the first and reads the second as
 * false), and separators must not be empty.
 */
#include "tools/ringctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum prop_kind { PK_BOOL, PK_SEP, PK_STR };

struct prop_def {
    const char *name;
    enum ctl_cmd cmd;
    enum prop_kind kind;
    size_t field; /* offsetof in struct ctl_args */
};

#define PROP_FIELD(x) offsetof(struct ctl_args, x)
static const struct prop_def props[] = {
    {"parse.key", CTL_CMD_PRODUCE, PK_BOOL, PROP_FIELD(parse_key)},
    {"key.separator", CTL_CMD_PRODUCE, PK_SEP, PROP_FIELD(prop_key_sep)},
    {"parse.headers", CTL_CMD_PRODUCE, PK_BOOL, PROP_FIELD(parse_headers)},
    {"headers.delimiter", CTL_CMD_PRODUCE, PK_SEP, PROP_FIELD(headers_delim)},
    {"headers.separator", CTL_CMD_PRODUCE, PK_SEP, PROP_FIELD(headers_sep)},
    {"headers.key.separator", CTL_CMD_PRODUCE, PK_SEP, PROP_FIELD(headers_key_sep)},
    {"null.marker", CTL_CMD_PRODUCE, PK_STR, PROP_FIELD(null_marker)},
    {"ignore.error", CTL_CMD_PRODUCE, PK_BOOL, PROP_FIELD(ignore_error)},
    {"print.key", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_key)},
    {"print.value", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_value)},
    {"print.headers", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_headers)},
    {"print.timestamp", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_timestamp)},
    {"print.offset", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_offset)},
    {"print.partition", CTL_CMD_CONSUME, PK_BOOL, PROP_FIELD(print_partition)},
    {"key.separator", CTL_CMD_CONSUME, PK_SEP, PROP_FIELD(prop_key_sep)},
    {"headers.separator", CTL_CMD_CONSUME, PK_SEP, PROP_FIELD(headers_sep)},
    {"line.separator", CTL_CMD_CONSUME, PK_SEP, PROP_FIELD(line_sep)},
    {"null.literal", CTL_CMD_CONSUME, PK_STR, PROP_FIELD(null_literal)},
};
#undef PROP_FIELD

static int perr(char *err, size_t errlen, const char *fmt, const char *x, const char *y)
{
    snprintf(err, errlen, fmt, x, y);
    return -EINVAL;
}

int ctl_apply_property(struct ctl_args *a, const char *kv, char *err, size_t errlen)
{
    const char *cmd = ctl_cmd_name(a->cmd);
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return perr(err, errlen, "%s: invalid --property '%s': expected key=value", cmd, kv);
    size_t nl = (size_t)(eq - kv);
    const char *v = eq + 1;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        const struct prop_def *d = &props[i];
        if (d->cmd != a->cmd || strlen(d->name) != nl || strncmp(d->name, kv, nl) != 0)
            continue;
        char *field = (char *)a + d->field;
        switch (d->kind) {
        case PK_BOOL:
            if (strcasecmp(v, "true") && strcasecmp(v, "false"))
                return perr(err, errlen, "%s: --property %s: expected true or false", cmd, kv);
            *(bool *)field = strcasecmp(v, "true") == 0;
            return 0;
        case PK_SEP:
            if (!*v)
                return perr(err, errlen, "%s: --property %s: a separator must not be empty", cmd,
                            kv);
            *(const char **)field = v;
            return 0;
        case PK_STR:
            *(const char **)field = v;
            return 0;
        }
    }
    return perr(err, errlen,
                a->cmd == CTL_CMD_PRODUCE
                    ? "%s: unknown --property '%s' (produce knows parse.key, key.separator, "
                      "parse.headers, headers.delimiter, headers.separator, "
                      "headers.key.separator, null.marker, ignore.error)"
                    : "%s: unknown --property '%s' (consume knows print.key, print.value, "
                      "print.headers, print.timestamp, print.offset, print.partition, "
                      "key.separator, headers.separator, line.separator, null.literal)",
                cmd, kv);
}

static bool same(const char *x, const char *y)
{
    return x && y && strcmp(x, y) == 0;
}

/* LineMessageReader's rules: the separators must be told apart. */
static int check_produce(struct ctl_args *a, char *err, size_t errlen)
{
    a->key_sep = a->parse_key ? (a->prop_key_sep ? a->prop_key_sep : "\t") : NULL;
    if (same(a->headers_delim, a->headers_sep))
        return perr(err, errlen, "produce: %s and %s may not be equal", "headers.delimiter",
                    "headers.separator");
    if (same(a->headers_delim, a->headers_key_sep))
        return perr(err, errlen, "produce: %s and %s may not be equal", "headers.delimiter",
                    "headers.key.separator");
    if (same(a->headers_sep, a->headers_key_sep))
        return perr(err, errlen, "produce: %s and %s may not be equal", "headers.separator",
                    "headers.key.separator");
    const char *const seps[][2] = {{"key.separator", a->prop_key_sep ? a->prop_key_sep : "\t"},
                                   {"headers.separator", a->headers_sep},
                                   {"headers.delimiter", a->headers_delim},
                                   {"headers.key.separator", a->headers_key_sep}};
    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++)
        if (same(a->null_marker, seps[i][1]))
            return perr(err, errlen, "produce: null.marker and %s may not be equal%s", seps[i][0],
                        "");
    return 0;
}

/* ConsoleConsumerOptions' rules for --partition, --offset, --group. */
static int check_consume(struct ctl_args *a, char *err, size_t errlen)
{
    a->key_sep = a->prop_key_sep ? a->prop_key_sep : "\t";
    if (a->start_offset != CTL_OFFSET_UNSET && a->partition < 0)
        return perr(err, errlen, "consume: --offset needs --partition%s%s", "", "");
    if (a->start_offset != CTL_OFFSET_UNSET && a->from_beginning)
        return perr(err, errlen,
                    "consume: --from-beginning and --offset cannot be used together%s%s", "", "");
    if (a->group && a->partition >= 0)
        return perr(err, errlen, "consume: --group and --partition cannot be used together%s%s", "",
                    "");
    if (a->group && !*a->group)
        return perr(err, errlen, "consume: --group must not be empty%s%s", "", "");
    return 0;
}

int ctl_check_console(struct ctl_args *a, char *err, size_t errlen)
{
    if (!a->headers_sep)
        a->headers_sep = ",";
    if (a->cmd == CTL_CMD_PRODUCE) {
        if (!a->headers_delim)
            a->headers_delim = "\t";
        if (!a->headers_key_sep)
            a->headers_key_sep = ":";
        return check_produce(a, err, errlen);
    }
    if (!a->line_sep)
        a->line_sep = "\n";
    if (!a->null_literal)
        a->null_literal = "null";
    return check_consume(a, err, errlen);
}
