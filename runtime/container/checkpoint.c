/* checkpoint, and CRIU's half of restore: runc's and crun's commands through libcriu
 * (runtime/container/criu.h). What CRIU is told, and why:
 * - root: the container's rootfs; CRIU dumps the mount namespace relative to it. At
 *   restore it must be a mount point whose parent is not overmounted: the rootfs is bound
 *   onto itself in a mount namespace of the runtime's own, so nothing can be left mounted.
 * - bind mounts of the config are external to the image: dumped by their destination and
 *   restored from their source (runc's mapping);
 * - the container's network namespace is external too (RC_CRIU_EXT_NETNS): restore hands
 *   CRIU a namespace that the create path made and plumbed;
 * - the cgroup: the dump freezes it (cgroup v2 freezer); at restore the create path has
 *   made it with the config's limits and CRIU puts the tasks there (its cgroup root);
 * - fds 0-2 of the init that are pipes come from the restoring caller's fds 0-2
 *   (RC_CRIU_DESCRIPTORS, as runc); a terminal's master goes to --console-socket. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/container.h"
#include "runtime/container/criu.h"
#include "runtime/container/internal.h"
#include "runtime/container/state.h"
#include "runtime/isolation/terminal.h"
#include "runtime/net/network.h"
#include "specs/config.h"
#include "specs/config_edit.h"
#include "specs/json.h"

static void criu_opts_freep(criu_opts **o)
{
        if (*o != NULL)
                criu_local_free_opts(*o);
}
#define _cleanup_criu_opts_ __attribute__((cleanup(criu_opts_freep)))

/* Open a directory; with ret_created, make it (0700) if missing and say so. */
static int open_dir(const char *path, bool *ret_created, int *ret_fd, const char *what, rc_error_t *err)
{
        int fd;

        if (ret_created != NULL) {
                *ret_created = mkdir(path, 0700) == 0;
                if (!*ret_created && errno != EEXIST)
                        return rc_error_set(err, errno, "create %s `%s`", what, path);
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "%s `%s`", what, path);
        *ret_fd = fd;
        return 0;
}

static enum criu_cg_mode cg_mode(enum rc_criu_cg_mode m)
{
        switch (m) {
        case RC_CRIU_CG_FULL:
                return CRIU_CG_MODE_FULL;
        case RC_CRIU_CG_STRICT:
                return CRIU_CG_MODE_STRICT;
        case RC_CRIU_CG_IGNORE:
                return CRIU_CG_MODE_IGNORE;
        default:
                return CRIU_CG_MODE_SOFT; /* runc's and crun's default */
        }
}

/* What checkpoint and restore set alike. */
static int set_common(criu_opts *o, const struct rc_criu_opts *c, int imgfd, int workfd, const char *log,
                      rc_error_t *err)
{
        criu_local_set_images_dir_fd(o, imgfd);
        if (workfd >= 0)
                criu_local_set_work_dir_fd(o, workfd);
        criu_local_set_log_level(o, CRIU_LOG_DEBUG);
        if (criu_local_set_log_file(o, log) < 0)
                return rc_error_set(err, ENOMEM, "criu options");
        criu_local_set_tcp_established(o, c->tcp_established);
        criu_local_set_ext_unix_sk(o, c->ext_unix_sk);
        criu_local_set_shell_job(o, c->shell_job);
        criu_local_set_file_locks(o, c->file_locks);
        criu_local_set_orphan_pts_master(o, true);
        criu_local_set_manage_cgroups(o, true);
        criu_local_set_manage_cgroups_mode(o, cg_mode(c->cg_mode));
        if (c->empty_netns) {
                rc_criu_request(o)->has_empty_ns = true;
                rc_criu_request(o)->empty_ns = CLONE_NEWNET;
        }
        /* The container's network is locked while it is frozen, and unlocked at restore.
         * CRIU's default, iptables, execs iptables-restore and ip6tables-restore; the
         * nftables method is libnftables calls in CRIU (Debian's criu links it). The lock
         * took 0.10-0.56 s (median 0.16) of a dump's frozen time with iptables, 0.03-0.33 s
         * (median 0.06) with nftables, in 8 dumps each in the tests/vm guest
         * (tests/bench/bench_migrate.sh -k: CRIU's log). */
        if (criu_local_set_network_lock(o, CRIU_NETWORK_LOCK_NFTABLES) < 0)
                return rc_error_set(err, ENOMEM, "criu options: network lock");
        return 0;
}

static bool is_bind(const struct oci_mount *m)
{
        return m->is_bind || (m->flags & MS_BIND);
}

/* The config's bind mounts are external: key the destination; at restore the source
 * (relative to the bundle when relative), at dump the destination again (runc's way). */
static int add_bind_mounts(criu_opts *o, const struct oci_config *cfg, const char *bundle, bool restore,
                           rc_error_t *err)
{
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                char src[PATH_MAX];
                const char *val = m->destination;

                if (!is_bind(m) || m->source == NULL)
                        continue;
                if (m->extra & OCI_MOUNT_SRC_NOFOLLOW)
                        return rc_error_set(
                                err, 0, ".mounts[%zu]: CRIU cannot restore a `src-nofollow` bind mount", i);
                if (restore && m->source[0] == '/') {
                        val = m->source;
                } else if (restore) {
                        if ((size_t)snprintf(src, sizeof(src), "%s/%s", bundle, m->source) >= sizeof(src))
                                return rc_error_set(err, ENAMETOOLONG, ".mounts[%zu].source", i);
                        val = src;
                }
                if (criu_local_add_ext_mount(o, m->destination, val) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: external mount `%s`",
                                            m->destination);
        }
        return 0;
}

