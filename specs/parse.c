/* config.json -> struct oci_config: the table-driven machinery, the top level, process,
 * root, mounts and hooks. The .linux object lives in parse_linux.c, cross-field checks in
 * validate.c. See parse_internal.h for how the tables work. */
#include "specs/parse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "specs/names.h"

/* ---- path and errors ---------------------------------------------------------------- */

void pctx_init(struct pctx *c, const char *origin, rc_error_t *err)
{
        c->origin = origin != NULL ? origin : "config";
        c->err = err;
        c->len = 0;
        c->path[0] = '\0';
}

/* Append len bytes of s (as much as fits: truncated paths stay usable). No printf: the
 * parser pushes one key or index per value, and a seccomp profile has thousands. */
static void pctx_append(struct pctx *c, const char *s, size_t len)
{
        size_t room = sizeof(c->path) - 1 - c->len;

        if (len > room)
                len = room;
        memcpy(c->path + c->len, s, len);
        c->len += len;
        c->path[c->len] = '\0';
}

size_t pctx_push_key(struct pctx *c, const char *key)
{
        size_t mark = c->len;

        pctx_append(c, ".", 1);
        pctx_append(c, key, strlen(key));
        return mark;
}

size_t pctx_push_index(struct pctx *c, size_t i)
{
        char buf[24], *p = buf + sizeof(buf);
        size_t mark = c->len;

        *--p = ']';
        do {
                *--p = (char)('0' + i % 10);
                i /= 10;
        } while (i != 0);
        *--p = '[';
        pctx_append(c, p, (size_t)(buf + sizeof(buf) - p));
        return mark;
}

void pctx_pop(struct pctx *c, size_t mark)
{
        c->len = mark;
        c->path[mark] = '\0';
}

int pctx_fail(struct pctx *c, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return rc_error_set(c->err, ENOMEM, "%s: %s", c->origin, c->path);
        if (c->len == 0)
                return rc_error_set(c->err, 0, "%s: %s", c->origin, msg);
        return rc_error_set(c->err, 0, "%s: %s: %s", c->origin, c->path, msg);
}

int pctx_fail_type(struct pctx *c, const char *expected, const json_node *n)
{
        return pctx_fail(c, "expected %s, got %s", expected, json_type_name(json_type_of(n)));
}

int pctx_oom(struct pctx *c)
{
        return rc_error_set(c->err, ENOMEM, "%s: %s", c->origin, c->len ? c->path : "parse");
}

/* ---- scalars ------------------------------------------------------------------------- */

int parse_expect(struct pctx *c, const json_node *v, enum json_type t, const char *what)
{
        if (json_type_of(v) != t)
                return pctx_fail_type(c, what, v);
        return 0;
}

int parse_get_string(struct pctx *c, const json_node *v, const char **ret)
{
        if (parse_expect(c, v, JSON_STRING, "a string") < 0)
                return -1;
        *ret = json_get_string(v);
        return *ret != NULL ? 0 : pctx_oom(c);
}

int parse_dup_string(struct pctx *c, const json_node *v, char **ret)
{
        const char *s;
        char *dup;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        dup = strdup(s);
        if (dup == NULL)
                return pctx_oom(c);
        free(*ret);
        *ret = dup;
        return 0;
}

int parse_get_bool(struct pctx *c, const json_node *v, bool *ret)
{
        if (parse_expect(c, v, JSON_BOOL, "a boolean") < 0)
                return -1;
        *ret = json_get_bool(v);
        return 0;
}

/* True if the number text is a plain integer (so a failed conversion means overflow). */
static bool number_is_integer(const char *text)
{
        if (text == NULL)
                return false;
        if (*text == '-')
                text++;
        return *text != '\0' && strspn(text, "0123456789") == strlen(text);
}

