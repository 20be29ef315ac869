/*
 * cmd/crash.h - the daemon's last words on a fatal signal (see cmd/crash.c).
 */
#ifndef RB_CMD_CRASH_H
#define RB_CMD_CRASH_H

/* Installs the handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT. Does
 * nothing in a sanitizer build, whose own handlers report better. */
void rb_crash_handlers_install(void);

#endif