/* ---- checkpoint ---------------------------------------------------------------------- */

/* Whether mount `mnt_id` is one of the container's (its /proc/PID/mountinfo). */
static bool mount_visible(pid_t pid, int mnt_id)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        char path[64];
        size_t cap = 0;

        snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
        f = fopen(path, "re");
        while (f != NULL && getline(&line, &cap, f) > 0)
                if (atoi(line) == mnt_id)
                        return true;
        return false;
}

static int fd_mnt_id(pid_t pid, int fd)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        char path[64];
        size_t cap = 0;

        snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
        f = fopen(path, "re");
        while (f != NULL && getline(&line, &cap, f) > 0)
                if (strncmp(line, "mnt_id:", 7) == 0)
                        return atoi(line + 7);
        return -1;
}

/* What fds 0-2 of the init are, as a JSON array of strings (runc's descriptors.json):
 * readlink(2)'s text, and for a file on a mount the container does not see (the /dev/null
 * or log file it was started with) CRIU's key of an external file, "file[MNT:INODE]"
 * (hex): CRIU could not dump it, restore hands over the caller's fd instead. */
static int write_descriptors(criu_opts *o, int imgfd, pid_t pid, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "%s", RC_CRIU_DESCRIPTORS);
        json_gen_array_open(g);
        for (int fd = 0; fd < 3; fd++) {
                char link[64], target[PATH_MAX];
                struct stat st;
                ssize_t n;
                int mnt;

                snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
                n = readlink(link, target, sizeof(target) - 1);
                if (n < 0) {
                        json_gen_null(g); /* closed */
                        continue;
                }
                target[n] = '\0';
                mnt = target[0] == '/' ? fd_mnt_id(pid, fd) : -1;
                if (mnt >= 0 && !mount_visible(pid, mnt) && stat(link, &st) == 0) {
                        snprintf(target, sizeof(target), "file[%x:%llx]", (unsigned)mnt,
                                 (unsigned long long)st.st_ino);
                        if (criu_local_add_external(o, target) < 0)
                                return rc_error_set(err, ENOMEM, "criu options: external `%s`", target);
                }
                json_gen_string(g, target);
        }
        json_gen_array_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(imgfd, RC_CRIU_DESCRIPTORS, doc, len, 0600, err);
}

/* The masked directories (.linux.maskedPaths: an empty read-only tmpfs each, rootfs.c)
 * are external to the image, keyed by their path: CRIU would otherwise run one tar and
 * gzip for each at the dump and one tar at the restore, inside the frozen window, for
 * nothing. The restore binds an empty read-only tmpfs of its own there (RC_CRIU_MASKED).
 * Only a directory that is still such a mount is: a masked file (/dev/null bound) or a
 * path that was not there is dumped as CRIU finds it. */
static bool masked_tmpfs(int procroot, const char *path)
{
        bool rdonly = false;

        return rc_criu_tmpfs_root(procroot, path, &rdonly) && rdonly;
}

