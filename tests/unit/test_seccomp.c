/* Unit tests for runtime/isolation/seccomp.c: profiles are compiled as the runtime does and the
 * BPF is loaded in a forked child (no root needed: the child sets no_new_privs), which
 * then makes the syscalls the profile talks about and reports what happened. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/seccomp.h"
#include "seccomp_config.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define SECCOMP_SI_CODE 1 /* SYS_SECCOMP: si_code of the SIGSYS a TRAP action raises */

/* ---- helpers ------------------------------------------------------------------------ */

static char log_buf[8192];

static void capture_log(void *data, enum rc_log_level level, const char *msg)
{
        size_t used = strlen(log_buf);

        snprintf(log_buf + used, sizeof(log_buf) - used, "%s\n", msg);
}

static const struct rc_logger test_log = {.fn = capture_log, .max_level = RC_LOG_DEBUG};

/* Compile; returns the status and leaves any error in *err. */
static int compile(const char *seccomp_json, struct rc_seccomp_prog *p, rc_error_t *err)
{
        struct oci_config *c = parse_seccomp(seccomp_json);
        int r;

        log_buf[0] = '\0';
        r = rc_seccomp_compile(&c->linux_.seccomp, &test_log, p, err);
        oci_config_free(c);
        return r;
}

/* seccomp(2) itself, which libseccomp probes too: valgrind, for one, lacks it. */
static void require_seccomp(void)
{
        uint32_t action = SECCOMP_RET_ALLOW;

        if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0 && errno == ENOSYS)
                cr_skip_test("seccomp(2) is not available here (valgrind does not implement it)");
}

