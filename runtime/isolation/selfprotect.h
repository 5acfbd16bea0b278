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

#include "runtime/base/error.h"

/* The environment variable that marks the re-executed process (removed again at once):
 * a second re-execution that would still not be protected is an error, not a loop. */
#define RC_SELFPROTECT_ENV "_RUN_CONTAINER_SELFPROTECT"

/* Returns 0 when this process runs a protected binary (now non-dumpable); otherwise
 * re-executes argv (the process' original argv) from a protected binary and does not
 * return, or returns -1 with *err set. */
int rc_selfprotect(char *const argv[], rc_error_t *err);