static int add_masked_dirs(criu_opts *o, const struct oci_config *cfg, pid_t pid, const char *restore_src,
                           rc_error_t *err)
{
        _cleanup_close_ int procroot = -1;
        char path[64];

        if (restore_src == NULL) {
                snprintf(path, sizeof(path), "/proc/%d/root", pid);
                procroot = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (procroot < 0)
                        return rc_error_set(err, errno, "open `%s`", path);
        }
        for (size_t i = 0; i < cfg->linux_.n_masked_paths; i++) {
                const char *m = cfg->linux_.masked_paths[i];

                if (restore_src == NULL && !masked_tmpfs(procroot, m))
                        continue;
                if (criu_local_add_ext_mount(o, m, restore_src != NULL ? restore_src : m) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: external mount `%s`", m);
        }
        return 0;
}

/* The container's own network namespace (one it did not join by path) stays out of the
 * image: CRIU gets it as external, by inode. */
static int add_external_netns(criu_opts *o, const struct oci_config *cfg, pid_t pid, rc_error_t *err)
{
        const struct oci_namespace *ns = oci_config_namespace(cfg, OCI_NS_NETWORK);
        char path[64], key[128];
        struct stat st;

        if (ns == NULL)
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
        if (stat(path, &st) < 0)
                return rc_error_set(err, errno, "stat `%s`", path);
        snprintf(key, sizeof(key), "net[%lu]:%s", (unsigned long)st.st_ino, RC_CRIU_EXT_NETNS);
        if (criu_local_add_external(o, key) < 0)
                return rc_error_set(err, ENOMEM, "criu options: external `%s`", key);
        return 0;
}

/* The attachment on network `net` of container `id` of this state root, or (id NULL)
 * the one holding address `ip`; 0 if none. */
static int find_attachment(const struct rc_runtime *rt, const char *net, const char *id, uint32_t ip,
                           struct rc_attachment *ret, rc_error_t *err)
{
        struct rc_attachment *v = NULL;
        size_t n = 0;
        int found = 0;

        if (rc_network_attachments(rt, net, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n && !found; i++) {
                if (id != NULL ? strcmp(v[i].container, id) == 0 &&
                                         strcmp(v[i].root, rc_state_root_path(rt->root)) == 0
                               : v[i].address == ip) {
                        *ret = v[i];
                        v[i] = (struct rc_attachment){0};
                        found = 1;
                }
        }
        rc_attachment_list_free(v, n);
        return found;
}

/* The container's network and address, kept with the image (RC_CRIU_NETWORK). */
static int write_network(const struct rc_runtime *rt, criu_opts *o, const struct oci_config *cfg,
                         const char *id, int imgfd, rc_error_t *err)
{
        const char *net = NULL, *ip = NULL, *ports = NULL, *dests[2];
        _cleanup_json_gen_ json_gen *g = NULL;
        _cleanup_free_ char *doc = NULL;
        struct rc_attachment a = {0};
        char addr[RC_IP_STRLEN];
        size_t len = 0, n;
        int r;

        if (rc_network_from_annotations(cfg, &net, &ip, &ports, err) < 0)
                return -1;
        if (net == NULL)
                return 0;
        r = find_attachment(rt, net, id, 0, &a, err);
        if (r <= 0)
                return r;
        rc_ip_format(a.address, addr);
        rc_attachment_clear(&a);
        /* the files the network bound in from the state directory are external too */
        n = rc_network_bind_destinations(cfg, dests);
        for (size_t i = 0; i < n; i++)
                if (criu_local_add_ext_mount(o, dests[i], dests[i]) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: external mount `%s`", dests[i]);
        g = json_gen_new(false);
        if (g == NULL)
                return rc_error_set(err, ENOMEM, "%s", RC_CRIU_NETWORK);
        json_gen_object_open(g);
        json_gen_kv_string(g, "network", net);
        json_gen_kv_string(g, "address", addr);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(imgfd, RC_CRIU_NETWORK, doc, len, 0600, err);
}

/* "ADDRESS:PORT" (the last colon splits, so an IPv6 address may have its own); *ret_addr
 * is malloc'ed. */
static int parse_page_server(const char *spec, char **ret_addr, int *ret_port, rc_error_t *err)
{
        _cleanup_free_ char *addr = strdup(spec);
        char *colon = addr != NULL ? strrchr(addr, ':') : NULL;
        char *end = NULL;
        long port;

        if (addr == NULL)
                return rc_error_set(err, ENOMEM, "--page-server");
        if (colon == NULL || colon == addr)
                return rc_error_set(err, 0, "--page-server \"%s\": expected ADDRESS:PORT", spec);
        *colon = '\0';
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || *end != '\0' || port <= 0 || port > 65535)
                return rc_error_set(err, 0, "--page-server \"%s\": invalid port", spec);
        *ret_addr = TAKE_PTR(addr);
        *ret_port = (int)port;
        return 0;
}

static int set_page_server(criu_opts *o, const char *spec, rc_error_t *err)
{
        _cleanup_free_ char *addr = NULL;
        int port;

        if (parse_page_server(spec, &addr, &port, err) < 0)
                return -1;
        /* libcriu 3.17 returns -ENOMEM even when it succeeds: what it set tells */
        (void)criu_local_set_page_server_address_port(o, addr, port);
        if (rc_criu_request(o)->ps == NULL || rc_criu_request(o)->ps->address == NULL)
                return rc_error_set(err, ENOMEM, "criu options: page server");
        return 0;
}

/* checkpoint --lazy-pages (runc's): CRIU dumps all but the memory, then serves it from
 * the frozen tasks at the page server address until `criu lazy-pages` of the restore has
 * fetched every page; the address goes with the image (RC_CRIU_LAZY). */
int rc_criu_write_lazy(int imgfd, const char *page_server, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "%s", RC_CRIU_LAZY);
        json_gen_object_open(g);
        json_gen_kv_string(g, "pageServer", page_server);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(imgfd, RC_CRIU_LAZY, doc, len, 0600, err);
}

static int set_lazy_dump(criu_opts *o, const struct rc_checkpoint_opts *opts, int imgfd, rc_error_t *err)
{
        if (opts->pre_dump)
                return rc_error_set(err, 0, "--lazy-pages and --pre-dump: a pre-dump has no lazy part");
        if (opts->page_server == NULL)
                return rc_error_set(err, 0,
                                    "--lazy-pages needs --page-server ADDRESS:PORT (where the dump "
                                    "serves the memory to the restore)");
        rc_criu_request(o)->has_lazy_pages = true;
        rc_criu_request(o)->lazy_pages = true;
        return rc_criu_write_lazy(imgfd, opts->page_server, err);
}

/* libcriu's notify callback takes no data pointer: the --status-fd of this process's one
 * dump, told (a NUL byte, then closed: runc's protocol) once the lazy dump serves pages. */
static int dump_status_fd = -1;
/* ... and the tmpfs mounts it archives at post-dump (criu_tmpfs.c), with the error. */
static struct dump_tmpfs {
        const struct rc_criu_tmpfs *t;
        int imgfd;
        rc_error_t err;
} * dump_tmpfs;

static int on_dump_notify(char *action, criu_notify_arg_t na)
{
        (void)na;
        /* a lazy dump comes here after post-dump (CRIU's cr_dump_finish: post-dump, then
         * the page server, which tells status-ready once it listens), the tasks frozen
         * still: if their tmpfs archives failed, no restore may begin (it would find
         * them missing); refused, the page server does not start, the dump fails and
         * CRIU lets the tasks run on */
        if (strcmp(action, "status-ready") == 0 && dump_tmpfs != NULL && dump_tmpfs->err != NULL)
                return -1;
        if (strcmp(action, "status-ready") == 0 && dump_status_fd >= 0) {
                if (write(dump_status_fd, "", 1) != 1)
                        return -1;
                close(dump_status_fd);
                dump_status_fd = -1;
        }
        /* the tasks are frozen still: CRIU kills or resumes them after this reply (and
         * resumes them if it says no) */
        if (strcmp(action, "post-dump") == 0 && dump_tmpfs != NULL && dump_tmpfs->err == NULL)
                return rc_criu_tmpfs_dump_write(dump_tmpfs->t, dump_tmpfs->imgfd, &dump_tmpfs->err) < 0 ? -1
                                                                                                        : 0;
        return 0;
}

/* Everything CRIU is told for one dump of st's container. */
static int dump_opts(const struct rc_runtime *rt, criu_opts *o, const struct oci_state *st,
                     const struct oci_config *cfg, const struct rc_checkpoint_opts *opts, int imgfd,
                     struct rc_criu_tmpfs *tmpfs, rc_error_t *err)
{
        char freezer[PATH_MAX];

        criu_local_set_pid(o, st->pid);
        if (opts->parent_path != NULL) {
                struct stat sb;

                if (opts->parent_path[0] == '/')
                        return rc_error_set(err, 0,
                                            "--parent-path \"%s\": must be relative to the image path",
                                            opts->parent_path);
                if (fstatat(imgfd, opts->parent_path, &sb, 0) < 0 || !S_ISDIR(sb.st_mode))
                        return rc_error_set(err, errno ? errno : ENOTDIR, "--parent-path \"%s\" (in `%s`)",
                                            opts->parent_path, opts->criu.image_path);
                if (criu_local_set_parent_images(o, opts->parent_path) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: parent images");
        }
        criu_local_set_track_mem(o, opts->pre_dump || opts->parent_path != NULL);
        if (opts->page_server != NULL && set_page_server(o, opts->page_server, err) < 0)
                return -1;
        if (opts->criu.lazy_pages && set_lazy_dump(o, opts, imgfd, err) < 0)
                return -1;
        if (opts->has_status_fd) {
                if (fcntl(opts->status_fd, F_GETFL) < 0)
                        return rc_error_set(err, errno, "--status-fd %d", opts->status_fd);
                dump_status_fd = opts->status_fd;
                criu_local_set_notify_cb(o, on_dump_notify);
        }
        criu_local_set_auto_dedup(o, opts->auto_dedup);
        criu_local_set_leave_running(o, opts->leave_running);
        if (st->cgroup_path != NULL) {
                snprintf(freezer, sizeof(freezer), "%s%s", RC_CGROUP_MOUNT, st->cgroup_path);
                if (criu_local_set_freeze_cgroup(o, freezer) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: freezer");
        }
        if (opts->pre_dump)
                return 0; /* memory only: no mounts, namespaces or fds */
        if (criu_local_set_root(o, st->rootfs) < 0)
                return rc_error_set(err, ENOMEM, "criu options: root");
        if (add_bind_mounts(o, cfg, st->bundle, false, err) < 0)
                return rc_error_wrap(err, "%s/config.json", st->bundle);
        if (add_masked_dirs(o, cfg, st->pid, NULL, err) < 0)
                return -1;
        if (rc_criu_tmpfs_dump_prepare(o, cfg, st->pid, imgfd, tmpfs, err) < 0)
                return -1;
        if (tmpfs->n > 0)
                criu_local_set_notify_cb(o, on_dump_notify);
        if (add_external_netns(o, cfg, st->pid, err) < 0 ||
            write_network(rt, o, cfg, st->id, imgfd, err) < 0)
                return -1;
        return write_descriptors(o, imgfd, st->pid, err);
}

/* After a post-copy dump: whether the copy restored under opts->handover_root is in
 * this container's cgroup (the same host and path), which the source must then leave. */
static bool handed_over(const struct rc_runtime *rt, const struct rc_checkpoint_opts *opts,
                        const struct oci_state *st)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_runtime at = *rt;
        struct oci_state *there = NULL;
        bool same;

        if (opts->handover_root == NULL || st->cgroup_path == NULL)
                return false;
        at.root = opts->handover_root;
        if (rc_container_state(&at, st->id, &there, &e) < 0)
                return false;
        same = there->cgroup_path != NULL && strcmp(there->cgroup_path, st->cgroup_path) == 0 &&
               there->systemd_cgroup == st->systemd_cgroup;
        oci_state_free(there);
        return same;
}

/* The dump proper, the state directory locked; *created: the image directory was made
 * here (the caller removes it again if the checkpoint fails). */
static int checkpoint_locked(const struct rc_runtime *rt, int rootfd, int dirfd, const struct oci_state *st,
                             const struct rc_checkpoint_opts *opts, bool *created, rc_error_t *err)
{
        const char *id = st->id, *work_path = opts->criu.work_path;
        _cleanup_criu_opts_ criu_opts *o = NULL;
        _cleanup_close_ int imgfd = -1, workfd = -1;
        struct rc_criu_swrk swrk = {.sock = -1};
        struct oci_config *cfg = NULL;
        struct rc_criu_tmpfs tmpfs = {0};
        struct dump_tmpfs dt = {.t = &tmpfs};
        char what[1200];
        int ret = -1, markfd = -1;

        if (rc_state_load_config(dirfd, id, &cfg, err) < 0)
                return -1;
        if (rc_criu_load(err) < 0 || criu_local_init_opts(&o) < 0) {
                if (*err == NULL)
                        rc_error_set(err, ENOMEM, "criu options");
                goto out;
        }
        if (open_dir(opts->criu.image_path, created, &imgfd, "image path", err) < 0 ||
            (work_path != NULL && open_dir(work_path, NULL, &workfd, "work path", err) < 0) ||
            set_common(o, &opts->criu, imgfd, workfd, RC_CRIU_DUMP_LOG, err) < 0 ||
            dump_opts(rt, o, st, cfg, opts, imgfd, &tmpfs, err) < 0)
                goto out;
        /* a plain checkpoint marks its dump for whoever finds it killed (checkpoint_gc.c);
         * migrate's own lock (hold_fd) and work directory do that for its dumps */
        if (opts->criu.hold_fd <= 0 &&
            rc_checkpoint_mark(dirfd, st->status == OCI_STATUS_PAUSED, &markfd, err) < 0)
                goto out;
        if (rc_criu_swrk_start(o, opts->criu.hold_fd > 0 ? opts->criu.hold_fd : markfd, &swrk, err) < 0)
                goto out;
        dt.imgfd = imgfd;
        dump_tmpfs = &dt;
        ret = opts->pre_dump ? criu_local_pre_dump(o) : criu_local_dump(o);
        dump_tmpfs = NULL;
        rc_criu_swrk_finish(&swrk);
        rc_checkpoint_unmark(dirfd, &markfd);
        if (ret < 0 && dt.err != NULL) {
                /* CRIU resumed the container */
                rc_error_move(err, &dt.err);
                rc_error_wrap(err, "checkpoint container \"%s\"", id);
                ret = -1;
                goto out;
        }
        if (ret < 0) {
                /* a log in an image directory made here goes with it: the error has its reason */
                snprintf(what, sizeof(what), "checkpoint container \"%s\"", id);
                rc_criu_fail(ret, workfd >= 0 ? workfd : imgfd,
                             work_path != NULL ? work_path : (*created ? NULL : opts->criu.image_path),
                             RC_CRIU_DUMP_LOG, what, err);
                ret = -1;
                goto out;
        }
        /* CRIU killed the processes: the container goes, as with runc */
        if (!opts->leave_running && !opts->pre_dump)
                ret = handed_over(rt, opts, st)
                              ? rc_container_delete_handed_over(rt, rootfd, dirfd, id, cfg, err)
                              : rc_container_delete_locked(rt, rootfd, dirfd, id, cfg, true, err);
out:
        rc_checkpoint_unmark(dirfd, &markfd);
        rc_criu_tmpfs_clear(&tmpfs);
        rc_error_free(&dt.err);
        oci_config_free(cfg);
        return ret;
}

int rc_container_checkpoint(const struct rc_runtime *rt, const char *id,
                            const struct rc_checkpoint_opts *opts, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct oci_state *st = NULL;
        bool created = false;
        int ret = -1;

        if (rc_validate_id(id, err) < 0 || rc_state_root_open(rt->root, &rootfd, err) < 0 ||
            rc_state_dir_open(rootfd, id, &dirfd, err) < 0 ||
            rc_checkpoint_settle(rt, dirfd, id, true, NULL, err) < 0 ||
            rc_state_read(dirfd, id, &st, err) < 0 || rc_state_refresh(dirfd, st, err) < 0)
                goto out;
        rc_cgroup_status_overlay(st);
        if (st->status != OCI_STATUS_RUNNING && st->status != OCI_STATUS_PAUSED) {
                rc_error_set(err, 0, "cannot checkpoint container \"%s\": it is %s, not running", id,
                             oci_status_name(st->status));
                goto out;
        }
        ret = checkpoint_locked(rt, rootfd, dirfd, st, opts, &created, err);
        if (ret < 0 && created)
                rc_remove_tree_at(AT_FDCWD, opts->criu.image_path, NULL);
out:
        oci_state_free(st);
        return ret;
}

/* ---- restore ------------------------------------------------------------------------- */

int rc_criu_restore_address(const struct rc_runtime *rt, struct oci_config *cfg, const char *id,
                            const struct rc_restore_opts *opts, rc_error_t *err)
{
        const char *net = NULL, *ip = NULL, *ports = NULL, *was_net, *addr;
        _cleanup_free_ char *doc = NULL;
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_attachment holder = {0};
        _cleanup_close_ int imgfd = -1;
        json_node *root = NULL;
        size_t len = 0;
        uint32_t want;
        int ret = 0, held;

        if (rc_network_from_annotations(cfg, &net, &ip, &ports, err) < 0)
                return -1;
        if (net == NULL || ip != NULL)
                return 0; /* no network, or the config names the address */
        imgfd = open(opts->criu.image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (imgfd < 0 || rc_read_file_at(imgfd, RC_CRIU_NETWORK, 4096, &doc, &len, &e) < 0)
                return 0; /* no record (or no image: restore says so) */
        if (json_parse(doc, len, RC_CRIU_NETWORK, &root, err) < 0)
                return rc_error_wrap(err, "image `%s`", opts->criu.image_path);
        was_net = json_get_string(json_object_get(root, "network"));
        addr = json_get_string(json_object_get(root, "address"));
        if (was_net == NULL || addr == NULL || strcmp(was_net, net) != 0)
                goto out;
        /* another container holds it (the original, left running): a new address */
        if (rc_ip_parse(addr, &want, err) < 0) {
                ret = rc_error_wrap(err, "image `%s`: %s", opts->criu.image_path, RC_CRIU_NETWORK);
                goto out;
        }
        held = find_attachment(rt, net, NULL, want, &holder, err);
        if (held < 0) {
                ret = -1;
                goto out;
        }
        if (held) {
                rc_log(&rt->log, RC_LOG_WARNING,
                       "restore \"%s\": address %s of the checkpoint is held by container \"%s\": taking "
                       "another",
                       id, addr, holder.container);
                rc_attachment_clear(&holder);
                goto out;
        }
        ret = rc_config_set_annotation(cfg, RC_ANNOTATION_IP, addr, err);
out:
        json_free(root);
        return ret;
}
/* libcriu's notify callback takes no data pointer: the one restore of this process. */
static struct restore_notify {
        const struct rc_criu_restore *r;
        pid_t stop_lazy; /* rc_criu_opts.test_stop_lazy_daemon: the daemon to stop */
        rc_error_t err;
} * notify_ctx;

static int send_console(const char *socket_path, rc_error_t *err)
{
        _cleanup_close_ int sock = -1;
        int master = criu_get_orphan_pts_master_fd();

        if (master < 0)
                return rc_error_set(err, 0, "CRIU sent no terminal master");
        sock = rc_console_socket_connect(socket_path, err);
        if (sock < 0)
                return -1;
        return rc_terminal_send(sock, master, "/dev/ptmx", err);
}

/* setup-namespaces: the hooks of the create path; post-restore: the tasks exist and do not
 * run yet: record the init now, so that no moment exists where it runs without a state
 * naming it. */
static int on_notify(char *action, criu_notify_arg_t na)
{
        struct restore_notify *n = notify_ctx;
        const struct rc_criu_restore *r = n->r;

        if (n->err != NULL)
                return -1;
        if (strcmp(action, "setup-namespaces") == 0)
                return r->namespaces_ready(r->arg, criu_notify_pid(na), &n->err) < 0 ? -1 : 0;
        /* (the test hook: the tasks' memory is in place, save the lazy pages, and they
         * run once CRIU has told the daemon the restore finished, which sets it copying
         * the rest: stopped here, it copies nothing more) */
        if (strcmp(action, "post-restore") == 0 && n->stop_lazy > 0 && kill(n->stop_lazy, SIGSTOP) < 0) {
                rc_error_set(&n->err, errno, "stop `criu lazy-pages` (test hook)");
                return -1;
        }
        if (strcmp(action, "post-restore") == 0)
                return r->restored(r->arg, criu_notify_pid(na), &n->err) < 0 ? -1 : 0;
        if (strcmp(action, "orphan-pts-master") == 0 && r->console_socket != NULL)
                return send_console(r->console_socket, &n->err) < 0 ? -1 : 0;
        return 0;
}

/* Fds 0-2 of the checkpointed init that were pipes (runc's rule) or external files
 * (write_descriptors) are the restoring caller's fds 0-2 now. */
static int inherit_pipes(criu_opts *o, int imgfd, const char *image_path, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL;
        size_t len = 0;
        int ret = 0;

        if (rc_read_file_at(imgfd, RC_CRIU_DESCRIPTORS, 65536, &doc, &len, err) < 0)
                return rc_error_wrap(err, "image `%s`", image_path);
        if (json_parse(doc, len, RC_CRIU_DESCRIPTORS, &root, err) < 0)
                return rc_error_wrap(err, "image `%s`", image_path);
        if (json_type_of(root) != JSON_ARRAY)
                ret = rc_error_set(err, 0, "image `%s`: %s: not an array", image_path, RC_CRIU_DESCRIPTORS);
        for (size_t i = 0; ret == 0 && i < json_array_size(root) && i < 3; i++) {
                const char *s = json_get_string(json_array_get(root, i));

                if (s != NULL && (strncmp(s, "pipe:", 5) == 0 || strncmp(s, "file[", 5) == 0) &&
                    criu_local_add_inherit_fd(o, (int)i, s) < 0)
                        ret = rc_error_set(err, ENOMEM, "criu options: inherit fd %zu", i);
        }
        json_free(root);
        return ret;
}

static int restore_opts(criu_opts *o, const struct rc_criu_restore *r, int imgfd, int workfd, int *netns_fd,
                        const char *masked, rc_error_t *err)
{
        const struct rc_criu_opts *c = &r->opts->criu;

        if (set_common(o, c, imgfd, workfd, RC_CRIU_RESTORE_LOG, err) < 0 ||
            inherit_pipes(o, imgfd, c->image_path, err) < 0 ||
            add_bind_mounts(o, r->cfg, r->bundle, true, err) < 0 ||
            (masked != NULL && add_masked_dirs(o, r->cfg, 0, masked, err) < 0))
                return -1;
        /* CRIU passes inherited fds by number to its own exec: this one must survive it */
        if (r->netns_fd >= 0) {
                *netns_fd = fcntl(r->netns_fd, F_DUPFD, 3);
                if (*netns_fd < 0)
                        return rc_error_set(err, errno, "duplicate the network namespace fd");
                if (criu_local_add_inherit_fd(o, *netns_fd, RC_CRIU_EXT_NETNS) < 0)
                        return rc_error_set(err, ENOMEM, "criu options: network namespace");
        }
        if (r->cgroup_path != NULL && criu_local_add_cg_root(o, NULL, r->cgroup_path) < 0)
                return rc_error_set(err, ENOMEM, "criu options: cgroup root");
        if (criu_local_set_root(o, r->rootfs) < 0)
                return rc_error_set(err, ENOMEM, "criu options: root");
        criu_local_set_notify_cb(o, on_notify);
        return 0;
}

/* Whether `dest` lies below a tmpfs mount of the config (CRIU brings back the tmpfs with
 * its content, mount points included). */
static bool under_tmpfs(const struct oci_config *cfg, const char *dest)
{
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];

                if (m->type != NULL && strcmp(m->type, "tmpfs") == 0 &&
                    !rc_path_equal(m->destination, dest) && rc_path_under(dest, m->destination))
                        return true;
        }
        return false;
}

/* The mount points the create path would have made: CRIU mounts onto them and needs them
 * to exist (a new rootfs, podman's restore --import, lacks podman's /run/.containerenv).
 * As runc and crun do, this writes into a read-only rootfs too. */
static int make_mountpoints(const struct rc_criu_restore *r, rc_error_t *err)
{
        _cleanup_close_ int rootfd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (rootfd < 0)
                return rc_error_set(err, errno, "restore: rootfs `%s`", r->rootfs);
        for (size_t i = 0; i < r->cfg->n_mounts; i++) {
                const struct oci_mount *m = &r->cfg->mounts[i];
                bool is_file = false;
                char src[PATH_MAX];
                struct stat st;
                int fd;

                if ((m->type != NULL &&
                     (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)) ||
                    under_tmpfs(r->cfg, m->destination))
                        continue;
                if (is_bind(m) && m->source != NULL) {
                        snprintf(src, sizeof(src), "%s%s%s", m->source[0] == '/' ? "" : r->bundle,
                                 m->source[0] == '/' ? "" : "/", m->source);
                        is_file = stat(src, &st) == 0 && !S_ISDIR(st.st_mode);
                }
                fd = rc_root_ensure_target(rootfd, m->destination, is_file, 0);
                if (fd < 0)
                        return rc_error_set(err, -fd, ".mounts[%zu]: mount point `%s`", i, m->destination);
                close(fd);
        }
        return 0;
}

/* Into a mount namespace of our own (slave of the host's), where the rootfs is bound onto
 * itself for CRIU; *ret_ns is the one to return to. */
static int private_root(const char *rootfs, int *ret_ns, rc_error_t *err)
{
        int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

        if (ns < 0)
                return rc_error_set(err, errno, "open `/proc/self/ns/mnt`");
        if (unshare(CLONE_NEWNS) < 0) {
                close(ns);
                return rc_error_set(err, errno, "restore: unshare the mount namespace");
        }
        *ret_ns = ns;
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return rc_error_set(err, errno, "restore: make the mounts slaves");
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return rc_error_set(err, errno, "restore: bind the rootfs `%s` onto itself", rootfs);
        return 0;
}

/* The source of the masked directories (add_masked_dirs) at restore: an empty read-only
 * tmpfs on RC_CRIU_MASKED in the work directory, mounted in the private mount namespace
 * only (it goes with it; the directory is removed after the restore). */
static int masked_source(const char *work_path, char *buf, size_t size, rc_error_t *err)
{
        if ((size_t)snprintf(buf, size, "%s/%s", work_path, RC_CRIU_MASKED) >= size)
                return rc_error_set(err, ENAMETOOLONG, "restore: `%s/%s`", work_path, RC_CRIU_MASKED);
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "restore: create `%s`", buf);
        if (mount("tmpfs", buf, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return rc_error_set(err, errno, "restore: mount an empty read-only tmpfs on `%s`", buf);
        return 0;
}

static int leave_private_root(int ns, rc_error_t *err)
{
        int ret = setns(ns, CLONE_NEWNS);

        close(ns);
        return ret < 0 ? rc_error_set(err, errno, "restore: return to the mount namespace") : 0;
}

/* The restore proper, in the private mount namespace: the directories are opened here,
 * as CRIU works from them (it mounts its cgroup yard in the work directory, which must
 * then be on a mount of the namespace it runs in). */
static int restore_in_private_root(const struct rc_criu_restore *r, criu_opts *o, pid_t lazy, pid_t *ret_pid,
                                   rc_error_t *err)
{
        const struct rc_criu_opts *c = &r->opts->criu;
        const char *work_path = c->work_path != NULL ? c->work_path : c->image_path;
        struct restore_notify n = {.r = r, .stop_lazy = c->test_stop_lazy_daemon ? lazy : 0};
        struct rc_criu_swrk swrk = {.sock = -1};
        _cleanup_close_ int imgfd = -1, workfd = -1, netns_fd = -1;
        char what[1200], masked[PATH_MAX];
        bool has_masked = r->cfg->linux_.n_masked_paths > 0;
        int pid;

        if (open_dir(c->image_path, NULL, &imgfd, "restore: image path", err) < 0 ||
            rc_criu_check_pages(imgfd, c->image_path, err) < 0 ||
            (c->work_path != NULL && open_dir(c->work_path, NULL, &workfd, "restore: work path", err) < 0) ||
            (has_masked && masked_source(work_path, masked, sizeof(masked), err) < 0) ||
            restore_opts(o, r, imgfd, workfd, &netns_fd, has_masked ? masked : NULL, err) < 0 ||
            rc_criu_tmpfs_restore_prepare(o, r->cfg, imgfd, c->image_path, work_path, err) < 0 ||
            rc_criu_swrk_start(o, c->hold_fd, &swrk, err) < 0)
                return -1;
        notify_ctx = &n;
        pid = criu_local_restore(o);
        notify_ctx = NULL;
        rc_criu_swrk_finish(&swrk);
        if (n.err != NULL) {
                rc_error_move(err, &n.err);
                return -1;
        }
        if (pid <= 0) {
                snprintf(what, sizeof(what), "restore from `%s`", c->image_path);
                return rc_criu_fail(pid == 0 ? -EBADE : pid, workfd >= 0 ? workfd : imgfd, work_path,
                                    RC_CRIU_RESTORE_LOG, what, err);
        }
        *ret_pid = pid;
        return 0;
}

/* restore --lazy-pages: `criu lazy-pages` started on the image's page server (a wildcard
 * address is reached through loopback), or (lazy_local) on the image itself, and CRIU
 * told to use it. */
static int start_lazy_restore(criu_opts *o, const struct rc_criu_opts *c, pid_t *ret_pid, rc_error_t *err)
{
        _cleanup_close_ int imgfd = open(c->image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *doc = NULL, *addr = NULL;
        const char *spec, *connect_to;
        json_node *root = NULL;
        size_t len = 0;
        int port, ret;

        if (imgfd < 0)
                return rc_error_set(err, errno, "restore: image path `%s`", c->image_path);
        if (c->lazy_local) {
                /* its images are the only copy of the lazy pages: it holds the caller's
                 * lock on them until it ends */
                if (rc_criu_lazy_pages_start(NULL, 0, c->image_path,
                                             c->work_path != NULL ? c->work_path : c->image_path, c->hold_fd,
                                             ret_pid, err) < 0)
                        return rc_error_wrap(err, "restore --lazy-pages");
                rc_criu_request(o)->has_lazy_pages = true;
                rc_criu_request(o)->lazy_pages = true;
                return 0;
        }
        if (rc_read_file_at(imgfd, RC_CRIU_LAZY, 4096, &doc, &len, err) < 0)
                return rc_error_wrap(err,
                                     "restore --lazy-pages: image `%s` (made by checkpoint --lazy-pages?)",
                                     c->image_path);
        if (json_parse(doc, len, RC_CRIU_LAZY, &root, err) < 0)
                return rc_error_wrap(err, "image `%s`", c->image_path);
        spec = json_get_string(json_object_get(root, "pageServer"));
        ret = spec != NULL
                      ? parse_page_server(spec, &addr, &port, err)
                      : rc_error_set(err, 0, "image `%s`: %s: no pageServer", c->image_path, RC_CRIU_LAZY);
        json_free(root);
        if (ret < 0)
                return rc_error_wrap(err, "image `%s`", c->image_path);
        connect_to = strcmp(addr, "0.0.0.0") == 0                           ? "127.0.0.1"
                     : strcmp(addr, "::") == 0 || strcmp(addr, "[::]") == 0 ? "::1"
                                                                            : addr;
        if (rc_criu_lazy_pages_start(connect_to, port, c->image_path,
                                     c->work_path != NULL ? c->work_path : c->image_path, 0, ret_pid,
                                     err) < 0)
                return rc_error_wrap(err, "restore --lazy-pages");
        rc_criu_request(o)->has_lazy_pages = true;
        rc_criu_request(o)->lazy_pages = true;
        return 0;
}

int rc_criu_restore(const struct rc_criu_restore *r, pid_t *ret_pid, rc_error_t *err)
{
        _cleanup_criu_opts_ criu_opts *o = NULL;
        pid_t lazy = 0;
        int ns = -1, ret;

        if (rc_criu_load(err) < 0)
                return -1;
        if (criu_local_init_opts(&o) < 0)
                return rc_error_set(err, ENOMEM, "criu options");
        if (r->opts->criu.lazy_pages && start_lazy_restore(o, &r->opts->criu, &lazy, err) < 0)
                return -1;
        ret = make_mountpoints(r, err);
        if (ret == 0)
                ret = private_root(r->rootfs, &ns, err);
        if (ret == 0)
                ret = restore_in_private_root(r, o, lazy, ret_pid, err);
        if (ns >= 0 && leave_private_root(ns, ret == 0 ? err : NULL) < 0 && ret == 0) {
                kill(*ret_pid, SIGKILL);
                ret = -1;
        }
        if (ns >= 0)
                rc_criu_tmpfs_restore_cleanup(r->opts->criu.work_path != NULL ? r->opts->criu.work_path
                                                                              : r->opts->criu.image_path);
        if (ns >= 0 && r->cfg->linux_.n_masked_paths > 0) {
                const char *work =
                        r->opts->criu.work_path != NULL ? r->opts->criu.work_path : r->opts->criu.image_path;
                char masked[PATH_MAX];

                /* mounted on in the private namespace only, which is gone */
                if ((size_t)snprintf(masked, sizeof(masked), "%s/%s", work, RC_CRIU_MASKED) < sizeof(masked))
                        (void)rmdir(masked);
        }
        /* the daemon serves no one now (it is not ours to reap: see its start) */
        if (ret < 0 && lazy > 0)
                kill(lazy, SIGKILL);
        if (ret == 0 && r->opts->criu.lazy_pid != NULL)
                *r->opts->criu.lazy_pid = lazy;
        return ret;
}
