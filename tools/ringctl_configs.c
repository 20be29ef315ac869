/*
 * tools/ringctl_configs.c - `ringctl configs`: --describe and --alter of topic
 * configs, like kafka-configs.sh, through librdkafka's DescribeConfigs and
 * AlterConfigs (broker configs: tools/ringctl_broker_configs.c).
 * librdkafka 2.0.2 has no IncrementalAlterConfigs, and AlterConfigs replaces the
 * whole dynamic set of a resource: --alter therefore reads the current dynamic
 * configs, applies --delete-config and --add-config to that set, and writes the
 * result back. Invariants: a dynamic config the user did not name is written back
 * unchanged; a sensitive dynamic config (whose value the broker hides) cannot be
 * written back, so --alter refuses instead of dropping it silently.
 * Fault model: the read-merge-write is not atomic: a change another client makes
 * between the two requests can be lost (said in --help). Every broker error gives
 * a message on stderr and exit status 1.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_kafka.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct centry {
    char *name, *value; /* value NULL: sensitive (hidden by the broker) */
};

struct cset {
    struct centry *e;
    size_t n, cap;
};

static struct centry *cs_find(struct cset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].name, name) == 0)
            return &s->e[i];
    return NULL;
}

static void cs_set(struct cset *s, const char *name, const char *value)
{
    struct centry *c = cs_find(s, name);
    if (!c) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->e = realloc(s->e, s->cap * sizeof(*s->e));
            RB_ASSERT(s->e);
        }
        c = &s->e[s->n++];
        c->name = strdup(name);
        c->value = NULL;
    }
    free(c->value);
    c->value = value ? strdup(value) : NULL;
}

static void cs_del(struct cset *s, const char *name)
{
    struct centry *c = cs_find(s, name);
    if (!c)
        return;
    free(c->name);
    free(c->value);
    *c = s->e[--s->n];
}

static void cs_free(struct cset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].name);
        free(s->e[i].value);
    }
    free(s->e);
}

static bool is_topic(const struct ctl_args *a)
{
    return strcmp(a->entity_type, "topics") == 0;
}

static rd_kafka_ConfigSource_t dynamic_source(const struct ctl_args *a)
{
    return is_topic(a) ? RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG
                       : RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG;
}

static rd_kafka_ConfigResource_t *resource(const struct ctl_args *a)
{
    return rd_kafka_ConfigResource_new(
        is_topic(a) ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_BROKER, a->entity_name);
}

static int cmp_entry(const void *x, const void *y)
{
    const rd_kafka_ConfigEntry_t *const *a = x, *const *b = y;
    return strcmp(rd_kafka_ConfigEntry_name(*a), rd_kafka_ConfigEntry_name(*b));
}

/* "name=value sensitive=B synonyms={SOURCE:name=value, ...}" as kafka-configs.sh. */
static void print_entry(const rd_kafka_ConfigEntry_t *e)
{
    const char *v = rd_kafka_ConfigEntry_value(e);
    bool sens = rd_kafka_ConfigEntry_is_sensitive(e);
    size_t ns;
    const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(e, &ns);
    printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(e), v && !sens ? v : "null",
           sens ? "true" : "false");
    for (size_t i = 0; i < ns; i++) {
        const char *sv = rd_kafka_ConfigEntry_value(syn[i]);
        printf("%s%s:%s=%s", i ? ", " : "",
               rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[i])),
               rd_kafka_ConfigEntry_name(syn[i]), sv && !sens ? sv : "null");
    }
    printf("}\n");
}

/* DescribeConfigs of the entity: the event (caller frees) and its resource, or
 * NULL (printed). */
static rd_kafka_event_t *describe_configs(rd_kafka_t *rk, const struct ctl_args *a,
                                          const rd_kafka_ConfigResource_t **out)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = resource(a);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "DescribeConfigs");
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    if (!ev)
        return NULL;
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n != 1 || rd_kafka_ConfigResource_error(rs[0])) {
        if (n == 1)
            fprintf(stderr, "ringctl configs: describing %s '%s' failed: %s: %s\n",
                    is_topic(a) ? "topic" : "broker", a->entity_name,
                    rd_kafka_err2str(rd_kafka_ConfigResource_error(rs[0])),
                    rd_kafka_ConfigResource_error_string(rs[0])
                        ? rd_kafka_ConfigResource_error_string(rs[0])
                        : "");
        else
            fprintf(stderr, "ringctl configs: broker returned %zu resources for one\n", n);
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    *out = rs[0];
    return ev;
}