int parse_get_u64(struct pctx *c, const json_node *v, uint64_t max, uint64_t *ret)
{
        const char *text;
        uint64_t u;

        if (parse_expect(c, v, JSON_NUMBER, "a non-negative integer") < 0)
                return -1;
        text = json_number_text(v);
        if (json_get_u64(v, &u) < 0) {
                if (number_is_integer(text) && text[0] != '-')
                        return pctx_fail(c, "%s is out of range (0..%" PRIu64 ")", text, max);
                return pctx_fail(c, "expected a non-negative integer, got %s", text ? text : "number");
        }
        if (u > max)
                return pctx_fail(c, "%s is out of range (0..%" PRIu64 ")", text ? text : "number", max);
        *ret = u;
        return 0;
}

int parse_get_i64(struct pctx *c, const json_node *v, int64_t min, int64_t max, int64_t *ret)
{
        const char *text;
        int64_t i;

        if (parse_expect(c, v, JSON_NUMBER, "an integer") < 0)
                return -1;
        text = json_number_text(v);
        if (text == NULL)
                text = "number";
        if (json_get_i64(v, &i) < 0) {
                if (number_is_integer(text))
                        return pctx_fail(c, "%s is out of range (%" PRId64 "..%" PRId64 ")", text, min, max);
                return pctx_fail(c, "expected an integer, got %s", text);
        }
        if (i < min || i > max)
                return pctx_fail(c, "%s is out of range (%" PRId64 "..%" PRId64 ")", text, min, max);
        *ret = i;
        return 0;
}

int parse_fld_u64(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_u64(c, v, UINT64_MAX, target);
}

int parse_fld_i64(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, INT64_MIN, INT64_MAX, target);
}

/* ---- containers ---------------------------------------------------------------------- */

int parse_strv(struct pctx *c, const json_node *v, char ***ret, size_t *ret_n)
{
        size_t n;
        char **sv;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        n = json_array_size(v);
        sv = calloc(n + 1, sizeof(*sv));
        if (sv == NULL)
                return pctx_oom(c);
        rc_strv_free(*ret);
        *ret = sv; /* NULL-terminated at every step, so the owner can free it */
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                size_t mark = pctx_push_index(c, i);

                if (parse_dup_string(c, json_array_get(v, i), &sv[i]) < 0)
                        return -1;
                pctx_pop(c, mark);
        }
        return 0;
}

void oci_kv_free(struct oci_kv *kv, size_t n)
{
        if (kv == NULL)
                return;
        for (size_t i = 0; i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

int parse_kv(struct pctx *c, const json_node *v, struct oci_kv **ret, size_t *ret_n)
{
        struct oci_kv *kv;
        size_t n;

        if (parse_expect(c, v, JSON_OBJECT, "an object") < 0)
                return -1;
        n = json_object_size(v);
        if (n == 0)
                return 0;
        kv = calloc(n, sizeof(*kv));
        if (kv == NULL)
                return pctx_oom(c);
        *ret = kv;
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                const char *key = json_object_key(v, i);
                size_t mark = pctx_push_key(c, key);

                kv[i].key = strdup(key);
                if (kv[i].key == NULL)
                        return pctx_oom(c);
                if (parse_dup_string(c, json_object_value(v, i), &kv[i].value) < 0)
                        return -1;
                pctx_pop(c, mark);
        }
        return 0;
}

int parse_array(struct pctx *c, const json_node *v, size_t elem_size, field_fn fn, void **ret, size_t *ret_n)
{
        char *arr;
        size_t n;

        if (parse_expect(c, v, JSON_ARRAY, "an array") < 0)
                return -1;
        n = json_array_size(v);
        if (n == 0)
                return 0;
        arr = calloc(n, elem_size);
        if (arr == NULL)
                return pctx_oom(c);
        *ret = arr;
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                size_t mark = pctx_push_index(c, i);

                if (fn(c, json_array_get(v, i), arr + i * elem_size) < 0)
                        return -1;
                pctx_pop(c, mark);
        }
        return 0;
}

