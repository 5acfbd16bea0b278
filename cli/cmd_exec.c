/* run-container exec [OPTIONS] ID [COMMAND [ARGS...]]: run a new process in a running
 * container, from a --process document or the container's process amended by the
 * flags below (runc's spellings). Options end at the id: what follows is the command. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/container/exec.h"
#include "specs/names.h"

enum {
        OPT_CWD = 512,
        OPT_NO_NEW_PRIVS,
        OPT_APPARMOR,
        OPT_PROCESS_LABEL,
        OPT_PID_FILE,
        OPT_CONSOLE_SOCKET,
        OPT_PRESERVE_FDS,
        OPT_CGROUP,
        OPT_IGNORE_PAUSED,
};

struct exec_args {
        struct rc_exec_opts opts;
        char *process, *pid_file, *console_socket; /* absolute, owned */
        char **env;
        size_t n_env;
        gid_t *gids;
};

static void exec_args_clear(struct exec_args *a)
{
        free(a->process);
        free(a->pid_file);
        free(a->console_socket);
        rc_strv_free(a->env);
        free(a->gids);
}

static int add_env(struct exec_args *a, const char *kv, rc_error_t *err)
{
        char **v;

        if (strchr(kv, '=') == NULL || kv[0] == '=')
                return rc_error_set(err, 0, "invalid --env value \"%s\" (NAME=VALUE)", kv);
        v = realloc(a->env, (a->n_env + 2) * sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "--env");
        a->env = v;
        v[a->n_env] = strdup(kv);
        if (v[a->n_env] == NULL)
                return rc_error_set(err, ENOMEM, "--env");
        v[++a->n_env] = NULL;
        return 0;
}

static int add_gid(struct exec_args *a, const char *s, rc_error_t *err)
{
        struct rc_exec_overrides *o = &a->opts.o;
        unsigned gid;
        gid_t *v;

        if (cli_parse_uint(s, UINT_MAX - 1, &gid) < 0)
                return rc_error_set(err, 0, "invalid --additional-gids value \"%s\"", s);
        v = realloc(a->gids, (o->n_additional_gids + 1) * sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "--additional-gids");
        a->gids = v;
        v[o->n_additional_gids++] = (gid_t)gid;
        o->additional_gids = v;
        return 0;
}

static int parse_user(struct rc_exec_overrides *o, const char *s, rc_error_t *err)
{
        _cleanup_free_ char *copy = strdup(s);
        char *colon;
        unsigned uid, gid;

        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "--user");
        colon = strchr(copy, ':');
        if (colon != NULL)
                *colon = '\0';
        if (cli_parse_uint(copy, UINT_MAX - 1, &uid) < 0 ||
            (colon != NULL && cli_parse_uint(colon + 1, UINT_MAX - 1, &gid) < 0))
                return rc_error_set(err, 0, "invalid --user value \"%s\" (UID[:GID], numeric)", s);
        o->has_user = true;
        o->uid = (uid_t)uid;
        if (colon != NULL) {
                o->has_gid = true;
                o->gid = (gid_t)gid;
        }
        return 0;
}

static int set_path(char **field, const char *arg, rc_error_t *err)
{
        free(*field);
        *field = NULL;
        return cli_path_absolute(arg, field, err);
}

/* One option; 1 for --help, -1 on error. */
static int handle_option(struct exec_args *a, int opt, const char *arg, rc_error_t *err)
{
        struct rc_exec_overrides *o = &a->opts.o;
        int cap;

        switch (opt) {
        case 'h':
                return 1;
        case 'p':
                return set_path(&a->process, arg, err);
        case 't':
                o->tty = true;
                return 0;
        case 'd':
                a->opts.detach = true;
                return 0;
        case OPT_CWD:
                o->cwd = arg;
                return 0;
        case 'e':
                return add_env(a, arg, err);
        case 'u':
                return parse_user(o, arg, err);
        case 'g':
                return add_gid(a, arg, err);
        case 'c':
                if (oci_cap_from_name(arg, &cap) < 0)
                        return rc_error_set(err, 0, "unknown capability \"%s\"", arg);
                o->add_caps |= UINT64_C(1) << cap;
                return 0;
        case OPT_NO_NEW_PRIVS:
                o->no_new_privs = true;
                return 0;
        case OPT_APPARMOR:
                o->apparmor_profile = arg;
                return 0;
        case OPT_PROCESS_LABEL:
                o->process_label = arg;
                return 0;
        case OPT_PID_FILE:
                return set_path(&a->pid_file, arg, err);
        case OPT_CONSOLE_SOCKET:
                return set_path(&a->console_socket, arg, err);
        case OPT_PRESERVE_FDS:
                if (cli_parse_uint(arg, INT_MAX - 3, &a->opts.preserve_fds) < 0)
                        return rc_error_set(err, 0, "invalid --preserve-fds value \"%s\"", arg);
                return 0;
        case OPT_CGROUP:
                a->opts.cgroup = arg;
                return 0;
        case OPT_IGNORE_PAUSED:
                a->opts.ignore_paused = true;
                return 0;
        }
        return -1; /* -2 from cli_getopt: err is set */
}

int cli_cmd_exec(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"process", required_argument, NULL, 'p'},
                {"tty", no_argument, NULL, 't'},
                {"cwd", required_argument, NULL, OPT_CWD},
                {"env", required_argument, NULL, 'e'},
                {"user", required_argument, NULL, 'u'},
                {"additional-gids", required_argument, NULL, 'g'},
                {"cap", required_argument, NULL, 'c'},
                {"no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS},
                {"apparmor", required_argument, NULL, OPT_APPARMOR},
                {"process-label", required_argument, NULL, OPT_PROCESS_LABEL},
                {"detach", no_argument, NULL, 'd'},
                {"pid-file", required_argument, NULL, OPT_PID_FILE},
                {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
                {"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
                {"cgroup", required_argument, NULL, OPT_CGROUP},
                {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(exec_args_clear))) struct exec_args a = {0};
        int opt, ret, status = 0;
        const char *id;

        while ((opt = cli_getopt(argc, argv, "+:hp:tde:u:g:c:", longopts, "exec", err)) != -1) {
                ret = handle_option(&a, opt, optarg, err);
                if (ret < 0)
                        return -1;
                if (ret == 1)
                        return cli_print_usage(cli_help_exec);
        }
        if (cli_check_args("exec", argc - optind, 1, -1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (a.process == NULL && argc - optind < 2)
                return rc_error_set(err, 0, "\"exec\" requires a command or --process");
        if (a.process != NULL && argc - optind > 1)
                return rc_error_set(err, 0, "\"exec\": give either --process or a command, not both");
        a.opts.process_path = a.process;
        a.opts.pid_file = a.pid_file;
        a.opts.console_socket = a.console_socket;
        a.opts.o.args = argv + optind + 1;
        a.opts.o.env = a.env;
        /* as runc: whatever keeps the process from running exits 255 ("exec failed") */
        ctx->error_status = 255;
        if (rc_container_exec(&ctx->rt, id, &a.opts, &status, err) < 0)
                return -1;
        return status < 0 || status > 255 ? 255 : status;
}
