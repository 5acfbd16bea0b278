/* ipam: CIDR arithmetic and the lease store (in a mkdtemp directory; no root needed),
 * including 100 concurrent allocations from 100 processes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/net/ipam.h"

static char tmpdir[] = "/tmp/rc-test-ipam-XXXXXX";
static char dir[256];

static void setup(void)
{
        cr_assert_not_null(mkdtemp(tmpdir));
        snprintf(dir, sizeof(dir), "%s/ipam/net", tmpdir);
}

static void teardown(void)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        cr_assert_eq(system(cmd), 0);
}

static uint32_t ip(const char *s)
{
        rc_error_t err = NULL;
        uint32_t v = 0;

        cr_assert_eq(rc_ip_parse(s, &v, &err), 0, "%s", err ? err->msg : "");
        return v;
}

static struct rc_cidr cidr(const char *s)
{
        rc_error_t err = NULL;
        struct rc_cidr c = {0};

        cr_assert_eq(rc_cidr_parse(s, &c, &err), 0, "%s", err ? err->msg : "");
        return c;
}

/* ---- pure ------------------------------------------------------------------------ */

Test(ipam, ip_parse)
{
        const char *bad[] = {"",         "1.2.3",   "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
                             "1.2.3.4 ", "a.b.c.d", "1..2.3",    "-1.2.3.4"};
        char buf[RC_IP_STRLEN];

        cr_assert_eq(ip("10.90.0.1"), 0x0a5a0001u);
        cr_assert_eq(ip("0.0.0.0"), 0);
        cr_assert_eq(ip("255.255.255.255"), 0xffffffffu);
        rc_ip_format(0xc0a80a01u, buf);
        cr_assert_str_eq(buf, "192.168.10.1");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                rc_error_t err = NULL;
                uint32_t v;
                cr_assert_lt(rc_ip_parse(bad[i], &v, &err), 0, "\"%s\" accepted", bad[i]);
                cr_assert_not_null(strstr(err->msg, "invalid IPv4 address"), "%s", err->msg);
                rc_error_free(&err);
        }
}

Test(ipam, cidr_parse)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        const char *bad[] = {"10.90.0.0",     "10.90.0.0/",   "10.90.0.0/33",
                             "10.90.0.0/024", "10.90.0.0/2x", "x/24"};
        rc_error_t err = NULL;
        char buf[24];

        cr_assert_eq(c.addr, 0x0a5a0000u);
        cr_assert_eq(c.prefix, 24);
        rc_cidr_format(&c, buf, sizeof(buf));
        cr_assert_str_eq(buf, "10.90.0.0/24");
        cr_assert_eq(cidr("0.0.0.0/0").prefix, 0);
        cr_assert_lt(rc_cidr_parse("10.90.0.1/24", &c, &err), 0);
        cr_assert_str_eq(err->msg,
                         "subnet \"10.90.0.1/24\" has host bits set: did you mean \"10.90.0.0/24\"?");
        rc_error_free(&err);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cr_assert_lt(rc_cidr_parse(bad[i], &c, &err), 0, "\"%s\" accepted", bad[i]);
                rc_error_free(&err);
        }
}

Test(ipam, arithmetic)
{
        struct rc_cidr c = cidr("10.90.0.0/24"), small = cidr("10.90.0.0/30"), p31 = cidr("10.0.0.0/31");
        struct rc_cidr other = cidr("10.90.0.128/25"), apart = cidr("10.90.1.0/24"),
                       big = cidr("10.0.0.0/8");

        cr_assert(rc_cidr_contains(&c, ip("10.90.0.77")));
        cr_assert_not(rc_cidr_contains(&c, ip("10.90.1.1")));
        cr_assert(rc_cidr_overlaps(&c, &other));
        cr_assert(rc_cidr_overlaps(&other, &c));
        cr_assert(rc_cidr_overlaps(&big, &c));
        cr_assert_not(rc_cidr_overlaps(&c, &apart));
        cr_assert_eq(rc_cidr_broadcast(&c), ip("10.90.0.255"));
        cr_assert_eq(rc_cidr_first_host(&c), ip("10.90.0.1"));
        cr_assert_eq(rc_cidr_last_host(&c), ip("10.90.0.254"));
        cr_assert_eq(rc_cidr_host_count(&c), 254);
        cr_assert_eq(rc_cidr_host_count(&small), 2);
        cr_assert_eq(rc_cidr_host_count(&p31), 0);
        cr_assert_eq(rc_cidr_next_host(&c, ip("10.90.0.7")), ip("10.90.0.8"));
        cr_assert_eq(rc_cidr_next_host(&c, ip("10.90.0.254")), ip("10.90.0.1"), "wraps to the first host");
        cr_assert_eq(rc_cidr_next_host(&c, ip("10.90.0.255")), ip("10.90.0.1"));
        cr_assert_eq(rc_cidr_next_host(&c, ip("192.168.0.1")), ip("10.90.0.1"));
        cr_assert_eq(rc_cidr_mask(0), 0);
        cr_assert_eq(rc_cidr_mask(32), 0xffffffffu);
}

