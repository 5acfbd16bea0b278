/* exec: a new process in a running container; the protocol is drawn in exec.h. */
#include "runtime/container/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/relay.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"
#include "runtime/isolation/lsm.h"
#include "runtime/isolation/preexec.h"
#include "runtime/isolation/process.h"
#include "runtime/isolation/seccomp.h"
#include "runtime/isolation/selfprotect.h"
#include "runtime/isolation/terminal.h"
#include "specs/json.h"
#include "specs/names.h"

struct exec_run {
        const struct rc_runtime *rt;
        const char *id;
        const struct rc_exec_opts *o;
        struct oci_state *state;
        struct oci_config *cfg;
        struct oci_process *proc;
        struct rc_seccomp_prog seccomp; /* the container's filter, compiled here */
        char *state_json; /* for a seccomp notify agent */
        size_t state_len;
        int initfd; /* pidfd of the container init */
        int rootfd; /* /proc/<init>/root, opened before any setns */
        int ns_flags; /* CLONE_NEW* of the init's namespaces that are not ours */
        int cgroup_fd; /* the container's cgroup (or the --cgroup below it), -1 without one */
        bool enter_cgroup; /* no CLONE_INTO_CGROUP: the stage moves itself */
        int console_fd; /* process side: the console socket or the relay's far end */
        int relay_fd; /* our end of the relay pair, -1 when not relaying */
        int sync_fd; /* runtime end */
        int child_fd; /* stage and process end */
        int go_fd[2]; /* the stage holds [1] until INIT_PID is sent: the process waits on [0] */
        pid_t stage, pid;
        /* fast path: the foreground wait starts before the execve (late_exec_check) */
        bool exec_unchecked;
        rc_error_t exec_err; /* the process' error, found by the foreground wait */
};

static void exec_run_clear(struct exec_run *x)
{
        int *fds[] = {&x->initfd,  &x->rootfd,   &x->cgroup_fd, &x->console_fd, &x->relay_fd,
                      &x->sync_fd, &x->child_fd, &x->go_fd[0],  &x->go_fd[1]};

        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
                if (*fds[i] >= 0)
                        close(*fds[i]);
                *fds[i] = -1;
        }
        oci_state_free(x->state);
        oci_config_free(x->cfg);
        oci_process_free(x->proc);
        rc_seccomp_prog_clear(&x->seccomp);
        free(x->state_json);
        x->state_json = NULL;
        rc_error_free(&x->exec_err);
        x->state = NULL;
        x->cfg = NULL;
        x->proc = NULL;
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* ---- the process to run ------------------------------------------------------------ */

static size_t strv_len(char *const *v)
{
        size_t n = 0;

        while (v != NULL && v[n] != NULL)
                n++;
        return n;
}

/* *v (n entries, may be NULL) followed by copies of extra; *v is replaced. */
static int strv_append(char ***v, size_t *n, char *const *extra)
{
        size_t add = strv_len(extra);
        char **nv;

        nv = realloc(*v, (*n + add + 1) * sizeof(*nv));
        if (nv == NULL)
                return -1;
        *v = nv;
        nv[*n] = NULL;
        for (size_t i = 0; i < add; i++) {
                nv[*n] = strdup(extra[i]);
                if (nv[*n] == NULL)
                        return -1;
                nv[++*n] = NULL;
        }
        return 0;
}

static int dup_str(char **dst, const char *src)
{
        *dst = NULL;
        if (src == NULL)
                return 0;
        *dst = strdup(src);
        return *dst != NULL ? 0 : -1;
}

static int dup_mem(void **dst, const void *src, size_t n, size_t size)
{
        *dst = NULL;
        if (n == 0)
                return 0;
        *dst = malloc(n * size);
        if (*dst == NULL)
                return -1;
        memcpy(*dst, src, n * size);
        return 0;
}

