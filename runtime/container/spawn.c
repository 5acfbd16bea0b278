/* Parent side of `create`: clone the init into its namespaces and drive the handshake
 * drawn in runtime/container/sync.h. */
#include "runtime/container/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"
#include "runtime/isolation/hooks.h"
#include "runtime/isolation/terminal.h"
#include "runtime/net/netlink.h"
#include "runtime/net/network.h"

struct spawn_run {
        struct rc_spawn *s;
        struct rc_ns_plan plan;
        int sync_fd; /* parent end */
        pid_t child; /* our direct child (the init, or the stage that forks it) */
        pid_t init_pid; /* the container init */
        bool move_to_cgroup; /* no CLONE_INTO_CGROUP: the parent moves the init */
        bool cgroupns_late; /* the init unshares its cgroup namespace on CGROUPNS */
        char *cgroups_at_clone; /* rc_init_args; owned */
        struct rc_spawn_paths paths;
};

/* The init's v1 cgroups as the host names them, for the v1 layout at a "cgroup" mount
 * (runtime/rootfs/rootfs.h: cgroups_at_clone): when the init gets a cgroup namespace of
 * its own, from its birth or unshared before anything moves it, on a host whose
 * /sys/fs/cgroup is not cgroup2. Its v1 cgroups are then ours (CLONE_INTO_CGROUP places
 * it in cgroup2 alone), and inside the namespace /proc/self/cgroup will show "/" for
 * each. NULL otherwise, or when the file cannot be read (the init mounts the
 * hierarchies afresh then). */
static char *read_cgroups_at_clone(const struct oci_config *cfg, const struct rc_ns_plan *plan)
{
        _cleanup_error_ rc_error_t ignored = NULL;
        char *text = NULL;
        bool mounted = false;

        if (!(plan->clone_flags & CLONE_NEWCGROUP))
                return NULL;
        for (size_t i = 0; i < cfg->n_mounts && !mounted; i++)
                mounted = cfg->mounts[i].type != NULL && !cfg->mounts[i].is_bind &&
                          (strcmp(cfg->mounts[i].type, "cgroup") == 0 ||
                           strcmp(cfg->mounts[i].type, "cgroup2") == 0);
        if (!mounted || rc_fs_is_cgroup2("/sys/fs/cgroup"))
                return NULL;
        if (rc_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &text, NULL, &ignored) < 0)
                return NULL;
        return text;
}

/* A network annotation (or one that cannot be read: attach reports it). */
static bool has_network(const struct oci_config *cfg, rc_error_t *ignored)
{
        const char *net = NULL, *ip = NULL, *ports = NULL;

        return rc_network_from_annotations(cfg, &net, &ip, &ports, ignored) < 0 || net != NULL;
}

/* Whether the init must stop after its mounts (HOOKS) for the parent to attach the
 * network and run the prestart/createRuntime hooks, or for the state document that
 * createContainer/startContainer hooks and a seccomp agent get. Without any of them the
 * round trip is skipped: it cost two context switches on every start. A network needs
 * it only when the runtime does not make the init's network namespace itself (net_early:
 * then it attaches the network into it while the init mounts). */
static bool needs_hooks_sync(const struct oci_config *cfg, const struct rc_seccomp_prog *seccomp,
                             bool net_early)
{
        static const enum oci_hook_phase kinds[] = {OCI_HOOK_PRESTART, OCI_HOOK_CREATE_RUNTIME,
                                                    OCI_HOOK_CREATE_CONTAINER, OCI_HOOK_START_CONTAINER};
        _cleanup_error_ rc_error_t ignored = NULL;

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                if (cfg->hooks[kinds[i]].n > 0)
                        return true;
        if (seccomp->agent_fd >= 0)
                return true;
        return !net_early && has_network(cfg, &ignored);
}

void rc_spawn_paths_choose(const struct oci_config *cfg, const struct rc_ns_plan *plan,
                           const struct rc_seccomp_prog *seccomp, unsigned slow_paths,
                           struct rc_spawn_paths *ret)
{
        _cleanup_error_ rc_error_t ignored = NULL;
        struct rc_spawn_paths p = {0};

