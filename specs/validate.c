/* Cross-field checks on a parsed (or hand-built) config: what the parser cannot see
 * field by field. Errors use the parser's format: "<origin>: <json path>: <reason>". */
#include "specs/parse_internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/names.h"

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static int fail(const char *origin, rc_error_t *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail(const char *origin, rc_error_t *err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return rc_error_set(err, ENOMEM, "%s: validate", origin);
        return rc_error_set(err, 0, "%s: %s", origin, msg);
}

static bool is_absolute(const char *p)
{
        return p != NULL && p[0] == '/';
}

static bool has_dotdot(const char *p)
{
        for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
                if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
                        return true;
        return false;
}

static const struct oci_namespace *find_ns(const struct oci_config *c, enum oci_ns_type t)
{
        return oci_config_namespace(c, t);
}

/* Each entry "KEY=VALUE" with a non-empty KEY, as execve(2) users expect. */
static int check_env(const char *origin, rc_error_t *err, const char *base, char **env, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(env[i], '=');

                if (eq == NULL || eq == env[i])
                        return fail(origin, err, "%s[%zu]: expected \"KEY=VALUE\", got \"%s\"", base, i,
                                    env[i]);
        }
        return 0;
}

/* ---- process --------------------------------------------------------------------------- */

static int check_scheduler(const struct oci_scheduler *s, const char *origin, const char *prefix,
                           rc_error_t *err)
{
        bool realtime = s->policy == SCHED_FIFO || s->policy == SCHED_RR;

        if (!s->present)
                return 0;
        if (realtime && (s->priority < 1 || s->priority > 99))
                return fail(origin, err, "%s.scheduler.priority: must be 1..99 for SCHED_FIFO and SCHED_RR",
                            prefix);
        if (!realtime && s->priority != 0)
                return fail(origin, err, "%s.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR",
                            prefix);
        if (s->policy == SCHED_DEADLINE) {
                if (s->runtime == 0 || s->runtime > s->deadline || (s->period && s->deadline > s->period))
                        return fail(origin, err,
                                    "%s.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period",
                                    prefix);
        } else if (s->runtime || s->deadline || s->period) {
                return fail(origin, err, "%s.scheduler: runtime, deadline and period need SCHED_DEADLINE",
                            prefix);
        }
        return 0;
}

int oci_process_validate(const struct oci_process *p, const char *origin, const char *prefix,
                         rc_error_t *err)
{
        char base[64];

        if (p->n_args == 0 || p->args == NULL)
                return fail(origin, err, "%s.args: must not be empty", prefix);
        if (p->args[0][0] == '\0')
                return fail(origin, err, "%s.args[0]: must not be empty", prefix);
        if (p->cwd == NULL)
                return fail(origin, err, "%s.cwd: missing required property", prefix);
        if (!is_absolute(p->cwd))
                return fail(origin, err, "%s.cwd: must be an absolute path", prefix);
        snprintf(base, sizeof(base), "%s.env", prefix);
        if (check_env(origin, err, base, p->env, p->n_env) < 0)
                return -1;
        for (size_t i = 0; i < p->n_rlimits; i++)
                for (size_t j = 0; j < i; j++)
                        if (p->rlimits[i].resource == p->rlimits[j].resource) {
                                const char *name = oci_rlimit_name(p->rlimits[i].resource);

                                return fail(origin, err, "%s.rlimits[%zu].type: duplicate rlimit \"%s\"",
                                            prefix, i, name ? name : "?");
                        }
        return check_scheduler(&p->scheduler, origin, prefix, err);
}

/* ---- mounts, hooks, paths ------------------------------------------------------------- */

static int check_mounts(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        for (size_t i = 0; i < c->n_mounts; i++) {
                const char *d = c->mounts[i].destination;

                if (d == NULL || d[0] == '\0')
                        return fail(origin, err, ".mounts[%zu].destination: must not be empty", i);
                if (!is_absolute(d))
                        return fail(origin, err, ".mounts[%zu].destination: must be an absolute path", i);
                if (!c->mounts[i].is_bind && (c->mounts[i].type == NULL || c->mounts[i].type[0] == '\0'))
                        return fail(origin, err,
                                    ".mounts[%zu].type: required unless the mount is a bind mount", i);
                if (c->mounts[i].is_bind && (c->mounts[i].source == NULL || c->mounts[i].source[0] == '\0'))
                        return fail(origin, err, ".mounts[%zu].source: required for a bind mount", i);
        }
        return 0;
}

