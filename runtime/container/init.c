/* The container init: from the clone to execve of the user's process. Its setup is the
 * straight list of steps in init_setup(); each step lives in its own module; the last
 * ones, shared with `exec`, are runtime/isolation/preexec.h's. Everything that can fail is done
 * before READY and travels back to `create` as a sync ERROR message; after READY only
 * the wait for `start`, the startContainer hooks, a noNewPrivileges filter and execve
 * remain, and a failure there is written into exec.fifo, where `start` reads it. */
#include "runtime/container/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"
#include "runtime/base/syscalls.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"
#include "runtime/isolation/hooks.h"
#include "runtime/isolation/mempolicy.h"
#include "runtime/isolation/preexec.h"
#include "runtime/isolation/process.h"
#include "runtime/isolation/selfprotect.h"
#include "runtime/isolation/terminal.h"
#include "runtime/net/netlink.h"
#include "runtime/rootfs/overlay.h"
#include "runtime/rootfs/rootfs.h"

struct init_run {
        struct rc_init_args *a;
        char *state_json; /* from HOOKS_DONE: the state the hooks see */
        size_t state_len;
        int fifo_path; /* O_PATH of exec.fifo, reopened for writing once we run as the user */
        int fifo; /* its write end once `start` released us: errors go there, then */
        bool ready; /* READY sent: `create` has returned */
};

/* Die with the runtime until it has recorded us (RECORDED): PR_SET_PDEATHSIG, and if the
 * runtime died before that took effect, its end of the socket is closed already. The
 * setting is cleared by fork and by credential changes: the forked init sets it again,
 * and EOF on the socket (the RECORDED wait) covers the rest. */
static void die_with_runtime(int sync_fd)
{
        struct pollfd p = {.fd = sync_fd, .events = POLLIN};

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)))
                _exit(1);
}

/* One step the runtime takes on us: ask for it, wait until it is done (the id maps; the
 * network and the prestart/createRuntime hooks). A runtime that is not root reaches our
 * /proc/PID (uid_map, and ns/ for pasta) only while we are dumpable (rc_init_args.
 * unprivileged): we are for the step alone. Nothing of the container runs yet, and the
 * runtime's user owns our user namespace anyway. */
static int runtime_step(struct init_run *r, enum rc_sync_type ask, enum rc_sync_type done,
                        struct rc_sync_msg *m, rc_error_t *err)
{
        bool dump = r->a->unprivileged;

