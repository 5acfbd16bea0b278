/* Helpers shared by the commands: option errors, argument counts, paths, output. */
#include "cli/cli.h"
#include "runtime/container/notify.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"

#define PROGRAM "run-container"

static int option_error(const char *what, const char *name, size_t name_len, const char *cmd,
                        rc_error_t *err)
{
        return rc_error_set(err, 0, "%s \"%.*s\" (see \"" PROGRAM "%s%s --help\")", what, (int)name_len,
                            name, cmd ? " " : "", cmd ? cmd : "");
}

/* Go-style booleans (runc is built on Go's flag parsing): "--detach=true" is "--detach",
 * "--tty=false" is as if the flag were absent. getopt sees every flag without a value as
 * taking an optional one, which only "--flag=VALUE" can give. */
#define MAX_LONGOPTS 64

static const struct option *bool_longopts(const struct option *longopts)
{
        static const struct option *src;
        static struct option copy[MAX_LONGOPTS + 1];
        size_t n = 0;

        if (longopts == NULL || longopts == src)
                return longopts == NULL ? NULL : copy;
        for (; longopts[n].name != NULL; n++)
                if (n == MAX_LONGOPTS)
                        return longopts; /* too many to copy: no Go-style values */
        memcpy(copy, longopts, sizeof(*copy) * (n + 1));
        for (size_t i = 0; i < n; i++)
                if (copy[i].has_arg == no_argument)
                        copy[i].has_arg = optional_argument;
        src = longopts;
        return copy;
}

/* 1: true, 0: false, -1: not a boolean (Go's strconv.ParseBool words). */
static int parse_go_bool(const char *v)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcmp(v, yes[i]) == 0)
                        return 1;
                if (strcmp(v, no[i]) == 0)
                        return 0;
        }
        return -1;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd,
               rc_error_t *err)
{
        const struct option *opts = bool_longopts(longopts);
        const char *arg;
        char shortname[3];
        int c, index;

        opterr = 0;
        for (;;) {
                index = -1;
                c = getopt_long(argc, argv, shortopts, opts, &index);
                if (index < 0 || opts == longopts || longopts[index].has_arg != no_argument ||
                    optarg == NULL)
                        break;
                switch (parse_go_bool(optarg)) {
                case 1:
                        optarg = NULL;
                        return c;
                case 0:
                        continue; /* --flag=false: not given */
                default:
                        return rc_error_set(
                                       err, 0,
                                       "invalid boolean value \"%s\" for option \"--%s\" (see \"" PROGRAM
                                       "%s%s --help\")",
                                       optarg, longopts[index].name, cmd ? " " : "", cmd ? cmd : ""),
                               -2;
                }
        }
        if (c != '?' && c != ':')
                return c;

        /* getopt_long always steps past a long option; a short one may sit in a group. */
        arg = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
        if (arg != NULL && strncmp(arg, "--", 2) == 0) {
                const char *eq = strchr(arg, '=');
                size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

                if (c == ':')
                        return option_error("missing value for option", arg, len, cmd, err), -2;
                if (optopt != 0 && eq != NULL)
                        return option_error("no value allowed for option", arg, len, cmd, err), -2;
                return option_error("unknown option", arg, len, cmd, err), -2;
        }
        shortname[0] = '-';
        shortname[1] = (char)optopt;
        shortname[2] = '\0';
        if (c == ':')
                return option_error("missing value for option", shortname, 2, cmd, err), -2;
        return option_error("unknown option", shortname, 2, cmd, err), -2;
}

const char *cli_notify_socket(void)
{
        const char *v = getenv(RC_NOTIFY_ENV);

        return v != NULL && v[0] != '\0' ? v : NULL;
}