/* A deep copy; on failure dst holds what was copied (oci_process_clear frees it). */
static int process_copy(struct oci_process *dst, const struct oci_process *src)
{
        *dst = *src;
        dst->args = dst->env = NULL;
        dst->n_args = dst->n_env = 0;
        dst->cwd = dst->apparmor_profile = dst->selinux_label = NULL;
        dst->rlimits = NULL;
        dst->user.additional_gids = NULL;
        if (strv_append(&dst->args, &dst->n_args, src->args) < 0 ||
            strv_append(&dst->env, &dst->n_env, src->env) < 0 || dup_str(&dst->cwd, src->cwd) < 0 ||
            dup_str(&dst->apparmor_profile, src->apparmor_profile) < 0 ||
            dup_str(&dst->selinux_label, src->selinux_label) < 0 ||
            dup_mem((void **)&dst->rlimits, src->rlimits, src->n_rlimits, sizeof(*src->rlimits)) < 0 ||
            dup_mem((void **)&dst->user.additional_gids, src->user.additional_gids,
                    src->user.n_additional_gids, sizeof(gid_t)) < 0)
                return -1;
        return 0;
}

/* What a --process document leaves out comes from the container's process. */
static int fill_from_container(struct oci_process *p, const struct oci_process *c)
{
        if (!p->caps.present)
                p->caps = c->caps;
        if (p->n_rlimits == 0) {
                if (dup_mem((void **)&p->rlimits, c->rlimits, c->n_rlimits, sizeof(*c->rlimits)) < 0)
                        return -1;
                p->n_rlimits = c->n_rlimits;
        }
        if (p->apparmor_profile == NULL && dup_str(&p->apparmor_profile, c->apparmor_profile) < 0)
                return -1;
        if (p->selinux_label == NULL && dup_str(&p->selinux_label, c->selinux_label) < 0)
                return -1;
        return 0;
}

static int replace_str(char **dst, const char *src)
{
        char *copy;

        if (src == NULL)
                return 0;
        copy = strdup(src);
        if (copy == NULL)
                return -1;
        free(*dst);
        *dst = copy;
        return 0;
}

static int add_gids(struct oci_user *u, const gid_t *gids, size_t n)
{
        gid_t *v;

        if (n == 0)
                return 0;
        v = realloc(u->additional_gids, (u->n_additional_gids + n) * sizeof(*v));
        if (v == NULL)
                return -1;
        memcpy(v + u->n_additional_gids, gids, n * sizeof(*v));
        u->additional_gids = v;
        u->n_additional_gids += n;
        return 0;
}

/* runc's `exec` flags on top of the container's process. */
static int apply_overrides(struct oci_process *p, const struct rc_exec_overrides *ov)
{
        rc_strv_free(p->args);
        p->args = NULL;
        p->n_args = 0;
        if (strv_append(&p->args, &p->n_args, ov->args) < 0 ||
            strv_append(&p->env, &p->n_env, ov->env) < 0 || replace_str(&p->cwd, ov->cwd) < 0 ||
            replace_str(&p->apparmor_profile, ov->apparmor_profile) < 0 ||
            replace_str(&p->selinux_label, ov->process_label) < 0 ||
            add_gids(&p->user, ov->additional_gids, ov->n_additional_gids) < 0)
                return -1;
        if (ov->has_user)
                p->user.uid = ov->uid;
        if (ov->has_gid)
                p->user.gid = ov->gid;
        if (p->caps.present && ov->add_caps != 0) {
                p->caps.bounding |= ov->add_caps;
                p->caps.effective |= ov->add_caps;
                p->caps.permitted |= ov->add_caps;
                /* ambient needs inheritable: only where the process has some already */
                if (p->caps.inheritable != 0)
                        p->caps.ambient |= ov->add_caps;
        }
        p->terminal = ov->tty;
        if (ov->no_new_privs)
                p->no_new_privileges = true;
        return 0;
}

static int load_process_file(const char *path, struct oci_process **ret, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (rc_read_file_at(AT_FDCWD, path, JSON_MAX_INPUT, &data, &len, err) < 0)
                return rc_error_wrap(err, "exec --process");
        return oci_process_parse(data, len, path, ret, err);
}

int rc_exec_build_process(const struct oci_config *cfg, const struct rc_exec_opts *o,
                          struct oci_process **ret, rc_error_t *err)
{
        struct oci_process *p = NULL;
        int r;

