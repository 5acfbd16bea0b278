/* seccomp: compile linux.seccomp with libseccomp in the runtime, load the exported BPF
 * in the container init; see seccomp.h for the split and its reasons. */
#include "runtime/isolation/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fdpass.h"
#include "runtime/isolation/seccomp_cache.h"
#include "runtime/isolation/seccomp_compact.h"
#include "specs/json.h"
#include "specs/names.h"
#include "specs/state.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif

/* The kernel caps SECCOMP_RET_DATA of an ERRNO action at MAX_ERRNO. */
#define MAX_ERRNO_RET 4095u
#define MAX_CONDITIONS 6

static void seccomp_ctx_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx != NULL)
                seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_ctx_releasep)))

static int lower_errno(bool has, unsigned value, const char *what, unsigned *ret, rc_error_t *err)
{
        if (!has) {
                *ret = EPERM;
                return 0;
        }
        if (value > MAX_ERRNO_RET)
                return rc_error_set(err, EINVAL, "seccomp %s %u out of range 0..%u", what, value,
                                    MAX_ERRNO_RET);
        *ret = value;
        return 0;
}

/* A config action to libseccomp's; errnoRet applies to ERRNO and (as the tracer's
 * message, like runc) TRACE, EPERM when unset. */
static int lower_action(enum oci_seccomp_action a, bool has_errno, unsigned errno_ret, uint32_t *ret,
                        rc_error_t *err)
{
        unsigned e = EPERM;

        switch (a) {
        case OCI_SECCOMP_ALLOW:
                *ret = SCMP_ACT_ALLOW;
                return 0;
        case OCI_SECCOMP_ERRNO:
        case OCI_SECCOMP_TRACE:
                if (lower_errno(has_errno, errno_ret, "errnoRet", &e, err) < 0)
                        return -1;
                *ret = a == OCI_SECCOMP_ERRNO ? SCMP_ACT_ERRNO(e) : SCMP_ACT_TRACE(e);
                return 0;
        case OCI_SECCOMP_KILL:
        case OCI_SECCOMP_KILL_THREAD:
                *ret = SCMP_ACT_KILL_THREAD;
                return 0;
        case OCI_SECCOMP_KILL_PROCESS:
                *ret = SCMP_ACT_KILL_PROCESS;
                return 0;
        case OCI_SECCOMP_TRAP:
                *ret = SCMP_ACT_TRAP;
                return 0;
        case OCI_SECCOMP_LOG:
                *ret = SCMP_ACT_LOG;
                return 0;
        case OCI_SECCOMP_NOTIFY:
                *ret = SCMP_ACT_NOTIFY;
                return 0;
        }
        return rc_error_set(err, EINVAL, "unknown seccomp action %d", (int)a);
}

