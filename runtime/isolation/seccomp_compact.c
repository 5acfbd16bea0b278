/* A smaller BPF program with the same output as libseccomp's; see seccomp_compact.h. */
#include "runtime/isolation/seccomp_compact.h"

#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OP_LD_ABS (BPF_LD | BPF_W | BPF_ABS)
#define OP_RET_K (BPF_RET | BPF_K)
#define OP_JA (BPF_JMP | BPF_JA)
#define OP_JEQ (BPF_JMP | BPF_JEQ | BPF_K)
#define OP_JGT (BPF_JMP | BPF_JGT | BPF_K)
#define OP_JGE (BPF_JMP | BPF_JGE | BPF_K)
#define OP_JSET (BPF_JMP | BPF_JSET | BPF_K)
#define OP_AND_K (BPF_ALU | BPF_AND | BPF_K)

#define OFF_NR 0
#define OFF_ARCH 4

const char *rc_seccomp_compact_build(void)
{
        return __DATE__ " " __TIME__;
}

struct u32set {
        uint32_t *v;
        size_t n, cap;
};

static int set_add(struct u32set *s, uint32_t x)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i] == x)
                        return 0;
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                uint32_t *v = realloc(s->v, cap * sizeof(*v));

                if (v == NULL)
                        return -1;
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = x;
        return 0;
}

static bool set_has(const struct u32set *s, uint32_t x)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i] == x)
                        return true;
        return false;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

static bool jump_taken(uint16_t code, uint32_t a, uint32_t k)
{
        switch (code) {
        case OP_JEQ:
                return a == k;
        case OP_JGT:
                return a > k;
        case OP_JGE:
                return a >= k;
        default: /* OP_JSET */
                return (a & k) != 0;
        }
}

static bool is_cond_jump(uint16_t code)
{
        return code == OP_JEQ || code == OP_JGT || code == OP_JGE || code == OP_JSET;
}

bool rc_seccomp_emulate(const struct sock_filter *prog, size_t n, uint32_t arch, uint32_t nr,
                        const uint64_t args[6], uint32_t *ret)
{
        struct seccomp_data d = {.nr = (int)nr, .arch = arch};
        uint32_t a = 0;

        memcpy(d.args, args, sizeof(d.args));
        for (size_t pc = 0; pc < n; pc++) {
                const struct sock_filter *f = &prog[pc];

                switch (f->code) {
                case OP_LD_ABS:
                        if (f->k > sizeof(d) - 4 || f->k % 4 != 0)
                                return false;
                        memcpy(&a, (const char *)&d + f->k, 4); /* native byte order, as the kernel's */
                        break;
                case OP_RET_K:
                        *ret = f->k;
                        return true;
                case OP_JA:
                        if (f->k >= n - pc)
                                return false;
                        pc += f->k;
                        break;
                case OP_JEQ:
                case OP_JGT:
                case OP_JGE:
                case OP_JSET:
                        pc += jump_taken(f->code, a, f->k) ? f->jt : f->jf;
                        break;
                case OP_AND_K:
                        a &= f->k;
                        break;
                default:
                        return false;
                }
        }
        return false;
}

/* What A holds during the partial evaluation */
enum src { SRC_CONST, SRC_NR, SRC_ARCH, SRC_OTHER_ARCH };

/* An outcome: a return value, or the pc of the first load of an argument. */
struct outcome {
        bool arg;
        uint32_t v;
};

/* Run prog with nr and (unless other_arch) arch known, arguments unknown. Comparisons of
 * an architecture that is none of the compared ones are false (their constants go into
 * cands). Returns -1 where the outcome could depend on more than comparisons of the
 * number and the architecture with constants. */
static int partial(const struct sock_filter *prog, size_t n, bool other_arch, uint32_t arch, uint32_t nr,
                   struct u32set *cands, struct outcome *o)
{
        enum src src = SRC_CONST;
        uint32_t a = 0;