/* For the tests that go on to load the filter: skip before anything is allocated. */
static void compile_ok(const char *seccomp_json, struct rc_seccomp_prog *p)
{
        rc_error_t err = NULL;

        require_seccomp();
        cr_assert_eq(compile(seccomp_json, p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not_null(p->insns);
        cr_assert_gt(p->n_insns, 0);
}

/* Compile without loading: runs anywhere, valgrind included. */
static void compile_only(const char *seccomp_json, struct rc_seccomp_prog *p)
{
        rc_error_t err = NULL;

        cr_assert_eq(compile(seccomp_json, p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_gt(p->n_insns, 0);
}

static void compile_fails(const char *seccomp_json, const char *want)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        rc_error_t err = NULL;

        cr_assert_lt(compile(seccomp_json, &p, &err), 0, "compiled: %s", seccomp_json);
        cr_assert_not_null(strstr(err->msg, want), "error \"%s\" lacks \"%s\"", err->msg, want);
        cr_assert_null(p.insns);
        rc_error_free(&err);
}

static void compile_struct_fails(const struct oci_seccomp *sc, const char *want)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        rc_error_t err = NULL;

        cr_assert_lt(rc_seccomp_compile(sc, &test_log, &p, &err), 0);
        cr_assert_not_null(strstr(err->msg, want), "error \"%s\" lacks \"%s\"", err->msg, want);
        cr_assert_null(p.insns);
        rc_error_free(&err);
}

/* The child reports the first failed check on this pipe, using only write(2). */
static int report_fd = -1;

__attribute__((format(printf, 2, 3))) static bool check(bool ok, const char *fmt, ...)
{
        char buf[256];
        va_list ap;
        int n;

        if (ok)
                return true;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0 && write(report_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
                _exit(3);
        return false;
}

/* -1 with errno `e` */
static bool fails_with(long r, int e)
{
        return r == -1 && errno == e;
}

/* In the child: no_new_privs, then the filter. */
static void load(struct rc_seccomp_prog *p)
{
        rc_error_t err = NULL;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                check(false, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
                _exit(4);
        }
        if (rc_seccomp_load(p, NULL, 0, &err) < 0) {
                check(false, "load: %s", err->msg);
                _exit(4);
        }
}

typedef int (*child_body)(struct rc_seccomp_prog *p);

/* Fork, run body (which loads p itself), return the wait status; *msg gets the report. */
static int run_child(child_body body, struct rc_seccomp_prog *p, char *msg, size_t size)
{
        int pfd[2], status = 0;
        ssize_t n;
        pid_t pid;

        require_seccomp();
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(pfd[0]);
                report_fd = pfd[1];
                _exit(body(p));
        }
        close(pfd[1]);
        n = read(pfd[0], msg, size - 1);
        msg[n > 0 ? n : 0] = '\0';
        close(pfd[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return status;
}

static void expect_exit0(child_body body, struct rc_seccomp_prog *p)
{
        char msg[512];
        int status = run_child(body, p, msg, sizeof(msg));

        cr_assert(WIFEXITED(status), "child died with signal %d (%s)", WTERMSIG(status), msg);
        cr_assert_eq(WEXITSTATUS(status), 0, "child: %s", msg);
}

static void expect_signal(child_body body, struct rc_seccomp_prog *p, int sig)
{
        char msg[512];
        int status = run_child(body, p, msg, sizeof(msg));

        cr_assert(WIFSIGNALED(status), "child exited %d, not killed (%s)", WEXITSTATUS(status), msg);
        cr_assert_eq(WTERMSIG(status), sig);
}

static bool has_k(const struct rc_seccomp_prog *p, uint32_t k)
{
        for (size_t i = 0; i < p->n_insns; i++)
                if (p->insns[i].k == k)
                        return true;
        return false;
}

/* ---- actions ------------------------------------------------------------------------ */

static int body_errno_42(struct rc_seccomp_prog *p)
{
        load(p);
        if (!check(fails_with(syscall(SYS_getppid), 42), "getppid: %ld", syscall(SYS_getppid)))
                return 1;
        return check(syscall(SYS_getpid) > 0, "getpid blocked") ? 0 : 1;
}

Test(seccomp_actions, errno_with_errno_ret)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}",
                   &p);
        cr_assert_eq(p.flags, 0);
        expect_exit0(body_errno_42, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_errno_eperm(struct rc_seccomp_prog *p)
{
        load(p);
        return check(fails_with(syscall(SYS_getppid), EPERM), "getppid not EPERM") ? 0 : 1;
}

Test(seccomp_actions, errno_defaults_to_eperm)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        expect_exit0(body_errno_eperm, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_call_getppid(struct rc_seccomp_prog *p)
{
        load(p);
        syscall(SYS_getppid);
        return 7; /* not killed */
}

Test(seccomp_actions, kill_variants_kill_with_sigsys)
{
        static const char *const actions[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                              "SCMP_ACT_KILL_PROCESS"};

        for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
                struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
                _cleanup_free_ char *json = NULL;

                cr_assert_geq(asprintf(&json,
                                       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                       "[\"getppid\"], \"action\": \"%s\"}]}",
                                       actions[i]),
                              0);
                compile_ok(json, &p);
                expect_signal(body_call_getppid, &p, SIGSYS);
                rc_seccomp_prog_clear(&p);
        }
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
        _exit(si->si_code == SECCOMP_SI_CODE && si->si_syscall == SYS_getppid ? 0 : 9);
}

static int body_trap(struct rc_seccomp_prog *p)
{
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

        if (!check(sigaction(SIGSYS, &sa, NULL) == 0, "sigaction"))
                return 1;
        load(p);
        syscall(SYS_getppid);
        check(false, "no SIGSYS from TRAP");
        return 1;
}

Test(seccomp_actions, trap_raises_sigsys)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_TRAP\"}]}",
                   &p);
        expect_exit0(body_trap, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_enosys(struct rc_seccomp_prog *p)
{
        load(p);
        return check(fails_with(syscall(SYS_getppid), ENOSYS), "getppid not ENOSYS") ? 0 : 1;
}

/* Without a tracer attached, the kernel fails a TRACE'd syscall with ENOSYS. */
Test(seccomp_actions, trace_without_tracer_is_enosys)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 3}]}",
                   &p);
        expect_exit0(body_enosys, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_log_allows(struct rc_seccomp_prog *p)
{
        long before = syscall(SYS_getppid);

        load(p);
        if (!check(syscall(SYS_getppid) == before, "LOG changed getppid's result"))
                return 1;
        return check(fails_with(syscall(SYS_getpgid, -5), EPERM), "default ERRNO not applied") ? 0 : 1;
}

Test(seccomp_actions, log_allows_and_default_errno)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        /* default ERRNO for getpgid only; everything else must stay usable for the child */
        compile_ok("{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": ["
                   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_LOG\"},"
                   "{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        expect_exit0(body_log_allows, &p);
        rc_seccomp_prog_clear(&p);
}

/* ---- NOTIFY and the listener handoff ---------------------------------------------------------- */

static int body_notify(struct rc_seccomp_prog *p)
{
        rc_error_t err = NULL;
        const char *state = "{\"ociVersion\": \"1.2.0\", \"id\": \"box\", \"status\": \"created\", "
                            "\"pid\": 4242, \"bundle\": \"/b\", \"annotations\": {\"a\": \"b\"}}";

        if (!check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "nnp"))
                return 1;
        if (rc_seccomp_load(p, state, strlen(state), &err) < 0) {
                check(false, "load: %s", err->msg);
                return 1;
        }
        if (!check(p->agent_fd == -1, "agent fd not closed after the handoff"))
                return 1;
        /* the agent answers ECHILD */
        return check(fails_with(syscall(SYS_getppid), ECHILD), "getppid not answered by the agent") ? 0 : 1;
}

static int recv_listener(int sock, char *buf, size_t size, size_t *ret_len)
{
        union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.b,
                             .msg_controllen = sizeof(control.b)};
        struct cmsghdr *c;
        ssize_t n;
        int fd = -1;

        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        cr_assert_gt(n, 0, "recvmsg: %s", strerror(errno));
        for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        *ret_len = (size_t)n;
        /* the rest of the document, if the stream split it */
        while (*ret_len < size - 1 &&
               (n = recv(sock, buf + *ret_len, size - 1 - *ret_len, MSG_DONTWAIT)) > 0)
                *ret_len += (size_t)n;
        buf[*ret_len] = '\0';
        return fd;
}

