/* CVE-2019-5736: the runtime's own binary must never be writable from a container.
 *
 * Until its execve, a process that enters a container (the init, the process of `exec`,
 * the init's fork that runs a createContainer or startContainer hook) runs this binary,
 * and whatever it then executes may be the binary again: a process.args[0], an `exec`
 * argument or a hook path of "/proc/self/exe", or a script whose interpreter is
 * `#!/proc/self/exe`. A container process that opens /proc/PID/exe of such a process gets
 * the file the runtime was executed from; once nothing executes it any more (no ETXTBSY)
 * it could reopen that file for writing and replace the host's runtime.
 *
 * So the commands that enter containers (create, run, exec, sandbox) first re-execute
 * themselves, once, from a file that cannot be written: a read-only bind of the binary
 * on a detached mount (open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_RDONLY) +
 * execveat; nothing is copied, and reopening it for writing fails with EROFS; once the
 * open_tree fd is closed, the mount belongs to no namespace and not even the host's root
 * can make it writable), or, where open_tree is refused (no CAP_SYS_ADMIN, old kernels),
 * a sealed memfd copy (F_SEAL_SEAL, SHRINK, GROW, WRITE). Every process forked
 * afterwards, and every execve of /proc/self/exe by them, runs that protected file.
 *
 * The open_tree fd is not closed by that execve: closing the last fd of a detached mount
 * dissolves it, and the kernel waits there for an expedited RCU grace period
 * (namespace_unlock; 1-6 ms on a loaded host, most of a start). The re-executed process
 * keeps it (close-on-exec again, rc_selfprotect) and lets it go with
 * rc_selfprotect_release where it waits anyway: run and sandbox once the process runs.
 * `exec`, `create` and `run --detach` hand it to a thread at their start
 * (rc_selfprotect_release_async): whoever held the last copy waited there on their
 * critical path before (`exec`'s process, between its clone and its execve, in 18 of 20
 * `exec`s traced; the exit of `create` and `run --detach`, before their caller's wake, in
 * 40 of 40). The children that enter a container
 * close their copy first thing, so no container process ever holds it; until it is
 * closed only this non-dumpable process does.
 *
 * The check is cheap and comes first: a binary already on a read-only mount or in a
 * sealed memfd is not executed again. The process is also made non-dumpable: what it
 * forks into a container is unreachable through /proc and ptrace from its first
 * instruction there. */
#pragma once

#include <fcntl.h>

#include "runtime/base/error.h"

/* The environment variable that marks the re-executed process (removed again at once):
 * a second re-execution that would still not be protected is an error, not a loop. Its
 * value is "1", or "fd:N" when fd N is the open_tree fd of the detached mount, kept
 * across the execve. */
#define RC_SELFPROTECT_ENV "_RUN_CONTAINER_SELFPROTECT"
/* The size of the whole variable "NAME=fd:N" that rc_selfprotect_rebind_exec writes. */
#define RC_SELFPROTECT_MARKER_SIZE (sizeof(RC_SELFPROTECT_ENV) + 16)

/* The seals of a protected memfd copy. */
#define RC_SELFPROTECT_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* The two steps of rc_selfprotect with system calls only, usable before the C library is
 * initialised (the program's entry point, cli/entry.c, re-executes from there, so that
 * the first process of `exec`, `run`, ... never starts the C library at all):
 * rc_selfprotect_check returns 1 when /proc/self/exe is on a read-only mount or a sealed
 * memfd, 0 when it is not, -errno when it cannot be opened; rc_selfprotect_rebind_exec
 * executes argv with envp from a read-only bind of /proc/self/exe on a detached mount,
 * after writing "RC_SELFPROTECT_ENV=fd:N" (N: the mount's fd, left open across the
 * execve) into marker, a buffer of RC_SELFPROTECT_MARKER_SIZE that is one of envp's
 * strings, and returns -errno only when that failed (the fd closed again). */
int rc_selfprotect_check(void);
int rc_selfprotect_rebind_exec(char *const argv[], char *const envp[], char *marker);

/* Returns 0 when this process runs a protected binary (now non-dumpable); otherwise
 * re-executes argv (the process' original argv) from a protected binary and does not
 * return, or returns -1 with *err set. */
int rc_selfprotect(char *const argv[], rc_error_t *err);

/* Closes the detached mount's fd kept by rc_selfprotect (nothing when there is none); the
 * caller may block there for an RCU grace period when it is the last holder. Every child
 * that enters a container calls it first (its copy must not reach the container's
 * processes), the parent where it waits anyway. */
void rc_selfprotect_release(void);

/* The same without waiting: a thread of ours takes a copy of the fd table and exits once
 * we closed ours; its exit drops the last reference and waits for the grace period while
 * the caller goes on (the caller's exit waits for the thread, which has long finished by
 * then). Our fd is closed on return: no child forked later inherits it. Where the thread
 * cannot be made, the close here waits, as rc_selfprotect_release does. While the thread
 * lives the caller must not create or join a user namespace (EINVAL for a process with
 * two threads) nor count on being single-threaded. */
void rc_selfprotect_release_async(void);