static int check_hooks(const struct oci_config *c, const char *origin, rc_error_t *err)
{

        for (size_t ph = 0; ph < OCI_HOOK_PHASES; ph++)
                for (size_t i = 0; i < c->hooks[ph].n; i++) {
                        const struct oci_hook *h = &c->hooks[ph].v[i];
                        char base[64];

                        if (!is_absolute(h->path))
                                return fail(origin, err, ".hooks.%s[%zu].path: must be an absolute path",
                                            oci_hook_phase_names[ph], i);
                        snprintf(base, sizeof(base), ".hooks.%s[%zu].env", oci_hook_phase_names[ph], i);
                        if (check_env(origin, err, base, h->env, h->n_env) < 0)
                                return -1;
                }
        return 0;
}

static int check_abs_list(char **v, size_t n, const char *what, const char *origin, rc_error_t *err)
{
        for (size_t i = 0; i < n; i++)
                if (!is_absolute(v[i]))
                        return fail(origin, err, ".linux.%s[%zu]: must be an absolute path", what, i);
        return 0;
}

/* "/dev", "//dev/", ... */
static bool is_dev_dir(const char *p)
{
        p += strspn(p, "/");
        return strncmp(p, "dev", 3) == 0 && p[3 + strspn(p + 3, "/")] == '\0';
}

static int check_devices(const struct oci_linux *l, const char *origin, rc_error_t *err)
{
        for (size_t i = 0; i < l->n_devices; i++) {
                const char *p = l->devices[i].path;

                /* anywhere in the container (runc and crun agree), but not / or /dev */
                if (!is_absolute(p) || has_dotdot(p) || p[strspn(p, "/")] == '\0' || is_dev_dir(p))
                        return fail(origin, err,
                                    ".linux.devices[%zu].path: \"%s\" is not a device path (an absolute "
                                    "path naming a node, not / or /dev)",
                                    i, p ? p : "");
        }
        return 0;
}

/* ---- namespaces -------------------------------------------------------------------------- */

static int check_namespaces(const struct oci_linux *l, const char *origin, rc_error_t *err)
{
        for (size_t i = 0; i < l->n_namespaces; i++) {
                const struct oci_namespace *ns = &l->namespaces[i];

                for (size_t j = 0; j < i; j++)
                        if (l->namespaces[j].type == ns->type)
                                return fail(origin, err,
                                            ".linux.namespaces[%zu].type: duplicate namespace \"%s\"", i,
                                            oci_ns_name(ns->type));
                if (ns->path != NULL && !is_absolute(ns->path))
                        return fail(origin, err, ".linux.namespaces[%zu].path: must be an absolute path", i);
        }
        return 0;
}

static int check_uts(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        /* sethostname(2)/setdomainname(2) refuse longer names */
        if (c->hostname != NULL && strlen(c->hostname) > HOST_NAME_MAX)
                return fail(origin, err, ".hostname: longer than %d bytes", HOST_NAME_MAX);
        if (c->domainname != NULL && strlen(c->domainname) > HOST_NAME_MAX)
                return fail(origin, err, ".domainname: longer than %d bytes", HOST_NAME_MAX);
        if (find_ns(c, OCI_NS_UTS) != NULL)
                return 0;
        if (c->hostname != NULL)
                return fail(origin, err, ".hostname: requires a uts namespace in .linux.namespaces");
        if (c->domainname != NULL)
                return fail(origin, err, ".domainname: requires a uts namespace in .linux.namespaces");
        return 0;
}

static int check_idmaps(const struct oci_idmap *m, size_t n, const char *what, const char *origin,
                        rc_error_t *err)
{
        if (n > 340) /* the kernel's limit since 4.15 */
                return fail(origin, err, ".linux.%s: %zu entries, the kernel accepts at most 340", what, n);
        for (size_t i = 0; i < n; i++) {
                if (m[i].size == 0)
                        return fail(origin, err, ".linux.%s[%zu].size: must be at least 1", what, i);
                if ((uint64_t)m[i].container_id + m[i].size > UINT32_MAX ||
                    (uint64_t)m[i].host_id + m[i].size > UINT32_MAX)
                        return fail(origin, err, ".linux.%s[%zu]: range exceeds the 32-bit id space", what,
                                    i);
        }
        return 0;
}