static int parse_field(struct pctx *c, const struct field *f, const json_node *v, void *obj)
{
        char *p = (char *)obj + f->off;
        size_t *count = (size_t *)((char *)obj + f->count_off);
        uint64_t u;

        switch (f->kind) {
        case F_FUNC:
                return f->fn(c, v, p);
        case F_STRING:
                return parse_dup_string(c, v, (char **)p);
        case F_BOOL:
                return parse_get_bool(c, v, (bool *)p);
        case F_U32:
                if (parse_get_u64(c, v, f->max ? f->max : UINT32_MAX, &u) < 0)
                        return -1;
                *(uint32_t *)p = (uint32_t)u;
                return 0;
        case F_OPT_U64:
                ((struct oci_opt_u64 *)p)->set = true;
                return parse_get_u64(c, v, UINT64_MAX, &((struct oci_opt_u64 *)p)->v);
        case F_OPT_I64:
                ((struct oci_opt_i64 *)p)->set = true;
                return parse_get_i64(c, v, INT64_MIN, INT64_MAX, &((struct oci_opt_i64 *)p)->v);
        case F_STRV:
                return parse_strv(c, v, (char ***)p, count);
        case F_ARRAY:
                return parse_array(c, v, f->elem_size, f->fn, (void **)p, count);
        case F_KV:
                return parse_kv(c, v, (struct oci_kv **)p, count);
        }
        return pctx_fail(c, "internal error: unknown field kind");
}

int parse_fields(struct pctx *c, const json_node *v, const struct field *table, void *obj)
{
        if (parse_expect(c, v, JSON_OBJECT, "an object") < 0)
                return -1;
        for (const struct field *f = table; f->key != NULL; f++) {
                const json_node *fv = json_object_get(v, f->key);
                size_t mark = pctx_push_key(c, f->key);

                if (fv == NULL || json_type_of(fv) == JSON_NULL) {
                        if (f->required)
                                return pctx_fail(c, "missing required property");
                } else if (parse_field(c, f, fv, obj) < 0) {
                        return -1;
                }
                pctx_pop(c, mark);
        }
        return 0;
}

/* Map a name to a value through a small {name, value} table. */
struct name_value {
        const char *name;
        long value;
};

static int lookup_name(struct pctx *c, const json_node *v, const struct name_value *t, size_t n,
                       const char *what, long *ret)
{
        const char *s;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (strcmp(t[i].name, s) == 0) {
                        *ret = t[i].value;
                        return 0;
                }
        return pctx_fail(c, "unknown %s \"%s\"", what, s);
}

/* ---- process ------------------------------------------------------------------------- */

static int parse_console_size(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_U32("height", struct oci_console_size, height, .required = true, .max = UINT16_MAX),
                FLD_U32("width", struct oci_console_size, width, .required = true, .max = UINT16_MAX),
                FLD_END,
        };
        struct oci_console_size *cs = target;

        cs->present = true;
        return parse_fields(c, v, fields, cs);
}

/* (uid_t)-1 means "leave unchanged" to setresuid() and chown(): never a real id. */
#define ID_MAX (UINT32_MAX - 1)

static int parse_id(struct pctx *c, const json_node *v, void *target)
{
        uint64_t u;

        if (parse_get_u64(c, v, ID_MAX, &u) < 0)
                return -1;
        *(uint32_t *)target = (uint32_t)u;
        return 0;
}

static int parse_umask(struct pctx *c, const json_node *v, void *target)
{
        struct oci_user *u = target;
        uint64_t m;

        if (parse_get_u64(c, v, 0777, &m) < 0)
                return -1;
        u->has_umask = true;
        u->umask = (mode_t)m;
        return 0;
}

static int parse_gid_elem(struct pctx *c, const json_node *v, void *target)
{
        return parse_id(c, v, target);
}

