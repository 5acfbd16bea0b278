/* Device rules for cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program generated from the
 * rules and attached to the container's cgroup (v2 has no devices.allow/deny files).
 *
 * The kernel runs the program on every open(2) and mknod(2) of a device node with a
 * struct bpf_cgroup_dev_ctx: access_type = (access << 16) | type, major, minor; the
 * access is granted when it returns 1. The program:
 *
 *   r2 = ctx->access_type & 0xffff        type: BPF_DEVCG_DEV_CHAR or _BLOCK
 *   r3 = ctx->access_type >> 16           access: BPF_DEVCG_ACC_MKNOD|READ|WRITE
 *   r4 = ctx->major;  r5 = ctx->minor
 *   one block per rule, the last rule first:
 *     if r2 != TYPE goto next             (not for type 'a')
 *     allow rule: if r3 & ~ACCESS goto next      (it must grant all that is asked)
 *     deny rule:  if !(r3 & ACCESS) goto next    (it refuses any of what it names)
 *     if r4 != MAJOR goto next; if r5 != MINOR goto next   (not for wildcards)
 *     r0 = allow; exit
 *   r0 = 0; exit                          no rule matched: deny
 *
 * That is the semantics of the v1 device controller's lists (and of runc's emulator):
 * "a" rules reset everything before them, later rules override earlier ones. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/cgroup/cgroup.h"
#include "specs/device_rules.h"

#define MAX_ATTACHED 64

#define INSN(c, d, s, o, i)                                                                                 \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define JMP_K(op, d, imm, off) INSN(BPF_JMP | (op) | BPF_K, d, 0, off, imm)
#define MOV_K(d, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { PLACEHOLDER = 0x7fff }; /* jump offsets to "next rule", patched per block */

/* One rule's block (at most 7 instructions) at out; returns its length. */
static size_t emit_rule(const struct oci_device_rule *r, struct bpf_insn *out)
{
        unsigned acc = rc_device_access_bits(r->access),
                 all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        size_t k = 0;

        if (rc_device_rule_is_reset(r)) {
                out[k++] = MOV_K(BPF_REG_0, r->allow ? 1 : 0);
                out[k++] = EXIT();
                return k;
        }
        if (r->type != 'a')
                out[k++] = JMP_K(BPF_JNE, BPF_REG_2,
                                 r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, PLACEHOLDER);
        if (acc != all && r->allow) {
                out[k++] = JMP_K(BPF_JSET, BPF_REG_3, (int32_t)(~acc & all), PLACEHOLDER);
        } else if (acc != all) {
                out[k++] = JMP_K(BPF_JSET, BPF_REG_3, (int32_t)acc, 1);
                out[k++] = INSN(BPF_JMP | BPF_JA, 0, 0, PLACEHOLDER, 0);
        }
        if (r->major >= 0)
                out[k++] = JMP_K(BPF_JNE, BPF_REG_4, (int32_t)r->major, PLACEHOLDER);
        if (r->minor >= 0)
                out[k++] = JMP_K(BPF_JNE, BPF_REG_5, (int32_t)r->minor, PLACEHOLDER);
        out[k++] = MOV_K(BPF_REG_0, r->allow ? 1 : 0);
        out[k++] = EXIT();
        /* every "goto next" lands right after this block */
        for (size_t i = 0; i < k; i++)
                if (out[i].off == PLACEHOLDER)
                        out[i].off = (int16_t)(k - 1 - i);
        return k;
}

int rc_cgroup_devices_program(const struct oci_device_rule *rules, size_t n, struct bpf_insn **ret,
                              size_t *ret_n, rc_error_t *err)
{
        static const struct bpf_insn prologue[] = {
                INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
                INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),
                INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
                INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
                INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
                INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
        };
        size_t first = 0, k = 0, np = sizeof(prologue) / sizeof(prologue[0]);
        struct bpf_insn *v;

        if (n > RC_DEVICE_RULES_MAX)
                return rc_error_set(err, 0, "device rules: too many (%zu, at most %d)", n,
                                    RC_DEVICE_RULES_MAX);
        for (size_t i = 0; i < n; i++)
                if (rc_device_rule_is_reset(&rules[i]))
                        first = i; /* nothing before the last reset can matter */
        v = calloc(np + (n - first) * 7 + 2, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "device rules program");
        memcpy(v, prologue, sizeof(prologue));
        k = np;
        for (size_t i = n; i > first; i--) {
                k += emit_rule(&rules[i - 1], v + k);
                if (rc_device_rule_is_reset(&rules[i - 1]))
                        break; /* it returned unconditionally: no fallthrough needed */
        }
        if (n == first || !rc_device_rule_is_reset(&rules[first])) {
                v[k++] = MOV_K(BPF_REG_0, 0);
                v[k++] = EXIT();
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, char *log, size_t log_size)
{
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)insns;
        attr.insn_cnt = (uint32_t)n;
        attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
        if (log != NULL) {
                attr.log_buf = (uint64_t)(uintptr_t)log;
                attr.log_size = (uint32_t)log_size;
                attr.log_level = 1;
                log[0] = '\0';
        }
        return sys_bpf(BPF_PROG_LOAD, &attr);
}

int rc_cgroup_devices_load(const struct bpf_insn *insns, size_t n, rc_error_t *err)
{
        char log[4096];
        int fd, e;

        fd = prog_load(insns, n, NULL, 0);
        if (fd >= 0)
                return fd;
        e = errno;
        /* again with the verifier's log, for the message (a long log may not fit: ENOSPC) */
        if (e == EINVAL || e == EACCES) {
                fd = prog_load(insns, n, log, sizeof(log));
                if (fd >= 0)
                        return fd;
                if (log[0] != '\0') {
                        log[sizeof(log) - 1] = '\0';
                        for (char *p = log; *p; p++)
                                if (*p == '\n')
                                        *p = ' ';
                        return rc_error_set(err, e, "load the device rules program (verifier: %.200s)", log);
                }
        }
        return rc_error_set(err, e, "load the device rules program");
}

/* Ids of the device programs attached to this very cgroup. */
static int query_attached(int cgroup_fd, uint32_t *ids, uint32_t *ret_n, rc_error_t *err)
{
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t)cgroup_fd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
        attr.query.prog_cnt = MAX_ATTACHED;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                return rc_error_set(err, errno, "query the cgroup's device programs");
        *ret_n = attr.query.prog_cnt;
        return 0;
}

static int detach_id(int cgroup_fd, uint32_t id, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.prog_id = id;
        fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return rc_error_set(err, errno, "open device program %u", id);
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "detach device program %u", id);
        return 0;
}

int rc_cgroup_devices_attach(int cgroup_fd, int prog_fd, rc_error_t *err)
{
        uint32_t old[MAX_ATTACHED], n_old = 0;
        union bpf_attr attr;

        if (query_attached(cgroup_fd, old, &n_old, err) < 0)
                return -1;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)prog_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return rc_error_set(err, errno, "attach the device rules program to the cgroup");
        /* the new program is in force: the old ones can go (never a window without) */
        for (uint32_t i = 0; i < n_old && i < MAX_ATTACHED; i++)
                if (detach_id(cgroup_fd, old[i], err) < 0)
                        return -1;
        return 0;
}
