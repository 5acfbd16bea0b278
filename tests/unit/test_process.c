/* Unit tests for runtime/isolation/process.c. No root needed; steps that change process-wide
 * state run in a forked child that reports back through a pipe. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/process.h"
#include "tests/unit/child.h"

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[64];

static void make_file(const char *name, mode_t mode)
{
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
        cr_assert_eq(write(fd, "#!/bin/sh\n", 10), 10);
        close(fd);
        cr_assert_eq(chmod(path, mode), 0);
}

static void setup_tmpdir(void)
{
        char path[256];

        snprintf(tmpdir, sizeof(tmpdir), "/tmp/rc-test-process-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
        make_file("runme", 0755);
        make_file("noexec", 0644);
        snprintf(path, sizeof(path), "%s/adir", tmpdir);
        cr_assert_eq(mkdir(path, 0755), 0);
}

static void teardown_tmpdir(void)
{
        char path[256];
        const char *names[] = {"runme", "noexec"};

        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
                unlink(path);
        }
        snprintf(path, sizeof(path), "%s/adir/proc", tmpdir);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/adir", tmpdir);
        rmdir(path);
        rmdir(tmpdir);
}

static char *path_env;
static char *env_with_path[3];

static void process_with_path(struct oci_process *p, char **args)
{
        free(path_env);
        cr_assert_geq(asprintf(&path_env, "PATH=/nonexistent-dir:%s", tmpdir), 0);
        env_with_path[0] = "PATH=/should/be/overridden";
        env_with_path[1] = path_env;
        env_with_path[2] = NULL;
        memset(p, 0, sizeof(*p));
        p->args = args;
        p->n_args = 1;
        p->env = env_with_path;
        p->n_env = 2;
}

/* ---- find_executable ------------------------------------------------------------ */

TestSuite(find_executable, .init = setup_tmpdir, .fini = teardown_tmpdir);

Test(find_executable, found_in_path_last_path_wins)
{
        char *args[] = {"runme", NULL};
        struct oci_process p;
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = NULL, *expected = NULL;

        process_with_path(&p, args);
        cr_assert_eq(rc_process_find_executable(&p, &path, &err), 0, "%s", err ? err->msg : "");
        cr_assert_geq(asprintf(&expected, "%s/runme", tmpdir), 0);
        cr_assert_str_eq(path, expected);
}

Test(find_executable, non_executable_not_found)
{
        char *args[] = {"noexec", NULL};
        struct oci_process p;
        _cleanup_error_ rc_error_t err = NULL;
        char *path = NULL;

        process_with_path(&p, args);
        /* even root fails access(X_OK) when no execute bit is set */
        cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
        cr_assert_null(path);
        cr_assert_str_eq(err->msg, "exec: \"noexec\": executable file not found in $PATH");
        cr_assert_eq(err->status, ENOENT);
}

Test(find_executable, directory_in_path_skipped)
{
        char *args[] = {"adir", NULL};
        struct oci_process p;
        _cleanup_error_ rc_error_t err = NULL;
        char *path = NULL;

        process_with_path(&p, args);
        cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
        cr_assert_str_eq(err->msg, "exec: \"adir\": executable file not found in $PATH");
}

Test(find_executable, missing_in_path)
{
        char *args[] = {"foo-does-not-exist", NULL};
        struct oci_process p;
        _cleanup_error_ rc_error_t err = NULL;
        char *path = NULL;

        process_with_path(&p, args);
        cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
        cr_assert_str_eq(err->msg, "exec: \"foo-does-not-exist\": executable file not found in $PATH");
}

Test(find_executable, default_path_used_without_env)
{
        char *args[] = {"sh", NULL};
        struct oci_process p = {.args = args, .n_args = 1};
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = NULL;

        if (access("/bin/sh", X_OK) != 0 && access("/usr/bin/sh", X_OK) != 0)
                cr_skip_test("no /bin/sh or /usr/bin/sh on this system");
        cr_assert_eq(rc_process_find_executable(&p, &path, &err), 0, "%s", err ? err->msg : "");
        cr_assert(strcmp(path, "/usr/bin/sh") == 0 || strcmp(path, "/bin/sh") == 0 ||
                          strcmp(path, "/usr/sbin/sh") == 0 || strcmp(path, "/sbin/sh") == 0 ||
                          strcmp(path, "/usr/local/bin/sh") == 0 || strcmp(path, "/usr/local/sbin/sh") == 0,
                  "unexpected path %s", path);
}