        if (o->process_path != NULL) {
                if (load_process_file(o->process_path, &p, err) < 0)
                        return -1;
                r = fill_from_container(p, &cfg->process);
        } else {
                if (strv_len(o->o.args) == 0)
                        return rc_error_set(err, EINVAL, "exec: no command given and no --process");
                p = calloc(1, sizeof(*p));
                if (p == NULL)
                        return rc_error_set(err, ENOMEM, "exec: process");
                r = process_copy(p, &cfg->process);
                if (r == 0)
                        r = apply_overrides(p, &o->o);
        }
        if (r < 0) {
                oci_process_free(p);
                return rc_error_set(err, ENOMEM, "exec: process");
        }
        *ret = p;
        return 0;
}

/* ---- the runtime: checks and preparation ------------------------------------------- */

static int load_container(struct exec_run *x, rc_error_t *err)
{
        if (rc_container_state(x->rt, x->id, &x->state, err) < 0)
                return -1;
        if (x->state->status == OCI_STATUS_PAUSED && !x->o->ignore_paused)
                return rc_error_set(err, 0, "cannot exec in a paused container \"%s\" (use --ignore-paused)",
                                    x->id);
        /* a created container too, as runc: its namespaces exist, its init waits for start */
        if (x->state->status != OCI_STATUS_RUNNING && x->state->status != OCI_STATUS_PAUSED &&
            x->state->status != OCI_STATUS_CREATED)
                return rc_error_set(err, 0, "cannot exec in a %s container \"%s\"",
                                    oci_status_name(x->state->status), x->id);
        if (rc_state_load_config_of(x->rt->root, x->id, &x->cfg, err) < 0 ||
            oci_state_to_json(x->state, 0, &x->state_json, &x->state_len, err) < 0)
                return -1;
        /* the same filter as the init's, compiled here so that errors surface now */
        return rc_seccomp_prepare(&x->cfg->linux_.seccomp, rc_state_root_path(x->rt->root), &x->rt->log,
                                  &x->seccomp, err);
}

/* Whether the namespace links `name` of two /proc/<pid>/ns directories name the same
 * namespace: nsfs renders a link as "type:[inode]", the inode unique within nsfs, so the
 * texts compare as (st_dev, st_ino) would. readlink renders it without instantiating the
 * namespace's nsfs inode, which a stat of the link does (~5 us each, 16 per exec). */
static bool same_ns(int theirs, int ours, const char *name)
{
        char a[64], b[64];
        ssize_t na = readlinkat(theirs, name, a, sizeof(a));
        ssize_t nb;

        if (na < 0)
                return true; /* a namespace type this kernel does not have */
        nb = readlinkat(ours, name, b, sizeof(b));
        return nb == na && memcmp(a, b, (size_t)na) == 0;
}

/* The init, pinned by a pidfd, its root and the namespaces to join. The start time is
 * checked after the opens so a recycled pid is never taken for the init. */
