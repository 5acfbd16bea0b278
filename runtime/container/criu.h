/* Internal: libcriu (Debian's criu package), loaded on first use like libnftables and
 * libarchive (runtime/base/dl.h), so that only checkpoint and restore pay for it. Include
 * this header instead of <criu/criu.h>; the calls stay as written and go through pointers
 * that rc_criu_load() fills. Only the criu_local_* calls are used: options live in a
 * criu_opts of the caller's, not in libcriu's global. */
#pragma once

#include <criu/criu.h>
#include <criu/rpc.pb-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"

/* The criu program `criu swrk` runs from (Debian's package): never looked up in PATH. */
#define RC_CRIU_PATH "/usr/sbin/criu"

#define RC_CRIU_SYMBOLS(X)                                                                                  \
        X(criu_local_init_opts)                                                                             \
        X(criu_local_free_opts)                                                                             \
        X(criu_local_set_pid)                                                                               \
        X(criu_local_set_images_dir_fd)                                                                     \
        X(criu_local_set_work_dir_fd)                                                                       \
        X(criu_local_set_parent_images)                                                                     \
        X(criu_local_set_leave_running)                                                                     \
        X(criu_local_set_ext_unix_sk)                                                                       \
        X(criu_local_set_tcp_established)                                                                   \
        X(criu_local_set_shell_job)                                                                         \
        X(criu_local_set_orphan_pts_master)                                                                 \
        X(criu_local_set_file_locks)                                                                        \
        X(criu_local_set_track_mem)                                                                         \
        X(criu_local_set_auto_dedup)                                                                        \
        X(criu_local_set_log_level)                                                                         \
        X(criu_local_set_log_file)                                                                          \
        X(criu_local_set_root)                                                                              \
        X(criu_local_set_manage_cgroups)                                                                    \
        X(criu_local_set_manage_cgroups_mode)                                                               \
        X(criu_local_set_freeze_cgroup)                                                                     \
        X(criu_local_add_ext_mount)                                                                         \
        X(criu_local_add_cg_root)                                                                           \
        X(criu_local_add_inherit_fd)                                                                        \
        X(criu_local_add_external)                                                                          \
        X(criu_local_set_page_server_address_port)                                                          \
        X(criu_local_set_network_lock)                                                                      \
        X(criu_local_set_notify_cb)                                                                         \
        X(criu_local_dump)                                                                                  \
        X(criu_local_pre_dump)                                                                              \
        X(criu_local_restore)                                                                               \
        X(criu_local_set_service_fd)                                                                        \
        X(criu_local_feature_check)                                                                         \
        X(criu_notify_pid)                                                                                  \
        X(criu_get_orphan_pts_master_fd)

#define RC_DL_DECLARE(name) extern __typeof__(name) *rc_dl_##name;
RC_CRIU_SYMBOLS(RC_DL_DECLARE)
#undef RC_DL_DECLARE