        for (size_t pc = 0; pc < n; pc++) {
                const struct sock_filter *f = &prog[pc];

                switch (f->code) {
                case OP_LD_ABS:
                        if (f->k == OFF_NR) {
                                a = nr;
                                src = SRC_NR;
                        } else if (f->k == OFF_ARCH) {
                                a = arch;
                                src = other_arch ? SRC_OTHER_ARCH : SRC_ARCH;
                        } else {
                                *o = (struct outcome){.arg = true, .v = (uint32_t)pc};
                                return 0;
                        }
                        break;
                case OP_RET_K:
                        *o = (struct outcome){.arg = false, .v = f->k};
                        return 0;
                case OP_JA:
                        if (f->k >= n - pc)
                                return -1;
                        pc += f->k;
                        break;
                case OP_JEQ:
                case OP_JGT:
                case OP_JGE:
                case OP_JSET:
                        if (src == SRC_OTHER_ARCH) {
                                if (f->code != OP_JEQ || (cands != NULL && set_add(cands, f->k) < 0))
                                        return -1;
                                pc += f->jf;
                                break;
                        }
                        /* intervals of numbers hold only for order comparisons */
                        if (f->code == OP_JSET && src != SRC_CONST)
                                return -1;
                        pc += jump_taken(f->code, a, f->k) ? f->jt : f->jf;
                        break;
                case OP_AND_K:
                        if (src != SRC_CONST)
                                return -1;
                        a &= f->k;
                        break;
                default:
                        return -1;
                }
        }
        return -1;
}

struct interval {
        uint32_t lo; /* from lo to the next interval's lo */
        struct outcome o;
};

struct section {
        bool other; /* every architecture not in cands */
        uint32_t arch;
        struct interval *iv;
        size_t n_iv;
        size_t at; /* where its code starts; SIZE_MAX: none, the others' serves */
        size_t ja_at; /* the dispatch's jump to it */
};

static bool same_outcome(struct outcome x, struct outcome y)
{
        return x.arg == y.arg && x.v == y.v;
}

static int intervals(const struct sock_filter *prog, size_t n, const uint32_t *bps, size_t n_bps,
                     struct section *s, struct u32set *cands)
{
        s->iv = calloc(n_bps, sizeof(*s->iv));
        if (s->iv == NULL)
                return -1;
        for (size_t i = 0; i < n_bps; i++) {
                struct outcome o;

                if (partial(prog, n, s->other, s->arch, bps[i], cands, &o) < 0)
                        return -1;
                if (s->n_iv > 0 && same_outcome(s->iv[s->n_iv - 1].o, o))
                        continue;
                s->iv[s->n_iv++] = (struct interval){.lo = bps[i], .o = o};
        }
        return 0;
}

struct emit {
        struct sock_filter *p;
        size_t n, cap;
        /* leaves jumping into the copy: instruction index, original pc */
        size_t (*fix)[2];
        size_t n_fix, cap_fix;
};

static int put(struct emit *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
        if (e->n == e->cap) {
                size_t cap = e->cap ? e->cap * 2 : 256;
                struct sock_filter *p = realloc(e->p, cap * sizeof(*p));

                if (p == NULL)
                        return -1;
                e->p = p;
                e->cap = cap;
        }
        e->p[e->n++] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
        return 0;
}

static int put_fix(struct emit *e, size_t orig_pc)
{
        if (e->n_fix == e->cap_fix) {
                size_t cap = e->cap_fix ? e->cap_fix * 2 : 16;
                size_t(*f)[2] = realloc(e->fix, cap * sizeof(*f));

                if (f == NULL)
                        return -1;
                e->fix = f;
                e->cap_fix = cap;
        }
        e->fix[e->n_fix][0] = e->n;
        e->fix[e->n_fix][1] = orig_pc;
        e->n_fix++;
        return put(e, OP_JA, 0, 0, 0);
}

/* A leaf: the return, or a jump into the copy of the argument code. */
static int emit_leaf(struct emit *e, const struct interval *iv)
{
        return iv->o.arg ? put_fix(e, iv->o.v) : put(e, OP_RET_K, 0, 0, iv->o.v);
}

/* A jump of the shared-return tree still to point at its section's `ret v`. */
struct pending {
        size_t at;
        bool jt;
        uint32_t v;
};

struct pendings {
        struct pending *p;
        size_t n, cap;
};

static int add_pending(struct pendings *ps, size_t at, bool jt, uint32_t v)
{
        if (ps->n == ps->cap) {
                size_t cap = ps->cap ? ps->cap * 2 : 64;
                struct pending *p = realloc(ps->p, cap * sizeof(*p));

                if (p == NULL)
                        return -1;
                ps->p = p;
                ps->cap = cap;
        }
        ps->p[ps->n++] = (struct pending){.at = at, .jt = jt, .v = v};
        return 0;
}

/* A binary tree over the intervals iv[lo..hi) (two or more), A holding the number:
 * "nr > lo(mid) - 1" goes right, else left. A leaf that returns has no instruction of its
 * own: the comparison jumps to the one `ret` per value at the end of the section
 * (emit_pool). The kernel converts a `ret` to two eBPF instructions, and a comparison
 * with its next instruction on either side to one: against a `ret` per leaf, about half
 * the classic program and less than half the eBPF one to convert, JIT and walk per
 * syscall number when the action cache is filled. A leaf that reads arguments is a `ja`
 * into the copy. -1: out of memory, or a jump longer than 255 (a section of more than
 * ~500 intervals: the original is kept). */