Test(find_executable, absolute_ok)
{
        char *args[2] = {NULL, NULL};
        char abs[256];
        struct oci_process p = {.args = args, .n_args = 1};
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = NULL;

        snprintf(abs, sizeof(abs), "%s/runme", tmpdir);
        args[0] = abs;
        cr_assert_eq(rc_process_find_executable(&p, &path, &err), 0, "%s", err ? err->msg : "");
        cr_assert_str_eq(path, abs);
}

Test(find_executable, absolute_errors)
{
        char *args[2] = {NULL, NULL};
        char abs[256], expected[512];
        struct oci_process p = {.args = args, .n_args = 1};
        char *path = NULL;

        args[0] = abs;
        {
                _cleanup_error_ rc_error_t err = NULL;

                snprintf(abs, sizeof(abs), "%s/adir", tmpdir);
                cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
                snprintf(expected, sizeof(expected), "exec: \"%s\": is a directory", abs);
                cr_assert_str_eq(err->msg, expected);
                cr_assert_eq(err->status, EISDIR);
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                snprintf(abs, sizeof(abs), "%s/noexec", tmpdir);
                cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
                snprintf(expected, sizeof(expected), "exec: \"%s\": permission denied", abs);
                cr_assert_str_eq(err->msg, expected);
                cr_assert_eq(err->status, EACCES);
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                snprintf(abs, sizeof(abs), "%s/missing", tmpdir);
                cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
                snprintf(expected, sizeof(expected), "exec: \"%s\": no such file or directory", abs);
                cr_assert_str_eq(err->msg, expected);
                cr_assert_eq(err->status, ENOENT);
        }
        {
                _cleanup_error_ rc_error_t err = NULL;

                args[0] = "/dev/null";
                cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
                cr_assert_str_eq(err->msg, "exec: \"/dev/null\": permission denied");
        }
        cr_assert_null(path);
}

Test(find_executable, empty_args)
{
        struct oci_process p = {0};
        _cleanup_error_ rc_error_t err = NULL;
        char *path = NULL;

        cr_assert_lt(rc_process_find_executable(&p, &path, &err), 0);
        cr_assert_str_eq(err->msg, "exec: \"\": executable file not found in $PATH");
}

/* ---- rlimits, umask, scheduler, ioprio, oom, personality ------------------------ */

static const char *child_rlimits(void *arg, char *buf, size_t size)
{
        struct rlimit cur;
        struct oci_rlimit l[2];
        struct oci_process p = {.rlimits = l, .n_rlimits = 2};
        rc_error_t err = NULL;

        if (getrlimit(RLIMIT_NOFILE, &cur) < 0 || cur.rlim_cur < 2)
                return "getrlimit";
        l[0] = (struct oci_rlimit){
                .resource = RLIMIT_NOFILE, .soft = cur.rlim_cur - 1, .hard = cur.rlim_max};
        /* lowering the hard limit needs no privilege; UINT64_MAX means infinity */
        l[1] = (struct oci_rlimit){.resource = RLIMIT_CORE, .soft = 0, .hard = 0};
        if (rc_process_apply_rlimits(&p, &err) < 0)
                return fail_with(buf, size, "apply", &err);
        struct rlimit got;
        if (getrlimit(RLIMIT_NOFILE, &got) < 0)
                return "getrlimit after";
        if (got.rlim_cur != cur.rlim_cur - 1 || got.rlim_max != cur.rlim_max) {
                snprintf(buf, size, "NOFILE got %llu/%llu", (unsigned long long)got.rlim_cur,
                         (unsigned long long)got.rlim_max);
                return buf;
        }
        if (getrlimit(RLIMIT_CORE, &got) < 0 || got.rlim_cur != 0 || got.rlim_max != 0)
                return "RLIMIT_CORE not 0/0";
        return NULL;
}

