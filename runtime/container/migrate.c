/* migrate: live migration to another state root with iterative pre-copy, built from
 * checkpoint (pre-dump rounds, the final dump) and restore (runtime/container/checkpoint.c).
 *
 * Work directory (default <to_root>/@migrate-<id>.XXXXXX, '@': no container id has it):
 *   migrate.json  where the container comes from and goes: {"id", "source" (the source's
 *                 state root), "destination" (to_root, or "unix:PATH"), "bundle", the
 *                 CRIU flags}, written before any CRIU round; renamed migrate.done once
 *                 the migrate is settled, before the directory is removed
 *   restoring     made just before the restore at the destination is asked for, removed
 *                 if it fails (so gc knows whether the destination may have the container)
 *   config.json   the container's config as create saved it (the source's state goes
 *                 with the final dump; the restore reads this copy)
 *   pre-1 .. pre-N  pre-dumps, each the parent of the next (CRIU's dirty tracking)
 *   final          the final dump, parent pre-N
 * Pages per round are counted from the pages-*.img files CRIU wrote in that round.
 *
 * To a `migrate-receive` (to_unix): the work directory is at the source (default
 * <root>/@migrate-<id>.XXXXXX) and each round goes over the stream once CRIU wrote it
 * (runtime/container/migrate_wire.h); the receiver restores; the source's copy lets it
 * restore the container at the source again when that fails.
 *
 * The migrate process holds flock(LOCK_EX) on the work directory for its whole life, and
 * every criu it starts holds it too (rc_criu_opts.hold_fd): a criu left alone by a killed
 * migrate finishes its dump or restore first. A work directory with a record whose lock
 * is free belongs to a migrate that died: `gc` at the root that holds it, and the next
 * migrate of that id, settle it (runtime/container/migrate_gc.c). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/container.h"
#include "runtime/container/criu.h"
#include "runtime/container/internal.h"
#include "runtime/container/migrate_wire.h"
#include "runtime/container/state.h"
#include "specs/json.h"

#define DEFAULT_ROUNDS 4

static unsigned ms_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (unsigned)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Pages in the pages-*.img files of an image directory (CRIU's statistics missing). */
static uint64_t image_pages(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t bytes = 0;
        struct dirent *e;
        DIR *d;

        if (fd < 0 || (d = fdopendir(fd)) == NULL)
                return 0;
        fd = -1; /* the DIR owns it */
        while ((e = readdir(d)) != NULL) {
                struct stat st;

                if (strncmp(e->d_name, "pages-", 6) == 0 && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
                        bytes += (uint64_t)st.st_size;
        }
        closedir(d);
        return bytes / (uint64_t)sysconf(_SC_PAGESIZE);
}

/* What the round in image directory `dir` moved: CRIU's own counts, else the pages in
 * its pages images. lazy: a lazy dump that serves its memory now (its statistics come
 * at its end): the pages its pagemaps leave to the page server. */
static void round_counts(const char *dir, bool lazy, struct rc_migrate_round *r)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_criu_dump_stats st;

        if (!lazy && fd >= 0 && rc_criu_dump_stats(fd, &st, &e) == 0) {
                r->stats = true;
                r->pages = st.pages_written;
                r->pages_skipped = st.pages_skipped_parent;
                return;
        }
        r->pages = image_pages(dir);
        if (lazy && fd >= 0)
                (void)rc_criu_image_lazy_pages(fd, &r->pages_lazy, &e);
}

/* The source's bundle and the config create saved. */
static int load_source(const struct rc_runtime *rt, const char *id, char **ret_cfg, size_t *ret_len,
                       char **ret_bundle, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct oci_state *st = NULL;
        int ret = -1;

        if (rc_state_root_open(rt->root, &rootfd, err) < 0 ||
            rc_state_dir_open(rootfd, id, &dirfd, err) < 0 || rc_state_read(dirfd, id, &st, err) < 0 ||
            rc_state_read_file(dirfd, RC_CONFIG_FILE, ret_cfg, ret_len, err) < 0)
                goto out;
        *ret_bundle = strdup(st->bundle);
        ret = *ret_bundle != NULL ? 0 : rc_error_set(err, ENOMEM, "bundle path");
out:
        oci_state_free(st);
        return ret;
}

struct migration {
        const struct rc_runtime *rt;
        const char *id;
        const struct rc_migrate_opts *o;
        char work[PATH_MAX];
        char *bundle;
        char *config; /* the saved config's text */
        size_t config_len;
        int workfd; /* locked while the migration lives (and by each criu it starts) */
        bool locked; /* the lock is ours (a caller's work path may be another migrate's) */
        bool made; /* the work directory was made here */
        int sock; /* to_unix: the stream to the receiver; else -1 */
        unsigned rounds; /* pre-dumps done */
        bool keep; /* the final image is all that is left of the container */
        bool shipping_failed; /* the final dump is made, sending it failed */
        char *cgroup; /* post-copy: the source's cgroup path (NULL: none) */
        bool fold_broken; /* --lazy-parent: a round could not be folded (fold_note says why) */
        bool lazy_restore; /* --lazy-parent: the final image was folded */
        uint64_t lazy_pages; /* --lazy-parent: what the final image leaves to the daemon */
        pid_t lazy_daemon; /* --lazy-parent: the restore's `criu lazy-pages` (our child) */
        char fold_note[512];
};

