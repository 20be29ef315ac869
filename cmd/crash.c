/*
 * cmd/crash.c - the daemon's fatal-signal report. A broker that dies of SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE or SIGABRT writes one line naming the signal (and the
 * faulting address) and a backtrace to stderr, which is its log, then dies of the
 * same signal so a core dump and the exit status stay what they would have been.
 * Without it such a death leaves no line at all in broker.log.
 * Only async-signal-safe calls run in the handler: write(2), backtrace() (loaded
 * once at install so it does not allocate later) and backtrace_symbols_fd().
 * Sanitizer builds keep their own handlers.
 */
#include "cmd/crash.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RB_CRASH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RB_CRASH_SANITIZED 1
#endif
#endif

#ifndef RB_CRASH_SANITIZED
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

static void put(const char *s)
{
    ssize_t w __attribute__((unused)) = write(STDERR_FILENO, s, strlen(s));
}

/* "0x" and the hex digits of v into buf (at least 19 bytes). */
static void hex(char *buf, unsigned long v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && n < 16);
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < n; i++)
        buf[2 + i] = tmp[n - 1 - i];
    buf[2 + n] = '\0';
}

/* the decimal digits of v into buf (at least 21 bytes). */
static void dec(char *buf, unsigned long v)
{
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

static void on_fatal(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    char num[24];
    put("ringbroker: fatal signal ");
    put(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
    if (si && si->si_code <= 0) { /* kill(2), tgkill(2), raise(3): a sender, no fault */
        dec(num, (unsigned long)si->si_pid);
        put(" sent by pid ");
        put(num);
    } else if (si && sig != SIGABRT) {
        hex(num, (unsigned long)si->si_addr);
        put(" at address ");
        put(num);
    }
    put("; backtrace:\n");
    void *pc[64];
    int n = backtrace(pc, 64);
    backtrace_symbols_fd(pc, n, STDERR_FILENO);
    /* SA_RESETHAND restored the default action: die of the same signal */
    raise(sig);
}

void rb_crash_handlers_install(void)
{
    void *warm[1];
    backtrace(warm, 1); /* loads the unwinder now, not inside the handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, NULL);
}
#else
void rb_crash_handlers_install(void)
{
}
#endif
