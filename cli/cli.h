/* The command-line front end: global options, one file per command, and the log sink.
 *
 * main.c parses the global options into a struct cli_context (no globals), opens the
 * log and dispatches to a command. A command returns its exit status (>= 0) or -1 with
 * *err set; main.c prints that error once, to stderr and to the --log file. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/container/container.h"
#include "runtime/image/image.h"
#include "specs/json.h"
#include "specs/state.h"

/* ---- log sink (cli/log.c) ----------------------------------------------------- */

enum cli_log_format { CLI_LOG_TEXT, CLI_LOG_JSON };

struct cli_log {
        int fd; /* the --log file, or -1 for stderr */
        enum cli_log_format format;
};

/* Open `path` for appending (NULL: log to stderr). */
int cli_log_open(struct cli_log *l, const char *path, enum cli_log_format format, rc_error_t *err);
void cli_log_close(struct cli_log *l);
/* Write one line: logrus text (time="..." level=... msg="...") or one JSON object. */
void cli_log_write(const struct cli_log *l, enum rc_log_level level, const char *msg);
/* The struct rc_logger callback; data is a struct cli_log. */
void cli_log_sink(void *data, enum rc_log_level level, const char *msg);

/* Pure formatting, exposed for the unit tests. The line ends with '\n'. */
int cli_log_format_line(enum cli_log_format format, enum rc_log_level level, const char *msg,
                        const struct timespec *ts, char **ret, rc_error_t *err);

/* ---- context ------------------------------------------------------------------- */

enum cli_cgroup_manager { CLI_CGROUP_CGROUPFS, CLI_CGROUP_SYSTEMD, CLI_CGROUP_DISABLED };

struct cli_context {
        const char *root; /* --root, NULL: the runtime's default (rc_default_state_root) */
        const char *log_path; /* --log, NULL if not given */
        struct cli_log log;
        struct rc_runtime rt; /* root + logger, what the library calls take */
        bool debug;
        enum rc_log_level log_level;
        enum cli_cgroup_manager cgroup_manager;
        bool systemd_cgroup; /* --systemd-cgroup (also sets cgroup_manager) */
        const char *rootless; /* --rootless[=true|false|auto]: accepted, ignored */
        int error_status; /* the exit status when the command fails; 0: 1 */
};

/* ---- commands ------------------------------------------------------------------ */

/* argv[0] is the command name; options are parsed from argv[1] on. */
typedef int (*cli_command_fn)(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);

