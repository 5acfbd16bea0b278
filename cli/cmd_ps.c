/* run-container ps [--format table|json] ID [PS ARGS...]: the processes of a container,
 * from its cgroup. The table is ps(1)'s own output (default arguments "-ef") keeping
 * the header and the lines whose PID column is one of the container's, as runc does;
 * json is the array of pids. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"

#define PS_OUTPUT_MAX (64u * 1024u * 1024u)

extern char **environ;

static int print_json(const pid_t *v, size_t n)
{
        printf("[");
        for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", (int)v[i]);
        printf("]\n");
        return 0;
}

/* Run ps with args, its whole stdout in *ret. */
static int run_ps(char **args, int nargs, char **ret, rc_error_t *err)
{
        _cleanup_free_ char **argv = calloc((size_t)nargs + 3, sizeof(char *));
        _cleanup_free_ char *buf = NULL;
        posix_spawn_file_actions_t fa;
        size_t len = 0, cap = 0;
        int p[2], status, r;
        pid_t pid;

        if (argv == NULL)
                return rc_error_set(err, ENOMEM, "ps");
        argv[0] = (char *)"ps";
        if (nargs == 0)
                argv[1] = (char *)"-ef";
        for (int i = 0; i < nargs; i++)
                argv[i + 1] = args[i];
        if (pipe2(p, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "pipe");
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                return rc_error_set(err, r, "run ps(1)");
        }
        for (;;) {
                ssize_t n;

                if (cap - len < 4096) {
                        char *nb = cap + 65536 > PS_OUTPUT_MAX ? NULL : realloc(buf, cap + 65536);
                        if (nb == NULL)
                                break;
                        buf = nb;
                        cap += 65536;
                }
                n = read(p[0], buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(p[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || buf == NULL)
                return rc_error_set(err, 0, "ps(1) failed (exit status %d)",
                                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The column index of "PID" in ps's header, or -1. */
static int pid_column(const char *header)
{
        int col = 0;

        for (const char *p = header + strspn(header, " "); *p; col++) {
                size_t n = strcspn(p, " ");

                if (n == 3 && strncmp(p, "PID", 3) == 0)
                        return col;
                p += n;
                p += strspn(p, " ");
        }
        return -1;
}

static pid_t field_pid(const char *line, int col)
{
        const char *p = line + strspn(line, " ");

        for (int i = 0; i < col && *p; i++) {
                p += strcspn(p, " ");
                p += strspn(p, " ");
        }
        return (pid_t)strtol(p, NULL, 10);
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

        return (x > y) - (x < y);
}

/* v is sorted (rc_container_pids) */
static int print_table(const pid_t *v, size_t n, char **args, int nargs, rc_error_t *err)
{
        _cleanup_free_ char *out = NULL;
        char *save = NULL, *line;
        int col;

        if (run_ps(args, nargs, &out, err) < 0)
                return -1;
        line = strtok_r(out, "\n", &save);
        if (line == NULL || (col = pid_column(line)) < 0)
                return rc_error_set(err, 0, "ps(1) output has no PID column (pass arguments that show it)");
        printf("%s\n", line);
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
                pid_t pid = field_pid(line, col);

                if (bsearch(&pid, v, n, sizeof(pid_t), cmp_pid) != NULL)
                        printf("%s\n", line);
        }
        return 0;
}

int cli_cmd_ps(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"format", required_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ pid_t *pids = NULL;
        bool json = false;
        size_t n = 0;
        const char *id;
        int opt;

        /* "+": stop at the id, so ps's own options ("-ef") after it are not ours */
        while ((opt = cli_getopt(argc, argv, "+:f:h", longopts, "ps", err)) != -1) {
                switch (opt) {
                case 'f':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                                return rc_error_set(err, 0, "invalid format \"%s\" (table or json)", optarg);
                        json = strcmp(optarg, "json") == 0;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_ps);
                default:
                        return -1;
                }
        }
        if (cli_check_args("ps", argc - optind, 1, -1, err) < 0)
                return -1;
        id = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (rc_validate_id(id, err) < 0 || rc_container_pids(&ctx->rt, id, &pids, &n, err) < 0)
                return -1;
        if (json) {
                if (argc > optind)
                        return rc_error_set(err, 0,
                                            "ps: arguments for ps(1) make no sense with --format json");
                return print_json(pids, n);
        }
        return print_table(pids, n, argv + optind, argc - optind, err);
}