        if (dump && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_DUMPABLE 1");
        if (rc_sync_send(r->a->sync_fd, ask, 0, NULL, 0, err) < 0 ||
            rc_sync_expect(r->a->sync_fd, done, "runtime", m, err) < 0)
                return -1;
        if (dump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_DUMPABLE 0");
        return 0;
}

static int ask_idmaps(struct init_run *r, rc_error_t *err)
{
        return runtime_step(r, RC_SYNC_IDMAP_REQ, RC_SYNC_IDMAP_DONE, NULL, err);
}

/* The join path: setns into the given namespaces, create the new ones, and fork when a
 * pid or time namespace only applies to children. Returns 1 in the intermediate stage
 * (which must exit), 0 in the process that goes on as the init. */
static int join_namespaces(struct init_run *r, rc_error_t *err)
{
        const struct rc_ns_plan *p = r->a->plan;
        int gate[2], flags = p->clone_flags;
        char c;
        pid_t pid;

        if (rc_ns_join(p, err) < 0)
                return -1;
        if (r->a->cgroupns_after_move) {
                if (rc_sync_expect(r->a->sync_fd, RC_SYNC_CGROUPNS, "runtime", NULL, err) < 0)
                        return -1;
                flags |= CLONE_NEWCGROUP;
        }
        if (flags != 0 && unshare(flags) < 0)
                return rc_error_set(err, errno, "unshare namespaces");
        if ((p->clone_flags & CLONE_NEWUSER) && ask_idmaps(r, err) < 0)
                return -1;
        if (p->time_offsets && rc_ns_write_time_offsets(r->a->cfg, err) < 0)
                return -1;
        if (!p->needs_fork)
                return 0;
        /* CLONE_PARENT: the init is the runtime's child, so `run` waits for it (and gets
         * its exit status) without being a subreaper */
        if (pipe2(gate, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "create a pipe");
        pid = rc_clone3(&(struct clone_args){.flags = CLONE_PARENT}, sizeof(struct clone_args));
        if (pid < 0) {
                int e = errno;
                close(gate[0]);
                close(gate[1]);
                return rc_error_set(err, e, "fork the container init");
        }
        if (pid > 0) {
                close(gate[0]);
                if (rc_sync_send(r->a->sync_fd, RC_SYNC_INIT_PID, pid, NULL, 0, err) < 0)
                        return -1;
                return 1; /* exiting closes gate[1] */
        }
        /* Both share the sync socket: the init's first message must not overtake INIT_PID.
         * It waits for EOF on the gate, i.e. until the stage has sent it and exited. */
        die_with_runtime(r->a->sync_fd);
        close(gate[1]);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                ;
        close(gate[0]);
        return 0;
}

static int setup_namespaces(struct init_run *r, rc_error_t *err)
{
        const struct rc_ns_plan *p = r->a->plan;
        int ret;

        if (p->direct) {
                if (r->a->cgroupns_after_move) {
                        if (rc_sync_expect(r->a->sync_fd, RC_SYNC_CGROUPNS, "runtime", NULL, err) < 0)
                                return -1;
                        if (unshare(CLONE_NEWCGROUP) < 0)
                                return rc_error_set(err, errno, "unshare the cgroup namespace");
                }
                if ((p->clone_flags & CLONE_NEWUSER) && ask_idmaps(r, err) < 0)
                        return -1;
        } else {
                ret = join_namespaces(r, err);
                if (ret != 0)
                        return ret;
        }
        return 0;
}

/* The network namespace the parent made while we started (NETNS, runtime/container/sync.h). If
 * it could not, make one here, as the clone would have. */
static int join_parent_netns(void *arg, rc_error_t *err)
{
        struct init_run *r = arg;
        struct rc_sync_msg m = {0};
        int fd, ret = 0;

        if (rc_sync_expect_fd(r->a->sync_fd, RC_SYNC_NETNS, "runtime", &m, &fd, err) < 0)
                return -1;
        rc_sync_msg_clear(&m);
        if (fd >= 0) {
                if (setns(fd, CLONE_NEWNET) < 0)
                        ret = rc_error_set(err, errno, "join the new network namespace");
                close(fd);
        } else if (unshare(CLONE_NEWNET) < 0) {
                ret = rc_error_set(err, errno, "create a network namespace");
        } else {
                ret = rc_nl_loopback_up(err);
        }
        return ret;
}

/* Become root of the user namespace when it is mapped (it need not be). */
static void become_userns_root(const struct oci_config *c)
{
        if (oci_config_namespace(c, OCI_NS_USER) != NULL && setresgid(0, 0, 0) == 0)
                (void)setresuid(0, 0, 0);
}

static int join_session_keyring(const char *id, rc_error_t *err)
{
        char name[64];

        snprintf(name, sizeof(name), "_ses.%.40s", id);
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0) < 0 && errno != ENOSYS &&
            errno != EACCES && errno != EPERM)
                return rc_error_set(err, errno, "join a new session keyring");
        return 0;
}

static int setup_terminal(struct init_run *r, rc_error_t *err)
{
        const struct oci_process *p = &r->a->cfg->process;
        _cleanup_close_ int master = -1, slave = -1;
        _cleanup_free_ char *path = NULL;

        if (!p->terminal)
                return 0;
        if (r->a->console_fd < 0)
                return rc_error_set(err, 0, "process.terminal is set but no console socket was given");
        if (rc_terminal_create(&p->console_size, &master, &slave, &path, err) < 0)
                return -1;
        if (rc_terminal_send(r->a->console_fd, master, path, err) < 0)
                return -1;
        /* without a mount namespace nothing is bound: /dev/console stays as it is */
        if (oci_config_namespace(r->a->cfg, OCI_NS_MOUNT) != NULL && rc_rootfs_bind_console(path, err) < 0)
                return -1;
        /* it becomes fds 0-2 and closes the original itself */
        if (rc_terminal_make_controlling(TAKE_FD(slave), err) < 0)
                return -1;
        close(r->a->console_fd);
        r->a->console_fd = -1;
        return 0;
}

static int setup_process_attrs(struct init_run *r, rc_error_t *err)
{
        const struct oci_config *c = r->a->cfg;

        if (rc_process_set_hostname(c, err) < 0 || rc_process_apply_sysctl(c, err) < 0 ||
            rc_mempolicy_apply(&c->linux_.memory_policy, err) < 0)
                return -1;
        /* shared with exec, where the same values come from process.json: the JSON path
         * of the config's fields is added here */
        if (rc_process_set_oom_score_adj(&c->process, err) < 0)
                return rc_error_wrap(err, ".process.oomScoreAdj");
        if (rc_process_apply_rlimits(&c->process, err) < 0)
                return rc_error_wrap(err, ".process.rlimits");
        if (rc_process_apply_scheduler(&c->process, err) < 0)
                return rc_error_wrap(err, ".process.scheduler");
        if (rc_process_apply_io_priority(&c->process, err) < 0)
                return rc_error_wrap(err, ".process.ioPriority");
        if (rc_process_apply_personality(c, err) < 0)
                return rc_error_wrap(err, ".linux.personality");
        if (!r->a->no_new_keyring && join_session_keyring(r->a->id, err) < 0)
                return -1;
        return 0;
}

/* First step, before any namespace is joined or mount made. CVE-2019-5736: until execve
 * (which resets it) this process runs the runtime's own binary; non-dumpable, no other
 * process of the container (one sharing its pid namespace, a hook) may open its
 * /proc/PID/exe, mem or fds, nor ptrace it. The flag is inherited by the fork of the
 * join path. /proc is opened now, while it is the host's, and verified (rc_proc_fd):
 * every later write to /proc goes through it, not through the container's /proc. */
static int harden_init(rc_error_t *err)
{
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_DUMPABLE 0");
        return rc_proc_fd(err) < 0 ? -1 : 0;
}

/* exec.fifo, opened now (O_PATH: no wait) while we may still reach the state
 * directory, and given to the process user, who opens it for writing after the switch.
 * A runtime that is not root could not read a FIFO given away (`start` opens it): it
 * made the FIFO writable for all instead (give_fifo_to_container_root, container.c).
 * The directory fd stays open until `start` (rc_state_find_inits finds us by it). */
static int open_fifo(struct init_run *r, rc_error_t *err)
{
        uid_t uid = r->a->cfg->process.user.uid;

        r->fifo_path = openat(r->a->state_dirfd, RC_FIFO_FILE, O_PATH | O_CLOEXEC);
        if (r->fifo_path < 0)
                return rc_error_set(err, errno, "open exec fifo");
        if (uid != 0 && !r->a->unprivileged &&
            fchownat(r->fifo_path, "", uid, (gid_t)-1, AT_EMPTY_PATH) < 0) {
                if (errno == EINVAL)
                        return rc_error_set(err, errno,
                                            "process.user.uid %u is not mapped in the container's user "
                                            "namespace",
                                            (unsigned)uid);
                return rc_error_set(err, errno, "give exec fifo to uid %u", (unsigned)uid);
        }
        return 0;
}

/* RECORDED: the runtime has our pid in the state, we may outlive it from READY on. It comes
 * right after the mounts when the init stops for HOOKS next (the runtime sends HOOKS_DONE
 * after it), else at the end of the setup (rc_spawn_paths.recorded_late): the runtime's
 * work after the clone then overlaps pivot_root, the terminal and the process attributes
 * instead of the init waiting for it. Until then PR_SET_PDEATHSIG, or EOF here, ends us
 * with the runtime. */
static int expect_recorded(struct init_run *r, rc_error_t *err)
{
        return rc_sync_expect(r->a->sync_fd, RC_SYNC_RECORDED, "runtime", NULL, err);
}

/* The container's own setup, up to the pre-exec steps. Returns 1 in an intermediate
 * stage that must just exit. */
static int init_setup(struct init_run *r, rc_error_t *err)
{
        struct rc_init_args *a = r->a;
        struct rc_rootfs_ctx rfs = {.cfg = a->cfg,
                                    .rootfs = a->rootfs,
                                    .no_pivot = a->no_pivot,
                                    .cwd_late = a->exec_check_at_start,
                                    .log = a->log,
                                    .rootfs_dirfd = -1,
                                    .rootfd = -1,
                                    .cgroups_at_clone = a->cgroups_at_clone};
        struct rc_sync_msg m = {0};
        _cleanup_close_ int rootfs_dirfd = -1;
        int *bind_src_fds = NULL;
        int ret;

        if (harden_init(err) < 0)
                return -1;
        /* A session of its own before any container code runs (createContainer hooks
         * come from the image): a tty inherited from the caller is not our controlling
         * terminal, so TIOCSTI on it fails. The join path's fork is in it too. */
        if (setsid() < 0)
                return rc_error_set(err, errno, "setsid");
        ret = setup_namespaces(r, err);
        if (ret != 0)
                return ret;
        /* Before becoming root of a user namespace, which may not reach a bundle of the
         * host's root; after its id maps, which make a bundle of the mapped root (podman
         * --uidmap: 0700) reachable by CAP_DAC_OVERRIDE, meaningless before. */
        if (chdir(a->bundle) < 0)
                return rc_error_set(err, errno, "chdir to the bundle `%s`", a->bundle);
        /* a network namespace made by the clone or unshare (the parent's has it up) */
        if ((a->plan->clone_flags & CLONE_NEWNET) && !a->netns_from_parent && rc_nl_loopback_up(err) < 0)
                return -1;
        rfs.host_mountns = oci_config_namespace(a->cfg, OCI_NS_MOUNT) == NULL;
        rfs.in_userns = oci_config_namespace(a->cfg, OCI_NS_USER) != NULL;
        /* sandbox: the overlay root first, so the rootfs opened below is the merged view */
        if (a->overlay != NULL && rc_overlay_mount(a->overlay, a->rootfs, err) < 0)
                return -1;
        rootfs_dirfd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfs_dirfd < 0)
                return rc_error_set(err, errno, "open rootfs `%s`", a->rootfs);
        rfs.rootfs_dirfd = rootfs_dirfd;
        if (a->netns_from_parent) {
                rfs.join_netns = join_parent_netns;
                rfs.join_netns_arg = r;
                rfs.early_protect = a->early_protect;
        }
        /* the bind sources while we are still the host's root by uid (see bind_src_fds) */
        if (rfs.in_userns) {
                bind_src_fds = rc_rootfs_open_bind_sources(a->cfg);
                if (bind_src_fds == NULL)
                        return rc_error_set(err, ENOMEM, "open bind mount sources");
                rfs.bind_src_fds = bind_src_fds;
        }
        become_userns_root(a->cfg);
        ret = rc_rootfs_prepare(&rfs, err);
        rc_rootfs_close_bind_sources(bind_src_fds, a->cfg->n_mounts);
        if (ret < 0 || (!a->recorded_late && expect_recorded(r, err) < 0))
                return -1;
        if (a->hooks_sync && runtime_step(r, RC_SYNC_HOOKS, RC_SYNC_HOOKS_DONE, &m, err) < 0)
                return -1;
        r->state_json = m.data;
        r->state_len = m.len;
        if (rc_hooks_run(&a->cfg->hooks[OCI_HOOK_CREATE_CONTAINER], OCI_HOOK_CREATE_CONTAINER, r->state_json,
                         r->state_len, NULL, err) < 0)
                return -1;
        ret = rc_rootfs_finish(&rfs, err);
        if (rfs.rootfd >= 0)
                close(rfs.rootfd);
        if (ret < 0)
                return -1;
        if (setup_terminal(r, err) < 0 || setup_process_attrs(r, err) < 0)
                return -1;
        if (a->recorded_late && expect_recorded(r, err) < 0)
                return -1;
        return open_fifo(r, err);
}