Test(process, rlimits_in_child)
{
        run_in_child(child_rlimits, NULL);
}

static const char *child_rlimit_infinity(void *arg, char *buf, size_t size)
{
        struct rlimit cur;
        struct oci_rlimit l;
        struct oci_process p = {.rlimits = &l, .n_rlimits = 1};
        rc_error_t err = NULL;

        if (getrlimit(RLIMIT_FSIZE, &cur) < 0)
                return "getrlimit";
        if (cur.rlim_max != RLIM_INFINITY)
                return NULL; /* nothing to check on this system */
        l = (struct oci_rlimit){.resource = RLIMIT_FSIZE, .soft = UINT64_MAX, .hard = UINT64_MAX};
        if (rc_process_apply_rlimits(&p, &err) < 0)
                return fail_with(buf, size, "apply", &err);
        if (getrlimit(RLIMIT_FSIZE, &cur) < 0 || cur.rlim_cur != RLIM_INFINITY)
                return "RLIMIT_FSIZE not infinity";
        return NULL;
}

Test(process, rlimit_infinity)
{
        run_in_child(child_rlimit_infinity, NULL);
}

static const char *child_rlimit_error(void *arg, char *buf, size_t size)
{
        struct oci_rlimit l = {.resource = RLIMIT_NOFILE, .soft = 100, .hard = 10};
        struct oci_process p = {.rlimits = &l, .n_rlimits = 1};
        rc_error_t err = NULL;

        if (rc_process_apply_rlimits(&p, &err) == 0)
                return "soft > hard accepted";
        if (strstr(err->msg, "RLIMIT_NOFILE") == NULL)
                return fail_with(buf, size, "message does not name RLIMIT_NOFILE", &err);
        return NULL;
}

Test(process, rlimit_error_names_resource)
{
        run_in_child(child_rlimit_error, NULL);
}

static const char *child_umask(void *arg, char *buf, size_t size)
{
        struct oci_process p = {0};
        rc_error_t err = NULL;
        mode_t m;

        p.user.uid = geteuid();
        p.user.gid = getegid();
        p.user.has_umask = true;
        p.user.umask = 0077;
        if (rc_process_set_user(&p, &err) < 0)
                return fail_with(buf, size, "set_user", &err);
        m = umask(0);
        if (m != 0077) {
                snprintf(buf, size, "umask %04o", (unsigned)m);
                return buf;
        }
        p.user.has_umask = false;
        if (rc_process_set_user(&p, &err) < 0)
                return fail_with(buf, size, "set_user default", &err);
        m = umask(0);
        if (m != 0022) {
                snprintf(buf, size, "default umask %04o", (unsigned)m);
                return buf;
        }
        return NULL;
}

Test(process, umask_in_child)
{
        if (geteuid() != 0)
                cr_skip_test("needs root: rc_process_set_user calls setgroups");
        run_in_child(child_umask, NULL);
}

static const char *child_set_user(void *arg, char *buf, size_t size)
{
        gid_t groups[] = {5, 7};
        gid_t got[8];
        struct oci_process p = {0};
        rc_error_t err = NULL;
        uid_t r, e, s;
        gid_t rg, eg, sg;

        p.user.uid = 1000;
        p.user.gid = 1001;
        p.user.additional_gids = groups;
        p.user.n_additional_gids = 2;
        if (rc_process_set_user(&p, &err) < 0)
                return fail_with(buf, size, "set_user", &err);
        if (getresuid(&r, &e, &s) < 0 || r != 1000 || e != 1000 || s != 1000)
                return "uids not 1000";
        if (getresgid(&rg, &eg, &sg) < 0 || rg != 1001 || eg != 1001 || sg != 1001)
                return "gids not 1001";
        if (getgroups(8, got) != 2 || got[0] != 5 || got[1] != 7)
                return "supplementary groups not {5, 7}";
        return NULL;
}

