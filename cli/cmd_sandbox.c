/* run-container sandbox [OPTIONS] [--] CMD [ARGS...]: run one job in a fresh, limited,
 * throw-away container (runtime/sandbox/sandbox.h). Exits with the job's status, 128+N for a
 * signal, 125 when run-container itself failed, 126/127 when the command cannot be
 * executed / is not found. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/image/image.h"
#include "runtime/sandbox/sandbox.h"

enum {
        OPT_ROOTFS = 600,
        OPT_IMAGE,
        OPT_IMAGE_CACHE,
        OPT_UPPER,
        OPT_READ_ONLY,
        OPT_COMMIT,
        OPT_ENV_FILE,
        OPT_HOSTNAME,
        OPT_TMPFS,
        OPT_CAP_ADD,
        OPT_CAP_DROP,
        OPT_SECURITY_OPT,
        OPT_NET,
        OPT_MEMORY_SWAP,
        OPT_CPUS,
        OPT_PIDS_LIMIT,
        OPT_IO_WEIGHT,
        OPT_ULIMIT,
        OPT_TIMEOUT,
        OPT_NAME,
        OPT_REPORT,
        OPT_NO_GC,
        OPT_STOP_TIMEOUT,
        OPT_INIT,
        OPT_NO_INIT,
        OPT_UPPER_SIZE,
        OPT_UNLIMITED_TMPFS,
        OPT_COMMIT_ON_FAILURE,
};

struct strv {
        char **v;
        size_t n;
};

struct sandbox_args {
        struct rc_sandbox_opts o;
        struct cli_pull pull;
        struct strv env, env_files, volumes, tmpfs, cap_add, cap_drop, ports, ulimits, owned;
        const char *report;
};

static int strv_add(struct strv *s, char *value, rc_error_t *err)
{
        char **nv = realloc(s->v, (s->n + 2) * sizeof(*nv));

        if (nv == NULL)
                return rc_error_set(err, ENOMEM, "options");
        s->v = nv;
        s->v[s->n++] = value;
        s->v[s->n] = NULL;
        return 0;
}

/* A string we allocated: kept until the end. */
static char *own(struct sandbox_args *a, char *s, rc_error_t *err)
{
        if (s == NULL) {
                rc_error_set(err, ENOMEM, "options");
                return NULL;
        }
        if (strv_add(&a->owned, s, err) < 0) {
                free(s);
                return NULL;
        }
        return s;
}

static void sandbox_args_clear(struct sandbox_args *a)
{
        struct strv *lists[] = {&a->env,     &a->env_files, &a->volumes, &a->tmpfs,
                                &a->cap_add, &a->cap_drop,  &a->ports,   &a->ulimits};

        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
                free(lists[i]->v);
        for (size_t i = 0; i < a->owned.n; i++)
                free(a->owned.v[i]);
        free(a->owned.v);
}

static int absolute(struct sandbox_args *a, const char *path, const char **ret, rc_error_t *err)
{
        char *abs = NULL;

        if (cli_path_absolute(path, &abs, err) < 0 || own(a, abs, err) == NULL)
                return -1;
        *ret = abs;
        return 0;
}

/* "-e K": the value of K here, or nothing when it is unset (as docker). */
static int add_env(struct sandbox_args *a, char *arg, rc_error_t *err)
{
        const char *v;
        char *kv;

        if (strchr(arg, '=') != NULL)
                return strv_add(&a->env, arg, err);
        v = getenv(arg);
        if (v == NULL)
                return 0;
        if (asprintf(&kv, "%s=%s", arg, v) < 0)
                kv = NULL;
        return own(a, kv, err) == NULL ? -1 : strv_add(&a->env, kv, err);
}

/* "-v SRC:DST[:MODE]" with SRC made absolute. */
static int add_volume(struct sandbox_args *a, char *arg, rc_error_t *err)
{
        const char *colon = strchr(arg, ':'), *abs = NULL;
        _cleanup_free_ char *src = NULL;
        char *spec;

        if (colon == NULL || colon == arg)
                return rc_error_set(err, EINVAL, "-v \"%s\": not SRC:DST[:ro|rw]", arg);
        src = strndup(arg, (size_t)(colon - arg));
        if (src == NULL || absolute(a, src, &abs, err) < 0)
                return src == NULL ? rc_error_set(err, ENOMEM, "-v") : -1;
        if (asprintf(&spec, "%s%s", abs, colon) < 0)
                spec = NULL;
        return own(a, spec, err) == NULL ? -1 : strv_add(&a->volumes, spec, err);
}