static void check_process_state(const char *doc, size_t len)
{
        json_node *root = NULL, *st;
        rc_error_t err = NULL;
        uint64_t pid = 0;

        cr_assert_eq(json_parse(doc, len, "state", &root, &err), 0, "%s: %s", err ? err->msg : "", doc);
        cr_assert_str_eq(json_get_string(json_object_get(root, "ociVersion")), OCI_VERSION);
        cr_assert_eq(json_array_size(json_object_get(root, "fds")), 1);
        cr_assert_str_eq(json_get_string(json_array_get(json_object_get(root, "fds"), 0)), "seccompFd");
        cr_assert_eq(json_get_u64(json_object_get(root, "pid"), &pid), 0);
        cr_assert_eq(pid, 4242);
        cr_assert_str_eq(json_get_string(json_object_get(root, "metadata")), "MKNOD=/dev/null;X=1");
        st = json_object_get(root, "state");
        cr_assert_str_eq(json_get_string(json_object_get(st, "id")), "box");
        cr_assert_str_eq(json_get_string(json_object_get(st, "status")), "running");
        cr_assert_str_eq(json_get_string(json_object_get(st, "bundle")), "/b");
        cr_assert_str_eq(json_get_string(json_object_get(json_object_get(st, "annotations"), "a")), "b");
        json_free(root);
}

/* The agent's side: take the fd and the document, answer one notification. */
static void serve_one(int listener)
{
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;

        cr_assert_eq(seccomp_notify_alloc(&req, &resp), 0);
        cr_assert_eq(seccomp_notify_receive(listener, req), 0);
        cr_assert_eq(req->data.nr, SYS_getppid);
        resp->id = req->id;
        resp->error = -ECHILD;
        resp->val = 0;
        resp->flags = 0;
        cr_assert_eq(seccomp_notify_respond(listener, resp), 0);
        seccomp_notify_free(req, resp);
}

