/* Unit tests for runtime/container/state.c and the state-based operations of
 * runtime/container/ops.c (state, kill, delete, list). Everything lives in a mkdtemp
 * root; "containers" are forked children of the test. No root needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/userdirs.h"
#include "runtime/container/container.h"
#include "runtime/container/state.h"

static char tmpdir[64];
static char root[128];
static int rootfd = -1;

static void setup(void)
{
        _cleanup_error_ rc_error_t err = NULL;

        strcpy(tmpdir, "/tmp/rc-test-state-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
        snprintf(root, sizeof(root), "%s/run/rc", tmpdir);
        cr_assert_eq(rc_state_root_open(root, &rootfd, &err), 0, "%s", err ? err->msg : "");
}

static void teardown(void)
{
        char cmd[128];

        if (rootfd >= 0)
                close(rootfd);
        rootfd = -1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                cr_log_warn("cleanup of %s failed", tmpdir);
}

TestSuite(state, .init = setup, .fini = teardown);
TestSuite(ops, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------ */

static struct oci_state *new_state(const char *id, enum oci_status st, pid_t pid, uint64_t start)
{
        struct oci_state *s = calloc(1, sizeof(*s));

        s->oci_version = strdup("1.2.0");
        s->id = strdup(id);
        s->status = st;
        s->pid = pid;
        s->pid_start_time = start;
        s->bundle = strdup("/bundles/x");
        s->created = rc_now_rfc3339();
        return s;
}

/* A stand-in container init: a child that waits to be killed. */
static pid_t spawn_sleeper(uint64_t *ret_start)
{
        _cleanup_error_ rc_error_t err = NULL;
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        cr_assert_eq(rc_proc_start_time(pid, ret_start, &err), 0, "%s", err ? err->msg : "");
        return pid;
}

static void reap(pid_t pid)
{
        int status;

        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
}

static void write_state(const char *id, enum oci_status st, pid_t pid, uint64_t start, bool create)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        struct oci_state *s = new_state(id, st, pid, start);

        if (create)
                cr_assert_eq(rc_state_dir_create(rootfd, id, &dirfd, &err), 0, "%s", err ? err->msg : "");
        else
                cr_assert_eq(rc_state_dir_open(rootfd, id, &dirfd, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_state_write(dirfd, s, &err), 0, "%s", err ? err->msg : "");
        oci_state_free(s);
}

static void write_in_dir(const char *id, const char *name, const char *content)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s/%s", root, id, name);
        f = fopen(path, "we");
        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        fputs(content, f);
        cr_assert_eq(fclose(f), 0);
}

static bool dir_exists(const char *id)
{
        struct stat st;

        return fstatat(rootfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static enum oci_status status_of(int dirfd, struct oci_state *s)
{
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_eq(rc_state_refresh(dirfd, s, &err), 0, "%s", err ? err->msg : "");
        return s->status;
}

/* ---- state.c -------------------------------------------------------------------- */

Test(state, root_is_created_private)
{
        struct stat st;

        cr_assert_eq(stat(root, &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        cr_assert_eq(st.st_mode & 07777, 0700);
        cr_assert(fcntl(rootfd, F_GETFD) & FD_CLOEXEC);
}

Test(state, create_twice_fails)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int a = -1, b = -1;

        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &a, &err), 0, "%s", err ? err->msg : "");
        cr_assert(fcntl(a, F_GETFD) & FD_CLOEXEC);
        cr_assert_lt(rc_state_dir_create(rootfd, "c1", &b, &err), 0);
        cr_assert_str_eq(err->msg, "container \"c1\" already exists");
        cr_assert_eq(b, -1);
}

Test(state, open_missing_fails)
{
        _cleanup_error_ rc_error_t err = NULL;
        int fd = -1;

        cr_assert_lt(rc_state_dir_open(rootfd, "nope", &fd, &err), 0);
        cr_assert_str_eq(err->msg, "container \"nope\" does not exist");
}

Test(state, dir_is_locked)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int a = -1, other = -1;

        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &a, &err), 0);
        other = openat(rootfd, "c1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(other, 0);
        cr_assert_lt(flock(other, LOCK_EX | LOCK_NB), 0);
        cr_assert_eq(errno, EWOULDBLOCK);
}

/* A waiter that gets the lock after the holder removed the directory must not carry on
 * with a dead directory. */
