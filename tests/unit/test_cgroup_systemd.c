/* Unit tests for the pure parts of runtime/cgroup/systemd.c: the unit, slice and cgroup
 * path from linux.cgroupsPath, and the limits as systemd unit properties. No bus. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"

static void expect_unit(const char *cgroups_path, const char *id, const char *slice, const char *unit,
                        const char *path)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_systemd_unit u;

        cr_assert_eq(rc_cgroup_systemd_unit(cgroups_path, id, &u, &e), 0, "%s: %s", cgroups_path,
                     e ? e->msg : "");
        cr_expect_str_eq(u.slice, slice);
        cr_expect_str_eq(u.unit, unit);
        cr_expect_str_eq(u.path, path);
        rc_systemd_unit_clear(&u);
}

static void expect_refused(const char *cgroups_path, const char *needle)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_systemd_unit u;

        cr_assert_eq(rc_cgroup_systemd_unit(cgroups_path, "c1", &u, &e), -1, "%s accepted", cgroups_path);
        cr_expect_not_null(strstr(e->msg, "cgroupsPath"), "%s", e->msg);
        cr_expect_not_null(strstr(e->msg, needle), "%s: want \"%s\"", e->msg, needle);
}

Test(systemd_unit, defaults_when_empty)
{
        expect_unit(NULL, "c1", "system.slice", "run-container-c1.scope",
                    "/system.slice/run-container-c1.scope");
        expect_unit("", "c1", "system.slice", "run-container-c1.scope",
                    "/system.slice/run-container-c1.scope");
}

Test(systemd_unit, slice_prefix_name)
{
        expect_unit("system.slice:docker:abc", "x", "system.slice", "docker-abc.scope",
                    "/system.slice/docker-abc.scope");
        /* kubelet's pod slices: every dash is one more level */
        expect_unit("kubepods-burstable-pod12.slice:cri-containerd:0f1e", "x",
                    "kubepods-burstable-pod12.slice", "cri-containerd-0f1e.scope",
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/"
                    "cri-containerd-0f1e.scope");
        expect_unit("-.slice:p:n", "x", "-.slice", "p-n.scope", "/p-n.scope");
        /* an empty slice or prefix takes the default slice / no prefix */
        expect_unit(":pfx:n1", "x", "system.slice", "pfx-n1.scope", "/system.slice/pfx-n1.scope");
        expect_unit("machine.slice::n1", "x", "machine.slice", "n1.scope", "/machine.slice/n1.scope");
}

Test(systemd_unit, escapes_what_a_unit_name_cannot_hold)
{
        expect_unit(NULL, "a+b", "system.slice", "run-container-a\\x2bb.scope",
                    "/system.slice/run-container-a\\x2bb.scope");
}

Test(systemd_unit, refuses_other_forms)
{
        expect_refused("/abs/path", "slice:prefix:name");
        expect_refused("rel/path", "slice:prefix:name");
        expect_refused("a:b", "slice:prefix:name");
        expect_refused("a.slice:b:c:d", "slice:prefix:name");
        expect_refused("system.slice:p:", "name");
        expect_refused("system:p:n", "not a slice unit name");
        expect_refused("a--b.slice:p:n", "invalid slice name");
        expect_refused("-a.slice:p:n", "invalid slice name");
        expect_refused("a/b.slice:p:n", "invalid slice name");
        expect_refused("system.slice:p:x.slice", "not supported");
}

static uint64_t prop(const struct rc_systemd_prop *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return v[i].value;
        return 0;
}

