/*
 * coord/quorum_etcd.c - placeholder for the etcd backend of coord/quorum.h (the
 * etcd helper's branch replaces this file): until it lands, opening an etcd
 * quorum fails with a clear message so the library links.
 */
#include "coord/quorum_int.h"

#include <errno.h>
#include <stdio.h>

int rb_quorum_etcd_open(struct rb_quorum **out, const struct rb_quorum_config *cfg, char *err,
                        size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "etcd backend not built in");
    return -ENOTSUP;
}