Test(state, open_after_concurrent_remove)
{
        _cleanup_error_ rc_error_t err = NULL;
        int a = -1, status;
        pid_t pid;

        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &a, &err), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                _cleanup_error_ rc_error_t e = NULL;
                int fd, r;

                /* the inherited fd shares the parent's open file description, hence
                 * its lock: keep it and we would wait for ourselves */
                close(a);
                alarm(10);
                r = rc_state_dir_open(rootfd, "c1", &fd, &e);
                _exit(r < 0 && strcmp(e->msg, "container \"c1\" does not exist") == 0 ? 0 : 1);
        }
        usleep(200 * 1000); /* let the child block on the lock */
        cr_assert_eq(rc_state_dir_remove(rootfd, "c1", a, &err), 0, "%s", err ? err->msg : "");
        close(a);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(state, write_read_round_trip)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        struct oci_state *s = new_state("c1", OCI_STATUS_CREATED, 4242, 123456789);
        struct oci_state *r = NULL;
        struct stat st;

        s->rootfs = strdup("/bundles/x/rootfs");
        s->owner = 1000;
        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(rc_state_write(dirfd, s, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(fstatat(dirfd, RC_STATE_FILE, &st, 0), 0);
        cr_assert_eq(st.st_mode & 0777, 0600);
        cr_assert_eq(rc_state_read(dirfd, "c1", &r, &err), 0, "%s", err ? err->msg : "");
        cr_assert_str_eq(r->id, "c1");
        cr_assert_eq(r->status, OCI_STATUS_CREATED);
        cr_assert_eq(r->pid, 4242);
        cr_assert_eq(r->pid_start_time, 123456789);
        cr_assert_str_eq(r->bundle, "/bundles/x");
        cr_assert_str_eq(r->rootfs, "/bundles/x/rootfs");
        cr_assert_str_eq(r->created, s->created);
        cr_assert_eq(r->owner, 1000);
        oci_state_free(s);
        oci_state_free(r);
}

Test(state, read_missing_keeps_enoent)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        struct oci_state *r = NULL;

        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_lt(rc_state_read(dirfd, "c1", &r, &err), 0);
        cr_assert_eq(err->status, ENOENT);
}

Test(state, refresh_own_pid_fifo_decides)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        uint64_t start;
        struct oci_state *s;

        cr_assert_eq(rc_proc_start_time(getpid(), &start, &err), 0);
        cr_assert_gt(start, 0);
        s = new_state("c1", OCI_STATUS_CREATED, getpid(), start);
        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(mkfifoat(dirfd, RC_FIFO_FILE, 0600), 0);
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_CREATED);
        cr_assert_eq(unlinkat(dirfd, RC_FIFO_FILE, 0), 0);
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_RUNNING);
        oci_state_free(s);
}

Test(state, refresh_dead_pid_is_stopped)
{
        _cleanup_close_ int dirfd = -1;
        _cleanup_error_ rc_error_t err = NULL;
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);
        struct oci_state *s = new_state("c1", OCI_STATUS_RUNNING, pid, start);

        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_RUNNING);
        reap(pid);
        cr_assert_not(rc_pid_matches(pid, start));
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_STOPPED);
        oci_state_free(s);
}

Test(state, zombie_counts_as_gone)
{
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);
        siginfo_t si;

        cr_assert(rc_pid_matches(pid, start));
        kill(pid, SIGKILL);
        cr_assert_eq(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0); /* a zombie now */
        cr_assert_not(rc_pid_matches(pid, start));
        cr_assert_not(rc_pid_matches(pid, 0));
        reap(pid);
}

Test(state, wrong_start_time_is_stopped)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        uint64_t start;
        struct oci_state *s;

        cr_assert_eq(rc_proc_start_time(getpid(), &start, &err), 0);
        s = new_state("c1", OCI_STATUS_RUNNING, getpid(), start + 1);
        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_STOPPED);
        cr_assert(rc_pid_matches(getpid(), 0));
        cr_assert(rc_pid_matches(getpid(), start));
        cr_assert_not(rc_pid_matches(0, 0));
        cr_assert_not(rc_pid_matches(-1, 0));
        oci_state_free(s);
}

Test(state, creating_stays_while_alive)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        uint64_t start;
        struct oci_state *s;

        cr_assert_eq(rc_proc_start_time(getpid(), &start, &err), 0);
        s = new_state("c1", OCI_STATUS_CREATING, getpid(), start);
        cr_assert_eq(rc_state_dir_create(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_CREATING);
        s->status = OCI_STATUS_CREATING;
        s->pid = 0;
        cr_assert_eq(status_of(dirfd, s), OCI_STATUS_STOPPED);
        oci_state_free(s);
}

