/* `run-container features`: the runtime-spec features document (features.md).
 *
 * Every list comes from the name tables the parser uses (specs/names.c), so the document
 * advertises exactly what config.json may contain. Only seccomp's "supportedFlags" looks
 * at the running kernel. */
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

#ifndef RC_VERSION
#define RC_VERSION "0.1.0"
#endif

#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define OCI_VERSION_MIN "1.0.0"

/* Does the kernel know this filter flag? With a NULL program the kernel validates the
 * flags first (EINVAL if unknown) and then fails to read the program (EFAULT): nothing
 * is installed either way. WAIT_KILLABLE_RECV is only valid with NEW_LISTENER. */
static bool seccomp_flag_supported(unsigned flag)
{
        unsigned long flags = flag;

        if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
                flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
#ifdef SYS_seccomp
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT)
                return true;
#endif
        return false;
}

static void gen_strv(json_gen *g, const char *key, const char *const *v)
{
        json_gen_string(g, key);
        json_gen_array_open(g);
        for (; *v != NULL; v++)
                json_gen_string(g, *v);
        json_gen_array_close(g);
}

static void gen_enabled(json_gen *g, const char *key, bool enabled)
{
        json_gen_string(g, key);
        json_gen_object_open(g);
        json_gen_kv_bool(g, "enabled", enabled);
        json_gen_object_close(g);
}

static void gen_seccomp(json_gen *g)
{
        json_gen_string(g, "seccomp");
        json_gen_object_open(g);
        json_gen_kv_bool(g, "enabled", true);
        gen_strv(g, "actions", oci_seccomp_action_names);
        gen_strv(g, "operators", oci_seccomp_op_names);
        gen_strv(g, "archs", oci_seccomp_arch_names);
        gen_strv(g, "knownFlags", oci_seccomp_flag_names);
        json_gen_string(g, "supportedFlags");
        json_gen_array_open(g);
        for (const char *const *f = oci_seccomp_flag_names; *f != NULL; f++) {
                unsigned bit = 0;

                if (oci_seccomp_flag_from_name(*f, &bit) == 0 && seccomp_flag_supported(bit))
                        json_gen_string(g, *f);
        }
        json_gen_array_close(g);
        json_gen_object_close(g);
}

static void gen_linux(json_gen *g)
{
        json_gen_string(g, "linux");
        json_gen_object_open(g);
        gen_strv(g, "namespaces", oci_ns_names);
        gen_strv(g, "capabilities", oci_cap_names);

        json_gen_string(g, "cgroup");
        json_gen_object_open(g);
        json_gen_kv_bool(g, "v1", false);
        json_gen_kv_bool(g, "v2", true);
        json_gen_kv_bool(g, "systemd", true);
        json_gen_kv_bool(g, "systemdUser", false);
        json_gen_kv_bool(g, "rdma", false);
        json_gen_object_close(g);

        gen_seccomp(g);
        gen_enabled(g, "apparmor", false);
        gen_enabled(g, "selinux", false);
        gen_enabled(g, "intelRdt", false);

        json_gen_string(g, "memoryPolicy");
        json_gen_object_open(g);
        gen_strv(g, "modes", oci_mempolicy_mode_names);
        gen_strv(g, "flags", oci_mempolicy_flag_names);
        json_gen_object_close(g);

        json_gen_string(g, "mountExtensions");
        json_gen_object_open(g);
        gen_enabled(g, "idmap", false);
        json_gen_object_close(g);
        json_gen_object_close(g);
}

/* The protections a user may rely on, each with the test that attacks it (issue 21's
 * hostile review): advertised as annotations, "<what>; test: <file>". A unit test checks
 * that every file named exists. */
static const struct {
        const char *key, *value;
} protections[] = {
        {"run-container.security.self-protection",
         "CVE-2019-5736: create, run, exec and sandbox re-execute from a read-only detached bind of "
         "their binary (a sealed memfd where open_tree is refused) and are non-dumpable; "
         "test: tests/integration/test_cve_2019_5736.py"},
        {"run-container.security.preserved-fds",
         "only the fds 3..3+N-1 the caller passed reach the container, none of the runtime's; "
         "test: tests/integration/test_preexec.py"},
        {"run-container.security.start-container-hooks",
         "startContainer hooks run with the process' user, capabilities, no_new_privs and filter; "
         "test: tests/integration/test_preexec.py"},
        {"run-container.security.new-session",
         "a container process without a terminal of its own gets a new session (no TIOCSTI into "
         "the caller's terminal); test: tests/integration/test_preexec.py"},
        {"run-container.security.init-lifetime",
         "an init dies with its creator until its pid is recorded; gc kills inits no state "
         "describes; test: tests/integration/test_crash_kill9.py"},
        {"run-container.security.state-integrity",
         "state files are read as regular files only, non-blocking, one size limit; a lost state "
         "never loses a live init; test: tests/integration/test_state_safety.py"},
        {"run-container.security.json-nul", "strings holding NUL are refused with their JSON path; test: "
                                            "tests/unit/data/invalid/string-nul-arg.json"},
        {"run-container.security.device-rules",
         "device rules no cgroup enforces are refused at create for nodes the container could open; "
         "test: tests/integration/test_devices_policy.py"},
        {"run-container.security.no-pivot",
         "--no-pivot detaches the host's procfs and sysfs before the chroot; "
         "test: tests/integration/test_no_pivot.py"},
};

const char *oci_features_protection_test(size_t i, const char **ret_key)
{
        const char *t;

        if (i >= sizeof(protections) / sizeof(protections[0]))
                return NULL;
        *ret_key = protections[i].key;
        t = strstr(protections[i].value, "test: ");
        return t != NULL ? t + 6 : "";
}

int oci_features(char **ret, size_t *ret_len, rc_error_t *err)
{
        json_gen *g = json_gen_new(true);
        int r;

        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersionMin", OCI_VERSION_MIN);
        json_gen_kv_string(g, "ociVersionMax", OCI_VERSION);
        gen_strv(g, "hooks", oci_hook_phase_names);
        gen_strv(g, "mountOptions", oci_mount_option_names);
        gen_linux(g);
        json_gen_string(g, "annotations");
        json_gen_object_open(g);
        json_gen_kv_string(g, "run-container.version", RC_VERSION);
        for (size_t i = 0; i < sizeof(protections) / sizeof(protections[0]); i++)
                json_gen_kv_string(g, protections[i].key, protections[i].value);
        json_gen_object_close(g);
        json_gen_object_close(g);

        r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        if (r < 0)
                return rc_error_wrap(err, "features document");
        return 0;
}