Test(process, set_user_in_child)
{
        if (geteuid() != 0)
                cr_skip_test("needs root: setgroups/setresuid to another user");
        run_in_child(child_set_user, NULL);
}

static int write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -1;
        n = write(fd, text, strlen(text));
        close(fd);
        return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Unprivileged variant: in a new user namespace with setgroups denied, set_user works
 * without additional gids (and applies the umask) and refuses additional gids. */
static const char *child_userns_deny(void *arg, char *buf, size_t size)
{
        uid_t uid = geteuid();
        gid_t gid = getegid(), groups[] = {5};
        struct oci_process p = {0};
        rc_error_t err = NULL;
        char map[64];

        if (unshare(CLONE_NEWUSER) < 0)
                return "unshare(CLONE_NEWUSER)";
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", map) < 0)
                return "write setgroups/uid_map";
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        if (write_file("/proc/self/gid_map", map) < 0)
                return "write gid_map";
        p.user.has_umask = true;
        p.user.umask = 0027;
        if (rc_process_set_user(&p, &err) < 0)
                return fail_with(buf, size, "set_user", &err);
        if (umask(0) != 0027)
                return "umask not 0027";
        p.user.additional_gids = groups;
        p.user.n_additional_gids = 1;
        if (rc_process_set_user(&p, &err) == 0)
                return "additional gids accepted with setgroups denied";
        if (strstr(err->msg, "deny") == NULL)
                return fail_with(buf, size, "message does not mention deny", &err);
        return NULL;
}

Test(process, set_user_setgroups_denied_in_userns)
{
        int status = 0;
        pid_t pid;

        /* probe in a throwaway child first so an unsupported userns skips politely */
        pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                cr_skip_test("needs unprivileged user namespaces (unshare(CLONE_NEWUSER) failed)");
        run_in_child(child_userns_deny, NULL);
}

/* The /proc/self/fd walk behind close_range: hide close_range with seccomp (ENOSYS). */
static const char *child_cloexec_fallback(void *arg, char *buf, size_t size)
{
        rc_error_t err = NULL;
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
        int fd2 = dup(fd);

        if (ctx == NULL || fd < 0 || fd2 < 0)
                return "setup";
        if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("close_range"), 0) <
                    0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
                return "load seccomp filter";
        seccomp_release(ctx);
        if (syscall(SYS_close_range, 1000, 1001, 0) == 0 || errno != ENOSYS)
                return "close_range not hidden";
        if (rc_process_cloexec_from(fd < fd2 ? fd : fd2, &err) < 0)
                return fail_with(buf, size, "cloexec_from", &err);
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC) || !(fcntl(fd2, F_GETFD) & FD_CLOEXEC))
                return "fds not marked close-on-exec";
        if (fcntl(2, F_GETFD) & FD_CLOEXEC)
                return "fd 2 marked close-on-exec";
        return NULL;
}

Test(process, cloexec_from_fallback_in_child)
{
        run_in_child(child_cloexec_fallback, NULL);
}

static const char *child_scheduler(void *arg, char *buf, size_t size)
{
        struct oci_process p = {0};
        rc_error_t err = NULL;
        long prio;

        p.scheduler.present = true;
        p.scheduler.policy = SCHED_BATCH;
        p.scheduler.nice = 7; /* raising nice needs no privilege */
        if (rc_process_apply_scheduler(&p, &err) < 0)
                return fail_with(buf, size, "scheduler", &err);
        if (sched_getscheduler(0) != SCHED_BATCH)
                return "policy not SCHED_BATCH";
        errno = 0;
        prio = getpriority(PRIO_PROCESS, 0);
        if (prio != 7) {
                snprintf(buf, size, "nice %ld", prio);
                return buf;
        }
        return NULL;
}

Test(process, scheduler_in_child)
{
        run_in_child(child_scheduler, NULL);
}

