/*
 * tools/ringctl.c - ringctl's entry point and the librdkafka plumbing its
 * subcommands share (see tools/ringctl.h, tools/ringctl_kafka.h).
 * Fault model: every failure (bad usage, unreachable broker, broker error) ends in
 * a message on stderr naming what failed and a non-zero exit status; nothing is
 * printed on stdout that the broker did not say.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_dump.h"
#include "tools/ringctl_kafka.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --verbose; a global because the client's opaque belongs to the subcommands. */
static bool ctl_verbose;

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (ctl_verbose)
        fprintf(stderr, "ringctl: librdkafka %d %s: %s\n", level, fac, buf);
}

bool ctl_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
        return true;
    fprintf(stderr, "ringctl: client property %s=%s: %s\n", key, value, errstr);
    return false;
}

rd_kafka_conf_t *ctl_conf(const struct ctl_args *a)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = ctl_conf_set(conf, "bootstrap.servers", a->bootstrap) &&
              ctl_conf_set(conf, "client.id", "ringctl");
    ctl_verbose = a->verbose;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    for (int i = 0; ok && i < a->n_client_props; i++) {
        char key[256];
        const char *eq = strchr(a->client_props[i], '=');
        snprintf(key, sizeof(key), "%.*s", (int)(eq - a->client_props[i]), a->client_props[i]);
        ok = ctl_conf_set(conf, key, eq + 1);
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_t *ctl_client(const struct ctl_args *a, rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "ringctl %s: cannot create client: %s\n", ctl_cmd_name(a->cmd), errstr);
    }
    return rk;
}

const struct rd_kafka_metadata *ctl_metadata(rd_kafka_t *rk, const struct ctl_args *a,
                                             bool all_topics)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rd_kafka_metadata(rk, all_topics ? 1 : 0, NULL, &md, (int)a->connect_timeout_ms);
    if (e) {
        fprintf(stderr, "ringctl %s: cannot reach broker(s) at %s within %lld ms: %s\n",
                ctl_cmd_name(a->cmd), a->bootstrap, (long long)a->connect_timeout_ms,
                rd_kafka_err2str(e));
        return NULL;
    }
    return md;
}

int ctl_with_admin(const struct ctl_args *a, bool check_reachable,
                   int (*fn)(rd_kafka_t *rk, const struct ctl_args *a))
{
    rd_kafka_conf_t *conf = ctl_conf(a);
    if (!conf)
        return CTL_EXIT_USAGE;
    rd_kafka_t *rk = ctl_client(a, RD_KAFKA_PRODUCER, conf);
    if (!rk)
        return CTL_EXIT_FAIL;
    int rc = CTL_EXIT_FAIL;
    const struct rd_kafka_metadata *md = check_reachable ? ctl_metadata(rk, a, false) : NULL;
    if (md || !check_reachable)
        rc = fn(rk, a);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

rd_kafka_event_t *ctl_admin_wait(rd_kafka_queue_t *q, const struct ctl_args *a, const char *what)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)a->timeout_ms + 5000);
    if (!ev) {
        fprintf(stderr, "ringctl %s: %s: no answer within %lld ms\n", ctl_cmd_name(a->cmd), what,
                (long long)a->timeout_ms);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "ringctl %s: %s failed: %s\n", ctl_cmd_name(a->cmd), what,
                rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

rd_kafka_AdminOptions_t *ctl_admin_options(rd_kafka_t *rk, const struct ctl_args *a,
                                           rd_kafka_admin_op_t op)
{
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, (int)a->timeout_ms, errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
        rd_kafka_AdminOptions_set_operation_timeout(o, (int)a->timeout_ms, errstr, sizeof(errstr));
    return o;
}

void ctl_print_table(const char *const *header, int n_cols, const char *const *cells, size_t n_rows)
{
    size_t w[CTL_TABLE_MAX_COLS];
    RB_ASSERT(n_cols <= CTL_TABLE_MAX_COLS);
    for (int c = 0; c < n_cols; c++) {
        w[c] = strlen(header[c]);
        for (size_t r = 0; r < n_rows; r++) {
            const char *v = cells[r * (size_t)n_cols + (size_t)c];
            size_t l = v ? strlen(v) : 1;
            w[c] = l > w[c] ? l : w[c];
        }
    }
    for (size_t r = 0; r <= n_rows; r++) {
        for (int c = 0; c < n_cols; c++) {
            const char *v = r ? cells[(r - 1) * (size_t)n_cols + (size_t)c] : header[c];
            if (c == n_cols - 1)
                printf("%s\n", v ? v : "-");
            else
                printf("%-*s ", (int)w[c], v ? v : "-");
        }
    }
}

int main(int argc, char **argv)
{
    struct ctl_args a;
    char err[512];
    if (argc >= 2 && strcmp(argv[1], "dump-log") == 0) /* offline: no client */
        return ctl_dump_log(argc - 1, argv + 1);
    if (ctl_parse_args(argc, argv, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "ringctl%s %s\n", a.cmd ? "" : ":", err);
        if (a.cmd)
            fprintf(stderr, "Try 'ringctl %s --help'.\n", ctl_cmd_name(a.cmd));
        else
            fprintf(stderr, "Try 'ringctl --help'.\n");
        return CTL_EXIT_USAGE;
    }
    if (a.help) {
        fputs(ctl_usage(a.cmd), stdout);
        return CTL_EXIT_OK;
    }
    switch (a.cmd) {
    case CTL_CMD_TOPICS:
        return a.zookeeper || a.etcd ? ctl_zk_topics(&a) : ctl_topics(&a);
    case CTL_CMD_CLUSTER:
        return ctl_cluster(&a);
    case CTL_CMD_ZK:
        return ctl_zk_dump(&a);
    case CTL_CMD_LEADERS:
        return ctl_leaders(&a);
    case CTL_CMD_REASSIGN:
        return ctl_reassign(&a);
    case CTL_CMD_PRODUCE:
        return ctl_produce(&a);
    case CTL_CMD_CONSUME:
        return ctl_consume(&a);
    case CTL_CMD_GROUPS:
        return ctl_groups(&a);
    case CTL_CMD_CONFIGS:
        return ctl_configs(&a);
    case CTL_CMD_NONE:
        break;
    }
    return CTL_EXIT_USAGE;
}