static int check_userns(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;
        const struct oci_namespace *user = find_ns(c, OCI_NS_USER);
        const char *first = l->n_uid_mappings ? "uidMappings" : "gidMappings";

        if (check_idmaps(l->uid_mappings, l->n_uid_mappings, "uidMappings", origin, err) < 0 ||
            check_idmaps(l->gid_mappings, l->n_gid_mappings, "gidMappings", origin, err) < 0)
                return -1;
        if (user == NULL) {
                if (l->n_uid_mappings || l->n_gid_mappings)
                        return fail(origin, err, ".linux.%s: requires a user namespace in .linux.namespaces",
                                    first);
                return 0;
        }
        if (user->path != NULL) {
                /* a joined namespace already has its (write-once) maps */
                if (l->n_uid_mappings || l->n_gid_mappings)
                        return fail(origin, err,
                                    ".linux.%s: cannot be set when joining an existing user namespace",
                                    first);
                return 0;
        }
        if (l->n_uid_mappings == 0)
                return fail(origin, err, ".linux.uidMappings: required when creating a user namespace");
        if (l->n_gid_mappings == 0)
                return fail(origin, err, ".linux.gidMappings: required when creating a user namespace");
        return 0;
}

static int check_time(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        const struct oci_namespace *t = find_ns(c, OCI_NS_TIME);

        if (!c->linux_.time_monotonic.set && !c->linux_.time_boottime.set)
                return 0;
        if (t == NULL)
                return fail(origin, err,
                            ".linux.timeOffsets: requires a time namespace in .linux.namespaces");
        if (t->path != NULL)
                return fail(origin, err,
                            ".linux.timeOffsets: cannot be set when joining an existing time namespace");
        return 0;
}

/* ---- sysctl ------------------------------------------------------------------------------- */

/* sysctl names may use '/' or '.' as separator ("net/ipv4/ip_forward"). */
static bool sysctl_prefix(const char *name, const char *prefix)
{
        for (; *prefix; name++, prefix++) {
                char a = *name == '/' ? '.' : *name;

                if (a != *prefix)
                        return false;
        }
        return true;
}

static bool sysctl_is(const char *name, const char *exact)
{
        return sysctl_prefix(name, exact) && name[strlen(exact)] == '\0';
}

/* What rc_process_apply_sysctl can turn into a path under /proc/sys: dot- or (runc's
 * other form) slash-separated components, none empty, "." or "..". */
static bool sysctl_key_valid(const char *key)
{
        char sep = strchr(key, '/') != NULL ? '/' : '.';

        for (const char *p = key;;) {
                size_t n = strcspn(p, sep == '/' ? "/" : ".");

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (p[n] == '\0')
                        return true;
                p += n + 1;
        }
}

/* kernel.domainname belongs to the uts namespace (Docker sets the NIS domain name with
 * it): allowed there unless .domainname says otherwise. kernel.hostname duplicates
 * .hostname: refused, as runc and crun do. */
static int check_sysctl_uts(const struct oci_config *c, const struct oci_kv *kv, const char *origin,
                            rc_error_t *err)
{
        if (sysctl_is(kv->key, "kernel.hostname"))
                return fail(origin, err,
                            ".linux.sysctl.%s: not allowed, it conflicts with .hostname (set that)",
                            kv->key);
        if (find_ns(c, OCI_NS_UTS) == NULL)
                return fail(origin, err, ".linux.sysctl.%s: requires a uts namespace in .linux.namespaces",
                            kv->key);
        if (c->domainname != NULL && strcmp(c->domainname, kv->value) != 0)
                return fail(origin, err, ".linux.sysctl.%s: \"%s\" conflicts with .domainname \"%s\"",
                            kv->key, kv->value, c->domainname);
        return 0;
}

/* Only sysctls owned by a namespace of the container may be set: any other would change
 * the host. */
static int check_sysctl_one(const struct oci_config *c, const struct oci_kv *kv, const char *origin,
                            rc_error_t *err)
{
        const char *key = kv->key;
        enum oci_ns_type need;

        if (!sysctl_key_valid(key))
                return fail(origin, err, ".linux.sysctl.%s: invalid sysctl name", key);
        if (sysctl_is(key, "kernel.hostname") || sysctl_is(key, "kernel.domainname"))
                return check_sysctl_uts(c, kv, origin, err);
        if (sysctl_prefix(key, "net."))
                need = OCI_NS_NETWORK;
        else if (sysctl_prefix(key, "kernel.msg") || sysctl_prefix(key, "kernel.shm") ||
                 sysctl_is(key, "kernel.sem") || sysctl_prefix(key, "fs.mqueue."))
                need = OCI_NS_IPC;
        else if (sysctl_prefix(key, "user."))
                need = OCI_NS_USER;
        else
                return fail(origin, err,
                            ".linux.sysctl.%s: not a namespaced sysctl, it would change the host", key);
        if (find_ns(c, need) == NULL)
                return fail(origin, err, ".linux.sysctl.%s: requires %s %s namespace in .linux.namespaces",
                            key, need == OCI_NS_IPC ? "an" : "a", oci_ns_name(need));
        return 0;
}

