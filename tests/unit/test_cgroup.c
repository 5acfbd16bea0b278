/* Unit tests for runtime/cgroup/cgroup.c, cgroupfs.c and stats.c: the fail-closed decision,
 * cgroup paths, the disabled driver, and the cgroupfs driver's reads (stats, freezer,
 * process lists) against a temporary directory of fake cgroup files. Nothing here
 * touches /sys/fs/cgroup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"

static char dir[64];

static void put(const char *rel, const char *content)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        f = fopen(path, "we");
        cr_assert_not_null(f, "create %s", path);
        fputs(content, f);
        fclose(f);
}

static void setup(void)
{
        char path[128];

        strcpy(dir, "/tmp/rc-test-cgroup-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/c1", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                cr_log_warn("cleanup of %s failed", dir);
}

TestSuite(cgdecide);
TestSuite(cgpath);
TestSuite(cgfake, .init = setup, .fini = teardown);

/* ---- which controllers, and the fail-closed decision ---------------------------------- */

Test(cgdecide, required_controllers)
{
        struct oci_device_rule deny_all = {.allow = false, .type = 'a', .major = -1, .minor = -1};
        struct oci_resources r = {.present = true, .devices = &deny_all, .n_devices = 1};
        struct oci_kv kv = {(char *)"cgroup.max.descendants", (char *)"5"};
        unsigned mask = 99;

        cr_expect_not(rc_cgroup_required(&r, &mask), "device rules alone need no cgroup");
        cr_expect_eq(mask, 0);
        r.has_memory = true;
        r.memory.limit = (struct oci_opt_i64){true, -1};
        cr_expect_not(rc_cgroup_required(&r, &mask), "an unlimited memory limit asks for nothing");
        r.memory.limit.v = 1 << 20;
        r.has_pids = true;
        r.pids_limit = 20;
        cr_expect(rc_cgroup_required(&r, &mask));
        cr_expect_eq(mask, RC_CG_MEMORY | RC_CG_PIDS);
        r = (struct oci_resources){.present = true, .has_cpu = true};
        r.cpu.cpus = (char *)"0";
        r.cpu.shares = (struct oci_opt_u64){true, 512};
        cr_expect(rc_cgroup_required(&r, &mask));
        cr_expect_eq(mask, RC_CG_CPU | RC_CG_CPUSET);
        r = (struct oci_resources){.present = true, .unified = &kv, .n_unified = 1};
        cr_expect(rc_cgroup_required(&r, &mask), "a core cgroup file is a limit too");
        cr_expect_eq(mask, 0);
        kv.key = (char *)"io.max";
        rc_cgroup_required(&r, &mask);
        cr_expect_eq(mask, RC_CG_IO);
}

static struct oci_resources limits(void)
{
        struct oci_resources r = {.present = true, .has_memory = true, .has_pids = true, .pids_limit = 20};

        r.memory.limit = (struct oci_opt_i64){true, 32 << 20};
        return r;
}

Test(cgdecide, hybrid_host_with_limits_fails_closed)
{
        struct oci_resources r = limits();
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_CGROUPFS, false, &r, &d, &e), -1);
        cr_expect_not_null(strstr(e->msg, "memory and pids"), "%s", e->msg);
        cr_expect_not_null(strstr(e->msg, "not a cgroup v2 mount"), "%s", e->msg);
        cr_expect_not_null(strstr(e->msg, "--cgroup-manager=disabled"), "%s", e->msg);
}

Test(cgdecide, hybrid_host_without_limits_runs_without_cgroup)
{
        struct oci_device_rule deny_all = {.allow = false, .type = 'a', .major = -1, .minor = -1};
        struct oci_resources r = {.present = true, .devices = &deny_all, .n_devices = 1};
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_CGROUPFS, false, &r, &d, &e), 0);
        cr_expect_not(d.create);
        cr_expect_not(d.warn_unenforced);
        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_CGROUPFS, false, NULL, &d, &e), 0);
        cr_expect_not(d.create);
}

Test(cgdecide, disabled_warns)
{
        struct oci_resources r = limits();
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_DISABLED, true, &r, &d, &e), 0);
        cr_expect_not(d.create, "no cgroup even on a v2 host");
        cr_expect(d.warn_unenforced);
        r = (struct oci_resources){0};
        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_DISABLED, true, &r, &d, &e), 0);
        cr_expect_not(d.warn_unenforced);
}

