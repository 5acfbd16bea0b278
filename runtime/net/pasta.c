/* User-mode networking through pasta (Debian's passt package): a container's network
 * without root (runtime/net/network.h, RC_NET_PASTA).
 *
 * prepare   checks the annotations and records pasta's arguments in the state
 *           directory (RC_PASTA_ARGS_FILE, NUL-separated): --config-net (pasta copies
 *           the host's addresses and routes into the namespace), the published ports
 *           (-t/-u HOST:CONTAINER, else none), no automatic forwarding either way, and
 *           --no-map-gw unless the host's loopback is asked for.
 * attach    once the init's namespaces exist: runs RC_PASTA_BIN on them (its user and
 *           network namespace as /proc/PID/ns paths: the init is dumpable meanwhile,
 *           runtime/container/init.c); pasta daemonizes once the interface is up and
 *           writes its pid to RC_PASTA_PID_FILE.
 * For a runtime that is not root only: pasta will not run as root.
 * detach    kills that pasta (it does not quit when the namespace goes) and removes both
 *           files. The pid is trusted only for a process whose command line carries this
 *           state directory's pid file path, checked through a pidfd taken first, so a
 *           recycled pid is never signalled.
 * Without pasta's pid file nothing runs: a crash between its start and its pid file is
 * pasta's own to handle (it writes the file before it serves). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/helper.h"
#include "runtime/base/syscalls.h"
#include "runtime/net/firewall.h"
#include "runtime/net/internal.h"

#define ARGS_MAX 4096
#define CMDLINE_MAX 8192
#define STOP_TIMEOUT_MS 5000

/* A growing NUL-separated argument list. */
struct args {
        char buf[ARGS_MAX];
        size_t len;
        bool overflow;
};

static void add(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct args *a, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (a->overflow)
                return;
        va_start(ap, fmt);
        n = vsnprintf(a->buf + a->len, sizeof(a->buf) - a->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n + 1 > sizeof(a->buf) - a->len) {
                a->overflow = true;
                return;
        }
        a->len += (size_t)n + 1;
}

static void add_ports(struct args *a, const char *flag, int proto, const struct rc_port *ports, size_t n)
{
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                if (ports[i].proto != proto)
                        continue;
                add(a, "%s", flag);
                add(a, "%u:%u", ports[i].host_port, ports[i].container_port);
                any = true;
        }
        if (!any) {
                add(a, "%s", flag);
                add(a, "none");
        }
}

int rc_pasta_prepare(const struct rc_runtime *rt, const char *id, const struct oci_config *cfg,
                     const struct rc_pasta_opts *o, int state_dirfd, rc_error_t *err)
{
        _cleanup_free_ struct rc_port *ports = NULL;
        _cleanup_free_ char *root = NULL;
        struct args a = {0};
        size_t n_ports = 0;

        /* pasta refuses to run as root (it becomes nobody, who cannot reach the
         * container's namespaces); root has the bridge networks */
        if (geteuid() == 0)
                return rc_error_set(err, EPERM,
                                    "network \"" RC_NET_PASTA
                                    "\" is for a runtime that is not root (root: a "
                                    "bridge network, see `run-container network`)");
        if (oci_config_namespace(cfg, OCI_NS_USER) == NULL)
                return rc_error_set(err, EINVAL,
                                    "network \"" RC_NET_PASTA
                                    "\" needs a user namespace in .linux.namespaces");
        if (o->ip != NULL)
                return rc_error_set(err, EINVAL,
                                    "annotation \"" RC_ANNOTATION_IP "\": network \"" RC_NET_PASTA
                                    "\" gives the container the host's address, not one of its own");
        if (o->ports != NULL && rc_ports_parse(o->ports, &ports, &n_ports, err) < 0)
                return rc_error_wrap(err, "annotation \"" RC_ANNOTATION_PORTS "\"");
        if (access(RC_PASTA_BIN, X_OK) < 0)
                return rc_error_set(err, errno,
                                    "network \"" RC_NET_PASTA "\" needs `" RC_PASTA_BIN
                                    "` (Debian's passt package)");
        root = realpath(rc_state_root_path(rt->root), NULL);
        if (root == NULL)
                return rc_error_set(err, errno, "state root `%s`", rc_state_root_path(rt->root));
        add(&a, "%s", RC_PASTA_BIN);
        add(&a, "--config-net");
        add(&a, "--quiet");
        add(&a, "--pid");
        add(&a, "%s/%s/%s", root, id, RC_PASTA_PID_FILE);
        add_ports(&a, "-t", IPPROTO_TCP, ports, n_ports);
        add_ports(&a, "-u", IPPROTO_UDP, ports, n_ports);
        add(&a, "-T");
        add(&a, "none");
        add(&a, "-U");
        add(&a, "none");
        if (!o->host_loopback)
                add(&a, "--no-map-gw");
        if (a.overflow)
                return rc_error_set(err, E2BIG, "network \"" RC_NET_PASTA "\": too many ports");
        return rc_write_file_atomic(state_dirfd, RC_PASTA_ARGS_FILE, a.buf, a.len, 0600, err);
}

