/* Unit tests for runtime/isolation/namespaces.c: the plan for configs built in C, id map
 * formatting, and the id map writes against a child in a new user namespace (skipped
 * when the kernel does not let us create one). No root needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/namespaces.h"
#include "specs/names.h"

static struct oci_namespace nss[OCI_NS_COUNT];
static struct oci_config cfg;

static void config_reset(void)
{
        memset(nss, 0, sizeof(nss));
        memset(&cfg, 0, sizeof(cfg));
        cfg.has_linux = true;
        cfg.linux_.namespaces = nss;
}

static void add_ns(enum oci_ns_type t, const char *path)
{
        struct oci_namespace *ns = &nss[cfg.linux_.n_namespaces++];

        ns->type = t;
        ns->clone_flag = oci_ns_clone_flag(t);
        ns->path = (char *)path;
}

TestSuite(namespaces, .init = config_reset);

Test(namespaces, format_idmap)
{
        struct oci_idmap m[] = {{0, 1000, 1}, {1, 100000, 65536}};
        char buf[128];

        cr_assert_eq(rc_ns_format_idmap(m, 2, buf, sizeof(buf)), 24);
        cr_assert_str_eq(buf, "0 1000 1\n1 100000 65536\n");
        cr_assert_eq(rc_ns_format_idmap(m, 0, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "");
}

Test(namespaces, format_idmap_extremes_and_overflow)
{
        struct oci_idmap m[] = {{4294967295u, 4294967295u, 4294967295u}};
        char buf[64], small[10];

        cr_assert_eq(rc_ns_format_idmap(m, 1, buf, sizeof(buf)), 33);
        cr_assert_str_eq(buf, "4294967295 4294967295 4294967295\n");
        cr_assert_eq(rc_ns_format_idmap(m, 1, small, sizeof(small)), -1);
        cr_assert_eq(rc_ns_format_idmap(m, 1, buf, 33), -1, "no room for the NUL");
        cr_assert_eq(rc_ns_format_idmap(m, 1, buf, 34), 33);
}

Test(namespaces, new_namespaces_go_direct)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_PID, NULL);
        add_ns(OCI_NS_NETWORK, NULL);
        add_ns(OCI_NS_MOUNT, NULL);
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(p.clone_flags, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS);
        cr_assert(p.direct);
        cr_assert_not(p.needs_fork);
        cr_assert_not(p.time_offsets);
        for (int i = 0; i < OCI_NS_COUNT; i++)
                cr_assert_eq(p.join_fd[i], -1);
        rc_ns_plan_close(&p);
}

Test(namespaces, no_linux_section)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        cfg.has_linux = false;
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert_eq(p.clone_flags, 0);
        cr_assert(p.direct);
        cr_assert_not(p.needs_fork);
}

Test(namespaces, joined_net_with_new_pid_needs_fork)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;
        int fd;

        add_ns(OCI_NS_PID, NULL);
        add_ns(OCI_NS_NETWORK, "/proc/self/ns/net");
        add_ns(OCI_NS_MOUNT, NULL);
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(p.clone_flags, CLONE_NEWPID | CLONE_NEWNS);
        fd = p.join_fd[OCI_NS_NETWORK];
        cr_assert_geq(fd, 0);
        cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        cr_assert_not(p.direct);
        cr_assert(p.needs_fork);
        rc_ns_plan_close(&p);
        cr_assert_eq(p.join_fd[OCI_NS_NETWORK], -1);
        cr_assert_eq(fcntl(fd, F_GETFD), -1, "fd still open after plan_close");
}

Test(namespaces, joined_net_without_pid_no_fork)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_NETWORK, "/proc/self/ns/net");
        add_ns(OCI_NS_MOUNT, NULL);
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not(p.direct);
        cr_assert_not(p.needs_fork);
        rc_ns_plan_close(&p);
}

Test(namespaces, joined_pid_needs_fork)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_PID, "/proc/self/ns/pid");
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(p.clone_flags, 0);
        cr_assert_geq(p.join_fd[OCI_NS_PID], 0);
        cr_assert_not(p.direct);
        cr_assert(p.needs_fork);
        rc_ns_plan_close(&p);
}

Test(namespaces, time_offsets)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_TIME, NULL);
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert(p.direct, "a new time ns without offsets can be cloned directly");
        cr_assert_eq(p.clone_flags, CLONE_NEWTIME);

        cfg.linux_.time_monotonic = (struct oci_time_offset){.set = true, .secs = 5, .nanosecs = 7};
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert(p.time_offsets);
        cr_assert_not(p.direct);
        cr_assert(p.needs_fork);
}

Test(namespaces, missing_path_is_an_error)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_MOUNT, NULL);
        add_ns(OCI_NS_NETWORK, "/nonexistent/ns/net");
        cr_assert_lt(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert_str_eq(
                err->msg,
                ".linux.namespaces[1].path: open namespace path \"/nonexistent/ns/net\" for network: "
                "No such file or directory");
        cr_assert_eq(err->status, ENOENT);
}

Test(namespaces, wrong_kind_of_path_is_an_error)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_NETWORK, "/proc/self/ns/uts");
        cr_assert_lt(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert_str_eq(err->msg,
                         ".linux.namespaces[0].path: \"/proc/self/ns/uts\" is not a network namespace");
        rc_error_free(&err);

        config_reset();
        add_ns(OCI_NS_NETWORK, "/dev/null");
        cr_assert_lt(rc_ns_plan_make(&cfg, &p, &err), 0);
        cr_assert_str_eq(err->msg, ".linux.namespaces[0].path: \"/dev/null\" is not a network namespace");
}

Test(namespaces, join_own_user_namespace_is_a_no_op)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_ns_plan p;

        add_ns(OCI_NS_USER, "/proc/self/ns/user");
        cr_assert_eq(rc_ns_plan_make(&cfg, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_ns_join(&p, &err), 0, "%s", err ? err->msg : "");
        rc_ns_plan_close(&p);
}

Test(namespaces, nothing_to_write)
{
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_eq(rc_ns_write_idmaps(getpid(), &cfg, &err), 0);
        cr_assert_eq(rc_ns_write_time_offsets(&cfg, &err), 0);
}

/* A child unshares its user namespace and waits; the parent writes its maps; the child
 * reports what it reads back from its own uid_map and gid_map. */
