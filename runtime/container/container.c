/* create, start and run: the lifecycle operations that bring a container up. state,
 * kill, delete and list live in ops.c. */
#include "runtime/container/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/internal.h"
#include "runtime/container/notify.h"
#include "runtime/container/relay.h"
#include "runtime/container/spawn.h"
#include "runtime/container/state.h"
#include "runtime/container/sync.h"
#include "runtime/isolation/hooks.h"
#include "runtime/isolation/reaper.h"
#include "runtime/isolation/selfprotect.h"
#include "runtime/isolation/terminal.h"
#include "runtime/net/netlink.h"
#include "runtime/net/network.h"
#include "runtime/rootfs/rootfs.h"
#include "specs/config_edit.h"
#include "specs/json.h"

/* What the state holds beyond the config's annotations is far below this: the id (at most
 * 1024 bytes), bundle, rootfs and cgroup paths (PATH_MAX each) and a few numbers. */
#define STATE_SIZE_MARGIN (4 * PATH_MAX + 4096)

struct create_run {
        const struct rc_runtime *rt;
        const char *id;
        const struct rc_create_opts *o;
        struct oci_config *cfg;
        bool cfg_lent; /* cfg is o->ext->config_parsed: not ours to free */
        char *config_path;
        char *config_data;
        size_t config_len;
        char *rootfs;
        int rootfd;
        int dirfd;
        int relay_fd; /* run's terminal relay: the init's end of the console pair, or -1 */
        /* run in the foreground without --console-socket: where the console pair goes when
         * the config has a terminal (made only then), or NULL */
        int *relay_pair;
        struct rc_cgroup *cg; /* planned, then created in do_create */
        int exit_fd; /* with o->ext->init: where the init's EXIT comes (rc_spawn.exit_fd), else -1 */
        struct oci_state state;
        /* run: the state with status "created" is written once the init is released
         * (state.json says "creating" with the pid until then), off the critical path */
        bool defer_created_write;
        /* run: exec.fifo's read end is opened before the init can reach it (fifo_fd), so
         * the init does not wait for us between READY and its execve (rc_spawn.early_release) */
        bool early_release;
        int fifo_fd;
        const struct rc_restore_opts *restore; /* restore: CRIU brings the processes, not a spawn */
};

static void create_run_clear(struct create_run *c)
{
        if (!c->cfg_lent)
                oci_config_free(c->cfg);
        free(c->config_path);
        free(c->config_data);
        free(c->rootfs);
        free(c->state.created);
        rc_cgroup_free(c->cg);
        if (c->dirfd >= 0)
                close(c->dirfd);
        if (c->rootfd >= 0)
                close(c->rootfd);
        if (c->exit_fd >= 0)
                close(c->exit_fd);
        if (c->fifo_fd >= 0)
                close(c->fifo_fd);
}

static int load_config(struct create_run *c, rc_error_t *err)
{
        static const struct rc_create_ext none;
        const struct rc_create_opts *o = c->o;
        const struct rc_create_ext *x = o->ext != NULL ? o->ext : &none;
        char buf[PATH_MAX];

        if (x->config_data != NULL)
                c->config_path = strdup("config"); /* in memory (sandbox): the name in messages */
        else if (o->config_path != NULL)
                c->config_path = strdup(o->config_path);
        else if (asprintf(&c->config_path, "%s/config.json", o->bundle) < 0)
                c->config_path = NULL;
        if (c->config_path == NULL)
                return rc_error_set(err, ENOMEM, "config path");
        if (x->config_data != NULL) {
                c->config_data = strndup(x->config_data, x->config_len);
                c->config_len = x->config_len;
                if (c->config_data == NULL)
                        return rc_error_set(err, ENOMEM, "config");
        } else if (rc_read_file_at(AT_FDCWD, c->config_path, RC_STATE_FILE_MAX, &c->config_data,
                                   &c->config_len, err) < 0)
                return -1;
        if (x->config_parsed != NULL && x->config_data != NULL) {
                c->cfg = x->config_parsed;
                c->cfg_lent = true;
        } else if (oci_config_parse(c->config_data, c->config_len, c->config_path, &c->cfg, err) < 0) {
                return -1;
        }
        if (!c->cfg->has_process)
                return rc_error_set(err, 0, "%s: .process: required to create a container", c->config_path);
        if (c->cfg->root.path == NULL)
                return rc_error_set(err, 0, "%s: .root.path: required", c->config_path);
        if (c->cfg->root.path[0] == '/')
                snprintf(buf, sizeof(buf), "%s", c->cfg->root.path);
        else
                snprintf(buf, sizeof(buf), "%s/%s", o->bundle, c->cfg->root.path);
        c->rootfs = realpath(buf, NULL);
        if (c->rootfs == NULL)
                return rc_error_set(err, errno, "%s: .root.path: rootfs `%s`", c->config_path, buf);
        return 0;
}

