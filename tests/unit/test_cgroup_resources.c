/* Unit tests for runtime/cgroup/resources.c: every linux.resources conversion, written
 * into a temporary directory of fake cgroup files (no root, no cgroup v2 needed). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"

static char dir[64];
static int cg_dirfd = -1;

/* The files a v2 cgroup with every controller has, with their initial contents. */
static const char *const fake_files[][2] = {
        {"memory.max", "max\n"},      {"memory.low", "0\n"},          {"memory.swap.max", "max\n"},
        {"memory.current", "4096\n"}, {"memory.high", "max\n"},       {"memory.oom.group", "0\n"},
        {"cpu.weight", "100\n"},      {"cpu.max", "max 100000\n"},    {"cpu.max.burst", "0\n"},
        {"cpu.idle", "0\n"},          {"cpuset.cpus", "\n"},          {"cpuset.mems", "\n"},
        {"pids.max", "max\n"},        {"io.weight", "default 100\n"}, {"io.max", ""},
        {"hugetlb.2MB.max", "max\n"}, {"hugetlb.1GB.max", "max\n"},   {"hugetlb.2MB.rsvd.max", "max\n"},
};

static void put(const char *file, const char *content)
{
        _cleanup_close_ int fd = openat(cg_dirfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        cr_assert_geq(fd, 0, "create %s", file);
        cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
}

static char *get(const char *file)
{
        _cleanup_error_ rc_error_t e = NULL;
        char *data = NULL;

        cr_assert_eq(rc_read_file_at(cg_dirfd, file, 4096, &data, NULL, &e), 0, "read %s", file);
        return data;
}

static void expect(const char *file, const char *want)
{
        _cleanup_free_ char *got = get(file);

        cr_expect_str_eq(got, want, "%s: got \"%s\", want \"%s\"", file, got, want);
}

static void setup(void)
{
        strcpy(dir, "/tmp/rc-test-cgres-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        cg_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(cg_dirfd, 0);
        for (size_t i = 0; i < sizeof(fake_files) / sizeof(fake_files[0]); i++)
                put(fake_files[i][0], fake_files[i][1]);
}

static void teardown(void)
{
        char cmd[128];

        close(cg_dirfd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                cr_log_warn("cleanup of %s failed", dir);
}

TestSuite(cgres, .init = setup, .fini = teardown);
TestSuite(cgconv);

static int apply(const struct oci_resources *r, char **ret_msg)
{
        rc_error_t e = NULL;
        int ret = rc_cgroup_apply_resources(cg_dirfd, r, NULL, &e);

        if (ret_msg != NULL)
                *ret_msg = e ? strdup(e->msg) : NULL;
        else if (e != NULL)
                cr_log_info("apply: %s", e->msg);
        rc_error_free(&e);
        return ret;
}

/* ---- pure conversions ------------------------------------------------------------ */

Test(cgconv, cpu_weight_from_shares)
{
        cr_expect_eq(rc_cgroup_cpu_weight(0), 0); /* not set */
        cr_expect_eq(rc_cgroup_cpu_weight(2), 1);
        cr_expect_eq(rc_cgroup_cpu_weight(1024), 39); /* 1 + 1022*9999/262142 */
        cr_expect_eq(rc_cgroup_cpu_weight(262144), 10000);
        cr_expect_eq(rc_cgroup_cpu_weight(1), 1, "below the v1 minimum: clamped to 2");
        cr_expect_eq(rc_cgroup_cpu_weight(1000000), 10000, "above the v1 maximum: clamped");
}

Test(cgconv, io_weight_from_blkio)
{
        cr_expect_eq(rc_cgroup_io_weight(0), 0);
        cr_expect_eq(rc_cgroup_io_weight(10), 1);
        cr_expect_eq(rc_cgroup_io_weight(500), 1 + 490 * 9999 / 990);
        cr_expect_eq(rc_cgroup_io_weight(1000), 10000);
}

Test(cgconv, swap_is_memory_plus_swap)
{
        _cleanup_error_ rc_error_t e = NULL;
        int64_t v = 7;

        cr_expect_eq(rc_cgroup_swap_max(0, 0, &v, &e), 0);
        cr_expect_eq(v, 0, "nothing set: leave alone");
        cr_expect_eq(rc_cgroup_swap_max(0, -1, &v, &e), 0);
        cr_expect_eq(v, -1, "unlimited memory, swap unset: unlimited swap");
        cr_expect_eq(rc_cgroup_swap_max(-1, 1 << 20, &v, &e), 0);
        cr_expect_eq(v, -1);
        cr_expect_eq(rc_cgroup_swap_max(3 << 20, 1 << 20, &v, &e), 0);
        cr_expect_eq(v, 2 << 20, "swap.max = memory+swap - memory");
        cr_expect_eq(rc_cgroup_swap_max(1 << 20, 1 << 20, &v, &e), 0);
        cr_expect_eq(v, 0);
        cr_expect_eq(rc_cgroup_swap_max(1 << 20, 2 << 20, &v, &e), -1, "swap below the limit");
        cr_expect_not_null(strstr(e->msg, "lower than the memory limit"), "%s", e->msg);
        rc_error_free(&e);
        cr_expect_eq(rc_cgroup_swap_max(1 << 20, 0, &v, &e), -1, "swap without a memory limit");
        cr_expect_not_null(strstr(e->msg, "needs a memory limit"), "%s", e->msg);
}

Test(cgconv, cpu_max_line)
{
        struct oci_cpu c = {0};
        char buf[64];

        cr_expect_eq(rc_cgroup_cpu_max(&c, NULL, buf, sizeof(buf)), 0, "nothing set");
        c.quota = (struct oci_opt_i64){true, 20000};
        c.period = (struct oci_opt_u64){true, 100000};
        cr_expect_eq(rc_cgroup_cpu_max(&c, NULL, buf, sizeof(buf)), 1);
        cr_expect_str_eq(buf, "20000 100000");
        c.quota.v = -1;
        rc_cgroup_cpu_max(&c, NULL, buf, sizeof(buf));
        cr_expect_str_eq(buf, "max 100000");
        c.period.set = false;
        c.quota.v = 50000;
        rc_cgroup_cpu_max(&c, NULL, buf, sizeof(buf));
        cr_expect_str_eq(buf, "50000", "quota alone keeps the kernel's period");
        c.quota.set = false;
        c.period = (struct oci_opt_u64){true, 250000};
        rc_cgroup_cpu_max(&c, "30000", buf, sizeof(buf));
        cr_expect_str_eq(buf, "30000 250000", "period alone keeps the quota in place");
}

/* ---- written files ------------------------------------------------------------------ */

Test(cgres, nothing_present_writes_nothing)
{
        struct oci_resources r = {0};

        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.max", "max\n");
        expect("pids.max", "max\n");
}

Test(cgres, memory)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        r.memory.limit = (struct oci_opt_i64){true, 32 << 20};
        r.memory.reservation = (struct oci_opt_i64){true, 16 << 20};
        r.memory.swap = (struct oci_opt_i64){true, 48 << 20};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.max", "33554432");
        expect("memory.low", "16777216");
        expect("memory.swap.max", "16777216");
}

Test(cgres, swap_equal_to_limit_disables_swap)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        r.memory.limit = (struct oci_opt_i64){true, 32 << 20};
        r.memory.swap = (struct oci_opt_i64){true, 32 << 20};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.swap.max", "0");
}

Test(cgres, memory_unlimited)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        put("memory.max", "1000");
        put("memory.swap.max", "0");
        r.memory.limit = (struct oci_opt_i64){true, -1};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.max", "max");
        expect("memory.swap.max", "max");
}

