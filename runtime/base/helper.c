/* Helper programs (runtime/base/helper.h). */
#include "runtime/base/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"

#define HELPER_STDERR_MAX 512

/* In the child of fork: only async-signal-safe calls until execve. */
__attribute__((noreturn)) static void helper_exec(const char *path, char *const argv[], int errfd)
{
        static char *const no_env[] = {NULL};
        sigset_t none;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        /* Above 2 first: a runtime started with 0, 1 or 2 closed may have got /dev/null or
         * the pipe there, where dup2 onto itself would leave it close-on-exec, or the next
         * dup2 would replace it. dup2 from above 2 gives each of 0, 1, 2 without the flag. */
        int in = null >= 0 ? fcntl(null, F_DUPFD_CLOEXEC, 3) : -1;
        int errw = fcntl(errfd, F_DUPFD_CLOEXEC, 3);

        sigemptyset(&none);
        if (in < 0 || errw < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(in, STDOUT_FILENO) < 0 ||
            dup2(errw, STDERR_FILENO) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                _exit(127);
        execve(path, argv, no_env);
        _exit(127);
}

/* All of the pipe, keeping the first HELPER_STDERR_MAX-1 bytes, lines joined with "; ". */
static void read_stderr(int fd, char *buf, size_t size)
{
        size_t len = 0;
        char chunk[256];
        ssize_t n;

        while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (ssize_t i = 0; i < n && len + 1 < size; i++)
                        buf[len++] = chunk[i];
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                len--;
        buf[len] = '\0';
        for (char *nl = strchr(buf, '\n'); nl != NULL; nl = strchr(nl, '\n'))
                *nl = ';';
}

int rc_helper_run(const char *path, char *const argv[], rc_error_t *err)
{
        char text[HELPER_STDERR_MAX];
        int pipefd[2], status;
        pid_t pid;

        if (access(path, X_OK) < 0)
                return rc_error_set(err, errno, "run `%s`", path);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "run `%s`: create a pipe", path);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return rc_error_set(err, e, "run `%s`: fork", path);
        }
        if (pid == 0)
                helper_exec(path, argv, pipefd[1]);
        close(pipefd[1]);
        read_stderr(pipefd[0], text, sizeof(text));
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return rc_error_set(err, errno, "run `%s`: wait", path);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                return rc_error_set(err, 0, "`%s` killed by signal %d%s%s", path, WTERMSIG(status),
                                    text[0] ? ": " : "", text);
        return rc_error_set(err, 0, "`%s` exited with status %d%s%s", path, WEXITSTATUS(status),
                            text[0] ? ": " : "", text);
}