/* Block until `start` opens exec.fifo for reading, then tell it we are going. The write
 * end stays open (close-on-exec) so `start` sees EOF exactly when the process is
 * executed; a failure before that is written there for `start` to report. We run as the
 * process user by now: the FIFO (given to that user by open_fifo) is reopened through
 * /proc/self/fd, which needs no search permission on the state directory. */
static int wait_for_start(struct init_run *r, rc_error_t *err)
{
        char path[32];
        int proc = rc_proc_fd(err), fd;

        if (proc < 0)
                return -1;
        snprintf(path, sizeof(path), "self/fd/%d", r->fifo_path);
        fd = openat(proc, path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open exec fifo");
        if (write(fd, "0", 1) != 1) {
                int e = errno;
                close(fd);
                return rc_error_set(err, e, "write exec fifo");
        }
        close(r->fifo_path);
        r->fifo_path = -1;
        close(r->a->state_dirfd);
        r->a->state_dirfd = -1;
        r->fifo = fd;
        return 0;
}

/* Between the last step that can fail and execve (runtime/isolation/preexec.h): READY, the wait
 * for `start`, the startContainer hooks with the process' credentials (as runc). */
static int init_gate(void *arg, rc_error_t *err)
{
        struct init_run *r = arg;

        if (!r->a->tie_to_caller)
                prctl(PR_SET_PDEATHSIG, 0); /* create exits after READY; the container stays */
        if (rc_sync_send(r->a->sync_fd, RC_SYNC_READY, 0, NULL, 0, err) < 0)
                return -1;
        if (!r->a->init) { /* with an init, EXIT goes there at the end */
                close(r->a->sync_fd);
                r->a->sync_fd = -1;
        }
        r->ready = true;
        if (wait_for_start(r, err) < 0)
                return -1;
        return rc_hooks_run(&r->a->cfg->hooks[OCI_HOOK_START_CONTAINER], OCI_HOOK_START_CONTAINER,
                            r->state_json, r->state_len, NULL, err);
}

/* A failure: to `create` before READY, to `start` through the FIFO once released (not
 * for a sandbox, whose job reports 127/126 itself), else to the container's stderr. */
__attribute__((noreturn)) static void die(struct init_run *r, const rc_error_t err)
{
        const char *msg = err && err->msg ? err->msg : "unknown error";
        int status = err && err->status == ENOENT ? 127 : 126;

        if (!r->ready) {
                rc_sync_send_error(r->a->sync_fd, err);
                _exit(1);
        }
        if (r->fifo >= 0 && !r->a->exec_check_at_start && dprintf(r->fifo, "%s", msg) > 0)
                _exit(status);
        dprintf(STDERR_FILENO, "run-container: container init: %s\n", msg);
        _exit(status);
}

/* The init's last word (runtime/isolation/reaper.h): the process' own wait status, which the
 * init's exit status cannot carry (a signal). Nobody may be listening: best effort. */
static void send_exit(void *arg, int wstatus)
{
        struct rc_init_args *a = arg;
        rc_error_t e = NULL;

        if (rc_sync_send(a->sync_fd, RC_SYNC_EXIT, wstatus, NULL, 0, &e) < 0)
                rc_error_free(&e);
}

void rc_init_main(struct rc_init_args *a)
{
        struct init_run r = {.a = a, .fifo_path = -1, .fifo = -1};
        struct rc_reaper reaper = {.keep_fd = a->sync_fd, .on_exit = send_exit, .arg = a};
        struct rc_preexec px = {.proc = &a->cfg->process,
                                .seccomp = a->seccomp,
                                .preserve_fds = a->preserve_fds,
                                .log = a->log,
                                .seccomp_early = a->seccomp_before_start,
                                .lookup_late = a->exec_check_at_start,
                                .gate = init_gate,
                                .gate_arg = &r,
                                .init = a->init ? &reaper : NULL};
        rc_error_t err = NULL;
        sigset_t mask;
        int ret;

        close(a->lock_fd); /* the parent's lock must end with the parent */
        rc_selfprotect_release(); /* not for the container's processes (selfprotect.h) */
        /* Our own init (`sandbox`, whose stop signals are blocked from its start, so from
         * this clone on) keeps them blocked until its loop takes them: PID 1 of the pid
         * namespace, it would drop one that came before (runtime/isolation/reaper.h). */
        if (a->init)
                rc_stop_signal_set(&mask);
        else
                sigemptyset(&mask);
        sigprocmask(SIG_SETMASK, &mask, NULL);
        die_with_runtime(a->sync_fd);
        prctl(PR_SET_NAME, "rc:init", 0, 0, 0);

        ret = init_setup(&r, &err);
        if (ret == 1)
                _exit(0);
        if (ret == 0) {
                px.state_json = r.state_json;
                px.state_len = r.state_len;
                rc_preexec_run(&px, &err);
        }
        die(&r, err);
}