static void criu_opts_of(const struct migration *m, struct rc_criu_opts *c, const char *image)
{
        *c = (struct rc_criu_opts){.image_path = image,
                                   .tcp_established = m->o->tcp_established,
                                   .ext_unix_sk = m->o->ext_unix_sk,
                                   .file_locks = m->o->file_locks,
                                   .hold_fd = m->workfd};
}

/* Where the container goes, for messages: the state root or "unix:PATH". */
static const char *destination(const struct migration *m)
{
        return m->o->to_unix != NULL ? m->o->to_unix : m->o->to_root;
}

/* Whether the work directory's file system has no room left (what a failed round wrote
 * is still there: do_round makes the round's directory itself). */
static bool work_full(const struct migration *m)
{
        struct statvfs sv;

        return fstatvfs(m->workfd, &sv) == 0 && (sv.f_bavail == 0 || (sv.f_files > 0 && sv.f_favail == 0));
}

/* --lazy-parent: a round after the first folded into pre-1 (criu_image.c); the final's
 * pagemaps rewritten. What cannot be folded is left as CRIU wrote it (the restore reads
 * those pages first); the round's line says so. */
static void fold_round(struct migration *m, const char *image, bool final, struct rc_migrate_round *r)
{
        _cleanup_close_ int basefd = -1, dirfd = -1;
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_criu_fold_stats st = {0};
        char base[PATH_MAX + 16];

        if (m->fold_broken)
                return;
        snprintf(base, sizeof(base), "%s/pre-1", m->work);
        basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dirfd = open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (basefd < 0 || dirfd < 0)
                rc_error_set(&e, errno, "open `%s`", basefd < 0 ? base : image);
        else if (rc_criu_fold_image(basefd, base, dirfd, image, final, &st, &e) == 0) {
                m->lazy_restore = final && st.rewritten > 0;
                m->lazy_pages = final ? st.lazy_pages : 0;
                r->pages_lazy_local = m->lazy_pages;
                if (st.unfolded > 0) {
                        snprintf(m->fold_note, sizeof(m->fold_note),
                                 "%u process%s not folded for a lazy restore%s%s%s", st.unfolded,
                                 st.unfolded > 1 ? "es" : "",
                                 st.why[0] ? " (" : " (not in round 1, or refused in a round before)",
                                 st.why, st.why[0] ? ")" : "");
                        r->note = m->fold_note;
                }
                return;
        }
        /* an image that cannot be read or written: the rounds after are not folded and
         * the restore reads every page first */
        m->fold_broken = true;
        snprintf(m->fold_note, sizeof(m->fold_note), "not folded for a lazy restore (%s)", e->msg);
        r->note = m->fold_note;
}