/* "--tmpfs DST[:OPTIONS]" with size= in bytes, from any size cli_parse_bytes reads. */
static int add_tmpfs(struct sandbox_args *a, char *arg, rc_error_t *err)
{
        const char *colon = strchr(arg, ':');
        size_t cap = 4 * strlen(arg) + 32, len; /* "size=1g" -> "size=1073741824" */
        _cleanup_free_ char *opts = NULL;
        char *spec, *save = NULL;

        if (colon == NULL)
                return strv_add(&a->tmpfs, arg, err);
        opts = strdup(colon + 1);
        spec = own(a, malloc(cap), err);
        if (opts == NULL || spec == NULL)
                return spec == NULL ? -1 : rc_error_set(err, ENOMEM, "--tmpfs");
        len = (size_t)snprintf(spec, cap, "%.*s:", (int)(colon - arg), arg);
        for (char *w = strtok_r(opts, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
                int64_t size;

                if (strncmp(w, "size=", 5) != 0) {
                        len += (size_t)snprintf(spec + len, cap - len, "%s%s",
                                                spec[len - 1] == ':' ? "" : ",", w);
                        continue;
                }
                if (cli_parse_bytes("--tmpfs size", w + 5, 0, &size, err) < 0)
                        return -1;
                len += (size_t)snprintf(spec + len, cap - len, "%ssize=%lld",
                                        spec[len - 1] == ':' ? "" : ",", (long long)size);
        }
        return strv_add(&a->tmpfs, spec, err);
}

static int bad_value(const char *opt, const char *arg, rc_error_t *err)
{
        return rc_error_set(err, EINVAL, "invalid %s value \"%s\"", opt, arg);
}

static int limit_option(struct sandbox_args *a, int opt, char *arg, rc_error_t *err)
{
        struct rc_sandbox_opts *o = &a->o;
        unsigned u;

        switch (opt) {
        case 'm':
                return cli_parse_bytes("--memory", arg, CLI_VALUE_NONZERO, &o->memory, err);
        case OPT_MEMORY_SWAP:
                return cli_parse_bytes("--memory-swap", arg, CLI_VALUE_UNLIMITED, &o->memory_swap, err);
        case OPT_CPUS:
                return cli_parse_cpus("--cpus", arg, RC_SANDBOX_CPU_PERIOD, &o->cpu_quota, err);
        case OPT_PIDS_LIMIT:
                if (cli_parse_uint(arg, INT32_MAX, &u) < 0 || u == 0)
                        return bad_value("--pids-limit", arg, err);
                o->pids_limit = u;
                return 0;
        case OPT_IO_WEIGHT:
                if (cli_parse_uint(arg, 1000, &u) < 0 || u < 10)
                        return bad_value("--io-weight", arg, err);
                o->io_weight = u;
                return 0;
        case OPT_TIMEOUT:
                return cli_parse_duration("--timeout", arg, CLI_VALUE_NONZERO, &o->timeout_ms, err);
        case OPT_STOP_TIMEOUT:
                return cli_parse_duration("--stop-timeout", arg, 0, &o->stop_timeout_ms, err);
        case OPT_ULIMIT:
                return strv_add(&a->ulimits, arg, err);
        }
        return 1;
}

static int option(struct sandbox_args *a, int opt, char *arg, rc_error_t *err)
{
        struct rc_sandbox_opts *o = &a->o;
        int r = cli_pull_option(&a->pull, opt, arg, err);

        if (r != 0)
                return r < 0 ? -1 : 0;

        switch (opt) {
        case OPT_ROOTFS:
                o->rootfs = arg;
                return 0;
        case OPT_IMAGE:
                o->image = arg;
                return 0;
        case OPT_IMAGE_CACHE:
                return absolute(a, arg, &o->image_cache, err);
        case OPT_UPPER:
                return absolute(a, arg, &o->upper, err);
        case OPT_READ_ONLY:
                o->read_only = true;
                return 0;
        case OPT_COMMIT:
                o->commit = arg;
                return 0;
        case 'e':
                return add_env(a, arg, err);
        case OPT_ENV_FILE:
                return strv_add(&a->env_files, arg, err);
        case 'w':
                o->workdir = arg;
                return 0;
        case 'u':
                o->user = arg;
                return 0;
        case OPT_HOSTNAME:
                o->hostname = arg;
                return 0;
        case 't':
                o->terminal = true;
                return 0;
        case 'i':
                return 0; /* stdin is always passed through */
        case 'v':
                return add_volume(a, arg, err);
        case OPT_TMPFS:
                return add_tmpfs(a, arg, err);
        case OPT_UPPER_SIZE:
                return cli_parse_bytes("--upper-size", arg, CLI_VALUE_NONZERO, &o->upper_size, err);
        case OPT_UNLIMITED_TMPFS:
                o->unlimited_tmpfs = true;
                return 0;
        case OPT_COMMIT_ON_FAILURE:
                o->commit_on_failure = true;
                return 0;
        case OPT_CAP_ADD:
                return strv_add(&a->cap_add, arg, err);
        case OPT_CAP_DROP:
                return strv_add(&a->cap_drop, arg, err);
        case OPT_SECURITY_OPT:
                if (strcmp(arg, "seccomp=unconfined") != 0 && strcmp(arg, "seccomp:unconfined") != 0)
                        return rc_error_set(err, EINVAL,
                                            "--security-opt \"%s\": only seccomp=unconfined is known", arg);
                o->seccomp_unconfined = true;
                return 0;
        case OPT_NET:
                o->net = arg;
                return 0;
        case 'p':
                return strv_add(&a->ports, arg, err);
        case OPT_NAME:
                o->id = arg;
                return 0;
        case OPT_REPORT:
                a->report = arg;
                return 0;
        case OPT_NO_GC:
                o->no_gc = true;
                return 0;
        case OPT_INIT:
        case OPT_NO_INIT:
                o->no_init = opt == OPT_NO_INIT;
                return 0;
        }
        return limit_option(a, opt, arg, err);
}

static void write_report(struct cli_context *ctx, const char *dest, const struct rc_sandbox_report *r)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int fd;

        if (dest == NULL || rc_sandbox_report_json(r, &json, &len, &e) < 0)
                goto out;
        fd = strcmp(dest, "-") == 0 ? STDERR_FILENO
                                    : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                rc_error_set(&e, errno, "--report `%s`", dest);
                goto out;
        }
        if (rc_write_all(fd, json, len) < 0)
                rc_error_set(&e, errno, "write report `%s`", dest);
        if (fd != STDERR_FILENO)
                close(fd);
