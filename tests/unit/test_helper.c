/* runtime/base/helper: the helper programs the runtime runs itself. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/helper.h"

/* Run `script` with /bin/sh through rc_helper_run in a child whose fds 0, 1 and 2 are
 * closed first when `closed`; the child exits 0 if the error text holds `want`. */
static int run_in_child(bool closed, const char *script, const char *want)
{
        pid_t pid = fork();
        int status;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char *argv[] = {"sh", "-c", (char *)script, NULL};
                rc_error_t err = NULL;

                if (closed) {
                        close(0);
                        close(1);
                        close(2);
                }
                if (rc_helper_run("/bin/sh", argv, &err) == 0)
                        _exit(2);
                _exit(strstr(err->msg, want) != NULL ? 0 : 3);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

#define CHECK_FDS "[ -e /proc/self/fd/0 ] && [ -e /proc/self/fd/1 ] || { echo no-stdio >&2; exit 9; }; "

Test(helper, stderr_becomes_the_error)
{
        cr_expect_eq(run_in_child(false, CHECK_FDS "echo helper-said-this >&2; exit 1", "helper-said-this"),
                     0);
}

Test(helper, stdio_given_even_when_the_caller_has_none)
{
        /* with 0, 1, 2 closed, /dev/null and the stderr pipe land there in the runtime */
        cr_expect_eq(run_in_child(true, CHECK_FDS "echo helper-said-this >&2; exit 1", "helper-said-this"),
                     0);
}

Test(helper, missing_program_named)
{
        char *argv[] = {"nope", NULL};
        rc_error_t err = NULL;

        cr_assert_lt(rc_helper_run("/nonexistent/helper", argv, &err), 0);
        cr_expect(strstr(err->msg, "/nonexistent/helper") != NULL, "%s", err->msg);
        rc_error_free(&err);
}
