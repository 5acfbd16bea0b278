/* linux.resources -> cgroup v2 files, written against the cgroup's directory fd (so the
 * unit tests point them at a temporary directory of fake files).
 *
 * Conversions, as runc and crun do them:
 *   memory.limit        -> memory.max        (-1: "max"; 0: not set)
 *   memory.reservation  -> memory.low        (idem)
 *   memory.swap         -> memory.swap.max   = swap - limit (OCI's swap is memory+swap)
 *   memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; a warning, nothing
 *                          written. memory.oom.group is not its equivalent (it makes the
 *                          OOM killer take the whole group): set it through `unified`.
 *   memory.swappiness, kernel, kernelTCP: no v2 file; a warning.
 *   memory.high         only through `unified`
 *   cpu.shares          -> cpu.weight = 1 + ((shares - 2) * 9999) / 262142
 *   cpu.quota/period    -> cpu.max "QUOTA PERIOD" (quota <= 0: "max")
 *   cpu.burst           -> cpu.max.burst;  cpu.idle -> cpu.idle
 *   cpu.cpus/mems       -> cpuset.cpus / cpuset.mems
 *   cpu.realtime*       -> refused (no cgroup v2 equivalent: cannot be enforced)
 *   pids.limit          -> pids.max          (<= 0: "max")
 *   blockIO.weight      -> io.bfq.weight (same scale) if the file exists, else io.weight
 *                          = 1 + (weight - 10) * 9999 / 990; weightDevice likewise per device
 *   blockIO.throttle*   -> io.max "MAJ:MIN rbps=N" (wbps, riops, wiops; rate 0: "max")
 *   hugepageLimits      -> hugetlb.<size>.max (and .rsvd.max where the kernel has it)
 *   unified             -> the file named by the key (a plain name, checked by specs/)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"

#define VALUE_MAX 512

uint64_t rc_cgroup_cpu_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t rc_cgroup_io_weight(uint64_t w)
{
        if (w == 0)
                return 0;
        if (w < 10)
                w = 10;
        if (w > 1000)
                w = 1000;
        return 1 + (w - 10) * 9999 / 990;
}

int rc_cgroup_swap_max(int64_t swap, int64_t limit, int64_t *ret, rc_error_t *err)
{
        /* memory unlimited, swap not given: both unlimited (what v1 meant) */
        if (limit == -1 && swap == 0) {
                *ret = -1;
                return 0;
        }
        if (swap == -1 || swap == 0) {
                *ret = swap;
                return 0;
        }
        if (swap < 0)
                return rc_error_set(err, 0, "invalid memory swap value %" PRId64, swap);
        if (limit == 0 || limit == -1)
                return rc_error_set(
                        err, 0, "memory swap limit %" PRId64 " needs a memory limit (swap is memory+swap)",
                        swap);
        if (limit < 0)
                return rc_error_set(err, 0, "invalid memory limit %" PRId64, limit);
        if (swap < limit)
                return rc_error_set(err, 0,
                                    "memory+swap limit %" PRId64 " is lower than the memory limit %" PRId64,
                                    swap, limit);
        *ret = swap - limit;
        return 0;
}

int rc_cgroup_cpu_max(const struct oci_cpu *c, const char *current_quota, char *buf, size_t size)
{
        bool quota = c->quota.set && c->quota.v != 0;
        bool period = c->period.set && c->period.v != 0;
        char q[32];

        if (!quota && !period)
                return 0;
        if (quota && c->quota.v > 0)
                snprintf(q, sizeof(q), "%" PRId64, c->quota.v);
        else if (quota || current_quota == NULL)
                snprintf(q, sizeof(q), "max");
        else
                snprintf(q, sizeof(q), "%.31s", current_quota);
        if (period)
                snprintf(buf, size, "%s %" PRIu64, q, c->period.v);
        else
                snprintf(buf, size, "%s", q);
        return 1;
}

/* O_TRUNC: harmless on cgroupfs, and keeps a fake file in a test directory exact. */
static int cg_write(int dirfd, const char *file, const char *value, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0 && errno == ENOENT)
                return rc_error_set_status(err, ENOENT, "set `%s` to \"%s\": the cgroup has no such file",
                                           file, value);
        if (fd < 0)
                return rc_error_set(err, errno, "set `%s` to \"%s\"", file, value);
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(err, errno, "set `%s` to \"%s\"", file, value);
        return 0;
}

static int cg_write_u64(int dirfd, const char *file, uint64_t v, rc_error_t *err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cg_write(dirfd, file, buf, err);
}

/* -1 (or any negative): "max"; 0: leave alone. */
static int cg_write_limit(int dirfd, const char *file, int64_t v, rc_error_t *err)
{
        char buf[32];

        if (v == 0)
                return 0;
        if (v < 0)
                snprintf(buf, sizeof(buf), "max");
        else
                snprintf(buf, sizeof(buf), "%" PRId64, v);
        return cg_write(dirfd, file, buf, err);
}

static bool file_exists(int dirfd, const char *file)
{
        return faccessat(dirfd, file, F_OK, 0) == 0;
}

