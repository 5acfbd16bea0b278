/* Unit tests for runtime/cgroup/devices.c: the device rules in force and the
 * BPF_PROG_TYPE_CGROUP_DEVICE program generated from them. The program is checked for
 * its structure and run through a small interpreter of the instructions the generator
 * uses, so its decisions are tested without root; loading it into the kernel (the
 * verifier's opinion) needs CAP_SYS_ADMIN and is skipped otherwise. Nothing is ever
 * attached to a cgroup here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"

#define R 2 /* BPF_DEVCG_ACC_READ */
#define W 4
#define M 1
#define CHR BPF_DEVCG_DEV_CHAR
#define BLK BPF_DEVCG_DEV_BLOCK

/* Run prog on one access; returns r0. Fails the test on an instruction it does not know
 * or a jump out of the program. */
static int64_t run(const struct bpf_insn *p, size_t n, unsigned type, unsigned access, unsigned major,
                   unsigned minor)
{
        uint32_t ctx[3] = {(access << 16) | type, major, minor};
        uint64_t reg[11] = {0};
        size_t pc = 0;

        for (size_t steps = 0; steps < 100000; steps++) {
                const struct bpf_insn *i;
                uint64_t imm;
                bool jump = false;

                cr_assert_lt(pc, n, "pc %zu out of the program", pc);
                i = &p[pc];
                imm = (uint64_t)(int64_t)i->imm;
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W:
                        cr_assert_eq(i->src_reg, BPF_REG_1);
                        cr_assert(i->off == 0 || i->off == 4 || i->off == 8);
                        reg[i->dst_reg] = ctx[i->off / 4];
                        break;
                case BPF_ALU64 | BPF_AND | BPF_K:
                        reg[i->dst_reg] &= imm;
                        break;
                case BPF_ALU64 | BPF_RSH | BPF_K:
                        reg[i->dst_reg] >>= imm;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = imm;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        jump = reg[i->dst_reg] != imm;
                        break;
                case BPF_JMP | BPF_JSET | BPF_K:
                        jump = (reg[i->dst_reg] & imm) != 0;
                        break;
                case BPF_JMP | BPF_JA:
                        jump = true;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int64_t)reg[0];
                default:
                        cr_assert_fail("unknown opcode 0x%02x at %zu", i->code, pc);
                }
                pc += 1 + (jump ? i->off : 0);
        }
        cr_assert_fail("no exit");
        return -1;
}

struct prog {
        struct bpf_insn *v;
        size_t n;
};

static struct prog compile(const struct oci_device_rule *rules, size_t n)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct prog p = {0};

        cr_assert_eq(rc_cgroup_devices_program(rules, n, &p.v, &p.n, &e), 0, "%s", e ? e->msg : "");
        return p;
}

#define ALLOW(t, maj, min, acc)                                                                             \
        {                                                                                                   \
                .allow = true, .type = (t), .major = (maj), .minor = (min), .access = acc                   \
        }
#define DENY(t, maj, min, acc)                                                                              \
        {                                                                                                   \
                .allow = false, .type = (t), .major = (maj), .minor = (min), .access = acc                  \
        }

Test(cgdev, empty_rules_deny_everything)
{
        struct prog p = compile(NULL, 0);

        cr_expect_eq(p.n, 8, "6 loads + r0 = 0 + exit");
        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 3), 0);
        cr_expect_eq(run(p.v, p.n, BLK, W, 8, 0), 0);
        free(p.v);
}

Test(cgdev, allow_all)
{
        struct oci_device_rule rules[] = {ALLOW('a', -1, -1, "rwm")};
        struct prog p = compile(rules, 1);

        cr_expect_eq(p.n, 8, "6 loads + r0 = 1 + exit: no fallthrough after a reset");
        cr_expect_eq(p.v[6].code, BPF_ALU64 | BPF_MOV | BPF_K);
        cr_expect_eq(p.v[6].imm, 1);
        cr_expect_eq(run(p.v, p.n, BLK, R | W, 8, 0), 1);
        free(p.v);
}

