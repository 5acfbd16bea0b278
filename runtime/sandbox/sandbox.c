/* `sandbox`: one job in a fresh overlay-rooted container, with limits, a timeout and a
 * report, cleaned up whatever happens (see sandbox.h for the layout). */
#include "runtime/sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/container/state.h"
#include "runtime/image/image.h"
#include "runtime/sandbox/journal.h"
#include "specs/json.h"

struct sandbox {
        const struct rc_runtime *rt;
        const struct rc_sandbox_opts *o;
        char id[64];
        struct rc_journal *journal;
        struct rc_image *img;
        char *dir; /* <root>/@sandbox/<id> */
        char *rootfs_mp; /* dir/rootfs: the overlay's mount point */
        char *ovl_dir; /* dir/overlay, or --upper DIR */
        char *base; /* --rootfs, resolved */
        const char **lower; /* NULL-terminated, bottom first (borrowed strings) */
        struct rc_overlay ov;
        struct rc_overlay_dir own_dirs[3]; /* ov.upper_dirs (unmapped_dirs) */
        char *config;
        size_t config_len;
        struct oci_config *cfg; /* config, parsed (lent to create) */
        struct rc_run_result res;
        struct rc_cgroup_stats stats;
        bool has_stats;
        bool cgroup; /* the job gets a cgroup (decided before anything is unpacked) */
        bool cgroup_made; /* create recorded one (journal_effect) */
        uint64_t tmpfs_size; /* of each tmpfs that gives none; 0: the kernel's default */
};

static const char *cache_of(const struct rc_sandbox_opts *o)
{
        return o->image_cache != NULL ? o->image_cache : rc_image_cache_default();
}

static int check_opts(const struct rc_sandbox_opts *o, rc_error_t *err)
{
        if ((o->rootfs == NULL) == (o->image == NULL))
                return rc_error_set(err, EINVAL, "give exactly one of --rootfs and --image");
        if (o->read_only && (o->upper != NULL || o->commit != NULL))
                return rc_error_set(err, EINVAL, "--read-only has no upper layer for --upper or --commit");
        if (o->upper != NULL && o->upper[0] != '/')
                return rc_error_set(err, EINVAL, "--upper `%s`: not an absolute path", o->upper);
        if (o->upper_size != 0 && (o->upper != NULL || o->commit != NULL || o->read_only))
                return rc_error_set(err, EINVAL,
                                    "--upper-size: the upper layer is on disk (--upper, --commit) or absent "
                                    "(--read-only), not on a tmpfs");
        return 0;
}

/* Before the image is unpacked: limits no cgroup can enforce fail now (with create's
 * words), and without a cgroup no memory limit covers the job's tmpfs pages, which then
 * get a size (rc_sandbox_opts.unlimited_tmpfs). */
static int plan_limits(struct sandbox *s, rc_error_t *err)
{
        const struct rc_sandbox_opts *o = s->o;
        const struct rc_runtime *rt = s->rt;
        struct oci_resources r = {
                .present = true,
                .has_memory = o->memory != 0 || o->memory_swap != 0,
                .memory = {.limit = {.set = o->memory != 0, .v = o->memory},
                           .swap = {.set = o->memory_swap != 0, .v = o->memory_swap}},
                .has_cpu = o->cpu_quota != 0,
                .cpu = {.quota = {.set = o->cpu_quota != 0, .v = (int64_t)o->cpu_quota}},
                .has_pids = o->pids_limit != 0,
                .pids_limit = o->pids_limit,
                .has_blockio = o->io_weight != 0,
                .blockio = {.weight = {.set = o->io_weight != 0, .v = o->io_weight}},
        };
        bool v2 = rt->cgroup_manager != RC_CGROUP_MANAGER_DISABLED && rc_fs_is_cgroup2(RC_CGROUP_MOUNT);
        struct rc_cgroup_decision d;

        if (rc_cgroup_decide(rt->cgroup_manager, v2, &r, &d, err) < 0)
                return rc_error_wrap(err, "sandbox");
        s->cgroup = d.create;
        if (!s->cgroup && !o->unlimited_tmpfs)
                s->tmpfs_size = o->memory > 0 ? (uint64_t)o->memory : RC_SANDBOX_TMPFS_SIZE;
        return 0;
}

