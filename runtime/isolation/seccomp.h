/* seccomp: linux.seccomp compiled to classic BPF in the runtime, loaded by the init.
 *
 *   runtime (parent)                          container init (child)
 *   rc_seccomp_prepare: libseccomp builds     ...setup...
 *   the filter once, exports the BPF; for     rc_seccomp_load: seccomp(2) with the stored
 *   SCMP_ACT_NOTIFY it also connects to       program and flags, as the last step before
 *   listenerPath (unreachable after           execve (or before the capability drop when
 *   pivot_root)                               noNewPrivileges is false, as runc does:
 *                                             runtime/isolation/preexec.h); with
 *   clone3 ---------------------------------> a listener, the notify fd and the container
 *                                             process state go to the agent over SCM_RIGHTS.
 *                                             A profile that allows all the init does after
 *                                             its setup (rc_seccomp_allows_init_tail) is
 *                                             loaded before the wait for `start` instead.
 *
 * The init never calls into libseccomp: it only needs the program in memory (the clone
 * copies the parent's memory) and the seccomp(2) syscall. */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

struct rc_seccomp_prog {
        struct sock_filter *insns; /* NULL: no filter */
        size_t n_insns;
        unsigned flags; /* SECCOMP_FILTER_FLAG_* passed to seccomp(2), incl. NEW_LISTENER */
        int agent_fd; /* connected to listenerPath, or -1 */
        char *metadata; /* listenerMetadata or NULL */
};

#define RC_SECCOMP_PROG_INIT                                                                                \
        {                                                                                                   \
                .agent_fd = -1                                                                              \
        }

/* Build the filter of `s` (which must be present) into `ret`: defaultAction and
 * defaultErrnoRet, architectures (the native one is always included), flags, each rule
 * with its conditions. Names this architecture does not know are skipped with a debug
 * log; a rule whose action is the default one is redundant and skipped too. When any
 * condition list tests the same argument twice, each condition becomes its own rule
 * (libseccomp rejects two in one rule), as runc does. clone3 returns ENOSYS unless the
 * profile names it or allows everything, so that glibc falls back to clone, whose flags
 * a filter can inspect. Does not connect to the listener. */
int rc_seccomp_compile(const struct oci_seccomp *s, const struct rc_logger *log, struct rc_seccomp_prog *ret,
                       rc_error_t *err);

/* The same, through the cache of compiled filters under the state root `cache_root`
 * (runtime/isolation/seccomp_cache.h); NULL: no cache. */
int rc_seccomp_compile_cached(const struct oci_seccomp *s, const char *cache_root,
                              const struct rc_logger *log, struct rc_seccomp_prog *ret, rc_error_t *err);

/* The key rc_seccomp_compile_cached looks `s` up with (runtime/isolation/seccomp_cache.h). */
int rc_seccomp_key(const struct oci_seccomp *s, char **ret, size_t *ret_len, rc_error_t *err);

/* rc_seccomp_compile_cached plus, when the filter notifies, the connection to
 * listenerPath. When linux.seccomp is absent, `ret` stays empty (no filter) and 0 is
 * returned. */
int rc_seccomp_prepare(const struct oci_seccomp *s, const char *cache_root, const struct rc_logger *log,
                       struct rc_seccomp_prog *ret, rc_error_t *err);

/* Free the program and close the agent socket; leaves `p` empty (RC_SECCOMP_PROG_INIT). */
void rc_seccomp_prog_clear(struct rc_seccomp_prog *p);

/* Whether a noNewPrivileges filter of `s` can be loaded before the init waits for
 * `start`: every syscall the init still makes after that point (READY, the exec fifo, a
 * late chdir or executable lookup, execve: runtime/isolation/seccomp.c's init_tail) is allowed by
 * it without conditions, and it has no listener (whose agent must hear from a started
 * container).
 * Then loading it overlaps with the runtime's own work instead of delaying the execve.
 * Profiles that restrict any of those (or test their arguments) load as late as before. */
bool rc_seccomp_allows_init_tail(const struct oci_seccomp *s);

/* In the init: install the filter with seccomp(2). Loading needs no_new_privs or
 * CAP_SYS_ADMIN. With a listener, send the notify fd and the container process state
 * (built from `state_json`, the state the hooks saw, with status "running") to the
 * agent, then close both. NULL or a program without instructions is a no-op. */
int rc_seccomp_load(struct rc_seccomp_prog *p, const char *state_json, size_t state_len, rc_error_t *err);

/* The runtime-spec "containerProcessState" document sent with the notify fd:
 * {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}; `state_json` is a
 * state document whose status is replaced by "running". Exposed for the unit tests. */
int rc_seccomp_process_state(const char *metadata, const char *state_json, size_t state_len, char **ret,
                             size_t *ret_len, rc_error_t *err);

/* Send `listener_fd` with `doc` over the stream socket `agent_fd` (SCM_RIGHTS). */
int rc_seccomp_send_listener(int agent_fd, int listener_fd, const char *doc, size_t len, rc_error_t *err);