        p.netns_deferred = !(slow_paths & RC_SLOW_NETNS) && rc_netns_deferred(plan);
        p.net_early = p.netns_deferred && has_network(cfg, &ignored);
        p.hooks_sync = (slow_paths & RC_SLOW_HOOKS) || needs_hooks_sync(cfg, seccomp, p.net_early);
        p.seccomp_before_start = !(slow_paths & RC_SLOW_SECCOMP) && seccomp->insns != NULL &&
                                 cfg->hooks[OCI_HOOK_START_CONTAINER].n == 0 &&
                                 rc_seccomp_allows_init_tail(&cfg->linux_.seccomp);
        /* no hook runs between the init's mounts and the rest that could see the
         * difference (a network attach there does not touch the root) */
        p.early_protect = !(slow_paths & RC_SLOW_PROTECT) && p.netns_deferred &&
                          cfg->hooks[OCI_HOOK_PRESTART].n == 0 &&
                          cfg->hooks[OCI_HOOK_CREATE_RUNTIME].n == 0 &&
                          cfg->hooks[OCI_HOOK_CREATE_CONTAINER].n == 0;
        p.recorded_late = !(slow_paths & RC_SLOW_RECORDED) && !p.hooks_sync;
        *ret = p;
}

/* The pid recorded (rc_state_set_pid); RECORDED lets the init outlive us from now on
 * (runtime/container/sync.h). */
