/*
 * tools/ringctl_dump.h - `ringctl dump-log`: offline reader of segment files.
 */
#ifndef RB_TOOLS_RINGCTL_DUMP_H
#define RB_TOOLS_RINGCTL_DUMP_H

/* argv[0] is "dump-log". Returns the process exit status: 0 when every batch of
 * every file is valid, 1 on a bad batch, 2 on usage errors or unreadable files. */
int ctl_dump_log(int argc, char **argv);

#endif