/* comm may contain spaces and parentheses: the fields are counted after the last ')'. */
Test(state, start_time_with_odd_comm)
{
        _cleanup_error_ rc_error_t err = NULL;
        uint64_t before, after;
        int sync[2], status;
        char c;
        pid_t pid;

        cr_assert_eq(pipe2(sync, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                prctl(PR_SET_NAME, "a) b (c) 1 2");
                if (write(sync[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        cr_assert_eq(read(sync[0], &c, 1), 1);
        cr_assert_eq(rc_proc_start_time(pid, &after, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_proc_start_time(getpid(), &before, &err), 0);
        cr_assert_geq(after, before);
        cr_assert(rc_pid_matches(pid, after));
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_lt(rc_proc_start_time(pid, &after, &err), 0);
        close(sync[0]);
        close(sync[1]);
}

Test(state, list_sorted_dirs_only)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_strv_ char **ids = NULL;
        size_t n = 99;
        int fd;

        cr_assert_eq(rc_state_list_ids(rootfd, &ids, &n, &err), 0);
        cr_assert_eq(n, 0);
        cr_assert_null(ids[0]);
        rc_strv_free(TAKE_PTR(ids));

        cr_assert_eq(mkdirat(rootfd, "beta", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, "alpha", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, "gamma", 0700), 0);
        fd = openat(rootfd, "a-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        /* internal entries have names no id can take; an id may begin with a dot */
        cr_assert_eq(mkdirat(rootfd, "@sandbox", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, "not an id", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, ".dotted", 0700), 0);
        cr_assert_eq(rc_state_list_ids(rootfd, &ids, &n, &err), 0);
        cr_assert_eq(n, 4);
        cr_assert_str_eq(ids[0], ".dotted");
        cr_assert_str_eq(ids[1], "alpha");
        cr_assert_str_eq(ids[2], "beta");
        cr_assert_str_eq(ids[3], "gamma");
        cr_assert_null(ids[4]);
        rc_strv_free(TAKE_PTR(ids));

        /* Roots of earlier versions kept ".sandbox" and ".seccomp-cache" there: without a
         * state.json they are those, with one they are containers of that name. */
        cr_assert_eq(mkdirat(rootfd, ".sandbox", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, ".seccomp-cache", 0700), 0);
        cr_assert_eq(rc_state_list_ids(rootfd, &ids, &n, &err), 0);
        cr_assert_eq(n, 4);
        rc_strv_free(TAKE_PTR(ids));
        fd = openat(rootfd, ".sandbox/state.json", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(rc_state_list_ids(rootfd, &ids, &n, &err), 0);
        cr_assert_eq(n, 5);
        cr_assert_str_eq(ids[1], ".sandbox");
}

Test(state, remove_everything_and_tolerate_missing)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;

        write_state("c1", OCI_STATUS_CREATED, 0, 0, true);
        cr_assert_eq(rc_state_dir_open(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(mkfifoat(dirfd, RC_FIFO_FILE, 0600), 0);
        write_in_dir("c1", RC_CONFIG_FILE, "{}");
        write_in_dir("c1", ".state.json.deadbeef", "partial");
        cr_assert_eq(rc_state_dir_remove(rootfd, "c1", dirfd, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c1"));
        cr_assert_eq(rc_state_dir_remove(rootfd, "c1", -1, &err), 0, "%s", err ? err->msg : "");
}

Test(state, rfc3339)
{
        _cleanup_free_ char *t = rc_now_rfc3339();
        int y, mo, d, h, mi, s;
        long ns;
        char z;

        cr_assert_not_null(t);
        cr_assert_eq(strlen(t), 30, "%s", t);
        cr_assert_eq(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%9ld%c", &y, &mo, &d, &h, &mi, &s, &ns, &z), 8, "%s",
                     t);
        cr_assert_eq(z, 'Z');
        cr_assert_geq(y, 2024);
}

/* ---- container/ops.c -------------------------------------------------------------- */

static char logbuf[8192];

static void capture_log(void *data, enum rc_log_level level, const char *msg)
{
        strncat(logbuf, rc_log_level_name(level), sizeof(logbuf) - strlen(logbuf) - 1);
        strncat(logbuf, ": ", sizeof(logbuf) - strlen(logbuf) - 1);
        strncat(logbuf, msg, sizeof(logbuf) - strlen(logbuf) - 1);
        strncat(logbuf, "\n", sizeof(logbuf) - strlen(logbuf) - 1);
}

static struct rc_runtime runtime(void)
{
        logbuf[0] = '\0';
        return (struct rc_runtime){
                .root = root,
                .log = {.fn = capture_log, .max_level = RC_LOG_DEBUG},
        };
}

Test(ops, validate_id)
{
        _cleanup_error_ rc_error_t err = NULL;
        char longid[1026];

        cr_assert_eq(rc_validate_id("abc-1.2_X+y", &err), 0);
        cr_assert_eq(rc_validate_id("...", &err), 0);
        memset(longid, 'a', 1024);
        longid[1024] = '\0';
        cr_assert_eq(rc_validate_id(longid, &err), 0);
        longid[1024] = 'a';
        longid[1025] = '\0';
        cr_assert_lt(rc_validate_id(longid, &err), 0);
        rc_error_free(&err);
        const char *bad[] = {"", ".", "..", "a/b", "a b", "ü", "a\n", "$x"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char want[64];

                cr_assert_lt(rc_validate_id(bad[i], &err), 0, "accepted \"%s\"", bad[i]);
                snprintf(want, sizeof(want), "invalid container id \"%s\"", bad[i]);
                cr_assert_str_eq(err->msg, want);
                rc_error_free(&err);
        }
}

Test(ops, state_of_missing_container)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        struct oci_state *s = NULL;

        cr_assert_lt(rc_container_state(&rt, "nope", &s, &err), 0);
        cr_assert_str_eq(err->msg, "container \"nope\" does not exist");
        rc_error_free(&err);
        cr_assert_lt(rc_container_state(&rt, "../x", &s, &err), 0);
        cr_assert_str_eq(err->msg, "invalid container id \"../x\"");
        rc_error_free(&err);

        rt.root = "/nonexistent/rc-root";
        cr_assert_lt(rc_container_state(&rt, "nope", &s, &err), 0);
        cr_assert_str_eq(err->msg, "container \"nope\" does not exist");
        cr_assert_neq(access("/nonexistent/rc-root", F_OK), 0);
}

Test(ops, list_without_root_is_empty)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        struct oci_state **v = NULL;
        size_t n = 9;

        rt.root = "/nonexistent/rc-root";
        cr_assert_eq(rc_container_list(&rt, &v, &n, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(n, 0);
        rc_container_list_free(v, n);
}

/* A runtime killed during create leaves a directory without state.json (or with a
 * "creating" state whose pid is dead): state says stopped, list copes, delete cleans. */
Test(ops, leftover_of_an_interrupted_create)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        struct oci_state *s = NULL, **v = NULL;
        int held = -1;
        size_t n = 0;

        cr_assert_eq(rc_state_dir_create(rootfd, "bare", &held, &err), 0);
        /* while its creator works on it (holds the lock), list says creating */
        cr_assert_eq(rc_container_list(&rt, &v, &n, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(n, 1);
        cr_assert_eq(v[0]->status, OCI_STATUS_CREATING);
        rc_container_list_free(v, n);
        cr_assert_eq(rc_container_state(&rt, "bare", &s, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(s->status, OCI_STATUS_CREATING);
        oci_state_free(s);
        close(held); /* the creator dies */

        cr_assert_eq(rc_container_state(&rt, "bare", &s, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(s->status, OCI_STATUS_STOPPED);
        oci_state_free(s);

        write_state("dead", OCI_STATUS_CREATING, 0, 0, true);
        cr_assert_eq(mkdirat(rootfd, "garbled", 0700), 0);
        write_in_dir("garbled", RC_STATE_FILE, "{not json");

        cr_assert_eq(rc_container_list(&rt, &v, &n, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(n, 3);
        cr_assert_str_eq(v[0]->id, "bare");
        cr_assert_str_eq(v[1]->id, "dead");
        cr_assert_str_eq(v[2]->id, "garbled");
        for (size_t i = 0; i < n; i++)
                cr_assert_eq(v[i]->status, OCI_STATUS_STOPPED, "%s", v[i]->id);
        rc_container_list_free(v, n);
        cr_assert_not_null(strstr(logbuf, "warning: "), "no warning for the garbled state: %s", logbuf);

        cr_assert_lt(rc_container_state(&rt, "garbled", &s, &err), 0);
        rc_error_free(&err);

        cr_assert_eq(rc_container_delete(&rt, "bare", false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_container_delete(&rt, "dead", false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_container_delete(&rt, "garbled", true, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("bare"));
        cr_assert_not(dir_exists("dead"));
        cr_assert_not(dir_exists("garbled"));
        cr_assert_lt(rc_container_delete(&rt, "dead", false, &err), 0);
        cr_assert_str_eq(err->msg, "container \"dead\" does not exist");
}

/* A creating container whose pid is alive is not stopped. */
Test(ops, creating_alive_needs_force)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);

        write_state("c1", OCI_STATUS_CREATING, pid, start, true);
        cr_assert_lt(rc_container_delete(&rt, "c1", false, &err), 0);
        cr_assert_str_eq(err->msg, "cannot delete container \"c1\" that is not stopped: creating");
        rc_error_free(&err);
        cr_assert_lt(rc_container_kill(&rt, "c1", SIGTERM, false, &err), 0);
        cr_assert_str_eq(err->msg, "container \"c1\" is not running");
        rc_error_free(&err);
        cr_assert_eq(rc_container_delete(&rt, "c1", true, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c1"));
        cr_assert_not(rc_pid_matches(pid, start));
        reap(pid);
}

static char *hook_script(const char *name, const char *body)
{
        char *p = NULL;
        FILE *f;

        cr_assert_geq(asprintf(&p, "%s/%s", tmpdir, name), 0);
        f = fopen(p, "we");
        cr_assert_not_null(f);
        fprintf(f, "#!/bin/sh\n%s\n", body);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(chmod(p, 0755), 0);
        return p;
}

static void write_config_with_poststop(const char *id, const char *hook, const char *arg)
{
        char buf[1024];

        snprintf(buf, sizeof(buf),
                 "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
                 "\"hooks\":{\"poststop\":[{\"path\":\"%s\",\"args\":[\"hook\",\"%s\"]}]}}",
                 hook, arg);
        write_in_dir(id, RC_CONFIG_FILE, buf);
}

static char *slurp(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = calloc(1, 8192);

        cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
        buf[fread(buf, 1, 8191, f)] = '\0';
        return buf;
}

Test(ops, running_container_lifecycle)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = NULL, *hook = NULL, *got = NULL;
        struct rc_runtime rt = runtime();
        struct oci_state *s = NULL;
        _cleanup_close_ int dirfd = -1;
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);

        cr_assert_geq(asprintf(&out, "%s/poststop.out", tmpdir), 0);
        hook = hook_script("poststop", "cat > \"$1\"");
        write_state("c1", OCI_STATUS_CREATED, pid, start, true);
        write_config_with_poststop("c1", hook, out);

        /* created while exec.fifo exists */
        cr_assert_eq(rc_state_dir_open(rootfd, "c1", &dirfd, &err), 0);
        cr_assert_eq(mkfifoat(dirfd, RC_FIFO_FILE, 0600), 0);
        close(TAKE_FD(dirfd));
        cr_assert_eq(rc_container_state(&rt, "c1", &s, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(s->status, OCI_STATUS_CREATED);
        cr_assert_eq(s->pid, pid);
        oci_state_free(s);
        cr_assert_lt(rc_container_delete(&rt, "c1", false, &err), 0);
        cr_assert_str_eq(err->msg, "cannot delete container \"c1\" that is not stopped: created");
        rc_error_free(&err);

        /* running once it is gone */
        cr_assert_eq(unlinkat(rootfd, "c1/" RC_FIFO_FILE, 0), 0);
        cr_assert_eq(rc_container_state(&rt, "c1", &s, &err), 0);
        cr_assert_eq(s->status, OCI_STATUS_RUNNING);
        oci_state_free(s);
        cr_assert_lt(rc_container_delete(&rt, "c1", false, &err), 0);
        cr_assert_str_eq(err->msg, "cannot delete container \"c1\" that is not stopped: running");
        rc_error_free(&err);

        /* signal 0 probes, a real one stops it */
        cr_assert_eq(rc_container_kill(&rt, "c1", 0, false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_container_kill(&rt, "c1", SIGTERM, false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        cr_assert_eq(rc_container_state(&rt, "c1", &s, &err), 0);
        cr_assert_eq(s->status, OCI_STATUS_STOPPED);
        oci_state_free(s);
        cr_assert_lt(rc_container_kill(&rt, "c1", SIGTERM, false, &err), 0);
        cr_assert_str_eq(err->msg, "container \"c1\" is not running");
        rc_error_free(&err);

        /* stopped: plain delete runs poststop with the stopped state */
        cr_assert_eq(rc_container_delete(&rt, "c1", false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c1"));
        got = slurp(out);
        cr_assert_not_null(strstr(got, "\"id\":\"c1\""), "%s", got);
        cr_assert_not_null(strstr(got, "\"status\":\"stopped\""), "%s", got);
        cr_assert_null(strstr(got, "pidStartTime"), "extended fields leaked to the hook: %s", got);
}

Test(ops, force_delete_kills_and_runs_poststop)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = NULL, *hook = NULL, *got = NULL;
        struct rc_runtime rt = runtime();
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);
        struct timespec t0, t1;

        cr_assert_geq(asprintf(&out, "%s/poststop.out", tmpdir), 0);
        hook = hook_script("poststop", "cat > \"$1\"");
        write_state("c1", OCI_STATUS_RUNNING, pid, start, true);
        write_config_with_poststop("c1", hook, out);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cr_assert_eq(rc_container_delete(&rt, "c1", true, &err), 0, "%s", err ? err->msg : "");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cr_assert_lt(t1.tv_sec - t0.tv_sec, 3);
        cr_assert_not(dir_exists("c1"));
        cr_assert_not(rc_pid_matches(pid, start));
        got = slurp(out);
        cr_assert_not_null(strstr(got, "\"status\":\"stopped\""), "%s", got);
        reap(pid);
}

Test(ops, failing_poststop_is_a_warning)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *hook = NULL;
        struct rc_runtime rt = runtime();

        hook = hook_script("poststop", "exit 7");
        write_state("c1", OCI_STATUS_RUNNING, 0, 0, true);
        write_config_with_poststop("c1", hook, "unused");
        cr_assert_eq(rc_container_delete(&rt, "c1", false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c1"));
        cr_assert_not_null(strstr(logbuf, "warning: .hooks.poststop[0]: poststop hook"), "%s", logbuf);
        cr_assert_not_null(strstr(logbuf, "exited with status 7"), "%s", logbuf);
}

Test(ops, no_poststop_for_an_unfinished_create)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *out = NULL, *hook = NULL;
        struct rc_runtime rt = runtime();

        cr_assert_geq(asprintf(&out, "%s/poststop.out", tmpdir), 0);
        hook = hook_script("poststop", "cat > \"$1\"");
        write_state("c1", OCI_STATUS_CREATING, 0, 0, true);
        write_config_with_poststop("c1", hook, out);
        cr_assert_eq(rc_container_delete(&rt, "c1", false, &err), 0, "%s", err ? err->msg : "");
        cr_assert_neq(access(out, F_OK), 0, "poststop ran for a container that never got created");
}

/* Without a pid namespace of its own, kill --all reaches the init's descendants. */
Test(ops, kill_all_reaches_descendants)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        int sync[2];
        pid_t pid, grandchild = 0;
        uint64_t start, gstart;

        cr_assert_eq(pipe2(sync, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                pid_t g;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                g = fork();
                if (g == 0) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        for (;;)
                                pause();
                }
                if (write(sync[1], &g, sizeof(g)) != sizeof(g))
                        _exit(1);
                for (;;)
                        pause();
        }
        cr_assert_eq(read(sync[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
        cr_assert_eq(rc_proc_start_time(pid, &start, &err), 0);
        cr_assert_eq(rc_proc_start_time(grandchild, &gstart, &err), 0);
        write_state("c1", OCI_STATUS_RUNNING, pid, start, true);

        cr_assert_eq(rc_container_kill(&rt, "c1", SIGUSR1, true, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        for (int i = 0; i < 200 && rc_pid_matches(grandchild, gstart); i++)
                usleep(10 * 1000);
        cr_assert_not(rc_pid_matches(grandchild, gstart), "the grandchild survived kill --all");
        close(sync[0]);
        close(sync[1]);
}

Test(ops, kill_rejects_bad_signal)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();

        write_state("c1", OCI_STATUS_RUNNING, 0, 0, true);
        cr_assert_lt(rc_container_kill(&rt, "c1", -1, false, &err), 0);
        rc_error_free(&err);
        cr_assert_lt(rc_container_kill(&rt, "c1", 999, false, &err), 0);
        rc_error_free(&err);
        cr_assert_lt(rc_container_kill(&rt, "nope", SIGTERM, false, &err), 0);
        cr_assert_str_eq(err->msg, "container \"nope\" does not exist");
}

/* ---- files of the state directory, the init record, --pid-file (issue 21) ------------ */

/* A FIFO, a symlink (to /dev/zero), a directory or a device is refused at once, never read. */
Test(state, files_are_read_only_when_regular)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        char *buf = NULL;
        size_t len = 0;

        cr_assert_eq(rc_state_dir_create(rootfd, "k", &dirfd, &err), 0);
        cr_assert_eq(mkfifoat(dirfd, "fifo", 0600), 0);
        cr_assert_eq(symlinkat("/dev/zero", dirfd, "zero"), 0);
        cr_assert_eq(mkdirat(dirfd, "dir", 0700), 0);
        cr_assert_lt(rc_state_read_file(dirfd, "fifo", &buf, &len, &err), 0);
        cr_assert_str_eq(err->msg, "`fifo` is not a regular file");
        rc_error_free(&err);
        cr_assert_lt(rc_state_read_file(dirfd, "zero", &buf, &len, &err), 0);
        cr_assert_str_eq(err->msg, "`zero` is a symbolic link, not a regular file");
        rc_error_free(&err);
        cr_assert_lt(rc_state_read_file(dirfd, "dir", &buf, &len, &err), 0);
        cr_assert_str_eq(err->msg, "`dir` is not a regular file");
        rc_error_free(&err);
        cr_assert_lt(rc_state_read_file(dirfd, "missing", &buf, &len, &err), 0);
        cr_assert_eq(err->status, ENOENT);
}

Test(state, init_record_round_trip)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        struct rc_init_record rec = {0};

        cr_assert_eq(rc_state_dir_create(rootfd, "k", &dirfd, &err), 0);
        cr_assert_lt(rc_state_read_init(dirfd, &rec), 0);
        cr_assert_eq(rc_state_record_init(dirfd, 4242, 987654321, "/sys/fs/cgroup/a b/c", &err), 0);
        cr_assert_eq(rc_state_read_init(dirfd, &rec), 0);
        cr_assert_eq(rec.pid, 4242);
        cr_assert_eq(rec.start_time, 987654321);
        cr_assert_str_eq(rec.cgroup_path, "/sys/fs/cgroup/a b/c");
        free(rec.cgroup_path);
        cr_assert_lt(rc_state_record_init(dirfd, 1, 1, NULL, &err), 0, "one record per create");
}

/* What create accepts, every command reads: a state over the limit is never written. */
Test(state, state_over_the_limit_is_refused)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_close_ int dirfd = -1;
        struct oci_state *s = new_state("big", OCI_STATUS_CREATING, 0, 0);
        struct oci_kv kv = {.key = "k", .value = malloc(RC_STATE_FILE_MAX)};

        memset(kv.value, 'a', RC_STATE_FILE_MAX - 1);
        kv.value[RC_STATE_FILE_MAX - 1] = '\0';
        s->annotations = &kv;
        s->n_annotations = 1;
        cr_assert_eq(rc_state_dir_create(rootfd, "big", &dirfd, &err), 0);
        cr_assert_lt(rc_state_check_size(s, "/b/config.json", &err), 0);
        cr_assert_not_null(strstr(err->msg, "/b/config.json: the container's state would be"), "%s",
                           err->msg);
        rc_error_free(&err);
        cr_assert_lt(rc_state_write(dirfd, s, &err), 0);
        cr_assert_eq(err->status, EFBIG);
        cr_assert_eq(faccessat(dirfd, RC_STATE_FILE, F_OK, 0), -1);
        s->annotations = NULL;
        s->n_annotations = 0;
        free(kv.value);
        oci_state_free(s);
}

static void assert_pid_file(const char *path, const char *want)
{
        char *got = slurp(path);

        cr_assert_str_eq(got, want);
        free(got);
}

Test(state, pid_file_replaces_only_regular_files)
{
        _cleanup_error_ rc_error_t err = NULL;
        char path[256], fifo[256], dir[256], link[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/pid", tmpdir);
        cr_assert_eq(rc_pid_file_write(path, 123, &err), 0, "%s", err ? err->msg : "");
        assert_pid_file(path, "123");
        cr_assert_eq(rc_pid_file_write(path, 4567, &err), 0, "%s", err ? err->msg : "");
        assert_pid_file(path, "4567");

        snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
        snprintf(dir, sizeof(dir), "%s/dir", tmpdir);
        snprintf(link, sizeof(link), "%s/link", tmpdir);
        cr_assert_eq(mkfifo(fifo, 0600), 0);
        cr_assert_eq(mkdir(dir, 0700), 0);
        cr_assert_eq(symlink(path, link), 0);
        cr_assert_lt(rc_pid_file_write(fifo, 1, &err), 0);
        cr_assert_not_null(strstr(err->msg, "it is a FIFO: only a regular file is replaced"), "%s",
                           err->msg);
        rc_error_free(&err);
        cr_assert_lt(rc_pid_file_write(dir, 1, &err), 0);
        rc_error_free(&err);
        cr_assert_lt(rc_pid_file_write(link, 1, &err), 0);
        rc_error_free(&err);
        cr_assert_eq(lstat(fifo, &st), 0);
        cr_assert(S_ISFIFO(st.st_mode));
        cr_assert_eq(lstat(link, &st), 0);
        cr_assert(S_ISLNK(st.st_mode));
        assert_pid_file(path, "4567");
}

/* Issue 21 item 4: a container whose state.json is lost keeps its init findable through
 * the init record: delete refuses (saying how to recover), delete --force kills it. */
Test(ops, corrupt_state_never_loses_a_live_init)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();
        struct oci_state **v = NULL, *s = NULL;
        _cleanup_close_ int dirfd = -1;
        size_t n = 0;
        uint64_t start;
        pid_t pid = spawn_sleeper(&start);

        write_state("c1", OCI_STATUS_RUNNING, pid, start, true);
        dirfd = openat(rootfd, "c1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_eq(rc_state_record_init(dirfd, pid, start, NULL, &err), 0);
        write_in_dir("c1", RC_STATE_FILE, "{\"ociVersion\": \"1.2");

        cr_assert_eq(rc_container_list(&rt, &v, &n, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(n, 1);
        cr_assert_eq(v[0]->status, OCI_STATUS_RUNNING);
        cr_assert_eq(v[0]->pid, pid);
        rc_container_list_free(v, n);
        cr_assert_lt(rc_container_state(&rt, "c1", &s, &err), 0);
        rc_error_free(&err);

        cr_assert_lt(rc_container_delete(&rt, "c1", false, &err), 0);
        cr_assert_not_null(strstr(err->msg, "still runs: \"delete --force c1\" kills it"), "%s", err->msg);
        rc_error_free(&err);
        cr_assert(dir_exists("c1"));
        cr_assert(rc_pid_matches(pid, start));

        cr_assert_eq(rc_container_delete(&rt, "c1", true, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c1"));
        cr_assert_not(rc_pid_matches(pid, start));
        reap(pid);
}

/* Without a record and with a state that cannot be read, delete cannot know: it refuses. */
Test(ops, unreadable_state_without_record_needs_force)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_runtime rt = runtime();

        cr_assert_eq(mkdirat(rootfd, "c2", 0700), 0);
        cr_assert_eq(mkdirat(rootfd, "c2/" RC_STATE_FILE, 0700), 0);
        cr_assert_lt(rc_container_delete(&rt, "c2", false, &err), 0);
        cr_assert_not_null(strstr(err->msg, "whether its init still runs is unknown"), "%s", err->msg);
        rc_error_free(&err);
        cr_assert(dir_exists("c2"));
        cr_assert_eq(rc_container_delete(&rt, "c2", true, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(dir_exists("c2"));
}

/* One default root for every command: NULL and "" both mean the default (once,
 * `--root ""` made `state` use the default and `create` fail). */
Test(state, one_default_root)
{
        cr_assert_str_eq(rc_state_root_path(NULL), rc_default_state_root());
        cr_assert_str_eq(rc_state_root_path(""), rc_default_state_root());
        cr_assert_str_eq(rc_state_root_path(root), root);
        if (geteuid() == 0)
                cr_assert_str_eq(rc_default_state_root(), RC_DEFAULT_ROOT);
}

/* runc's and crun's rule: a caller other than root keeps its state under
 * $XDG_RUNTIME_DIR; without it (or with a relative one), the system root. */
Test(state, default_root_of_a_user)
{
        char buf[64];

        cr_assert_str_eq(rc_user_state_root(false, "/run/user/0", RC_DEFAULT_ROOT, buf, sizeof(buf)),
                         RC_DEFAULT_ROOT);
        cr_assert_str_eq(rc_user_state_root(true, "/run/user/1000", RC_DEFAULT_ROOT, buf, sizeof(buf)),
                         "/run/user/1000/run-container");
        cr_assert_str_eq(rc_user_state_root(true, NULL, RC_DEFAULT_ROOT, buf, sizeof(buf)), RC_DEFAULT_ROOT);
        cr_assert_str_eq(rc_user_state_root(true, "", RC_DEFAULT_ROOT, buf, sizeof(buf)), RC_DEFAULT_ROOT);
        cr_assert_str_eq(rc_user_state_root(true, "run/user", RC_DEFAULT_ROOT, buf, sizeof(buf)),
                         RC_DEFAULT_ROOT);
        cr_assert_str_eq(rc_user_state_root(true, "/a/very/long/path/that/does/not/fit/in/the/buffer/given",
                                            RC_DEFAULT_ROOT, buf, sizeof(buf)),
                         RC_DEFAULT_ROOT);
}

/* The image cache of a user other than root is its own (XDG data directory). */
Test(userdirs, image_cache_of_a_user)
{
        char buf[128];
        const char *sys = "/var/lib/run-container/layers";

        cr_assert_str_eq(rc_user_image_cache(false, "/d", "/h", sys, buf, sizeof(buf)), sys);
        cr_assert_str_eq(rc_user_image_cache(true, "/d", "/h", sys, buf, sizeof(buf)),
                         "/d/run-container/layers");
        cr_assert_str_eq(rc_user_image_cache(true, NULL, "/h", sys, buf, sizeof(buf)),
                         "/h/.local/share/run-container/layers");
        cr_assert_str_eq(rc_user_image_cache(true, "rel", "/h", sys, buf, sizeof(buf)),
                         "/h/.local/share/run-container/layers");
        cr_assert_str_eq(rc_user_image_cache(true, NULL, NULL, sys, buf, sizeof(buf)), sys);
        cr_assert_str_eq(rc_user_image_cache(true, NULL, "", sys, buf, sizeof(buf)), sys);
}
