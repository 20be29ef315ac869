/*
 * tests/unit/test_resolve.c - coord/resolve.c without a network: real lookups of
 * localhost, a name from /etc/hosts, numeric IPv4 and IPv6 addresses and a name
 * that cannot resolve (.invalid); and the cache's schedule against a fake
 * lookup: new names at once, known ones every interval (sooner when asked), a
 * failure keeps the last address and is logged once per interval, a changed
 * address or a broker that goes is reported as a change.
 */
#include "coord/resolve.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void expect_str(const struct rb_sockaddr *a, const char *want)
{
    char s[80];
    rb_sockaddr_str(a, s, sizeof(s));
    cr_assert_str_eq(s, want);
}

Test(resolve, localhost_and_numeric_addresses)
{
    struct rb_sockaddr a;
    cr_assert_eq(rb_resolve_lookup("localhost", 9092, &a), 0);
    cr_assert_eq(a.u.sa.sa_family, AF_INET, "IPv4 is preferred");
    cr_assert_eq(a.len, sizeof(a.u.in4));
    cr_assert_eq(ntohl(a.u.in4.sin_addr.s_addr) >> 24, 127);
    cr_assert_eq(ntohs(a.u.in4.sin_port), 9092);
    cr_assert_eq(rb_resolve_lookup("", 1, &a), 0, "empty: localhost");
    cr_assert_eq(ntohl(a.u.in4.sin_addr.s_addr) >> 24, 127);
    cr_assert_eq(rb_resolve_lookup("10.1.2.3", 19092, &a), 0);
    expect_str(&a, "10.1.2.3:19092");
    cr_assert_eq(rb_resolve_lookup("::1", 9093, &a), 0);
    cr_assert_eq(a.u.sa.sa_family, AF_INET6);
    cr_assert_eq(a.len, sizeof(a.u.in6));
    expect_str(&a, "[::1]:9093");
}

/* The first IPv4 line of /etc/hosts, preferring a name other than localhost. */
static bool hosts_entry(char *name, size_t cap, char *ip, size_t ipcap)
{
    FILE *f = fopen("/etc/hosts", "r");
    cr_assert_not_null(f);
    char line[512];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        char a[64], n[256];
        struct in_addr dummy;
        if (line[0] == '#' || sscanf(line, "%63s %255s", a, n) != 2 ||
            inet_pton(AF_INET, a, &dummy) != 1)
            continue;
        if (found && strcmp(n, "localhost") == 0)
            continue;
        snprintf(name, cap, "%s", n);
        snprintf(ip, ipcap, "%s", a);
        found = true;
        if (strcmp(n, "localhost") != 0)
            break;
    }
    fclose(f);
    return found;
}

Test(resolve, a_name_from_etc_hosts)
{
    char name[256], ip[64], want[80];
    cr_assert(hosts_entry(name, sizeof(name), ip, sizeof(ip)), "no IPv4 line in /etc/hosts");
    struct rb_sockaddr a;
    cr_assert_eq(rb_resolve_lookup(name, 9092, &a), 0, "%s", name);
    snprintf(want, sizeof(want), "%s:9092", ip);
    expect_str(&a, want);
}

Test(resolve, an_unresolvable_name_fails)
{
    struct rb_sockaddr a;
    int r = rb_resolve_lookup("no-such-broker.invalid", 9092, &a);
    cr_assert(r == -ENOENT || r == -EAGAIN, "r %d", r);
}

/* ---- the schedule, against a fake lookup ---- */

static struct {
    const char *host;
    const char *ip; /* NULL: does not resolve */
} names[4];

static int fake_lookup(const char *host, uint16_t port, struct rb_sockaddr *out)
{
    for (size_t i = 0; i < 4; i++)
        if (names[i].host && strcmp(names[i].host, host) == 0) {
            if (!names[i].ip)
                return -ENOENT;
            memset(out, 0, sizeof(*out));
            out->u.in4.sin_family = AF_INET;
            out->u.in4.sin_port = htons(port);
            inet_pton(AF_INET, names[i].ip, &out->u.in4.sin_addr);
            out->len = sizeof(out->u.in4);
            return 0;
        }
    return -ENOENT;
}

static const char *addr_of(const struct rb_resolver *r, const char *host, uint16_t port)
{
    static char s[80];
    const struct rb_sockaddr *a = rb_resolver_addr(r, host, port);
    if (!a)
        return "none";
    rb_sockaddr_str(a, s, sizeof(s));
    return s;
}