/* In a new user namespace the init opens exec.fifo as the namespace's root: let that
 * host uid traverse the state directory (0711, nothing listable) and own the FIFO. A
 * runtime that is not root is that uid itself, and keeps the FIFO: it must read it at
 * `start`, after the init (as the process user, maybe another host uid) opened it for
 * writing, so it is writable for all (0622, as runc's), inside a state root of the
 * caller's own (0700). */
static int give_fifo_to_container_root(struct create_run *c, rc_error_t *err)
{
        const struct oci_linux *l = &c->cfg->linux_;
        uid_t uid = 0;
        gid_t gid = 0;

        if (oci_config_namespace(c->cfg, OCI_NS_USER) == NULL)
                return 0;
        if (geteuid() != 0) {
                if (fchmodat(c->dirfd, RC_FIFO_FILE, 0622, 0) < 0)
                        return rc_error_set(err, errno, "chmod exec fifo");
                return 0;
        }
        for (size_t i = 0; i < l->n_uid_mappings; i++)
                if (l->uid_mappings[i].container_id == 0)
                        uid = l->uid_mappings[i].host_id;
        for (size_t i = 0; i < l->n_gid_mappings; i++)
                if (l->gid_mappings[i].container_id == 0)
                        gid = l->gid_mappings[i].host_id;
        if (fchmod(c->dirfd, 0711) < 0)
                return rc_error_set(err, errno, "chmod state directory");
        if (fchownat(c->dirfd, RC_FIFO_FILE, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return rc_error_set(err, errno, "chown exec fifo to the container root");
        return 0;
}

/* The copy of the config, which the init never reads: written by the spawn while the
 * init sets itself up (rc_spawn.during_setup), not before the clone. A crash before it
 * leaves a state directory without config.json; delete copes (no poststop hooks). */
static int write_config_copy(void *arg, rc_error_t *err)
{
        struct create_run *c = arg;

        return rc_write_file_atomic(c->dirfd, RC_CONFIG_FILE, c->config_data, c->config_len, 0600, err);
}

/* The caller (a sandbox's journal) learns of each side effect before it is made. */
static int record_effect(struct create_run *c, enum rc_create_effect kind, const char *arg, rc_error_t *err)
{
        const struct rc_create_ext *x = c->o->ext;

        return x != NULL && x->record_effect != NULL ? x->record_effect(x->effect_data, kind, arg, err) : 0;
}

/* Socket activation (rc_create_opts.listen_fds): the fds are the container's first. */
static int set_listen_env(struct oci_config *cfg, unsigned n, rc_error_t *err)
{
        char entry[32];

        snprintf(entry, sizeof(entry), "LISTEN_FDS=%u", n);
        if (rc_config_set_env(cfg, entry, err) < 0 || rc_config_set_env(cfg, "LISTEN_PID=1", err) < 0)
                return -1;
        return 0;
}

/* restore, CRIU's namespaces made: the prestart and createRuntime hooks, as runc */
static int restored_namespaces(void *arg, pid_t pid, rc_error_t *err)
{
        struct create_run *c = arg;

        c->state.pid = pid;
        return rc_spawn_runtime_hooks(c->cfg, &c->state, NULL, NULL, err);
}

/* restore: the tasks exist, not running yet: the container is running from here on */
static int record_restored(void *arg, pid_t pid, rc_error_t *err)
{
        struct create_run *c = arg;

        c->state.status = OCI_STATUS_RUNNING;
        return rc_state_set_pid(c->dirfd, &c->state, pid, err);
}

/* restore's spawn: the network namespace made here as for a spawn (lo up, the network
 * attached into it), then CRIU restores the processes into it and into the cgroup. */
static int restore_processes(struct create_run *c, pid_t *ret_pid, rc_error_t *err)
{
        const struct oci_namespace *net = oci_config_namespace(c->cfg, OCI_NS_NETWORK);
        _cleanup_close_ int netns = -1;
        struct rc_nl_lo lo = {.fd = -1};
        pid_t pid;
        int ret;

        if (write_config_copy(c, err) < 0)
                return -1;
        if (net != NULL && net->path != NULL) {
                netns = open(net->path, O_RDONLY | O_CLOEXEC);
                if (netns < 0)
                        return rc_error_set(err, errno, "%s: .linux.namespaces: network namespace `%s`",
                                            c->config_path, net->path);
        } else if (net != NULL) {
                ret = rc_netns_make(-1, &netns, &lo, err);
                if (ret == 0)
                        ret = rc_nl_lo_up(&lo, err);
                else if (lo.fd >= 0)
                        close(lo.fd);
                if (ret < 0 || rc_network_attach_netns(c->rt, c->dirfd, netns, err) < 0)
                        return -1;
        }
        if (rc_criu_restore(&(struct rc_criu_restore){.cfg = c->cfg,
                                                      .opts = c->restore,
                                                      .bundle = c->o->bundle,
                                                      .rootfs = c->rootfs,
                                                      .console_socket = c->o->console_socket,
                                                      .cgroup_path = c->cg->path,
                                                      .netns_fd = netns,
                                                      .namespaces_ready = restored_namespaces,
                                                      .restored = record_restored,
                                                      .arg = c},
                            &pid, err) < 0)
                return -1;
        if (c->o->pid_file != NULL && rc_pid_file_write(c->o->pid_file, pid, err) < 0) {
                kill(pid, SIGKILL);
                return -1;
        }
        *ret_pid = pid;
        return 0;
}

static int do_create(struct create_run *c, pid_t *ret_pid, rc_error_t *err)
{
        struct rc_spawn sp;
        pid_t pid;
        int ret;

        if (c->cfg->process.terminal && c->o->console_socket == NULL && c->relay_pair != NULL) {
                if (rc_relay_console_pair(c->relay_pair, err) < 0)
                        return -1;
                c->relay_fd = c->relay_pair[1];
        }
        if (c->cfg->process.terminal && c->o->console_socket == NULL && c->relay_fd < 0)
                return rc_error_set(err, 0,
                                    "cannot allocate a terminal without --console-socket: "
                                    "set process.terminal to false or pass --console-socket");
        c->state = (struct oci_state){
                .oci_version = (char *)OCI_VERSION,
                .id = (char *)c->id,
                .status = OCI_STATUS_CREATING,
                .bundle = (char *)c->o->bundle,
                .annotations = c->cfg->annotations,
                .n_annotations = c->cfg->n_annotations,
                .created = rc_now_rfc3339(),
                .rootfs = c->rootfs,
                .owner = geteuid(),
        };
        /* the state carries the config's annotations: refuse what no later command could read */
        if (c->config_len + STATE_SIZE_MARGIN > RC_STATE_FILE_MAX &&
            rc_state_check_size(&c->state, c->config_path, err) < 0)
                return -1;
        if (rc_cgroup_plan(c->rt, c->cfg, c->id, &c->cg, err) < 0)
                return -1;
        /* no cgroup, or one the runtime may not attach the device program to: the rules
         * would go unenforced (runtime/rootfs/devices.c) */
        if (!rc_cgroup_enforces_devices(c->cg) &&
            rc_devices_check_unenforced(c->cfg, c->o->bundle, &c->rt->log, err) < 0)
                return rc_error_wrap(err, "%s", c->config_path);
        /* A cgroup is recorded before its mkdir, so that delete finds a leftover. Without
         * one the first state written is the one with the pid (spawn.c record_pid), before
         * the init can outlive us; until then a directory without state.json reads as
         * "creating" (stopped once our lock is gone). */
        c->state.cgroup_path = c->cg->path;
        c->state.systemd_cgroup = c->cg->ops == &rc_cgroup_ops_systemd;
        if (c->cg->path != NULL && rc_state_write(c->dirfd, &c->state, err) < 0)
                return -1;
        if (c->cg->path != NULL && record_effect(c, RC_EFFECT_CGROUP, c->cg->path, err) < 0)
                return -1;
        if (rc_cgroup_create(c->cg, c->cfg, err) < 0)
                return -1;
        if (c->restore == NULL && mkfifoat(c->dirfd, RC_FIFO_FILE, 0600) < 0)
                return rc_error_set(err, errno, "create exec fifo");
        if (c->restore == NULL && give_fifo_to_container_root(c, err) < 0)
                return -1;
        if (record_effect(c, RC_EFFECT_NETWORK, c->id, err) < 0 ||
            rc_network_prepare(c->rt, c->id, c->cfg, c->dirfd, err) < 0)
                return -1;
        if (c->restore != NULL)
                return restore_processes(c, ret_pid, err);
        if (c->o->listen_fds > 0 && set_listen_env(c->cfg, c->o->listen_fds, err) < 0)
                return -1;
        /* sd_notify: not without a mount namespace, which could not have the socket */
        if (c->rt->notify_socket != NULL && oci_config_namespace(c->cfg, OCI_NS_MOUNT) != NULL &&
            rc_notify_prepare(c->cfg, c->dirfd, err) < 0)
                return -1;
        sp = (struct rc_spawn){.rt = c->rt,
                               .cfg = c->cfg,
                               .opts = c->o,
                               .rootfs = c->rootfs,
                               .state_dirfd = c->dirfd,
                               .relay_fd = c->relay_fd,
                               .cgroup = c->cg,
                               .state = &c->state,
                               .during_setup = write_config_copy,
                               .during_setup_arg = c,
                               /* a terminal relayed by run: it sizes it and starts the
                                * relay first; one sent to --console-socket is the
                                * receiver's, as for create + start */
                               .early_release = c->early_release &&
                                                (!c->cfg->process.terminal || c->o->console_socket != NULL),
                               .fifo_fd = -1};
        /* the slow path, for tests (runtime/context.h): the copy before the clone */
        if (c->rt->slow_paths & RC_SLOW_SETUP) {
                if (write_config_copy(c, err) < 0)
                        return -1;
                sp.during_setup = NULL;
        }
        ret = rc_spawn_container(&sp, &pid, err);
        c->fifo_fd = sp.fifo_fd;
        if (ret < 0)
                return -1;
        c->exit_fd = sp.exit_fd;
        c->state.status = OCI_STATUS_CREATED;
        if ((!c->defer_created_write && rc_state_write(c->dirfd, &c->state, err) < 0) ||
            (c->o->pid_file != NULL && rc_pid_file_write(c->o->pid_file, pid, err) < 0)) {
                kill(pid, SIGKILL);
                return -1;
        }
        *ret_pid = pid;
        return 0;
}

#define CREATE_RUN_INIT(rt_, id_, o_, relay_pair_)                                                          \
        {                                                                                                   \
                .rt = (rt_), .id = (id_), .o = (o_), .rootfd = -1, .dirfd = -1, .relay_fd = -1,             \
                .relay_pair = (relay_pair_), .exit_fd = -1, .fifo_fd = -1                                   \
        }

/* c: from CREATE_RUN_INIT, cleared by the caller with create_run_clear. On success the
 * state directory stays open and locked in c->dirfd, and c->cfg and c->state describe
 * the created container (run starts it from there). */
static int create_container(struct create_run *c, pid_t *ret_pid, rc_error_t *err)
{
        const struct rc_runtime *rt = c->rt;
        rc_error_t ignored = NULL;
        int ret;

        if (rc_validate_id(c->id, err) < 0 || load_config(c, err) < 0)
                return -1;
        if (c->restore != NULL && rc_criu_restore_address(rt, c->cfg, c->id, c->restore, err) < 0)
                return -1;
        if (rc_state_root_open(rt->root, &c->rootfd, err) < 0 ||
            rc_state_dir_create(c->rootfd, c->id, &c->dirfd, err) < 0)
                return -1;
        ret = do_create(c, ret_pid, err);
        /* a step that failed on a value of the config names its JSON path (".mounts[3]: ...",
         * also from inside the init): add the file, as the parser does */
        if (ret < 0 && *err != NULL && (*err)->msg != NULL && (*err)->msg[0] == '.')
                rc_error_wrap(err, "%s", c->config_path);
        if (ret < 0) {
                if (rc_network_detach(rt, c->id, c->dirfd, &ignored) < 0)
                        rc_log(&rt->log, RC_LOG_WARNING, "%s", ignored->msg);
                rc_error_free(&ignored);
                /* a cgroup that cannot be removed keeps its record for `delete --force`;
                 * one that a frozen post-copy source is in too stays its (rc_runtime) */
                if (c->cg != NULL && !rc_cgroup_shared(rt, c->cg->path) &&
                    rc_cgroup_destroy(c->cg, &ignored) < 0)
                        rc_log(&rt->log, RC_LOG_WARNING, "%s (run \"delete --force %s\")", ignored->msg,
                               c->id);
                else
                        rc_state_dir_remove(c->rootfd, c->id, c->dirfd, &ignored);
                rc_error_free(&ignored);
        }
        return ret;
}

/* create and run --detach call rc_selfprotect_release_async first thing: the binary's detached
 * mount (runtime/isolation/selfprotect.h) is handed to a short-lived thread, so that its RCU grace
 * period passes while we create, not at our exit, where the caller waited for it (as `exec --detach` did).
 * Safe while the thread lives (it is gone long before our exit): this process never creates or joins a user
 * namespace, which a threaded process may not (EINVAL): the init does that in its own process
 * (runtime/container/init.c, the stage of a path-given namespace too); what we do ourselves is allowed to a
 * threaded process: clone3 with namespace flags and CLONE_INTO_CGROUP, setns and unshare of network
 * namespaces (runtime/net/netlink.c), the idmap writes, hooks and helpers as children; and the thread shares
 * no fs state (no CLONE_FS). The init no longer inherits a copy to close. */
int rc_container_create(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                        rc_error_t *err)
{
        struct create_run c = CREATE_RUN_INIT(rt, id, o, NULL);
        pid_t pid;
        int ret;

        rc_selfprotect_release_async();
        ret = create_container(&c, &pid, err);
        create_run_clear(&c);
        return ret;
}

#define RC_FIFO_ERROR_MAX 4096 /* the init's error text (one write below PIPE_BUF) */

/* What the init wrote into the FIFO so far, without blocking: 1 at EOF (every writer
 * gone), 0 if more may come, -1 on error. At most RC_FIFO_ERROR_MAX - 1 bytes are kept
 * (then 1 as well). */
static int read_fifo(int fifo, char *buf, size_t *len, rc_error_t *err)
{
        for (;;) {
                ssize_t n = read(fifo, buf + *len, RC_FIFO_ERROR_MAX - 1 - *len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : rc_error_set(err, errno, "read exec fifo");
                if (n == 0)
                        return 1;
                *len += (size_t)n;
                if (*len == RC_FIFO_ERROR_MAX - 1)
                        return 1;
        }
}

/* Open the FIFO without blocking and wait for EOF: the init writes its release byte,
 * then holds the write end until execve closes it, so EOF after the byte means the
 * process runs; text after the byte is the init's error (runtime/container/init.c writes
 * it there when a step after `start` fails); EOF without it, or the init's exit before it
 * ever opened the FIFO, means it died before start. The FIFO is polled for the hang-up
 * alone (no POLLIN): the byte does not wake us, one wakeup instead of two. */
static int release_init(int dirfd, int fifo_fd, pid_t pid, uint64_t start_time, bool own_child,
                        rc_error_t *err)
{
        _cleanup_close_ int fifo = fifo_fd, pidfd = -1;
        char msg[RC_FIFO_ERROR_MAX];
        size_t len = 0;
        int r;

        /* our own child, not reaped yet, cannot be a recycled pid */
        pidfd = rc_pidfd_open(pid, 0);
        if (pidfd < 0 || (!own_child && !rc_pid_matches(pid, start_time)))
                return rc_error_set(err, 0, "container init (pid %d) is gone", pid);
        if (fifo < 0)
                fifo = openat(dirfd, RC_FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return rc_error_set(err, errno, "open exec fifo");
        for (bool exited = false;;) {
                struct pollfd p[2] = {{.fd = fifo, .events = 0}, {.fd = pidfd, .events = POLLIN}};

                /* once the init is gone, only the FIFO's hang-up is left to wait for */
                if (poll(p, exited ? 1 : 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return rc_error_set(err, errno, "wait for the container init");
                }
                exited = exited || (p[1].revents & POLLIN);
                if (!(p[0].revents & (POLLHUP | POLLERR)) && !exited)
                        continue;
                r = read_fifo(fifo, msg, &len, err);
                if (r < 0)
                        return -1;
                if (len == 0 && (r == 1 || exited))
                        return rc_error_set(err, 0, "container init (pid %d) exited before start", pid);
                if (r == 0)
                        continue; /* released, the write end still open: wait for its hang-up */
                if (len == 1)
                        return 0;
                msg[len] = '\0';
                return rc_error_set(err, 0, "container process (pid %d): %s", pid, msg + 1);
        }
}

/* cfg: the container's config, or NULL to read the one saved at create. */
static void run_poststart(const struct rc_runtime *rt, int dirfd, struct oci_state *st,
                          const struct oci_config *cfg)
{
        _cleanup_free_ char *json = NULL;
        struct oci_config *loaded = NULL;
        rc_error_t err = NULL;
        size_t jlen = 0;

        if (cfg == NULL) {
                if (rc_state_load_config(dirfd, st->id, &loaded, &err) < 0)
                        goto out;
                cfg = loaded;
        }
        if (cfg->hooks[OCI_HOOK_POSTSTART].n == 0)
                goto out;
        st->status = OCI_STATUS_RUNNING;
        if (oci_state_to_json(st, 0, &json, &jlen, &err) < 0)
                goto out;
        rc_hooks_run(&cfg->hooks[OCI_HOOK_POSTSTART], OCI_HOOK_POSTSTART, json, jlen, &rt->log, &err);
out:
        if (err != NULL)
                rc_log(&rt->log, RC_LOG_WARNING, "poststart: %s", err->msg);
        rc_error_free(&err);
        oci_config_free(loaded);
}

/* The start proper, the state directory locked: release the init, retire the FIFO, run
 * the poststart hooks (cfg as for run_poststart). sd_notify: ret_notify_fd NULL waits
 * here for READY; otherwise the caller gets the socket to relay from (-1: none). fifo_fd:
 * exec.fifo's read end opened before (run's early release; taken over), or -1. */
static int start_locked(const struct rc_runtime *rt, int dirfd, int fifo_fd, struct oci_state *st,
                        const struct oci_config *cfg, bool own_child, bool write_state, int *ret_notify_fd,
                        rc_error_t *err)
{
        _cleanup_close_ int notify_fd = -1, fifo = fifo_fd;

        /* sd_notify: the container's socket exists before its program runs */
        if (rt->notify_socket != NULL && rc_notify_listen(dirfd, &notify_fd, err) < 0)
                return -1;
        if (release_init(dirfd, TAKE_FD(fifo), st->pid, st->pid_start_time, own_child, err) < 0)
                return -1;
        /* run: the state create left unwritten, written while the released init drops its
         * privileges and execs (the status is derived from the FIFO from now on) */
        if (write_state) {
                rc_log(&rt->log, RC_LOG_DEBUG, "fast path created: the state is written after the release");
                if (rc_state_write(dirfd, st, err) < 0)
                        return -1;
        }
        if (unlinkat(dirfd, RC_FIFO_FILE, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove exec fifo");
        /* as runc and crun: started once the container says READY (or its init is gone) */
        if (ret_notify_fd != NULL)
                *ret_notify_fd = TAKE_FD(notify_fd);
        else if (notify_fd >= 0 && rc_notify_relay(notify_fd, st->pid, rt->notify_socket, err) < 0)
                return -1;
        run_poststart(rt, dirfd, st, cfg);
        return 0;
}

int rc_container_start(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct oci_state *st = NULL;
        int ret = -1;

        if (rc_validate_id(id, err) < 0 || rc_state_root_open(rt->root, &rootfd, err) < 0 ||
            rc_state_dir_open(rootfd, id, &dirfd, err) < 0 || rc_state_read(dirfd, id, &st, err) < 0 ||
            rc_state_refresh(dirfd, st, err) < 0)
                goto out;
        rc_cgroup_status_overlay(st); /* a frozen init could never take the start */
        if (st->status != OCI_STATUS_CREATED) {
                rc_error_set(err, 0, "cannot start container \"%s\": it is %s, not created", id,
                             oci_status_name(st->status));
                goto out;
        }
        ret = start_locked(rt, dirfd, -1, st, NULL, false, false, NULL, err);
out:
        oci_state_free(st);
        return ret;
}

/* Drop the lock create left held (closing the directory). */
static void create_run_unlock(struct create_run *c)
{
        if (c->dirfd >= 0)
                close(c->dirfd);
        c->dirfd = -1;
}

struct run_wait {
        const struct rc_runtime *rt;
        const char *id;
        const struct rc_run_opts *ro;
        bool init; /* create's `init`: it passes stop signals on to every process */
        pid_t pid;
        bool fired; /* timeout_ms expired */
        int stop_signal;
        bool stop_killed;
};

/* The whole tree: cgroup.kill, or SIGKILL to the init of its own pid namespace. */
static void kill_all(struct run_wait *w, const char *why)
{
        _cleanup_error_ rc_error_t e = NULL;

        rc_log(&w->rt->log, RC_LOG_INFO, "container \"%s\": %s, killing it", w->id, why);
        if (rc_container_kill(w->rt, w->id, SIGKILL, true, &e) < 0) {
                rc_log(&w->rt->log, RC_LOG_WARNING, "%s", e->msg);
                kill(w->pid, SIGKILL);
        }
}

static void kill_on_timeout(void *data)
{
        struct run_wait *w = data;

        w->fired = true;
        kill_all(w, "timeout expired");
}

static void kill_on_stop_timeout(void *data)
{
        struct run_wait *w = data;

        w->stop_killed = true;
        kill_all(w, "stop timeout expired");
}

/* stop_all: a stop signal goes to every process; the first arms the stop timeout. Our
 * init passes it on itself (signalling all, the init too, would give the process a
 * second one through it): it is forwarded to the init as any other. */
static bool on_signal(void *data, int sig, int *ret_arm_ms)
{
        struct run_wait *w = data;
        _cleanup_error_ rc_error_t e = NULL;

        if (!w->ro->stop_all || !rc_reaper_signal_is_stop(sig))
                return false;
        if (w->stop_signal == 0) {
                w->stop_signal = sig;
                *ret_arm_ms = w->ro->stop_timeout_ms > INT32_MAX ? INT32_MAX : (int)w->ro->stop_timeout_ms;
        }
        if (w->init)
                return false;
        if (rc_container_kill(w->rt, w->id, sig, true, &e) < 0)
                rc_log(&w->rt->log, RC_LOG_WARNING, "%s", e->msg);
        return true;
}

/* The process' own status, which the init sent before it exited (none if it was killed:
 * then its own status is the process'). The init is gone: nothing blocks here. */
static void read_process_status(int exit_fd, struct rc_run_result *res)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_sync_msg m = {0};
        int flags = fcntl(exit_fd, F_GETFL);

        if (flags < 0 || fcntl(exit_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
            rc_sync_expect(exit_fd, RC_SYNC_EXIT, "container init", &m, &e) < 0)
                return;
        res->has_process_status = true;
        res->process_wait_status = m.value;
        rc_sync_msg_clear(&m);
}

static int wait_container(const struct rc_runtime *rt, const char *id, const struct rc_run_opts *ro,
                          const struct create_run *c, struct rc_relay *relay, pid_t pid, int sfd,
                          int *ret_status, rc_error_t *err)
{
        struct run_wait w = {
                .rt = rt, .id = id, .ro = ro, .init = c->o->ext != NULL && c->o->ext->init, .pid = pid};
        struct rc_run_result *res = ro->result;
        struct rc_relay_wait_opts wo = {.timeout_ms = ro->timeout_ms,
                                        .on_timeout = kill_on_timeout,
                                        .on_signal = on_signal,
                                        .on_stop_timeout = kill_on_stop_timeout,
                                        .data = &w};

        if (res != NULL) {
                wo.ret_wstatus = &res->wait_status;
                wo.ret_rusage = &res->rusage;
        }
        if (rc_relay_wait_ex(relay, pid, sfd, &wo, ret_status, err) < 0)
                return -1;
        if (res != NULL) {
                clock_gettime(CLOCK_MONOTONIC, &res->ended);
                res->exited = true;
                res->timed_out = w.fired;
                res->stop_signal = w.stop_signal;
                res->stop_killed = w.stop_killed;
                if (c->exit_fd >= 0)
                        read_process_status(c->exit_fd, res);
        }
        return 0;
}

/* create + start; in the foreground the runtime relays the terminal itself when the
 * process has one and no --console-socket was given (runtime/container/relay.h). */
int rc_container_run(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                     const struct rc_run_opts *ro, int *ret_status, rc_error_t *err)
{
        struct rc_relay relay = {.master = -1};
        struct rc_notify_bg notify = {.fd = -1, .pidfd = -1};
        _cleanup_close_ int notify_fd = -1;
        int pair[2] = {-1, -1}, sfd = -1, master = -1, ret = -1;
        struct create_run c;
        rc_error_t derr = NULL;
        sigset_t old;
        pid_t pid;

        *ret_status = 0;
        if (ro->detach)
                rc_selfprotect_release_async();
        if (!ro->detach && !ro->no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "become a subreaper");
        /* create and start under one hold of the lock, with the state and config in memory;
         * the terminal relay's pair made there when the config has a terminal */
        c = (struct create_run)CREATE_RUN_INIT(rt, id, o,
                                               !ro->detach && o->console_socket == NULL ? pair : NULL);
        c.defer_created_write = !ro->detach && !(rt->slow_paths & RC_SLOW_CREATED);
        /* not with sd_notify: its socket must exist before the process runs (start_locked) */
        c.early_release = rt->notify_socket == NULL && !(rt->slow_paths & RC_SLOW_RELEASE);
        if (create_container(&c, &pid, err) < 0)
                goto out;
        if (!ro->detach) {
                sfd = rc_relay_block_signals(&old, err);
                if (sfd < 0)
                        goto fail;
        }
        if (c.cfg->process.terminal && pair[0] >= 0 &&
            (rc_terminal_recv(pair[0], &master, err) < 0 ||
             rc_relay_start(&relay, master, STDIN_FILENO, STDOUT_FILENO, err) < 0))
                goto fail;
        if (ro->result != NULL) {
                *ro->result = (struct rc_run_result){.pid = pid};
                clock_gettime(CLOCK_MONOTONIC, &ro->result->started);
        }
        ret = start_locked(rt, c.dirfd, TAKE_FD(c.fifo_fd), &c.state, c.cfg, true, c.defer_created_write,
                           ro->detach ? NULL : &notify_fd, err);
        create_run_unlock(&c);
        if (ret == 0 && notify_fd >= 0)
                ret = rc_notify_bg_start(&notify, TAKE_FD(notify_fd), pid, rt->notify_socket, err);
        if (ret < 0)
                goto fail;
        if (ro->detach)
                goto out;
        /* the process runs: the binary's detached mount dissolves while it does (its RCU
         * grace period, runtime/isolation/selfprotect.h, off the start's path) */
        rc_selfprotect_release();
        ret = wait_container(rt, id, ro, &c, &relay, pid, sfd, ret_status, err);
        rc_notify_bg_join(&notify, &rt->log);
        rc_relay_stop(&relay);
        if (ret == 0 && ro->before_delete != NULL)
                ro->before_delete(rt, id, ro->result, ro->data);
        /* waited for: the init is reaped, the state in memory is the one we wrote */
        if (!ro->keep && ret == 0)
                ret = rc_container_delete_reaped(rt, c.rootfd, id, c.cfg, &c.state, err);
        else if (!ro->keep)
                rc_container_delete_known(rt, c.rootfd, id, c.cfg, true, &derr);
        goto out;
fail:
        ret = -1;
        rc_relay_stop(&relay);
        if (notify.running)
                kill(pid, SIGKILL); /* the relay ends with the init */
        rc_notify_bg_join(&notify, &rt->log);
        create_run_unlock(&c);
        rc_container_delete_known(rt, c.rootfd, id, c.cfg, true, &derr);
out:
        create_run_clear(&c);
        rc_relay_stop(&relay);
        rc_error_free(&derr);
        if (sfd >= 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                close(sfd);
        }
        for (int i = 0; i < 2; i++)
                if (pair[i] >= 0)
                        close(pair[i]);
        return ret;
}

int rc_container_restore(const struct rc_runtime *rt, const char *id, const struct rc_create_opts *o,
                         const struct rc_restore_opts *ro, int *ret_status, rc_error_t *err)
{
        struct rc_relay relay = {.master = -1};
        struct rc_run_opts run_opts = {.detach = ro->detach};
        struct create_run c = CREATE_RUN_INIT(rt, id, o, NULL);
        rc_error_t derr = NULL;
        int sfd = -1, ret = -1;
        sigset_t old;
        pid_t pid;

        *ret_status = 0;
        /* the restored init is our child (CRIU's rst_sibling); its orphans come to us too */
        if (!ro->detach && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "become a subreaper");
        c.restore = ro;
        if (create_container(&c, &pid, err) < 0)
                goto out;
        create_run_unlock(&c);
        ret = 0;
        if (ro->detach)
                goto out;
        sfd = rc_relay_block_signals(&old, err);
        ret = sfd < 0 ? -1 : wait_container(rt, id, &run_opts, &c, &relay, pid, sfd, ret_status, err);
        if (rc_container_delete_known(rt, c.rootfd, id, c.cfg, true, ret < 0 ? &derr : err) < 0 && ret == 0)
                ret = -1;
out:
        create_run_clear(&c);
        rc_error_free(&derr);
        if (sfd >= 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                close(sfd);
        }
        return ret;
}
