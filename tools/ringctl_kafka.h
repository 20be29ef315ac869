/*
 * tools/ringctl_kafka.h - librdkafka plumbing shared by ringctl's subcommands:
 * client creation from the common options and the broker reachability check.
 */
#ifndef RB_TOOLS_RINGCTL_KAFKA_H
#define RB_TOOLS_RINGCTL_KAFKA_H

#include "tools/ringctl.h"

#include <librdkafka/rdkafka.h>

/* A configuration with bootstrap.servers, client.id, the log callback and every
 * -X property set; NULL (message printed) when a property is rejected. */
rd_kafka_conf_t *ctl_conf(const struct ctl_args *a);

/* Set one property; false (message printed) when librdkafka rejects it. */
bool ctl_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* rd_kafka_new; takes conf in every case. NULL (message printed) on failure. */
rd_kafka_t *ctl_client(const struct ctl_args *a, rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Metadata (all topics or only brokers) within --connect-timeout-ms; prints
 * "cannot reach ..." and returns NULL when no broker answers. Free with
 * rd_kafka_metadata_destroy. */
const struct rd_kafka_metadata *ctl_metadata(rd_kafka_t *rk, const struct ctl_args *a,
                                             bool all_topics);

/* The frame of an admin subcommand: a client from the common options, a
 * reachability check (ctl_metadata; skipped when !check_reachable, for runs that
 * fetch metadata themselves), fn, the client destroyed. fn's exit code, or
 * CTL_EXIT_USAGE / CTL_EXIT_FAIL when the client or the check fails. */
int ctl_with_admin(const struct ctl_args *a, bool check_reachable,
                   int (*fn)(rd_kafka_t *rk, const struct ctl_args *a));

/* Wait for the admin result event of an operation; NULL (message printed) on
 * timeout or a request-level error. */
rd_kafka_event_t *ctl_admin_wait(rd_kafka_queue_t *q, const struct ctl_args *a, const char *what);

/* Admin options with --timeout-ms as request (and operation) timeout. */
rd_kafka_AdminOptions_t *ctl_admin_options(rd_kafka_t *rk, const struct ctl_args *a,
                                           rd_kafka_admin_op_t op);

/* One row of a table printed with aligned columns (ctl_print_table). */
#define CTL_TABLE_MAX_COLS 10

/* Print rows (each n_cols strings, NULL printed as "-") under a header, every
 * column padded to its widest cell, separated by one space. */
void ctl_print_table(const char *const *header, int n_cols, const char *const *cells,
                     size_t n_rows);

#endif
