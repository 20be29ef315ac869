/*
 * tests/unit/test_meminfo.c - core/meminfo.c over fake /proc and /sys/fs/cgroup
 * trees in a temporary directory: MemAvailable alone, lowered by a cgroup v1 or
 * v2 limit (own cgroup or an ancestor's), "max" and v1's huge value as no limit,
 * the hybrid layout's unified mount, a path not under the mount (a container
 * without a cgroup namespace), and nothing known at all.
 */
#include "core/meminfo.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB (1LL << 20)
#define GIB (1LL << 30)

static char g_root[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_root, "/tmp/rb-test-meminfo-XXXXXX");
    cr_assert_not_null(mkdtemp(g_root));
}

static void teardown(void)
{
    nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(meminfo, .init = setup, .fini = teardown);

static void mkdirs(char *dir)
{
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdirs(dir);
        *slash = '/';
    }
    mkdir(dir, 0755);
}

/* Write text to root + rel, making its directories. */
static void put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof(path), "%s%s", g_root, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    mkdirs(dirname(dir));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void meminfo_8g(void)
{
    put("/proc/meminfo", "MemTotal:       24000000 kB\nMemFree:        1000 kB\n"
                         "MemAvailable:    8388608 kB\nBuffers:  1 kB\n");
}

/* A v2 host (memory on the unified mount) whose process is in cgroup path, with
 * memory.max and memory.current of the cgroup at dir (under /sys/fs/cgroup). */
static void v2(const char *path, const char *dir, const char *max, const char *current)
{
    char rel[256];
    meminfo_8g();
    put("/proc/self/cgroup", path);
    put("/sys/fs/cgroup/cgroup.controllers", "cpu memory io\n");
    snprintf(rel, sizeof(rel), "/sys/fs/cgroup%s/memory.max", dir);
    put(rel, max);
    snprintf(rel, sizeof(rel), "/sys/fs/cgroup%s/memory.current", dir);
    put(rel, current);
}

Test(meminfo, mem_available_alone)
{
    meminfo_8g();
    cr_assert_eq(rb_mem_available_at(g_root), 8 * GIB);
}

Test(meminfo, nothing_known)
{
    cr_assert_eq(rb_mem_available_at(g_root), -1);
}

Test(meminfo, v1_limit_less_usage_of_its_own_cgroup)
{
    meminfo_8g();
    put("/proc/self/cgroup", "5:devices:/a/b\n4:memory:/a/b\n0::/\n");
    put("/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes", "1073741824\n");
    put("/sys/fs/cgroup/memory/a/b/memory.usage_in_bytes", "268435456\n");
    cr_assert_eq(rb_mem_available_at(g_root), 768 * MIB);
}

Test(meminfo, v1_an_ancestors_lower_headroom_binds)
{
    meminfo_8g();
    put("/proc/self/cgroup", "4:cpu,memory:/a/b\n");
    put("/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes", "1073741824\n");
    put("/sys/fs/cgroup/memory/a/b/memory.usage_in_bytes", "0\n");
    put("/sys/fs/cgroup/memory/a/memory.limit_in_bytes", "536870912\n");
    put("/sys/fs/cgroup/memory/a/memory.usage_in_bytes", "419430400\n");
    put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    cr_assert_eq(rb_mem_available_at(g_root), 112 * MIB);
}

Test(meminfo, v1_unlimited_leaves_mem_available)
{
    meminfo_8g();
    put("/proc/self/cgroup", "4:memory:/process_api/x\n");
    put("/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes", "9223372036854771712\n");
    put("/sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes", "1000\n");
    cr_assert_eq(rb_mem_available_at(g_root), 8 * GIB);
}

Test(meminfo, a_controller_named_like_memory_is_not_memory)
{
    meminfo_8g();
    put("/proc/self/cgroup", "4:memory_x,xmemory:/a\n");
    put("/sys/fs/cgroup/memory/a/memory.limit_in_bytes", "1048576\n");
    cr_assert_eq(rb_mem_available_at(g_root), 8 * GIB);
}

Test(meminfo, v2_memory_max_and_current)
{
    v2("0::/system.slice/rb.service\n", "/system.slice/rb.service", "2147483648\n", "1073741824\n");
    put("/sys/fs/cgroup/system.slice/memory.max", "max\n");
    cr_assert_eq(rb_mem_available_at(g_root), 1 * GIB);
}

Test(meminfo, v2_max_is_no_limit)
{
    v2("0::/c\n", "/c", "max\n", "5\n");
    cr_assert_eq(rb_mem_available_at(g_root), 8 * GIB);
}

Test(meminfo, v2_on_a_hybrid_host_is_under_unified)
{
    meminfo_8g();
    put("/proc/self/cgroup", "0::/c\n");
    put("/sys/fs/cgroup/unified/c/memory.max", "104857600\n");
    cr_assert_eq(rb_mem_available_at(g_root), 100 * MIB);
}

Test(meminfo, a_container_sees_its_cgroup_as_the_mounts_root)
{
    v2("0::/docker/0123abcd\n", "", "536870912\n", "134217728\n"); /* not under the mount */
    cr_assert_eq(rb_mem_available_at(g_root), 384 * MIB);
}

Test(meminfo, usage_above_the_limit_leaves_nothing)
{
    v2("0::/c\n", "/c", "1000\n", "5000\n");
    cr_assert_eq(rb_mem_available_at(g_root), 0);
}

Test(meminfo, a_limit_without_meminfo)
{
    put("/proc/self/cgroup", "4:memory:/\n");
    put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824\n");
    cr_assert_eq(rb_mem_available_at(g_root), 1 * GIB);
}

Test(meminfo, the_real_machine_answers)
{
    cr_assert_gt(rb_mem_available(), 0);
}