static int describe(rd_kafka_t *rk, const struct ctl_args *a)
{
    const rd_kafka_ConfigResource_t *r;
    rd_kafka_event_t *ev = describe_configs(rk, a, &r);
    if (!ev)
        return CTL_EXIT_FAIL;
    size_t n;
    const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(r, &n);
    const rd_kafka_ConfigEntry_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
    memcpy(sorted, ce, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_entry);
    printf("%s configs for %s %s are:\n", a->all ? "All" : "Dynamic",
           is_topic(a) ? "topic" : "broker", a->entity_name);
    for (size_t i = 0; i < n; i++)
        if (a->all || rd_kafka_ConfigEntry_source(sorted[i]) == dynamic_source(a))
            print_entry(sorted[i]);
    free(sorted);
    rd_kafka_event_destroy(ev);
    return CTL_EXIT_OK;
}

/* Apply --delete-config then --add-config to the current dynamic set cur;
 * known holds every config name the broker described. -1 (printed) on a bad name
 * or a sensitive config that would be lost. */
static int merge(const struct ctl_args *a, const rd_kafka_ConfigResource_t *r, struct cset *cur)
{
    size_t n;
    const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(r, &n);
    char item[1024];
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_ConfigEntry_source(ce[i]) == dynamic_source(a))
            cs_set(cur, rd_kafka_ConfigEntry_name(ce[i]),
                   rd_kafka_ConfigEntry_is_sensitive(ce[i]) ? NULL
                                                            : rd_kafka_ConfigEntry_value(ce[i]));
    for (int k = 0; k < a->n_delete_configs; k++) {
        const char *p = a->delete_configs[k];
        while (ctl_list_next(&p, item, sizeof(item)) > 0) {
            bool known = false;
            for (size_t i = 0; i < n && !known; i++)
                known = strcmp(rd_kafka_ConfigEntry_name(ce[i]), item) == 0;
            if (!known) {
                fprintf(stderr, "ringctl configs: --delete-config: unknown config '%s'\n", item);
                return -1;
            }
            cs_del(cur, item);
        }
    }
    for (int k = 0; k < a->n_add_configs; k++) {
        const char *p = a->add_configs[k];
        while (ctl_list_next(&p, item, sizeof(item)) > 0) {
            char *eq = strchr(item, '=');
            *eq = 0;
            cs_set(cur, item, eq + 1);
        }
    }
    for (size_t i = 0; i < cur->n; i++) {
        if (cur->e[i].value)
            continue;
        fprintf(stderr,
                "ringctl configs: cannot keep sensitive config '%s' (its value is hidden and "
                "AlterConfigs rewrites every config): give it with --add-config or "
                "--delete-config\n",
                cur->e[i].name);
        return -1;
    }
    return 0;
}

static int alter_configs(rd_kafka_t *rk, const struct ctl_args *a, const struct cset *s)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = resource(a);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    for (size_t i = 0; i < s->n; i++)
        rd_kafka_ConfigResource_set_config(res, s->e[i].name, s->e[i].value);
    rd_kafka_AlterConfigs(rk, &res, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "AlterConfigs");
    int rc = CTL_EXIT_FAIL;
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
        rd_kafka_resp_err_t e = n == 1 ? rd_kafka_ConfigResource_error(rs[0]) : 0;
        if (n == 1 && !e) {
            printf("Completed updating config for %s %s.\n", is_topic(a) ? "topic" : "broker",
                   a->entity_name);
            rc = CTL_EXIT_OK;
        } else if (n == 1) {
            const char *m = rd_kafka_ConfigResource_error_string(rs[0]);
            fprintf(stderr, "ringctl configs: altering %s '%s' failed: %s%s%s\n",
                    is_topic(a) ? "topic" : "broker", a->entity_name, rd_kafka_err2str(e),
                    m && *m ? ": " : "", m ? m : "");
        } else {
            fprintf(stderr, "ringctl configs: broker returned %zu resources for one\n", n);
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int alter(rd_kafka_t *rk, const struct ctl_args *a)
{
    const rd_kafka_ConfigResource_t *r;
    rd_kafka_event_t *ev = describe_configs(rk, a, &r);
    if (!ev)
        return CTL_EXIT_FAIL;
    struct cset cur = {0};
    int rc = merge(a, r, &cur) < 0 ? CTL_EXIT_FAIL : alter_configs(rk, a, &cur);
    cs_free(&cur);
    rd_kafka_event_destroy(ev);
    return rc;
}

static int configs_run(rd_kafka_t *rk, const struct ctl_args *a)
{
    return a->action == CTL_TOPICS_ALTER ? alter(rk, a) : describe(rk, a);
}

int ctl_configs(const struct ctl_args *a)
{
    return is_topic(a) ? ctl_with_admin(a, true, configs_run) : ctl_broker_configs(a);
}