/* First word of a cgroup file ("max", "50000"), or false if unreadable. */
static bool read_word(int dirfd, const char *file, char *buf, size_t size)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *data = NULL;
        size_t n;

        if (rc_read_file_at(dirfd, file, VALUE_MAX, &data, NULL, &e) < 0)
                return false;
        n = strcspn(data, " \n");
        if (n == 0 || n >= size)
                return false;
        memcpy(buf, data, n);
        buf[n] = '\0';
        return true;
}

/* The memory limit in force: the new one if given, else the cgroup's (for an update
 * that changes swap alone). */
static int64_t effective_limit(int dirfd, const struct oci_memory *m)
{
        char buf[32];

        if (m->limit.set && m->limit.v != 0)
                return m->limit.v;
        if (!read_word(dirfd, "memory.max", buf, sizeof(buf)))
                return 0;
        if (strcmp(buf, "max") == 0)
                return -1;
        return strtoll(buf, NULL, 10);
}

static int check_before_update(int dirfd, int64_t limit, rc_error_t *err)
{
        char buf[32];
        int64_t usage;

        if (limit <= 0 || !read_word(dirfd, "memory.current", buf, sizeof(buf)))
                return 0;
        usage = strtoll(buf, NULL, 10);
        if (usage > limit)
                return rc_error_set(err, 0,
                                    "memory limit %" PRId64 " is lower than the current usage %" PRId64
                                    " (memory.checkBeforeUpdate)",
                                    limit, usage);
        return 0;
}

static void warn_memory(const struct oci_memory *m, const struct rc_logger *log)
{
        if (m->disable_oom_killer)
                rc_log(log, RC_LOG_WARNING,
                       "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; "
                       "ignored");
        if (m->swappiness.set)
                rc_log(log, RC_LOG_WARNING,
                       "linux.resources.memory.swappiness: not available on cgroup v2; ignored");
        if (m->kernel.set || m->kernel_tcp.set)
                rc_log(log, RC_LOG_WARNING,
                       "linux.resources.memory.kernel/kernelTCP: not available on cgroup v2; ignored");
}

static int apply_memory(int dirfd, const struct oci_memory *m, const struct rc_logger *log, rc_error_t *err)
{
        int64_t swap = 0;

        warn_memory(m, log);
        if (m->swap.set || (m->limit.set && m->limit.v == -1)) {
                if (rc_cgroup_swap_max(m->swap.set ? m->swap.v : 0, effective_limit(dirfd, m), &swap, err) <
                    0)
                        return rc_error_wrap(err, ".linux.resources.memory.swap");
        }
        if (m->check_before_update && m->limit.set && check_before_update(dirfd, m->limit.v, err) < 0)
                return -1;
        /* No swap accounting: lifting or zeroing a swap limit that cannot exist is fine.
         * memory+swap equal to the limit means no swap at all (0, not "unset"). */
        if (swap == 0 && m->swap.set && m->swap.v > 0) {
                if (file_exists(dirfd, "memory.swap.max") &&
                    cg_write(dirfd, "memory.swap.max", "0", err) < 0)
                        return -1;
        } else if (swap != 0 && (swap > 0 || file_exists(dirfd, "memory.swap.max")) &&
                   cg_write_limit(dirfd, "memory.swap.max", swap, err) < 0) {
                return -1;
        }
        if (m->limit.set && cg_write_limit(dirfd, "memory.max", m->limit.v, err) < 0)
                return -1;
        if (m->reservation.set && cg_write_limit(dirfd, "memory.low", m->reservation.v, err) < 0)
                return -1;
        return 0;
}

static int apply_cpu(int dirfd, const struct oci_cpu *c, rc_error_t *err)
{
        char buf[96], cur[32];
        bool have_cur;

        if (c->realtime_runtime.set || c->realtime_period.set)
                return rc_error_set(err, 0,
                                    ".linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                                    "real-time CPU limits; remove them from the config");
        if (c->cpus != NULL && c->cpus[0] != '\0' && cg_write(dirfd, "cpuset.cpus", c->cpus, err) < 0)
                return -1;
        if (c->mems != NULL && c->mems[0] != '\0' && cg_write(dirfd, "cpuset.mems", c->mems, err) < 0)
                return -1;
        if (c->shares.set && c->shares.v != 0 &&
            cg_write_u64(dirfd, "cpu.weight", rc_cgroup_cpu_weight(c->shares.v), err) < 0)
                return -1;
        have_cur = !(c->quota.set && c->quota.v != 0) && read_word(dirfd, "cpu.max", cur, sizeof(cur));
        if (rc_cgroup_cpu_max(c, have_cur ? cur : NULL, buf, sizeof(buf)) &&
            cg_write(dirfd, "cpu.max", buf, err) < 0)
                return -1;
        if (c->burst.set && cg_write_u64(dirfd, "cpu.max.burst", c->burst.v, err) < 0)
                return -1;
        if (c->idle.set && cg_write_u64(dirfd, "cpu.idle", c->idle.v != 0, err) < 0)
                return -1;
        return 0;
}

static int apply_pids(int dirfd, int64_t limit, rc_error_t *err)
{
        return cg_write_limit(dirfd, "pids.max", limit > 0 ? limit : -1, err);
}

/* "W" (the default weight) or "MAJ:MIN W"; io.bfq.weight takes the blkio scale as is. */
static int write_io_weight(int dirfd, bool bfq, const char *dev, uint64_t w, rc_error_t *err)
{
        uint64_t v = bfq ? w : rc_cgroup_io_weight(w);
        char buf[64];

        if (dev == NULL)
                snprintf(buf, sizeof(buf), "%" PRIu64, v);
        else
                snprintf(buf, sizeof(buf), "%s %" PRIu64, dev, v);
        return cg_write(dirfd, bfq ? "io.bfq.weight" : "io.weight", buf, err);
}

static int write_throttle(int dirfd, const struct oci_throttle_device *v, size_t n, const char *key,
                          rc_error_t *err)
{
        char buf[96];

        for (size_t i = 0; i < n; i++) {
                if (v[i].rate == 0)
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=max", v[i].major, v[i].minor,
                                 key);
                else
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, v[i].major,
                                 v[i].minor, key, v[i].rate);
                if (cg_write(dirfd, "io.max", buf, err) < 0)
                        return -1;
        }
        return 0;
}