Test(cgdecide, v2_host_creates)
{
        struct oci_resources r = {0};
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_CGROUPFS, true, &r, &d, &e), 0);
        cr_expect(d.create, "a cgroup even without limits: kill --all, ps, pause need it");
}

Test(cgdecide, systemd_needs_cgroup_v2)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_resources r = {0};
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_SYSTEMD, false, &r, &d, &e), -1);
        cr_expect_not_null(strstr(e->msg, "systemd cgroup driver"), "%s", e->msg);
        cr_expect_not_null(strstr(e->msg, "needs cgroup v2"), "%s", e->msg);
}

Test(cgdecide, systemd_on_cgroup_v2)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_resources r = {0};
        struct rc_cgroup_decision d;

        cr_assert_eq(rc_cgroup_decide(RC_CGROUP_MANAGER_SYSTEMD, true, &r, &d, &e), 0);
        cr_expect(d.create);
        cr_expect_not(d.warn_unenforced);
}

Test(cgdecide, controller_names)
{
        _cleanup_free_ char *one = rc_cgroup_controllers_text(RC_CG_PIDS);
        _cleanup_free_ char *three = rc_cgroup_controllers_text(RC_CG_CPU | RC_CG_IO | RC_CG_MEMORY);

        cr_expect_str_eq(one, "pids");
        cr_expect_str_eq(three, "cpu, io and memory");
        cr_expect_eq(rc_cgroup_controller_bit("hugetlb", 7), RC_CG_HUGETLB);
        cr_expect_eq(rc_cgroup_controller_bit("memoryx", 7), 0);
        cr_expect_str_eq(rc_cgroup_controller_name(RC_CG_CPUSET), "cpuset");
}

/* ---- paths ---------------------------------------------------------------------------- */

static char *resolve(const char *cp, const char *own)
{
        _cleanup_error_ rc_error_t e = NULL;
        char *p = NULL;

        if (rc_cgroup_resolve_path(cp, "c1", own, &p, &e) < 0)
                return strdup(e->msg);
        return p;
}

Test(cgpath, default_is_beside_our_cgroup)
{
        _cleanup_free_ char *a = resolve(NULL, "/user.slice/session-1.scope");
        _cleanup_free_ char *b = resolve(NULL, "/");
        _cleanup_free_ char *c = resolve("", "/system.slice/x.service");

        cr_expect_str_eq(a, "/user.slice/run-container/c1");
        cr_expect_str_eq(b, "/run-container/c1");
        cr_expect_str_eq(c, "/system.slice/run-container/c1");
}

Test(cgpath, absolute_and_relative)
{
        _cleanup_free_ char *a = resolve("/machine/pod1//c1/", "/user.slice/s.scope");
        _cleanup_free_ char *b = resolve("pods/./c1", "/user.slice/s.scope");

        cr_expect_str_eq(a, "/machine/pod1/c1");
        cr_expect_str_eq(b, "/user.slice/pods/c1");
}

Test(cgpath, refused)
{
        _cleanup_free_ char *a = resolve("/a/../../etc", "/");
        _cleanup_free_ char *b = resolve("/", "/");
        _cleanup_free_ char *c = resolve("..", "/user.slice/s.scope");

        cr_expect_not_null(strstr(a, "\"..\" is not allowed"), "%s", a);
        cr_expect_not_null(strstr(b, "root cgroup"), "%s", b);
        cr_expect_not_null(strstr(c, "\"..\" is not allowed"), "%s", c);
}

/* ---- the disabled driver ------------------------------------------------------------------ */