static enum scmp_compare lower_op(enum oci_seccomp_op op)
{
        switch (op) {
        case OCI_SECCOMP_OP_NE:
                return SCMP_CMP_NE;
        case OCI_SECCOMP_OP_LT:
                return SCMP_CMP_LT;
        case OCI_SECCOMP_OP_LE:
                return SCMP_CMP_LE;
        case OCI_SECCOMP_OP_EQ:
                return SCMP_CMP_EQ;
        case OCI_SECCOMP_OP_GE:
                return SCMP_CMP_GE;
        case OCI_SECCOMP_OP_GT:
                return SCMP_CMP_GT;
        case OCI_SECCOMP_OP_MASKED_EQ:
                return SCMP_CMP_MASKED_EQ;
        }
        return _SCMP_CMP_MIN; /* invalid: libseccomp rejects it */
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 if unknown. */
static uint32_t arch_token(const char *name)
{
        const char *prefix = "SCMP_ARCH_";
        char lower[32];
        size_t i;

        if (strncmp(name, prefix, strlen(prefix)) != 0)
                return 0;
        name += strlen(prefix);
        for (i = 0; name[i] != '\0' && i + 1 < sizeof(lower); i++)
                lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
        lower[i] = '\0';
        return seccomp_arch_resolve_name(lower);
}

static int add_architectures(scmp_filter_ctx ctx, const struct oci_seccomp *s, const struct rc_logger *log,
                             rc_error_t *err)
{
        for (size_t i = 0; i < s->n_architectures; i++) {
                uint32_t token = arch_token(s->architectures[i]);
                int r;

                if (token == 0)
                        return rc_error_set(err, EINVAL, "seccomp architecture \"%s\" is not supported",
                                            s->architectures[i]);
                r = seccomp_arch_add(ctx, token);
                if (r == -EDOM) {
                        /* byte order unlike the native one: this kernel cannot run it */
                        rc_log(log, RC_LOG_DEBUG,
                               "seccomp: architecture \"%s\" cannot share a filter with "
                               "the native one, skipped",
                               s->architectures[i]);
                        continue;
                }
                if (r < 0 && r != -EEXIST) /* the native one is always there */
                        return rc_error_set(err, -r, "add seccomp architecture \"%s\"", s->architectures[i]);
        }
        return 0;
}

/* Lower the conditions; *ret_split says whether an argument is tested more than once. */
static int lower_conditions(const struct oci_seccomp_syscall *sc, struct scmp_arg_cmp *conds,
                            bool *ret_split, rc_error_t *err)
{
        unsigned seen = 0;

        *ret_split = false;
        for (size_t i = 0; i < sc->n_args; i++) {
                const struct oci_seccomp_arg *a = &sc->args[i];

                if (a->index >= MAX_CONDITIONS)
                        return rc_error_set(err, EINVAL, "seccomp argument index %u out of range 0..%d",
                                            a->index, MAX_CONDITIONS - 1);
                if (seen & (1u << a->index))
                        *ret_split = true;
                seen |= 1u << a->index;
                conds[i] = (struct scmp_arg_cmp){.arg = a->index,
                                                 .op = lower_op(a->op),
                                                 .datum_a = a->value,
                                                 .datum_b = a->value_two};
        }
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
                    const struct scmp_arg_cmp *conds, unsigned n, rc_error_t *err)
{
        int r = seccomp_rule_add_array(ctx, action, nr, n, n > 0 ? conds : NULL);

        if (r < 0)
                return rc_error_set(err, -r, "add seccomp rule for \"%s\"", name);
        return 0;
}

static int add_syscall(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, uint32_t def_action,
                       const struct rc_logger *log, rc_error_t *err)
{
        _cleanup_free_ struct scmp_arg_cmp *conds = NULL;
        uint32_t action;
        bool split = false;

        if (lower_action(sc->action, sc->has_errno_ret, sc->errno_ret, &action, err) < 0)
                return -1;
        if (action == def_action) {
                rc_log(log, RC_LOG_DEBUG, "seccomp: rule for \"%s\" has the default action, skipped",
                       sc->n_names > 0 ? sc->names[0] : "");
                return 0;
        }
        if (sc->n_args > 0) {
                conds = calloc(sc->n_args, sizeof(*conds));
                if (conds == NULL)
                        return rc_error_set(err, ENOMEM, "seccomp conditions");
                if (lower_conditions(sc, conds, &split, err) < 0)
                        return -1;
        }
        for (size_t i = 0; i < sc->n_names; i++) {
                const char *name = sc->names[i];
                int nr = seccomp_syscall_resolve_name(name);

                if (nr == __NR_SCMP_ERROR) {
                        rc_log(log, RC_LOG_DEBUG, "seccomp: unknown syscall \"%s\" skipped", name);
                        continue;
                }
                if (sc->n_args == 0 || !split) {
                        if (add_rule(ctx, action, nr, name, conds, (unsigned)sc->n_args, err) < 0)
                                return -1;
                        continue;
                }
                for (size_t j = 0; j < sc->n_args; j++)
                        if (add_rule(ctx, action, nr, name, &conds[j], 1, err) < 0)
                                return -1;
        }
        return 0;
}

/* Whether the profile names `name` (in a rule with a NOTIFY action when notify_only). */
static bool profile_names(const struct oci_seccomp *s, const char *name, bool notify_only)
{
        for (size_t i = 0; i < s->n_syscalls; i++) {
                if (notify_only && s->syscalls[i].action != OCI_SECCOMP_NOTIFY)
                        continue;
                for (size_t j = 0; j < s->syscalls[i].n_names; j++)
                        if (strcmp(s->syscalls[i].names[j], name) == 0)
                                return true;
        }
        return false;
}

static bool uses_notify(const struct oci_seccomp *s)
{
        for (size_t i = 0; i < s->n_syscalls; i++)
                if (s->syscalls[i].action == OCI_SECCOMP_NOTIFY)
                        return true;
        return false;
}

/* glibc tries clone3 first and falls back to clone only on ENOSYS; a filter cannot see
 * clone3's flags (they are behind a pointer), so a restrictive profile that does not
 * mention clone3 must answer ENOSYS rather than its default errno. */
static int map_clone3(scmp_filter_ctx ctx, const struct oci_seccomp *s, uint32_t def_action,
                      const struct rc_logger *log, rc_error_t *err)
{
        int nr;

        if (s->default_action == OCI_SECCOMP_ALLOW || s->default_action == OCI_SECCOMP_LOG ||
            def_action == SCMP_ACT_ERRNO(ENOSYS) || profile_names(s, "clone3", false))
                return 0;
        nr = seccomp_syscall_resolve_name("clone3");
        if (nr == __NR_SCMP_ERROR)
                return 0;
        rc_log(log, RC_LOG_DEBUG, "seccomp: clone3 not in the profile, answering ENOSYS");
        return add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, "clone3", NULL, 0, err);
}