Test(seccomp_notify, listener_and_state_reach_the_agent)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        char doc[4096];
        size_t len = 0;
        int sv[2], status = 0, listener;
        pid_t pid;

        require_seccomp();
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\", "
                   "\"listenerMetadata\": \"MKNOD=/dev/null;X=1\", \"flags\": "
                   "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
                   &p);
        cr_assert(p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
        cr_assert(p.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
        p.metadata = strdup("MKNOD=/dev/null;X=1");
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p.agent_fd = sv[1];
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(sv[0]);
                report_fd = STDERR_FILENO;
                _exit(body_notify(&p));
        }
        close(sv[1]);
        p.agent_fd = -1;
        listener = recv_listener(sv[0], doc, sizeof(doc), &len);
        cr_assert_geq(listener, 0, "no fd in the message");
        check_process_state(doc, len);
        serve_one(listener);
        close(listener);
        close(sv[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_notify, process_state_without_metadata)
{
        const char *state =
                "{\"ociVersion\": \"1.2.0\", \"id\": \"c\", \"status\": \"creating\", \"pid\": 7, "
                "\"bundle\": \"/x\"}";
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(rc_seccomp_process_state(NULL, state, strlen(state), &doc, &len, &err), 0);
        cr_assert_eq(len, strlen(doc));
        cr_assert_eq(json_parse(doc, len, "doc", &root, &err), 0, "%s", doc);
        cr_assert_str_eq(json_get_string(json_object_get(root, "metadata")), "");
        cr_assert_str_eq(json_get_string(json_object_get(json_object_get(root, "state"), "status")),
                         "running");
        json_free(root);
        cr_assert_lt(rc_seccomp_process_state(NULL, "{", 1, &doc, &len, &err), 0);
        rc_error_free(&err);
}

/* ---- operators and conditions ------------------------------------------------------------- */

struct op_case {
        const char *op;
        uint64_t value, value_two;
        uint64_t blocked, allowed; /* an argument that matches, one that does not */
};

static const struct op_case op_cases[] = {
        {"SCMP_CMP_NE", 5, 0, 6, 5},
        {"SCMP_CMP_LT", 5, 0, 4, 5},
        {"SCMP_CMP_LE", 5, 0, 5, 6},
        {"SCMP_CMP_EQ", 5, 0, 5, 4},
        {"SCMP_CMP_EQ", 0x100000005ull, 0, 0x100000005ull, 5}, /* both halves compared */
        {"SCMP_CMP_GE", 5, 0, 5, 4},
        {"SCMP_CMP_GT", 5, 0, 6, 5},
        {"SCMP_CMP_GT", 0xffffffffull, 0, 0x100000000ull, 0xffffffffull},
        {"SCMP_CMP_MASKED_EQ", 0xf0, 0x30, 0x35, 0x45},
};
static const struct op_case *cur_case;

static int body_op(struct rc_seccomp_prog *p)
{
        load(p);
        if (!check(fails_with(syscall(SYS_getppid, cur_case->blocked), EPERM),
                   "%s %#llx: arg %#llx not blocked", cur_case->op, (unsigned long long)cur_case->value,
                   (unsigned long long)cur_case->blocked))
                return 1;
        return check(syscall(SYS_getppid, cur_case->allowed) > 0, "%s %#llx: arg %#llx blocked",
                     cur_case->op, (unsigned long long)cur_case->value,
                     (unsigned long long)cur_case->allowed)
                       ? 0
                       : 1;
}

Test(seccomp_conditions, every_operator)
{
        for (size_t i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
                struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
                _cleanup_free_ char *json = NULL;

                cur_case = &op_cases[i];
                cr_assert_geq(
                        asprintf(&json,
                                 "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                 "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
                                 "\"value\": %llu, \"valueTwo\": %llu, \"op\": \"%s\"}]}]}",
                                 (unsigned long long)cur_case->value,
                                 (unsigned long long)cur_case->value_two, cur_case->op),
                        0);
                compile_ok(json, &p);
                expect_exit0(body_op, &p);
                rc_seccomp_prog_clear(&p);
        }
}

static int body_and(struct rc_seccomp_prog *p)
{
        load(p);
        if (!check(fails_with(syscall(SYS_getppid, 1, 2), EPERM), "(1, 2) not blocked"))
                return 1;
        if (!check(syscall(SYS_getppid, 1, 3) > 0, "(1, 3) blocked"))
                return 1;
        return check(syscall(SYS_getppid, 0, 2) > 0, "(0, 2) blocked") ? 0 : 1;
}

/* Conditions on different arguments all have to hold. */
Test(seccomp_conditions, different_arguments_are_anded)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                   "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
                   "{\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                   &p);
        expect_exit0(body_and, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_split(struct rc_seccomp_prog *p)
{
        load(p);
        if (!check(fails_with(syscall(SYS_getppid, 1), EPERM), "arg 1 not blocked"))
                return 1;
        if (!check(fails_with(syscall(SYS_getppid, 2), EPERM), "arg 2 not blocked"))
                return 1;
        return check(syscall(SYS_getppid, 3) > 0, "arg 3 blocked") ? 0 : 1;
}

/* Two conditions on one argument become two rules (either one matches), as in runc. */
Test(seccomp_conditions, same_argument_twice_becomes_separate_rules)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                   "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
                   "{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                   &p);
        expect_exit0(body_split, &p);
        rc_seccomp_prog_clear(&p);
}

/* The parser already refuses this; the compiler must not rely on it. */
Test(seccomp_conditions, argument_index_out_of_range)
{
        struct oci_config *c =
                parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                              "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": "
                              "5, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}");

        c->linux_.seccomp.syscalls[0].args[0].index = 6;
        compile_struct_fails(&c->linux_.seccomp, "argument index 6 out of range");
        oci_config_free(c);
}

/* ---- names, clone3, architectures, flags --------------------------------------------------- */

Test(seccomp_compile, unknown_syscall_is_skipped_with_a_debug_log)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                   "[\"rc_no_such_syscall\", \"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        cr_assert_not_null(strstr(log_buf, "unknown syscall \"rc_no_such_syscall\" skipped"), "log: %s",
                           log_buf);
        expect_exit0(body_errno_eperm, &p);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_compile, rule_with_the_default_action_is_skipped)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        cr_assert_not_null(strstr(log_buf, "\"getpid\" has the default action"), "log: %s", log_buf);
        expect_exit0(body_errno_eperm, &p);
        rc_seccomp_prog_clear(&p);
}

