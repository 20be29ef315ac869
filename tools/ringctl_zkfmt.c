/*
 * tools/ringctl_zkfmt.c - the pure parts of ringctl's --zookeeper commands (see
 * tools/ringctl_zk.h): the connect string, topic name rules, --replica-assignment,
 * and the lines kafka-topics.sh --describe (Kafka 2.8) and `ringctl zk` print.
 * No quorum, no librdkafka: tests/unit/test_ringctl_zk.c checks them.
 */
#include "tools/ringctl_zk.h"
#include "coord/metadata.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_NAME_MAX 249 /* Kafka's Topic.MAX_NAME_LENGTH */

static int zfail(char *err, size_t errlen, const char *fmt, const char *x)
{
    snprintf(err, errlen, fmt, x);
    return -EINVAL;
}

bool ctl_zk_path_ok(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n >= 1 && path[0] == '/' && (n == 1 || path[n - 1] != '/') && !strstr(path, "//");
}

/* One "host:port" of the host list: a host and a port 1..65535. */
static bool host_ok(const char *h, size_t n)
{
    const char *colon = memrchr(h, ':', n);
    if (!colon || colon == h || colon == h + n - 1)
        return false;
    long port = 0;
    for (const char *p = colon + 1; p < h + n; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            return false;
    }
    return port > 0;
}

int ctl_zk_split_connect(const char *connect, char *hosts, size_t hcap, char *chroot, size_t ccap,
                         char *err, size_t errlen)
{
    const char *slash = strchr(connect, '/');
    size_t hn = slash ? (size_t)(slash - connect) : strlen(connect);
    if (hn == 0)
        return zfail(err, errlen, "'%s': expected HOST:PORT[,HOST:PORT...][/CHROOT]", connect);
    for (const char *h = connect; h < connect + hn;) {
        const char *comma = memchr(h, ',', (size_t)(connect + hn - h));
        size_t n = comma ? (size_t)(comma - h) : (size_t)(connect + hn - h);
        if (!host_ok(h, n))
            return zfail(err, errlen, "'%s': every server must be HOST:PORT (port 1-65535)",
                         connect);
        h += n + (comma ? 1 : 0);
        if (comma && h == connect + hn)
            return zfail(err, errlen, "'%s': empty server after ','", connect);
    }
    const char *root = slash && strcmp(slash, "/") != 0 ? slash : "";
    if (*root && !ctl_zk_path_ok(root))
        return zfail(err, errlen,
                     "'%s': the chroot must be /NAME[/NAME...] (no trailing or double '/')",
                     connect);
    if (hn >= (hosts ? hcap : SIZE_MAX) || strlen(root) >= (chroot ? ccap : SIZE_MAX))
        return zfail(err, errlen, "'%s': too long", connect);
    if (hosts)
        snprintf(hosts, hcap, "%.*s", (int)hn, connect);
    if (chroot)
        snprintf(chroot, ccap, "%s", root);
    return 0;
}

int ctl_topic_name_check(const char *name, char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (n == 0)
        return zfail(err, errlen, "Topic name is illegal, it can't be empty%s", "");
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return zfail(err, errlen, "Topic name cannot be \".\" or \"..\"%s", "");
    if (n > TOPIC_NAME_MAX) {
        snprintf(err, errlen,
                 "Topic name is illegal, it can't be longer than %d characters, topic name: %s",
                 TOPIC_NAME_MAX, name);
        return -EINVAL;
    }
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return zfail(err, errlen,
                         "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                         "alphanumerics, '.', '_' and '-'",
                         name);
    return 0;
}

bool ctl_topic_collides(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

bool ctl_topic_internal(const char *name)
{
    return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0;
}

int ctl_topic_filter_compile(const char *raw, regex_t *re, char *err, size_t errlen)
{
    size_t n = strlen(raw);
    char *body = malloc(n + 1), *pat = malloc(n + 8);
    if (!body || !pat) {
        free(body);
        free(pat);
        return zfail(err, errlen, "out of memory%s", "");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) /* ',' -> '|', no spaces */
        if (raw[i] != ' ')
            body[k++] = raw[i] == ',' ? '|' : raw[i];
    body[k] = 0;
    char *b = body;
    while (*b == '"' || *b == '\'')
        b++;
    k = strlen(b);
    while (k && (b[k - 1] == '"' || b[k - 1] == '\''))
        b[--k] = 0;
    snprintf(pat, n + 8, "^(%s)$", b);
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[128];
        regerror(rc, re, why, sizeof(why));
        snprintf(err, errlen, "--topic '%s' is not a valid regular expression: %s", raw, why);
    }
    free(body);
    free(pat);
    return rc ? -EINVAL : 0;
}

bool ctl_topic_filter_match(const regex_t *re, const char *topic)
{
    return regexec(re, topic, 0, NULL, 0) == 0;
}

/* One broker id of a replica list (spaces around it allowed, as Kafka trims). */
static int parse_id(const char *s, size_t n, int32_t *out)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n > 10)
        return -EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v > INT32_MAX)
        return -EINVAL;
    *out = (int32_t)v;
    return 0;
}

