/*
 * tests/unit/test_quorum_etcd_io.c - coord/quorum_etcd_io.c without a server:
 * the key layout (node keys, children ranges that hold children and nothing
 * else, sequence counters outside every range, keys back to paths, nested
 * prefixes naming one tree), base64 both ways, etcd's int64 strings.
 * The etcd backend against a live cluster is tests/quorum/run_etcd.sh.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/quorum_etcd_int.h"

static struct rb_etcd with_prefix(const char *prefix)
{
    struct rb_etcd e;
    memset(&e, 0, sizeof(e));
    snprintf(e.prefix, sizeof(e.prefix), "%s", prefix);
    return e;
}

static const char *key(const struct rb_etcd *e, const char *path, bool children)
{
    static char buf[RB_ETCD_KEY_MAX];
    int r = rb_etcd_key(e, path, children, buf, sizeof(buf));
    return r ? NULL : buf;
}

/* Whether k falls in the children range of path: [start, start with its last byte + 1). */
static bool in_children(const struct rb_etcd *e, const char *path, const char *k)
{
    char start[RB_ETCD_KEY_MAX];
    cr_assert_eq(rb_etcd_key(e, path, true, start, sizeof(start)), 0);
    char end[RB_ETCD_KEY_MAX];
    snprintf(end, sizeof(end), "%s", start);
    end[strlen(end) - 1]++;
    return strcmp(k, start) >= 0 && strcmp(k, end) < 0;
}

Test(quorum_etcd_io, node_keys)
{
    struct rb_etcd e = with_prefix("/ringbroker");
    cr_expect_str_eq(key(&e, "/brokers/ids/1", false), "/ringbroker/brokers/ids/!1");
    cr_expect_str_eq(key(&e, "/brokers", false), "/ringbroker/!brokers");
    cr_expect_str_eq(key(&e, "/", false), "/!ringbroker"); /* the chroot's own node */
    cr_expect_str_eq(key(&e, "/brokers", true), "/ringbroker/brokers/!");
    cr_expect_str_eq(key(&e, "/", true), "/ringbroker/!");
    struct rb_etcd none = with_prefix("");
    cr_expect_str_eq(key(&none, "/a/b", false), "/a/!b");
    cr_expect_null(key(&none, "/", false)); /* the virtual root has no key */
    cr_expect_str_eq(key(&none, "/", true), "/!");
    /* the marker is refused in paths */
    cr_expect_null(key(&e, "/a!b", false));
    cr_expect_null(key(&e, "/!x", true));
    char tiny[8];
    cr_expect_eq(rb_etcd_key(&e, "/brokers", false, tiny, sizeof(tiny)), -EINVAL);
}

Test(quorum_etcd_io, children_range_is_exactly_the_children)
{
    struct rb_etcd e = with_prefix("/rb");
    const char *kids[] = {"/t/a", "/t/a0", "/t/b", "/t/~", "/t/#x"};
    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
        cr_expect(in_children(&e, "/t", key(&e, kids[i], false)), "%s", kids[i]);
    const char *not_kids[] = {"/t", "/t/a/deep", "/tx/a", "/t0", "/t/a/!", "/u/a", "/ta"};
    for (size_t i = 0; i < sizeof(not_kids) / sizeof(not_kids[0]); i++) {
        const char *k = key(&e, not_kids[i], false);
        if (k)
            cr_expect(!in_children(&e, "/t", k), "%s", not_kids[i]);
    }
    /* a sequence counter is in no node's children range and is no node */
    char seq[RB_ETCD_KEY_MAX], path[RB_ETCD_KEY_MAX];
    cr_assert_eq(rb_etcd_seq_key(&e, "/t", seq, sizeof(seq)), 0);
    cr_expect_str_eq(seq, "/rb/t/#");
    cr_expect(!in_children(&e, "/t", seq));
    cr_expect(!in_children(&e, "/", seq));
    cr_expect_null(rb_etcd_path_of(&e, seq, strlen(seq), path, sizeof(path)));
}