Test(cgfake, disabled_driver)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg = NULL;
        struct rc_cgroup_stats s;
        struct oci_config cfg = {0};
        pid_t *v = NULL;
        size_t n = 0;
        bool frozen = true;

        cr_assert_eq(rc_cgroup_open(NULL, false, NULL, &cg, &e), 0);
        cr_expect_eq(cg->ops, &rc_cgroup_ops_disabled);
        cr_expect_eq(rc_cgroup_create(cg, &cfg, &e), 0);
        cr_expect_eq(cg->ops->enter(cg, getpid(), &e), 0);
        cr_expect_eq(cg->ops->is_frozen(cg, &frozen, &e), 0);
        cr_expect_not(frozen);
        cr_expect_eq(cg->ops->freeze(cg, true, &e), -1);
        cr_expect_eq(e->status, EOPNOTSUPP);
        cr_expect_not_null(strstr(e->msg, "no cgroup"), "%s", e->msg);
        rc_error_free(&e);
        cr_expect_eq(cg->ops->stats(cg, &s, &e), -1);
        rc_error_free(&e);
        cr_expect_eq(cg->ops->procs(cg, &v, &n, &e), -1);
        rc_error_free(&e);
        cr_expect_eq(cg->ops->kill(cg, 15, 0, &e), -1);
        rc_error_free(&e);
        cr_expect_eq(rc_cgroup_destroy(cg, &e), 0);
        rc_cgroup_free(cg);
}

/* ---- the cgroupfs driver's reads, on fake files ------------------------------------------ */

static struct rc_cgroup *open_fake(const char *path)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg = NULL;

        cr_assert_eq(rc_cgroup_open_at(&rc_cgroup_ops_v2, dir, path, NULL, &cg, &e), 0, "%s",
                     e ? e->msg : "");
        return cg;
}

static void fake_stats(void)
{
        put("c1/cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\n"
            "throttled_usec 250\n");
        put("c1/memory.current", "8192\n");
        put("c1/memory.peak", "104857600\n");
        put("c1/memory.max", "33554432\n");
        put("c1/memory.swap.current", "0\n");
        put("c1/memory.swap.max", "max\n");
        put("c1/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
        put("c1/memory.stat", "anon 4096\nfile 4096\n");
        put("c1/pids.current", "3\n");
        put("c1/pids.peak", "20\n");
        put("c1/pids.max", "20\n");
        put("c1/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
                          "8:16 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=0 dios=0\n");
}

static void check_stats(const struct rc_cgroup_stats *s)
{
        cr_expect(s->has_cpu && s->has_memory && s->has_pids);
        cr_expect_eq(s->cpu_usage_usec, 1500);
        cr_expect_eq(s->cpu_system_usec, 500);
        cr_expect_eq(s->cpu_nr_throttled, 4);
        cr_expect_eq(s->cpu_throttled_usec, 250);
        cr_expect_eq(s->memory_current, 8192);
        cr_expect_eq(s->memory_peak, 104857600);
        cr_expect_eq(s->memory_limit, 33554432);
        cr_expect_eq(s->swap_limit, UINT64_MAX);
        cr_expect_eq(s->memory_events_max, 12);
        cr_expect_eq(s->memory_events_oom_kill, 1);
        cr_expect_eq(s->n_memory_stat, 2);
        cr_expect_str_eq(s->memory_stat[1].key, "file");
        cr_expect_eq(s->pids_current, 3);
        cr_expect_eq(s->pids_peak, 20);
        cr_expect_eq(s->pids_limit, 20);
        cr_assert_eq(s->n_io, 2);
        cr_expect_eq(s->io[1].minor, 16);
        cr_expect_eq(s->io[0].wbytes, 200);
        cr_expect_eq(s->io[1].wios, 8);
}

Test(cgfake, stats_read_and_json_round_trip)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *json = NULL;
        struct rc_cgroup *cg;
        struct rc_cgroup_stats s, back;
        json_gen *g = json_gen_new(false);
        size_t len = 0;

        fake_stats();
        cg = open_fake("/c1");
        cr_assert_eq(cg->ops->stats(cg, &s, &e), 0, "%s", e ? e->msg : "");
        check_stats(&s);
        rc_cgroup_stats_gen(g, &s);
        cr_assert_eq(json_gen_finish(g, &json, &len, &e), 0);
        json_gen_free(g);
        cr_expect_not_null(strstr(json, "\"oom_kill\":1"), "%s", json);
        cr_expect_not_null(strstr(json, "\"usage\":{\"total\":1500000,"), "%s", json);
        cr_assert_eq(rc_cgroup_stats_parse(json, len, "stats.json", &back, &e), 0, "%s", e ? e->msg : "");
        check_stats(&back);
        rc_cgroup_stats_clear(&s);
        rc_cgroup_stats_clear(&back);
        rc_cgroup_free(cg);
}