static int record_pid(struct spawn_run *r, pid_t pid, rc_error_t *err)
{
        if (rc_state_set_pid(r->s->state_dirfd, r->s->state, pid, err) < 0)
                return -1;
        /* the init opens the FIFO only after RECORDED */
        if (r->s->early_release) {
                rc_log(&r->s->rt->log, RC_LOG_DEBUG, "fast path release: exec.fifo open before READY");
                r->s->fifo_fd = openat(r->s->state_dirfd, RC_FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (r->s->fifo_fd < 0)
                        return rc_error_set(err, errno, "open exec fifo");
        }
        if (rc_sync_send(r->sync_fd, RC_SYNC_RECORDED, 0, NULL, 0, err) == 0)
                return 0;
        /* an init that failed has closed its end: the next receive reports why */
        if ((*err)->status != EPIPE && (*err)->status != ECONNRESET)
                return -1;
        rc_error_free(err);
        return 0;
}

/* clone3 straight into the container's cgroup (CLONE_INTO_CGROUP, Linux 5.7), so the
 * init never runs outside it. Older kernels refuse the larger clone_args with E2BIG:
 * then the parent moves the child before the handshake goes on (*ret_move), as it does
 * for a systemd scope, which systemd makes around the waiting init's pid. */
static pid_t clone_into_cgroup(struct clone_args *ca, int cgroup_fd, bool *ret_move)
{
        pid_t pid;

        *ret_move = false;
        if (cgroup_fd < 0)
                return rc_clone3(ca, sizeof(*ca));
        ca->flags |= CLONE_INTO_CGROUP;
        ca->cgroup = (uint64_t)cgroup_fd;
        pid = rc_clone3(ca, sizeof(*ca));
        if (pid >= 0 || errno != E2BIG)
                return pid;
        ca->flags &= ~(uint64_t)CLONE_INTO_CGROUP;
        ca->cgroup = 0;
        *ret_move = true;
        return rc_clone3(ca, sizeof(*ca));
}

/* The network namespace of the init, made now that it runs (runtime/isolation/namespaces.h). If
 * none could be made, the init is told the errno and makes one itself, as the clone
 * would have (it then reports its own error). */
static int send_netns(struct spawn_run *r, rc_error_t *err)
{
        _cleanup_error_ rc_error_t why = NULL;
        _cleanup_close_ int fd = -1;
        struct rc_nl_lo lo;
        int ret = rc_netns_make(r->sync_fd, &fd, &lo, &why);

        if (ret == -2) {
                *err = TAKE_PTR(why);
                return -1;
        }
        if (ret < 0 && r->paths.net_early) {
                /* the network would have nowhere to go before HOOKS, which the init skips */
                *err = TAKE_PTR(why);
                return -1;
        }
        if (ret < 0)
                rc_log(&r->s->rt->log, RC_LOG_DEBUG, "%s: the init makes its own", why->msg);
        else
                rc_log(&r->s->rt->log, RC_LOG_DEBUG,
                       "fast path netns: the runtime made the network namespace");
        ret = fd >= 0 ? rc_sync_send_fd(r->sync_fd, RC_SYNC_NETNS, 0, fd, err)
                      : rc_sync_send(r->sync_fd, RC_SYNC_NETNS, why && why->status ? why->status : EINVAL,
                                     NULL, 0, err);
        /* lo up, while the init makes its mounts */
        if (ret == 0 && lo.fd >= 0)
                ret = rc_nl_lo_up(&lo, err);
        else if (lo.fd >= 0)
                close(lo.fd);
        /* An init that already failed has closed its end: what it said (ERROR) or its
         * exit is what the next receive reports. */
        if (ret < 0 && ((*err)->status == EPIPE || (*err)->status == ECONNRESET)) {
                rc_error_free(err);
                return 0;
        }
        /* The network into the namespace the init is about to join, while it mounts. */
        if (ret == 0 && r->paths.net_early)
                ret = rc_network_attach_netns(r->s->rt, r->s->state_dirfd, fd, err);
        return ret;
}

static int clone_init(struct spawn_run *r, rc_error_t *err)
{
        struct rc_spawn *s = r->s;
        struct rc_init_args ia = {0};
        _cleanup_close_ int console_fd = -1, fifo_dirfd = -1;
        __attribute__((cleanup(rc_seccomp_prog_clear))) struct rc_seccomp_prog seccomp =
                RC_SECCOMP_PROG_INIT;
        struct clone_args ca = {0};
        int sv[2];
        pid_t pid;

        /* compiled (and the notify agent connected) here, so errors surface at create */
        if (rc_seccomp_prepare(&s->cfg->linux_.seccomp, rc_state_root_path(s->rt->root), &s->rt->log,
                               &seccomp, err) < 0)
                return -1;
        if (s->opts->console_socket != NULL) {
                console_fd = rc_console_socket_connect(s->opts->console_socket, err);
                if (console_fd < 0)
                        return -1;
        } else if (s->cfg->process.terminal && s->relay_fd >= 0) {
                console_fd = fcntl(s->relay_fd, F_DUPFD_CLOEXEC, 3);
                if (console_fd < 0)
                        return rc_error_set(err, errno, "duplicate the terminal relay socket");
        }
        /* A separate open file description: the init must not keep the lock alive. */
        fifo_dirfd = openat(s->state_dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fifo_dirfd < 0)
                return rc_error_set(err, errno, "open state directory");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return rc_error_set(err, errno, "socketpair");

        rc_spawn_paths_choose(s->cfg, &r->plan, &seccomp, s->rt->slow_paths, &r->paths);
        if (r->paths.recorded_late)
                rc_log(&s->rt->log, RC_LOG_DEBUG,
                       "fast path recorded: the init takes RECORDED at the end of its setup");
        ia = (struct rc_init_args){
                .cfg = s->cfg,
                .plan = &r->plan,
                .log = &s->rt->log,
                .bundle = s->opts->bundle,
                .rootfs = s->rootfs,
                .id = s->state->id,
                .sync_fd = sv[1],
                .state_dirfd = fifo_dirfd,
                .lock_fd = s->state_dirfd,
                .console_fd = console_fd,
                .preserve_fds = s->opts->preserve_fds,
                .no_pivot = s->opts->no_pivot,
                .no_new_keyring = s->opts->no_new_keyring,
                .seccomp = &seccomp,
                .seccomp_before_start = r->paths.seccomp_before_start,
                .hooks_sync = r->paths.hooks_sync,
                .early_protect = r->paths.early_protect,
                .recorded_late = r->paths.recorded_late,
                .overlay = s->opts->ext != NULL ? s->opts->ext->overlay : NULL,
                .tie_to_caller = s->opts->ext != NULL && s->opts->ext->tie_to_caller,
                .exec_check_at_start = s->opts->ext != NULL && s->opts->ext->exec_check_at_start,
                .init = s->opts->ext != NULL && s->opts->ext->init,
        };
        /* A new cgroup namespace is rooted where its creator is: not before the move */
        if (rc_cgroup_enter_after_clone(s->cgroup) && (r->plan.clone_flags & CLONE_NEWCGROUP)) {
                r->plan.clone_flags &= ~CLONE_NEWCGROUP;
                ia.cgroupns_after_move = r->cgroupns_late = true;
        }
        ia.cgroups_at_clone = r->cgroups_at_clone = read_cgroups_at_clone(s->cfg, &r->plan);
        ia.unprivileged = geteuid() != 0;
        ca.flags = r->plan.direct ? (uint64_t)r->plan.clone_flags : 0;
        if (r->paths.netns_deferred) {
                ca.flags &= ~(uint64_t)CLONE_NEWNET;
                ia.netns_from_parent = true;
        }
        ca.exit_signal = SIGCHLD;
        pid = clone_into_cgroup(&ca, s->cgroup->dirfd, &r->move_to_cgroup);
        r->move_to_cgroup = r->move_to_cgroup || rc_cgroup_enter_after_clone(s->cgroup);
        if (pid < 0) {
                int e = errno;
                close(sv[0]);
                close(sv[1]);
                return rc_error_set(err, e, "clone3 the container init");
        }
        if (pid == 0) {
                close(sv[0]);
                rc_init_main(&ia);
        }
        close(sv[1]);
        r->sync_fd = sv[0];
        r->child = r->init_pid = pid;
        return 0;
}

/* The child into its cgroup when it was not cloned there, first thing (before NETNS,
 * which the init reads later than CGROUPNS). */
static int place_in_cgroup(struct spawn_run *r, rc_error_t *err)
{
        if (!r->move_to_cgroup)
                return 0;
        if (rc_cgroup_enter(r->s->cgroup, r->child, err) < 0)
                return -1;
        if (!r->cgroupns_late || rc_sync_send(r->sync_fd, RC_SYNC_CGROUPNS, 0, NULL, 0, err) == 0)
                return 0;
        /* an init that failed has closed its end: the next receive reports why */
        if ((*err)->status != EPIPE && (*err)->status != ECONNRESET)
                return -1;
        rc_error_free(err);
        return 0;
}

static int handshake_namespaces(struct spawn_run *r, rc_error_t *err)
{
        struct rc_sync_msg m = {0};
        int status;

        if (r->plan.clone_flags & CLONE_NEWUSER) {
                if (rc_sync_expect(r->sync_fd, RC_SYNC_IDMAP_REQ, "container init", NULL, err) < 0)
                        return -1;
                if (rc_ns_write_idmaps(r->child, r->s->cfg, err) < 0)
                        return -1;
                if (rc_sync_send(r->sync_fd, RC_SYNC_IDMAP_DONE, 0, NULL, 0, err) < 0)
                        return -1;
        }
        if (!r->plan.direct && r->plan.needs_fork) {
                if (rc_sync_expect(r->sync_fd, RC_SYNC_INIT_PID, "container init", &m, err) < 0)
                        return -1;
                r->init_pid = m.value;
                rc_sync_msg_clear(&m);
                /* forked before or after its parent moved: move it too */
                if (r->move_to_cgroup && rc_cgroup_enter(r->s->cgroup, r->init_pid, err) < 0)
                        return -1;
                /* The intermediate stage exits once it has forked the init. */
                while (waitpid(r->child, &status, 0) < 0)
                        if (errno != EINTR)
                                return rc_error_set(err, errno, "wait for the namespace stage");
                r->child = 0;
        }
        return record_pid(r, r->init_pid, err);
}

int rc_spawn_runtime_hooks(const struct oci_config *cfg, const struct oci_state *st, char **ret_json,
                           size_t *ret_len, rc_error_t *err)
{
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        if (oci_state_to_json(st, 0, &json, &len, err) < 0)
                return -1;
        if (rc_hooks_run(&cfg->hooks[OCI_HOOK_PRESTART], OCI_HOOK_PRESTART, json, len, NULL, err) < 0)
                return -1;
        if (rc_hooks_run(&cfg->hooks[OCI_HOOK_CREATE_RUNTIME], OCI_HOOK_CREATE_RUNTIME, json, len, NULL,
                         err) < 0)
                return -1;
        if (ret_json != NULL) {
                *ret_json = TAKE_PTR(json);
                *ret_len = len;
        }
        return 0;
}

static int handshake_hooks(struct spawn_run *r, rc_error_t *err)
{
        const struct oci_config *cfg = r->s->cfg;
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        if (!r->paths.hooks_sync) {
                rc_log(&r->s->rt->log, RC_LOG_DEBUG, "fast path hooks: no HOOKS round trip");
                return rc_sync_expect(r->sync_fd, RC_SYNC_READY, "container init", NULL, err);
        }
        if (rc_sync_expect(r->sync_fd, RC_SYNC_HOOKS, "container init", NULL, err) < 0)
                return -1;
        /* The init has set up all its namespaces by now (a netns it unshares itself
         * exists only from here on): plumb the network before the prestart hooks. */
        if (!r->paths.net_early && rc_network_attach(r->s->rt, r->s->state_dirfd, r->init_pid, err) < 0)
                return -1;
        if (rc_spawn_runtime_hooks(cfg, r->s->state, &json, &len, err) < 0)
                return -1;
        if (rc_sync_send(r->sync_fd, RC_SYNC_HOOKS_DONE, 0, json, len, err) < 0)
                return -1;
        return rc_sync_expect(r->sync_fd, RC_SYNC_READY, "container init", NULL, err);
}

static void kill_and_reap(struct spawn_run *r)
{
        int status;

        if (r->init_pid > 0)
                kill(r->init_pid, SIGKILL);
        if (r->child > 0) {
                if (r->child != r->init_pid)
                        kill(r->child, SIGKILL);
                while (waitpid(r->child, &status, 0) < 0 && errno == EINTR)
                        ;
        }
        if (r->init_pid > 0 && r->init_pid != r->child) /* reparented: reap if it is ours */
                waitpid(r->init_pid, &status, __WALL | WNOHANG);
}

int rc_spawn_container(struct rc_spawn *s, pid_t *ret_pid, rc_error_t *err)
{
        struct spawn_run r = {.s = s, .sync_fd = -1};
        int ret;

        s->exit_fd = -1;
        if (rc_ns_plan_make(s->cfg, &r.plan, err) < 0)
                return -1;
        ret = clone_init(&r, err);
        rc_ns_plan_close(&r.plan);
        free(r.cgroups_at_clone); /* the init has its copy */
        if (ret < 0)
                return -1;
        ret = place_in_cgroup(&r, err);
        if (ret == 0 && r.paths.netns_deferred)
                ret = send_netns(&r, err);
        if (ret == 0 && s->during_setup != NULL) {
                rc_log(&s->rt->log, RC_LOG_DEBUG,
                       "fast path setup: the caller's work while the init sets up");
                ret = s->during_setup(s->during_setup_arg, err);
        }
        if (ret == 0)
                ret = handshake_namespaces(&r, err);
        if (ret == 0)
                ret = handshake_hooks(&r, err);
        if (ret == 0 && s->opts->ext != NULL && s->opts->ext->init)
                s->exit_fd = TAKE_FD(r.sync_fd);
        else
                close(r.sync_fd);
        if (ret < 0) {
                kill_and_reap(&r);
                return -1;
        }
        *ret_pid = r.init_pid;
        return 0;
}