static const char *child_ioprio(void *arg, char *buf, size_t size)
{
        struct oci_process p = {0};
        rc_error_t err = NULL;
        long v;

        p.io_priority.present = true;
        p.io_priority.klass = IOPRIO_CLASS_BE;
        p.io_priority.priority = 6;
        if (rc_process_apply_io_priority(&p, &err) < 0)
                return fail_with(buf, size, "ioprio", &err);
        v = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
        if (v != IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6)) {
                snprintf(buf, size, "ioprio %#lx", v);
                return buf;
        }
        return NULL;
}

Test(process, io_priority_in_child)
{
        run_in_child(child_ioprio, NULL);
}

static const char *child_oom(void *arg, char *buf, size_t size)
{
        struct oci_process p = {.has_oom_score_adj = true, .oom_score_adj = 999};
        rc_error_t err = NULL;
        char got[32] = "";
        int fd;
        ssize_t n;

        if (rc_process_set_oom_score_adj(&p, &err) < 0)
                return fail_with(buf, size, "oom", &err);
        fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return "open oom_score_adj";
        n = read(fd, got, sizeof(got) - 1);
        close(fd);
        if (n <= 0 || strncmp(got, "999", 3) != 0)
                return "oom_score_adj not 999";
        return NULL;
}

Test(process, oom_score_adj_in_child)
{
        run_in_child(child_oom, NULL);
}

static const char *child_personality(void *arg, char *buf, size_t size)
{
        struct oci_config c = {.has_linux = true};
        rc_error_t err = NULL;

        c.linux_.has_personality = true;
        c.linux_.personality = PER_LINUX;
        if (rc_process_apply_personality(&c, &err) < 0)
                return fail_with(buf, size, "personality", &err);
        if ((personality(0xffffffff) & PER_MASK) != PER_LINUX)
                return "personality not PER_LINUX";
        return NULL;
}

Test(process, personality_in_child)
{
        run_in_child(child_personality, NULL);
}

Test(process, unset_attributes_are_noops)
{
        struct oci_process p = {0};
        struct oci_config c = {0};
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_eq(rc_process_set_hostname(&c, &err), 0);
        cr_assert_eq(rc_process_apply_sysctl(&c, &err), 0);
        cr_assert_eq(rc_process_set_oom_score_adj(&p, &err), 0);
        cr_assert_eq(rc_process_apply_rlimits(&p, &err), 0);
        cr_assert_eq(rc_process_apply_scheduler(&p, &err), 0);
        cr_assert_eq(rc_process_apply_io_priority(&p, &err), 0);
        cr_assert_eq(rc_process_apply_personality(&c, &err), 0);
        cr_assert_null(err);
}

/* ---- sysctl ---------------------------------------------------------------------- */

Test(process, sysctl_rejects_bad_keys)
{
        const char *bad[] = {"net//ipv4", "/net/ipv4", "net/ipv4/", "net..ipv4", ".net.ipv4",
                             "net.ipv4.", "",          "a.b/../c",  "a/./b"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct oci_kv kv = {.key = (char *)bad[i], .value = "1"};
                struct oci_config c = {.has_linux = true};
                _cleanup_error_ rc_error_t err = NULL;
                char expected[128];

                c.linux_.sysctl = &kv;
                c.linux_.n_sysctl = 1;
                cr_assert_lt(rc_process_apply_sysctl(&c, &err), 0, "key %s accepted", bad[i]);
                snprintf(expected, sizeof(expected), ".linux.sysctl.%s: sysctl `%s`: invalid key", bad[i],
                         bad[i]);
                cr_assert_str_eq(err->msg, expected);
        }
}

Test(process, sysctl_error_names_key)
{
        struct oci_kv kv = {.key = "net.does_not_exist.really", .value = "1"};
        struct oci_config c = {.has_linux = true};
        _cleanup_error_ rc_error_t err = NULL;

        c.linux_.sysctl = &kv;
        c.linux_.n_sysctl = 1;
        cr_assert_lt(rc_process_apply_sysctl(&c, &err), 0);
        cr_assert_str_eq(err->msg,
                         ".linux.sysctl.net.does_not_exist.really: write sysctl `net.does_not_exist.really` "
                         "(/proc/sys/net/does_not_exist/really): No such file or directory");
}

