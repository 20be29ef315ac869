/*
 * core/config_int.h - internals shared by core/config.c (broker keys) and
 * core/config_topic.c (topic keys): the key description and its value checker.
 * Not part of the public API; include core/config.h instead.
 */
#ifndef RB_CORE_CONFIG_INT_H
#define RB_CORE_CONFIG_INT_H

#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

enum rb_cfg_type {
    RB_CT_INT,       /* integer in [min, max] */
    RB_CT_BOOL,      /* true | false (case-insensitive, as Kafka) */
    RB_CT_DOUBLE,    /* finite number in [min, max] */
    RB_CT_STRING,    /* anything, kept raw */
    RB_CT_NONEMPTY,  /* non-empty string */
    RB_CT_ENUM,      /* one of choices ("a|b|c"), case-sensitive like Kafka's ValidString */
    RB_CT_ENUMLIST,  /* comma list of choices, no duplicates, non-empty */
    RB_CT_LISTENERS, /* NAME://host:port[,...] (checked again when the typed view is built) */
    RB_CT_LOGLEVEL,  /* error|warn|info|debug|trace */
    RB_CT_ALIGNED,   /* integer in [min, max], multiple of 4096 */
    RB_CT_POW2,      /* integer in [min, max], power of two */
};

struct rb_cfg_spec {
    const char *key;
    enum rb_cfg_type type;
    int64_t min, max;
    const char *def;     /* default value or NULL (unset) */
    const char *choices; /* RB_CT_ENUM / RB_CT_ENUMLIST */
    int16_t off;         /* offset in struct rb_broker_config, -1 = raw only */
    uint8_t size;        /* size of that field (1 bool, 2/4/8 integers) */
};

/* Check value against spec; 0 or -EINVAL with a short reason ("not an integer")
 * in why. */
int rb_cfg_check(const struct rb_cfg_spec *s, const char *value, char *why, size_t whylen);

/* core/config_keys.c: the schema entry of a broker key, or NULL when unknown. */
const struct rb_cfg_spec *rb_cfg_spec_find(const char *key);
/* Every known broker key: *n entries, static. */
const struct rb_cfg_spec *rb_cfg_specs(size_t *n);

/* core/config_props.c: parse .properties text, calling fn for each entry in order
 * (line = where the entry starts). Returns 0, fn's first error, -ENOMEM, or -EINVAL
 * with "path:line: syntax error: ..." in err. */
int rb_config_props_parse(const char *text, size_t len, const char *path,
                          int (*fn)(const char *key, const char *value, int line, void *arg),
                          void *arg, char *err, size_t errlen);

/* core/config_build.c: build the typed view from the raw map; free what it owns. */
int rb_config_build(struct rb_config *cfg, struct rb_broker_config *b, char *err, size_t errlen);
void rb_config_broker_free(struct rb_broker_config *b);

/* core/config.c: store every schema key that has a field in struct rb_broker_config. */
void rb_config_apply_fields(const struct rb_config *cfg, struct rb_broker_config *b);

#endif
