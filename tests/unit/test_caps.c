/* Unit tests for runtime/isolation/caps.c. Changing capabilities needs root; each such test runs
 * in a forked child and skips politely when not root. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/caps.h"
#include "runtime/isolation/process.h"
#include "tests/unit/child.h"

#define BIT(c) (UINT64_C(1) << (c))

static void require_root_caps(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root: changes the capability sets and uid");
        if (!CAP_IS_SUPPORTED(CAP_SETPCAP) || prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1)
                cr_skip_test("needs root with CAP_SETPCAP in the bounding set");
}

/* Read one set of the running process as a 64-bit mask. */
static uint64_t proc_mask(cap_t caps, cap_flag_t flag)
{
        uint64_t mask = 0;

        for (int c = 0; c < cap_max_bits() && c < 64; c++) {
                cap_flag_value_t v = CAP_CLEAR;

                if (cap_get_flag(caps, (cap_value_t)c, flag, &v) == 0 && v == CAP_SET)
                        mask |= BIT(c);
        }
        return mask;
}

static uint64_t bounding_mask(void)
{
        uint64_t mask = 0;

        for (int c = 0; c < cap_max_bits() && c < 64; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        mask |= BIT(c);
        return mask;
}

static uint64_t ambient_mask(void)
{
        uint64_t mask = 0;

        for (int c = 0; c < cap_max_bits() && c < 64; c++)
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
                        mask |= BIT(c);
        return mask;
}

static const uint64_t SET = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);

static const char *check_sets(char *buf, size_t size, uint64_t want_eff, uint64_t want_amb)
{
        cap_t caps = cap_get_proc();
        uint64_t eff, perm, inh, bnd = bounding_mask(), amb = ambient_mask();

        if (caps == NULL)
                return "cap_get_proc";
        eff = proc_mask(caps, CAP_EFFECTIVE);
        perm = proc_mask(caps, CAP_PERMITTED);
        inh = proc_mask(caps, CAP_INHERITABLE);
        cap_free(caps);
        if (eff != want_eff || perm != SET || inh != SET || bnd != SET || amb != want_amb) {
                snprintf(buf, size,
                         "eff %#" PRIx64 " perm %#" PRIx64 " inh %#" PRIx64 " bnd %#" PRIx64
                         " amb %#" PRIx64,
                         eff, perm, inh, bnd, amb);
                return buf;
        }
        return NULL;
}

/* The init's order: prepare, switch user, apply. */
static const char *child_caps(void *arg, char *buf, size_t size)
{
        uid_t uid = (uid_t)(uintptr_t)arg;
        struct oci_capabilities c = {.present = true,
                                     .bounding = SET,
                                     .effective = SET,
                                     .permitted = SET,
                                     .inheritable = SET,
                                     .ambient = BIT(CAP_NET_BIND_SERVICE)};
        struct oci_process p = {.user = {.uid = uid, .gid = uid}};
        rc_error_t err = NULL;

        if (rc_caps_prepare(&c, uid, &err) < 0)
                return fail_with(buf, size, "prepare", &err);
        /* KEEPCAPS only for the switch that would clear the permitted set */
        if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != (uid != 0))
                return uid != 0 ? "KEEPCAPS not set before a switch to a non-zero uid"
                                : "KEEPCAPS set for a switch to uid 0";
        if (rc_process_set_user(&p, &err) < 0)
                return fail_with(buf, size, "set_user", &err);
        if (rc_caps_apply(&c, &err) < 0)
                return fail_with(buf, size, "apply", &err);
        if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
                return "KEEPCAPS still set";
        return check_sets(buf, size, SET, BIT(CAP_NET_BIND_SERVICE));
}

Test(caps, prepare_apply_as_root)
{
        require_root_caps();
        run_in_child(child_caps, (void *)(uintptr_t)0);
}

Test(caps, prepare_apply_as_non_root_user)
{
        require_root_caps();
        run_in_child(child_caps, (void *)(uintptr_t)1000);
}

/* After exec, a non-root user keeps exactly its ambient caps (in permitted and
 * effective). /bin/cat prints its own /proc/self/status. */
static const char *child_caps_exec(void *arg, char *buf, size_t size)
{
        struct oci_capabilities c = {.present = true,
                                     .bounding = SET,
                                     .effective = SET,
                                     .permitted = SET,
                                     .inheritable = SET,
                                     .ambient = BIT(CAP_NET_BIND_SERVICE)};
        struct oci_process p = {.user = {.uid = 1000, .gid = 1000}};
        char *args[] = {"cat", "/proc/self/status", NULL};
        rc_error_t err = NULL;
        int out = (int)(intptr_t)arg;

        p.args = args;
        if (rc_caps_prepare(&c, p.user.uid, &err) < 0 || rc_process_set_user(&p, &err) < 0 ||
            rc_caps_apply(&c, &err) < 0)
                return fail_with(buf, size, "setup", &err);
        if (dup2(out, 1) < 0)
                return "dup2";
        rc_process_exec("/bin/cat", p.args, p.env, &err);
        return fail_with(buf, size, "exec", &err);
}