/* One pre-dump (final: the dump) round; *ret_pages: what it wrote. */
static int do_round(struct migration *m, bool final, uint64_t *ret_pages, rc_error_t *err)
{
        struct rc_checkpoint_opts co = {.pre_dump = !final};
        struct rc_migrate_round r = {.round = m->rounds + 1, .final = final};
        char image[PATH_MAX + 16], parent[32];
        struct timespec t0;

        if (final)
                snprintf(image, sizeof(image), "%s/final", m->work);
        else
                snprintf(image, sizeof(image), "%s/pre-%u", m->work, m->rounds + 1);
        if (m->rounds > 0) {
                snprintf(parent, sizeof(parent), "../pre-%u", m->rounds);
                co.parent_path = parent;
        }
        criu_opts_of(m, &co.criu, image);
        if (mkdir(image, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "migrate \"%s\": image directory `%s`", m->id, image);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (rc_container_checkpoint(m->rt, m->id, &co, err) < 0)
                return rc_error_wrap(err, "migrate \"%s\" to `%s`%s: %s round %u", m->id, destination(m),
                                     !work_full(m) ? ""
                                     : m->sock < 0 ? " (the destination is full)"
                                                   : " (the work directory is full)",
                                     final ? "final" : "pre-dump", r.round);
        round_counts(image, false, &r);
        *ret_pages = r.pages;
        if (m->o->lazy_parent && (final || m->rounds > 0))
                fold_round(m, image, final, &r);
        if (m->sock >= 0 &&
            rc_mw_send_dir(m->sock, m->workfd, strrchr(image, '/') + 1, &r.sent_bytes, err) < 0) {
                /* before the final round the container still runs at the source; after
                 * it, migrate_in restores it there and says so */
                if (final) {
                        m->shipping_failed = true;
                        return rc_error_wrap(err, "send the final round to `%s`", m->o->to_unix);
                }
                return rc_error_wrap(err, "migrate \"%s\": send round %u to `%s`", m->id, r.round,
                                     m->o->to_unix);
        }
        r.ms = ms_since(&t0);
        if (!final)
                m->rounds++;
        if (m->o->on_round != NULL)
                m->o->on_round(m->o->data, &r);
        return 0;
}

int rc_migrate_restore(const struct rc_runtime *rt, const char *root, const char *id, const char *work,
                       const char *bundle, const struct rc_criu_opts *flags, rc_error_t *err)
{
        struct rc_runtime at = *rt;
        char image[PATH_MAX + 16], config[PATH_MAX + 16];
        struct rc_create_opts co = {.bundle = bundle, .config_path = config};
        struct rc_restore_opts ro = {.criu = *flags, .detach = true};
        int status;

        at.root = root;
        snprintf(image, sizeof(image), "%s/final", work);
        snprintf(config, sizeof(config), "%s/config.json", work);
        ro.criu.image_path = image;
        ro.criu.work_path = NULL;
        return rc_container_restore(&at, id, &co, &ro, &status, err);
}

/* The final image restored under `root`, detached, from the saved config. */
static int restore_at(struct migration *m, const char *root, bool lazy, rc_error_t *err)
{
        struct rc_runtime rt = *m->rt;
        struct rc_criu_opts c;

        criu_opts_of(m, &c, NULL);
        c.lazy_pages = lazy;
        c.lazy_local = lazy && !m->o->post_copy; /* --lazy-parent: from the folded image */
        c.lazy_pid = &m->lazy_daemon;
        c.test_stop_lazy_daemon = m->o->test_stop_lazy_daemon;
        /* post-copy: a failed restore's delete must not empty the frozen source's cgroup */
        if (lazy)
                rt.shared_cgroup = m->cgroup;
        return rc_migrate_restore(&rt, root, m->id, m->work, m->bundle, &c, err);
}

/* The final image restored at the destination: under to_root, or by the receiver.
 * *ret_unknown: the request went out and the answer did not come back. */
static int restore_there(struct migration *m, bool lazy, bool *ret_unknown, rc_error_t *err)
{
        _cleanup_free_ char *msg = NULL;
        char req[160];
        int n;

        if (m->sock < 0)
                return restore_at(m, m->o->to_root, lazy, err);
        n = snprintf(req, sizeof(req),
                     "{\"tcpEstablished\":%s,\"extUnixSk\":%s,\"fileLocks\":%s,\"lazyPages\":%s}",
                     m->o->tcp_established ? "true" : "false", m->o->ext_unix_sk ? "true" : "false",
                     m->o->file_locks ? "true" : "false", lazy ? "true" : "false");
        /* a receiver gone before it read the request has restored nothing */
        if (rc_mw_send(m->sock, MW_RESTORE, req, (size_t)n, err) < 0)
                return rc_error_wrap(err, "restore request to `%s`", m->o->to_unix);
        /* "restoring": the receiver took the request (before it, it restored nothing) */
        if (rc_mw_await(m->sock, &msg, err) < 0)
                return rc_error_wrap(err, "restore at `%s`", m->o->to_unix);
        free(msg);
        msg = NULL;
        if (rc_mw_await(m->sock, &msg, err) < 0) {
                *ret_unknown = (*err)->status != EREMOTEIO;
                return rc_error_wrap(err, "restore at `%s`", m->o->to_unix);
        }
        return 0;
}

/* ---- post-copy ----------------------------------------------------------------------
 * The final dump runs in a child (it lasts until every page is over) with
 * --lazy-pages: CRIU dumps all but the memory, freezes the tasks, tells the status pipe,
 * then serves the pages on 127.0.0.1:PORT. Here, once told, the restore at the
 * destination starts `criu lazy-pages` on that port and runs the container; the child's
 * dump ends when the daemon has every page, and the source goes (its cgroup stays when
 * the restored copy is in it: rc_checkpoint_opts.handover_root). No pre-dump rounds:
 * CRIU 3.17's lazy restore takes no pages from a parent image.
 * If the restore fails, a bogus request to the page server ("poke") makes CRIU's lazy
 * transfer fail, and CRIU then lets the tasks run on at the source; the
 * network lock its dump left in the container's namespace is removed here. If this
 * process dies before its restore returned, the child (PR_SET_PDEATHSIG) pokes the page
 * server itself: if `criu lazy-pages` had not connected yet, the source runs on (gc
 * removes the network lock; a restored copy there gets no memory and dies: gc deletes
 * it). CRIU 3.17's page server takes any end of its one connection as a finished
 * transfer and then kills the source: a lazy-pages daemon that connected and died (its
 * restore failed after CRIU had handed it the tasks) loses the container. After the
 * restore the memory is at both ends until the transfer ends: if the source's criu dies
 * then, the restored container has lost the pages it had not yet got.
 * To a receiver (to_unix) the final image goes over the stream, then the page channel
 * (a second connection, migrate_wire.h) is opened and a child relays it to the page
 * server, connecting there only once the receiver's `criu lazy-pages` spoke (until then
 * a poke can still make the dump fail); then the restore request goes. */

static int lazy_port; /* the child's, for its signal handler */
static volatile int *restore_done; /* shared with the child (MAP_SHARED): the restore ran it */

/* Make a lazy dump that serves nobody yet fail: connect to its page server and send one
 * request of a command it does not know (CRIU's page_server_iov: cmd, nr_pages, vaddr,
 * dst_id; a connection closed without a request counts as a transfer that is done, and
 * CRIU would kill the tasks). Async-signal-safe. */
static void poke(int port)
{
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        const uint32_t bogus[6] = {0x7e7e}; /* no PS_IOV_* command */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return;
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                (void)!write(fd, bogus, sizeof(bogus));
        close(fd);
}

static void on_parent_death(int sig)
{
        (void)sig;
        if (restore_done != NULL && !*restore_done)
                poke(lazy_port);
}

/* A loopback TCP port free now (CRIU binds it right after). */
static int free_port(int *ret, rc_error_t *err)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                return rc_error_set(err, errno, "migrate --post-copy: a loopback port for the page server");
        *ret = ntohs(a.sin_port);
        return 0;
}