/* The filter's kernel flags; a listener is added for NOTIFY rules. */
static int plan_flags(const struct oci_seccomp *s, const struct rc_logger *log, unsigned *ret,
                      rc_error_t *err)
{
        unsigned flags = s->flags;

        if (s->default_action == OCI_SECCOMP_NOTIFY)
                return rc_error_set(err, EINVAL, "seccomp defaultAction SCMP_ACT_NOTIFY is not supported");
        if (uses_notify(s)) {
                if (s->listener_path == NULL || s->listener_path[0] == '\0')
                        return rc_error_set(err, EINVAL,
                                            "seccomp action SCMP_ACT_NOTIFY requires listenerPath");
                if (profile_names(s, "sendmsg", true))
                        return rc_error_set(
                                err, EINVAL,
                                "seccomp action SCMP_ACT_NOTIFY cannot be used for \"sendmsg\": the "
                                "runtime sends the listener with it");
                flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                /* TSYNC and a listener are exclusive; the init has a single thread anyway */
                if (flags & SECCOMP_FILTER_FLAG_TSYNC) {
                        rc_log(log, RC_LOG_DEBUG, "seccomp: TSYNC dropped, the filter has a listener");
                        flags &= ~(unsigned)SECCOMP_FILTER_FLAG_TSYNC;
                }
        } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
                return rc_error_set(err, EINVAL,
                                    "seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV requires an "
                                    "SCMP_ACT_NOTIFY rule");
        }
        *ret = flags;
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct rc_seccomp_prog *p, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ struct sock_filter *insns = NULL;
        struct stat st;
        ssize_t n;
        int r;

        fd = memfd_create("rc-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "create memfd for the seccomp filter");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return rc_error_set(err, -r, "export seccomp filter");
        if (fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "stat the exported seccomp filter");
        if (st.st_size <= 0 || (size_t)st.st_size % sizeof(struct sock_filter) != 0)
                return rc_error_set(err, EINVAL, "exported seccomp filter has a bad size %lld",
                                    (long long)st.st_size);
        if ((size_t)st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return rc_error_set(err, E2BIG, "seccomp filter has %zu instructions, more than %d",
                                    (size_t)st.st_size / sizeof(struct sock_filter), BPF_MAXINSNS);
        insns = malloc((size_t)st.st_size);
        if (insns == NULL)
                return rc_error_set(err, ENOMEM, "seccomp filter");
        n = pread(fd, insns, (size_t)st.st_size, 0);
        if (n != st.st_size)
                return rc_error_set(err, n < 0 ? errno : EIO, "read the exported seccomp filter");
        p->n_insns = (size_t)st.st_size / sizeof(struct sock_filter);
        p->insns = TAKE_PTR(insns);
        return 0;
}

static int build_filter(scmp_filter_ctx ctx, const struct oci_seccomp *s, uint32_t def_action,
                        const struct rc_logger *log, rc_error_t *err)
{
        /* errno values as the kernel reports them, not libseccomp's remapping */
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
        /* a binary tree of syscall numbers: large profiles cost O(log n) per syscall */
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (add_architectures(ctx, s, log, err) < 0)
                return -1;
        for (size_t i = 0; i < s->n_syscalls; i++)
                if (add_syscall(ctx, &s->syscalls[i], def_action, log, err) < 0)
                        return rc_error_wrap(err, ".linux.seccomp.syscalls[%zu]", i);
        return map_clone3(ctx, s, def_action, log, err);
}

/* libseccomp's program, or a smaller one with the same output (seccomp_compact.h): the
 * kernel's work to load a filter grows with its length. */
static void compact(struct rc_seccomp_prog *p, const struct rc_logger *log)
{
        struct sock_filter *small = NULL;
        size_t n = 0;

        if (rc_seccomp_compact(p->insns, p->n_insns, &small, &n) != 1) {
                rc_log(log, RC_LOG_DEBUG, "seccomp: libseccomp's program kept");
                return;
        }
        rc_log(log, RC_LOG_DEBUG, "seccomp: %zu BPF instructions instead of libseccomp's %zu", n,
               p->n_insns);
        free(p->insns);
        p->insns = small;
        p->n_insns = n;
}

int rc_seccomp_key(const struct oci_seccomp *s, char **ret, size_t *ret_len, rc_error_t *err)
{
        char compiler[96];

        /* the builds of this file and of seccomp_compact.c make what the cache holds */
        snprintf(compiler, sizeof(compiler), "%s %s, compact %s", __DATE__, __TIME__,
                 rc_seccomp_compact_build());
        return rc_seccomp_cache_key(s, compiler, ret, ret_len, err);
}

int rc_seccomp_compile_cached(const struct oci_seccomp *s, const char *cache_root,
                              const struct rc_logger *log, struct rc_seccomp_prog *ret, rc_error_t *err)
{
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;
        _cleanup_free_ char *key = NULL;
        size_t key_len = 0;
        uint32_t def_action;

        if (lower_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &def_action,
                         err) < 0)
                return rc_error_wrap(err, ".linux.seccomp.defaultAction");
        if (plan_flags(s, log, &p.flags, err) < 0)
                return -1;
        if (cache_root != NULL) {
                if (rc_seccomp_key(s, &key, &key_len, err) < 0)
                        return -1;
                if (rc_seccomp_cache_get(cache_root, key, key_len, log, &p.insns, &p.n_insns) == 1) {
                        *ret = p;
                        return 0;
                }
        }
        ctx = seccomp_init(def_action);
        if (ctx == NULL)
                return rc_error_set(err, EINVAL, "initialise seccomp filter");
        if (build_filter(ctx, s, def_action, log, err) < 0 || export_bpf(ctx, &p, err) < 0) {
                rc_seccomp_prog_clear(&p);
                return -1;
        }
        compact(&p, log);
        rc_log(log, RC_LOG_DEBUG, "seccomp: %zu BPF instructions, flags 0x%x", p.n_insns, p.flags);
        if (key != NULL)
                rc_seccomp_cache_put(cache_root, key, key_len, p.insns, p.n_insns, log);
        *ret = p;
        return 0;
}