#ifndef RC_CRIU_IMPL
#define criu_local_init_opts (*rc_dl_criu_local_init_opts)
#define criu_local_free_opts (*rc_dl_criu_local_free_opts)
#define criu_local_set_pid (*rc_dl_criu_local_set_pid)
#define criu_local_set_images_dir_fd (*rc_dl_criu_local_set_images_dir_fd)
#define criu_local_set_work_dir_fd (*rc_dl_criu_local_set_work_dir_fd)
#define criu_local_set_parent_images (*rc_dl_criu_local_set_parent_images)
#define criu_local_set_leave_running (*rc_dl_criu_local_set_leave_running)
#define criu_local_set_ext_unix_sk (*rc_dl_criu_local_set_ext_unix_sk)
#define criu_local_set_tcp_established (*rc_dl_criu_local_set_tcp_established)
#define criu_local_set_shell_job (*rc_dl_criu_local_set_shell_job)
#define criu_local_set_orphan_pts_master (*rc_dl_criu_local_set_orphan_pts_master)
#define criu_local_set_file_locks (*rc_dl_criu_local_set_file_locks)
#define criu_local_set_track_mem (*rc_dl_criu_local_set_track_mem)
#define criu_local_set_auto_dedup (*rc_dl_criu_local_set_auto_dedup)
#define criu_local_set_log_level (*rc_dl_criu_local_set_log_level)
#define criu_local_set_log_file (*rc_dl_criu_local_set_log_file)
#define criu_local_set_root (*rc_dl_criu_local_set_root)
#define criu_local_set_manage_cgroups (*rc_dl_criu_local_set_manage_cgroups)
#define criu_local_set_manage_cgroups_mode (*rc_dl_criu_local_set_manage_cgroups_mode)
#define criu_local_set_freeze_cgroup (*rc_dl_criu_local_set_freeze_cgroup)
#define criu_local_add_ext_mount (*rc_dl_criu_local_add_ext_mount)
#define criu_local_add_cg_root (*rc_dl_criu_local_add_cg_root)
#define criu_local_add_inherit_fd (*rc_dl_criu_local_add_inherit_fd)
#define criu_local_add_external (*rc_dl_criu_local_add_external)
#define criu_local_set_page_server_address_port (*rc_dl_criu_local_set_page_server_address_port)
#define criu_local_set_network_lock (*rc_dl_criu_local_set_network_lock)
#define criu_local_set_notify_cb (*rc_dl_criu_local_set_notify_cb)
#define criu_local_dump (*rc_dl_criu_local_dump)
#define criu_local_pre_dump (*rc_dl_criu_local_pre_dump)
#define criu_local_restore (*rc_dl_criu_local_restore)
#define criu_local_set_service_fd (*rc_dl_criu_local_set_service_fd)
#define criu_local_feature_check (*rc_dl_criu_local_feature_check)
#define criu_notify_pid (*rc_dl_criu_notify_pid)
#define criu_get_orphan_pts_master_fd (*rc_dl_criu_get_orphan_pts_master_fd)
#endif

/* The request fields libcriu 3.17 has no setter for (empty_ns, lazy_pages; runc sends
 * them): libcriu's criu_opts begins with the CriuOpts request it sends (criu/lib/c/criu.c,
 * laid out so since libcriu's first release), so they are set there. */
static inline CriuOpts *rc_criu_request(criu_opts *o)
{
        return *(CriuOpts **)o;
}

/* Load libcriu.so.2 once. */
int rc_criu_load(rc_error_t *err);

/* A `criu swrk` started by the runtime for one request of `o`, which talks to it through
 * the socket (CRIU_COMM_FD). libcriu's own way forks inside the C library that dlopen
 * loads next to this static program's, and that child crashes. The swrk gets the
 * runtime's fds (its 0-2 are what restore hands to the container's pipes); restored
 * processes are its children, and the runtime's once it exits if the runtime is a
 * subreaper. hold_fd (> 0; 0: none) stays open in the swrk for its whole life: a lock
 * of the caller's (migrate's work directory) is then held until CRIU is done, even when
 * the caller is killed before it (CRIU finishes a dump or restore on its own). */
struct rc_criu_swrk {
        pid_t pid;
        int sock;
};
int rc_criu_swrk_start(criu_opts *o, int hold_fd, struct rc_criu_swrk *ret, rc_error_t *err);
/* Close the socket (the swrk then exits) and reap it. */
void rc_criu_swrk_finish(struct rc_criu_swrk *w);

/* `criu lazy-pages` for a restore with --lazy-pages: it fetches the memory from the page
 * server at address:port (the checkpoint that serves it) and hands it to the restored
 * tasks as they fault, through the socket it makes in work_path, where the restore's criu
 * finds it. Started detached (not the runtime's child: it lives on after the restore,
 * until every page is over, then exits 0; 1 on an error), in a session of its own, with
 * /dev/null as its stdio; returns once it is ready (its --status-fd), with its pid, or
 * fails with its log's first error. A caller that is a subreaper (PR_SET_CHILD_SUBREAPER)
 * gets it as its child (the middle process that forked it has exited on return) and can
 * wait for it. address NULL: no page server, the lazy pages are read from image_path
 * itself. hold_fd: as rc_criu_swrk_start's, held by the daemon until it ends. */
int rc_criu_lazy_pages_start(const char *address, int port, const char *image_path, const char *work_path,
                             int hold_fd, pid_t *ret_pid, rc_error_t *err);

