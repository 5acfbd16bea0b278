/* The steps a container process goes through before execve: written once, for the
 * container init and for `exec` alike. It knows nothing of the container's lifecycle:
 * it takes the process, the compiled seccomp program, the number of preserved fds and
 * the logger, and the caller's `gate` for what must happen between the last step that
 * can fail and execve (the init reports READY, waits for `start`, runs startContainer
 * hooks there; exec drops its parent-death signal).
 *
 *   1. before any filter         LSM labels, HOME (the container's passwd, or "/"),
 *      (everything that can      chdir to cwd as root (+ the CVE-2024-21626 check),
 *      fail, nothing denied)     executable lookup, /proc/self/setgroups, capability
 *                                plan (warnings), stdio ownership, fds >= 3+N
 *                                close-on-exec, umask, the parent-death signal
 *   2. without noNewPrivileges   seccomp load (needs CAP_SYS_ADMIN: before the drop)
 *   3. the credentials           bounding set + KEEPCAPS, setgroups, setresgid,
 *                                setresuid, capset, ambient, parent-death signal
 *                                restored (the uid change clears it), no_new_privs
 *   4. noNewPrivileges + early   seccomp load (a filter that allows the rest, see
 *                                rc_seccomp_allows_init_tail)
 *   5. late fallbacks            chdir again as the user when root was refused
 *                                (EACCES/EPERM, e.g. a root-squashed or userns-owned
 *                                0700 directory), then the executable lookup (with
 *                                lookup_late both come after the gate, and any
 *                                chdir failure of root is retried there)
 *   6. gate                      the caller's
 *   7. noNewPrivileges           seccomp load
 *   8.                           execve; with an init, in a child, and the caller's
 *                                process stays as its small init
 *                                (runtime/isolation/reaper.h)
 *
 * After the filter only credential calls (prctl, capset, setgroups, setresgid,
 * setresuid), the gate and execve remain. The preserved range 3..3+N-1 is left as the
 * caller passed it: an fd there is the caller's exactly when it is not close-on-exec
 * (inherited through execve), so an internal fd that landed in a hole the caller left
 * is closed by execve and never reaches the container. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "runtime/isolation/reaper.h"
#include "runtime/isolation/seccomp.h"
#include "specs/config.h"

struct rc_preexec {
        const struct oci_process *proc;
        struct rc_seccomp_prog *seccomp; /* compiled filter or NULL; consumed by the load */
        const char *state_json; /* for a listener's agent (rc_seccomp_load) */
        size_t state_len;
        unsigned preserve_fds; /* fds 3 .. 3+N-1 stay as the caller passed them */
        const struct rc_logger *log;
        bool seccomp_early; /* noNewPrivileges: load before the gate (step 4) */
        /* look the executable up, and enter a cwd that root could not, after the gate
         * (sandbox: 127/126 when the process starts, not at create) */
        bool lookup_late;
        int (*gate)(void *arg, rc_error_t *err); /* NULL: none */
        void *gate_arg;
        const struct rc_reaper *init; /* NULL, or the process runs under a small init */
};

/* Run the steps and execve; returns (-1, err set) only on failure. */
int rc_preexec_run(const struct rc_preexec *x, rc_error_t *err);

/* The home directory of `uid` in a passwd file's text (the first matching entry), or
 * NULL when no entry names it. Exposed for the unit tests. */
char *rc_passwd_home(const char *data, size_t len, uid_t uid);

/* `env` with "HOME=<home>" appended when it has no HOME (a new array borrowing the
 * strings of env; *ret_home holds the new string), else env itself with *ret_home NULL.
 * Returns -1 on ENOMEM. */
int rc_env_with_home(char *const *env, const char *home, char ***ret_env, char **ret_home);
