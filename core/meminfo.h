/*
 * core/meminfo.h - how much memory this process may still take: the kernel's
 * MemAvailable, lowered to the headroom of the memory cgroups the process is in.
 *
 * A broker in a container (or a systemd unit with MemoryMax) sees the host's
 * /proc/meminfo: sizing a cache from MemAvailable alone would take a quarter of
 * the host and get the container killed at its limit. So the headroom (limit less
 * usage) of the process's memory cgroup and of every ancestor up to the root of
 * the hierarchy lowers it: cgroup v2 (memory.max, memory.current under the
 * cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts) and
 * v1 (memory.limit_in_bytes, memory.usage_in_bytes under /sys/fs/cgroup/memory).
 * "max" and v1's page-rounded LONG_MAX mean no limit.
 *
 * Blocking file reads: startup only, never on a shard's loop. Missing or
 * unreadable files only mean less is known; nothing here fails.
 */
#ifndef RB_CORE_MEMINFO_H
#define RB_CORE_MEMINFO_H

#include <stdint.h>

/* Bytes this process may still take (see above); -1 when nothing is known. */
int64_t rb_mem_available(void);
/* The same, reading proc/meminfo, proc/self/cgroup and sys/fs/cgroup/... under
 * root ("" is the real /; tests give a directory holding a fake tree). */
int64_t rb_mem_available_at(const char *root);

#endif