static int open_init(struct exec_run *x, rc_error_t *err)
{
        _cleanup_close_ int theirs = -1, ours = -1;
        pid_t pid = x->state->pid;
        char path[64];

        x->initfd = rc_pidfd_open(pid, 0);
        if (x->initfd < 0 && errno != ESRCH)
                return rc_error_set(err, errno, "pidfd_open the init of container \"%s\"", x->id);
        if (x->initfd >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
                x->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                snprintf(path, sizeof(path), "/proc/%d/ns", (int)pid);
                theirs = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (x->initfd < 0 || x->rootfd < 0 || theirs < 0 || !rc_pid_matches(pid, x->state->pid_start_time))
                return rc_error_set(err, 0, "container \"%s\" is not running", x->id);
        ours = open("/proc/self/ns", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ours < 0)
                return rc_error_set(err, errno, "open /proc/self/ns");
        x->ns_flags = 0;
        for (int t = 0; t < OCI_NS_COUNT; t++) {
                if (!same_ns(theirs, ours, oci_ns_proc_name((enum oci_ns_type)t)))
                        x->ns_flags |= oci_ns_clone_flag((enum oci_ns_type)t);
        }
        return 0;
}

/* A non-empty relative path without ".." components. */
static bool relative_below(const char *p)
{
        if (p[0] == '\0' || p[0] == '/')
                return false;
        for (const char *c = p; *c;) {
                size_t n = strcspn(c, "/");

                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                c += n;
                c += *c == '/';
        }
        return true;
}

/* The container's cgroup recorded at create, or --cgroup: an existing sub-cgroup of it. */
static int open_cgroup(struct exec_run *x, rc_error_t *err)
{
        const char *sub = x->o->cgroup;
        struct rc_cgroup *cg = NULL;
        int fd;

        if (x->state->cgroup_path == NULL) {
                if (sub != NULL)
                        return rc_error_set(err, 0, "exec --cgroup \"%s\": container \"%s\" has no cgroup",
                                            sub, x->id);
                return 0;
        }
        if (sub != NULL && !relative_below(sub))
                return rc_error_set(
                        err, EINVAL,
                        "exec --cgroup \"%s\": must be a relative path below the container's cgroup", sub);
        if (rc_cgroup_open(x->state->cgroup_path, x->state->systemd_cgroup, &x->rt->log, &cg, err) < 0)
                return -1;
        if (cg->dirfd < 0) {
                rc_cgroup_free(cg);
                return rc_error_set(err, 0, "cgroup `%s` of container \"%s\" is gone", x->state->cgroup_path,
                                    x->id);
        }
        fd = openat(cg->dirfd, sub != NULL ? sub : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                rc_cgroup_free(cg);
                return rc_error_set(err, e, "exec --cgroup \"%s\": open the sub-cgroup of container \"%s\"",
                                    sub != NULL ? sub : ".", x->id);
        }
        rc_cgroup_free(cg);
        x->cgroup_fd = fd;
        return 0;
}

static int check_options(struct exec_run *x, rc_error_t *err)
{
        const struct rc_exec_opts *o = x->o;

        if (o->process_path == NULL && o->o.apparmor_profile != NULL && !rc_lsm_enabled("", RC_LSM_APPARMOR))
                return rc_error_set(err, 0,
                                    "apparmor profile \"%s\" given but AppArmor is not enabled on this host",
                                    o->o.apparmor_profile);
        if (x->proc->terminal && o->detach && o->console_socket == NULL)
                return rc_error_set(
                        err, 0,
                        "cannot allocate a terminal for a detached exec without --console-socket: "
                        "pass --console-socket or do not use --tty");
        return 0;
}

static int open_channels(struct exec_run *x, rc_error_t *err)
{
        int sv[2];

        if (x->proc->terminal && x->o->console_socket != NULL) {
                x->console_fd = rc_console_socket_connect(x->o->console_socket, err);
                if (x->console_fd < 0)
                        return -1;
        } else if (x->proc->terminal) {
                if (rc_relay_console_pair(sv, err) < 0)
                        return -1;
                x->relay_fd = sv[0];
                x->console_fd = sv[1];
                /* the pty is made with the caller's size: `stty size` as the first command
                 * sees it, not 0x0 until the relay starts */
                rc_relay_initial_size(STDIN_FILENO, STDOUT_FILENO, &x->proc->console_size);
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return rc_error_set(err, errno, "socketpair");
        x->sync_fd = sv[0];
        x->child_fd = sv[1];
        return 0;
}

/* ---- the process: inside the container ----------------------------------------- */

static int enter_root(struct exec_run *x, rc_error_t *err)
{
        if (fchdir(x->rootfd) < 0)
                return rc_error_set(err, errno, "enter the root of container \"%s\"", x->id);
        if (chroot(".") < 0)
                return rc_error_set(err, errno, "chroot to the root of container \"%s\"", x->id);
        if (chdir("/") < 0)
                return rc_error_set(err, errno, "chdir to / of container \"%s\"", x->id);
        close_fd(&x->rootfd);
        return 0;
}

static int setup_terminal(struct exec_run *x, rc_error_t *err)
{
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;

        if (!x->proc->terminal)
                return 0;
        if (rc_terminal_create(&x->proc->console_size, &master, &slave, &path, err) < 0 ||
            rc_terminal_send(x->console_fd, master, path, err) < 0 ||
            rc_terminal_make_controlling(slave, err) < 0)
                return -1;
        slave = -1; /* now the stdio fds; closed by rc_terminal_make_controlling if it was above 2 */
        close_fd(&x->console_fd);
        return 0;
}

/* Between the last step that can fail and execve (runtime/isolation/preexec.h): a detached
 * process outlives us. */
static int exec_gate(void *arg, rc_error_t *err)
{
        (void)arg;
        if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_PDEATHSIG 0");
        return 0;
}

/* The straight list of steps from the clone to execve. */
static int process_setup(struct exec_run *x, rc_error_t *err)
{
        struct rc_preexec px = {.proc = x->proc,
                                .seccomp = &x->seccomp,
                                .state_json = x->state_json,
                                .state_len = x->state_len,
                                .preserve_fds = x->o->preserve_fds,
                                .log = &x->rt->log,
                                .gate = exec_gate};
        char c;

        /* until the stage has reported our pid, nothing of ours may reach the runtime */
        while (x->go_fd[0] >= 0 && read(x->go_fd[0], &c, 1) < 0 && errno == EINTR)
                ;
        close_fd(&x->go_fd[0]);
        /* out of the caller's session: TIOCSTI on an inherited tty fails; a terminal of
         * its own becomes the new session's controlling one */
        if (setsid() < 0)
                return rc_error_set(err, errno, "setsid");
        if (enter_root(x, err) < 0 || setup_terminal(x, err) < 0)
                return -1;
        return rc_preexec_run(&px, err);
}

__attribute__((noreturn)) static void process_main(struct exec_run *x)
{
        rc_error_t err = NULL;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close_fd(&x->go_fd[1]);
        process_setup(x, &err);
        rc_sync_send_error(x->child_fd, err);
        _exit(err && err->status == ENOENT ? 127 : 126);
}

/* ---- the stage: host side settings, the namespaces, the clone ----------------------- */

/* Host side settings, then the namespaces of `ns_flags` (the stage: all of the init's that
 * are not ours; the direct way: all but the pid namespace, which its clone entered). */
static int stage_setup(struct exec_run *x, int ns_flags, rc_error_t *err)
{
        const struct oci_process *p = x->proc;
        int fd;

        /* internal fds must stay out of the range of the preserved ones */
        fd = fcntl(x->child_fd, F_DUPFD_CLOEXEC, (int)(3 + x->o->preserve_fds));
        if (fd < 0)
                return rc_error_set(err, errno, "move the sync fd");
        close(x->child_fd);
        x->child_fd = fd;
        if (x->enter_cgroup && rc_cgroup_enter_fd(x->cgroup_fd, getpid(), err) < 0)
                return -1;
        close_fd(&x->cgroup_fd);
        /* the host's procfs, opened while it is reachable: later /proc accesses use it */
        if (rc_proc_fd(err) < 0)
                return -1;
        /* these need the host's privileges: before the user namespace is joined */
        if (rc_process_set_oom_score_adj(p, err) < 0 || rc_process_apply_rlimits(p, err) < 0 ||
            rc_process_apply_scheduler(p, err) < 0 || rc_process_apply_io_priority(p, err) < 0)
                return -1;
        if (ns_flags != 0 && setns(x->initfd, ns_flags) < 0) {
                if (errno == ESRCH)
                        return rc_error_set(err, 0, "container \"%s\" is not running", x->id);
                return rc_error_set(err, errno, "join the namespaces of container \"%s\"", x->id);
        }
        return 0;
}

__attribute__((noreturn)) static void stage_main(struct exec_run *x, pid_t runtime)
{
        struct clone_args ca = {.flags = CLONE_PARENT};
        rc_error_t err = NULL;
        sigset_t none;
        pid_t pid;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != runtime)
                _exit(1);
        /* the container must not reach into us through /proc (CVE-2019-5736): this stays
         * with the process until its execve */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_NAME, "rc:exec", 0, 0, 0);
        rc_selfprotect_release(); /* not for the container's processes (selfprotect.h) */
        close_fd(&x->sync_fd);
        close_fd(&x->relay_fd);
        if (stage_setup(x, x->ns_flags, &err) < 0)
                goto fail;
        /* CLONE_PARENT: the process is the runtime's child, which waits for it */
        pid = rc_clone3(&ca, sizeof(ca));
        if (pid < 0) {
                rc_error_set(&err, errno, "clone the process into container \"%s\"", x->id);
                goto fail;
        }
        if (pid == 0)
                process_main(x);
        if (rc_sync_send(x->child_fd, RC_SYNC_INIT_PID, pid, NULL, 0, &err) < 0)
                kill(pid, SIGKILL);
        _exit(0); /* closes go_fd[1]: the process goes on */
fail:
        rc_sync_send_error(x->child_fd, err);
        _exit(1);
}

