#!/usr/bin/env python3
"""tools/gen_codec.py - generate ringbroker's Kafka codecs from net/protocol.def.

Usage:
  python3 tools/gen_codec.py [--check] [--test-out PATH] DEF OUT_PREFIX

Writes OUT_PREFIX.h and OUT_PREFIX.c (the codecs, part of the broker library)
and PATH (default tests/unit/proto_gen_test.h: per-message fill-with-test-values
and equality helpers, included only by tests/unit/test_proto_gen.c).
--check regenerates in memory and exits 1, naming each stale file, when the
files on disk differ. The output is passed through clang-format (the repo's
.clang-format) so it is lint-clean and --check is stable. Stdlib only.
The description's parser and model are in gen_codec_model.py, the test helpers'
emitter in gen_codec_test.py; this file emits the header and the codecs.
"""
import os
import subprocess
import sys

from gen_codec_model import (BANNER, PRIMS, DefError, ctype_of, default_expr, guarded,
                             is_default_expr, ncond, parse, vcond, walk)
from gen_codec_test import gen_test

# ---------------------------------------------------------------- header


def gen_struct_decl(st):
    o = ["struct %s {" % st.cname]
    for f in st.fields:
        ct = ctype_of(f)
        if f.kind in ("parr", "sarr"):
            o.append("    %s *%s;" % (ct, f.name))
            o.append("    int32_t %s_n; /* -1: null */" % f.name)
        else:
            o.append("    %s %s;" % (ct, f.name))
    if not st.fields:
        o.append("    char unused_; /* no fields at any version */")
    o.append("};")
    return "\n".join(o) + "\n"


def gen_header(apis):
    o = [BANNER]
    o.append("""/*
 * net/proto_gen.h - Kafka request/response structs and codecs, generated from
 * net/protocol.def. Conventions: see net/protocol.def and tools/gen_codec.py.
 *  - decode: 0, -EBADMSG (malformed, truncated, trailing bytes, version not
 *    covered) or -ENOMEM (arena limit). The body must be consumed exactly.
 *    Views and arrays point into the frame and the arena.
 *  - encode: fields absent at the version are skipped, nulls where the version
 *    does not allow them are written as empty; a version not covered sets
 *    w->err = -EINVAL.
 *  - init sets the defaults of the description; decode starts with init, so
 *    fields absent at the decoded version hold their defaults.
 */
#ifndef RB_NET_PROTO_GEN_H
#define RB_NET_PROTO_GEN_H

#include "net/codec_rt.h"
""")
    for a in apis:
        o.append("/* ---- %s (api key %d), versions %d-%d, flexible %s ---- */\n"
                 % (a.name, a.key, a.vmin, a.vmax,
                    "%d+" % a.flex if a.flex is not None else "none"))
        for top in (a.req, a.resp):
            for st in walk(top):
                o.append(gen_struct_decl(st))
            for st in walk(top):
                o.append("void %s_init(struct %s *m);" % (st.cname, st.cname))
            o.append("int %s_decode(struct rb_reader *r, struct rb_arena *a, int16_t version, "
                     "struct %s *out);" % (top.cname, top.cname))
            o.append("void %s_encode(struct rb_writer *w, int16_t version, const struct %s *in);\n"
                     % (top.cname, top.cname))
    o.append("#endif\n")
    return "\n".join(o)


# ---------------------------------------------------------------- codec .c

C_PREAMBLE = r"""
/*
 * net/proto_gen.c - generated codecs (see net/proto_gen.h). Every read goes
 * through core/wire.c's bounds-checked reader; errors stick in r->err
 * (-EBADMSG, or -ENOMEM when the arena refuses) and are returned once. The
 * helpers they call and the header codecs are hand-written: net/codec_rt.{c,h}.
 */
#include "net/proto_gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

"""


def emit_body(o, fields, api, field_fn, io, tagged, tags_stmt, no_tags_stmt):
    """The rest of a read or write function: each regular field under its version
    guard, then the tagged fields (tags_stmt) or, when there are none at a flexible
    version, the empty tag section (no_tags_stmt), and the closing brace."""
    for f in fields:
        cond = vcond(f.versions, api)
        if cond is None:
            continue
        o += ["    " + x for x in guarded(cond, field_fn(f, api, io, "m->%s" % f.name))]
    if tagged:
        o.append("    if (flex)")
        o.append("        " + tags_stmt)
    elif api.flex is not None:
        o.append("    if (flex)")
        o.append("        " + no_tags_stmt)
    o.append("}\n")


