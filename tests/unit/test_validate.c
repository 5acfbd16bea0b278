/* specs/validate.c: cross-field checks, on parsed documents and on hand-built structs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"

/* Parse `linux_body` as the .linux object of an otherwise valid config; return the
 * error message (malloc'ed) or NULL if it is valid. */
static char *try_linux(const char *linux_body, const char *extra_top)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *doc = NULL;
        struct oci_config *c = NULL;

        cr_assert_geq(asprintf(&doc, "{\"ociVersion\": \"1.2.0\"%s, \"linux\": {%s}}",
                               extra_top ? extra_top : "", linux_body),
                      0);
        if (oci_config_parse(doc, strlen(doc), "config.json", &c, &err) == 0) {
                oci_config_free(c);
                return NULL;
        }
        return strdup(err->msg);
}

#define assert_valid(linux_body, top)                                                                       \
        do {                                                                                                \
                _cleanup_free_ char *_m = try_linux(linux_body, top);                                       \
                cr_assert_null(_m, "unexpected error: %s", _m);                                             \
        } while (0)

#define assert_invalid(linux_body, top, expected)                                                           \
        do {                                                                                                \
                _cleanup_free_ char *_m = try_linux(linux_body, top);                                       \
                cr_assert_not_null(_m, "accepted: %s", linux_body);                                         \
                cr_assert(strstr(_m, expected) != NULL, "got \"%s\", expected \"%s\"", _m, expected);       \
        } while (0)

/* ---- sysctl ------------------------------------------------------------------------------ */

/* Parameters are copied to each test process (which may sit at another address, PIE):
 * inline arrays, no pointers. */
struct sysctl_case {
        char key[48];
        char namespaces[64]; /* JSON array body */
        char expected[48]; /* "": valid */
};

ParameterizedTestParameters(sysctl, rules)
{
        static struct sysctl_case cases[] = {
                {"net.ipv4.ip_forward", "{\"type\": \"network\"}", ""},
                {"net.ipv4.ip_forward", "{\"type\": \"network\", \"path\": \"/run/netns/x\"}", ""},
                {"net.ipv4.ip_forward", "{\"type\": \"ipc\"}", "requires a network namespace"},
                {"net/ipv4/conf/eth0.100/forwarding", "{\"type\": \"network\"}", ""},
                {"kernel.shmmax", "{\"type\": \"ipc\"}", ""},
                {"kernel.shm_rmid_forced", "{\"type\": \"ipc\"}", ""},
                {"kernel.msgmnb", "{\"type\": \"ipc\"}", ""},
                {"kernel.sem", "{\"type\": \"ipc\"}", ""},
                {"fs.mqueue.msg_max", "{\"type\": \"ipc\"}", ""},
                {"kernel.msgmax", "{\"type\": \"network\"}", "requires an ipc namespace"},
                {"kernel.semx", "{\"type\": \"ipc\"}", "not a namespaced sysctl"},
                {"kernel.hostname", "{\"type\": \"uts\"}", "conflicts with .hostname"},
                {"kernel/domainname", "{\"type\": \"uts\"}", ""},
                {"kernel.domainname", "{\"type\": \"pid\"}", "requires a uts namespace"},
                {"net..ipv4.ip_forward", "{\"type\": \"network\"}", "invalid sysctl name"},
                {"net/ipv4/../ip_forward", "{\"type\": \"network\"}", "invalid sysctl name"},
                {"net.ipv4.", "{\"type\": \"network\"}", "invalid sysctl name"},
                {"vm.overcommit_memory", "{\"type\": \"ipc\"}", "not a namespaced sysctl"},
                {"kernel.pid_max", "{\"type\": \"pid\"}", "not a namespaced sysctl"},
                {"network.x", "{\"type\": \"network\"}", "not a namespaced sysctl"},
                {"user.max_user_namespaces", "{\"type\": \"ipc\"}", "requires a user namespace"},
        };

        return cr_make_param_array(struct sysctl_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct sysctl_case *t, sysctl, rules)
{
        _cleanup_free_ char *body = NULL;

        cr_assert_geq(
                asprintf(&body, "\"namespaces\": [%s], \"sysctl\": {\"%s\": \"1\"}", t->namespaces, t->key),
                0);
        if (t->expected[0] == '\0')
                assert_valid(body, NULL);
        else
                assert_invalid(body, NULL, t->expected);
}

/* ---- namespaces, user and time ------------------------------------------------------------------ */

Test(namespaces, hostname_with_joined_uts_is_fine)
{
        assert_valid("\"namespaces\": [{\"type\": \"uts\", \"path\": \"/proc/1/ns/uts\"}]",
                     ", \"hostname\": \"h\"");
}

Test(namespaces, duplicate_even_when_joined)
{
        assert_invalid(
                "\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\", \"path\": \"/proc/1/ns/pid\"}]",
                NULL, ".linux.namespaces[1].type: duplicate namespace \"pid\"");
}

Test(namespaces, user_joined_without_mappings_is_fine)
{
        assert_valid("\"namespaces\": [{\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}]", NULL);
}

Test(namespaces, gid_mappings_alone_need_user_ns)
{
        assert_invalid("\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]", NULL,
                       ".linux.gidMappings: requires a user namespace");
}

Test(namespaces, too_many_mappings)
{
        char body[64 * 400] =
                "\"namespaces\": [{\"type\": \"user\"}], \"gidMappings\": [{\"containerID\": 0, "
                "\"hostID\": 1, \"size\": 1}], \"uidMappings\": [";
        size_t len = strlen(body);

        for (int i = 0; i < 341; i++)
                len += (size_t)snprintf(body + len, sizeof(body) - len,
                                        "%s{\"containerID\": %d, \"hostID\": %d, \"size\": 1}", i ? "," : "",
                                        i, i + 1000);
        snprintf(body + len, sizeof(body) - len, "]");
        assert_invalid(body, NULL, ".linux.uidMappings: 341 entries");
}

Test(namespaces, time_offsets_with_new_time_ns)
{
        assert_valid(
                "\"namespaces\": [{\"type\": \"time\"}], \"timeOffsets\": {\"boottime\": {\"secs\": -5}}",
                NULL);
}

/* ---- seccomp ------------------------------------------------------------------------------------ */

Test(seccomp, errno_ret_with_errno_and_trace)
{
        assert_valid(
                "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_TRACE\", \"defaultErrnoRet\": 3, \"syscalls\": "
                "[{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}",
                NULL);
}

Test(seccomp, arg_index_five_is_fine)
{
        assert_valid(
                "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], "
                "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 5, \"value\": 0, \"op\": "
                "\"SCMP_CMP_NE\"}]}]}",
                NULL);
}

Test(seccomp, empty_syscall_name)
{
        assert_invalid(
                "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\", "
                "\"\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                NULL, ".linux.seccomp.syscalls[0].names[1]: must not be empty");
}

/* ---- devices and paths -------------------------------------------------------------------------- */

Test(devices, nested_dev_path_is_fine)
{
        assert_valid("\"devices\": [{\"type\": \"c\", \"path\": \"/dev/net/tun\", \"major\": 10, \"minor\": "
                     "200}, "
                     "{\"type\": \"c\", \"path\": \"/dev/..foo\", \"major\": 1, \"minor\": 1}]",
                     NULL);
}

Test(devices, bare_dev_is_not_a_device)
{
        assert_invalid("\"devices\": [{\"type\": \"p\", \"path\": \"/dev/\"}]", NULL,
                       "is not a device path");
        assert_invalid("\"devices\": [{\"type\": \"p\", \"path\": \"//\"}]", NULL, "is not a device path");
        assert_invalid("\"devices\": [{\"type\": \"p\", \"path\": \"dev/x\"}]", NULL,
                       "is not a device path");
        /* anywhere else in the container, as runc and crun allow */
        assert_valid("\"devices\": [{\"type\": \"p\", \"path\": \"/devices/x\"}]", NULL);
}

Test(paths, readonly_paths_relative)
{
        assert_invalid("\"readonlyPaths\": [\"proc/sys\"]", NULL,
                       ".linux.readonlyPaths[0]: must be an absolute path");
}

/* ---- hand-built structs --------------------------------------------------------------------------- */

Test(handbuilt, minimal_is_valid)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config c;

        memset(&c, 0, sizeof(c));
        c.oci_version = (char *)"1.2.0";
        cr_assert_eq(oci_config_validate(&c, "x", &err), 0);
        cr_assert_null(err);
}

Test(handbuilt, missing_version_and_null_origin)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config c;

        memset(&c, 0, sizeof(c));
        cr_assert_eq(oci_config_validate(&c, NULL, &err), -1);
        cr_assert_str_eq(err->msg, "config: .ociVersion: missing required property");
}

