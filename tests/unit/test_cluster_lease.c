/*
 * tests/unit/test_cluster_lease.c - coord/cluster_open.c: the leader lease after a
 * session expiry. A broker paused past its session (found by the replication fault
 * test t_repl_pause) registered again and renewed its lease before its shards had
 * the new session's view, so for ~100 ms a shard still named it leader of a
 * partition that had moved, and the lease let a Produce through. Now the lease is
 * held at 0 from the expiry until a publication of a view with nothing left to read
 * has been applied by every shard; publications made before that (or of an
 * incomplete view) do not release it. A quorum double answers the lease's round
 * trip (exists of /brokers/ids/<id>).
 */
#include "coord/cluster_int.h"
#include "coord/quorum_int.h"
#include "core/timer.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static bool registered = true;

static int f_exists(struct rb_quorum *q, const char *path, bool watch, int64_t *version)
{
    (void)q;
    (void)watch;
    (void)version;
    return registered && strcmp(path, "/brokers/ids/1") == 0 ? 0 : -ENOENT;
}

static const struct rb_quorum_ops f_ops = {.exists = f_exists};
static struct rb_quorum fq = {.ops = &f_ops};
static struct rb_cluster cl;

static void setup(void)
{
    memset(&cl, 0, sizeof(cl));
    cl.q = &fq;
    cl.self = 1;
    cl.session_ms = 6000;
    registered = true;
}

TestSuite(cluster_lease, .init = setup);

static bool lease_valid(void)
{
    return atomic_load(&cl.lease_until) > rb_mono_ms();
}

Test(cluster_lease, renewal_grants_a_lease_of_half_the_session)
{
    rb_cl_renew_lease(&cl);
    cr_assert(lease_valid());
    cr_assert_leq(atomic_load(&cl.lease_until), rb_mono_ms() + 3000);
}

Test(cluster_lease, no_lease_after_an_expiry_until_the_new_view_is_applied)
{
    rb_cl_renew_lease(&cl);
    cr_assert(lease_valid());
    rb_cl_lease_hold(&cl); /* the session expired: rb_cl_reconnect */
    cr_assert_not(lease_valid());
    rb_cl_renew_lease(&cl); /* registered again: the round trip succeeds */
    cr_assert_not(lease_valid(), "a lease before the shards have the new view");
    rb_cl_lease_published(&cl, false); /* a view with reads still failing */
    rb_cl_lease_applied(&cl);
    rb_cl_renew_lease(&cl);
    cr_assert_not(lease_valid(), "an incomplete view released the hold");
    rb_cl_lease_published(&cl, true); /* the complete view... */
    cr_assert_not(lease_valid(), "released before the shards applied it");
    rb_cl_lease_applied(&cl); /* ...applied by every shard */
    cr_assert(lease_valid());
    cr_assert_not(cl.lease_hold);
}

Test(cluster_lease, an_older_publication_applied_late_does_not_release)
{
    rb_cl_lease_published(&cl, true); /* made before the expiry, still in flight */
    rb_cl_lease_hold(&cl);
    rb_cl_lease_published(&cl, true); /* the new session's view */
    rb_cl_lease_applied(&cl);         /* the old one lands first */
    cr_assert_not(lease_valid(), "the pre-expiry snapshot released the hold");
    rb_cl_lease_applied(&cl);
    cr_assert(lease_valid());
}

Test(cluster_lease, a_second_expiry_while_held_needs_its_own_view)
{
    rb_cl_lease_hold(&cl);
    rb_cl_lease_published(&cl, true);
    rb_cl_lease_hold(&cl); /* expired again before that view was applied */
    rb_cl_lease_applied(&cl);
    cr_assert_not(lease_valid(), "a view of the previous session released the hold");
    rb_cl_lease_published(&cl, true);
    rb_cl_lease_applied(&cl);
    cr_assert(lease_valid());
}
