/* run-container update [OPTIONS] ID: change the cgroup limits of a running container,
 * with runc's flags and/or -r FILE (a linux.resources JSON document, "-" for stdin).
 * Flags given together with -r override the file's values. */
#include "cli/cli.h"
#include "cli_help.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"

enum {
        OPT_MEMORY = 256,
        OPT_MEMORY_SWAP,
        OPT_MEMORY_RESERVATION,
        OPT_CPU_SHARES,
        OPT_CPU_QUOTA,
        OPT_CPU_PERIOD,
        OPT_CPUSET_CPUS,
        OPT_CPUSET_MEMS,
        OPT_PIDS_LIMIT,
        OPT_BLKIO_WEIGHT,
};

static int parse_i64(const char *s, int64_t *ret)
{
        char *end;

        errno = 0;
        *ret = strtoll(s, &end, 10);
        return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;

        if (!isdigit((unsigned char)s[0]))
                return -1;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno != 0 || *end != '\0' ? -1 : 0;
}

static int load_file(const char *path, struct oci_resources **ret, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        bool std_in = strcmp(path, "-") == 0;
        int r;

        /* stdin is read as it is, to its end: a pipe or a socket cannot be reopened through
         * /dev/stdin (a socket gives ENXIO) */
        if (std_in)
                r = rc_read_fd(STDIN_FILENO, "stdin", JSON_MAX_INPUT, &data, &len, err);
        else
                r = rc_read_file_at(AT_FDCWD, path, JSON_MAX_INPUT, &data, &len, err);
        if (r < 0)
                return -1;
        return oci_resources_parse(data, len, std_in ? "stdin" : path, ret, err);
}

static int set_string(char **dst, const char *v, rc_error_t *err)
{
        free(*dst);
        *dst = strdup(v);
        return *dst == NULL ? rc_error_set(err, ENOMEM, "update") : 0;
}

static int opt_bytes(struct oci_opt_i64 *o, const char *flag, const char *arg, rc_error_t *err)
{
        o->set = true;
        return cli_parse_bytes(flag, arg, CLI_VALUE_UNLIMITED, &o->v, err);
}

static int opt_i64(struct oci_opt_i64 *o, const char *arg)
{
        o->set = true;
        return parse_i64(arg, &o->v);
}

static int opt_u64(struct oci_opt_u64 *o, const char *arg)
{
        o->set = true;
        return parse_u64(arg, &o->v);
}

/* The pids limit as runc takes it: 0 means "not set", -1 (any negative) unlimited. */
static int opt_pids(struct oci_resources *r, const char *arg)
{
        if (parse_i64(arg, &r->pids_limit) < 0)
                return -1;
        r->has_pids = r->pids_limit != 0;
        return 0;
}

static int opt_blkio_weight(struct oci_blockio *b, const char *arg)
{
        return opt_u64(&b->weight, arg) < 0 || b->weight.v < 10 || b->weight.v > 1000 ? -1 : 0;
}

/* One flag (--`name`) onto r; -1 with *err on a bad value. */
static int apply_flag(struct oci_resources *r, int opt, const char *name, const char *arg, rc_error_t *err)
{
        char flag[64];
        int bad = 0;

        r->has_memory |= opt == OPT_MEMORY || opt == OPT_MEMORY_SWAP || opt == OPT_MEMORY_RESERVATION;
        r->has_cpu |= opt >= OPT_CPU_SHARES && opt <= OPT_CPUSET_MEMS;
        r->has_blockio |= opt == OPT_BLKIO_WEIGHT;
        snprintf(flag, sizeof(flag), "--%s", name);
        switch (opt) {
        case OPT_MEMORY:
                return opt_bytes(&r->memory.limit, flag, arg, err);
        case OPT_MEMORY_SWAP:
                return opt_bytes(&r->memory.swap, flag, arg, err);
        case OPT_MEMORY_RESERVATION:
                return opt_bytes(&r->memory.reservation, flag, arg, err);
        case OPT_CPU_SHARES:
                bad = opt_u64(&r->cpu.shares, arg);
                break;
        case OPT_CPU_QUOTA:
                bad = opt_i64(&r->cpu.quota, arg);
                break;
        case OPT_CPU_PERIOD:
                bad = opt_u64(&r->cpu.period, arg);
                break;
        case OPT_CPUSET_CPUS:
                return set_string(&r->cpu.cpus, arg, err);
        case OPT_CPUSET_MEMS:
                return set_string(&r->cpu.mems, arg, err);
        case OPT_PIDS_LIMIT:
                bad = opt_pids(r, arg);
                break;
        case OPT_BLKIO_WEIGHT:
                bad = opt_blkio_weight(&r->blockio, arg);
                break;
        }
        if (bad)
                return rc_error_set(err, 0, "invalid value \"%s\" for %s", arg, flag);
        return 0;
}

/* The first long name of option `opt` (--cpu-share is reported as --cpu-shares). */
static const char *flag_name(const struct option *o, int opt)
{
        for (; o->name != NULL; o++)
                if (o->val == opt)
                        return o->name;
        return "?";
}

struct flag {
        int opt;
        const char *name, *arg;
};

int cli_cmd_update(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"resources", required_argument, NULL, 'r'},
                {"memory", required_argument, NULL, OPT_MEMORY},
                {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
                {"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
                {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
                {"cpu-share", required_argument, NULL, OPT_CPU_SHARES},
                {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
                {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
                {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
                {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
                {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
                {"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct flag flags[32];
        size_t n_flags = 0;
        struct oci_resources *r = NULL;
        const char *file = NULL, *id;
        int opt, ret = -1;

        while ((opt = cli_getopt(argc, argv, ":r:h", longopts, "update", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_update);
                if (opt == 'r')
                        file = optarg;
                else if (opt >= OPT_MEMORY && n_flags < sizeof(flags) / sizeof(flags[0]))
                        flags[n_flags++] = (struct flag){opt, flag_name(longopts, opt), optarg};
                else
                        return opt < 0 ? -1 : rc_error_set(err, 0, "update: too many options");
        }
        if (cli_check_args("update", argc - optind, 1, 1, err) < 0)
                return -1;
        id = argv[optind];
        if (rc_validate_id(id, err) < 0)
                return -1;
        if (file != NULL && load_file(file, &r, err) < 0)
                return -1;
        if (r == NULL && (r = calloc(1, sizeof(*r))) == NULL)
                return rc_error_set(err, ENOMEM, "update");
        r->present = true;
        for (size_t i = 0; i < n_flags; i++)
                if (apply_flag(r, flags[i].opt, flags[i].name, flags[i].arg, err) < 0)
                        goto out;
        if (file == NULL && n_flags == 0) {
                rc_error_set(err, 0, "update: nothing to change (pass -r FILE or a limit option)");
                goto out;
        }
        ret = rc_container_update(&ctx->rt, id, r, err) < 0 ? -1 : 0;
out:
        oci_resources_free(r);
        return ret;
}