/* A restrictive profile that allows just what the child (sanitizer runtimes included)
 * needs to report and exit. */
#define MINIMAL_ALLOW                                                                                       \
        "\"names\": [\"write\", \"exit\", \"exit_group\", \"rt_sigreturn\", \"rt_sigprocmask\", "           \
        "\"rt_sigaction\", \"sigaltstack\", \"mmap\", \"munmap\", \"mprotect\", \"madvise\", \"brk\", "     \
        "\"futex\", \"getpid\", \"gettid\", \"tgkill\", \"read\", \"close\", \"openat\", \"prctl\", "       \
        "\"sched_yield\"], \"action\": \"SCMP_ACT_ALLOW\""

static int body_clone3_enosys(struct rc_seccomp_prog *p)
{
        load(p);
        if (!check(fails_with(syscall(SYS_clone3, NULL, 0), ENOSYS), "clone3 not ENOSYS (errno %d)", errno))
                return 1;
        return check(fails_with(syscall(SYS_getppid), EPERM), "default action not EPERM") ? 0 : 1;
}

Test(seccomp_compile, clone3_answers_enosys_when_not_in_the_profile)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{" MINIMAL_ALLOW "}]}", &p);
        expect_exit0(body_clone3_enosys, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_clone3_eperm(struct rc_seccomp_prog *p)
{
        load(p);
        return check(fails_with(syscall(SYS_clone3, NULL, 0), EPERM), "clone3 not EPERM (errno %d)", errno)
                       ? 0
                       : 1;
}

Test(seccomp_compile, clone3_named_by_the_profile_is_left_alone)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"syscalls\": "
                   "[{" MINIMAL_ALLOW
                   "}, {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}",
                   &p);
        expect_exit0(body_clone3_eperm, &p);
        rc_seccomp_prog_clear(&p);
}

static int body_clone3_reaches_kernel(struct rc_seccomp_prog *p)
{
        load(p);
        /* a size of 0 is below CLONE_ARGS_SIZE_VER0: the kernel says EINVAL */
        return check(fails_with(syscall(SYS_clone3, NULL, 0), EINVAL), "clone3 errno %d", errno) ? 0 : 1;
}

