/*
 * tests/fuzz/fuzz_mdfile.c - libFuzzer target for the standalone metadata file
 * reader (coord/standalone_file.c, rb_coord_parse_file) on a fake coordinator of
 * 3 shards. Invariants for a file that parses: every topic name is legal and
 * appears once, every partition sits on an existing shard, and the file written
 * back (rb_coord_format_file) parses again to the same topics, partitions, shards
 * and configs.
 */
#include "coord/metadata.h"
#include "coord/standalone_int.h"
#include "core/config.h"
#include "core/rb.h"
#include "core/shard.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_SHARDS 3

static struct rb_coord coord;
static struct rb_runtime rt;
static int32_t load[N_SHARDS];

static void init_once(void)
{
    static struct rb_config *cfg;
    if (cfg)
        return;
    char err[256];
    RB_ASSERT(rb_config_load(&cfg, NULL, NULL, 0, NULL, err, sizeof(err)) == 0);
    rt.n_shards = N_SHARDS;
    coord.config = cfg;
    coord.bc = rb_config_broker(cfg);
    coord.rt = &rt;
    coord.shard_load = load;
}

static struct rb_metadata *parse(const char *text, size_t len, int *r)
{
    struct rb_metadata *md = calloc(1, sizeof(*md));
    RB_ASSERT(md);
    atomic_init(&md->refs, 1);
    char err[512] = "";
    FILE *f = fmemopen((void *)text, len, "r");
    RB_ASSERT(f);
    *r = rb_coord_parse_file(&coord, f, "fuzz", md, err, sizeof(err));
    fclose(f);
    RB_ASSERT(!*r || err[0]);
    return md;
}

static void check(const struct rb_metadata *md)
{
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        RB_ASSERT(rb_topic_name_valid(t->name, strlen(t->name)));
        for (int32_t j = 0; j < i; j++)
            RB_ASSERT(strcmp(md->topics[j].name, t->name) != 0);
        for (int32_t p = 0; p < t->n_partitions; p++)
            RB_ASSERT(t->partitions[p].shard >= 0 && t->partitions[p].shard < N_SHARDS);
    }
}

static void same(const struct rb_metadata *a, const struct rb_metadata *b)
{
    RB_ASSERT(strcmp(a->cluster_id, b->cluster_id) == 0);
    RB_ASSERT(a->n_topics == b->n_topics);
    for (int32_t i = 0; i < a->n_topics; i++) {
        const struct rb_topic_meta *x = &a->topics[i], *y = &b->topics[i];
        RB_ASSERT(strcmp(x->name, y->name) == 0);
        RB_ASSERT(memcmp(x->id, y->id, 16) == 0);
        RB_ASSERT(x->n_partitions == y->n_partitions);
        for (int32_t p = 0; p < x->n_partitions; p++)
            RB_ASSERT(x->partitions[p].shard == y->partitions[p].shard);
        RB_ASSERT(x->n_configs == y->n_configs);
        for (int32_t k = 0; k < x->n_configs; k++) {
            RB_ASSERT(strcmp(x->configs[k].key, y->configs[k].key) == 0);
            RB_ASSERT(strcmp(x->configs[k].value, y->configs[k].value) == 0);
        }
    }
    RB_ASSERT(a->n_dyn_configs == b->n_dyn_configs);
    for (int32_t i = 0; i < a->n_dyn_configs; i++) {
        RB_ASSERT(a->dyn_configs[i].broker == b->dyn_configs[i].broker);
        RB_ASSERT(strcmp(a->dyn_configs[i].key, b->dyn_configs[i].key) == 0);
        RB_ASSERT(strcmp(a->dyn_configs[i].value, b->dyn_configs[i].value) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size == 0)
        return 0;
    memset(load, 0, sizeof(load));
    int r;
    struct rb_metadata *md = parse((const char *)data, size, &r);
    if (r == 0) {
        check(md);
        char *text;
        size_t len;
        RB_ASSERT(rb_coord_format_file(md, &text, &len) == 0);
        int r2;
        struct rb_metadata *md2 = parse(text, len, &r2);
        RB_ASSERT(r2 == 0);
        same(md, md2);
        rb_metadata_free(md2);
        free(text);
    }
    rb_metadata_free(md);
    return 0;
}
