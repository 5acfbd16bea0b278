/* Unit-test helper: run a step in a forked child, so process-wide changes (credentials,
 * capabilities, rlimits, umask) never touch the test runner. Header-only: each test
 * binary that includes it gets its own static copy. */
#pragma once

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/error.h"

/* fn returns NULL on success or a failure message (in buf), which the parent turns into
 * a test failure. */
typedef const char *(*child_fn)(void *arg, char *buf, size_t size);

static inline void run_in_child(child_fn fn, void *arg)
{
        char msg[1024] = "";
        int pfd[2], status = 0;
        ssize_t n;
        pid_t pid;

        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char buf[1024];
                const char *r = fn(arg, buf, sizeof(buf));

                if (r != NULL && write(pfd[1], r, strlen(r)) < 0)
                        _exit(2);
                _exit(r == NULL ? 0 : 1);
        }
        close(pfd[1]);
        n = read(pfd[0], msg, sizeof(msg) - 1);
        msg[n > 0 ? n : 0] = '\0';
        close(pfd[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "child died with status %#x", status);
        cr_assert_eq(WEXITSTATUS(status), 0, "child: %s", msg);
}

/* A child's failure message naming the step and the library's error. */
static inline const char *fail_with(char *buf, size_t size, const char *what, rc_error_t *err)
{
        snprintf(buf, size, "%s: %s", what, *err != NULL ? (*err)->msg : "(no error set)");
        return buf;
}
