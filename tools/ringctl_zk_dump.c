/*
 * tools/ringctl_zk_dump.c - `ringctl zk --zookeeper h:p[/chroot] [PATH]`: the
 * cluster's nodes under the chroot (or under PATH within it) as an indented tree,
 * each node with its data (escaped, cut at --max-data bytes), for debugging.
 * Bounded: at most --max-nodes nodes are printed, then a line says the dump
 * stopped. Without a chroot, ZooKeeper's own /zookeeper subtree is skipped.
 */
#include "tools/ringctl_zk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dump {
    struct ctl_zk *z;
    const struct ctl_args *a;
    int64_t shown;
    bool stopped;
    char *line; /* the formatted data of a node */
    size_t line_cap;
};

/* Print the node at full (named name, depth deep) and its subtree. */
static int dump_node(struct dump *d, const char *full, const char *name, int depth)
{
    if (d->shown >= d->a->max_nodes) {
        d->stopped = true;
        return 0;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = rb_quorum_get(d->z->q, full, false, &data, &len, NULL);
    if (rc == -ENOENT && depth > 0)
        return 0; /* gone since its parent was listed */
    if (rc < 0)
        return rc;
    ctl_zk_fmt_data(d->line, d->line_cap, data, len, (size_t)d->a->max_data);
    free(data);
    if (depth == 0) /* the header once the root is known to exist */
        printf("# %s %s, chroot %s: %s\n", d->z->what, d->z->hosts,
               d->z->chroot[0] ? d->z->chroot : "(none)", name);
    printf("%*s%s%s%s\n", depth * 2, "", name, d->line[0] ? " = " : "", d->line);
    d->shown++;
    char **names = NULL;
    int n = 0;
    rc = rb_quorum_children(d->z->q, full, false, &names, &n);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == 0 && !d->stopped; i++) {
        if (depth == 0 && !d->z->chroot[0] && strcmp(full, "/") == 0 &&
            strcmp(names[i], "zookeeper") == 0)
            continue;
        char child[2048];
        snprintf(child, sizeof(child), "%s/%s", strcmp(full, "/") == 0 ? "" : full, names[i]);
        rc = dump_node(d, child, names[i], depth + 1);
    }
    free(names);
    return rc;
}

int ctl_zk_dump(const struct ctl_args *a)
{
    struct ctl_zk z;
    int rc = ctl_zk_open(&z, a);
    if (rc)
        return rc;
    const char *rel = a->zk_path ? a->zk_path : "/";
    char full[1536];
    ctl_zk_path(&z, full, sizeof(full), "%s", rel);
    struct dump d = {.z = &z, .a = a, .line_cap = (size_t)a->max_data * 4 + 64};
    d.line = malloc(d.line_cap);
    if (!d.line) {
        ctl_zk_close(&z);
        fprintf(stderr, "ringctl zk: out of memory\n");
        return CTL_EXIT_FAIL;
    }
    rc = dump_node(&d, full, rel, 0);
    if (rc == -ENOENT) {
        fprintf(stderr, "ringctl zk: no node %s on %s at %s\n", full, z.what, z.hosts);
        rc = CTL_EXIT_FAIL;
    } else if (rc < 0) {
        rc = ctl_zk_fail(a, "reading the tree", rc);
    } else {
        if (d.stopped)
            printf("# stopped after %lld nodes (--max-nodes)\n", (long long)d.shown);
        rc = CTL_EXIT_OK;
    }
    free(d.line);
    ctl_zk_close(&z);
    return rc;
}