/* The log CRIU writes into the work directory, and the image CRIU's callers keep next to
 * its own: what fds 0-2 of the init were (runc's and crun's descriptors.json, a JSON
 * array of readlink(2) texts), so that restore can hand the caller's pipes over. */
#define RC_CRIU_DUMP_LOG "dump.log"
#define RC_CRIU_RESTORE_LOG "restore.log"
#define RC_CRIU_DESCRIPTORS "descriptors.json"
/* run-container's own: the network and address the container had ({"network": NAME,
 * "address": A.B.C.D}), which restore asks for again. */
#define RC_CRIU_NETWORK "run-container-network.json"
/* run-container's own, written by checkpoint --lazy-pages: where the dump serves the
 * memory ({"pageServer": "ADDRESS:PORT"}), for restore --lazy-pages. */
#define RC_CRIU_LAZY "run-container-lazy.json"
/* Write it into the image directory imgfd: the dump serves the memory at page_server. */
int rc_criu_write_lazy(int imgfd, const char *page_server, rc_error_t *err);
#define RC_CRIU_LAZY_LOG "lazy-pages.log"
/* The key of the container's network namespace, which is external to the image: restore
 * gives CRIU a namespace made (and plumbed) by the create path (runc's and crun's key). */
/* The restore's source of the masked directories, in its work directory (checkpoint.c). */
#define RC_CRIU_MASKED "run-container-masked"
#define RC_CRIU_EXT_NETNS "extRootNetNS"

/* The container's tmpfs mounts outside CRIU's image (criu_tmpfs.c): the list of their
 * archives in the image ({"mounts": [{"destination": "/dev", "archive":
 * "run-container-tmpfs-0.img"}, ...]}; an image with it says that CRIU's own image lacks
 * those mounts' content: restore needs it, and CRIU without it fails with "No mapping
 * for ...:/dev mountpoint"), and the directory of the restore's new tmpfs mounts in its
 * work directory. */
#define RC_CRIU_TMPFS "run-container-tmpfs.json"
#define RC_CRIU_TMPFS_DIR "run-container-tmpfs"
struct oci_config;
struct rc_criu_tmpfs {
        size_t n;
        char **dest; /* the mount's path in the container */
        int *fd; /* a detached copy of the mount, without its children */
};
/* Whether path (in the container's root procroot) is the root of a tmpfs mount; and
 * whether it is read-only. */
bool rc_criu_tmpfs_root(int procroot, const char *path, bool *ret_rdonly);
/* Before a (non-lazy) dump of pid: its config's tmpfs mounts given to CRIU as external,
 * with their copies in *ret (none when the runtime cannot make them: CRIU archives them). */
int rc_criu_tmpfs_dump_prepare(criu_opts *o, const struct oci_config *cfg, pid_t pid, int imgfd,
                               struct rc_criu_tmpfs *ret, rc_error_t *err);
/* At CRIU's "post-dump" (tasks still frozen): the archives and their list into imgfd. */
int rc_criu_tmpfs_dump_write(const struct rc_criu_tmpfs *t, int imgfd, rc_error_t *err);
void rc_criu_tmpfs_clear(struct rc_criu_tmpfs *t);
/* Restore, in its private mount namespace: the image's tmpfs mounts made (the config's
 * options) and filled, as the external mounts' sources; nothing when the image has none. */
int rc_criu_tmpfs_restore_prepare(criu_opts *o, const struct oci_config *cfg, int imgfd,
                                  const char *image_path, const char *work_path, rc_error_t *err);
/* After the restore, out of the private namespace: the mount points' directories go. */
void rc_criu_tmpfs_restore_cleanup(const char *work_path);

/* Pages image truncation (runtime/container/criu_image.c): CRIU 3.17 restoring from a
 * pages image shorter than its pagemap says loops for ever. rc_criu_check_pages fails,
 * naming the file, when a pagemap-*.img of the image directory names more pages than its
 * pages-<id>.img holds (pages in a parent image or served lazily do not count).
 * rc_criu_pagemap_need: a pagemap image's pages id and the pages it puts in that file;
 * -1 if it is not one. */
