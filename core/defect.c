/*
 * core/defect.c - which planted defect is on (core/defect.h); always
 * RB_DEFECT_NONE outside the simulator's self-test.
 */
#include "core/defect.h"

int rb_defect_active;
const char *const rb_defect_names[RB_DEFECT_COUNT] = {
    "none",
    "ACK_BEFORE_SYNC",
    "DROP_FETCH_WAITER",
    "DEDUP_WINDOW",
    "SKIP_TORN_TRUNCATE",
    "FLUSH_AFTER_ROLL",
    "NO_LEADER_LEASE",
    "UNFENCED_CONTROLLER",
    "HW_ANY_FOLLOWER",
    "NO_TRUNCATE",
};