Test(resolve, refresh_schedule)
{
    names[0].host = "broker1", names[0].ip = "10.0.0.1";
    names[1].host = "broker2", names[1].ip = "10.0.0.2";
    names[2].host = "broker3", names[2].ip = NULL;
    struct rb_kzk_broker b[3] = {
        {.id = 1, .host = "broker1", .port = 9092},
        {.id = 2, .host = "broker2", .port = 9092},
        {.id = 3, .host = "broker3", .port = 9092},
    };
    struct rb_resolver r;
    rb_resolver_init(&r, fake_lookup, 30000);
    int64_t t = 1000000;

    /* new names: looked up at once; one that does not resolve is warned about */
    cr_assert(rb_resolver_sync(&r, b, 3, t, r.interval_ms));
    cr_assert_eq(r.lookups, 3);
    cr_assert_eq(r.warnings, 1);
    cr_assert_str_eq(addr_of(&r, "broker1", 9092), "10.0.0.1:9092");
    cr_assert_str_eq(addr_of(&r, "broker2", 9092), "10.0.0.2:9092");
    cr_assert_str_eq(addr_of(&r, "broker3", 9092), "none");
    cr_assert_str_eq(addr_of(&r, "broker1", 9093), "none", "another port: not cached");

    /* within RB_RESOLVE_AGAIN_MS: nothing looked up, nothing changed */
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 4999, r.interval_ms));
    cr_assert_eq(r.lookups, 3);
    /* a name never resolved is tried every RB_RESOLVE_AGAIN_MS, warned about once
     * per interval; resolved ones wait for the interval */
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 5000, r.interval_ms));
    cr_assert_eq(r.lookups, 4);
    cr_assert_eq(r.warnings, 1);

    /* broker1 moves; seen at the next refresh, not before */
    names[0].ip = "10.0.0.11";
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 29999, r.interval_ms));
    cr_assert_eq(r.lookups, 5, "broker3 again, not broker1 nor broker2");
    cr_assert_str_eq(addr_of(&r, "broker1", 9092), "10.0.0.1:9092");
    cr_assert(rb_resolver_sync(&r, b, 3, t + 30000, r.interval_ms));
    cr_assert_eq(r.lookups, 7);
    cr_assert_str_eq(addr_of(&r, "broker1", 9092), "10.0.0.11:9092");
    cr_assert_eq(r.warnings, 1, "broker3 failed 3 times within the interval: logged once");

    /* a shard's failed connect: sooner, but not more often than max_age */
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 34999, RB_RESOLVE_AGAIN_MS));
    cr_assert_eq(r.lookups, 8, "only broker3 (5 s since its last try)");
    cr_assert_eq(r.warnings, 2, "broker3: the next interval's warning");
    names[1].ip = "10.0.0.22";
    cr_assert(rb_resolver_sync(&r, b, 3, t + 35000, RB_RESOLVE_AGAIN_MS));
    cr_assert_eq(r.lookups, 10);
    cr_assert_str_eq(addr_of(&r, "broker2", 9092), "10.0.0.22:9092");

    /* a failure keeps the last good address (no change to publish) */
    names[0].ip = NULL;
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 65000, r.interval_ms));
    cr_assert_eq(r.lookups, 13);
    cr_assert_str_eq(addr_of(&r, "broker1", 9092), "10.0.0.11:9092");
    cr_assert_eq(r.warnings, 4, "broker1 newly, broker3 an interval later");
    cr_assert_not(rb_resolver_sync(&r, b, 3, t + 70000, r.interval_ms));
    cr_assert_eq(r.lookups, 14, "broker3 only: broker1 has its last address, waits the interval");

    /* the unresolved name resolves at last */
    names[2].ip = "10.0.0.3";
    cr_assert(rb_resolver_sync(&r, b, 3, t + 95000, r.interval_ms));
    cr_assert_str_eq(addr_of(&r, "broker3", 9092), "10.0.0.3:9092");

    /* a broker goes, another re-registers under a new name: changes */
    b[1] = (struct rb_kzk_broker){.id = 2, .host = "10.9.9.9", .port = 9094};
    names[3].host = "10.9.9.9", names[3].ip = "10.9.9.9";
    int64_t before = r.lookups;
    cr_assert(rb_resolver_sync(&r, b, 2, t + 95001, r.interval_ms));
    cr_assert_eq(r.lookups, before + 1, "only the new pair");
    cr_assert_eq(r.n, 2);
    cr_assert_str_eq(addr_of(&r, "10.9.9.9", 9094), "10.9.9.9:9094");
    cr_assert_str_eq(addr_of(&r, "broker2", 9092), "none");
    cr_assert(rb_resolver_sync(&r, b, 1, t + 95002, r.interval_ms), "a pair went");
    cr_assert_eq(r.n, 1);
    rb_resolver_free(&r);
}