/* ---- the runtime: drive the stage and the process -------------------------------- */

/* EOF on the sync socket: the process executed (the socket is close-on-exec). A message
 * instead is the process' error. */
static int wait_executed(struct exec_run *x, rc_error_t *err)
{
        ssize_t n;
        char c;

        do
                n = recv(x->sync_fd, &c, 1, MSG_PEEK);
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return 0;
        if (n < 0)
                return rc_error_set(err, errno, "sync: receive");
        /* an ERROR is reported as its text, any other message as unexpected: never 0 */
        rc_sync_expect(x->sync_fd, RC_SYNC_ERROR, "exec'd process", NULL, err);
        return -1;
}

/* The container enabled controllers for its own sub-cgroups: cgroup v2's rule against
 * processes in inner nodes (EBUSY) keeps exec out of its cgroup. Join the init's cgroup
 * instead, as runc and crun do. Returns 0 with x->cgroup_fd replaced, or -1 (errno kept). */
static int join_init_cgroup(struct exec_run *x)
{
        _cleanup_error_ rc_error_t e = NULL;
        int fd = rc_cgroup_open_of_pid(x->state->pid, &e);

        if (fd < 0) {
                errno = EBUSY;
                return -1;
        }
        rc_log(&x->rt->log, RC_LOG_DEBUG,
               "exec: the cgroup of container \"%s\" has sub-cgroups: joining its init's", x->id);
        close(x->cgroup_fd);
        x->cgroup_fd = fd;
        return 0;
}