static int make_id(const struct rc_sandbox_opts *o, char id[64], rc_error_t *err)
{
        unsigned char r[6];

        if (o->id != NULL) {
                if (strlen(o->id) >= 64)
                        return rc_error_set(err, EINVAL, "sandbox name \"%s\": longer than 63 characters",
                                            o->id);
                snprintf(id, 64, "%s", o->id);
                return rc_validate_id(id, err);
        }
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
                return rc_error_set(err, errno, "getrandom");
        snprintf(id, 64, "sandbox-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
        return 0;
}

/* The lower layers: --rootfs, or the image's (unpacked into the cache, verified). */
static int open_base(struct sandbox *s, rc_error_t *err)
{
        struct stat st;

        if (s->o->image != NULL) {
                if (rc_image_open(cache_of(s->o), s->o->image, &s->o->pull, &s->rt->log, &s->img, err) < 0)
                        return -1;
                s->lower = calloc(s->img->n_layers + 1, sizeof(*s->lower));
                if (s->lower == NULL)
                        return rc_error_set(err, ENOMEM, "image layers");
                for (size_t i = 0; i < s->img->n_layers; i++)
                        s->lower[i] = s->img->layer_dirs[i];
                if (s->img->n_layers == 0)
                        return rc_error_set(err, EINVAL, "image \"%s\" has no layers", s->o->image);
                return 0;
        }
        s->base = realpath(s->o->rootfs, NULL);
        if (s->base == NULL)
                return rc_error_set(err, errno, "--rootfs `%s`", s->o->rootfs);
        if (stat(s->base, &st) < 0 || !S_ISDIR(st.st_mode))
                return rc_error_set(err, ENOTDIR, "--rootfs `%s`", s->o->rootfs);
        s->lower = calloc(2, sizeof(*s->lower));
        if (s->lower == NULL)
                return rc_error_set(err, ENOMEM, "rootfs");
        s->lower[0] = s->base;
        return 0;
}

static int make_dir(const char *path, rc_error_t *err)
{
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "create `%s`", path);
        return 0;
}

/* DST of "SRC:DST[:MODE]" (volume) or of "DST[:OPTIONS]" (tmpfs) is /tmp */
static bool mounts_tmp(const char *spec, bool volume)
{
        const char *dst = volume ? strchr(spec, ':') : spec;
        const char *end;
        char path[PATH_MAX];

        if (dst == NULL)
                return false;
        dst += volume ? 1 : 0;
        end = strchr(dst, ':');
        snprintf(path, sizeof(path), "%.*s", (int)(end != NULL ? (size_t)(end - dst) : strlen(dst)), dst);
        return rc_path_equal(path, "/tmp");
}

static bool ours(const struct stat *st)
{
        return st->st_uid == geteuid() && st->st_gid == getegid();
}

/* May the job's /tmp be the upper tmpfs's own directory (rc_overlay.private_tmp)? Only
 * when nothing would be hidden or changed by it: no --tmpfs or -v of /tmp, and in the
 * base /tmp is an empty directory, the topmost layer's owned by us (the init makes the
 * new one), each layer's either that or missing. *ret_mode: its mode. */