/* ---- chdir ------------------------------------------------------------------------- */

static const char *child_chdir(void *arg, char *buf, size_t size)
{
        struct oci_process p = {.cwd = arg};
        rc_error_t err = NULL;
        char cwd[256];

        if (rc_process_chdir(&p, &err) < 0)
                return fail_with(buf, size, "chdir", &err);
        if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, arg) != 0)
                return "getcwd does not match";
        return NULL;
}

Test(chdir, into_directory, .init = setup_tmpdir, .fini = teardown_tmpdir)
{
        run_in_child(child_chdir, tmpdir);
}

Test(chdir, missing_directory)
{
        struct oci_process p = {.cwd = "/nonexistent-rc-test-dir"};
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_lt(rc_process_chdir(&p, &err), 0);
        cr_assert_str_eq(
                err->msg,
                "chdir to cwd `/nonexistent-rc-test-dir` set in config.json: No such file or directory");
        cr_assert_eq(err->status, ENOENT);
}

/* CVE-2024-21626: a cwd that resolves through a leaked fd to a directory outside the
 * root must be refused. In a user+mount namespace: bind /proc into tmpdir/adir, keep an
 * fd to tmpdir open, chroot into adir and chdir to /proc/self/fd/N. */
static const char *child_chdir_escape(void *arg, char *buf, size_t size)
{
        uid_t uid = geteuid();
        gid_t gid = getegid();
        struct oci_process p = {0};
        rc_error_t err = NULL;
        char root[256], procdir[300], map[64], cwd[64];
        int outside;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return "unshare";
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", map) < 0)
                return "write uid_map";
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        if (write_file("/proc/self/gid_map", map) < 0)
                return "write gid_map";
        snprintf(root, sizeof(root), "%s/adir", tmpdir);
        snprintf(procdir, sizeof(procdir), "%s/proc", root);
        if (mkdir(procdir, 0755) < 0 || mount("/proc", procdir, NULL, MS_BIND | MS_REC, NULL) < 0)
                return "bind /proc";
        outside = open(tmpdir, O_RDONLY | O_DIRECTORY);
        if (outside < 0 || chroot(root) < 0 || chdir("/") < 0)
                return "chroot";
        snprintf(cwd, sizeof(cwd), "/proc/self/fd/%d", outside);
        p.cwd = cwd;
        if (rc_process_chdir(&p, &err) == 0)
                return "escape through a leaked fd not detected";
        if (strstr(err->msg, "outside of the container root") == NULL)
                return fail_with(buf, size, "unexpected message", &err);
        return NULL;
}

Test(chdir, refuses_cwd_outside_root, .init = setup_tmpdir, .fini = teardown_tmpdir)
{
        int status = 0;
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                cr_skip_test("needs user and mount namespaces (unshare failed)");
        run_in_child(child_chdir_escape, NULL);
}

/* ---- cloexec_from, exec -------------------------------------------------------------- */

static const char *child_cloexec(void *arg, char *buf, size_t size)
{
        rc_error_t err = NULL;
        int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
        int low = fcntl(2, F_GETFD);

        if (fd < 0 || low < 0)
                return "open";
        if (rc_process_cloexec_from(fd, &err) < 0)
                return fail_with(buf, size, "cloexec_from", &err);
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
                return "fd not marked close-on-exec";
        if (fcntl(2, F_GETFD) != low)
                return "fd 2 changed";
        if (rc_process_cloexec_from(-1, &err) == 0)
                return "negative first accepted";
        return NULL;
}

Test(process, cloexec_from_in_child)
{
        run_in_child(child_cloexec, NULL);
}

Test(process, exec_failure_names_path)
{
        char *args[] = {"/nonexistent-rc-binary", NULL};
        struct oci_process p = {.args = args, .n_args = 1};
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_lt(rc_process_exec("/nonexistent-rc-binary", p.args, p.env, &err), 0);
        cr_assert_str_eq(err->msg, "exec `/nonexistent-rc-binary`: No such file or directory");
}
