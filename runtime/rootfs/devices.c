/* /dev population (see rootfs.h): the default nodes, linux.devices, and the usual
 * symlinks, unless /dev is a bind mount of the host's. And, for `create` on a host where
 * no cgroup enforces linux.resources.devices, the refusal of every node those rules deny
 * that the container could still open (rc_devices_check_unenforced).
 *
 * Nodes are made with mknod(2); in a user namespace (where mknod fails) an empty file is
 * created and the host's node bind-mounted onto it. Nothing under /dev is resolved
 * through a symlink: an entry already there that is not the wanted node (a symlink
 * planted in the image, say) is removed and replaced. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/log.h"
#include "runtime/rootfs/internal.h"
#include "runtime/rootfs/rootfs.h"
#include "specs/device_rules.h"

struct node {
        const char *path;
        mode_t type; /* S_IFCHR, S_IFBLK or S_IFIFO */
        dev_t rdev;
        mode_t mode;
        uid_t uid; /* (uid_t)-1: leave as created */
        gid_t gid;
};

static const struct {
        const char *path;
        unsigned major, minor;
} default_nodes[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
        const char *name, *target;
        bool needs_proc;
} dev_symlinks[] = {
        {"fd", "/proc/self/fd", false},       {"stdin", "/proc/self/fd/0", false},
        {"stdout", "/proc/self/fd/1", false}, {"stderr", "/proc/self/fd/2", false},
        {"core", "/proc/kcore", true},
};

/* Remove whatever is at name (a stale file, a symlink, an empty directory). */
static int remove_entry(int dirfd, const char *name)
{
        if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno == EISDIR && unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
                return 0;
        return -errno;
}

/* mknod, replacing an existing entry unless it already is the same node: 1 when this
 * mknod made it (under create_nodes' umask 0: with its final mode), 0 when it was
 * there already, or -errno. */
static int make_node(int dirfd, const char *name, const struct node *n)
{
        struct stat st;
        int r;

        if (mknodat(dirfd, name, n->type | n->mode, n->rdev) == 0)
                return 1;
        if (errno != EEXIST)
                return -errno;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if ((st.st_mode & S_IFMT) == n->type && (n->type == S_IFIFO || st.st_rdev == n->rdev))
                return 0;
        r = remove_entry(dirfd, name);
        if (r < 0)
                return r;
        return mknodat(dirfd, name, n->type | n->mode, n->rdev) == 0 ? 1 : -errno;
}

/* The user-namespace way: an empty regular file with the host's node bound onto it. */
static int bind_node(int dirfd, const char *name, const struct node *n)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
                close(TAKE_FD(fd));
                r = remove_entry(dirfd, name);
                if (r < 0)
                        return r;
        }
        if (fd < 0) {
                if (mknodat(dirfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
                        return -errno;
                fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }
        /* the host's node lives at the same path in the runtime's mount namespace */
        return rc_bind_onto(AT_FDCWD, n->path, false, fd, NULL);
}

/* A node found in place keeps its old mode, and an owner is never given by mknod: set
 * them through an fd of the node itself. By name, chmod would follow a symlink swapped in meanwhile (by
 * another container sharing this /dev, say) to whatever it points at. */
static int set_mode_owner(int dirfd, const char *name, const struct node *n, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char path[RC_FD_PATH_MAX];
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "chmod `%s`", n->path);
        if ((st.st_mode & S_IFMT) != n->type)
                return rc_error_set(err, EEXIST, "chmod `%s`: replaced while being created", n->path);
        rc_fd_path(fd, path);
        if (chmod(path, n->mode) < 0)
                return rc_error_set(err, errno, "chmod `%s`", n->path);
        if ((n->uid != (uid_t)-1 || n->gid != (gid_t)-1) &&
            fchownat(fd, "", n->uid, n->gid, AT_EMPTY_PATH) < 0)
                return rc_error_set(err, errno, "chown `%s`", n->path);
        return 0;
}