def flex_decl(api):
    if api.flex is None:
        return "const bool flex = false;"
    if api.flex <= api.vmin:
        return "const bool flex = true;"
    return "const bool flex = v >= %d;" % api.flex


def fn_open(o, signature, api, unused):
    """Open a generated read or write function: its signature, the flex flag of
    the version, and (void) casts of the names its body may not use."""
    o.append(signature + "\n{")
    o.append("    " + flex_decl(api))
    o += ["    (void)%s;" % x for x in unused]


def read_field(f, api, rd, dst):
    """Statements reading field f from reader pointer rd into lvalue dst."""
    n = ncond(f, api)
    if f.kind == "prim":
        return ["%s = %s;" % (dst, PRIMS[f.ptype][1].format(r=rd, n=n))]
    if f.kind == "struct":
        return ["%s_read(%s, a, v, &%s);" % (f.struct.cname, rd, dst)]
    o = ["%s_n = rb_rd_alen(%s, flex, %s);" % (dst, rd, n),
         "if (%s_n > 0) {" % dst,
         "    %s = rb_rd_alloc(%s, a, %s_n, sizeof(*%s));" % (dst, rd, dst, dst),
         "    for (int32_t i = 0; i < %s_n && !%s->err; i++) {" % (dst, rd)]
    if f.kind == "parr":
        o.append("        %s[i] = %s;" % (dst, PRIMS[f.ptype][1].format(r=rd, n="false")))
    else:
        o.append("        %s_init(&%s[i]);" % (f.struct.cname, dst))
        o.append("        %s_read(%s, a, v, &%s[i]);" % (f.struct.cname, rd, dst))
    o += ["    }", "}"]
    return o


def write_field(f, api, wr, src):
    n = ncond(f, api)
    if f.kind == "prim":
        return [PRIMS[f.ptype][2].format(w=wr, x=src, n=n) + ";"]
    if f.kind == "struct":
        return ["%s_write(%s, v, &%s);" % (f.struct.cname, wr, src)]
    o = ["rb_wr_alen(%s, %s_n, flex, %s);" % (wr, src, n),
         "for (int32_t i = 0; i < %s_n; i++)" % src]
    if f.kind == "parr":
        o.append("    " + PRIMS[f.ptype][2].format(w=wr, x="%s[i]" % src, n="false") + ";")
    else:
        o.append("    %s_write(%s, v, &%s[i]);" % (f.struct.cname, wr, src))
    return o