/* The recorded arguments as argv, with room for `extra` more. *ret_buf owns the text. */
static int load_args(int state_dirfd, size_t extra, char ***ret, char **ret_buf, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ char **argv = NULL;
        size_t len = 0, n = 0, k = 0;
        int r;

        r = rc_read_file_at(state_dirfd, RC_PASTA_ARGS_FILE, ARGS_MAX, &buf, &len, err);
        if (r < 0)
                return (*err)->status == ENOENT ? (rc_error_free(err), 0) : -1;
        for (size_t i = 0; i < len; i++)
                n += buf[i] == '\0';
        if (n == 0 || buf[len - 1] != '\0')
                return rc_error_set(err, EINVAL, "`%s` in the state directory is damaged",
                                    RC_PASTA_ARGS_FILE);
        argv = calloc(n + extra + 1, sizeof(char *));
        if (argv == NULL)
                return rc_error_set(err, ENOMEM, "run pasta");
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
                argv[k++] = buf + i;
        *ret = TAKE_PTR(argv);
        *ret_buf = TAKE_PTR(buf);
        return 1;
}

int rc_pasta_attach(int state_dirfd, pid_t pid, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ char **argv = NULL;
        char userns[64], netns[64];
        size_t k;
        int r;

        r = load_args(state_dirfd, 4, &argv, &buf, err);
        if (r <= 0)
                return r;
        for (k = 0; argv[k] != NULL; k++)
                ;
        snprintf(userns, sizeof(userns), "/proc/%d/ns/user", (int)pid);
        snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)pid);
        argv[k++] = (char *)"--userns";
        argv[k++] = userns;
        argv[k++] = (char *)"--netns";
        argv[k++] = netns;
        argv[k] = NULL;
        if (rc_helper_run(RC_PASTA_BIN, argv, err) < 0)
                return rc_error_wrap(err, "network \"" RC_NET_PASTA "\"");
        return 1;
}

/* Whether pid's command line holds "--pid" followed by pid_path: our pasta. */
static bool is_our_pasta(pid_t pid, const char *pid_path)
{
        char path[64], cmdline[CMDLINE_MAX];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        size_t len;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, cmdline, sizeof(cmdline) - 1);
        if (n <= 0)
                return false;
        len = (size_t)n;
        cmdline[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(cmdline + i) + 1) {
                const char *next = cmdline + i + strlen(cmdline + i) + 1;
                if (strcmp(cmdline + i, "--pid") == 0 && next < cmdline + len && strcmp(next, pid_path) == 0)
                        return true;
        }
        return false;
}

/* SIGKILL (pasta has no state to save), then wait until it is gone, so that its ports are
 * free when delete returns. */
static int stop(int pidfd, long pid, rc_error_t *err)
{
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int r;

        if (rc_pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0)
                return errno == ESRCH ? 0 : rc_error_set(err, errno, "stop pasta (pid %ld)", pid);
        do
                r = poll(&p, 1, STOP_TIMEOUT_MS);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return rc_error_set(err, errno, "wait for pasta (pid %ld)", pid);
        if (r == 0)
                return rc_error_set(err, ETIMEDOUT, "wait for pasta (pid %ld) to exit", pid);
        return 0;
}

int rc_pasta_detach(int state_dirfd, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL, *pidtext = NULL;
        _cleanup_free_ char **argv = NULL;
        _cleanup_close_ int pidfd = -1;
        const char *pid_path = NULL;
        char *end;
        long pid;
        int r;

        r = load_args(state_dirfd, 0, &argv, &buf, err);
        if (r <= 0)
                return r;
        for (size_t k = 0; argv[k] != NULL && argv[k + 1] != NULL; k++)
                if (strcmp(argv[k], "--pid") == 0)
                        pid_path = argv[k + 1];
        r = rc_read_file_at(state_dirfd, RC_PASTA_PID_FILE, 64, &pidtext, NULL, err);
        if (r < 0 && (*err)->status != ENOENT)
                return -1;
        rc_error_free(err);
        if (r == 0 && pid_path != NULL) {
                errno = 0;
                pid = strtol(pidtext, &end, 10);
                if (errno == 0 && pid > 0 && pid <= INT32_MAX && (*end == '\n' || *end == '\0')) {
                        pidfd = rc_pidfd_open((pid_t)pid, 0);
                        if (pidfd >= 0 && is_our_pasta((pid_t)pid, pid_path) && stop(pidfd, pid, err) < 0)
                                return -1;
                }
        }
        if (unlinkat(state_dirfd, RC_PASTA_PID_FILE, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove `%s`", RC_PASTA_PID_FILE);
        if (unlinkat(state_dirfd, RC_PASTA_ARGS_FILE, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove `%s`", RC_PASTA_ARGS_FILE);
        return 1;
}