int cli_cmd_create(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_start(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_run(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_state(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_kill(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_delete(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_list(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_spec(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_features(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_update(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_pause(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_resume(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_ps(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_events(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_network(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_exec(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_image(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_sandbox(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_gc(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_checkpoint(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_restore(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_migrate(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);
int cli_cmd_migrate_receive(struct cli_context *ctx, int argc, char **argv, rc_error_t *err);

/* ---- shared by create and run (cli/cmd_create.c) -------------------------------- */

/* Values for long-only options (beyond any char). */
enum {
        CLI_OPT_PID_FILE = 256,
        CLI_OPT_CONSOLE_SOCKET,
        CLI_OPT_PRESERVE_FDS,
        CLI_OPT_NO_PIVOT,
        CLI_OPT_NO_NEW_KEYRING,
        CLI_OPT_KEEP,
        CLI_OPT_ROOTLESS,
};

#define CLI_CREATE_SHORTOPTS "b:f:"
/* clang-format off */
#define CLI_CREATE_LONGOPTS                                                     \
        {"bundle", required_argument, NULL, 'b'},                               \
        {"pid-file", required_argument, NULL, CLI_OPT_PID_FILE},                \
        {"console-socket", required_argument, NULL, CLI_OPT_CONSOLE_SOCKET},    \
        {"preserve-fds", required_argument, NULL, CLI_OPT_PRESERVE_FDS},        \
        {"no-pivot", no_argument, NULL, CLI_OPT_NO_PIVOT},                      \
        {"no-new-keyring", no_argument, NULL, CLI_OPT_NO_NEW_KEYRING},          \
        {"config", required_argument, NULL, 'f'}
/* clang-format on */
/* The paths are owned here and made absolute by cli_create_args_finish. */
struct cli_create_args {
        struct rc_create_opts opts;
        char *bundle, *config, *pid_file, *console_socket;
};

/* Returns 1 if `opt` was a create option (consumed), 0 if not, -1 on a bad value. */
int cli_create_args_handle(struct cli_create_args *a, int opt, const char *arg, rc_error_t *err);
int cli_create_args_finish(struct cli_create_args *a, rc_error_t *err);
void cli_create_args_clear(struct cli_create_args *a);

/* ---- pulls from a registry (cli/pull.c), for image pull and sandbox ---------------- */

enum { CLI_OPT_CREDS = 900, CLI_OPT_AUTHFILE, CLI_OPT_TLS_VERIFY, CLI_OPT_REGISTRIES_CONF };
/* clang-format off */
#define CLI_PULL_LONGOPTS                                                       \
        {"creds", required_argument, NULL, CLI_OPT_CREDS},                      \
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                \
        {"tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY},            \
        {"registries-conf", required_argument, NULL, CLI_OPT_REGISTRIES_CONF}
/* clang-format on */
/* The pull options, and the progress line's state (shown when stderr is a terminal). */
struct cli_pull {
        struct rc_pull_opts opts;
        char digest[80];
        int pct;
};
void cli_pull_init(struct cli_pull *p);
/* 1 when `opt` was a pull option (consumed), 0 when not, -1 on a bad value. */
int cli_pull_option(struct cli_pull *p, int opt, const char *arg, rc_error_t *err);

/* ---- shared by checkpoint and restore (cli/cmd_checkpoint.c) -------------------- */

enum {
        CLI_OPT_IMAGE_PATH = 600,
        CLI_OPT_WORK_PATH,
        CLI_OPT_TCP_ESTABLISHED,
        CLI_OPT_EXT_UNIX_SK,
        CLI_OPT_SHELL_JOB,
        CLI_OPT_FILE_LOCKS,
        CLI_OPT_MANAGE_CGROUPS_MODE,
        CLI_OPT_LAZY_PAGES,
        CLI_OPT_EMPTY_NS,
};

/* clang-format off */
#define CLI_CRIU_LONGOPTS                                                                 \
        {"image-path", required_argument, NULL, CLI_OPT_IMAGE_PATH},                      \
        {"work-path", required_argument, NULL, CLI_OPT_WORK_PATH},                        \
        {"tcp-established", no_argument, NULL, CLI_OPT_TCP_ESTABLISHED},                  \
        {"ext-unix-sk", no_argument, NULL, CLI_OPT_EXT_UNIX_SK},                          \
        {"shell-job", no_argument, NULL, CLI_OPT_SHELL_JOB},                              \
        {"file-locks", no_argument, NULL, CLI_OPT_FILE_LOCKS},                            \
        {"manage-cgroups-mode", required_argument, NULL, CLI_OPT_MANAGE_CGROUPS_MODE},    \
        {"lazy-pages", no_argument, NULL, CLI_OPT_LAZY_PAGES},                            \
        {"empty-ns", required_argument, NULL, CLI_OPT_EMPTY_NS}
/* clang-format on */
struct cli_criu_args {
        struct rc_criu_opts opts;
        char *image_path, *work_path;
};

/* As cli_create_args_*: 1 consumed, 0 not a CRIU option, -1 bad value. */
int cli_criu_args_handle(struct cli_criu_args *a, int opt, const char *arg, rc_error_t *err);
int cli_criu_args_finish(struct cli_criu_args *a, rc_error_t *err);
void cli_criu_args_clear(struct cli_criu_args *a);

/* Emit one container as runc's `state`/`list` object (cli/cmd_state.c): ociVersion,
 * id, pid, status, bundle, rootfs, created, annotations when there are some, owner. */
void cli_state_gen(json_gen *g, const struct oci_state *s);

/* ---- helpers (cli/util.c) -------------------------------------------------------- */

/* getopt_long with our messages. `shortopts` starts with ':' (missing values reported
 * apart from unknown options). Commands let getopt permute, so options may follow the
 * id as runc (urfave/cli) allows; "+:" stops at the first argument, for the global
 * options, which end at the command name. `cmd` names the command for the "--help"
 * hint (NULL: the global options). Reset optind to 0 before the first call. Returns
 * the option, -1 at the end, or -2 with *err set. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd,
               rc_error_t *err);

/* "<cmd> requires exactly 1 argument" and friends; max < 0: no maximum. */
int cli_check_args(const char *cmd, int nargs, int min, int max, rc_error_t *err);

/* The caller's NOTIFY_SOCKET for create, run and start (runtime/container/notify.h); NULL if unset
 * or empty. */
const char *cli_notify_socket(void);

/* For tests only: the start-up fast paths to force onto their slow path (enum
 * rc_slow_path, runtime/context.h), a comma-separated list of netns, hooks, seccomp,
 * created, protect, setup, release, exec or all. main() reads it once from this variable. */
#define CLI_SLOW_PATHS_ENV "RC_TEST_SLOW_PATHS"

/* Parse its value (NULL or "": none) into *ret; an unknown word is an error naming it. */
int cli_parse_slow_paths(const char *value, unsigned *ret, rc_error_t *err);

/* Print `usage` to stdout; returns 0 (the exit status of --help). */
int cli_print_usage(const char *usage);

/* Strict decimal unsigned, no sign, no trailing junk, <= max. */
int cli_parse_uint(const char *s, unsigned max, unsigned *ret);

/* ---- values (cli/grammar.c): one parser per kind, errors name the flag ----------- */

enum {
        CLI_VALUE_NONZERO = 1 << 0, /* 0 is refused */
        CLI_VALUE_UNLIMITED = 1 << 1, /* "-1" is accepted, as -1 */
};

/* A byte size as docker and runc take it: "1048576", "512k", "64kb", "2GiB", "1.5g",
 * "1 TB": k, m, g, t, p are powers of 1024, any case, optionally followed by i, b or ib;
 * fractions of a byte are dropped. */
int cli_parse_bytes(const char *flag, const char *s, unsigned flags, int64_t *ret, rc_error_t *err);
/* A duration in milliseconds (at most INT_MAX): a number of seconds ("30", "1.5") or Go's
 * form, numbers with units ms, s, m, h in any sequence ("500ms", "1m30s", "2h"). */
int cli_parse_duration(const char *flag, const char *s, unsigned flags, unsigned *ret_ms, rc_error_t *err);
/* A number of CPUs as docker's --cpus ("1.5", "0.25", at most 1000) as the cpu.max quota
 * for `period` microseconds: 1.5 CPUs of 100000 are 150000. */
int cli_parse_cpus(const char *flag, const char *s, uint64_t period, uint64_t *ret_quota, rc_error_t *err);

/* Lexical cleanup as Go's filepath.Clean: collapse "//", "." and "..". */
char *cli_path_clean(const char *path);
/* Absolute, cleaned path: relative ones are taken from the current directory. */
int cli_path_absolute(const char *path, char **ret, rc_error_t *err);

/* crun's --regex: call fn for every container whose id matches the extended regular
 * expression `pattern` (anywhere in the id, as regexec); a failure is a warning, not the
 * command's error. Fails only for a bad pattern or an unreadable state root. */
typedef int (*cli_id_fn)(struct cli_context *ctx, const char *id, void *arg, rc_error_t *err);
int cli_for_each_match(struct cli_context *ctx, const char *pattern, cli_id_fn fn, void *arg,
                       rc_error_t *err);

/* The owner column/property as runc shows it: user name, or "#<uid>" if unknown. */
char *cli_owner_name(uid_t uid);

/* Pad cells so columns line up as runc's tabwriter (minwidth 12, padding 3); the last
 * column is not padded. cells holds rows * cols strings, row-major. */
int cli_table_print(FILE *out, const char *const *cells, size_t rows, size_t cols);