/* devfd: the container's /dev, used for the nodes right in it. */
static int create_node(struct rc_rootfs_ctx *ctx, int devfd, const struct node *n, rc_error_t *err)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int ownfd = -1;
        const char *base;
        int dirfd, r;

        r = rc_path_split(n->path, &parent, &base);
        if (r < 0)
                return rc_error_set(err, -r, "create device `%s`", n->path);
        if (rc_path_equal(parent, "/dev")) {
                dirfd = devfd;
        } else {
                dirfd = ownfd = rc_root_mkdir_p(ctx->rootfd, parent, 0755, RC_ROOT_NO_SYMLINKS);
                if (dirfd < 0)
                        return rc_error_set(err, -dirfd, "create device `%s`: directory `%s`", n->path,
                                            parent);
        }
        _cleanup_free_ char *name = strndup(base, strcspn(base, "/"));
        if (name == NULL)
                return rc_error_set(err, ENOMEM, "create device `%s`", n->path);

        r = -EPERM;
        if (!ctx->in_userns || n->type == S_IFIFO)
                r = make_node(dirfd, name, n);
        if (r == -EPERM && n->type != S_IFIFO) {
                r = bind_node(dirfd, name, n);
                if (r < 0)
                        return rc_error_set(err, -r, "bind device `%s`", n->path);
                return 0; /* the host's node keeps its owner and mode */
        }
        if (r < 0)
                return rc_error_set(err, -r, "mknod `%s`", n->path);
        if (r == 1 && n->uid == (uid_t)-1 && n->gid == (gid_t)-1)
                return 0; /* new, with its mode: nothing to change */
        return set_mode_owner(dirfd, name, n, err);
}

static int node_from_config(const struct oci_device *d, struct node *ret, rc_error_t *err)
{
        switch (d->type) {
        case 'c':
        case 'u':
                ret->type = S_IFCHR;
                break;
        case 'b':
                ret->type = S_IFBLK;
                break;
        case 'p':
                ret->type = S_IFIFO;
                break;
        default:
                return rc_error_set(err, EINVAL, "device `%s`: unknown type '%c'", d->path, d->type);
        }
        ret->path = d->path;
        ret->rdev = makedev((unsigned)d->major, (unsigned)d->minor);
        ret->mode = d->has_file_mode ? (d->file_mode & 07777) : 0666;
        ret->uid = d->has_uid ? d->uid : (uid_t)-1;
        ret->gid = d->has_gid ? d->gid : (gid_t)-1;
        return 0;
}

static bool configured(const struct oci_config *cfg, const char *path)
{
        for (size_t i = 0; i < cfg->linux_.n_devices; i++)
                if (rc_path_equal(cfg->linux_.devices[i].path, path))
                        return true;
        return false;
}

static int create_nodes_masked(struct rc_rootfs_ctx *ctx, int devfd, rc_error_t *err)
{
        const struct oci_config *cfg = ctx->cfg;
        struct node n;

        for (size_t i = 0; i < sizeof(default_nodes) / sizeof(default_nodes[0]); i++) {
                if (configured(cfg, default_nodes[i].path))
                        continue; /* linux.devices says how */
                n = (struct node){
                        .path = default_nodes[i].path,
                        .type = S_IFCHR,
                        .rdev = makedev(default_nodes[i].major, default_nodes[i].minor),
                        .mode = 0666,
                        .uid = (uid_t)-1,
                        .gid = (gid_t)-1,
                };
                if (create_node(ctx, devfd, &n, err) < 0)
                        return -1;
        }
        for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
                if (node_from_config(&cfg->linux_.devices[i], &n, err) < 0 ||
                    create_node(ctx, devfd, &n, err) < 0)
                        return rc_error_wrap(err, ".linux.devices[%zu]", i);
        }
        return 0;
}

/* Under umask 0, so that mknod gives each new node its final mode (no chmod after). */
static int create_nodes(struct rc_rootfs_ctx *ctx, int devfd, rc_error_t *err)
{
        const mode_t old_umask = umask(0);
        int ret = create_nodes_masked(ctx, devfd, err);

        umask(old_umask);
        return ret;
}