Test(seccomp_compile, clone3_untouched_when_default_allows)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        expect_exit0(body_clone3_reaches_kernel, &p);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_compile, architectures_are_checked_by_the_filter)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        uint32_t native = seccomp_arch_native();

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        cr_assert(has_k(&p, native), "native arch %#x not checked", native);
        cr_assert_not(has_k(&p, AUDIT_ARCH_I386));
        rc_seccomp_prog_clear(&p);
        if (native != SCMP_ARCH_X86_64)
                return; /* the listed pair below is x86's */
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
                   "\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"syscalls\": [{\"names\": [\"getppid\", "
                   "\"socketcall\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        cr_assert(has_k(&p, AUDIT_ARCH_I386), "x86 not checked");
        cr_assert(has_k(&p, AUDIT_ARCH_X86_64));
        expect_exit0(body_errno_eperm, &p);
        rc_seccomp_prog_clear(&p);
}

/* Every architecture name the parser accepts is one libseccomp can build a filter for. */
Test(seccomp_compile, every_known_architecture_compiles)
{
        for (const char *const *a = oci_seccomp_arch_names; *a != NULL; a++) {
                struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
                _cleanup_free_ char *json = NULL;

                cr_assert_geq(
                        asprintf(&json,
                                 "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"%s\"], "
                                 "\"syscalls\": [{\"names\": [\"read\", \"write\", \"socketcall\"], "
                                 "\"action\": \"SCMP_ACT_ALLOW\"}]}",
                                 *a),
                        0);
                compile_only(json, &p);
                rc_seccomp_prog_clear(&p);
        }
        /* on a little-endian host a big-endian architecture cannot join the filter */
        if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
                struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

                compile_only(
                        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_S390X\"]}",
                        &p);
                cr_assert_not_null(strstr(log_buf, "\"SCMP_ARCH_S390X\" cannot share a filter"), "log: %s",
                                   log_buf);
                rc_seccomp_prog_clear(&p);
        }
}

static int body_flags(struct rc_seccomp_prog *p)
{
        load(p);
        return check(fails_with(syscall(SYS_getppid), EPERM), "getppid not EPERM") ? 0 : 1;
}

Test(seccomp_compile, flags_reach_the_kernel)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\", "
                   "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_TSYNC\"], \"syscalls\": "
                   "[{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                   &p);
        cr_assert_eq(p.flags,
                     SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC);
        expect_exit0(body_flags, &p);
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_compile, listener_drops_tsync)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        require_seccomp();
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/a.sock\", \"flags\": "
                   "[\"SECCOMP_FILTER_FLAG_TSYNC\"], \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": "
                   "\"SCMP_ACT_NOTIFY\"}]}",
                   &p);
        cr_assert_eq(p.flags, SECCOMP_FILTER_FLAG_NEW_LISTENER);
        cr_assert_eq(p.agent_fd, -1, "compile must not connect");
        rc_seccomp_prog_clear(&p);
}

Test(seccomp_compile, bad_profiles_are_refused)
{
        compile_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/a.sock\", \"syscalls\": "
                      "[{\"names\": [\"sendmsg\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                      "cannot be used for \"sendmsg\"");
        compile_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
                      "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}",
                      "requires an SCMP_ACT_NOTIFY rule");
        compile_fails("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}",
                      "errnoRet 5000 out of range");
        compile_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
                      "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 70000}]}",
                      "syscalls[0]: seccomp errnoRet 70000 out of range");
}

/* Also refused by the parser; the compiler must not rely on it. */
Test(seccomp_compile, notify_without_listener_or_as_default)
{
        struct oci_config *c =
                parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": "
                              "\"/a.sock\", \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": "
                              "\"SCMP_ACT_NOTIFY\"}]}");
        struct oci_seccomp *sc = &c->linux_.seccomp;
        char *path = sc->listener_path;

        sc->listener_path = NULL;
        compile_struct_fails(sc, "requires listenerPath");
        sc->listener_path = path;
        sc->default_action = OCI_SECCOMP_NOTIFY;
        compile_struct_fails(sc, "defaultAction SCMP_ACT_NOTIFY is not supported");
        oci_config_free(c);
}