static int emit_tree(struct emit *e, struct pendings *ps, const struct interval *iv, size_t lo, size_t hi)
{
        size_t mid = lo + (hi - lo) / 2, at = e->n;

        if (put(e, OP_JGT, 0, 0, iv[mid].lo - 1) < 0)
                return -1;
        /* nr <= lo(mid) - 1: the left half, next or a pooled return */
        if (mid - lo > 1) {
                if (emit_tree(e, ps, iv, lo, mid) < 0)
                        return -1;
        } else if (iv[lo].o.arg) {
                if (emit_leaf(e, &iv[lo]) < 0)
                        return -1;
        } else if (add_pending(ps, at, false, iv[lo].o.v) < 0) {
                return -1;
        }
        /* the right half, after the left one */
        if (hi - mid == 1 && !iv[mid].o.arg)
                return add_pending(ps, at, true, iv[mid].o.v);
        if (e->n - (at + 1) > 255)
                return -1;
        e->p[at].jt = (uint8_t)(e->n - (at + 1));
        return hi - mid > 1 ? emit_tree(e, ps, iv, mid, hi) : emit_leaf(e, &iv[mid]);
}

/* After a section's tree: one `ret` per value its pending jumps want, and the jumps. */
static int emit_pool(struct emit *e, struct pendings *ps)
{
        size_t pool = e->n;

        for (size_t i = 0; i < ps->n; i++) {
                const struct pending *q = &ps->p[i];
                size_t k = pool, off;

                while (k < e->n && e->p[k].k != q->v)
                        k++;
                if (k == e->n && put(e, OP_RET_K, 0, 0, q->v) < 0)
                        return -1;
                off = k - (q->at + 1);
                if (off > 255)
                        return -1;
                if (q->jt)
                        e->p[q->at].jt = (uint8_t)off;
                else
                        e->p[q->at].jf = (uint8_t)off;
        }
        ps->n = 0;
        return 0;
}

/* The instructions reachable from the argument loads, in their order */
static int mark_reachable(const struct sock_filter *prog, size_t n, const struct section *secs,
                          size_t n_secs, bool *in)
{
        size_t *todo = malloc(n * 2 * sizeof(*todo)), top = 0;

        if (todo == NULL)
                return -1;
        for (size_t s = 0; s < n_secs; s++)
                for (size_t i = 0; i < secs[s].n_iv; i++)
                        if (secs[s].iv[i].o.arg && !in[secs[s].iv[i].o.v]) {
                                in[secs[s].iv[i].o.v] = true;
                                todo[top++] = secs[s].iv[i].o.v;
                        }
        while (top > 0) {
                size_t pc = todo[--top], next[2], k = 0;
                const struct sock_filter *f = &prog[pc];

                if (f->code == OP_RET_K)
                        continue;
                if (f->code == OP_JA)
                        next[k++] = pc + 1 + f->k;
                else if (is_cond_jump(f->code)) {
                        next[k++] = pc + 1 + f->jt;
                        next[k++] = pc + 1 + f->jf;
                } else {
                        next[k++] = pc + 1;
                }
                for (size_t j = 0; j < k; j++) {
                        if (next[j] >= n) {
                                free(todo);
                                return -1;
                        }
                        if (!in[next[j]]) {
                                in[next[j]] = true;
                                todo[top++] = next[j];
                        }
                }
        }
        free(todo);
        return 0;
}

/* Argument values for the check: around each constant the copied code compares with, in
 * either half of a 64-bit argument. */
static int arg_values(const struct sock_filter *prog, size_t n, const bool *in, uint64_t **ret,
                      size_t *ret_n)
{
        size_t cap = 8, m = 0;
        uint64_t *v = malloc(cap * sizeof(*v));

        if (v == NULL)
                return -1;
        v[m++] = 0;
        v[m++] = 1;
        v[m++] = UINT64_MAX;
        v[m++] = UINT32_MAX;
        v[m++] = (uint64_t)1 << 32;
        for (size_t pc = 0; pc < n; pc++) {
                uint32_t k = prog[pc].k;
                uint64_t add[6] = {k,
                                   (uint64_t)k + 1,
                                   (uint64_t)k - 1,
                                   (uint64_t)k << 32,
                                   (uint64_t)k | (uint64_t)k << 32,
                                   (uint64_t)k | (uint64_t)1 << 32};

                if (!in[pc] || !(is_cond_jump(prog[pc].code) || prog[pc].code == OP_AND_K))
                        continue;
                if (m + 6 > cap) {
                        uint64_t *nv;

                        cap = (m + 6) * 2;
                        nv = realloc(v, cap * sizeof(*v));
                        if (nv == NULL) {
                                free(v);
                                return -1;
                        }
                        v = nv;
                }
                memcpy(v + m, add, sizeof(add));
                m += 6;
        }
        *ret = v;
        *ret_n = m;
        return 0;
}

