/*
 * net/h_groups.h - handlers of the consumer group coordinator APIs
 * (net/h_groups.c: membership; net/h_offsets.c: offsets and group admin).
 */
#ifndef RB_NET_H_GROUPS_H
#define RB_NET_H_GROUPS_H

#include "net/net.h"

void rb_handle_join_group(struct rb_request *req, void *msg);
void rb_handle_sync_group(struct rb_request *req, void *msg);
void rb_handle_heartbeat(struct rb_request *req, void *msg);
void rb_handle_leave_group(struct rb_request *req, void *msg);
void rb_handle_offset_commit(struct rb_request *req, void *msg);
void rb_handle_offset_fetch(struct rb_request *req, void *msg);
void rb_handle_list_groups(struct rb_request *req, void *msg);
void rb_handle_describe_groups(struct rb_request *req, void *msg);
void rb_handle_delete_groups(struct rb_request *req, void *msg);
void rb_handle_offset_delete(struct rb_request *req, void *msg);

#endif