def gen_struct_funcs(st, api, need_is_default):
    c = st.cname
    o = []
    regular = [f for f in st.fields if f.tag is None]
    tagged = sorted([f for f in st.fields if f.tag is not None], key=lambda f: f.tag)
    # init
    o.append("void %s_init(struct %s *m)\n{" % (c, c))
    o.append("    memset(m, 0, sizeof(*m));")
    for f in st.fields:
        if f.kind == "prim":
            d = default_expr(f)
            if d not in ("0", "false", "(struct rb_uuid){{0}}", "(struct rb_bytes){NULL, 0}",
                         "INT64_C(0)", "0.0"):
                o.append("    m->%s = %s;" % (f.name, d))
        elif f.kind == "struct":
            o.append("    %s_init(&m->%s);" % (f.struct.cname, f.name))
        elif f.default == "null":
            o.append("    m->%s_n = -1;" % f.name)
    o.append("}\n")
    # is_default
    if need_is_default:
        o.append("static bool %s_is_default(const struct %s *m)\n{" % (c, c))
        conds = [is_default_expr(f, "m->%s" % f.name) for f in st.fields]
        o.append("    return %s;" % (" && ".join("(%s)" % x for x in conds) or "true"))
        o.append("}\n")
    # tagged read
    if tagged:
        fn_open(o, "static void %s_read_tags(struct rb_reader *r, struct rb_arena *a, int16_t v, "
                "struct %s *m)" % (c, c), api, ("flex", "a"))
        o.append("    uint32_t count = rb_read_uvarint(r);")
        o.append("    for (uint32_t k = 0; k < count && !r->err; k++) {")
        o.append("        uint32_t tag;")
        o.append("        struct rb_reader sub;")
        o.append("        if (!rb_rd_tag(r, &tag, &sub))")
        o.append("            break;")
        o.append("        struct rb_reader *s = &sub;")
        o.append("        switch (tag) {")
        for f in tagged:
            cond = vcond(f.versions, api)
            if cond is None:
                continue
            o.append("        case %d:" % f.tag)
            body = read_field(f, api, "s", "m->%s" % f.name)
            o += ["            " + x for x in guarded(cond, body)]
            o.append("            break;")
        o.append("        default:")
        o.append("            break;")
        o.append("        }")
        o.append("        if (sub.err && !r->err)")
        o.append("            r->err = sub.err;")
        o.append("    }")
        o.append("}\n")
    # read
    fn_open(o, "static void %s_read(struct rb_reader *r, struct rb_arena *a, int16_t v, "
            "struct %s *m)" % (c, c), api, ("a", "v", "m", "flex"))
    emit_body(o, regular, api, read_field, "r", tagged, "%s_read_tags(r, a, v, m);" % c,
              "rb_skip_tagged_fields(r);")
    # tagged write
    if tagged:
        fn_open(o, "static void %s_write_tags(struct rb_writer *w, int16_t v, const struct %s *m)"
                % (c, c), api, ("flex",))
        o.append("    uint32_t count = 0;")
        present = []
        for f in tagged:
            cond = vcond(f.versions, api)
            if cond is None:
                continue
            full = "!(%s)" % is_default_expr(f, "m->%s" % f.name)
            if cond != "1":
                full = "(%s) && %s" % (cond, full)
            present.append((f, full))
            o.append("    if (%s)" % full)
            o.append("        count++;")
        o.append("    rb_write_uvarint(w, count);")
        for f, full in present:
            o.append("    if (%s) {" % full)
            o.append("        struct rb_writer t;")
            o.append("        rb_writer_init(&t, 0);")
            o += ["        " + x for x in write_field(f, api, "&t", "m->%s" % f.name)]
            o.append("        rb_wr_tag(w, %d, &t);" % f.tag)
            o.append("    }")
        o.append("}\n")
    # write
    fn_open(o, "static void %s_write(struct rb_writer *w, int16_t v, const struct %s *m)"
            % (c, c), api, ("flex", "v", "m"))
    emit_body(o, regular, api, write_field, "w", tagged, "%s_write_tags(w, v, m);" % c,
              "rb_write_uvarint(w, 0);")
    return o


def gen_top_funcs(top, api):
    c = top.cname
    return ["""int %s_decode(struct rb_reader *r, struct rb_arena *a, int16_t version, struct %s *out)
{
    %s_init(out);
    if (version < %d || version > %d)
        return r->err ? r->err : -EBADMSG;
    %s_read(r, a, version, out);
    if (!r->err && rb_reader_left(r) != 0 && !r->allow_trailing)
        r->err = -EBADMSG;
    return r->err;
}

void %s_encode(struct rb_writer *w, int16_t version, const struct %s *in)
{
    if ((version < %d || version > %d) && rb_wr_bad_version(w))
        return;
    %s_write(w, version, in);
}
""" % (c, c, c, api.vmin, api.vmax, c, c, c, api.vmin, api.vmax, c)]


def struct_uses(apis):
    """cnames of structs used as single {struct} fields (need is_default)."""
    used = set()
    for a in apis:
        for top in (a.req, a.resp):
            for st in walk(top):
                for f in st.fields:
                    if f.kind == "struct":
                        used.add(f.struct.cname)
    return used


