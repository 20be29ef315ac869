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
        return ctl_topics(&a);
    case CTL_CMD_PRODUCE:
        return ctl_produce(&a);
    case CTL_CMD_CONSUME:
        return ctl_consume(&a);
    case CTL_CMD_NONE:
        break;
    }
    return CTL_EXIT_USAGE;
}