Test(cgdev, deny_all_then_allow_one)
{
        struct oci_device_rule rules[] = {DENY('a', -1, -1, "rwm"), ALLOW('c', 1, 3, "rwm")};
        struct prog p = compile(rules, 2);

        /* 6 loads, [type, major, minor, mov, exit], [mov 0, exit] */
        cr_expect_eq(p.n, 6 + 5 + 2);
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 1, 3), 1);
        cr_expect_eq(run(p.v, p.n, CHR, M, 1, 3), 1);
        cr_expect_eq(run(p.v, p.n, BLK, R, 1, 3), 0, "wrong type");
        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 5), 0, "wrong minor");
        cr_expect_eq(run(p.v, p.n, CHR, R, 2, 3), 0, "wrong major");
        free(p.v);
}

Test(cgdev, allow_needs_every_access)
{
        struct oci_device_rule rules[] = {ALLOW('c', 10, 200, "r"), ALLOW('c', 10, 200, "w")};
        struct prog p = compile(rules, 2);

        cr_expect_eq(run(p.v, p.n, CHR, R, 10, 200), 1);
        cr_expect_eq(run(p.v, p.n, CHR, W, 10, 200), 1);
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 10, 200), 0, "no single rule grants rw (as cgroup v1)");
        cr_expect_eq(run(p.v, p.n, CHR, M, 10, 200), 0);
        free(p.v);
}

Test(cgdev, deny_takes_any_access)
{
        struct oci_device_rule rules[] = {ALLOW('a', -1, -1, ""), DENY('c', 1, 3, "w")};
        struct prog p = compile(rules, 2);

        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 3), 1);
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 1, 3), 0, "a deny of w refuses rw");
        cr_expect_eq(run(p.v, p.n, CHR, W, 1, 5), 1);
        free(p.v);
}

Test(cgdev, wildcards)
{
        struct oci_device_rule rules[] = {ALLOW('c', 136, -1, "rwm"), ALLOW('b', -1, 0, "r")};
        struct prog p = compile(rules, 2);

        cr_expect_eq(run(p.v, p.n, CHR, R | W, 136, 7), 1);
        cr_expect_eq(run(p.v, p.n, CHR, R, 137, 7), 0);
        cr_expect_eq(run(p.v, p.n, BLK, R, 8, 0), 1);
        cr_expect_eq(run(p.v, p.n, BLK, R, 8, 1), 0);
        cr_expect_eq(run(p.v, p.n, BLK, W, 8, 0), 0);
        free(p.v);
}

Test(cgdev, later_rules_win_and_reset_drops_earlier)
{
        struct oci_device_rule rules[] = {ALLOW('c', 1, 3, "rwm"), ALLOW('c', 1, 5, "rwm"),
                                          DENY('a', -1, -1, "rwm"), ALLOW('c', 1, 5, "rwm")};
        struct prog p = compile(rules, 4);

        cr_expect_eq(p.n, 6 + 5 + 2, "the rules before the reset are dropped");
        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 3), 0, "allowed before the reset only");
        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 5), 1);
        free(p.v);
}

Test(cgdev, default_spec_rules_keep_default_devices)
{
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_device_rule spec[] = {DENY('a', -1, -1, "rwm")};
        struct oci_device_rule *all = NULL;
        size_t n = 0;
        struct prog p;

        cr_assert_eq(rc_device_rules(spec, 1, &all, &n, &e), 0);
        cr_expect_eq(n, 1 + 11, "spec, then the defaults");
        p = compile(all, n);
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 1, 3), 1, "/dev/null");
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 1, 9), 1, "/dev/urandom");
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 136, 0), 1, "/dev/pts/0");
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 5, 2), 1, "/dev/ptmx");
        cr_expect_eq(run(p.v, p.n, CHR, R | W, 10, 229), 0, "a linux.devices node gets no rule of its own");
        cr_expect_eq(run(p.v, p.n, CHR, M, 4, 1), 1, "mknod of anything");
        cr_expect_eq(run(p.v, p.n, CHR, R, 4, 1), 0, "/dev/tty1");
        cr_expect_eq(run(p.v, p.n, BLK, R, 8, 0), 0, "a disk");
        cr_expect_eq(run(p.v, p.n, CHR, R, 1, 1), 0, "/dev/mem");
        free(p.v);
        free(all);
}