/* The stage (or the direct way's process) starts in the container's cgroup
 * (CLONE_INTO_CGROUP, Linux 5.7; older kernels refuse the larger clone_args with E2BIG and
 * the child moves itself). */
static pid_t clone_in_cgroup(struct exec_run *x)
{
        struct clone_args ca = {.exit_signal = SIGCHLD};
        pid_t pid;

        if (x->cgroup_fd >= 0) {
                ca.flags = CLONE_INTO_CGROUP;
                ca.cgroup = (uint64_t)x->cgroup_fd;
        }
        pid = rc_clone3(&ca, sizeof(ca));
        if (pid < 0 && errno == EBUSY && x->cgroup_fd >= 0 && x->o->cgroup == NULL &&
            join_init_cgroup(x) == 0) {
                ca.cgroup = (uint64_t)x->cgroup_fd;
                pid = rc_clone3(&ca, sizeof(ca));
        }
        if (pid < 0 && errno == E2BIG && x->cgroup_fd >= 0) {
                x->enter_cgroup = true;
                ca.flags = 0;
                ca.cgroup = 0;
                pid = rc_clone3(&ca, sizeof(ca));
        }
        return pid;
}

/* The stage's way: the stage joins every namespace and clones the process (two clones,
 * three processes, INIT_PID and the stage's exit before the process goes on). */
