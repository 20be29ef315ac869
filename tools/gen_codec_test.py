"""tools/gen_codec_test.py - the test-helper emitter of tools/gen_codec.py:
tests/unit/proto_gen_test.h, which fills every message with non-default values
(tf_*) and compares two of them (te_*), for tests/unit/test_proto_gen.c. The
values come from the hand-written tests/unit/proto_gen_test_values.h. Stdlib only.
"""
from gen_codec_model import BANNER, PRIMS, default_expr, guarded, vcond, walk

# ---------------------------------------------------------------- test helpers


def gen_test(apis):
    o = [BANNER]
    o.append("""/*
 * tests/unit/proto_gen_test.h - generated test helpers for every message of
 * net/protocol.def: tf_*() fills a struct with non-default values for every
 * field present at a version (arrays of 2), te_*() compares two structs.
 * Included only by tests/unit/test_proto_gen.c.
 */
#ifndef RB_TESTS_PROTO_GEN_TEST_H
#define RB_TESTS_PROTO_GEN_TEST_H

#include "net/proto_gen.h"
#include "proto_gen_test_values.h"
""")
    allst = []
    for a in apis:
        for top in (a.req, a.resp):
            for st in walk(top):
                allst.append((a, st))
    for a, st in allst:
        o.append("static void tf_%s(struct %s *m, int16_t v, struct rb_arena *ar, int *c);"
                 % (st.cname, st.cname))
        o.append("static bool te_%s(const struct %s *x, const struct %s *y);"
                 % (st.cname, st.cname, st.cname))
    o.append("")

    def tv(f, t):
        if t == "bool":
            return "%s" % ("false" if f.default == "true" else "true")
        if t == "string":
            return "tv_str(c)"
        if t in ("bytes", "records"):
            return "tv_bytes(c)"
        if t == "uuid":
            return "tv_uuid(c)"
        if t == "float64":
            return "(double)tv_int(c, 0) + 0.5"
        d = default_expr(f) if f.kind == "prim" else "0"
        return "(%s)tv_int(c, %s)" % (PRIMS[t][0], d)

    for a, st in allst:
        o.append("static void tf_%s(struct %s *m, int16_t v, struct rb_arena *ar, int *c)\n{"
                 % (st.cname, st.cname))
        o.append("    (void)m;")
        o.append("    (void)ar;")
        o.append("    (void)c;")
        o.append("    (void)v;")
        for f in st.fields:
            cond = vcond(f.versions, a)
            if cond is None:
                continue
            x = "m->%s" % f.name
            if f.kind == "prim":
                body = ["%s = %s;" % (x, tv(f, f.ptype))]
            elif f.kind == "struct":
                body = ["tf_%s(&%s, v, ar, c);" % (f.struct.cname, x)]
            else:
                body = ["%s_n = 2;" % x,
                        "%s = rb_arena_alloc(ar, 2 * sizeof(*%s));" % (x, x),
                        "for (int i = 0; i < 2; i++) {"]
                if f.kind == "parr":
                    body.append("    %s[i] = %s;" % (x, tv(f, f.ptype)))
                else:
                    body.append("    %s_init(&%s[i]);" % (f.struct.cname, x))
                    body.append("    tf_%s(&%s[i], v, ar, c);" % (f.struct.cname, x))
                body.append("}")
            o += ["    " + s for s in guarded(cond, body)]
        o.append("}\n")
        o.append("static bool te_%s(const struct %s *x, const struct %s *y)\n{"
                 % (st.cname, st.cname, st.cname))
        for f in st.fields:
            X, Y = "x->%s" % f.name, "y->%s" % f.name

            def eq1(p, q, t):
                if t == "string":
                    return "rb_str_eq2(%s, %s)" % (p, q)
                if t in ("bytes", "records"):
                    return "te_bytes(%s, %s)" % (p, q)
                if t == "uuid":
                    return "memcmp(%s.b, %s.b, 16) == 0" % (p, q)
                return "%s == %s" % (p, q)
            if f.kind == "prim":
                o.append("    if (!(%s))\n        return false;" % eq1(X, Y, f.ptype))
            elif f.kind == "struct":
                o.append("    if (!te_%s(&%s, &%s))\n        return false;"
                         % (f.struct.cname, X, Y))
            else:
                o.append("    if (%s_n != %s_n)\n        return false;" % (X, Y))
                if f.kind == "parr":
                    e = eq1("%s[i]" % X, "%s[i]" % Y, f.ptype)
                else:
                    e = "te_%s(&%s[i], &%s[i])" % (f.struct.cname, X, Y)
                o.append("    for (int32_t i = 0; i < %s_n; i++)" % X)
                o.append("        if (!(%s))\n            return false;" % e)
        o.append("    (void)x;\n    (void)y;\n    return true;\n}\n")

    # table
    o.append("struct tg_case {\n    int16_t key;\n    bool req;\n    size_t size;\n"
             "    void (*init)(void *m);\n"
             "    void (*fill)(void *m, int16_t v, struct rb_arena *ar, int *c);\n"
             "    bool (*eq)(const void *x, const void *y);\n};\n")
    for a in apis:
        for top in (a.req, a.resp):
            c = top.cname
            o.append("static void tg_init_%s(void *m)\n{\n    %s_init(m);\n}\n" % (c, c))
            o.append("static void tg_fill_%s(void *m, int16_t v, struct rb_arena *ar, int *c)\n{\n"
                     "    tf_%s(m, v, ar, c);\n}\n" % (c, c))
            o.append("static bool tg_eq_%s(const void *x, const void *y)\n{\n"
                     "    return te_%s(x, y);\n}\n" % (c, c))
    o.append("__attribute__((unused)) static const struct tg_case tg_cases[] = {")
    for a in apis:
        for d, top in (("true", a.req), ("false", a.resp)):
            c = top.cname
            o.append("    {%d, %s, sizeof(struct %s), tg_init_%s, tg_fill_%s, tg_eq_%s},"
                     % (a.key, d, c, c, c, c))
    o.append("};\n")
    o.append("#endif\n")
    return "\n".join(o)