Test(seccomp_compile, absent_section_means_no_filter)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        struct oci_seccomp none = {0};
        rc_error_t err = NULL;

        cr_assert_eq(rc_seccomp_prepare(&none, NULL, &test_log, &p, &err), 0);
        cr_assert_null(p.insns);
        cr_assert_eq(rc_seccomp_load(&p, NULL, 0, &err), 0);
        cr_assert_eq(rc_seccomp_load(NULL, NULL, 0, &err), 0);
}

Test(seccomp_compile, prepare_reports_an_unreachable_agent)
{
        struct oci_config *c = parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": "
                                             "\"/nonexistent/rc-agent.sock\", \"syscalls\": [{\"names\": "
                                             "[\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        rc_error_t err = NULL;

        require_seccomp();
        cr_assert_lt(rc_seccomp_prepare(&c->linux_.seccomp, NULL, &test_log, &p, &err), 0);
        cr_assert_not_null(strstr(err->msg, "connect to seccomp listener `/nonexistent/rc-agent.sock`"),
                           "%s", err->msg);
        cr_assert_null(p.insns);
        rc_error_free(&err);
        oci_config_free(c);
}

/* ---- the default profile of `run-container spec` -------------------------------------------- */

static void compile_default(bool rootless, struct rc_seccomp_prog *p)
{
        struct oci_config *c = NULL;
        rc_error_t err = NULL;

        require_seccomp();
        c = parse_default_spec(rootless);
        cr_assert(c->linux_.seccomp.present);
        log_buf[0] = '\0';
        cr_assert_eq(rc_seccomp_compile(&c->linux_.seccomp, &test_log, p, &err), 0, "%s",
                     err ? err->msg : "");
        oci_config_free(c);
}

static int body_default_profile(struct rc_seccomp_prog *p)
{
        int status = 0;
        long pid;

        load(p);
        /* everyday syscalls work */
        if (!check(syscall(SYS_getpid) > 0, "getpid") ||
            !check(syscall(SYS_personality, 0xffffffffUL) >= 0, "query personality"))
                return 1;
        pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* what fork() does */
        if (pid == 0)
                _exit(0);
        if (!check(pid > 0, "clone(SIGCHLD) errno %d", errno) ||
            !check(waitpid((pid_t)pid, &status, 0) == pid, "wait"))
                return 1;
        if (!check(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0) >= 0, "socket(AF_UNIX) errno %d", errno))
                return 1;
        /* and the dangerous ones are refused */
        if (!check(fails_with(syscall(SYS_unshare, 0), EPERM), "unshare(0) allowed") ||
            !check(fails_with(syscall(SYS_unshare, CLONE_NEWUSER), EPERM),
                   "unshare(CLONE_NEWUSER) allowed") ||
            !check(fails_with(syscall(SYS_setns, 0, 0), EPERM), "setns allowed") ||
            !check(fails_with(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM),
                   "clone(CLONE_NEWUSER) allowed") ||
            !check(fails_with(syscall(SYS_clone3, NULL, 0), ENOSYS), "clone3 not ENOSYS") ||
            !check(fails_with(syscall(SYS_keyctl, 0, -3, 0, 0, 0), EPERM), "keyctl allowed") ||
            !check(fails_with(syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM), "add_key allowed") ||
            !check(fails_with(syscall(SYS_personality, PER_BSD), EPERM), "personality(PER_BSD) allowed") ||
            !check(fails_with(syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0), EPERM), "AF_VSOCK allowed") ||
            !check(fails_with(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL), EPERM), "mount allowed") ||
            !check(fails_with(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM), "kexec_load allowed") ||
            !check(fails_with(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM),
                   "open_by_handle_at allowed") ||
            !check(fails_with(syscall(SYS_bpf, 0, NULL, 0), EPERM), "bpf allowed") ||
            !check(fails_with(syscall(SYS_userfaultfd, 0), EPERM), "userfaultfd allowed") ||
            !check(fails_with(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM),
                   "perf_event_open allowed") ||
            !check(fails_with(syscall(SYS_io_uring_setup, 1, NULL), EPERM), "io_uring_setup allowed"))
                return 1;
        return 0;
}