int cli_parse_slow_paths(const char *value, unsigned *ret, rc_error_t *err)
{
        static const struct {
                const char *name;
                unsigned bit;
        } paths[] = {
                {"netns", RC_SLOW_NETNS},     {"hooks", RC_SLOW_HOOKS},     {"seccomp", RC_SLOW_SECCOMP},
                {"created", RC_SLOW_CREATED}, {"protect", RC_SLOW_PROTECT}, {"setup", RC_SLOW_SETUP},
                {"release", RC_SLOW_RELEASE}, {"exec", RC_SLOW_EXEC},       {"recorded", RC_SLOW_RECORDED},
        };
        unsigned bits = 0;
        size_t len, i;

        for (const char *p = value; p != NULL && *p != '\0'; p += len + (p[len] == ',')) {
                len = strcspn(p, ",");
                if (len == 3 && strncmp(p, "all", 3) == 0) {
                        for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                                bits |= paths[i].bit;
                        continue;
                }
                for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                        if (strlen(paths[i].name) == len && strncmp(p, paths[i].name, len) == 0)
                                break;
                if (i == sizeof(paths) / sizeof(paths[0]))
                        return rc_error_set(err, EINVAL,
                                            CLI_SLOW_PATHS_ENV ": unknown start-up path \"%.*s\" (netns, "
                                                               "hooks, seccomp, created, protect, setup, "
                                                               "release, exec, recorded or all, separated "
                                                               "by commas)",
                                            (int)len, p);
                bits |= paths[i].bit;
        }
        *ret = bits;
        return 0;
}

int cli_check_args(const char *cmd, int nargs, int min, int max, rc_error_t *err)
{
        if (min == max && nargs != min)
                return rc_error_set(err, 0, "\"%s\" requires exactly %d argument%s", cmd, min,
                                    min == 1 ? "" : "s");
        if (nargs < min)
                return rc_error_set(err, 0, "\"%s\" requires a minimum of %d argument%s", cmd, min,
                                    min == 1 ? "" : "s");
        if (max >= 0 && nargs > max)
                return rc_error_set(err, 0, "\"%s\" requires a maximum of %d argument%s", cmd, max,
                                    max == 1 ? "" : "s");
        return 0;
}

int cli_print_usage(const char *usage)
{
        fputs(usage, stdout);
        return 0;
}

int cli_parse_uint(const char *s, unsigned max, unsigned *ret)
{
        unsigned long v;
        char *end;

        if (s == NULL || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -1;
        *ret = (unsigned)v;
        return 0;
}

char *cli_path_clean(const char *path)
{
        size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
        bool rooted = path[0] == '/';
        char *out = malloc(n + 2);

        if (out == NULL)
                return NULL;
        if (rooted) {
                out[w++] = '/';
                r = dotdot = 1;
        }
        /* w: end of the output; dotdot: where ".." can no longer backtrack */
        while (r < n) {
                if (path[r] == '/') {
                        r++;
                } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
                        r++;
                } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if ((rooted && w != 1) || (!rooted && w != 0))
                                out[w++] = '/';
                        while (r < n && path[r] != '/')
                                out[w++] = path[r++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

int cli_path_absolute(const char *path, char **ret, rc_error_t *err)
{
        _cleanup_free_ char *cwd = NULL, *joined = NULL;
        char *clean;

        if (path[0] == '/') {
                clean = cli_path_clean(path);
        } else {
                cwd = getcwd(NULL, 0);
                if (cwd == NULL)
                        return rc_error_set(err, errno, "get the current directory");
                if (asprintf(&joined, "%s/%s", cwd, path) < 0) {
                        joined = NULL;
                        return rc_error_set(err, ENOMEM, "make `%s` absolute", path);
                }
                clean = cli_path_clean(joined);
        }
        if (clean == NULL)
                return rc_error_set(err, ENOMEM, "make `%s` absolute", path);
        *ret = clean;
        return 0;
}

char *cli_owner_name(uid_t uid)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        char *name = NULL;

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
                return strdup(res->pw_name);
        if (asprintf(&name, "#%u", (unsigned)uid) < 0)
                return NULL;
        return name;
}

int cli_table_print(FILE *out, const char *const *cells, size_t rows, size_t cols)
{
        _cleanup_free_ size_t *width = calloc(cols ? cols : 1, sizeof(*width));

        if (width == NULL)
                return -1;
        for (size_t c = 0; c + 1 < cols; c++) {
                size_t w = 0;

                for (size_t r = 0; r < rows; r++) {
                        size_t n = strlen(cells[r * cols + c]);

                        if (n > w)
                                w = n;
                }
                width[c] = w + 3 < 12 ? 12 : w + 3;
        }
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < cols; c++) {
                        const char *cell = cells[r * cols + c];

                        if (c + 1 < cols) {
                                if (fprintf(out, "%-*s", (int)width[c], cell) < 0)
                                        return -1;
                        } else if (fprintf(out, "%s\n", cell) < 0) {
                                return -1;
                        }
                }
        }
        return 0;
}