def gen_tables(apis):
    o = ["const struct rb_api_info rb_api_table[] = {"]
    for a in sorted(apis, key=lambda a: a.key):
        o.append('    {%d, "%s", %d, %d, %d},'
                 % (a.key, a.name, a.vmin, a.vmax, a.flex if a.flex is not None else 32767))
    o.append("};")
    o.append("const int rb_api_table_n = %d;\n" % len(apis))
    o.append("const struct rb_api_info *rb_api_info(int16_t key)\n{")
    o.append("    switch (key) {")
    for i, a in enumerate(sorted(apis, key=lambda a: a.key)):
        o.append("    case %d:" % a.key)
        o.append("        return &rb_api_table[%d];" % i)
    o.append("    default:")
    o.append("        return NULL;")
    o.append("    }")
    o.append("}\n")
    for d in ("req", "resp"):
        o.append("int rb_%s_decode_any(struct rb_reader *r, struct rb_arena *a, int16_t key, "
                 "int16_t version, void **out)\n{" % d)
        o.append("    *out = NULL;")
        o.append("    switch (key) {")
        for a in sorted(apis, key=lambda a: a.key):
            c = getattr(a, d).cname
            o.append("    case %d: {" % a.key)
            o.append("        struct %s *m = rb_arena_alloc(a, sizeof(*m));" % c)
            o.append("        if (!m)")
            o.append("            return -ENOMEM;")
            o.append("        *out = m;")
            o.append("        return %s_decode(r, a, version, m);" % c)
            o.append("    }")
        o.append("    default:")
        o.append("        return -EBADMSG;")
        o.append("    }")
        o.append("}\n")
        o.append("void rb_%s_encode_any(struct rb_writer *w, int16_t key, int16_t version, "
                 "const void *in)\n{" % d)
        o.append("    switch (key) {")
        for a in sorted(apis, key=lambda a: a.key):
            o.append("    case %d:" % a.key)
            o.append("        %s_encode(w, version, in);" % getattr(a, d).cname)
            o.append("        break;")
        o.append("    default:")
        o.append("        rb_wr_bad_version(w);")
        o.append("    }")
        o.append("}\n")
    return o




def gen_source(apis):
    o = [BANNER + C_PREAMBLE]
    o.append("__attribute__((unused)) static bool uuid_is_zero(struct rb_uuid u)\n{\n"
             "    static const struct rb_uuid zero;\n"
             "    return memcmp(u.b, zero.b, sizeof(u.b)) == 0;\n}\n")
    need = struct_uses(apis)
    o.append("/* forward declarations */")
    for a in apis:
        for top in (a.req, a.resp):
            for st in walk(top):
                o.append("static void %s_read(struct rb_reader *r, struct rb_arena *a, int16_t v, "
                         "struct %s *m);" % (st.cname, st.cname))
                o.append("static void %s_write(struct rb_writer *w, int16_t v, "
                         "const struct %s *m);" % (st.cname, st.cname))
    o.append("")
    for a in apis:
        o.append("/* ---- %s (api key %d) ---- */\n" % (a.name, a.key))
        for top in (a.req, a.resp):
            for st in walk(top):
                o += gen_struct_funcs(st, a, st.cname in need)
            o += gen_top_funcs(top, a)
    o += gen_tables(apis)
    if not any(True for a in apis for t in (a.req, a.resp) for s in walk(t)
               for f in s.fields if f.kind == "prim" and f.ptype == "uuid" and f.tag is not None):
        pass
    return "\n".join(o)


# ---------------------------------------------------------------- driver


def clang_format(text, assume):
    try:
        p = subprocess.run(["clang-format", "--assume-filename=" + assume], input=text,
                           capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write("gen_codec: clang-format failed: %s\n" % e)
        sys.exit(2)
    return p.stdout


def main(argv):
    check = False
    test_out = "tests/unit/proto_gen_test.h"
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--check":
            check = True
        elif argv[i] == "--test-out":
            i += 1
            test_out = argv[i]
        else:
            args.append(argv[i])
        i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    defpath, prefix = args
    with open(defpath) as fp:
        try:
            apis = parse(fp.read())
        except DefError as e:
            sys.stderr.write("%s: %s\n" % (defpath, e))
            return 2
    outs = {
        prefix + ".h": gen_header(apis),
        prefix + ".c": gen_source(apis),
        test_out: gen_test(apis),
    }
    stale = 0
    for path, text in outs.items():
        text = clang_format(text, path)
        if check:
            try:
                with open(path) as fp:
                    cur = fp.read()
            except OSError:
                cur = None
            if cur != text:
                print("gen-check: %s is stale (run make gen)" % path)
                stale += 1
        else:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, "w") as fp:
                fp.write(text)
            os.replace(tmp, path)
    if check:
        if stale:
            return 1
        print("gen-check: %d files up to date" % len(outs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