Test(cgfake, stats_of_a_bare_cgroup)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg = open_fake("/c1");
        struct rc_cgroup_stats s;

        put("c1/cpu.stat", "usage_usec 7\n");
        cr_assert_eq(cg->ops->stats(cg, &s, &e), 0);
        cr_expect(s.has_cpu);
        cr_expect_not(s.has_memory, "no memory controller: no memory part");
        cr_expect_not(s.has_pids);
        cr_expect_eq(s.n_io, 0);
        rc_cgroup_stats_clear(&s);
        rc_cgroup_free(cg);
}

Test(cgfake, procs_include_sub_cgroups_sorted)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ pid_t *v = NULL;
        struct rc_cgroup *cg;
        char path[128];
        size_t n = 0;

        snprintf(path, sizeof(path), "%s/c1/sub", dir);
        cr_assert_eq(mkdir(path, 0755), 0);
        put("c1/cgroup.procs", "30\n10\n");
        put("c1/sub/cgroup.procs", "20\n10\n");
        cg = open_fake("/c1");
        cr_assert_eq(cg->ops->procs(cg, &v, &n, &e), 0, "%s", e ? e->msg : "");
        cr_assert_eq(n, 3);
        cr_expect_eq(v[0], 10);
        cr_expect_eq(v[1], 20);
        cr_expect_eq(v[2], 30);
        rc_cgroup_free(cg);
}

Test(cgfake, freeze_waits_for_events)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg;
        bool frozen = false;

        put("c1/cgroup.freeze", "0\n");
        put("c1/cgroup.events", "populated 1\nfrozen 1\n");
        cg = open_fake("/c1");
        cr_assert_eq(cg->ops->freeze(cg, true, &e), 0, "%s", e ? e->msg : "");
        cr_expect_eq(cg->ops->is_frozen(cg, &frozen, &e), 0);
        cr_expect(frozen, "cgroup.freeze says 1");
        rc_cgroup_free(cg);
}

Test(cgfake, freeze_times_out_and_thaws)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *data = NULL;
        struct rc_cgroup *cg;
        char path[128];
        FILE *f;

        put("c1/cgroup.freeze", "0\n");
        put("c1/cgroup.events", "populated 1\nfrozen 0\n");
        cg = open_fake("/c1");
        cg->freeze_timeout_ms = 200;
        cr_assert_eq(cg->ops->freeze(cg, true, &e), -1);
        cr_expect_eq(e->status, ETIMEDOUT);
        cr_expect_not_null(strstr(e->msg, "not frozen after 200 ms"), "%s", e->msg);
        snprintf(path, sizeof(path), "%s/c1/cgroup.freeze", dir);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_expect_eq(fgetc(f), '0', "left thawed");
        fclose(f);
        rc_cgroup_free(cg);
}

Test(cgfake, kill_uses_cgroup_kill)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg;
        char path[128];
        FILE *f;

        put("c1/cgroup.kill", "");
        put("c1/cgroup.procs", "");
        cg = open_fake("/c1");
        cr_assert_eq(cg->ops->kill(cg, 9, 0, &e), 0, "%s", e ? e->msg : "");
        snprintf(path, sizeof(path), "%s/c1/cgroup.kill", dir);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_expect_eq(fgetc(f), '1');
        fclose(f);
        rc_cgroup_free(cg);
}

Test(cgfake, missing_cgroup)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_cgroup *cg = open_fake("/gone");
        struct rc_cgroup_stats s;
        bool frozen = true;

        cr_expect_eq(cg->dirfd, -1);
        cr_expect_eq(cg->ops->is_frozen(cg, &frozen, &e), 0);
        cr_expect_not(frozen);
        cr_expect_eq(cg->ops->stats(cg, &s, &e), -1);
        cr_expect_not_null(strstr(e->msg, "does not exist"), "%s", e->msg);
        rc_error_free(&e);
        cr_expect_eq(rc_cgroup_destroy(cg, &e), 0, "nothing to remove is fine");
        rc_cgroup_free(cg);
}