static int apply_blockio(int dirfd, const struct oci_blockio *b, const struct rc_logger *log,
                         rc_error_t *err)
{
        bool bfq = file_exists(dirfd, "io.bfq.weight");
        char dev[48];

        if (b->leaf_weight.set)
                rc_log(log, RC_LOG_WARNING,
                       "linux.resources.blockIO.leafWeight: not available on cgroup v2; ignored");
        if (b->weight.set && b->weight.v != 0 && write_io_weight(dirfd, bfq, NULL, b->weight.v, err) < 0)
                return -1;
        for (size_t i = 0; i < b->n_weight_devices; i++) {
                const struct oci_weight_device *d = &b->weight_devices[i];

                if (!d->weight.set || d->weight.v == 0)
                        continue;
                snprintf(dev, sizeof(dev), "%" PRId64 ":%" PRId64, d->major, d->minor);
                if (write_io_weight(dirfd, bfq, dev, d->weight.v, err) < 0)
                        return -1;
        }
        if (write_throttle(dirfd, b->throttle_read_bps, b->n_throttle_read_bps, "rbps", err) < 0 ||
            write_throttle(dirfd, b->throttle_write_bps, b->n_throttle_write_bps, "wbps", err) < 0 ||
            write_throttle(dirfd, b->throttle_read_iops, b->n_throttle_read_iops, "riops", err) < 0 ||
            write_throttle(dirfd, b->throttle_write_iops, b->n_throttle_write_iops, "wiops", err) < 0)
                return -1;
        return 0;
}

static int apply_hugepages(int dirfd, const struct oci_hugepage_limit *v, size_t n, rc_error_t *err)
{
        char file[96];

        for (size_t i = 0; i < n; i++) {
                snprintf(file, sizeof(file), "hugetlb.%s.max", v[i].page_size);
                if (cg_write_u64(dirfd, file, v[i].limit, err) < 0)
                        return -1;
                snprintf(file, sizeof(file), "hugetlb.%s.rsvd.max", v[i].page_size);
                if (file_exists(dirfd, file) && cg_write_u64(dirfd, file, v[i].limit, err) < 0)
                        return -1;
        }
        return 0;
}

/* Keys were checked to be plain file names by specs/validate.c; check again here,
 * since this is where a '/' would do harm. */
static int apply_unified(int dirfd, const struct oci_kv *kv, size_t n, rc_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                const char *k = kv[i].key;

                if (k[0] == '\0' || strchr(k, '/') != NULL || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
                        return rc_error_set(err, 0,
                                            ".linux.resources.unified: invalid cgroup file name \"%s\"", k);
                if (cg_write(dirfd, k, kv[i].value, err) < 0)
                        return rc_error_wrap(err, ".linux.resources.unified");
        }
        return 0;
}

int rc_cgroup_apply_resources(int dirfd, const struct oci_resources *r, const struct rc_logger *log,
                              rc_error_t *err)
{
        if (r == NULL || !r->present)
                return 0;
        /* cpu (and cpuset) first: a cpuset the host cannot give is the likeliest
         * mistake, so it fails before anything else is written */
        if (r->has_cpu && apply_cpu(dirfd, &r->cpu, err) < 0)
                return -1;
        if (r->has_memory && apply_memory(dirfd, &r->memory, log, err) < 0)
                return -1;
        if (r->has_pids && apply_pids(dirfd, r->pids_limit, err) < 0)
                return -1;
        if (r->has_blockio && apply_blockio(dirfd, &r->blockio, log, err) < 0)
                return -1;
        if (apply_hugepages(dirfd, r->hugepages, r->n_hugepages, err) < 0)
                return -1;
        return apply_unified(dirfd, r->unified, r->n_unified, err);
}