int rc_seccomp_compile(const struct oci_seccomp *s, const struct rc_logger *log, struct rc_seccomp_prog *ret,
                       rc_error_t *err)
{
        return rc_seccomp_compile_cached(s, NULL, log, ret, err);
}

static int connect_agent(const char *path, rc_error_t *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        size_t len = strlen(path);

        if (len == 0 || len >= sizeof(addr.sun_path))
                return rc_error_set_status(err, ENAMETOOLONG,
                                           "seccomp listener `%s`: path length %zu not in 1..%zu", path, len,
                                           sizeof(addr.sun_path) - 1);
        memcpy(addr.sun_path, path, len + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rc_error_set(err, errno, "create socket for seccomp listener `%s`", path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return rc_error_set(err, errno, "connect to seccomp listener `%s`", path);
        return TAKE_FD(fd);
}

int rc_seccomp_prepare(const struct oci_seccomp *s, const char *cache_root, const struct rc_logger *log,
                       struct rc_seccomp_prog *ret, rc_error_t *err)
{
        struct rc_seccomp_prog p = RC_SECCOMP_PROG_INIT;

        if (!s->present) {
                *ret = p;
                return 0;
        }
        if (rc_seccomp_compile_cached(s, cache_root, log, &p, err) < 0)
                return -1;
        if (p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
                p.agent_fd = connect_agent(s->listener_path, err);
                if (p.agent_fd < 0)
                        goto fail;
                if (s->listener_metadata != NULL && (p.metadata = strdup(s->listener_metadata)) == NULL) {
                        rc_error_set(err, ENOMEM, "seccomp listener metadata");
                        goto fail;
                }
        }
        *ret = p;
        return 0;
fail:
        rc_seccomp_prog_clear(&p);
        return -1;
}

void rc_seccomp_prog_clear(struct rc_seccomp_prog *p)
{
        free(p->insns);
        free(p->metadata);
        if (p->agent_fd >= 0)
                close(p->agent_fd);
        *p = (struct rc_seccomp_prog)RC_SECCOMP_PROG_INIT;
}

/* ---- the init side ------------------------------------------------------------------ */

/* What the init still calls after an early load (runtime/isolation/preexec.h: the filter goes in
 * after the credentials and no_new_privs): the gate (the parent-death signal, READY on
 * the sync socket, the exec fifo reopened through /proc and written, closes), the rare
 * late chdir and executable lookup (a cwd only the user may enter, a sandbox), execve,
 * and what libc's malloc and an error's last words may use. Sorted, for bsearch. */
static const char *const init_tail[] = {
        "access",     "brk",    "chdir",   "close", "execve",   "exit_group", "faccessat",
        "faccessat2", "getcwd", "madvise", "mmap",  "mprotect", "munmap",     "newfstatat",
        "openat",     "prctl",  "sendmsg", "statx", "write",
};
#define N_INIT_TAIL (sizeof(init_tail) / sizeof(init_tail[0]))

static int cmp_name(const void *key, const void *elem)
{
        return strcmp(key, *(const char *const *)elem);
}

bool rc_seccomp_allows_init_tail(const struct oci_seccomp *s)
{
        /* per name of init_tail: 0 not named by any rule, 1 allowed unconditionally by a
         * rule, 2 named by a rule with another action or with conditions */
        unsigned char seen[N_INIT_TAIL] = {0};

        if (!s->present || s->listener_path != NULL || (s->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
                return false;
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const struct oci_seccomp_syscall *sc = &s->syscalls[i];
                bool plain = sc->action == OCI_SECCOMP_ALLOW && sc->n_args == 0;

                for (size_t j = 0; j < sc->n_names; j++) {
                        const char *const *hit = bsearch(sc->names[j], init_tail, N_INIT_TAIL,
                                                         sizeof(init_tail[0]), cmp_name);
                        size_t k;

                        if (hit == NULL)
                                continue;
                        k = (size_t)(hit - init_tail);
                        if (!plain)
                                seen[k] = 2;
                        else if (seen[k] == 0)
                                seen[k] = 1;
                }
        }
        for (size_t k = 0; k < N_INIT_TAIL; k++) {
                if (seen[k] == 2 || (seen[k] == 0 && s->default_action != OCI_SECCOMP_ALLOW))
                        return false;
        }
        return true;
}

int rc_seccomp_process_state(const char *metadata, const char *state_json, size_t state_len, char **ret,
                             size_t *ret_len, rc_error_t *err)
{
        struct oci_state *st = NULL;
        _cleanup_free_ char *head = NULL, *state = NULL;
        size_t head_len = 0, len = 0;
        json_gen *g;
        char *doc;
        int r;

        if (oci_state_parse(state_json, state_len, "container state", &st, err) < 0)
                return -1;
        st->status = OCI_STATUS_RUNNING;
        r = oci_state_to_json(st, 0, &state, &len, err);
        g = json_gen_new(false);
        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", OCI_VERSION);
        json_gen_string(g, "fds");
        json_gen_array_open(g);
        json_gen_string(g, "seccompFd");
        json_gen_array_close(g);
        json_gen_kv_int(g, "pid", st->pid);
        json_gen_kv_string(g, "metadata", metadata != NULL ? metadata : "");
        json_gen_object_close(g);
        oci_state_free(st);
        if (r == 0)
                r = json_gen_finish(g, &head, &head_len, err);
        json_gen_free(g);
        if (r < 0)
                return rc_error_wrap(err, "seccomp container process state");
        /* splice the state document in as the last property of the head object */
        while (head_len > 0 && head[head_len - 1] != '}')
                head_len--;
        while (len > 0 && (state[len - 1] == '\n' || state[len - 1] == ' '))
                len--;
        if (head_len == 0 ||
            asprintf(&doc, "%.*s,\"state\":%.*s}", (int)head_len - 1, head, (int)len, state) < 0)
                return rc_error_set(err, ENOMEM, "seccomp container process state");
        *ret_len = strlen(doc);
        *ret = doc;
        return 0;
}

int rc_seccomp_send_listener(int agent_fd, int listener_fd, const char *doc, size_t len, rc_error_t *err)
{
        if (len == 0)
                return rc_error_set(err, EINVAL, "send seccomp listener: empty state");
        if (rc_send_fd(agent_fd, listener_fd, doc, len, err) < 0)
                return rc_error_wrap(
                        err, "send the seccomp listener fd and the container process state to the agent");
        return 0;
}

static int load_filter(const struct rc_seccomp_prog *p, rc_error_t *err)
{
        struct sock_fprog prog = {.len = (unsigned short)p->n_insns, .filter = p->insns};
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog);

        if (r >= 0)
                return (int)r;
        if (errno == EACCES)
                return rc_error_set(err, errno,
                                    "load seccomp filter (needs noNewPrivileges or CAP_SYS_ADMIN)");
        if (errno == EINVAL && p->flags != 0)
                return rc_error_set(err, errno,
                                    "load seccomp filter with flags 0x%x (not all supported by "
                                    "this kernel?)",
                                    p->flags);
        return rc_error_set(err, errno, "load seccomp filter");
}

int rc_seccomp_load(struct rc_seccomp_prog *p, const char *state_json, size_t state_len, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        _cleanup_close_ int listener = -1;
        size_t len = 0;
        int r;

        if (p == NULL || p->insns == NULL || p->n_insns == 0)
                return 0;
        /* everything that allocates happens before the filter can forbid it */
        if (p->agent_fd >= 0 &&
            rc_seccomp_process_state(p->metadata, state_json, state_len, &doc, &len, err) < 0)
                return -1;
        r = load_filter(p, err);
        if (r < 0)
                return -1;
        if (!(p->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
                return 0;
        listener = r;
        if (p->agent_fd < 0)
                return rc_error_set(err, EINVAL, "seccomp filter has a listener but no agent to send it to");
        r = rc_seccomp_send_listener(p->agent_fd, listener, doc, len, err);
        close(p->agent_fd);
        p->agent_fd = -1;
        return r;
}
