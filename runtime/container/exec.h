/* exec: run a new process inside a running container.
 *
 *   runtime (exec)                      process (rc:exec)
 *   state must be "running" (or paused with ignore_paused); pidfd of
 *   the init (checked against its start
 *   time); fd of /proc/<init>/root
 *   block signals (foreground)
 *   setns(pidfd, CLONE_NEWPID): children
 *   in the init's pid namespace;
 *   non-dumpable (copied to the child)
 *   clone3 into the container's cgroup --> rlimits, oom score, scheduler, io
 *   setns back to our own pid namespace   priority (host privileges); setns(pidfd,
 *                                         every other namespace of the init that
 *                                         is not ours: the kernel joins user
 *                                         first, all at once); chroot to the
 *                                         init's root; pty on its /dev/pts,
 *                                         master to the console socket; labels,
 *                                         caps, user, no_new_privs, seccomp, cwd;
 *                                         execve
 *                           <------------ ERROR(errno, msg), or EOF: the sync fd is
 *                                         close-on-exec
 *   --pid-file; detach: return. Else relay the terminal (when no console socket was given),
 *   forward signals, wait, pass the exit status on. In the foreground without a pid file
 *   or a relayed terminal the runtime does not wait for the EOF first: it goes straight to
 *   the wait for the exit and reads ERROR or EOF before it forwards a signal (signals reach
 *   only the executed process) and once the process exited.
 *
 * The slow way (RC_TEST_SLOW_PATHS=exec, and a runtime the pid namespaces refuse: an
 * unprivileged one, or one root only in a user namespace of its own) goes through a
 * stage, which joins every namespace at once (user first, which gives an unprivileged
 * runtime its rights in the others) before it clones:
 *
 *   runtime (exec)                      stage (rc:exec)                 process (rc:exec)
 *   clone3 into the container's cgroup -> non-dumpable; host settings;
 *                                        setns(pidfd, all of them)
 *                                        clone(CLONE_PARENT) ----------> (our child, inside the
 *                           <----------- INIT_PID(host pid)               pid namespace)
 *                                        exit                            as above, from the
 *                           <--------------------------------------------- chroot on
 *
 * The process runs with the container's capabilities, rlimits, AppArmor profile and
 * SELinux label unless the process overrides them (a --process document without them,
 * or the container's own process amended by the command-line overrides). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/container/container.h"
#include "specs/config.h"

/* Amendments to the container's process when no --process document is given (runc's
 * `exec` flags). */
struct rc_exec_overrides {
        char **args; /* NULL-terminated, at least one */
        char **env; /* NULL-terminated or NULL: appended to the container's env */
        const char *cwd; /* NULL: the container's */
        bool has_user;
        uid_t uid;
        bool has_gid;
        gid_t gid;
        gid_t *additional_gids; /* appended */
        size_t n_additional_gids;
        uint64_t add_caps; /* bit N = capability N: added to bounding, effective, permitted (and
                              ambient when the process has inheritable capabilities) */
        bool tty;
        bool no_new_privs; /* true: set it (false leaves the container's setting) */
        const char *apparmor_profile; /* NULL: the container's */
        const char *process_label; /* NULL: the container's */
};

struct rc_exec_opts {
        const char *process_path; /* --process FILE: the whole process; else `o` applies */
        struct rc_exec_overrides o;
        const char *console_socket; /* absolute path or NULL */
        const char *pid_file; /* absolute path or NULL */
        const char *cgroup; /* --cgroup: an existing sub-cgroup (relative path) of the container's */
        unsigned preserve_fds;
        bool detach;
        bool ignore_paused; /* exec into a paused container too */
};

/* The process to run: the --process document or the container's process amended by
 * the overrides, with the container's capabilities, rlimits and labels filled in where
 * the process gives none. Pure apart from reading the --process file. */
int rc_exec_build_process(const struct oci_config *cfg, const struct rc_exec_opts *o,
                          struct oci_process **ret, rc_error_t *err);

/* Run the process in container `id`. Detached: return once it is executed (*ret_status
 * 0). Otherwise wait for it, relaying its terminal when it has one and no console
 * socket was given, and set *ret_status to its exit status (128+N for signal N). */
int rc_container_exec(const struct rc_runtime *rt, const char *id, const struct rc_exec_opts *o,
                      int *ret_status, rc_error_t *err);