Test(handbuilt, null_config)
{
        _cleanup_error_ rc_error_t err = NULL;

        cr_assert_eq(oci_config_validate(NULL, "x", &err), -1);
        cr_assert_not_null(err);
}

Test(handbuilt, duplicate_namespace_and_lookup)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_namespace ns[2] = {
                {.type = OCI_NS_NETWORK, .clone_flag = CLONE_NEWNET},
                {.type = OCI_NS_NETWORK, .clone_flag = CLONE_NEWNET},
        };
        struct oci_config c;

        memset(&c, 0, sizeof(c));
        c.oci_version = (char *)"1.2.0";
        c.has_linux = true;
        c.linux_.namespaces = ns;
        c.linux_.n_namespaces = 2;
        cr_assert_eq(oci_config_namespace(&c, OCI_NS_NETWORK), &ns[0]);
        cr_assert_null(oci_config_namespace(&c, OCI_NS_PID));
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert_str_eq(err->msg, "hand: .linux.namespaces[1].type: duplicate namespace \"network\"");
}

Test(handbuilt, process_and_mounts)
{
        _cleanup_error_ rc_error_t err = NULL;
        char *args[] = {(char *)"/bin/sh", NULL};
        struct oci_mount m = {.destination = (char *)"relative"};
        struct oci_config c;

        memset(&c, 0, sizeof(c));
        c.oci_version = (char *)"1.2.0";
        c.has_process = true;
        c.process.args = args;
        c.process.n_args = 1;
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert_str_eq(err->msg, "hand: .process.cwd: missing required property");
        rc_error_free(&err);

        c.process.cwd = (char *)"/";
        c.mounts = &m;
        c.n_mounts = 1;
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert_str_eq(err->msg, "hand: .mounts[0].destination: must be an absolute path");
        rc_error_free(&err);

        m.destination = (char *)"/ok";
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert_str_eq(err->msg, "hand: .mounts[0].type: required unless the mount is a bind mount");
        rc_error_free(&err);

        m.is_bind = true;
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert_str_eq(err->msg, "hand: .mounts[0].source: required for a bind mount");
        rc_error_free(&err);

        m.source = (char *)"/srv";
        cr_assert_eq(oci_config_validate(&c, "hand", &err), 0);
}

Test(handbuilt, resources_v1_only)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config c;

        memset(&c, 0, sizeof(c));
        c.oci_version = (char *)"1.2.0";
        c.linux_.resources.present = true;
        c.linux_.resources.has_rdma = true;
        cr_assert_eq(oci_config_validate(&c, "hand", &err), -1);
        cr_assert(strstr(err->msg, ".linux.resources.rdma: not supported on cgroup v2") != NULL, "%s",
                  err->msg);
}
