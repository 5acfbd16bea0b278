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
 * open_tree fd is closed by that execve, the mount belongs to no namespace and not even
 * the host's root can make it writable), or, where open_tree is refused (no
 * CAP_SYS_ADMIN, old kernels), a sealed memfd copy (F_SEAL_SEAL, SHRINK, GROW, WRITE).
 * Every process forked afterwards, and every execve of /proc/self/exe by them, runs that
 * protected file. The check is cheap and comes first: a binary already on a read-only
 * mount or in a sealed memfd is not executed again. The process is also made
 * non-dumpable: what it forks into a container is unreachable through /proc and ptrace
 * from its first instruction there. */
#pragma once

#include <fcntl.h>

#include "runtime/base/error.h"

/* The environment variable that marks the re-executed process (removed again at once):
 * a second re-execution that would still not be protected is an error, not a loop. */
#define RC_SELFPROTECT_ENV "_RUN_CONTAINER_SELFPROTECT"

/* The seals of a protected memfd copy. */
#define RC_SELFPROTECT_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* The two steps of rc_selfprotect with system calls only, usable before the C library is
 * initialised (the program's entry point, cli/entry.c, re-executes from there, so that
 * the first process of `exec`, `run`, ... never starts the C library at all):
 * rc_selfprotect_check returns 1 when /proc/self/exe is on a read-only mount or a sealed
 * memfd, 0 when it is not, -errno when it cannot be opened; rc_selfprotect_rebind_exec
 * executes argv with envp (which must hold RC_SELFPROTECT_ENV) from a read-only bind of
 * /proc/self/exe on a detached mount, and returns -errno only when that failed. */
int rc_selfprotect_check(void);
int rc_selfprotect_rebind_exec(char *const argv[], char *const envp[]);

/* Returns 0 when this process runs a protected binary (now non-dumpable); otherwise
 * re-executes argv (the process' original argv) from a protected binary and does not
 * return, or returns -1 with *err set. */
int rc_selfprotect(char *const argv[], rc_error_t *err);
