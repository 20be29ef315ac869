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

#endif