int ctl_parse_replica_assignment(const char *s, struct rb_kzk_assignment *out,
                                 int32_t *n_partitions, int32_t *rf, char *err, size_t errlen)
{
    int32_t np = 1;
    for (const char *p = s; *p; p++)
        np += *p == ',';
    if (out && rb_kzk_assignment_alloc(out, np) < 0)
        return zfail(err, errlen, "out of memory%s", "");
    int32_t ids[RB_KZK_MAX_REPLICAS], first_n = -1;
    const char *p = s;
    for (int32_t part = 0; part < np; part++) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        int32_t n = 0;
        for (const char *q = p; q <= end;) {
            const char *c = memchr(q, ':', (size_t)(end - q));
            const char *e = c ? c : end;
            char item[32];
            if (n == RB_KZK_MAX_REPLICAS) {
                snprintf(err, errlen, "partition %d lists more than %d replicas", part,
                         RB_KZK_MAX_REPLICAS);
                goto bad;
            }
            if (parse_id(q, (size_t)(e - q), &ids[n]) < 0) {
                snprintf(item, sizeof(item), "%.*s", (int)(e - q), q);
                snprintf(err, errlen, "partition %d: '%s' is not a broker id", part, item);
                goto bad;
            }
            for (int32_t k = 0; k < n; k++)
                if (ids[k] == ids[n]) {
                    snprintf(err, errlen,
                             "Partition replica lists may not contain duplicate entries: %d",
                             ids[n]);
                    goto bad;
                }
            n++;
            q = e + 1;
        }
        if (first_n < 0)
            first_n = n;
        if (n != first_n) {
            snprintf(err, errlen, "Partition %d has different replication factor: %d, not %d", part,
                     n, first_n);
            goto bad;
        }
        if (out) {
            out->n_replicas[part] = n;
            memcpy(out->replicas[part], ids, sizeof(ids[0]) * (size_t)n);
        }
        p = *end ? end + 1 : end;
    }
    if (n_partitions)
        *n_partitions = np;
    if (rf)
        *rf = first_n;
    return 0;
bad:
    if (out)
        rb_kzk_assignment_free(out);
    return -EINVAL;
}

const char *ctl_fmt_ids(char *buf, size_t cap, const int32_t *ids, int32_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%d", i ? "," : "", ids[i]);
    return buf;
}

void ctl_zk_fmt_topic(FILE *out, const char *topic, const uint8_t *topic_id, int32_t n_partitions,
                      int32_t rf, const struct rb_kzk_config *cfg, bool marked_for_deletion)
{
    fprintf(out, "Topic: %s", topic);
    if (topic_id) {
        char id[23];
        rb_uuid_to_base64(topic_id, id);
        fprintf(out, "\tTopicId: %s", id);
    }
    fprintf(out, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", n_partitions, rf);
    for (int32_t i = 0; cfg && i < cfg->n; i++)
        fprintf(out, "%s%s=%s", i ? "," : "", cfg->keys[i], cfg->values[i]);
    if (marked_for_deletion)
        fputs("\tMarkedForDeletion: true", out);
    fputc('\n', out);
}

void ctl_zk_fmt_partition(FILE *out, const char *topic, int32_t partition, int32_t leader,
                          const int32_t *replicas, int32_t n_replicas, const int32_t *isr,
                          int32_t n_isr, bool marked_for_deletion)
{
    char r[16 * RB_KZK_MAX_REPLICAS], i[16 * RB_KZK_MAX_REPLICAS];
    fprintf(out, "\tTopic: %s\tPartition: %d\tLeader: ", topic, partition);
    if (leader >= 0)
        fprintf(out, "%d", leader);
    else
        fputs("none", out);
    fprintf(out, "\tReplicas: %s\tIsr: %s", ctl_fmt_ids(r, sizeof(r), replicas, n_replicas),
            ctl_fmt_ids(i, sizeof(i), isr, n_isr));
    if (marked_for_deletion)
        fputs("\tMarkedForDeletion: true", out);
    fputc('\n', out);
}

void ctl_zk_fmt_data(char *out, size_t cap, const char *data, size_t len, size_t max)
{
    size_t o = 0, shown = len < max ? len : max;
    if (cap == 0)
        return;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)data[i];
        char esc[5];
        if (c == '\\')
            snprintf(esc, sizeof(esc), "\\\\");
        else if (c == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else if (c >= 0x20 && c < 0x7f)
            snprintf(esc, sizeof(esc), "%c", c);
        else
            snprintf(esc, sizeof(esc), "\\x%02x", c);
        size_t n = strlen(esc);
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = 0;
    if (shown < len)
        snprintf(out + o, cap - o, "...(%zu bytes)", len);
}

const char *ctl_partition_status(int32_t leader, const int32_t *live, int n_live)
{
    if (leader < 0)
        return "NO LEADER";
    for (int i = 0; i < n_live; i++)
        if (live[i] == leader)
            return "";
    return "LEADER DOWN";
}
