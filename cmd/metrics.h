/*
 * cmd/metrics.h - the Prometheus endpoint (metrics.listener=http://host:port):
 * one thread of its own, off the shards, that answers GET /metrics with the
 * counters the shards publish (core/metrics.h, part/part.h, net/net.h) in
 * Prometheus' text format, Kafka's metric names as the JMX exporter renders them
 * where Kafka has the metric. The thread reads shard state only through those
 * single-writer atomics; it takes no lock a shard takes and sends no message.
 */
#ifndef RB_CMD_METRICS_H
#define RB_CMD_METRICS_H

#include "core/metrics.h"
#include "net/net.h"

#include <stddef.h>

struct rb_metrics_server;

/* Parse listener ("http://host:port"; host may be empty or 0.0.0.0 for all,
 * port 0 picks a free one), bind it and start the thread. 0 or -errno with a
 * reason naming the key in err. *port gets the bound port. */
int rb_metrics_server_start(struct rb_metrics_server **out, struct rb_broker *b,
                            const char *listener, uint16_t *port, char *err, size_t errlen);
/* Stop and join the thread (before rb_broker_close frees what it reads). */
void rb_metrics_server_stop(struct rb_metrics_server *ms);

/* The whole exposition text for b (cmd/metrics_render.c); out->oom on failure. */
void rb_metrics_render(struct rb_broker *b, struct rb_mbuf *out);

#endif