/* rc_device_rule_for decides as the program does, on every combination. */
Test(cgdev, rule_for_agrees_with_the_program)
{
        struct oci_device_rule rules[] = {ALLOW('a', -1, -1, "r"),  DENY('c', 1, -1, "w"),
                                          ALLOW('c', 1, 3, "rw"),   DENY('b', -1, -1, "r"),
                                          ALLOW('a', 4, 1, "w"),    DENY('c', 5, 0, "m"),
                                          ALLOW('c', -1, 7, "rwm"), DENY('a', 4, -1, "rw")};
        const unsigned accesses[] = {R, W, M, R | W, R | W | M};
        const int types[] = {'c', 'b'};
        struct prog p = compile(rules, sizeof(rules) / sizeof(rules[0]));

        for (size_t t = 0; t < 2; t++)
                for (size_t a = 0; a < sizeof(accesses) / sizeof(accesses[0]); a++)
                        for (int major = 0; major < 6; major++)
                                for (int minor = 0; minor < 9; minor++) {
                                        long i = rc_device_rule_for(rules, sizeof(rules) / sizeof(rules[0]),
                                                                    (char)types[t], major, minor,
                                                                    accesses[a]);
                                        int64_t want = run(p.v, p.n, types[t] == 'b' ? BLK : CHR,
                                                           accesses[a], (unsigned)major, (unsigned)minor);

                                        cr_expect_eq(i >= 0 && rules[i].allow, want == 1,
                                                     "%c %d:%d access %u: rule %ld", types[t], major, minor,
                                                     accesses[a], i);
                                }
        free(p.v);
}

Test(cgdev, allow_all_decision)
{
        struct oci_device_rule privileged[] = {DENY('a', -1, -1, "rwm"), ALLOW('a', -1, -1, "rwm")};
        struct oci_device_rule then_deny[] = {ALLOW('a', -1, -1, "rwm"), DENY('c', 10, 229, "rwm")};
        struct oci_device_rule deny_all[] = {DENY('a', -1, -1, "rwm"), ALLOW('c', 1, 3, "rwm")};
        struct oci_device_rule wildcards[] = {ALLOW('c', -1, -1, "rwm"), ALLOW('b', -1, -1, "rwm")};

        cr_expect(rc_device_rules_allow_all(privileged, 2));
        cr_expect_not(rc_device_rules_allow_all(then_deny, 2));
        cr_expect_not(rc_device_rules_allow_all(deny_all, 2));
        cr_expect_not(rc_device_rules_allow_all(wildcards, 2), "no reset rule: not provably everything");
        cr_expect_not(rc_device_rules_allow_all(NULL, 0));
}

Test(cgdev, jumps_stay_in_block)
{
        struct oci_device_rule rules[] = {DENY('a', -1, -1, ""), ALLOW('c', 1, 3, "r"),
                                          DENY('b', 8, -1, "w"), ALLOW('c', -1, -1, "m")};
        struct prog p = compile(rules, 4);
        size_t start = 6;

        /* every jump lands inside the program, forward */
        for (size_t i = start; i < p.n; i++) {
                if (BPF_CLASS(p.v[i].code) != BPF_JMP || BPF_OP(p.v[i].code) == BPF_EXIT)
                        continue;
                cr_expect_geq(p.v[i].off, 0, "backward jump at %zu", i);
                cr_expect_lt(i + 1 + (size_t)p.v[i].off, p.n, "jump out of the program at %zu", i);
        }
        cr_expect_eq(p.v[p.n - 1].code, BPF_JMP | BPF_EXIT);
        free(p.v);
}

static bool can_load_bpf(void)
{
        cap_t caps = cap_get_proc();
        cap_flag_value_t v = CAP_CLEAR;

        if (caps != NULL) {
                cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v);
                cap_free(caps);
        }
        return v == CAP_SET;
}

Test(cgdev, kernel_verifier_accepts)
{
        struct oci_device_rule rules[] = {DENY('a', -1, -1, "rwm"), ALLOW('c', 1, 3, "rw"),
                                          DENY('c', 1, 3, "m"), ALLOW('b', 8, -1, "r"),
                                          ALLOW('a', 4, 1, "w")};
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_device_rule *all = NULL;
        size_t n = 0;
        struct prog p;
        int fd;

        if (!can_load_bpf())
                cr_skip_test("loading a BPF program needs CAP_SYS_ADMIN (run the unit tests as root)");
        cr_assert_eq(rc_device_rules(rules, 5, &all, &n, &e), 0);
        p = compile(all, n);
        fd = rc_cgroup_devices_load(p.v, p.n, &e);
        if (fd < 0 && e->status == EPERM)
                cr_skip_test("BPF loading is not permitted here: %s", e->msg);
        cr_assert_geq(fd, 0, "%s", e ? e->msg : "");
        close(fd);
        free(p.v);
        free(all);
}