static bool same_on(const struct sock_filter *a, size_t na, const struct sock_filter *b, size_t nb,
                    uint32_t arch, uint32_t nr, const uint64_t args[6])
{
        uint32_t x, y;

        return rc_seccomp_emulate(a, na, arch, nr, args, &x) &&
               rc_seccomp_emulate(b, nb, arch, nr, args, &y) && x == y;
}

static bool check(const struct sock_filter *prog, size_t n, const struct sock_filter *out, size_t n_out,
                  const struct section *secs, size_t n_secs, const uint32_t *bps, size_t n_bps,
                  const uint64_t *vals, size_t n_vals)
{
        for (size_t s = 0; s < n_secs; s++) {
                for (size_t i = 0; i < n_bps; i++) {
                        for (int d = -1; d <= 1; d++) {
                                uint32_t nr = bps[i] + (uint32_t)d;
                                uint64_t args[6] = {0};
                                struct outcome o;

                                if (partial(prog, n, secs[s].other, secs[s].arch, nr, NULL, &o) < 0)
                                        return false;
                                if (!same_on(prog, n, out, n_out, secs[s].arch, nr, args))
                                        return false;
                                memset(args, 0xff, sizeof(args));
                                if (!same_on(prog, n, out, n_out, secs[s].arch, nr, args))
                                        return false;
                                if (!o.arg)
                                        continue;
                                for (size_t v = 0; v < n_vals; v++) {
                                        for (int j = 0; j <= 6; j++) {
                                                for (int m = 0; m < 6; m++)
                                                        args[m] =
                                                                (j == 6 || j == m)
                                                                        ? vals[v]
                                                                        : vals[(v + 1 + (size_t)m) % n_vals];
                                                if (!same_on(prog, n, out, n_out, secs[s].arch, nr, args))
                                                        return false;
                                        }
                                }
                        }
                }
        }
        return true;
}

/* The compact program: a dispatch on the architecture, a tree per section with its pool
 * of returns, the copy of the argument code. -1: out of memory, or not smaller, or a jump
 * too long. */