Test(cgres, memory_without_swap_accounting)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        cr_assert_eq(unlinkat(cg_dirfd, "memory.swap.max", 0), 0);
        r.memory.limit = (struct oci_opt_i64){true, -1};
        cr_expect_eq(apply(&r, NULL), 0, "lifting a swap limit that cannot exist is fine");
        r.memory.limit.v = 1 << 20;
        r.memory.swap = (struct oci_opt_i64){true, 2 << 20};
        cr_expect_eq(apply(&r, NULL), -1, "a real swap limit without the file is an error");
}

Test(cgres, swap_update_uses_current_limit)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        put("memory.max", "1048576\n");
        r.memory.swap = (struct oci_opt_i64){true, 3 << 20};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.swap.max", "2097152");
}

Test(cgres, swap_without_limit_fails)
{
        struct oci_resources r = {.present = true, .has_memory = true};
        _cleanup_free_ char *msg = NULL;

        r.memory.swap = (struct oci_opt_i64){true, 3 << 20};
        cr_assert_eq(apply(&r, &msg), -1);
        cr_expect_not_null(strstr(msg, "linux.resources.memory.swap"), "%s", msg);
}

Test(cgres, check_before_update)
{
        struct oci_resources r = {.present = true, .has_memory = true};
        _cleanup_free_ char *msg = NULL;

        r.memory.check_before_update = true;
        r.memory.limit = (struct oci_opt_i64){true, 1024}; /* memory.current is 4096 */
        cr_assert_eq(apply(&r, &msg), -1);
        cr_expect_not_null(strstr(msg, "lower than the current usage"), "%s", msg);
        expect("memory.max", "max\n");
}