out:
        if (e != NULL)
                rc_log(&ctx->rt.log, RC_LOG_ERROR, "%s", e->msg);
}

/* Printed here, not by main: the exit status is 125 (docker's and podman's), not 1. */
static int failed(struct cli_context *ctx, rc_error_t *err)
{
        fprintf(stderr, "run-container: %s\n", (*err)->msg);
        if (ctx->log.fd >= 0)
                cli_log_write(&ctx->log, RC_LOG_ERROR, (*err)->msg);
        rc_error_free(err);
        return 125;
}

static void finish_lists(struct sandbox_args *a)
{
        a->o.env = a->env.v;
        a->o.env_files = a->env_files.v;
        a->o.volumes = a->volumes.v;
        a->o.tmpfs = a->tmpfs.v;
        a->o.cap_add = a->cap_add.v;
        a->o.cap_drop = a->cap_drop.v;
        a->o.ports = a->ports.v;
        a->o.ulimits = a->ulimits.v;
        a->o.pull = a->pull.opts;
}

int cli_cmd_sandbox(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"rootfs", required_argument, NULL, OPT_ROOTFS},
                {"image", required_argument, NULL, OPT_IMAGE},
                {"image-cache", required_argument, NULL, OPT_IMAGE_CACHE},
                {"upper", required_argument, NULL, OPT_UPPER},
                {"read-only", no_argument, NULL, OPT_READ_ONLY},
                {"commit", required_argument, NULL, OPT_COMMIT},
                {"env", required_argument, NULL, 'e'},
                {"env-file", required_argument, NULL, OPT_ENV_FILE},
                {"workdir", required_argument, NULL, 'w'},
                {"user", required_argument, NULL, 'u'},
                {"hostname", required_argument, NULL, OPT_HOSTNAME},
                {"tty", no_argument, NULL, 't'},
                {"interactive", no_argument, NULL, 'i'},
                {"volume", required_argument, NULL, 'v'},
                {"tmpfs", required_argument, NULL, OPT_TMPFS},
                {"cap-add", required_argument, NULL, OPT_CAP_ADD},
                {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
                {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
                {"net", required_argument, NULL, OPT_NET},
                {"network", required_argument, NULL, OPT_NET},
                {"publish", required_argument, NULL, 'p'},
                {"memory", required_argument, NULL, 'm'},
                {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
                {"cpus", required_argument, NULL, OPT_CPUS},
                {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
                {"io-weight", required_argument, NULL, OPT_IO_WEIGHT},
                {"ulimit", required_argument, NULL, OPT_ULIMIT},
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"name", required_argument, NULL, OPT_NAME},
                {"report", required_argument, NULL, OPT_REPORT},
                {"no-gc", no_argument, NULL, OPT_NO_GC},
                {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
                {"init", no_argument, NULL, OPT_INIT},
                {"no-init", no_argument, NULL, OPT_NO_INIT},
                CLI_PULL_LONGOPTS,
                {"upper-size", required_argument, NULL, OPT_UPPER_SIZE},
                {"unlimited-tmpfs", no_argument, NULL, OPT_UNLIMITED_TMPFS},
                {"commit-on-failure", no_argument, NULL, OPT_COMMIT_ON_FAILURE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        __attribute__((cleanup(sandbox_args_clear))) struct sandbox_args a = {0};
        struct rc_sandbox_report report = {0};
        int opt, status = 0;

        a.o.stop_timeout_ms = RC_SANDBOX_STOP_TIMEOUT_MS;
        cli_pull_init(&a.pull);
        /* "+": options end at the command, whose own options are its business */
        while ((opt = cli_getopt(argc, argv, "+:he:w:u:tiv:p:m:", longopts, "sandbox", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_sandbox);
                if (opt == -2 || option(&a, opt, optarg, err) < 0)
                        return failed(ctx, err);
        }
        finish_lists(&a);
        a.o.args = argv + optind;
        ctx->rt.async_link_delete = true;
        if (rc_sandbox_run(&ctx->rt, &a.o, &status, &report, err) < 0)
                status = failed(ctx, err);
        write_report(ctx, a.report, &report);
        rc_sandbox_report_clear(&report);
        return status < 0 || status > 255 ? 255 : status;
}