int rc_console_target(int rootfd)
{
        _cleanup_close_ int dev = rc_root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (dev < 0)
                return dev;
        fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))
                        return TAKE_FD(fd);
                r = remove_entry(dev, "console");
                if (r < 0)
                        return r;
        } else if (errno != ENOENT) {
                return -errno;
        }
        if (mknodat(dev, "console", S_IFREG | 0600, 0) < 0)
                return -errno;
        fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        return fd >= 0 ? TAKE_FD(fd) : -errno;
}

static int create_symlinks(struct rc_rootfs_ctx *ctx, int devfd, rc_error_t *err)
{
        bool have_proc = rc_mounts_find(ctx->cfg, "/proc") != NULL;
        int r;

        /* /dev/ptmx must be the container's devpts one */
        r = remove_entry(devfd, "ptmx");
        if (r == -EBUSY)
                rc_log(ctx->log, RC_LOG_DEBUG, "/dev/ptmx is a mount point: left as it is");
        else if (r < 0)
                return rc_error_set(err, -r, "remove `/dev/ptmx`");
        else if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
                return rc_error_set(err, errno, "symlink `/dev/ptmx`");

        for (size_t i = 0; i < sizeof(dev_symlinks) / sizeof(dev_symlinks[0]); i++) {
                if (dev_symlinks[i].needs_proc && !have_proc)
                        continue;
                if (symlinkat(dev_symlinks[i].target, devfd, dev_symlinks[i].name) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "symlink `/dev/%s`", dev_symlinks[i].name);
        }
        return 0;
}

int rc_devices_setup(struct rc_rootfs_ctx *ctx, rc_error_t *err)
{
        _cleanup_close_ int devfd = -1;

        if (rc_mounts_dev_from_host(ctx->cfg)) {
                rc_log(ctx->log, RC_LOG_DEBUG, "/dev is bound from the host: no device nodes created");
                return 0;
        }
        devfd = rc_root_mkdir_p(ctx->rootfd, "/dev", 0755, RC_ROOT_NO_SYMLINKS);
        if (devfd < 0)
                return devfd == -ELOOP ? rc_error_set(err, ELOOP, "populate `/dev` (symlinks not followed)")
                                       : rc_error_set(err, -devfd, "populate `/dev`");
        if (create_nodes(ctx, devfd, err) < 0 || create_symlinks(ctx, devfd, err) < 0)
                return -1;
        /* the console is bound after the root may have become read-only: make sure its
         * target exists now */
        if (ctx->cfg->has_process && ctx->cfg->process.terminal) {
                int fd = rc_console_target(ctx->rootfd);
                if (fd < 0)
                        return rc_error_set(err, -fd, "create `/dev/console`");
                close(fd);
        }
        return 0;
}

/* ---- device rules that nothing enforces ------------------------------------------- */

#define UNENFORCED                                                                                          \
        "but no cgroup enforces device rules here (`/sys/fs/cgroup` is not cgroup v2, or "                  \
        "--cgroup-manager=disabled): allow the device in .linux.resources.devices, keep it out of the "     \
        "container, or run on a cgroup v2 host"

struct rules {
        const struct oci_device_rule *v;
        size_t n, n_config; /* all rules; the config's come first */
};

/* A node the container can open (`how`: what puts it there): refused unless the rules
 * allow reading and writing it. */
static int check_node(const struct rules *rs, char type, int64_t major, int64_t minor, const char *path,
                      const char *how, rc_error_t *err)
{
        static const unsigned accesses[] = {BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE};

        for (size_t k = 0; k < sizeof(accesses) / sizeof(accesses[0]); k++) {
                long i = rc_device_rule_for(rs->v, rs->n, type, major, minor, accesses[k]);
                const char *access = accesses[k] == BPF_DEVCG_ACC_READ ? "read" : "write";

                if (i >= 0 && rs->v[i].allow)
                        continue;
                if (i >= 0 && (size_t)i < rs->n_config)
                        return rc_error_set(err, 0,
                                            ".linux.resources.devices[%ld] denies %s access to `%s` (%c "
                                            "%" PRId64 ":%" PRId64 "), which %s, " UNENFORCED,
                                            i, access, path, type, major, minor, how);
                return rc_error_set(err, 0,
                                    "no rule of .linux.resources.devices allows %s access to `%s` (%c "
                                    "%" PRId64 ":%" PRId64 "), which %s, " UNENFORCED,
                                    access, path, type, major, minor, how);
        }
        return 0;
}