static uint64_t status_field(const char *status, const char *name)
{
        const char *line = strstr(status, name);

        cr_assert_not_null(line, "%s missing in:\n%s", name, status);
        return strtoull(line + strlen(name), NULL, 16);
}

Test(caps, non_root_keeps_ambient_after_exec)
{
        char status[8192];
        size_t len = 0;
        int pfd[2];
        ssize_t n;

        require_root_caps();
        if (access("/bin/cat", X_OK) != 0)
                cr_skip_test("no /bin/cat to exec");
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        /* run_in_child reports setup errors; the exec'ed cat writes to pfd[1] */
        run_in_child(child_caps_exec, (void *)(intptr_t)pfd[1]);
        close(pfd[1]);
        while (len < sizeof(status) - 1 && (n = read(pfd[0], status + len, sizeof(status) - 1 - len)) > 0)
                len += (size_t)n;
        close(pfd[0]);
        status[len] = '\0';
        cr_assert_eq(status_field(status, "CapAmb:"), BIT(CAP_NET_BIND_SERVICE));
        cr_assert_eq(status_field(status, "CapPrm:"), BIT(CAP_NET_BIND_SERVICE));
        cr_assert_eq(status_field(status, "CapEff:"), BIT(CAP_NET_BIND_SERVICE));
        cr_assert_eq(status_field(status, "CapInh:"), SET);
        cr_assert_eq(status_field(status, "CapBnd:"), SET);
}

static const char *child_unknown_caps(void *arg, char *buf, size_t size)
{
        /* bit 63 is no capability any kernel knows yet: ignored, as runc does */
        struct oci_capabilities c = {.present = true,
                                     .bounding = SET | BIT(63),
                                     .effective = SET | BIT(63),
                                     .permitted = SET | BIT(63),
                                     .inheritable = SET | BIT(63),
                                     .ambient = 0};
        rc_error_t err = NULL;

        if (rc_caps_prepare(&c, 0, &err) < 0 || rc_caps_apply(&c, &err) < 0)
                return fail_with(buf, size, "caps", &err);
        return check_sets(buf, size, SET, 0);
}

Test(caps, unknown_caps_ignored)
{
        require_root_caps();
        if (cap_max_bits() >= 64)
                cr_skip_test("kernel knows 64 capabilities");
        run_in_child(child_unknown_caps, NULL);
}

static void collect(void *data, enum rc_log_level level, const char *msg)
{
        char *buf = data;

        if (level == RC_LOG_WARNING)
                snprintf(buf, 256, "%s", msg);
}

Test(caps, ambient_that_cannot_be_raised_is_skipped_with_a_warning)
{
        /* `runc spec`: the same caps in ambient and permitted, none inheritable */
        struct oci_capabilities c = {.present = true,
                                     .effective = BIT(CAP_KILL),
                                     .permitted = BIT(CAP_KILL) | BIT(CAP_CHOWN),
                                     .inheritable = BIT(CAP_CHOWN),
                                     .ambient = BIT(CAP_KILL) | BIT(CAP_CHOWN)};
        char warning[256] = "";
        struct rc_logger log = {.fn = collect, .data = warning, .max_level = RC_LOG_WARNING};
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_caps_sets s;

        cr_assert_eq(rc_caps_plan(&c, &log, &s, &err), 0);
        cr_assert_eq(s.ambient, BIT(CAP_CHOWN));
        cr_assert_eq(s.inheritable, BIT(CAP_CHOWN));
        cr_assert_str_eq(warning,
                         "ambient capability `CAP_KILL` is skipped: it is not in both the permitted "
                         "and the inheritable sets");
}

Test(caps, effective_outside_permitted_is_refused)
{
        struct oci_capabilities c = {.present = true, .effective = BIT(CAP_KILL)};
        _cleanup_error_ rc_error_t err = NULL;
        struct rc_caps_sets s;

        cr_assert_lt(rc_caps_plan(&c, NULL, &s, &err), 0);
        cr_assert_str_eq(err->msg, "effective capability `CAP_KILL` is not in the permitted set");
}

Test(caps, absent_is_noop)
{
        struct oci_capabilities c = {.present = false, .bounding = 0};
        _cleanup_error_ rc_error_t err = NULL;
        uint64_t before = bounding_mask();

        cr_assert_eq(rc_caps_prepare(&c, 0, &err), 0);
        cr_assert_eq(rc_caps_apply(&c, &err), 0);
        cr_assert_eq(bounding_mask(), before);
        cr_assert_null(err);
}

static const char *child_no_new_privs(void *arg, char *buf, size_t size)
{
        rc_error_t err = NULL;

        if (rc_set_no_new_privs(&err) < 0)
                return fail_with(buf, size, "no_new_privs", &err);
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return "no_new_privs not set";
        return NULL;
}

Test(caps, no_new_privs)
{
        run_in_child(child_no_new_privs, NULL);
}
