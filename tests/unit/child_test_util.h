/*
 * tests/unit/child_test_util.h - run a step of a unit test in a forked child that
 * exits without any cleanup (a process crash, or a power loss the simulated disk
 * plays out), and assert that the child itself succeeded.
 */
#ifndef RB_TESTS_CHILD_TEST_UTIL_H
#define RB_TESTS_CHILD_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn in a child that dies with _exit(0) after it (nothing closed or freed). */
static inline void tu_in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

#endif