static int assemble(const struct sock_filter *prog, size_t n, struct section *secs, size_t n_secs,
                    const bool *in, size_t *newpos, struct emit *e)
{
        struct pendings ps = {0};
        size_t copy_at;

        for (size_t s = 0; s < n_secs; s++)
                secs[s].at = 0;
        /* dispatch on the architecture; a section equal to the others' is left out */
        if (put(e, OP_LD_ABS, 0, 0, OFF_ARCH) < 0)
                goto fail;
        for (size_t s = 1; s < n_secs; s++) {
                bool same = secs[s].n_iv == secs[0].n_iv;

                for (size_t i = 0; same && i < secs[s].n_iv; i++)
                        same = secs[s].iv[i].lo == secs[0].iv[i].lo &&
                               same_outcome(secs[s].iv[i].o, secs[0].iv[i].o);
                if (same) {
                        secs[s].at = SIZE_MAX;
                        continue;
                }
                if (put(e, OP_JEQ, 0, 1, secs[s].arch) < 0)
                        goto fail;
                secs[s].ja_at = e->n;
                if (put(e, OP_JA, 0, 0, 0) < 0)
                        goto fail;
        }
        for (size_t s = 0; s < n_secs; s++) {
                if (secs[s].at == SIZE_MAX)
                        continue;
                secs[s].at = e->n;
                if (secs[s].n_iv > 1 && put(e, OP_LD_ABS, 0, 0, OFF_NR) < 0)
                        goto fail;
                if (secs[s].n_iv == 1) {
                        if (emit_leaf(e, &secs[s].iv[0]) < 0)
                                goto fail;
                } else if (emit_tree(e, &ps, secs[s].iv, 0, secs[s].n_iv) < 0 || emit_pool(e, &ps) < 0) {
                        goto fail;
                }
        }
        for (size_t s = 1; s < n_secs; s++)
                if (secs[s].at != SIZE_MAX)
                        e->p[secs[s].ja_at].k = (uint32_t)(secs[s].at - (secs[s].ja_at + 1));

        /* the copy, in the original order: its jumps only get shorter */
        copy_at = e->n;
        for (size_t pc = 0, m = 0; pc < n; pc++)
                if (in[pc])
                        newpos[pc] = copy_at + m++;
        for (size_t pc = 0; pc < n; pc++) {
                struct sock_filter f = prog[pc];

                if (!in[pc])
                        continue;
                if (f.code == OP_JA)
                        f.k = (uint32_t)(newpos[pc + 1 + f.k] - (newpos[pc] + 1));
                else if (is_cond_jump(f.code)) {
                        f.jt = (uint8_t)(newpos[pc + 1 + f.jt] - (newpos[pc] + 1));
                        f.jf = (uint8_t)(newpos[pc + 1 + f.jf] - (newpos[pc] + 1));
                } else if (f.code != OP_RET_K && newpos[pc + 1] != newpos[pc] + 1) {
                        goto fail; /* falls through to an instruction not copied next: cannot be */
                }
                if (put(e, f.code, f.jt, f.jf, f.k) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < e->n_fix; i++)
                e->p[e->fix[i][0]].k = (uint32_t)(newpos[e->fix[i][1]] - (e->fix[i][0] + 1));
        /* the kernel wants a return last; this one is never reached */
        if (e->p[e->n - 1].code != OP_RET_K && put(e, OP_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS) < 0)
                goto fail;
        if (e->n >= n || e->n > BPF_MAXINSNS)
                goto fail;

        free(ps.p);
        return 0;
fail:
        free(ps.p);
        return -1;
}

int rc_seccomp_compact(const struct sock_filter *prog, size_t n, struct sock_filter **ret, size_t *ret_n)
{
        struct u32set consts = {0}, cands = {0};
        struct section *secs = NULL;
        struct emit e = {0};
        bool *in = NULL;
        size_t *newpos = NULL, n_secs = 0, n_bps = 0, n_vals = 0;
        uint32_t *bps = NULL;
        uint64_t *vals = NULL;
        int ok = 0;

        if (n == 0 || n > BPF_MAXINSNS)
                return 0;
        /* the numbers where a comparison can change the outcome: 0, each K and K+1 */
        consts.v = malloc((2 * n + 1) * sizeof(*consts.v));
        if (consts.v == NULL)
                goto out;
        consts.v[consts.n++] = 0;
        for (size_t pc = 0; pc < n; pc++) {
                if (!is_cond_jump(prog[pc].code))
                        continue;
                consts.v[consts.n++] = prog[pc].k;
                if (prog[pc].k != UINT32_MAX)
                        consts.v[consts.n++] = prog[pc].k + 1;
        }
        qsort(consts.v, consts.n, sizeof(*consts.v), cmp_u32);
        bps = consts.v;
        for (size_t i = 0; i < consts.n; i++) /* unique */
                if (n_bps == 0 || bps[n_bps - 1] != consts.v[i])
                        bps[n_bps++] = consts.v[i];

        /* any other architecture first: it names the ones compared with */
        secs = calloc(1, sizeof(*secs));
        if (secs == NULL)
                goto out;
        secs[0].other = true;
        n_secs = 1;
        if (intervals(prog, n, bps, n_bps, &secs[0], &cands) < 0)
                goto out;
        while (set_has(&cands, secs[0].arch)) /* a value standing for the others */
                secs[0].arch++;
        {
                struct section *more = realloc(secs, (1 + cands.n) * sizeof(*secs));

                if (more == NULL)
                        goto out;
                secs = more;
        }
        for (size_t i = 0; i < cands.n; i++) {
                struct section *s = &secs[n_secs];

                *s = (struct section){.arch = cands.v[i]};
                n_secs++;
                if (intervals(prog, n, bps, n_bps, s, NULL) < 0)
                        goto out;
        }

        in = calloc(n, sizeof(*in));
        newpos = calloc(n, sizeof(*newpos));
        if (in == NULL || newpos == NULL || mark_reachable(prog, n, secs, n_secs, in) < 0)
                goto out;

        if (assemble(prog, n, secs, n_secs, in, newpos, &e) < 0)
                goto out;

        if (arg_values(prog, n, in, &vals, &n_vals) < 0 ||
            !check(prog, n, e.p, e.n, secs, n_secs, bps, n_bps, vals, n_vals))
                goto out;
        *ret = e.p;
        *ret_n = e.n;
        e.p = NULL;
        ok = 1;
out:
        for (size_t s = 0; s < n_secs; s++)
                free(secs[s].iv);
        free(secs);
        free(consts.v);
        free(cands.v);
        free(in);
        free(newpos);
        free(vals);
        free(e.p);
        free(e.fix);
        return ok;
}