Test(cgres, disable_oom_killer_is_not_oom_group)
{
        struct oci_resources r = {.present = true, .has_memory = true};

        r.memory.has_disable_oom_killer = r.memory.disable_oom_killer = true;
        cr_assert_eq(apply(&r, NULL), 0, "a warning, not an error");
        expect("memory.oom.group", "0\n");
}

Test(cgres, cpu)
{
        struct oci_resources r = {.present = true, .has_cpu = true};

        r.cpu.shares = (struct oci_opt_u64){true, 1024};
        r.cpu.quota = (struct oci_opt_i64){true, 20000};
        r.cpu.period = (struct oci_opt_u64){true, 100000};
        r.cpu.burst = (struct oci_opt_u64){true, 5000};
        r.cpu.idle = (struct oci_opt_i64){true, 1};
        r.cpu.cpus = (char *)"0-1";
        r.cpu.mems = (char *)"0";
        cr_assert_eq(apply(&r, NULL), 0);
        expect("cpu.weight", "39");
        expect("cpu.max", "20000 100000");
        expect("cpu.max.burst", "5000");
        expect("cpu.idle", "1");
        expect("cpuset.cpus", "0-1");
        expect("cpuset.mems", "0");
}

Test(cgres, cpu_period_alone_keeps_quota)
{
        struct oci_resources r = {.present = true, .has_cpu = true};

        put("cpu.max", "20000 100000\n");
        r.cpu.period = (struct oci_opt_u64){true, 50000};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("cpu.max", "20000 50000");
}

Test(cgres, cpu_realtime_refused)
{
        struct oci_resources r = {.present = true, .has_cpu = true};
        _cleanup_free_ char *msg = NULL;

        r.cpu.realtime_runtime = (struct oci_opt_i64){true, 1000};
        cr_assert_eq(apply(&r, &msg), -1);
        cr_expect_not_null(strstr(msg, "real-time"), "%s", msg);
}

Test(cgres, pids)
{
        struct oci_resources r = {.present = true, .has_pids = true, .pids_limit = 20};

        cr_assert_eq(apply(&r, NULL), 0);
        expect("pids.max", "20");
        r.pids_limit = 0;
        cr_assert_eq(apply(&r, NULL), 0);
        expect("pids.max", "max");
        r.pids_limit = -1;
        put("pids.max", "5");
        cr_assert_eq(apply(&r, NULL), 0);
        expect("pids.max", "max");
}

Test(cgres, blkio_weight_to_io_weight)
{
        struct oci_weight_device wd = {.major = 8, .minor = 0, .weight = {true, 1000}};
        struct oci_resources r = {.present = true, .has_blockio = true};

        r.blockio.weight = (struct oci_opt_u64){true, 500};
        r.blockio.weight_devices = &wd;
        r.blockio.n_weight_devices = 1;
        cr_assert_eq(apply(&r, NULL), 0);
        expect("io.weight", "8:0 10000"); /* the last write; the default went first */
}