Test(seccomp_default_profile, allows_the_ordinary_blocks_the_dangerous)
{
        for (int rootless = 0; rootless <= 1; rootless++) {
                struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

                compile_default(rootless, &p);
                cr_assert_eq(p.flags, 0);
                expect_exit0(body_default_profile, &p);
                rc_seccomp_prog_clear(&p);
        }
}

static int body_unfiltered_controls(struct rc_seccomp_prog *p)
{
        /* without the filter these do not fail with EPERM, so EPERM above is the filter's */
        if (!check(syscall(SYS_unshare, 0) == 0, "unshare(0) failed unfiltered: %d", errno) ||
            !check(syscall(SYS_personality, 0xffffffffUL) >= 0, "personality query failed"))
                return 1;
        errno = 0;
        syscall(SYS_keyctl, 0, -3, 0, 0, 0); /* KEYCTL_GET_KEYRING_ID of the session keyring */
        return check(errno != EPERM, "keyctl fails with EPERM unfiltered") ? 0 : 1;
}

Test(seccomp_default_profile, controls_without_the_filter)
{
        expect_exit0(body_unfiltered_controls, NULL);
}

/* ---- rc_seccomp_allows_init_tail: which filters load before `start` ---------------- */

static bool tail_allowed(const char *seccomp_json)
{
        struct oci_config *c = parse_seccomp(seccomp_json);
        bool r = rc_seccomp_allows_init_tail(&c->linux_.seccomp);

        oci_config_free(c);
        return r;
}

Test(seccomp_init_tail, the_default_profile_allows_it)
{
        for (int rootless = 0; rootless <= 1; rootless++) {
                struct oci_config *c = parse_default_spec(rootless);

                cr_assert(rc_seccomp_allows_init_tail(&c->linux_.seccomp), "rootless %d", rootless);
                oci_config_free(c);
        }
}

Test(seccomp_init_tail, allow_by_default_with_unrelated_rules)
{
        cr_assert(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                               "[\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"));
        cr_assert(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}"));
}

Test(seccomp_init_tail, a_rule_against_the_init_keeps_it_late)
{
        /* refused outright, refused by a second rule after an allow, or only conditionally */
        cr_assert_not(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                   "[\"execve\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"));
        cr_assert_not(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                                   "{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                                   "{\"names\": [\"write\"], \"action\": \"SCMP_ACT_KILL\"}]}"));
        cr_assert_not(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
                                   "[\"prctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, "
                                   "\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
        cr_assert_not(tail_allowed("{\"defaultAction\": \"SCMP_ACT_LOG\"}"), "only ALLOW counts");
}

Test(seccomp_init_tail, an_allow_list_must_name_everything_the_init_uses)
{
        /* runtime/isolation/seccomp.c's init_tail: what remains after an early load */
        static const char *names[] = {
                "access",     "brk",    "chdir",   "close", "execve",   "exit_group", "faccessat",
                "faccessat2", "getcwd", "madvise", "mmap",  "mprotect", "munmap",     "newfstatat",
                "openat",     "prctl",  "sendmsg", "statx", "write",
        };
        size_t n = sizeof(names) / sizeof(names[0]);

        /* all of them: allowed; any one missing: not */
        for (size_t skip = 0; skip <= n; skip++) {
                _cleanup_free_ char *json = NULL;
                char list[1024] = "";
                for (size_t i = 0; i < n; i++) {
                        if (i == skip)
                                continue;
                        strcat(list, list[0] ? ",\"" : "\"");
                        strcat(list, names[i]);
                        strcat(list, "\"");
                }
                cr_assert_geq(
                        asprintf(&json,
                                 "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [%s,"
                                 "\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                                 list),
                        0);
                cr_assert_eq(tail_allowed(json), skip == n, "without %s", skip < n ? names[skip] : "(none)");
        }
}

Test(seccomp_init_tail, a_listener_keeps_it_late)
{
        cr_assert_not(tail_allowed("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": "
                                   "\"/run/agent.sock\", \"syscalls\": [{\"names\": [\"mkdir\"], "
                                   "\"action\": \"SCMP_ACT_NOTIFY\"}]}"));
}
