/* run-container create [OPTIONS] ID: set the container up; its process waits for
 * "start". The create options are shared with "run" (cli_create_args_*). */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"

static int set_string(char **field, const char *arg, rc_error_t *err)
{
        char *copy = strdup(arg);

        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "copy option value");
        free(*field);
        *field = copy;
        return 1;
}

int cli_create_args_handle(struct cli_create_args *a, int opt, const char *arg, rc_error_t *err)
{
        switch (opt) {
        case 'b':
                return set_string(&a->bundle, arg, err);
        case 'f': /* crun's short form */
                return set_string(&a->config, arg, err);
        case CLI_OPT_PID_FILE:
                return set_string(&a->pid_file, arg, err);
        case CLI_OPT_CONSOLE_SOCKET:
                return set_string(&a->console_socket, arg, err);
        case CLI_OPT_PRESERVE_FDS:
                /* leave room for stdio and every fd number a process can have */
                if (cli_parse_uint(arg, INT_MAX - 3, &a->opts.preserve_fds) < 0)
                        return rc_error_set(err, 0, "invalid --preserve-fds value \"%s\"", arg);
                return 1;
        case CLI_OPT_NO_PIVOT:
                a->opts.no_pivot = true;
                return 1;
        case CLI_OPT_NO_NEW_KEYRING:
                a->opts.no_new_keyring = true;
                return 1;
        }
        return 0;
}

/* Relative paths are taken from the current directory, as runc does, because the
 * library may work from another one. */
static int make_absolute(char **field, rc_error_t *err)
{
        char *abs;

        if (*field == NULL)
                return 0;
        if (cli_path_absolute(*field, &abs, err) < 0)
                return -1;
        free(*field);
        *field = abs;
        return 0;
}

/* Socket activation, runc's rule: with LISTEN_FDS=N set for this very process
 * (LISTEN_PID), fds 3..3+N-1 go to the container ahead of --preserve-fds (which then
 * counts from 3+N), and its process gets LISTEN_FDS=N and LISTEN_PID=1. */
static int listen_fds(struct cli_create_args *a, rc_error_t *err)
{
        const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
        unsigned n = 0, owner = 0;

        if (fds == NULL || pid == NULL || cli_parse_uint(pid, INT_MAX, &owner) < 0 ||
            owner != (unsigned)getpid())
                return 0;
        if (cli_parse_uint(fds, INT_MAX - 3, &n) < 0 || n > (unsigned)(INT_MAX - 3) - a->opts.preserve_fds)
                return rc_error_set(err, 0, "invalid LISTEN_FDS value \"%s\"", fds);
        a->opts.listen_fds = n;
        a->opts.preserve_fds += n;
        return 0;
}

int cli_create_args_finish(struct cli_create_args *a, rc_error_t *err)
{
        if (listen_fds(a, err) < 0)
                return -1;
        if (a->bundle == NULL && set_string(&a->bundle, ".", err) < 0)
                return -1;
        if (make_absolute(&a->bundle, err) < 0 || make_absolute(&a->config, err) < 0 ||
            make_absolute(&a->pid_file, err) < 0 || make_absolute(&a->console_socket, err) < 0)
                return -1;
        a->opts.bundle = a->bundle;
        a->opts.config_path = a->config;
        a->opts.pid_file = a->pid_file;
        a->opts.console_socket = a->console_socket;
        return 0;
}

void cli_create_args_clear(struct cli_create_args *a)
{
        free(a->bundle);
        free(a->config);
        free(a->pid_file);
        free(a->console_socket);
        *a = (struct cli_create_args){0};
}

int cli_cmd_create(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                CLI_CREATE_LONGOPTS,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(cli_create_args_clear))) struct cli_create_args a = {0};
        const char *id;
        int opt, ret;

        while ((opt = cli_getopt(argc, argv, ":h" CLI_CREATE_SHORTOPTS, longopts, "create", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_create);
                if (opt == -2)
                        return -1;
                ret = cli_create_args_handle(&a, opt, optarg, err);
                if (ret < 0)
                        return -1;
        }
        if (cli_check_args("create", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (cli_create_args_finish(&a, err) < 0)
                return -1;
        ctx->rt.notify_socket = cli_notify_socket();
        if (rc_container_create(&ctx->rt, id, &a.opts, err) < 0)
                return -1;
        return 0;
}