Test(quorum_etcd_io, keys_back_to_paths)
{
    struct rb_etcd e = with_prefix("/rb");
    char path[RB_ETCD_KEY_MAX];
    const char *paths[] = {"/a", "/a/b", "/brokers/topics/t/partitions/0/state", "/x-0000000007"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *k = key(&e, paths[i], false);
        cr_assert_not_null(k);
        const char *p = rb_etcd_path_of(&e, k, strlen(k), path, sizeof(path));
        cr_expect(p && strcmp(p, paths[i]) == 0, "%s -> %s", k, p ? p : "(null)");
    }
    /* keys that are not nodes under this prefix */
    const char *others[] = {"/!rb", "/rbx/!a", "/other/!a", "/rb/a", "/rb/", "/rb/a/!"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        cr_expect_null(rb_etcd_path_of(&e, others[i], strlen(others[i]), path, sizeof(path)), "%s",
                       others[i]);
    char small[4];
    cr_expect_null(rb_etcd_path_of(&e, "/rb/!abcdef", 11, small, sizeof(small)));
}

Test(quorum_etcd_io, nested_prefixes_name_one_tree)
{
    struct rb_etcd outer = with_prefix("/rb");
    struct rb_etcd inner = with_prefix("/rb/x/y");
    char a[RB_ETCD_KEY_MAX];
    snprintf(a, sizeof(a), "%s", key(&outer, "/x/y/inside", false));
    cr_expect_str_eq(key(&inner, "/inside", false), a);
    snprintf(a, sizeof(a), "%s", key(&outer, "/x/y", false));
    cr_expect_str_eq(key(&inner, "/", false), a);
    snprintf(a, sizeof(a), "%s", key(&outer, "/x/y", true));
    cr_expect_str_eq(key(&inner, "/", true), a);
}

Test(quorum_etcd_io, base64_round_trip)
{
    const char *cases[][2] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
                              {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *enc = rb_etcd_b64(cases[i][0], strlen(cases[i][0]));
        cr_expect_str_eq(enc, cases[i][1]);
        free(enc);
        char *dec = NULL;
        size_t len = 99;
        cr_assert_eq(rb_etcd_unb64(cases[i][1], &dec, &len), 0);
        cr_expect_eq(len, strlen(cases[i][0]));
        cr_expect_str_eq(dec, cases[i][0]); /* NUL-terminated */
        free(dec);
    }
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    char *enc = rb_etcd_b64(bin, sizeof(bin));
    char *dec = NULL;
    size_t len = 0;
    cr_assert_eq(rb_etcd_unb64(enc, &dec, &len), 0);
    cr_expect_eq(len, sizeof(bin));
    cr_expect_eq(memcmp(dec, bin, sizeof(bin)), 0);
    free(enc);
    free(dec);
    /* an absent value (etcd omits empty ones) is empty; garbage is refused */
    cr_assert_eq(rb_etcd_unb64(NULL, &dec, &len), 0);
    cr_expect_eq(len, 0);
    free(dec);
    cr_expect_eq(rb_etcd_unb64("Zm9v!!", &dec, &len), -EIO);
}

Test(quorum_etcd_io, int64_strings)
{
    json_t *o =
        json_pack("{s:s,s:I,s:s}", "a", "9223372036854775807", "b", (json_int_t)42, "c", "x");
    cr_expect_eq(rb_etcd_int(o, "a"), INT64_MAX);
    cr_expect_eq(rb_etcd_int(o, "b"), 42);
    cr_expect_eq(rb_etcd_int(o, "missing"), 0);
    cr_expect_eq(rb_etcd_int(NULL, "a"), 0);
    json_decref(o);
    json_t *s = rb_etcd_str64(-5);
    cr_expect_str_eq(json_string_value(s), "-5");
    json_decref(s);
}