/* A bind mount's source, as the mount will resolve it (relative: the bundle). A device
 * node, or the host's /dev or a directory under it (holding nodes of every kind), is
 * reachable unless the mount is nodev. */
static int check_bind(const struct rules *rs, const struct oci_mount *m, size_t idx, int bundlefd,
                      rc_error_t *err)
{
        char how[64];
        struct stat st;

        if (!(m->is_bind || (m->flags & MS_BIND)) || m->source == NULL || (m->flags & MS_NODEV) ||
            fstatat(bundlefd, m->source, &st, 0) < 0)
                return 0; /* not a device, or the mount itself will fail */
        snprintf(how, sizeof(how), ".mounts[%zu] binds into the container", idx);
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                return check_node(rs, S_ISBLK(st.st_mode) ? 'b' : 'c', major(st.st_rdev), minor(st.st_rdev),
                                  m->source, how, err);
        if (S_ISDIR(st.st_mode) && m->source[0] == '/' && rc_path_under(m->source, "/dev"))
                return rc_error_set(err, 0,
                                    ".mounts[%zu] binds the host's `%s` into the container, with every "
                                    "device node in it, while .linux.resources.devices does not allow "
                                    "every device, " UNENFORCED,
                                    idx, m->source);
        return 0;
}

/* Device nodes the process makes itself: mknod of a device needs CAP_MKNOD in the
 * initial user namespace, so only without a user namespace of its own. */
static bool may_mknod(const struct oci_config *cfg)
{
        const struct oci_capabilities *c = &cfg->process.caps;
        uint64_t any = c->bounding | c->effective | c->permitted | c->ambient;

        return cfg->has_process && c->present && (any & (UINT64_C(1) << CAP_MKNOD)) &&
               oci_config_namespace(cfg, OCI_NS_USER) == NULL;
}

int rc_devices_check_unenforced(const struct oci_config *cfg, const char *bundle,
                                const struct rc_logger *log, rc_error_t *err)
{
        const struct oci_resources *r = &cfg->linux_.resources;
        _cleanup_free_ struct oci_device_rule *all = NULL;
        _cleanup_close_ int bundlefd = -1;
        struct rules rs = {.n_config = r->n_devices};
        char how[64];

        if (!r->present || r->n_devices == 0)
                return 0; /* no rules asked for: none goes unenforced */
        if (rc_device_rules(r->devices, r->n_devices, &all, &rs.n, err) < 0)
                return -1;
        rs.v = all;
        if (rc_device_rules_allow_all(rs.v, rs.n))
                return 0;
        for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
                const struct oci_device *d = &cfg->linux_.devices[i];

                if (d->type == 'p')
                        continue;
                snprintf(how, sizeof(how), ".linux.devices[%zu] creates", i);
                if (check_node(&rs, d->type == 'b' ? 'b' : 'c', d->major, d->minor, d->path, how, err) < 0)
                        return -1;
        }
        bundlefd = bundle != NULL ? open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
        if (bundlefd < 0 && bundlefd != AT_FDCWD)
                return rc_error_set(err, errno, "open bundle `%s`", bundle);
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (check_bind(&rs, &cfg->mounts[i], i, bundlefd, err) < 0)
                        return -1;
        if (may_mknod(cfg))
                rc_log(log, RC_LOG_WARNING,
                       "no cgroup enforces .linux.resources.devices here: with CAP_MKNOD the process can "
                       "still create and open device nodes the rules deny");
        return 0;
}