struct lazy_dump {
        pid_t pid;
        int ready; /* the status pipe's read end: a NUL byte once CRIU serves the pages */
        int errfd; /* the child's error message, on failure */
        int port;
};

/* The child: the lazy final dump; its error (if any) into errfd; exits 0 or 1. */
static void lazy_dump_child(struct migration *m, pid_t parent, int status_fd, int errfd, int port)
{
        struct rc_checkpoint_opts co = {
                .has_status_fd = true, .status_fd = status_fd, .handover_root = m->o->to_root};
        struct sigaction sa = {.sa_handler = on_parent_death, .sa_flags = SA_RESTART};
        rc_error_t e = NULL;
        char image[PATH_MAX + 16], spec[32];

        lazy_port = port;
        if (sigaction(SIGTERM, &sa, NULL) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(1); /* the dump never began: the container runs on */
        snprintf(image, sizeof(image), "%s/final", m->work);
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
        co.page_server = spec;
        criu_opts_of(m, &co.criu, image);
        co.criu.lazy_pages = true;
        if (rc_container_checkpoint(m->rt, m->id, &co, &e) < 0) {
                (void)!write(errfd, e->msg, strlen(e->msg));
                _exit(1);
        }
        _exit(0);
}

static int lazy_dump_start(struct migration *m, struct lazy_dump *d, rc_error_t *err)
{
        char image[PATH_MAX + 16];
        int sp[2], ep[2];
        pid_t parent = getpid();

        snprintf(image, sizeof(image), "%s/final", m->work);
        if (mkdir(image, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "migrate \"%s\": image directory `%s`", m->id, image);
        if (free_port(&d->port, err) < 0)
                return -1;
        if (pipe2(sp, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "migrate --post-copy: pipe");
        if (pipe2(ep, O_CLOEXEC) < 0) {
                int e = errno;
                close(sp[0]);
                close(sp[1]);
                return rc_error_set(err, e, "migrate --post-copy: pipe");
        }
        fflush(stdout);
        fflush(stderr);
        d->pid = fork();
        if (d->pid == 0) {
                close(sp[0]);
                close(ep[0]);
                lazy_dump_child(m, parent, sp[1], ep[1], d->port);
        }
        close(sp[1]);
        close(ep[1]);
        d->ready = sp[0];
        d->errfd = ep[0];
        if (d->pid < 0) {
                int e = errno;
                close(sp[0]);
                close(ep[0]);
                return rc_error_set(err, e, "migrate --post-copy: fork");
        }
        return 0;
}

/* The child's end: 0 if its dump succeeded; else -1 with its error. */
static int lazy_dump_wait(struct lazy_dump *d, rc_error_t *err)
{
        char msg[2048];
        ssize_t n, len = 0;
        int status = 0;

        while ((n = read(d->errfd, msg + len, sizeof(msg) - 1 - (size_t)len)) > 0 ||
               (n < 0 && errno == EINTR))
                len += n > 0 ? n : 0;
        msg[len] = '\0';
        close(d->errfd);
        close(d->ready);
        while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (len > 0)
                return rc_error_set(err, 0, "%s", msg);
        return rc_error_set(err, 0, "the dump (pid %d) ended with status %d", (int)d->pid, status);
}

#define RELAY_NOBODY 2 /* the page channel ended before the receiver's daemon spoke */

/* The page channel's relay at the source: exits 0 once both directions ended,
 * RELAY_NOBODY when the channel ended before its first byte (nothing was connected to
 * the page server), 1 on an error. */
static void page_relay_child(struct migration *m, int chan, int port)
{
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct pollfd p = {.fd = chan, .events = POLLIN};
        uint64_t bytes = 0;
        ssize_t n;
        char c;
        int ps, r, null = open("/dev/null", O_RDWR | O_CLOEXEC);

        /* it may outlive migrate (the transfer goes on): not with migrate's output */
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                _exit(1);
        prctl(PR_SET_NAME, "rc-page-relay");
        close(m->sock);
        do
                r = poll(&p, 1, -1);
        while (r < 0 && errno == EINTR);
        do
                n = recv(chan, &c, 1, MSG_PEEK);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                _exit(RELAY_NOBODY);
        ps = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ps < 0 || connect(ps, (struct sockaddr *)&a, sizeof(a)) < 0)
                _exit(1);
        _exit(rc_mw_relay(ps, chan, 0, &bytes, NULL) < 0 ? 1 : 0);
}

/* The page channel opened (PAGES with the id) and its relay started. */
static int page_channel_start(struct migration *m, int port, pid_t *ret_pid, rc_error_t *err)
{
        _cleanup_close_ int chan = -1;
        pid_t pid;

        if (rc_mw_connect(m->o->to_unix, &chan, err) < 0 ||
            rc_mw_send(chan, MW_PAGES, m->id, strlen(m->id), err) < 0)
                return rc_error_wrap(err, "migrate \"%s\": page channel to `%s`", m->id, m->o->to_unix);
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid == 0)
                page_relay_child(m, chan, port);
        if (pid < 0)
                return rc_error_set(err, errno, "migrate --post-copy: fork");
        *ret_pid = pid;
        return 0;
}

/* The relay's exit code (after a kill: it relayed nothing that matters); -1: none. */
static int page_relay_end(pid_t *pid, bool kill_it)
{
        int status = 0;

        if (*pid <= 0)
                return -1;
        if (kill_it)
                kill(*pid, SIGKILL);
        while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
                ;
        *pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int migrate_post_copy(struct migration *m, unsigned *ret_downtime_ms, rc_error_t *err)
{
        struct rc_migrate_round r = {.round = 1, .final = true};
        _cleanup_error_ rc_error_t dump = NULL, unlock = NULL;
        struct lazy_dump d = {.pid = -1};
        struct timespec t0;
        char image[PATH_MAX + 16];
        struct oci_state *st = NULL;
        bool ok, unknown = false;
        pid_t relay = -1;
        ssize_t n;
        char c = 1;

        if (rc_container_state(m->rt, m->id, &st, err) < 0)
                return rc_error_wrap(err, "migrate");
        if (st->cgroup_path != NULL && (m->cgroup = strdup(st->cgroup_path)) == NULL) {
                oci_state_free(st);
                return rc_error_set(err, ENOMEM, "migrate: cgroup path");
        }
        oci_state_free(st);
        restore_done =
                mmap(NULL, sizeof(*restore_done), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (restore_done == MAP_FAILED) {
                restore_done = NULL;
                return rc_error_set(err, errno, "migrate --post-copy: mmap");
        }
        *restore_done = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (lazy_dump_start(m, &d, err) < 0)
                return -1;
        while ((n = read(d.ready, &c, 1)) < 0 && errno == EINTR)
                ;
        if (n != 1 || c != '\0') {
                /* the dump failed before it served anything: CRIU let the tasks run on */
                lazy_dump_wait(&d, err);
                return rc_error_wrap(err, "migrate \"%s\" to `%s`: final dump (post-copy)", m->id,
                                     destination(m));
        }
        snprintf(image, sizeof(image), "%s/final", m->work);
        round_counts(image, true, &r);
        ok = m->sock < 0 || rc_mw_send_dir(m->sock, m->workfd, "final", &r.sent_bytes, err) == 0;
        if (!ok)
                rc_error_wrap(err, "migrate \"%s\": send the final round to `%s`", m->id, m->o->to_unix);
        r.ms = ms_since(&t0);
        if (ok && m->o->on_round != NULL)
                m->o->on_round(m->o->data, &r);
        ok = ok && rc_write_file_atomic(m->workfd, RC_MIGRATE_RESTORING, "", 0, 0600, err) == 0;
        ok = ok && (m->sock < 0 || page_channel_start(m, d.port, &relay, err) == 0);
        if (ok && restore_there(m, true, &unknown, err) == 0) {
                *restore_done = 1;
                *ret_downtime_ms = ms_since(&t0);
                /* the memory streams in; the source goes once it is all over */
                clock_gettime(CLOCK_MONOTONIC, &t0);
                ok = lazy_dump_wait(&d, &dump) == 0;
                page_relay_end(&relay, false);
                if (ok) {
                        struct rc_migrate_round t = {
                                .round = 1, .final = true, .transfer = true, .pages_lazy = r.pages_lazy};

                        t.ms = ms_since(&t0);
                        if (m->o->on_round != NULL)
                                m->o->on_round(m->o->data, &t);
                        return 0;
                }
                m->keep = true;
                return rc_error_set(
                        err, 0,
                        "migrate \"%s\": the container runs at `%s`, but the source's dump ended "
                        "with an error (if it failed while it served the memory, the pages not "
                        "moved by then are lost to the container): %s",
                        m->id, destination(m), dump->msg);
        }
        /* the answer was lost after the receiver took the request: if its `criu
         * lazy-pages` spoke on the page channel, the restore there got the tasks */
        if (unknown && page_relay_end(&relay, false) != RELAY_NOBODY) {
                *restore_done = 1;
                m->keep = true;
                if (lazy_dump_wait(&d, &dump) == 0)
                        return rc_error_wrap(err,
                                             "migrate \"%s\" (the destination's answer was lost, but its "
                                             "restore fetched all the memory: the container runs there)",
                                             m->id);
                return rc_error_wrap(err,
                                     "migrate \"%s\" (the destination's answer was lost while its restore "
                                     "fetched the memory, and the transfer failed: %s)",
                                     m->id, dump->msg);
        }
        unlinkat(m->workfd, RC_MIGRATE_RESTORING, 0);
        page_relay_end(&relay, true);
        /* the restore failed: the source's tasks are still frozen in the dump */
        poke(d.port);
        if (lazy_dump_wait(&d, &dump) == 0) {
                m->keep = true;
                return rc_error_wrap(
                        err,
                        "migrate \"%s\" (post-copy: the restore failed after the source's memory "
                        "had all been served; the container runs nowhere)",
                        m->id);
        }
        if (rc_criu_unlock_network(m->rt, m->rt->root, m->id, &unlock) < 0)
                return rc_error_wrap(
                        err,
                        "migrate \"%s\" (the container runs at the source again, but its network "
                        "stays locked: %s)",
                        m->id, unlock->msg);
        return rc_error_wrap(err, "migrate \"%s\" (the container runs at the source again)", m->id);
}

/* ---- --lazy-parent: after the restore -------------------------------------------------
 * The restored container runs while its local `criu lazy-pages` copies the rest of its
 * memory from the images in the work directory, which are then the only copy of those
 * pages. migrate is a subreaper (migrate_in): the daemon, forked through a middle process
 * that exits, is its child, and migrate waits for it (and keeps the images) until it ends:
 * exit 0 once every lazy page is in the tasks. If it fails or is killed before that, the
 * kernel unregisters the ranges it served and the tasks would find zero pages where the
 * rest of their memory was: the copy is killed at once and the final image restored
 * again, eagerly (CRIU reads the pages the pagemaps mark lazy too, unless asked for a lazy
 * restore), so the container runs from its checkpoint. A migrate killed meanwhile leaves
 * the daemon running; it holds the work directory's lock until it ends, and gc settles
 * the directory after that. */

/* The restored copy at the destination killed (better stopped than running on zero
 * pages) and the final image restored there again, reading every page first. */
static int restart_eagerly(struct migration *m, const char *how, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_runtime at = *m->rt;
        int st;

        at.root = m->o->to_root;
        if (rc_container_delete(&at, m->id, true, &e) < 0 && e->status != ENOENT) {
                m->keep = true;
                return rc_error_set(err, 0,
                                    "migrate \"%s\": `criu lazy-pages` %s before the container's memory was "
                                    "complete at `%s`, and stopping the container there failed: %s (its "
                                    "image is kept in `%s/final`)",
                                    m->id, how, m->o->to_root, e->msg, m->work);
        }
        /* the killed init was ours (a subreaper's); nothing else of ours has ended */
        while (waitpid(-1, &st, WNOHANG) > 0)
                ;
        rc_error_free(&e);
        if (restore_at(m, m->o->to_root, false, &e) < 0) {
                m->keep = true;
                return rc_error_set(err, 0,
                                    "migrate \"%s\": `criu lazy-pages` %s before the container's memory was "
                                    "complete at `%s`: the container was stopped, and restoring it again "
                                    "from its checkpoint failed: %s (its image is kept in `%s/final`)",
                                    m->id, how, m->o->to_root, e->msg, m->work);
        }
        return rc_error_set(err, 0,
                            "migrate \"%s\": `criu lazy-pages` %s before the container's memory was "
                            "complete: the container was restarted at `%s` from its checkpoint (what it "
                            "did after the move was lost)",
                            m->id, how, m->o->to_root);
}

/* How a child ended, for messages. */
static void describe_end(int st, char *buf, size_t len)
{
        if (WIFEXITED(st))
                snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
                snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
                snprintf(buf, len, "ended (wait status 0x%x)", (unsigned)st);
}

/* t0: when the final dump began (the memory-complete time counts from there, as the
 * downtime does: the daemon starts copying before the restore has returned) */
static int await_lazy_daemon(struct migration *m, const struct timespec *t0, rc_error_t *err)
{
        struct rc_migrate_round t = {
                .round = m->rounds + 1, .final = true, .transfer = true, .pages_lazy_local = m->lazy_pages};
        char how[96];
        int st = 0;
        pid_t p;

        while ((p = waitpid(m->lazy_daemon, &st, 0)) < 0 && errno == EINTR)
                ;
        if (p < 0) {
                /* not ours after all: it may still serve the pages from the images */
                m->keep = true;
                return rc_error_set(err, errno,
                                    "migrate \"%s\": the container runs at `%s`, but its `criu lazy-pages` "
                                    "(pid %d) cannot be waited for (its images are kept in `%s/final`)",
                                    m->id, m->o->to_root, (int)m->lazy_daemon, m->work);
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                t.ms = ms_since(t0);
                if (m->o->on_round != NULL)
                        m->o->on_round(m->o->data, &t);
                return 0;
        }
        describe_end(st, how, sizeof(how));
        return restart_eagerly(m, how, err);
}

static int migrate_in(struct migration *m, unsigned *ret_downtime_ms, rc_error_t *err)
{
        unsigned max = m->o->max_rounds ? m->o->max_rounds : DEFAULT_ROUNDS;
        uint64_t pages = 0, prev = UINT64_MAX;
        _cleanup_error_ rc_error_t back = NULL;
        bool unknown = false;
        struct timespec t0;

        /* --lazy-parent: the restore's `criu lazy-pages` will be ours to wait for */
        if (m->o->lazy_parent && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "migrate --lazy-parent: become a subreaper");
        /* pre-copy while the container runs, until the dirty set stops shrinking */
        while (m->rounds < max && pages < prev) {
                prev = m->rounds == 0 ? UINT64_MAX : pages;
                if (do_round(m, false, &pages, err) < 0)
                        return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (do_round(m, true, &pages, err) < 0 && !m->shipping_failed)
                return -1; /* a failed dump leaves the container running */
        /* (a work directory too full for the marker gets no restore there: back to the source) */
        if (!m->shipping_failed &&
            rc_write_file_atomic(m->workfd, RC_MIGRATE_RESTORING, "", 0, 0600, err) == 0 &&
            restore_there(m, m->lazy_restore, &unknown, err) == 0) {
                *ret_downtime_ms = ms_since(&t0);
                return m->lazy_restore && m->lazy_daemon > 0 ? await_lazy_daemon(m, &t0, err) : 0;
        }
        if (!unknown)
                unlinkat(m->workfd, RC_MIGRATE_RESTORING, 0); /* what the destination has is not ours */
        if (unknown) {
                /* restoring here too could run it twice */
                m->keep = true;
                return rc_error_wrap(
                        err,
                        "migrate \"%s\" (the destination's answer was lost: the container may "
                        "run there; it does not run at the source, whose image is kept in `%s/final`)",
                        m->id, m->work);
        }
        /* back where it was: the container must not be lost */
        if (restore_at(m, m->rt->root, false, &back) == 0)
                return rc_error_wrap(err, "migrate \"%s\" (the container runs at the source again)", m->id);
        m->keep = true;
        return rc_error_wrap(err,
                             "migrate \"%s\" (and restoring it at the source failed too: %s; the image "
                             "is kept in `%s/final`)",
                             m->id, back->msg, m->work);
}

/* The same directory: the same path, or (a trailing slash, a symbolic link) the same inode. */
static bool same_dir(const char *a, const char *b)
{
        struct stat sa, sb;

        if (strcmp(a, b) == 0)
                return true;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int check_running(const struct rc_runtime *rt, const char *id, rc_error_t *err)
{
        struct oci_state *st = NULL;
        bool running;

        if (rc_container_state(rt, id, &st, err) < 0)
                return rc_error_wrap(err, "migrate");
        running = st->status == OCI_STATUS_RUNNING;
        oci_state_free(st);
        if (!running)
                return rc_error_set(err, 0, "migrate: container \"%s\" is not running", id);
        return 0;
}

/* HELLO to the receiver (runtime/container/migrate_wire.h), and its answer: whether it
 * takes the container. */
static int hello(struct migration *m, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *doc = NULL, *msg = NULL;
        json_node *cfg = NULL;
        size_t len = 0;
        int ret;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "migrate: hello");
        if (rc_mw_connect(m->o->to_unix, &m->sock, err) < 0)
                return rc_error_wrap(err, "migrate \"%s\"", m->id);
        if (json_parse(m->config, m->config_len, RC_CONFIG_FILE, &cfg, err) < 0)
                return rc_error_wrap(err, "migrate \"%s\": saved config", m->id);
        json_gen_object_open(g);
        json_gen_kv_int(g, "protocol", MW_PROTOCOL);
        json_gen_kv_string(g, "id", m->id);
        json_gen_kv_string(g, "bundle", m->bundle);
        json_gen_kv_bool(g, "postCopy", m->o->post_copy);
        json_gen_string(g, "config");
        json_gen_node(g, cfg);
        json_gen_object_close(g);
        json_free(cfg);
        ret = json_gen_finish(g, &doc, &len, err);
        if (ret == 0)
                ret = rc_mw_send(m->sock, MW_HELLO, doc, len, err);
        if (ret == 0)
                ret = rc_mw_await(m->sock, &msg, err);
        return ret < 0 ? rc_error_wrap(err, "migrate \"%s\" to `%s`", m->id, m->o->to_unix) : 0;
}

static int check_destination(const struct rc_runtime *rt, const struct rc_migrate_opts *o, rc_error_t *err)
{
        if ((o->to_root == NULL) == (o->to_unix == NULL))
                return rc_error_set(err, 0, "migrate: one destination: a state root or a unix socket");
        if (o->post_copy && o->max_rounds > 0)
                return rc_error_set(err, 0,
                                    "migrate --post-copy makes no pre-dump rounds (CRIU 3.17's lazy restore "
                                    "takes no pages from a parent image): --rounds does not apply");
        if (o->lazy_parent && (o->post_copy || o->to_unix != NULL))
                return rc_error_set(
                        err, 0, "migrate --lazy-parent: %s",
                        o->post_copy
                                ? "not with --post-copy (it has no pre-dump rounds to fold)"
                                : "to a state root only (a migrate-receive restores from its own copy)");
        if (o->to_unix != NULL)
                return 0;
        if (o->to_root[0] != '/')
                return rc_error_set(err, 0, "migrate: the destination must be an absolute state root path");
        if (same_dir(o->to_root, rc_state_root_path(rt->root)))
                return rc_error_set(err, 0, "migrate: the destination `%s` is the source's state root",
                                    o->to_root);
        return 0;
}

/* migrate.json (see above). */
static int write_record(const struct migration *m, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *doc = NULL, *source = realpath(rc_state_root_path(m->rt->root), NULL);
        char to[PATH_MAX + 8];
        size_t len = 0;

        if (source == NULL)
                return rc_error_set(err, errno, "migrate: state root `%s`", rc_state_root_path(m->rt->root));
        if (g == NULL)
                return rc_error_set(err, ENOMEM, "%s", RC_MIGRATE_RECORD);
        snprintf(to, sizeof(to), "%s%s", m->o->to_unix != NULL ? "unix:" : "", destination(m));
        json_gen_object_open(g);
        json_gen_kv_string(g, "id", m->id);
        json_gen_kv_string(g, "source", source);
        json_gen_kv_string(g, "destination", to);
        json_gen_kv_string(g, "bundle", m->bundle);
        json_gen_kv_bool(g, "tcpEstablished", m->o->tcp_established);
        json_gen_kv_bool(g, "extUnixSk", m->o->ext_unix_sk);
        json_gen_kv_bool(g, "fileLocks", m->o->file_locks);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        return rc_write_file_atomic(m->workfd, RC_MIGRATE_RECORD, doc, len, 0600, err);
}

/* The work directory: made (mkdtemp) under `under`, or the caller's work_path; locked,
 * with its record. */
static int make_work(struct migration *m, const char *under, bool made, rc_error_t *err)
{
        if (!made)
                snprintf(m->work, sizeof(m->work), "%s", m->o->work_path);
        else
                snprintf(m->work, sizeof(m->work), "%s/" RC_MIGRATE_WORK_PREFIX "%s.XXXXXX", under, m->id);
        if (made ? mkdtemp(m->work) == NULL : mkdir(m->work, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "migrate: work directory `%s`", m->work);
        m->made = made;
        m->workfd = open(m->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->workfd < 0)
                return rc_error_set(err, errno, "migrate: work directory `%s`", m->work);
        if (flock(m->workfd, LOCK_EX | LOCK_NB) < 0)
                return rc_error_set(err, errno == EWOULDBLOCK ? EBUSY : errno,
                                    "migrate: work directory `%s` is in use by another migrate", m->work);
        m->locked = true;
        if (write_record(m, err) < 0)
                return -1;
        return rc_write_file_atomic(m->workfd, "config.json", m->config, m->config_len, 0600, err);
}

int rc_container_migrate(const struct rc_runtime *rt, const char *id, const struct rc_migrate_opts *o,
                         unsigned *ret_downtime_ms, rc_error_t *err)
{
        struct migration m = {.rt = rt, .id = id, .o = o, .workfd = -1, .sock = -1};
        struct rc_runtime dest = *rt;
        bool made = o->work_path == NULL;
        const char *under = o->to_root;
        int ret;

        if (rc_validate_id(id, err) < 0 || check_destination(rt, o, err) < 0)
                return -1;
        /* a migrate of this container killed before: settle it first (its work directory
         * is at the destination root, or to a socket under this root) */
        dest.root = o->to_root != NULL ? o->to_root : rt->root;
        if (rc_container_gc_migrations(&dest, id, NULL, err) < 0)
                return rc_error_wrap(err, "migrate: an earlier migrate of \"%s\" left `%s`", id,
                                     rc_state_root_path(dest.root));
        /* nothing is made at the destination for a container that cannot be migrated */
        if (check_running(rt, id, err) < 0)
                return -1;
        ret = load_source(rt, id, &m.config, &m.config_len, &m.bundle, err);
        if (ret == 0 && o->to_unix != NULL) {
                /* a receiver that refuses: nothing was dumped */
                ret = hello(&m, err);
                under = rc_state_root_path(rt->root);
        } else if (ret == 0) {
                ret = rc_mkdir_p_host(o->to_root, 0711, 0711);
                if (ret < 0)
                        ret = rc_error_set(err, -ret, "migrate: destination `%s`", o->to_root);
        }
        if (ret == 0) {
                ret = make_work(&m, under, made, err);
                if (ret == 0)
                        ret = o->post_copy ? migrate_post_copy(&m, ret_downtime_ms, err)
                                           : migrate_in(&m, ret_downtime_ms, err);
                /* the images served their purpose (or the container runs at the source
                 * again): the record goes first, so that nothing settles them again if
                 * this process dies while they are removed (a caller's work path keeps
                 * its images) */
                if (m.locked && !m.keep && rc_migrate_work_retire(m.workfd, m.work, NULL) == 0 && m.made) {
                        if (o->test_stop_in_removal) {
                                /* stopped where a removal in readdir order (tmpfs:
                                 * newest first) would be after its first entry */
                                unlinkat(m.workfd, RC_MIGRATE_RESTORING, 0);
                                raise(SIGSTOP);
                        }
                        rc_remove_tree_at(AT_FDCWD, m.work, NULL);
                } else if (m.made && !m.locked) {
                        rmdir(m.work); /* made here, then not opened: empty */
                }
        }
        if (m.workfd >= 0)
                close(m.workfd);
        if (m.sock >= 0)
                close(m.sock);
        free(m.config);
        free(m.bundle);
        free(m.cgroup);
        return ret;
}