static bool plain_tmp(const struct sandbox *s, mode_t *ret_mode)
{
        const struct rc_sandbox_opts *o = s->o;
        bool found = false;
        size_t n = 0;

        for (size_t i = 0; o->volumes != NULL && o->volumes[i] != NULL; i++)
                if (mounts_tmp(o->volumes[i], true))
                        return false;
        for (size_t i = 0; o->tmpfs != NULL && o->tmpfs[i] != NULL; i++)
                if (mounts_tmp(o->tmpfs[i], false))
                        return false;
        while (s->lower[n] != NULL)
                n++;
        while (n-- > 0) { /* the topmost layer first */
                _cleanup_close_ int fd = -1;
                struct stat st;
                char buf[512];
                ssize_t got;

                fd = open(s->lower[n], O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return false;
                if (fstatat(fd, "tmp", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return false;
                }
                if (!S_ISDIR(st.st_mode))
                        return false; /* a symlink, or a whiteout hiding the layers below */
                /* a rootless job's /tmp may be ours instead of a world-writable one of an id its
                 * namespace does not map (unmapped_dirs) */
                if (!found && !ours(&st) && (geteuid() == 0 || !(st.st_mode & S_IWOTH)))
                        return false;
                if (!found)
                        *ret_mode = st.st_mode & 07777;
                found = true;
                {
                        _cleanup_close_ int dfd =
                                openat(fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (dfd < 0)
                                return false;
                        while ((got = getdents64(dfd, buf, sizeof(buf))) > 0)
                                for (ssize_t off = 0; off < got;) {
                                        struct dirent64 *de = (struct dirent64 *)(buf + off);

                                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                                return false;
                                        off += de->d_reclen;
                                }
                        if (got < 0)
                                return false;
                }
        }
        return found;
}

/* The base's directory at path (relative): what the topmost layer that has it holds, no
 * symlink followed. 1 and *st for a directory, 0 when no layer has it, -1 for anything
 * else (a symlink, a whiteout, an error). */
static int base_dir(const struct sandbox *s, const char *path, struct stat *st)
{
        size_t n = 0;

        while (s->lower[n] != NULL)
                n++;
        while (n-- > 0) {
                _cleanup_close_ int root = -1, fd = -1;

                root = open(s->lower[n], O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                        return -1;
                fd = rc_root_open(root, path, O_PATH | O_DIRECTORY, 0, RC_ROOT_NO_SYMLINKS);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0 || fstat(fd, st) < 0)
                        return -1;
                return 1;
        }
        return 0;
}

/* A rootless job's user namespace maps one id, the caller's: overlayfs cannot copy up a
 * directory of another owner (EOVERFLOW), so the world-writable /tmp and /var/tmp of a
 * root-owned base would take no file. Each such one (and /var, its parent) becomes a
 * directory of the upper layer, ours, with the base's mode, made before the mount
 * (rc_overlay.upper_dirs): the job owns it, as bwrap's --tmpfs /tmp or podman's /tmp. */
static void unmapped_dirs(struct sandbox *s)
{
        struct stat var, st;
        size_t n = 0;

        if (geteuid() == 0 || s->o->read_only)
                return;
        if (!s->ov.private_tmp && base_dir(s, "tmp", &st) == 1 && !ours(&st) && (st.st_mode & S_IWOTH))
                s->own_dirs[n++] = (struct rc_overlay_dir){"tmp", st.st_mode};
        if (base_dir(s, "var/tmp", &st) == 1 && !ours(&st) && (st.st_mode & S_IWOTH) &&
            base_dir(s, "var", &var) == 1) {
                s->own_dirs[n++] = (struct rc_overlay_dir){"var", var.st_mode};
                s->own_dirs[n++] = (struct rc_overlay_dir){"var/tmp", st.st_mode};
        }
        s->ov.upper_dirs = s->own_dirs;
        s->ov.n_upper_dirs = n;
}

/* <root>/@sandbox/<id>/{rootfs,overlay}, recorded before they exist. */
static int make_dirs(struct sandbox *s, rc_error_t *err)
{
        const struct rc_sandbox_opts *o = s->o;

        if (asprintf(&s->dir, "%s/%s", s->journal->dir_path, s->id) < 0 ||
            asprintf(&s->rootfs_mp, "%s/rootfs", s->dir) < 0)
                return rc_error_set(err, ENOMEM, "sandbox directory");
        if (o->upper != NULL)
                s->ovl_dir = strdup(o->upper);
        else if (asprintf(&s->ovl_dir, "%s/overlay", s->dir) < 0)
                s->ovl_dir = NULL;
        if (s->ovl_dir == NULL)
                return rc_error_set(err, ENOMEM, "sandbox directory");
        if (rc_journal_record(s->journal, RC_JOURNAL_DIR_CREATED, s->dir, err) < 0 ||
            make_dir(s->dir, err) < 0 || make_dir(s->rootfs_mp, err) < 0 || make_dir(s->ovl_dir, err) < 0)
                return -1;
        /* the init runs as root of the host: nothing to open up for a user namespace */
        s->ov = (struct rc_overlay){
                .lower = s->lower,
                .dir = s->ovl_dir,
                .read_only = o->read_only,
                /* --commit reads the upper after the container is gone: on disk then */
                .tmpfs = o->upper == NULL && o->commit == NULL,
                .tmpfs_size = o->upper_size > 0 ? (uint64_t)o->upper_size : s->tmpfs_size,
        };
        s->ov.private_tmp = s->ov.tmpfs && !o->read_only && plain_tmp(s, &s->ov.tmp_mode);
        unmapped_dirs(s);
        return 0;
}

/* Before the delete: the cgroup's final usage (memory.peak, pids.peak, io, OOM kills). */
static void collect_stats(const struct rc_runtime *rt, const char *id, const struct rc_run_result *res,
                          void *data)
{
        struct sandbox *s = data;
        _cleanup_error_ rc_error_t e = NULL;

        /* no cgroup: nothing to read (the state names none and no stats.json was written
         * yet), and this is on the way from the job's end to the caller's */
        if (!s->cgroup_made) {
                rc_log(&rt->log, RC_LOG_DEBUG, "sandbox \"%s\": no cgroup statistics: no cgroup", id);
                return;
        }
        if (rc_container_stats(rt, id, &s->stats, &e) == 0)
                s->has_stats = true;
        else
                rc_log(&rt->log, RC_LOG_DEBUG, "sandbox \"%s\": no cgroup statistics: %s", id, e->msg);
}

/* create's side effects go into the journal before they are made */
static int journal_effect(void *data, enum rc_create_effect kind, const char *arg, rc_error_t *err)
{
        struct sandbox *s = data;

        if (kind == RC_EFFECT_CGROUP)
                s->cgroup_made = true; /* announced before its mkdir: stats are worth a look */
        return rc_journal_record(
                s->journal, kind == RC_EFFECT_CGROUP ? RC_JOURNAL_CGROUP : RC_JOURNAL_NETWORK, arg, err);
}

/* A safe point of the setup: a stop signal held pending (rc_sandbox_opts.stop signals)
 * abandons it; it is taken once everything made so far is undone. The last one is just
 * before the create: once the container's init exists, the job counts as started and the
 * signal goes to it (the wait reads it as any other). */
static int check_stop(rc_error_t *err)
{
        if (rc_stop_signal_pending())
                return rc_error_set_status(err, ECANCELED, "stopped by a signal before the job started");
        return 0;
}

static int run_container(struct sandbox *s, int *ret_status, rc_error_t *err)
{
        struct rc_create_ext ext = {
                .config_data = s->config,
                .config_len = s->config_len,
                .config_parsed = s->cfg,
                .overlay = &s->ov,
                .record_effect = journal_effect,
                .effect_data = s,
                .tie_to_caller = true,
                .exec_check_at_start = true,
                .init = !s->o->no_init,
        };
        struct rc_create_opts co = {.bundle = s->dir, .ext = &ext};
        struct rc_run_opts ro = {
                .timeout_ms = s->o->timeout_ms,
                .stop_all = true,
                .stop_timeout_ms = s->o->stop_timeout_ms,
                .result = &s->res,
                .before_delete = collect_stats,
                .data = s,
        };

        if (rc_journal_record(s->journal, RC_JOURNAL_CONTAINER, s->id, err) < 0)
                return -1;
        return rc_container_run(s->rt, s->id, &co, &ro, ret_status, err);
}

/* The job's changes as a new layer; those of a failed job only when asked. */
static int commit(struct sandbox *s, int status, rc_error_t *err)
{
        _cleanup_free_ char *upper = NULL;
        _cleanup_free_ struct rc_commit_idmap *uid = NULL, *gid = NULL;
        struct rc_commit_ids ids;

        if (s->o->commit == NULL)
                return 0;
        if (status != 0 && !s->o->commit_on_failure) {
                rc_log(&s->rt->log, RC_LOG_WARNING,
                       "the job failed (exit status %d): nothing committed to \"%s\" (--commit-on-failure "
                       "commits a failed job's changes too)",
                       status, s->o->commit);
                return 0;
        }
        if (asprintf(&upper, "%s/upper", s->ovl_dir) < 0)
                return rc_error_set(err, ENOMEM, "--commit");
        /* in a user namespace (rootless) the layer records the owners the job saw */
        if (s->cfg->has_linux && s->cfg->linux_.n_uid_mappings > 0) {
                const struct oci_linux *l = &s->cfg->linux_;

                uid = calloc(l->n_uid_mappings, sizeof(*uid));
                gid = calloc(l->n_gid_mappings + 1, sizeof(*gid));
                if (uid == NULL || gid == NULL)
                        return rc_error_set(err, ENOMEM, "--commit");
                for (size_t i = 0; i < l->n_uid_mappings; i++)
                        uid[i] = (struct rc_commit_idmap){l->uid_mappings[i].container_id,
                                                          l->uid_mappings[i].host_id,
                                                          l->uid_mappings[i].size};
                for (size_t i = 0; i < l->n_gid_mappings; i++)
                        gid[i] = (struct rc_commit_idmap){l->gid_mappings[i].container_id,
                                                          l->gid_mappings[i].host_id,
                                                          l->gid_mappings[i].size};
                ids = (struct rc_commit_ids){uid, gid, l->n_uid_mappings, l->n_gid_mappings};
        }
        if (rc_image_commit(cache_of(s->o), s->img, upper, s->o->commit, uid ? &ids : NULL, &s->rt->log,
                            err) < 0)
                return rc_error_wrap(err, "--commit \"%s\"", s->o->commit);
        return 0;
}

static uint64_t elapsed_us(const struct timespec *a, const struct timespec *b)
{
        int64_t us = (int64_t)(b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000;

        return us < 0 ? 0 : (uint64_t)us;
}

static void fill_usage(struct sandbox *s, struct rc_sandbox_report *r)
{
        const struct rc_cgroup_stats *st = &s->stats;
        const struct rusage *ru = &s->res.rusage;

        r->cgroup = s->has_stats;
        r->has_cpu = true;
        if (s->has_stats && st->has_cpu) {
                r->user_cpu_us = st->cpu_user_usec;
                r->system_cpu_us = st->cpu_system_usec;
        } else {
                r->user_cpu_us = (uint64_t)ru->ru_utime.tv_sec * 1000000 + (uint64_t)ru->ru_utime.tv_usec;
                r->system_cpu_us = (uint64_t)ru->ru_stime.tv_sec * 1000000 + (uint64_t)ru->ru_stime.tv_usec;
        }
        /* wait4's figure is the largest single process, not the job: no stand-in */
        r->max_rss = (uint64_t)ru->ru_maxrss * 1024;
        r->has_memory_peak = s->has_stats && st->has_memory && st->memory_peak > 0;
        r->memory_peak = st->memory_peak;
        if (!r->has_memory_peak)
                r->memory_peak_null =
                        !s->cgroup ? "no cgroup (no cgroup v2 on this host, or --cgroup-manager=disabled)"
                        : s->has_stats ? "the cgroup has no memory.peak (kernel before 5.19)"
                                       : "the cgroup's statistics could not be read";
        r->has_pids_peak = s->has_stats && st->has_pids && st->pids_peak > 0;
        r->pids_peak = st->pids_peak;
        r->has_io = s->has_stats;
        for (size_t i = 0; s->has_stats && i < st->n_io; i++) {
                r->io_read_bytes += st->io[i].rbytes;
                r->io_write_bytes += st->io[i].wbytes;
        }
        r->has_oom_kills = s->has_stats && st->has_memory;
        r->oom_kills = st->memory_events_oom_kill;
}

static void fill_report(struct sandbox *s, int status, struct rc_sandbox_report *r)
{
        /* under our init, its own status says how the job's process ended; when the init
         * was killed (timeout, stop timeout, from outside), the job died with it */
        int ws = s->res.has_process_status ? s->res.process_wait_status : s->res.wait_status;

        r->exit_code = status;
        r->wall_time_us = elapsed_us(&s->res.started, &s->res.ended);
        fill_usage(s, r);
        r->signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
        r->stop_signal = s->res.stop_signal;
        r->stop_timeout_expired = s->res.stop_killed;
        if (s->res.timed_out)
                r->reason = RC_SANDBOX_TIMEOUT;
        else if (r->has_oom_kills && r->oom_kills > 0 && (r->signal == SIGKILL || status == 128 + SIGKILL))
                r->reason = RC_SANDBOX_OOM_KILLED;
        else if (r->signal != 0 || r->stop_signal != 0)
                r->reason = RC_SANDBOX_SIGNALED;
        else
                r->reason = RC_SANDBOX_EXITED;
}

/* Idempotent. */
static void sandbox_clear(struct sandbox *s)
{
        if (s->img != NULL)
                rc_image_free(TAKE_PTR(s->img));
        free(TAKE_PTR(s->dir));
        free(TAKE_PTR(s->rootfs_mp));
        free(TAKE_PTR(s->ovl_dir));
        free(TAKE_PTR(s->base));
        free(TAKE_PTR(s->lower));
        free(TAKE_PTR(s->config));
        oci_config_free(TAKE_PTR(s->cfg));
        if (s->has_stats)
                rc_cgroup_stats_clear(&s->stats);
        s->has_stats = false;
}

static int sandbox_steps(struct sandbox *s, int *ret_status, struct rc_sandbox_report *report,
                         rc_error_t *err)
{
        if (check_stop(err) < 0 || plan_limits(s, err) < 0 || open_base(s, err) < 0 || check_stop(err) < 0 ||
            make_dirs(s, err) < 0)
                return -1;
        if (rc_sandbox_config(s->o, s->img, s->lower, s->id, s->rootfs_mp, s->tmpfs_size, &s->config,
                              &s->config_len, &s->cfg, err) < 0 ||
            check_stop(err) < 0)
                return -1;
        if (run_container(s, ret_status, err) < 0)
                return -1;
        report->job_started = true;
        fill_report(s, *ret_status, report);
        return commit(s, *ret_status, err);
}

/* What dead sandboxes left, bounded in time; failures are only warnings here. */
static void opportunistic_gc(const struct rc_runtime *rt, const struct rc_sandbox_opts *o)
{
        rc_error_t e = NULL;

        if (rc_gc(rt, RC_SANDBOX_GC_TIMEOUT_MS, NULL, &e) < 0) {
                rc_log(&rt->log, RC_LOG_WARNING, "gc: %s", e->msg);
                rc_error_free(&e);
        }
        /* interrupted layer unpacks: their temp dirs are locked by live owners only */
        if (o->image != NULL && rc_image_cache_clean_tmp(cache_of(o), &rt->log, NULL, &e) < 0) {
                rc_log(&rt->log, RC_LOG_WARNING, "gc: %s", e->msg);
                rc_error_free(&e);
        }
}

/* Setup abandoned for a stop signal, everything undone: the report says so, and the
 * exit status is the shell's for that signal, as for a job it ended. */
static void stopped_report(const struct rc_runtime *rt, const struct rc_sandbox_opts *o, int sig,
                           uint64_t wall_us, int *ret_status, struct rc_sandbox_report *report)
{
        *report = (struct rc_sandbox_report){.id = report->id,
                                             .rootfs = o->rootfs,
                                             .image = o->image,
                                             .exit_code = 128 + sig,
                                             .stop_signal = sig,
                                             .reason = RC_SANDBOX_SIGNALED,
                                             .wall_time_us = wall_us};
        *ret_status = 128 + sig;
        rc_log(&rt->log, RC_LOG_WARNING, "sandbox \"%s\": stopped by SIG%s before the job started",
               report->id ? report->id : "", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

int rc_sandbox_run(const struct rc_runtime *rt, const struct rc_sandbox_opts *o, int *ret_status,
                   struct rc_sandbox_report *report, rc_error_t *err)
{
        struct sandbox s = {.rt = rt, .o = o};
        rc_error_t e = NULL;
        struct timespec t0, t1;
        int ret, sig;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        *report = (struct rc_sandbox_report){.rootfs = o->rootfs, .image = o->image, .exit_code = 125};
        if (check_opts(o, err) < 0 || make_id(o, s.id, err) < 0)
                goto failed;
        report->id = strdup(s.id);
        if (check_stop(err) < 0)
                goto failed;
        if (!o->no_gc)
                opportunistic_gc(rt, o);
        if (check_stop(err) < 0 ||
            rc_journal_create(rc_state_root_path(rt->root), s.id, &s.journal, err) < 0)
                goto failed;
        ret = sandbox_steps(&s, ret_status, report, err);
        /* always: stop what may still run, undo every recorded effect, drop the journal */
        if (rc_journal_teardown(rt, TAKE_PTR(s.journal), ret < 0 ? &e : err) < 0 && ret == 0)
                ret = -1;
        if (e != NULL) {
                rc_log(&rt->log, RC_LOG_WARNING, "%s", e->msg);
                rc_error_free(&e);
        }
        sandbox_clear(&s);
        if (ret == 0)
                return 0;
failed:
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sandbox_clear(&s);
        rc_journal_free(TAKE_PTR(s.journal));
        /* a failure of the setup with a stop signal pending: most often the signal's doing
         * (a pull or an unpack given up), and what the caller asked for in any case */
        if (!report->job_started && (sig = rc_stop_signal_take()) != 0) {
                rc_error_free(err);
                stopped_report(rt, o, sig, elapsed_us(&t0, &t1), ret_status, report);
                return 0;
        }
        *report = (struct rc_sandbox_report){.id = report->id,
                                             .rootfs = o->rootfs,
                                             .image = o->image,
                                             .exit_code = 125,
                                             .reason = RC_SANDBOX_ERROR,
                                             .error = *err && (*err)->msg ? strdup((*err)->msg) : NULL,
                                             .job_started = report->job_started,
                                             .wall_time_us = elapsed_us(&t0, &t1)};
        return -1;
}

/* ---- the report ---------------------------------------------------------------------- */

const char *rc_sandbox_reason_name(enum rc_sandbox_reason r)
{
        static const char *const names[] = {
                [RC_SANDBOX_EXITED] = "exited",         [RC_SANDBOX_SIGNALED] = "signaled",
                [RC_SANDBOX_OOM_KILLED] = "oom-killed", [RC_SANDBOX_TIMEOUT] = "timeout",
                [RC_SANDBOX_ERROR] = "error",
        };

        return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "error";
}

static void kv_opt_uint(json_gen *g, const char *key, bool has, uint64_t v)
{
        json_gen_string(g, key);
        if (has)
                json_gen_uint(g, v);
        else
                json_gen_null(g);
}

int rc_sandbox_report_json(const struct rc_sandbox_report *r, char **ret, size_t *ret_len, rc_error_t *err)
{
        json_gen *g = json_gen_new(true);
        int ret_code;

        json_gen_object_open(g);
        json_gen_kv_string(g, "id", r->id);
        json_gen_kv_int(g, "exit_code", r->exit_code);
        kv_opt_uint(g, "signal", r->signal != 0, (uint64_t)r->signal);
        json_gen_kv_string(g, "reason", rc_sandbox_reason_name(r->reason));
        kv_opt_uint(g, "stop_signal", r->stop_signal != 0, (uint64_t)r->stop_signal);
        json_gen_kv_bool(g, "stop_timeout_expired", r->stop_timeout_expired);
        json_gen_kv_bool(g, "job_started", r->job_started);
        if (r->reason == RC_SANDBOX_ERROR)
                json_gen_kv_string(g, "error", r->error);
        json_gen_kv_uint(g, "wall_time_us", r->wall_time_us);
        kv_opt_uint(g, "user_cpu_us", r->has_cpu, r->user_cpu_us);
        kv_opt_uint(g, "system_cpu_us", r->has_cpu, r->system_cpu_us);
        kv_opt_uint(g, "memory_peak_bytes", r->has_memory_peak, r->memory_peak);
        json_gen_kv_string(g, "memory_peak_null_reason", r->memory_peak_null);
        kv_opt_uint(g, "max_rss_bytes", r->has_cpu, r->max_rss);
        kv_opt_uint(g, "pids_peak", r->has_pids_peak, r->pids_peak);
        kv_opt_uint(g, "io_read_bytes", r->has_io, r->io_read_bytes);
        kv_opt_uint(g, "io_write_bytes", r->has_io, r->io_write_bytes);
        kv_opt_uint(g, "oom_kills", r->has_oom_kills, r->oom_kills);
        json_gen_kv_string(g, "usage_source", !r->has_cpu ? NULL : r->cgroup ? "cgroup" : "rusage");
        json_gen_kv_string(g, "rootfs", r->rootfs);
        json_gen_kv_string(g, "image", r->image);
        json_gen_object_close(g);
        ret_code = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        return ret_code;
}

void rc_sandbox_report_clear(struct rc_sandbox_report *r)
{
        free(r->id);
        free(r->error);
        r->id = r->error = NULL;
}
