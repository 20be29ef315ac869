/*
 * core/meminfo.c - MemAvailable lowered to the memory cgroups' headroom (see
 * core/meminfo.h). Each cgroup on the path from the process's own up to the
 * hierarchy's root is read: a limit set on a parent (a pod, a slice) binds as
 * much as one on the process's own cgroup. A path /proc/self/cgroup names that is
 * not under the mount (a container without a cgroup namespace sees its own
 * cgroup as the mount's root) is walked up until it is.
 */
#include "core/meminfo.h"
#include "core/rb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_LIMIT_BYTES (1LL << 62) /* v1 writes LONG_MAX rounded down to a page */

/* The first number in the file at root + rel; false when absent or "max". */
static bool read_bytes(const char *root, const char *rel, int64_t *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    long long v;
    bool ok = fscanf(f, "%lld", &v) == 1 && v >= 0 && v < NO_LIMIT_BYTES;
    fclose(f);
    *out = ok ? (int64_t)v : 0;
    return ok;
}

static int64_t meminfo_available(const char *root)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc/meminfo", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : (int64_t)kib << 10;
}

/* The lowest limit - usage of cgroup path (under mount) and its ancestors; -1
 * when none has a limit. */
static int64_t headroom(const char *root, const char *mount, const char *path, const char *limit,
                        const char *usage)
{
    char dir[2048], rel[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    int64_t best = -1;
    for (;;) {
        size_t n = strlen(dir);
        while (n > 0 && dir[n - 1] == '/') /* "/a/b/" and "/" alike */
            dir[--n] = '\0';
        int64_t lim, use;
        snprintf(rel, sizeof(rel), "%s%s/%s", mount, dir, limit);
        if (read_bytes(root, rel, &lim)) {
            snprintf(rel, sizeof(rel), "%s%s/%s", mount, dir, usage);
            if (!read_bytes(root, rel, &use))
                use = 0;
            int64_t h = RB_MAX(lim - use, (int64_t)0);
            best = best < 0 ? h : RB_MIN(best, h);
        }
        char *slash = strrchr(dir, '/');
        if (!slash)
            return best;
        *slash = '\0';
    }
}

/* controllers (a /proc/self/cgroup field, comma-separated) names "memory". */
static bool has_memory(const char *controllers)
{
    const char *p = controllers;
    while ((p = strstr(p, "memory"))) {
        bool start = p == controllers || p[-1] == ',';
        char end = p[6];
        if (start && (end == ',' || end == ':' || end == '\0'))
            return true;
        p += 6;
    }
    return false;
}

int64_t rb_mem_available_at(const char *root)
{
    int64_t avail = meminfo_available(root);
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return avail;
    char line[2048];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *controllers = c1 + 1, *cg = c2 + 1;
        int64_t h = -1;
        if (strcmp(line, "0") == 0 && !*controllers) { /* v2 */
            char probe[4096];
            snprintf(probe, sizeof(probe), "%s/sys/fs/cgroup/cgroup.controllers", root);
            FILE *v2 = fopen(probe, "re");
            const char *mount = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
            if (v2)
                fclose(v2);
            h = headroom(root, mount, cg, "memory.max", "memory.current");
        } else if (has_memory(controllers)) { /* v1 */
            h = headroom(root, "/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes",
                         "memory.usage_in_bytes");
        }
        if (h >= 0)
            avail = avail < 0 ? h : RB_MIN(avail, h);
    }
    fclose(f);
    return avail;
}

int64_t rb_mem_available(void)
{
    return rb_mem_available_at("");
}
