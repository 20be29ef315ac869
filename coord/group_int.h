/*
 * coord/group_int.h - what the group coordinator's files share (coord/group.c,
 * coord/group_join.c, coord/group_store.c); not for use outside them.
 *
 * group.c owns the state machine (every state change goes through it), group
 * and member lifetimes, rebalances and pending members; the helpers below are
 * its entry points for the request paths. All of them run on the group's shard,
 * with no locks; a parked rb_gwait is answered exactly once, by rb_group_answer.
 */
#ifndef RB_COORD_GROUP_INT_H
#define RB_COORD_GROUP_INT_H

#include "coord/group.h"

char *rb_group_strdup(const char *s);
bool rb_group_str_eq(const char *a, const char *b);
void rb_group_set_state(struct rb_group *g, enum rb_gstate to);
void rb_group_persist(struct rb_group *g, bool tombstone);
void rb_group_answer(struct rb_gwait *w, int16_t err, struct rb_group *g, struct rb_gmember *m);
struct rb_gmember *rb_group_member_by_instance(struct rb_group *g, const char *instance_id);
int rb_group_proto_index(const struct rb_gmember *m, const char *name);
void rb_group_member_set_protocols(struct rb_gmember *m, const struct rb_gjoin *in);
bool rb_group_member_matches(const struct rb_gmember *m, const struct rb_gjoin *in);
void rb_group_session_reset(struct rb_group_mgr *mgr, struct rb_gmember *m);
/* A new member with in's ids and protocols, its session timer armed, appended
 * after the others (join order: the first is the leader). */
struct rb_gmember *rb_group_member_add(struct rb_group *g, const char *id,
                                       const struct rb_gjoin *in);
void rb_group_new_member_id(struct rb_group_mgr *mgr, const char *prefix, char *out, size_t cap);
void rb_group_maybe_complete_join(struct rb_group *g);
void rb_group_prepare_rebalance(struct rb_group *g);
void rb_group_remove_member(struct rb_group *g, struct rb_gmember *m);
void rb_group_session_expired(struct rb_timer *t);
bool rb_group_take_pending(struct rb_group *g, const char *id);
void rb_group_add_pending(struct rb_group *g, const char *id, int32_t session_ms);
int16_t rb_group_member_check(struct rb_group *g, const char *member_id, const char *instance_id,
                              struct rb_gmember **out);
void rb_group_set_assignment(struct rb_gmember *m, const uint8_t *p, int32_t len);
/* Cancel the join phase; remove and free every member, answering its parked
 * waits with err. */
void rb_group_drop_members(struct rb_group *g, int16_t err);
void rb_group_restore_state(struct rb_group *g, enum rb_gstate to, int64_t state_ts);

#endif
