/*
 * tests/unit/test_conn_limits.c - net/conn_limits.c: max.connections is one
 * count for the broker, max.connections.per.ip one per peer address, and every
 * admitted connection gives its slots back once.
 */
#include "core/config.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

static struct rb_broker b;
static struct rb_broker_config bc;

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    return ss;
}

static void setup(void)
{
    memset(&b, 0, sizeof(b));
    memset(&bc, 0, sizeof(bc));
    bc.max_connections = 3;
    bc.max_connections_per_ip = 2;
    b.bc = &bc;
}

Test(conn_limits, per_ip_then_total, .init = setup)
{
    struct sockaddr_storage a = v4("10.0.0.1"), c = v4("10.0.0.2");
    int32_t s1, s2, s3, s4, s5;
    cr_assert_null(rb_conn_admit(&b, &a, &s1));
    cr_assert_null(rb_conn_admit(&b, &a, &s2));
    cr_assert_eq(s1, s2);
    cr_assert_str_eq(rb_conn_admit(&b, &a, &s3), "max.connections.per.ip");
    cr_assert_eq(s3, -1);
    cr_assert_null(rb_conn_admit(&b, &c, &s4));
    cr_assert_neq(s4, s1);
    cr_assert_str_eq(rb_conn_admit(&b, &c, &s5), "max.connections"); /* 3 in all */
    cr_assert_eq(atomic_load(&b.conns), 3);
    cr_assert_eq(atomic_load(&b.ip_slots[s4].n), 1); /* the refused one gave its slot back */
    rb_conn_leave(&b, s1, true);
    cr_assert_null(rb_conn_admit(&b, &a, &s3)); /* a slot is free again */
    rb_conn_leave(&b, s2, true);
    rb_conn_leave(&b, s3, true);
    rb_conn_leave(&b, s4, true);
    cr_assert_eq(atomic_load(&b.conns), 0);
    cr_assert_eq(atomic_load(&b.ip_slots[s1].n), 0);
}

Test(conn_limits, zero_refuses_all_and_unknown_family_counts_in_total, .init = setup)
{
    struct sockaddr_storage u;
    memset(&u, 0, sizeof(u)); /* AF_UNSPEC: getpeername failed */
    int32_t s;
    cr_assert_null(rb_conn_admit(&b, &u, &s));
    cr_assert_eq(s, -1);
    rb_conn_leave(&b, s, true);
    bc.max_connections = 0;
    struct sockaddr_storage a = v4("10.0.0.1");
    cr_assert_str_eq(rb_conn_admit(&b, &a, &s), "max.connections");
    cr_assert_eq(atomic_load(&b.conns), 0);
}