static int parse_user(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("uid", struct oci_user, uid, parse_id, .required = true),
                FLD_FN("gid", struct oci_user, gid, parse_id, .required = true),
                FLD_SELF("umask", parse_umask),
                FLD_ARRAY("additionalGids", struct oci_user, additional_gids, n_additional_gids,
                          parse_gid_elem),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_capset(struct pctx *c, const json_node *v, void *target)
{
        uint64_t *mask = target;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
                size_t mark = pctx_push_index(c, i);
                const char *name;
                int cap;

                if (parse_get_string(c, json_array_get(v, i), &name) < 0)
                        return -1;
                if (oci_cap_from_name(name, &cap) < 0 || cap < 0 || cap >= 64)
                        return pctx_fail(c, "unknown capability \"%s\"", name);
                *mask |= UINT64_C(1) << cap;
                pctx_pop(c, mark);
        }
        return 0;
}

static int parse_capabilities(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("bounding", struct oci_capabilities, bounding, parse_capset),
                FLD_FN("effective", struct oci_capabilities, effective, parse_capset),
                FLD_FN("inheritable", struct oci_capabilities, inheritable, parse_capset),
                FLD_FN("permitted", struct oci_capabilities, permitted, parse_capset),
                FLD_FN("ambient", struct oci_capabilities, ambient, parse_capset),
                FLD_END,
        };
        struct oci_capabilities *caps = target;

        caps->present = true;
        return parse_fields(c, v, fields, caps);
}

static int parse_rlimit_type(struct pctx *c, const json_node *v, void *target)
{
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (oci_rlimit_from_name(name, target) < 0)
                return pctx_fail(c, "unknown rlimit \"%s\"", name);
        return 0;
}

static int parse_rlimit(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("type", struct oci_rlimit, resource, parse_rlimit_type, .required = true),
                FLD_FN("soft", struct oci_rlimit, soft, parse_fld_u64, .required = true),
                FLD_FN("hard", struct oci_rlimit, hard, parse_fld_u64, .required = true),
                FLD_END,
        };
        struct oci_rlimit *r = target;

        if (parse_fields(c, v, fields, r) < 0)
                return -1;
        if (r->soft > r->hard)
                return pctx_fail(c, "soft limit %" PRIu64 " exceeds hard limit %" PRIu64, r->soft, r->hard);
        return 0;
}

static int parse_oom_score_adj(struct pctx *c, const json_node *v, void *target)
{
        struct oci_process *p = target;
        int64_t i;

        if (parse_get_i64(c, v, -1000, 1000, &i) < 0)
                return -1;
        p->has_oom_score_adj = true;
        p->oom_score_adj = (int)i;
        return 0;
}

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static int parse_sched_policy(struct pctx *c, const json_node *v, void *target)
{
        /* SCHED_ISO is reserved by the kernel; the spec names it, the kernel refuses it. */
        static const struct name_value policies[] = {
                {"SCHED_OTHER", SCHED_OTHER},
                {"SCHED_FIFO", SCHED_FIFO},
                {"SCHED_RR", SCHED_RR},
                {"SCHED_BATCH", SCHED_BATCH},
                {"SCHED_ISO", 4 /* no libc constant */},
                {"SCHED_IDLE", SCHED_IDLE},
                {"SCHED_DEADLINE", SCHED_DEADLINE},
        };
        long val = 0;

        if (lookup_name(c, v, policies, ARRAY_SIZE(policies), "scheduler policy", &val) < 0)
                return -1;
        *(int *)target = (int)val;
        return 0;
}