static void read_map(const char *path, char *buf, size_t size)
{
        FILE *f = fopen(path, "re");
        size_t n = 0;

        if (f != NULL) {
                n = fread(buf, 1, size - 1, f);
                fclose(f);
        }
        buf[n] = '\0';
}

static pid_t userns_child(int *ready_r, int *go_w, int *report_r)
{
        int ready[2], go[2], report[2];
        pid_t pid;

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(report, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char ok = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n', c, maps[512], line[256];

                if (write(ready[1], &ok, 1) != 1 || read(go[0], &c, 1) != 1)
                        _exit(1);
                read_map("/proc/self/uid_map", maps, 256);
                read_map("/proc/self/gid_map", line, sizeof(line));
                strcat(maps, "|");
                strcat(maps, line);
                if (write(report[1], maps, strlen(maps)) < 0)
                        _exit(1);
                _exit(0);
        }
        close(ready[1]);
        close(go[0]);
        close(report[1]);
        *ready_r = ready[0];
        *go_w = go[1];
        *report_r = report[0];
        return pid;
}

static void squeeze(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (*r == ' ' && (w == s || w[-1] == ' ' || w[-1] == '\n' || w[-1] == '|'))
                        continue;
                *w++ = *r;
        }
        *w = '\0';
}

Test(namespaces, write_idmaps_to_a_child)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_idmap um = {0, geteuid(), 1}, gm = {0, getegid(), 1};
        int ready, go, report, status;
        char ok = 'n', got[512] = "", want[128];
        pid_t pid;
        ssize_t n;

        cfg.linux_.uid_mappings = &um;
        cfg.linux_.n_uid_mappings = 1;
        cfg.linux_.gid_mappings = &gm;
        cfg.linux_.n_gid_mappings = 1;
        pid = userns_child(&ready, &go, &report);
        cr_assert_eq(read(ready, &ok, 1), 1);
        if (ok != 'y') {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                cr_skip_test("cannot create a user namespace here");
        }
        cr_assert_eq(rc_ns_write_idmaps(pid, &cfg, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(write(go, "g", 1), 1);
        n = read(report, got, sizeof(got) - 1);
        cr_assert_gt(n, 0);
        got[n] = '\0';
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        squeeze(got);
        snprintf(want, sizeof(want), "0 %u 1\n|0 %u 1\n", (unsigned)geteuid(), (unsigned)getegid());
        cr_assert_str_eq(got, want);
        close(ready);
        close(go);
        close(report);
}