Test(ipam, check_host)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        uint32_t gw = ip("10.90.0.1");
        struct {
                const char *addr, *msg;
        } cases[] = {
                {"10.91.0.5", "address \"10.91.0.5\" is outside the subnet \"10.90.0.0/24\""},
                {"10.90.0.0", "address \"10.90.0.0\" is not a host address of the subnet \"10.90.0.0/24\""},
                {"10.90.0.255",
                 "address \"10.90.0.255\" is not a host address of the subnet \"10.90.0.0/24\""},
                {"10.90.0.1", "address \"10.90.0.1\" is the gateway of the subnet \"10.90.0.0/24\""},
        };

        cr_assert_eq(rc_cidr_check_host(&c, gw, ip("10.90.0.2"), NULL), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                rc_error_t err = NULL;
                cr_assert_lt(rc_cidr_check_host(&c, gw, ip(cases[i].addr), &err), 0);
                cr_assert_str_eq(err->msg, cases[i].msg);
                rc_error_free(&err);
        }
}

/* ---- the store ------------------------------------------------------------------------ */

static uint32_t alloc(const struct rc_cidr *c, uint32_t want, const char *rec)
{
        rc_error_t err = NULL;
        uint32_t got = 0;

        cr_assert_eq(rc_ipam_allocate(dir, c, rc_cidr_first_host(c), want, rec, strlen(rec), &got, &err), 0,
                     "%s", err ? err->msg : "");
        return got;
}

static bool lease_exists(const char *addr)
{
        char p[400];

        snprintf(p, sizeof(p), "%s/%s", dir, addr);
        return access(p, F_OK) == 0;
}

Test(ipam, allocate_in_order_skipping_gateway, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        struct rc_lease *v = NULL;
        rc_error_t err = NULL;
        size_t n = 0;

        cr_assert_eq(alloc(&c, 0, "{\"c\":\"a\"}"), ip("10.90.0.2"));
        cr_assert_eq(alloc(&c, 0, "{\"c\":\"b\"}"), ip("10.90.0.3"));
        cr_assert_eq(alloc(&c, ip("10.90.0.50"), "{\"c\":\"c\"}"), ip("10.90.0.50"));
        cr_assert_eq(rc_ipam_list(dir, true, &v, &n, &err), 0);
        cr_assert_eq(n, 3);
        cr_assert_eq(v[0].ip, ip("10.90.0.2"));
        cr_assert_str_eq(v[0].record, "{\"c\":\"a\"}");
        cr_assert_eq(v[2].ip, ip("10.90.0.50"));
        rc_lease_list_free(v, n);
}

Test(ipam, wanted_address_in_use_or_invalid, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        rc_error_t err = NULL;
        uint32_t got = 0;

        alloc(&c, ip("10.90.0.9"), "x");
        cr_assert_lt(rc_ipam_allocate(dir, &c, ip("10.90.0.1"), ip("10.90.0.9"), "y", 1, &got, &err), 0);
        cr_assert_eq(err->status, EADDRINUSE);
        cr_assert_str_eq(err->msg, "address \"10.90.0.9\" is already in use");
        rc_error_free(&err);
        cr_assert_lt(rc_ipam_allocate(dir, &c, ip("10.90.0.1"), ip("10.1.0.9"), "y", 1, &got, &err), 0);
        cr_assert_not_null(strstr(err->msg, "outside the subnet"), "%s", err->msg);
        rc_error_free(&err);
}

Test(ipam, full_subnet, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/30");
        rc_error_t err = NULL;
        uint32_t got = 0;

        cr_assert_eq(alloc(&c, 0, "only"), ip("10.90.0.2"));
        cr_assert_lt(rc_ipam_allocate(dir, &c, ip("10.90.0.1"), 0, "more", 4, &got, &err), 0);
        cr_assert_eq(err->status, ENOSPC);
        cr_assert_str_eq(err->msg, "no free address in subnet \"10.90.0.0/30\"");
        rc_error_free(&err);
}