int rc_criu_pagemap_need(const uint8_t *buf, size_t len, uint32_t *ret_pages_id, uint64_t *ret_pages);
int rc_criu_check_pages(int imgfd, const char *image_path, rc_error_t *err);
/* The pages a lazy dump's pagemaps leave to its page server (moved after the restore). */
int rc_criu_pagemap_lazy(const uint8_t *buf, size_t len, uint64_t *ret_lazy);
int rc_criu_image_lazy_pages(int imgfd, uint64_t *ret, rc_error_t *err);

/* migrate --lazy-parent (runtime/container/criu_image.c): the pages of a later round of
 * pre-copy folded into the first pre-dump's pages image (the base), and the final image's
 * pagemaps rewritten to take every page from there, the final dump's own pages eager,
 * the others lazy where CRIU may restore them so; a restore with a local `criu
 * lazy-pages` then runs the tasks before the memory is back. */
struct rc_criu_fold_copy {
        uint64_t from, to, len; /* bytes: the round's pages file to the base's */
};
struct rc_criu_fold {
        struct rc_criu_fold_copy *copies;
        size_t n_copies, cap_copies;
        uint32_t base_pages_id, top_pages_id;
        uint8_t *pagemap; /* final: the new pagemap image */
        size_t pagemap_len;
        uint64_t lazy_pages, eager_pages; /* final: of the new pagemap */
};
/* The plan for one pagemap image of a round (top) against the base's: 0; -2 (*why says
 * what) if the round has a page the base has not, or (final) the final's pages are not
 * the base's; -1 if either is no pagemap image. */
int rc_criu_pagemap_fold(const uint8_t *base, size_t blen, const uint8_t *top, size_t tlen, bool final,
                         uint32_t new_pages_id, struct rc_criu_fold *ret, const char **why);
void rc_criu_fold_free(struct rc_criu_fold *f);
struct rc_criu_fold_stats {
        uint64_t folded_pages; /* written into the base */
        uint64_t lazy_pages, eager_pages; /* final: restored after / before the tasks run */
        unsigned rewritten; /* final: processes whose pagemap now takes the base's pages */
        unsigned unfolded; /* processes left to the chain of images (forked since the base,
                            * or with a page the base has not: why says which first) */
        char why[256];
};
/* Fold image directory dirfd (a pre-dump after the base, or final) into basefd, process
 * by process (a process that cannot be folded is marked so in the base and left as CRIU
 * wrote it, in this round and after); every plan is made before anything is written. */
int rc_criu_fold_image(int basefd, const char *base_path, int dirfd, const char *dir_path, bool final,
                       struct rc_criu_fold_stats *st, rc_error_t *err);

/* CRIU's statistics of a dump or pre-dump (its stats.proto, the image file `stats-dump`
 * it writes into its work directory, the image directory unless one is given, once the
 * dump ended). With dirty tracking and a parent image, a page not written since the
 * parent's dump is skipped: pages_written are then the pages dirtied since (and pages
 * new since). A lazy dump (3.17) writes them only once its page server ended, with a
 * pages_lazy of 0 (seen in tests/vm): its pagemaps tell (rc_criu_image_lazy_pages). */
#define RC_CRIU_DUMP_STATS "stats-dump"
struct rc_criu_dump_stats {
        uint64_t pages_scanned; /* the tasks' private pages CRIU looked at */
        uint64_t pages_skipped_parent; /* unchanged since the parent image: not written */
        uint64_t pages_written; /* into this image's pages-*.img (or to a page server) */
        uint64_t pages_lazy; /* left with a lazy dump's page server, moved after the restore */
        uint64_t frozen_us, memdump_us, memwrite_us;
};
/* -1 if buf is not such an image. */
int rc_criu_dump_stats_parse(const uint8_t *buf, size_t len, struct rc_criu_dump_stats *ret);
int rc_criu_dump_stats(int dirfd, struct rc_criu_dump_stats *ret, rc_error_t *err);

/* A failed libcriu call (ret < 0): the error says what failed and CRIU's own reason,
 * the first "Error (file:line): " line of `log` in the work directory (workfd), or
 * libcriu's return value when there is none; and where the log is (work_path; NULL: the
 * log does not stay). */
int rc_criu_fail(int ret, int workfd, const char *work_path, const char *log, const char *what,
                 rc_error_t *err);
