/* `spec` and `features` documents: valid JSON with the expected content. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

static json_node *default_spec(bool rootless)
{
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(oci_default_spec(rootless, &doc, &len, &err), 0, "%s", err ? err->msg : "");
        cr_assert_gt(len, 0);
        cr_assert_eq(doc[len - 1], '\n');
        cr_assert_eq(json_parse(doc, len, "config.json", &root, &err), 0, "%s", err ? err->msg : "");
        return root;
}

static json_node *path(json_node *n, const char *a, const char *b)
{
        n = json_object_get(n, a);
        return b != NULL ? json_object_get(n, b) : n;
}

static bool strv_has(const json_node *arr, const char *s)
{
        for (size_t i = 0; i < json_array_size(arr); i++) {
                const char *v = json_get_string(json_array_get(arr, i));

                if (v != NULL && strcmp(v, s) == 0)
                        return true;
        }
        return false;
}

static bool has_namespace(json_node *root, const char *type)
{
        json_node *ns = path(root, "linux", "namespaces");

        for (size_t i = 0; i < json_array_size(ns); i++) {
                if (strcmp(json_get_string(json_object_get(json_array_get(ns, i), "type")), type) == 0)
                        return true;
        }
        return false;
}

static json_node *mount_at(json_node *root, const char *dest)
{
        json_node *mounts = json_object_get(root, "mounts");

        for (size_t i = 0; i < json_array_size(mounts); i++) {
                json_node *m = json_array_get(mounts, i);

                if (strcmp(json_get_string(json_object_get(m, "destination")), dest) == 0)
                        return m;
        }
        return NULL;
}

Test(default_spec, expected_fields)
{
        json_node *root = default_spec(false);
        json_node *proc = json_object_get(root, "process");
        uint64_t v = 99;

        cr_assert_str_eq(json_get_string(json_object_get(root, "ociVersion")), OCI_VERSION);
        cr_assert(json_get_bool(json_object_get(proc, "terminal")));
        cr_assert_eq(json_get_u64(path(proc, "user", "uid"), &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_str_eq(json_get_string(json_array_get(json_object_get(proc, "args"), 0)), "sh");
        cr_assert(strv_has(json_object_get(proc, "env"), "TERM=xterm"));
        cr_assert_str_eq(json_get_string(json_object_get(proc, "cwd")), "/");
        cr_assert(strv_has(path(proc, "capabilities", "bounding"), "CAP_NET_BIND_SERVICE"));
        cr_assert_eq(json_array_size(path(proc, "capabilities", "effective")), 11);
        cr_assert(strv_has(path(proc, "capabilities", "permitted"), "CAP_SYS_CHROOT"));
        cr_assert_not(strv_has(path(proc, "capabilities", "bounding"), "CAP_AUDIT_WRITE"));
        cr_assert_not(strv_has(path(proc, "capabilities", "bounding"), "CAP_SYS_ADMIN"));
        cr_assert_str_eq(json_get_string(json_object_get(json_array_get(json_object_get(proc, "rlimits"), 0),
                                                         "type")),
                         "RLIMIT_NOFILE");
        cr_assert(json_get_bool(json_object_get(proc, "noNewPrivileges")));
        cr_assert_str_eq(json_get_string(path(root, "root", "path")), "rootfs");
        cr_assert(json_get_bool(path(root, "root", "readonly")));
        cr_assert_str_eq(json_get_string(json_object_get(root, "hostname")), "run-container");

        cr_assert_eq(json_array_size(json_object_get(root, "mounts")), 7);
        cr_assert_str_eq(json_get_string(json_object_get(mount_at(root, "/sys"), "type")), "sysfs");
        cr_assert_str_eq(json_get_string(json_object_get(mount_at(root, "/sys/fs/cgroup"), "type")),
                         "cgroup");
        cr_assert(strv_has(json_object_get(mount_at(root, "/dev/pts"), "options"), "gid=5"));

        for (const char *const *ns =
                     (const char *const[]){"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};
             *ns; ns++)
                cr_assert(has_namespace(root, *ns), "no %s namespace", *ns);
        cr_assert_not(has_namespace(root, "user"));
        cr_assert_null(path(root, "linux", "uidMappings"));
        cr_assert(strv_has(path(root, "linux", "maskedPaths"), "/proc/kcore"));
        cr_assert(strv_has(path(root, "linux", "readonlyPaths"), "/proc/sysrq-trigger"));
        json_free(root);
}

/* The seccomp profile: an allow-list answering EPERM, without the syscalls it refuses. */
Test(default_spec, seccomp_profile)
{
        for (int rootless = 0; rootless <= 1; rootless++) {
                json_node *root = default_spec(rootless);
                json_node *sc = path(root, "linux", "seccomp");
                json_node *allow =
                        json_object_get(json_array_get(json_object_get(sc, "syscalls"), 0), "names");
                uint64_t v = 0;

                cr_assert_str_eq(json_get_string(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
                cr_assert_eq(json_get_u64(json_object_get(sc, "defaultErrnoRet"), &v), 0);
                cr_assert_eq(v, 1);
                cr_assert_gt(json_array_size(allow), 250);
                for (const char *const *n =
                             (const char *const[]){"read", "execve", "exit_group", "wait4", NULL};
                     *n; n++)
                        cr_assert(strv_has(allow, *n), "%s not allowed", *n);
                for (const char *const *n = (const char *const[]){"kexec_load",
                                                                  "open_by_handle_at",
                                                                  "init_module",
                                                                  "mount",
                                                                  "umount2",
                                                                  "pivot_root",
                                                                  "keyctl",
                                                                  "add_key",
                                                                  "bpf",
                                                                  "perf_event_open",
                                                                  "userfaultfd",
                                                                  "unshare",
                                                                  "setns",
                                                                  "reboot",
                                                                  "swapon",
                                                                  "acct",
                                                                  "settimeofday",
                                                                  "clock_settime",
                                                                  "personality",
                                                                  "clone",
                                                                  "clone3",
                                                                  "socket",
                                                                  "io_uring_setup",
                                                                  NULL};
                     *n; n++)
                        cr_assert_not(strv_has(allow, *n), "%s allowed unconditionally", *n);
                json_free(root);
        }
}

Test(default_spec, rootless_variant)
{
        json_node *root = default_spec(true);
        json_node *uid_map, *sys;
        uint64_t v = 0;

        cr_assert(has_namespace(root, "user"));
        cr_assert_not(has_namespace(root, "network"));
        cr_assert(has_namespace(root, "pid"));

        uid_map = json_array_get(path(root, "linux", "uidMappings"), 0);
        cr_assert_eq(json_get_u64(json_object_get(uid_map, "hostID"), &v), 0);
        cr_assert_eq(v, geteuid());
        cr_assert_eq(json_get_u64(json_object_get(uid_map, "containerID"), &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(json_get_u64(json_object_get(uid_map, "size"), &v), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(json_get_u64(json_object_get(json_array_get(path(root, "linux", "gidMappings"), 0),
                                                  "hostID"),
                                  &v),
                     0);
        cr_assert_eq(v, getegid());

        sys = mount_at(root, "/sys");
        cr_assert_str_eq(json_get_string(json_object_get(sys, "source")), "/sys");
        cr_assert(strv_has(json_object_get(sys, "options"), "rbind"));
        cr_assert(strv_has(json_object_get(sys, "options"), "ro"));
        cr_assert_not(strv_has(json_object_get(mount_at(root, "/dev/pts"), "options"), "gid=5"));
        cr_assert_null(path(root, "linux", "resources"));
        json_free(root);
}

static json_node *features(void)
{
        _cleanup_free_ char *doc = NULL;
        json_node *root = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(oci_features(&doc, &len, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(json_parse(doc, len, "features", &root, &err), 0, "%s", err ? err->msg : "");
        return root;
}

Test(features, document)
{
        json_node *root = features();
        json_node *lx = json_object_get(root, "linux");
        json_node *sc = json_object_get(lx, "seccomp");

        cr_assert_str_eq(json_get_string(json_object_get(root, "ociVersionMin")), "1.0.0");
        cr_assert_str_eq(json_get_string(json_object_get(root, "ociVersionMax")), "1.2.0");
        cr_assert_eq(json_array_size(json_object_get(root, "hooks")), 6);
        cr_assert(strv_has(json_object_get(root, "hooks"), "createContainer"));
        cr_assert(strv_has(json_object_get(root, "mountOptions"), "rbind"));
        cr_assert(strv_has(json_object_get(root, "mountOptions"), "rnosymfollow"));
        cr_assert_not(strv_has(json_object_get(root, "mountOptions"), "idmap"));
        cr_assert(strv_has(json_object_get(root, "mountOptions"), "tmpcopyup"));
        cr_assert(strv_has(json_object_get(root, "mountOptions"), "copy-symlink"));
        cr_assert_eq(json_array_size(path(lx, "memoryPolicy", "modes")), 7);
        cr_assert(strv_has(path(lx, "memoryPolicy", "modes"), "MPOL_WEIGHTED_INTERLEAVE"));
        cr_assert(strv_has(path(lx, "memoryPolicy", "flags"), "MPOL_F_STATIC_NODES"));
        cr_assert_eq(json_array_size(json_object_get(lx, "namespaces")), OCI_NS_COUNT);
        cr_assert_eq(json_array_size(json_object_get(lx, "capabilities")), OCI_CAP_LAST + 1);
        cr_assert(json_get_bool(path(lx, "cgroup", "v2")));
        cr_assert_not(json_get_bool(path(lx, "cgroup", "v1")));
        cr_assert(json_get_bool(json_object_get(sc, "enabled")));
        cr_assert(strv_has(json_object_get(sc, "actions"), "SCMP_ACT_NOTIFY"));
        cr_assert(strv_has(json_object_get(sc, "operators"), "SCMP_CMP_MASKED_EQ"));
        cr_assert(strv_has(json_object_get(sc, "archs"), "SCMP_ARCH_X86_64"));
        cr_assert_eq(json_array_size(json_object_get(sc, "knownFlags")), 4);
        cr_assert_leq(json_array_size(json_object_get(sc, "supportedFlags")), 4);
        cr_assert_not(json_get_bool(path(lx, "apparmor", "enabled")));
        cr_assert_not(json_get_bool(path(lx, "selinux", "enabled")));
        cr_assert_not(json_get_bool(path(lx, "intelRdt", "enabled")));
        cr_assert_not(json_get_bool(json_object_get(path(lx, "mountExtensions", "idmap"), "enabled")));
        cr_assert_not_null(json_get_string(path(root, "annotations", "run-container.version")));
        json_free(root);
}

/* Everything advertised is accepted by the name tables the parser uses. */
Test(features, advertises_only_known_names)
{
        json_node *root = features();
        json_node *lx = json_object_get(root, "linux");
        json_node *sc = json_object_get(lx, "seccomp");
        json_node *arr;

        arr = json_object_get(root, "mountOptions");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                struct oci_mount m = {0};

                cr_assert_eq(oci_mount_option_apply(json_get_string(json_array_get(arr, i)), &m), 1);
        }
        arr = json_object_get(lx, "namespaces");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                enum oci_ns_type t;

                cr_assert_eq(oci_ns_from_name(json_get_string(json_array_get(arr, i)), &t), 0);
        }
        arr = json_object_get(lx, "capabilities");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                int cap;

                cr_assert_eq(oci_cap_from_name(json_get_string(json_array_get(arr, i)), &cap), 0);
                cr_assert_eq(cap, (int)i);
        }
        arr = json_object_get(sc, "actions");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                enum oci_seccomp_action a;

                cr_assert_eq(oci_seccomp_action_from_name(json_get_string(json_array_get(arr, i)), &a), 0);
        }
        arr = json_object_get(sc, "supportedFlags");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                unsigned bit;

                cr_assert_eq(oci_seccomp_flag_from_name(json_get_string(json_array_get(arr, i)), &bit), 0);
        }
        arr = json_object_get(sc, "archs");
        for (size_t i = 0; i < json_array_size(arr); i++)
                cr_assert(oci_seccomp_arch_known(json_get_string(json_array_get(arr, i))));
        json_free(root);
}

/* Our own parser (and its validation) accepts both variants. */
Test(default_spec, accepted_by_parser)
{
        for (int rootless = 0; rootless <= 1; rootless++) {
                _cleanup_free_ char *doc = NULL;
                struct oci_config *c = NULL;
                rc_error_t err = NULL;
                size_t len = 0;
                bool has_user = false;

                cr_assert_eq(oci_default_spec(rootless, &doc, &len, &err), 0);
                cr_assert_eq(oci_config_parse(doc, len, "config.json", &c, &err), 0, "rootless=%d: %s",
                             rootless, err ? err->msg : "");
                cr_assert_eq(c->n_mounts, 7);
                cr_assert_eq(c->linux_.n_namespaces, 6);
                for (size_t i = 0; i < c->linux_.n_namespaces; i++)
                        has_user |= c->linux_.namespaces[i].type == OCI_NS_USER;
                cr_assert_eq(has_user, rootless);
                for (size_t i = 0; i < c->n_mounts; i++) {
                        if (strcmp(c->mounts[i].destination, "/sys") == 0)
                                cr_assert_eq(c->mounts[i].is_bind, rootless);
                }
                oci_config_free(c);
        }
}

/* Every protection the features document advertises names a test that exists, and is
 * in the document. */
Test(features, protections_name_their_tests)
{
        json_node *root = features();
        json_node *ann = json_object_get(root, "annotations");
        const char *key = NULL, *test;
        size_t n = 0;

        for (size_t i = 0; (test = oci_features_protection_test(i, &key)) != NULL; i++, n++) {
                char path[4096];

                cr_assert_not_null(json_get_string(json_object_get(ann, key)), "%s missing", key);
                cr_assert_neq(test[0], '\0', "%s names no test", key);
                snprintf(path, sizeof(path), "%s/../../../%s", TEST_DATA_DIR, test);
                cr_assert_eq(access(path, R_OK), 0, "%s: %s: %s", key, path, strerror(errno));
        }
        cr_assert_geq(n, 9);
        json_free(root);
}