Test(ipam, release_and_round_robin, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        rc_error_t err = NULL;

        cr_assert_eq(alloc(&c, 0, "owner-a"), ip("10.90.0.2"));
        cr_assert_eq(alloc(&c, 0, "owner-b"), ip("10.90.0.3"));
        /* a release naming another owner keeps the lease */
        cr_assert_eq(rc_ipam_release(dir, ip("10.90.0.2"), "owner-z", &err), 0);
        cr_assert(lease_exists("10.90.0.2"));
        cr_assert_eq(rc_ipam_release(dir, ip("10.90.0.2"), "owner-a", &err), 0);
        cr_assert_not(lease_exists("10.90.0.2"));
        cr_assert_eq(rc_ipam_release(dir, ip("10.90.0.2"), NULL, &err), 0, "releasing twice is fine");
        /* the next search starts after the last allocation: .2 is not reused at once */
        cr_assert_eq(alloc(&c, 0, "owner-c"), ip("10.90.0.4"));
}

Test(ipam, list_cleans_temp_files_and_missing_dir, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        struct rc_lease *v = NULL;
        rc_error_t err = NULL;
        char p[400];
        size_t n = 9;
        int fd;

        cr_assert_eq(rc_ipam_list(dir, false, &v, &n, &err), 0, "a missing store has no leases");
        cr_assert_eq(n, 0);
        alloc(&c, 0, "x");
        snprintf(p, sizeof(p), "%s/.tmp-1-10.90.0.9", dir);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(rc_ipam_list(dir, true, &v, &n, &err), 0);
        cr_assert_eq(n, 1);
        rc_lease_list_free(v, n);
        cr_assert_neq(access(p, F_OK), 0, "temp file removed");
}

#define CONCURRENT 100

/* 100 processes allocate at once: 100 distinct addresses, 100 lease files. */
Test(ipam, concurrent_allocations_are_distinct, .init = setup, .fini = teardown, .timeout = 60)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        bool seen[256] = {false};
        int pipefd[2];
        pid_t pids[CONCURRENT];
        struct rc_lease *v = NULL;
        rc_error_t err = NULL;
        size_t n = 0;

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        for (int i = 0; i < CONCURRENT; i++) {
                pids[i] = fork();
                cr_assert_geq(pids[i], 0);
                if (pids[i] == 0) {
                        char rec[32];
                        uint32_t got = 0;
                        int len = snprintf(rec, sizeof(rec), "{\"c\":\"c%d\"}", i);

                        if (rc_ipam_allocate(dir, &c, ip("10.90.0.1"), 0, rec, (size_t)len, &got, &err) < 0)
                                _exit(1);
                        _exit(write(pipefd[1], &got, sizeof(got)) == sizeof(got) ? 0 : 2);
                }
        }
        close(pipefd[1]);
        for (int i = 0; i < CONCURRENT; i++) {
                int status;
                cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
                cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
        }
        for (int i = 0; i < CONCURRENT; i++) {
                uint32_t got;
                cr_assert_eq(read(pipefd[0], &got, sizeof(got)), (ssize_t)sizeof(got));
                cr_assert(rc_cidr_contains(&c, got));
                cr_assert_neq(got, ip("10.90.0.1"), "the gateway is never leased");
                cr_assert_not(seen[got & 255], "address .%u handed out twice", got & 255);
                seen[got & 255] = true;
        }
        close(pipefd[0]);
        cr_assert_eq(rc_ipam_list(dir, false, &v, &n, &err), 0);
        cr_assert_eq(n, CONCURRENT);
        rc_lease_list_free(v, n);
}

Test(ipam, read_one_lease, .init = setup, .fini = teardown)
{
        struct rc_cidr c = cidr("10.90.0.0/24");
        rc_error_t err = NULL;
        char *rec = NULL;

        cr_assert_eq(rc_ipam_read(dir, ip("10.90.0.2"), &rec, &err), 0, "a missing store has no lease");
        cr_assert_null(rec);
        cr_assert_eq(alloc(&c, 0, "{\"veth\":\"a\"}"), ip("10.90.0.2"));
        cr_assert_eq(rc_ipam_read(dir, ip("10.90.0.2"), &rec, &err), 1);
        cr_assert_str_eq(rec, "{\"veth\":\"a\"}");
        free(rec);
        cr_assert_eq(rc_ipam_read(dir, ip("10.90.0.3"), &rec, &err), 0, "not leased");
        cr_assert_null(rec);
}