static int start_through_stage(struct exec_run *x, rc_error_t *err)
{
        struct rc_sync_msg m = {0};
        pid_t self = getpid();
        int status;

        if (pipe2(x->go_fd, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "pipe");
        x->stage = clone_in_cgroup(x);
        if (x->stage < 0)
                return rc_error_set(err, errno, "clone the exec stage");
        if (x->stage == 0)
                stage_main(x, self);
        close_fd(&x->child_fd);
        close_fd(&x->console_fd);
        close_fd(&x->go_fd[0]);
        close_fd(&x->go_fd[1]);
        if (rc_sync_expect(x->sync_fd, RC_SYNC_INIT_PID, "exec stage", &m, err) == 0)
                x->pid = m.value;
        rc_sync_msg_clear(&m);
        while (waitpid(x->stage, &status, 0) < 0 && errno == EINTR)
                ;
        x->stage = 0;
        if (x->pid <= 0)
                return -1;
        return wait_executed(x, err);
}

/* The process of the direct way: a child of the runtime, already in the init's pid
 * namespace (parent: getppid() is 0 there, or the runtime's pid without one); it does the
 * stage's work itself, then the process' steps. */
__attribute__((noreturn)) static void direct_main(struct exec_run *x, pid_t parent)
{
        rc_error_t err = NULL;
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(1);
        /* non-dumpable from the clone on (the runtime was, and the flag is copied with its
         * memory): the container sees this process in its pid namespace (CVE-2019-5736) */
        prctl(PR_SET_NAME, "rc:exec", 0, 0, 0);
        rc_selfprotect_release(); /* not for the container's processes (selfprotect.h) */
        close_fd(&x->sync_fd);
        close_fd(&x->relay_fd);
        if (stage_setup(x, x->ns_flags & ~CLONE_NEWPID, &err) == 0)
                process_setup(x, &err);
        rc_sync_send_error(x->child_fd, err);
        _exit(err && err->status == ENOENT ? 127 : 126);
}

/* With the process in the foreground, no pid file and no terminal to relay, the runtime
 * needs nothing at the execve: it goes straight to the wait for the exit, and looks for
 * the process' error (or the EOF of its execve) when a signal is to be forwarded (signals
 * still reach only the executed process) or once the process has exited. One wakeup
 * less per exec. */
static bool late_exec_check(const struct exec_run *x)
{
        return !x->o->detach && x->o->pid_file == NULL && x->relay_fd < 0;
}

/* Fast path "exec": the runtime sets its pid namespace for children to the init's, clones
 * the process straight into the container's cgroup and that namespace, and sets it back;
 * the process joins the other namespaces itself. One clone and no hand-off before the
 * execve instead of the stage's two clones, INIT_PID and exit. Returns 1 when the process
 * was started this way, 0 when the stage must do it (RC_TEST_SLOW_PATHS=exec, or a pid
 * namespace refused us: an unprivileged runtime gets its rights in the container's only
 * in the container's user namespace, which the stage joins first; a runtime root in a
 * user namespace of its own cannot come back to its own pid namespace), -1 on error. */
static int start_direct(struct exec_run *x, rc_error_t *err)
{
        _cleanup_close_ int ownpid = -1;
        bool pidns = x->ns_flags & CLONE_NEWPID;
        pid_t self = getpid();
        int dumpable, e;

        if (x->rt->slow_paths & RC_SLOW_EXEC)
                return 0;
        if (pidns) {
                ownpid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (ownpid < 0)
                        return rc_error_set(err, errno, "open /proc/self/ns/pid");
                /* the way back needs our rights over our own pid namespace, which a runtime
                 * root only in a user namespace of its own lacks: ask before going */
                if (setns(ownpid, CLONE_NEWPID) < 0) {
                        if (errno == EPERM)
                                return 0;
                        return rc_error_set(err, errno, "join our own pid namespace");
                }
                if (setns(x->initfd, CLONE_NEWPID) < 0) {
                        if (errno == EPERM)
                                return 0;
                        if (errno == ESRCH)
                                return rc_error_set(err, 0, "container \"%s\" is not running", x->id);
                        return rc_error_set(err, errno, "join the pid namespace of container \"%s\"", x->id);
                }
        }
        rc_log(&x->rt->log, RC_LOG_DEBUG, "fast path exec: one clone, no stage");
        dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        x->pid = clone_in_cgroup(x);
        e = errno;
        if (x->pid == 0)
                direct_main(x, pidns ? 0 : self);
        if (dumpable > 0)
                prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
        if (pidns && setns(ownpid, CLONE_NEWPID) < 0) {
                rc_error_set(err, errno, "return to our own pid namespace");
                return -1; /* x->pid, when set, is killed by the caller */
        }
        if (x->pid < 0) {
                x->pid = 0;
                return rc_error_set(err, e, "clone the process into container \"%s\"", x->id);
        }
        close_fd(&x->child_fd);
        close_fd(&x->console_fd);
        if (late_exec_check(x)) {
                rc_log(&x->rt->log, RC_LOG_DEBUG, "fast path exec: no wakeup at the execve");
                x->exec_unchecked = true;
                return 1;
        }
        return wait_executed(x, err) < 0 ? -1 : 1;
}

static int start_process(struct exec_run *x, rc_error_t *err)
{
        int r = start_direct(x, err);

        if (r != 0)
                return r < 0 ? -1 : 0;
        return start_through_stage(x, err);
}

/* Before a signal is forwarded: the process must have executed (late_exec_check). A
 * process that failed instead exits by itself; the signal is then not forwarded. */
static bool check_exec_before_signal(void *data, int sig, int *ret_arm_ms)
{
        struct exec_run *x = data;

        (void)sig;
        (void)ret_arm_ms;
        if (x->exec_unchecked && x->exec_err == NULL && wait_executed(x, &x->exec_err) == 0)
                x->exec_unchecked = false;
        return x->exec_err != NULL;
}

/* The foreground: relay the terminal when we hold its far end, forward signals, wait. */
static int wait_foreground(struct exec_run *x, int sfd, int *ret_status, rc_error_t *err)
{
        struct rc_relay_wait_opts o = {.on_signal = check_exec_before_signal, .data = x};
        struct rc_relay relay = {.master = -1};
        int master = -1, ret;

        if (x->relay_fd >= 0 && rc_terminal_recv(x->relay_fd, &master, err) < 0)
                return -1;
        if (rc_relay_start(&relay, master, STDIN_FILENO, STDOUT_FILENO, err) < 0) {
                rc_relay_stop(&relay);
                return -1;
        }
        ret = rc_relay_wait_ex(&relay, x->pid, sfd, &o, ret_status, err);
        rc_relay_stop(&relay);
        if (ret == 0)
                x->pid = 0; /* reaped */
        /* exited: the EOF of its execve or its error waits in the socket */
        if (ret == 0 && x->exec_unchecked && x->exec_err == NULL && wait_executed(x, &x->exec_err) == 0)
                x->exec_unchecked = false;
        if (ret == 0 && x->exec_err != NULL) { /* as when found before the wait */
                *err = x->exec_err;
                x->exec_err = NULL;
                *ret_status = 0;
                return -1;
        }
        return ret;
}

static void kill_process(struct exec_run *x)
{
        int status;

        if (x->pid > 0) {
                kill(x->pid, SIGKILL);
                while (waitpid(x->pid, &status, 0) < 0 && errno == EINTR)
                        ;
        }
}

static int exec_in(struct exec_run *x, int *ret_status, rc_error_t *err)
{
        _cleanup_close_ int sfd = -1;
        sigset_t old;
        int ret = -1;

        /* the detached mount's grace period passes while we read the state, not in the
         * process or at our exit (selfprotect.h) */
        rc_selfprotect_release_async();
        if (load_container(x, err) < 0 || rc_exec_build_process(x->cfg, x->o, &x->proc, err) < 0 ||
            check_options(x, err) < 0 || open_init(x, err) < 0 || open_cgroup(x, err) < 0 ||
            open_channels(x, err) < 0)
                return -1;
        if (!x->o->detach) {
                sfd = rc_relay_block_signals(&old, err);
                if (sfd < 0)
                        return -1;
        }
        if (start_process(x, err) < 0 ||
            (x->o->pid_file != NULL && rc_pid_file_write(x->o->pid_file, x->pid, err) < 0)) {
                kill_process(x);
                goto out;
        }
        if (x->o->detach) {
                ret = 0;
                goto out;
        }
        /* the process runs: the binary's detached mount dissolves while it does
         * (runtime/isolation/selfprotect.h) */
        rc_selfprotect_release();
        ret = wait_foreground(x, sfd, ret_status, err);
        if (ret < 0)
                kill_process(x);
out:
        if (sfd >= 0)
                sigprocmask(SIG_SETMASK, &old, NULL);
        return ret;
}

int rc_container_exec(const struct rc_runtime *rt, const char *id, const struct rc_exec_opts *o,
                      int *ret_status, rc_error_t *err)
{
        struct exec_run x = {.rt = rt,
                             .id = id,
                             .o = o,
                             .seccomp = RC_SECCOMP_PROG_INIT,
                             .initfd = -1,
                             .cgroup_fd = -1,
                             .rootfd = -1,
                             .console_fd = -1,
                             .relay_fd = -1,
                             .sync_fd = -1,
                             .child_fd = -1,
                             .go_fd = {-1, -1}};
        int ret;

        *ret_status = 0;
        if (rc_validate_id(id, err) < 0)
                return -1;
        ret = exec_in(&x, ret_status, err);
        exec_run_clear(&x);
        return ret;
}