Test(systemd_props, limits_as_properties)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_resources r = {.present = true, .has_memory = true, .has_pids = true, .has_cpu = true};
        struct rc_systemd_prop v[16];
        size_t n = 0;

        r.memory.limit = (struct oci_opt_i64){.set = true, .v = 64 << 20};
        r.memory.swap = (struct oci_opt_i64){.set = true, .v = 96 << 20};
        r.memory.reservation = (struct oci_opt_i64){.set = true, .v = 16 << 20};
        r.pids_limit = 20;
        r.cpu.shares = (struct oci_opt_u64){.set = true, .v = 2048};
        r.cpu.quota = (struct oci_opt_i64){.set = true, .v = 33333};
        r.cpu.period = (struct oci_opt_u64){.set = true, .v = 100000};
        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 16, &n, &e), 0, "%s", e ? e->msg : "");
        cr_expect_eq(n, 7);
        cr_expect_eq(prop(v, n, "MemoryMax"), 64 << 20);
        cr_expect_eq(prop(v, n, "MemoryLow"), 16 << 20);
        cr_expect_eq(prop(v, n, "MemorySwapMax"), 32 << 20, "memory+swap minus memory");
        cr_expect_eq(prop(v, n, "TasksMax"), 20);
        cr_expect_eq(prop(v, n, "CPUWeight"), 79);
        cr_expect_eq(prop(v, n, "CPUQuotaPerSecUSec"), 340000, "333330 us per second, up to 10 ms steps");
        cr_expect_eq(prop(v, n, "CPUQuotaPeriodUSec"), 100000);
}

Test(systemd_props, unlimited_and_unset)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_resources r = {.present = true, .has_memory = true, .has_pids = true, .has_cpu = true};
        struct rc_systemd_prop v[16];
        size_t n = 0;

        r.memory.limit = (struct oci_opt_i64){.set = true, .v = -1};
        r.pids_limit = -1;
        r.cpu.quota = (struct oci_opt_i64){.set = true, .v = -1};
        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 16, &n, &e), 0);
        cr_expect_eq(n, 3);
        cr_expect_eq(prop(v, n, "MemoryMax"), UINT64_MAX);
        cr_expect_eq(prop(v, n, "TasksMax"), UINT64_MAX);
        cr_expect_eq(prop(v, n, "CPUQuotaPerSecUSec"), UINT64_MAX);
        r = (struct oci_resources){0};
        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 16, &n, &e), 0);
        cr_expect_eq(n, 0, "nothing present, no property");
}

Test(systemd_props, table_too_small)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_resources r = {.present = true, .has_memory = true, .has_pids = true};
        struct rc_systemd_prop v[1];
        size_t n = 0;

        r.memory.limit = (struct oci_opt_i64){.set = true, .v = 1 << 20};
        r.pids_limit = 5;
        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 1, &n, &e), -1);
}

Test(systemd_props, unified_files_with_a_property)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_kv kv[] = {{"memory.high", "83886080"}, {"pids.max", "max"},
                              {"memory.min", " 4096\n"},   {"cpu.max", "50000 100000"},
                              {"memory.high.x", "1"},      {"io.weight", "default 100"}};
        struct oci_resources r = {.present = true, .unified = kv, .n_unified = 6};
        struct rc_systemd_prop v[16];
        size_t n = 0;

        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 16, &n, &e), 0, "%s", e ? e->msg : "");
        cr_assert_eq(n, 3, "only the files holding one number or \"max\" that systemd has a property for");
        cr_expect_eq(prop(v, n, "MemoryHigh"), 83886080);
        cr_expect_eq(prop(v, n, "TasksMax"), UINT64_MAX);
        cr_expect_eq(prop(v, n, "MemoryMin"), 4096);
}

Test(systemd_props, unified_after_the_typed_fields)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_kv kv[] = {{"pids.max", "7"}};
        struct oci_resources r = {
                .present = true, .has_pids = true, .pids_limit = 20, .unified = kv, .n_unified = 1};
        struct rc_systemd_prop v[16];
        size_t n = 0;

        cr_assert_eq(rc_cgroup_systemd_props(&r, v, 16, &n, &e), 0);
        cr_assert_eq(n, 2);
        cr_expect_str_eq(v[1].name, "TasksMax");
        cr_expect_eq(v[1].value, 7, "unified last, as in the files: it wins");
}