static int check_sysctl(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        for (size_t i = 0; i < c->linux_.n_sysctl; i++)
                if (check_sysctl_one(c, &c->linux_.sysctl[i], origin, err) < 0)
                        return -1;
        return 0;
}

/* ---- resources and seccomp ------------------------------------------------------------------ */

static int check_resources(const struct oci_resources *r, const char *origin, rc_error_t *err)
{
        if (r->has_network)
                return fail(origin, err, ".linux.resources.network: not supported on cgroup v2");
        if (r->has_rdma)
                return fail(origin, err,
                            ".linux.resources.rdma: not supported on cgroup v2 by this runtime");
        for (size_t i = 0; i < r->n_unified; i++) {
                const char *k = r->unified[i].key;

                if (k[0] == '\0' || strchr(k, '/') != NULL || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
                        return fail(origin, err, ".linux.resources.unified: invalid cgroup file name \"%s\"",
                                    k);
        }
        return 0;
}

static bool action_takes_errno(enum oci_seccomp_action a)
{
        return a == OCI_SECCOMP_ERRNO || a == OCI_SECCOMP_TRACE;
}

static int check_syscall(const struct oci_seccomp_syscall *s, size_t i, const char *origin, rc_error_t *err)
{
        if (s->n_names == 0)
                return fail(origin, err, ".linux.seccomp.syscalls[%zu].names: must not be empty", i);
        for (size_t j = 0; j < s->n_names; j++)
                if (s->names[j][0] == '\0')
                        return fail(origin, err,
                                    ".linux.seccomp.syscalls[%zu].names[%zu]: must not be empty", i, j);
        if (s->has_errno_ret && !action_takes_errno(s->action))
                return fail(origin, err,
                            ".linux.seccomp.syscalls[%zu].errnoRet: only valid with SCMP_ACT_ERRNO or "
                            "SCMP_ACT_TRACE",
                            i);
        for (size_t j = 0; j < s->n_args; j++)
                if (s->args[j].index > 5)
                        return fail(
                                origin, err,
                                ".linux.seccomp.syscalls[%zu].args[%zu].index: %u is out of range (0..5)", i,
                                j, s->args[j].index);
        return 0;
}

static int check_seccomp(const struct oci_seccomp *s, const char *origin, rc_error_t *err)
{
        bool notify = false;

        if (!s->present)
                return 0;
        if (s->default_action == OCI_SECCOMP_NOTIFY)
                return fail(origin, err,
                            ".linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
        if (s->has_default_errno_ret && !action_takes_errno(s->default_action))
                return fail(
                        origin, err,
                        ".linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
        for (size_t i = 0; i < s->n_syscalls; i++) {
                if (check_syscall(&s->syscalls[i], i, origin, err) < 0)
                        return -1;
                notify |= s->syscalls[i].action == OCI_SECCOMP_NOTIFY;
        }
        if (notify && s->listener_path == NULL)
                return fail(origin, err, ".linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
        /* without a SCMP_ACT_NOTIFY rule listenerPath is ignored (config-linux.md) */
        return 0;
}

/* ---- entry point ---------------------------------------------------------------------------- */

static int check_linux(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        const struct oci_linux *l = &c->linux_;

        if (check_namespaces(l, origin, err) < 0 || check_uts(c, origin, err) < 0 ||
            check_userns(c, origin, err) < 0 || check_time(c, origin, err) < 0 ||
            check_sysctl(c, origin, err) < 0 || check_resources(&l->resources, origin, err) < 0 ||
            check_seccomp(&l->seccomp, origin, err) < 0 || check_devices(l, origin, err) < 0)
                return -1;
        if (check_abs_list(l->masked_paths, l->n_masked_paths, "maskedPaths", origin, err) < 0 ||
            check_abs_list(l->readonly_paths, l->n_readonly_paths, "readonlyPaths", origin, err) < 0)
                return -1;
        return 0;
}

int oci_config_validate(const struct oci_config *c, const char *origin, rc_error_t *err)
{
        if (origin == NULL)
                origin = "config";
        if (c == NULL)
                return rc_error_set(err, EINVAL, "%s: no configuration", origin);
        if (c->oci_version == NULL)
                return fail(origin, err, ".ociVersion: missing required property");
        if (c->root.path != NULL && c->root.path[0] == '\0')
                return fail(origin, err, ".root.path: must not be empty");
        if (c->has_process && oci_process_validate(&c->process, origin, ".process", err) < 0)
                return -1;
        if (check_mounts(c, origin, err) < 0 || check_hooks(c, origin, err) < 0)
                return -1;
        return check_linux(c, origin, err);
}