Test(cgres, blkio_weight_to_bfq)
{
        struct oci_resources r = {.present = true, .has_blockio = true};

        put("io.bfq.weight", "default 100\n");
        r.blockio.weight = (struct oci_opt_u64){true, 500};
        cr_assert_eq(apply(&r, NULL), 0);
        expect("io.bfq.weight", "500"); /* bfq takes the blkio scale */
        expect("io.weight", "default 100\n");
}

Test(cgres, io_max)
{
        struct oci_throttle_device rb = {.major = 8, .minor = 16, .rate = 1048576};
        struct oci_throttle_device wi = {.major = 8, .minor = 0, .rate = 0};
        struct oci_resources r = {.present = true, .has_blockio = true};

        r.blockio.throttle_read_bps = &rb;
        r.blockio.n_throttle_read_bps = 1;
        cr_assert_eq(apply(&r, NULL), 0);
        expect("io.max", "8:16 rbps=1048576");
        r.blockio.n_throttle_read_bps = 0;
        r.blockio.throttle_write_iops = &wi;
        r.blockio.n_throttle_write_iops = 1;
        cr_assert_eq(apply(&r, NULL), 0);
        expect("io.max", "8:0 wiops=max");
}

Test(cgres, hugetlb)
{
        struct oci_hugepage_limit h[] = {{.page_size = (char *)"2MB", .limit = 4194304},
                                         {.page_size = (char *)"1GB", .limit = 0}};
        struct oci_resources r = {.present = true, .hugepages = h, .n_hugepages = 2};

        cr_assert_eq(apply(&r, NULL), 0);
        expect("hugetlb.2MB.max", "4194304");
        expect("hugetlb.2MB.rsvd.max", "4194304");
        expect("hugetlb.1GB.max", "0");
}

Test(cgres, hugetlb_missing_size)
{
        struct oci_hugepage_limit h = {.page_size = (char *)"64KB", .limit = 1};
        struct oci_resources r = {.present = true, .hugepages = &h, .n_hugepages = 1};
        _cleanup_free_ char *msg = NULL;

        cr_assert_eq(apply(&r, &msg), -1);
        cr_expect_not_null(strstr(msg, "hugetlb.64KB.max"), "%s", msg);
}

Test(cgres, unified)
{
        struct oci_kv kv[] = {{(char *)"memory.high", (char *)"50000000"},
                              {(char *)"memory.oom.group", (char *)"1"}};
        struct oci_resources r = {.present = true, .unified = kv, .n_unified = 2};

        cr_assert_eq(apply(&r, NULL), 0);
        expect("memory.high", "50000000");
        expect("memory.oom.group", "1");
}

Test(cgres, unified_after_the_rest)
{
        struct oci_kv kv = {(char *)"pids.max", (char *)"7"};
        struct oci_resources r = {
                .present = true, .has_pids = true, .pids_limit = 20, .unified = &kv, .n_unified = 1};

        cr_assert_eq(apply(&r, NULL), 0);
        expect("pids.max", "7");
}

Test(cgres, unified_rejects_paths)
{
        static const char *const bad[] = {"../memory.max", "a/b", ".", "..", ""};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct oci_kv kv = {(char *)bad[i], (char *)"1"};
                struct oci_resources r = {.present = true, .unified = &kv, .n_unified = 1};
                _cleanup_free_ char *msg = NULL;

                cr_expect_eq(apply(&r, &msg), -1, "\"%s\" accepted", bad[i]);
                cr_expect(msg != NULL && strstr(msg, "invalid cgroup file name") != NULL, "%s", msg);
        }
}

Test(cgres, unified_missing_file)
{
        struct oci_kv kv = {(char *)"rdma.max", (char *)"mlx4_0 hca_handle=2"};
        struct oci_resources r = {.present = true, .unified = &kv, .n_unified = 1};
        _cleanup_free_ char *msg = NULL;

        cr_assert_eq(apply(&r, &msg), -1);
        cr_expect_not_null(strstr(msg, "`rdma.max`"), "%s", msg);
        cr_expect_eq(faccessat(cg_dirfd, "rdma.max", F_OK, 0), -1, "never created");
}