static int parse_sched_flags(struct pctx *c, const json_node *v, void *target)
{
        /* linux/sched.h values, for sched_setattr(2) */
        static const struct name_value flags[] = {
                {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
                {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
                {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
                {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
        };
        uint64_t *mask = target;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
                size_t mark = pctx_push_index(c, i);
                long bit = 0;

                if (lookup_name(c, json_array_get(v, i), flags, ARRAY_SIZE(flags), "scheduler flag", &bit) <
                    0)
                        return -1;
                *mask |= (uint64_t)bit;
                pctx_pop(c, mark);
        }
        return 0;
}

static int parse_int_in(struct pctx *c, const json_node *v, int64_t min, int64_t max, int *ret)
{
        int64_t i;

        if (parse_get_i64(c, v, min, max, &i) < 0)
                return -1;
        *ret = (int)i;
        return 0;
}

static int parse_nice(struct pctx *c, const json_node *v, void *target)
{
        return parse_int_in(c, v, -20, 19, target);
}

static int parse_int32(struct pctx *c, const json_node *v, void *target)
{
        return parse_int_in(c, v, INT32_MIN, INT32_MAX, target);
}

static int parse_scheduler(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("policy", struct oci_scheduler, policy, parse_sched_policy, .required = true),
                FLD_FN("nice", struct oci_scheduler, nice, parse_nice),
                FLD_FN("priority", struct oci_scheduler, priority, parse_int32),
                FLD_FN("flags", struct oci_scheduler, flags, parse_sched_flags),
                FLD_FN("runtime", struct oci_scheduler, runtime, parse_fld_u64),
                FLD_FN("deadline", struct oci_scheduler, deadline, parse_fld_u64),
                FLD_FN("period", struct oci_scheduler, period, parse_fld_u64),
                FLD_END,
        };
        struct oci_scheduler *s = target;

        s->present = true;
        return parse_fields(c, v, fields, s);
}

static int parse_ioprio_class(struct pctx *c, const json_node *v, void *target)
{
        /* linux/ioprio.h: IOPRIO_CLASS_RT = 1, _BE = 2, _IDLE = 3 */
        static const struct name_value classes[] = {
                {"IOPRIO_CLASS_RT", 1},
                {"IOPRIO_CLASS_BE", 2},
                {"IOPRIO_CLASS_IDLE", 3},
        };
        long val = 0;

        if (lookup_name(c, v, classes, ARRAY_SIZE(classes), "I/O priority class", &val) < 0)
                return -1;
        *(int *)target = (int)val;
        return 0;
}

static int parse_ioprio_level(struct pctx *c, const json_node *v, void *target)
{
        return parse_int_in(c, v, 0, 7, target);
}

static int parse_io_priority(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("class", struct oci_io_priority, klass, parse_ioprio_class, .required = true),
                FLD_FN("priority", struct oci_io_priority, priority, parse_ioprio_level, .required = true),
                FLD_END,
        };
        struct oci_io_priority *io = target;

        io->present = true;
        return parse_fields(c, v, fields, io);
}

/* .process and the document of `exec --process`. commandLine (Windows) is ignored. */
static const struct field process_fields[] = {
        FLD_BOOL("terminal", struct oci_process, terminal),
        FLD_FN("consoleSize", struct oci_process, console_size, parse_console_size),
        FLD_FN("user", struct oci_process, user, parse_user),
        FLD_STRV("args", struct oci_process, args, n_args, .required = true),
        FLD_STRV("env", struct oci_process, env, n_env),
        FLD_STR("cwd", struct oci_process, cwd, .required = true),
        FLD_FN("capabilities", struct oci_process, caps, parse_capabilities),
        FLD_ARRAY("rlimits", struct oci_process, rlimits, n_rlimits, parse_rlimit),
        FLD_BOOL("noNewPrivileges", struct oci_process, no_new_privileges),
        FLD_STR("apparmorProfile", struct oci_process, apparmor_profile),
        FLD_STR("selinuxLabel", struct oci_process, selinux_label),
        FLD_SELF("oomScoreAdj", parse_oom_score_adj),
        FLD_FN("scheduler", struct oci_process, scheduler, parse_scheduler),
        FLD_FN("ioPriority", struct oci_process, io_priority, parse_io_priority),
        FLD_END,
};

/* ---- root, mounts, hooks ------------------------------------------------------------- */

static int parse_root(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_STR("path", struct oci_root, path, .required = true),
                FLD_BOOL("readonly", struct oci_root, readonly),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_hook_timeout(struct pctx *c, const json_node *v, void *target)
{
        return parse_int_in(c, v, 1, INT_MAX, target);
}

static int parse_hook(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_STR("path", struct oci_hook, path, .required = true),
                FLD_STRV("args", struct oci_hook, args, n_args),
                FLD_STRV("env", struct oci_hook, env, n_env),
                FLD_FN("timeout", struct oci_hook, timeout, parse_hook_timeout),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

/* The hooks object fills config->hooks[phase]: offsets are relative to that array. */
#define HOOK_FLD(k, phase)                                                                                  \
        {                                                                                                   \
                .key = (k), .kind = F_ARRAY,                                                                \
                .off = (phase) * sizeof(struct oci_hook_list) + offsetof(struct oci_hook_list, v),          \
                .count_off = (phase) * sizeof(struct oci_hook_list) + offsetof(struct oci_hook_list, n),    \
                .elem_size = sizeof(struct oci_hook), .fn = parse_hook                                      \
        }

static int parse_hooks(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                HOOK_FLD("prestart", OCI_HOOK_PRESTART),
                HOOK_FLD("createRuntime", OCI_HOOK_CREATE_RUNTIME),
                HOOK_FLD("createContainer", OCI_HOOK_CREATE_CONTAINER),
                HOOK_FLD("startContainer", OCI_HOOK_START_CONTAINER),
                HOOK_FLD("poststart", OCI_HOOK_POSTSTART),
                HOOK_FLD("poststop", OCI_HOOK_POSTSTOP),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

/* ---- top level ----------------------------------------------------------------------- */

static int parse_oci_version(struct pctx *c, const json_node *v, void *target)
{
        const char *s, *p;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        p = s + strspn(s, "0123456789");
        if (p == s || (*p != '.' && *p != '\0'))
                return pctx_fail(c, "invalid version \"%s\"", s);
        if (p - s != 1 || s[0] != '1')
                return pctx_fail(c, "unsupported version \"%s\" (major version must be 1)", s);
        return parse_dup_string(c, v, target);
}

static int parse_config_process(struct pctx *c, const json_node *v, void *target)
{
        struct oci_config *cfg = target;

        cfg->has_process = true;
        return parse_fields(c, v, process_fields, &cfg->process);
}

static int parse_config_linux(struct pctx *c, const json_node *v, void *target)
{
        struct oci_config *cfg = target;

        cfg->has_linux = true;
        return parse_linux(c, v, &cfg->linux_);
}

static const struct field config_fields[] = {
        FLD_FN("ociVersion", struct oci_config, oci_version, parse_oci_version, .required = true),
        FLD_FN("root", struct oci_config, root, parse_root),
        FLD_ARRAY("mounts", struct oci_config, mounts, n_mounts, parse_mount),
        FLD_SELF("process", parse_config_process),
        FLD_STR("hostname", struct oci_config, hostname),
        FLD_STR("domainname", struct oci_config, domainname),
        FLD_FN("hooks", struct oci_config, hooks, parse_hooks),
        FLD_KV("annotations", struct oci_config, annotations, n_annotations),
        FLD_SELF("linux", parse_config_linux),
        FLD_END,
};

static void json_freep(json_node **n)
{
        json_free(*n);
}
#define _cleanup_json_ __attribute__((cleanup(json_freep)))

int oci_config_parse(const char *data, size_t len, const char *origin, struct oci_config **ret,
                     rc_error_t *err)
{
        _cleanup_json_ json_node *root = NULL;
        struct oci_config *cfg;
        struct pctx c;

        if (origin == NULL)
                origin = "config";
        if (json_parse(data, len, origin, &root, err) < 0)
                return -1;
        cfg = calloc(1, sizeof(*cfg));
        if (cfg == NULL)
                return rc_error_set(err, ENOMEM, "%s", origin);
        pctx_init(&c, origin, err);
        if (parse_fields(&c, root, config_fields, cfg) < 0 || oci_config_validate(cfg, origin, err) < 0) {
                oci_config_free(cfg);
                return -1;
        }
        *ret = cfg;
        return 0;
}

/* Read a whole file, refusing more than JSON_MAX_INPUT bytes (whatever st_size says:
 * pipes and /proc files report 0). */
static int read_config_file(const char *path, char **ret, size_t *ret_len, rc_error_t *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 64 * 1024;
                        char *nbuf;

                        if (cap > JSON_MAX_INPUT)
                                return rc_error_set(err, EFBIG, "read `%s`: larger than %u bytes", path,
                                                    JSON_MAX_INPUT);
                        nbuf = realloc(buf, ncap + 1);
                        if (nbuf == NULL)
                                return rc_error_set(err, ENOMEM, "read `%s`", path);
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return rc_error_set(err, errno, "read `%s`", path);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > JSON_MAX_INPUT)
                return rc_error_set(err, EFBIG, "read `%s`: larger than %u bytes", path, JSON_MAX_INPUT);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int oci_config_parse_file(const char *path, struct oci_config **ret, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (read_config_file(path, &data, &len, err) < 0)
                return -1;
        return oci_config_parse(data, len, path, ret, err);
}

int oci_process_parse(const char *data, size_t len, const char *origin, struct oci_process **ret,
                      rc_error_t *err)
{
        _cleanup_json_ json_node *root = NULL;
        struct oci_process *p;
        struct pctx c;

        if (origin == NULL)
                origin = "process";
        if (json_parse(data, len, origin, &root, err) < 0)
                return -1;
        p = calloc(1, sizeof(*p));
        if (p == NULL)
                return rc_error_set(err, ENOMEM, "%s", origin);
        pctx_init(&c, origin, err);
        if (parse_fields(&c, root, process_fields, p) < 0 || oci_process_validate(p, origin, "", err) < 0) {
                oci_process_free(p);
                return -1;
        }
        *ret = p;
        return 0;
}

const struct oci_namespace *oci_config_namespace(const struct oci_config *c, enum oci_ns_type t)
{
        if (c == NULL)
                return NULL;
        for (size_t i = 0; i < c->linux_.n_namespaces; i++)
                if (c->linux_.namespaces[i].type == t)
                        return &c->linux_.namespaces[i];
        return NULL;
}

/* ---- freeing ------------------------------------------------------------------------- */

void oci_process_clear(struct oci_process *p)
{
        if (p == NULL)
                return;
        free(p->user.additional_gids);
        rc_strv_free(p->args);
        rc_strv_free(p->env);
        free(p->cwd);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        memset(p, 0, sizeof(*p));
}

void oci_process_free(struct oci_process *p)
{
        oci_process_clear(p);
        free(p);
}

static void mount_clear(struct oci_mount *m)
{
        free(m->destination);
        free(m->type);
        free(m->source);
        rc_strv_free(m->options);
        free(m->data);
}

static void hook_list_clear(struct oci_hook_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].path);
                rc_strv_free(l->v[i].args);
                rc_strv_free(l->v[i].env);
        }
        free(l->v);
}

void oci_config_free(struct oci_config *c)
{
        if (c == NULL)
                return;
        free(c->oci_version);
        free(c->root.path);
        for (size_t i = 0; i < c->n_mounts; i++)
                mount_clear(&c->mounts[i]);
        free(c->mounts);
        oci_process_clear(&c->process);
        free(c->hostname);
        free(c->domainname);
        for (size_t i = 0; i < OCI_HOOK_PHASES; i++)
                hook_list_clear(&c->hooks[i]);
        oci_kv_free(c->annotations, c->n_annotations);
        oci_linux_clear(&c->linux_);
        free(c);
}
