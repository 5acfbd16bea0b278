/* The .linux object of config.json: namespaces, id mappings, time offsets, devices,
 * cgroup resources, seccomp, sysctl, personality. Same table machinery as parse.c. */
#include "specs/parse_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "runtime/base/cleanup.h"
#include "specs/names.h"

/* The kernel's dev_t encoding (new_encode_dev) keeps 12 bits of major, 20 of minor:
 * anything larger would silently name another device. */
#define DEV_MAJOR_MAX 0xfffLL
#define DEV_MINOR_MAX 0xfffffLL

/* ---- namespaces, id mappings, time offsets --------------------------------------------- */

static int parse_ns_type(struct pctx *c, const json_node *v, void *target)
{
        struct oci_namespace *ns = target;
        enum oci_ns_type t;
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (oci_ns_from_name(name, &t) < 0)
                return pctx_fail(c, "unknown namespace \"%s\"", name);
        ns->type = t;
        ns->clone_flag = oci_ns_clone_flag(t);
        return 0;
}

static int parse_namespace(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_SELF("type", parse_ns_type, .required = true),
                FLD_STR("path", struct oci_namespace, path),
                FLD_END,
        };
        struct oci_namespace *ns = target;

        if (parse_fields(c, v, fields, ns) < 0)
                return -1;
        if (ns->path != NULL && ns->path[0] == '\0') { /* "" means "create one", as in runc */
                free(ns->path);
                ns->path = NULL;
        }
        return 0;
}

static int parse_idmap(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_U32("containerID", struct oci_idmap, container_id, .required = true),
                FLD_U32("hostID", struct oci_idmap, host_id, .required = true),
                FLD_U32("size", struct oci_idmap, size, .required = true),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_nanosecs(struct pctx *c, const json_node *v, void *target)
{
        uint64_t u;

        if (parse_get_u64(c, v, 999999999, &u) < 0)
                return -1;
        *(uint32_t *)target = (uint32_t)u;
        return 0;
}

static int parse_time_offsets(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("secs", struct oci_time_offset, secs, parse_fld_i64),
                FLD_FN("nanosecs", struct oci_time_offset, nanosecs, parse_nanosecs),
                FLD_END,
        };
        struct oci_linux *l = target;

        if (parse_expect(c, v, JSON_OBJECT, "an object") < 0)
                return -1;
        for (size_t i = 0; i < json_object_size(v); i++) {
                const char *clock = json_object_key(v, i);
                size_t mark = pctx_push_key(c, clock);
                struct oci_time_offset *off;

                /* Only these two clocks can be offset (time_namespaces(7)). */
                if (strcmp(clock, "monotonic") == 0)
                        off = &l->time_monotonic;
                else if (strcmp(clock, "boottime") == 0)
                        off = &l->time_boottime;
                else
                        return pctx_fail(c, "unknown clock \"%s\" (expected monotonic or boottime)", clock);
                off->set = true;
                if (parse_fields(c, json_object_value(v, i), fields, off) < 0)
                        return -1;
                pctx_pop(c, mark);
        }
        return 0;
}

/* ---- devices ---------------------------------------------------------------------------- */

static int parse_dev_major(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, 0, DEV_MAJOR_MAX, target);
}

static int parse_dev_minor(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, 0, DEV_MINOR_MAX, target);
}

/* One character out of `allowed`, e.g. the device type. */
static int parse_type_char(struct pctx *c, const json_node *v, const char *allowed, char *ret)
{
        const char *s;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        if (strlen(s) != 1 || strchr(allowed, s[0]) == NULL)
                return pctx_fail(c, "unknown device type \"%s\"", s);
        *ret = s[0];
        return 0;
}

static int parse_device_type(struct pctx *c, const json_node *v, void *target)
{
        return parse_type_char(c, v, "cbup", target);
}

/* The file-type bits a device's fileMode may carry: podman writes the whole st_mode
 * (8576 = S_IFCHR | 0600), runc and crun use its permission bits. */
static mode_t device_type_bits(char type)
{
        switch (type) {
        case 'b':
                return S_IFBLK;
        case 'p':
                return S_IFIFO;
        default:
                return S_IFCHR;
        }
}

static int parse_device_mode(struct pctx *c, const json_node *v, void *target)
{
        struct oci_device *d = target;
        mode_t fmt;
        uint64_t u;

        if (parse_get_u64(c, v, S_IFMT | 07777, &u) < 0)
                return -1;
        fmt = (mode_t)u & S_IFMT;
        if (fmt != 0 && fmt != device_type_bits(d->type))
                return pctx_fail(c,
                                 "%" PRIu64 " (0%" PRIo64 ") has the file-type bits of another kind of node "
                                 "than a device of type \"%c\"",
                                 u, u, d->type);
        d->has_file_mode = true;
        d->file_mode = (mode_t)u & 07777;
        return 0;
}

static int parse_device_uid(struct pctx *c, const json_node *v, void *target)
{
        struct oci_device *d = target;
        uint64_t u;

        if (parse_get_u64(c, v, UINT32_MAX - 1, &u) < 0)
                return -1;
        d->has_uid = true;
        d->uid = (uid_t)u;
        return 0;
}

static int parse_device_gid(struct pctx *c, const json_node *v, void *target)
{
        struct oci_device *d = target;
        uint64_t u;

        if (parse_get_u64(c, v, UINT32_MAX - 1, &u) < 0)
                return -1;
        d->has_gid = true;
        d->gid = (gid_t)u;
        return 0;
}

static int parse_device(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("type", struct oci_device, type, parse_device_type, .required = true),
                FLD_STR("path", struct oci_device, path, .required = true),
                FLD_FN("major", struct oci_device, major, parse_dev_major),
                FLD_FN("minor", struct oci_device, minor, parse_dev_minor),
                FLD_SELF("fileMode", parse_device_mode),
                FLD_SELF("uid", parse_device_uid),
                FLD_SELF("gid", parse_device_gid),
                FLD_END,
        };
        struct oci_device *d = target;

        d->major = d->minor = -1; /* "absent": JSON cannot produce it, the range starts at 0 */
        if (parse_fields(c, v, fields, d) < 0)
                return -1;
        if (d->type != 'p' && (d->major < 0 || d->minor < 0))
                return pctx_fail(c, "major and minor are required for device type \"%c\"", d->type);
        if (d->type == 'p')
                d->major = d->minor = 0;
        return 0;
}

/* ---- cgroup resources ------------------------------------------------------------------- */

static int parse_rule_type(struct pctx *c, const json_node *v, void *target)
{
        return parse_type_char(c, v, "abc", target);
}

/* -1 is the wildcard, as when absent */
static int parse_rule_major(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, -1, DEV_MAJOR_MAX, target);
}

static int parse_rule_minor(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, -1, DEV_MINOR_MAX, target);
}

static int parse_rule_access(struct pctx *c, const json_node *v, void *target)
{
        struct oci_device_rule *r = target;
        const char *s;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        if (strlen(s) > 3 || strspn(s, "rwm") != strlen(s))
                return pctx_fail(c, "invalid device access \"%s\" (expected a subset of \"rwm\")", s);
        for (size_t i = 0; s[i]; i++)
                if (strchr(s + i + 1, s[i]) != NULL)
                        return pctx_fail(c, "invalid device access \"%s\" (repeated '%c')", s, s[i]);
        memcpy(r->access, s, strlen(s) + 1);
        return 0;
}

static int parse_device_rule(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_BOOL("allow", struct oci_device_rule, allow, .required = true),
                FLD_FN("type", struct oci_device_rule, type, parse_rule_type),
                FLD_FN("major", struct oci_device_rule, major, parse_rule_major),
                FLD_FN("minor", struct oci_device_rule, minor, parse_rule_minor),
                FLD_SELF("access", parse_rule_access),
                FLD_END,
        };
        struct oci_device_rule *r = target;

        r->type = 'a';
        r->major = r->minor = -1;
        return parse_fields(c, v, fields, r);
}

static int parse_opt_u64_max(struct pctx *c, const json_node *v, uint64_t max, struct oci_opt_u64 *o)
{
        if (parse_get_u64(c, v, max, &o->v) < 0)
                return -1;
        o->set = true;
        return 0;
}

static int parse_swappiness(struct pctx *c, const json_node *v, void *target)
{
        return parse_opt_u64_max(c, v, 100, target);
}

static int parse_disable_oom_killer(struct pctx *c, const json_node *v, void *target)
{
        struct oci_memory *m = target;

        m->has_disable_oom_killer = true;
        return parse_get_bool(c, v, &m->disable_oom_killer);
}

static int parse_use_hierarchy(struct pctx *c, const json_node *v, void *target)
{
        struct oci_memory *m = target;

        m->has_use_hierarchy = true;
        return parse_get_bool(c, v, &m->use_hierarchy);
}

/* A limit where -1 means "unlimited" and any other negative value is a mistake (the
 * kernel files take "max" or a size; runc and crun pass -5 through as no limit). */
static int parse_limit(struct pctx *c, const json_node *v, void *target)
{
        struct oci_opt_i64 *o = target;
        const char *text;

        if (parse_get_i64(c, v, INT64_MIN, INT64_MAX, &o->v) < 0)
                return -1;
        if (o->v < -1) {
                text = json_number_text(v);
                return pctx_fail(c, "%s is out of range (-1 for unlimited, or 0..%" PRId64 ")",
                                 text ? text : "number", INT64_MAX);
        }
        o->set = true;
        return 0;
}

static int parse_memory(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("limit", struct oci_memory, limit, parse_limit),
                FLD_FN("reservation", struct oci_memory, reservation, parse_limit),
                FLD_FN("swap", struct oci_memory, swap, parse_limit),
                FLD_FN("kernel", struct oci_memory, kernel, parse_limit),
                FLD_FN("kernelTCP", struct oci_memory, kernel_tcp, parse_limit),
                FLD_FN("swappiness", struct oci_memory, swappiness, parse_swappiness),
                FLD_SELF("disableOOMKiller", parse_disable_oom_killer),
                FLD_SELF("useHierarchy", parse_use_hierarchy),
                FLD_BOOL("checkBeforeUpdate", struct oci_memory, check_before_update),
                FLD_END,
        };
        struct oci_resources *r = target;

        r->has_memory = true;
        return parse_fields(c, v, fields, &r->memory);
}

static int parse_cpu(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_OPT_U64("shares", struct oci_cpu, shares),
                FLD_FN("quota", struct oci_cpu, quota, parse_limit),
                FLD_OPT_U64("burst", struct oci_cpu, burst),
                FLD_OPT_U64("period", struct oci_cpu, period),
                FLD_FN("realtimeRuntime", struct oci_cpu, realtime_runtime, parse_limit),
                FLD_OPT_U64("realtimePeriod", struct oci_cpu, realtime_period),
                FLD_STR("cpus", struct oci_cpu, cpus),
                FLD_STR("mems", struct oci_cpu, mems),
                FLD_OPT_I64("idle", struct oci_cpu, idle),
                FLD_END,
        };
        struct oci_resources *r = target;

        r->has_cpu = true;
        return parse_fields(c, v, fields, &r->cpu);
}

/* 0 and -1 both mean "no limit" (runc, crun and the runtime tests agree) */
static int parse_pids_limit(struct pctx *c, const json_node *v, void *target)
{
        return parse_get_i64(c, v, -1, INT64_MAX, target);
}

static int parse_pids(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("limit", struct oci_resources, pids_limit, parse_pids_limit, .required = true),
                FLD_END,
        };
        struct oci_resources *r = target;

        r->has_pids = true;
        return parse_fields(c, v, fields, r);
}

static int parse_weight(struct pctx *c, const json_node *v, void *target)
{
        return parse_opt_u64_max(c, v, UINT16_MAX, target);
}

static int parse_weight_device(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("major", struct oci_weight_device, major, parse_dev_major, .required = true),
                FLD_FN("minor", struct oci_weight_device, minor, parse_dev_minor, .required = true),
                FLD_FN("weight", struct oci_weight_device, weight, parse_weight),
                FLD_FN("leafWeight", struct oci_weight_device, leaf_weight, parse_weight),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_throttle_device(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("major", struct oci_throttle_device, major, parse_dev_major, .required = true),
                FLD_FN("minor", struct oci_throttle_device, minor, parse_dev_minor, .required = true),
                FLD_FN("rate", struct oci_throttle_device, rate, parse_fld_u64, .required = true),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_blockio(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("weight", struct oci_blockio, weight, parse_weight),
                FLD_FN("leafWeight", struct oci_blockio, leaf_weight, parse_weight),
                FLD_ARRAY("weightDevice", struct oci_blockio, weight_devices, n_weight_devices,
                          parse_weight_device),
                FLD_ARRAY("throttleReadBpsDevice", struct oci_blockio, throttle_read_bps,
                          n_throttle_read_bps, parse_throttle_device),
                FLD_ARRAY("throttleWriteBpsDevice", struct oci_blockio, throttle_write_bps,
                          n_throttle_write_bps, parse_throttle_device),
                FLD_ARRAY("throttleReadIOPSDevice", struct oci_blockio, throttle_read_iops,
                          n_throttle_read_iops, parse_throttle_device),
                FLD_ARRAY("throttleWriteIOPSDevice", struct oci_blockio, throttle_write_iops,
                          n_throttle_write_iops, parse_throttle_device),
                FLD_END,
        };
        struct oci_resources *r = target;

        r->has_blockio = true;
        return parse_fields(c, v, fields, &r->blockio);
}

/* "2MB", "1GB", "64KB": it becomes part of a cgroup file name (hugetlb.2MB.max). */
static int parse_page_size(struct pctx *c, const json_node *v, void *target)
{
        static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
        const char *s, *unit;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        unit = s + strspn(s, "0123456789");
        if (unit != s && s[0] != '0')
                for (size_t i = 0; i < ARRAY_SIZE(units); i++)
                        if (strcmp(unit, units[i]) == 0)
                                return parse_dup_string(c, v, target);
        return pctx_fail(c, "invalid page size \"%s\" (expected a size such as \"2MB\")", s);
}

static int parse_hugepage(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("pageSize", struct oci_hugepage_limit, page_size, parse_page_size, .required = true),
                FLD_FN("limit", struct oci_hugepage_limit, limit, parse_fld_u64, .required = true),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

/* network and rdma only exist on cgroup v1; remember them so validation can refuse. */
static int parse_network(struct pctx *c, const json_node *v, void *target)
{
        struct oci_resources *r = target;

        r->has_network = true;
        return parse_expect(c, v, JSON_OBJECT, "an object");
}

static int parse_rdma(struct pctx *c, const json_node *v, void *target)
{
        struct oci_resources *r = target;

        r->has_rdma = true;
        return parse_expect(c, v, JSON_OBJECT, "an object");
}

static int parse_resources(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_ARRAY("devices", struct oci_resources, devices, n_devices, parse_device_rule),
                FLD_SELF("memory", parse_memory),
                FLD_SELF("cpu", parse_cpu),
                FLD_SELF("pids", parse_pids),
                FLD_SELF("blockIO", parse_blockio),
                FLD_ARRAY("hugepageLimits", struct oci_resources, hugepages, n_hugepages, parse_hugepage),
                FLD_SELF("network", parse_network),
                FLD_SELF("rdma", parse_rdma),
                FLD_KV("unified", struct oci_resources, unified, n_unified),
                FLD_END,
        };
        struct oci_resources *r = target;

        r->present = true;
        return parse_fields(c, v, fields, r);
}

/* ---- seccomp ---------------------------------------------------------------------------- */

static int parse_seccomp_action(struct pctx *c, const json_node *v, void *target)
{
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (oci_seccomp_action_from_name(name, target) < 0)
                return pctx_fail(c, "unknown seccomp action \"%s\"", name);
        return 0;
}

static int parse_seccomp_op(struct pctx *c, const json_node *v, void *target)
{
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (oci_seccomp_op_from_name(name, target) < 0)
                return pctx_fail(c, "unknown seccomp operator \"%s\"", name);
        return 0;
}

static int parse_errno_ret(struct pctx *c, const json_node *v, bool *has, unsigned *ret)
{
        uint64_t u;

        if (parse_get_u64(c, v, UINT32_MAX, &u) < 0)
                return -1;
        *has = true;
        *ret = (unsigned)u;
        return 0;
}

static int parse_seccomp_arg(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_U32("index", struct oci_seccomp_arg, index, .required = true),
                FLD_FN("value", struct oci_seccomp_arg, value, parse_fld_u64, .required = true),
                FLD_FN("valueTwo", struct oci_seccomp_arg, value_two, parse_fld_u64),
                FLD_FN("op", struct oci_seccomp_arg, op, parse_seccomp_op, .required = true),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_syscall_errno(struct pctx *c, const json_node *v, void *target)
{
        struct oci_seccomp_syscall *s = target;

        return parse_errno_ret(c, v, &s->has_errno_ret, &s->errno_ret);
}

static int parse_syscall(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_STRV("names", struct oci_seccomp_syscall, names, n_names, .required = true),
                FLD_FN("action", struct oci_seccomp_syscall, action, parse_seccomp_action, .required = true),
                FLD_SELF("errnoRet", parse_syscall_errno),
                FLD_ARRAY("args", struct oci_seccomp_syscall, args, n_args, parse_seccomp_arg),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

static int parse_default_errno(struct pctx *c, const json_node *v, void *target)
{
        struct oci_seccomp *s = target;

        return parse_errno_ret(c, v, &s->has_default_errno_ret, &s->default_errno_ret);
}

static int parse_architectures(struct pctx *c, const json_node *v, void *target)
{
        struct oci_seccomp *s = target;

        if (parse_strv(c, v, &s->architectures, &s->n_architectures) < 0)
                return -1;
        for (size_t i = 0; i < s->n_architectures; i++)
                if (!oci_seccomp_arch_known(s->architectures[i])) {
                        pctx_push_index(c, i);
                        return pctx_fail(c, "unknown architecture \"%s\"", s->architectures[i]);
                }
        return 0;
}

static int parse_seccomp_flags(struct pctx *c, const json_node *v, void *target)
{
        unsigned *flags = target;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
                size_t mark = pctx_push_index(c, i);
                const char *name;
                unsigned bit;

                if (parse_get_string(c, json_array_get(v, i), &name) < 0)
                        return -1;
                if (oci_seccomp_flag_from_name(name, &bit) < 0)
                        return pctx_fail(c, "unknown seccomp flag \"%s\"", name);
                *flags |= bit;
                pctx_pop(c, mark);
        }
        return 0;
}

static int parse_seccomp(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("defaultAction", struct oci_seccomp, default_action, parse_seccomp_action,
                       .required = true),
                FLD_SELF("defaultErrnoRet", parse_default_errno),
                FLD_SELF("architectures", parse_architectures),
                FLD_FN("flags", struct oci_seccomp, flags, parse_seccomp_flags),
                FLD_STR("listenerPath", struct oci_seccomp, listener_path),
                FLD_STR("listenerMetadata", struct oci_seccomp, listener_metadata),
                FLD_ARRAY("syscalls", struct oci_seccomp, syscalls, n_syscalls, parse_syscall),
                FLD_END,
        };
        struct oci_seccomp *s = target;

        s->present = true;
        return parse_fields(c, v, fields, s);
}

/* ---- the rest of .linux ------------------------------------------------------------------ */

static int parse_propagation(struct pctx *c, const json_node *v, void *target)
{
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (oci_propagation_from_name(name, target) < 0)
                return pctx_fail(c, "unknown propagation \"%s\"", name);
        return 0;
}

static int parse_personality_domain(struct pctx *c, const json_node *v, void *target)
{
        unsigned long *pers = target;
        const char *name;

        if (parse_get_string(c, v, &name) < 0)
                return -1;
        if (strcmp(name, "LINUX") == 0)
                *pers = PER_LINUX;
        else if (strcmp(name, "LINUX32") == 0)
                *pers = PER_LINUX32;
        else
                return pctx_fail(c, "unknown personality domain \"%s\" (expected LINUX or LINUX32)", name);
        return 0;
}

/* The spec defines no personality flag yet: refuse any rather than ignore it. */
static int parse_personality_flags(struct pctx *c, const json_node *v, void *target)
{
        const char *name;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        if (json_array_size(v) == 0)
                return 0;
        pctx_push_index(c, 0);
        if (parse_get_string(c, json_array_get(v, 0), &name) < 0)
                return -1;
        return pctx_fail(c, "unsupported personality flag \"%s\"", name);
}

static int parse_personality(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("domain", struct oci_linux, personality, parse_personality_domain, .required = true),
                FLD_SELF("flags", parse_personality_flags),
                FLD_END,
        };
        struct oci_linux *l = target;

        l->has_personality = true;
        return parse_fields(c, v, fields, l);
}

static int reject_intel_rdt(struct pctx *c, const json_node *v, void *target)
{
        return pctx_fail(c, "intelRdt is not supported");
}

int parse_linux(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_ARRAY("namespaces", struct oci_linux, namespaces, n_namespaces, parse_namespace),
                FLD_ARRAY("uidMappings", struct oci_linux, uid_mappings, n_uid_mappings, parse_idmap),
                FLD_ARRAY("gidMappings", struct oci_linux, gid_mappings, n_gid_mappings, parse_idmap),
                FLD_SELF("timeOffsets", parse_time_offsets),
                FLD_ARRAY("devices", struct oci_linux, devices, n_devices, parse_device),
                FLD_STR("cgroupsPath", struct oci_linux, cgroups_path),
                FLD_FN("resources", struct oci_linux, resources, parse_resources),
                FLD_FN("rootfsPropagation", struct oci_linux, rootfs_propagation, parse_propagation),
                FLD_FN("seccomp", struct oci_linux, seccomp, parse_seccomp),
                FLD_KV("sysctl", struct oci_linux, sysctl, n_sysctl),
                FLD_STRV("maskedPaths", struct oci_linux, masked_paths, n_masked_paths),
                FLD_STRV("readonlyPaths", struct oci_linux, readonly_paths, n_readonly_paths),
                FLD_STR("mountLabel", struct oci_linux, mount_label),
                FLD_SELF("personality", parse_personality),
                FLD_SELF("intelRdt", reject_intel_rdt),
                FLD_FN("memoryPolicy", struct oci_linux, memory_policy, parse_memory_policy),
                FLD_END,
        };

        return parse_fields(c, v, fields, target);
}

/* ---- freeing ------------------------------------------------------------------------------ */

static void resources_clear(struct oci_resources *r)
{
        struct oci_blockio *b = &r->blockio;

        free(r->devices);
        free(r->cpu.cpus);
        free(r->cpu.mems);
        free(b->weight_devices);
        free(b->throttle_read_bps);
        free(b->throttle_write_bps);
        free(b->throttle_read_iops);
        free(b->throttle_write_iops);
        for (size_t i = 0; i < r->n_hugepages; i++)
                free(r->hugepages[i].page_size);
        free(r->hugepages);
        oci_kv_free(r->unified, r->n_unified);
}

void oci_seccomp_clear(struct oci_seccomp *s)
{
        rc_strv_free(s->architectures);
        free(s->listener_path);
        free(s->listener_metadata);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                rc_strv_free(s->syscalls[i].names);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
}

void oci_linux_clear(struct oci_linux *l)
{
        for (size_t i = 0; i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        resources_clear(&l->resources);
        oci_seccomp_clear(&l->seccomp);
        oci_kv_free(l->sysctl, l->n_sysctl);
        rc_strv_free(l->masked_paths);
        rc_strv_free(l->readonly_paths);
        free(l->mount_label);
        free(l->memory_policy.nodes);
        memset(l, 0, sizeof(*l));
}

/* ---- a linux.resources document alone (`update -r`) ------------------------------------ */

int oci_resources_parse(const char *data, size_t len, const char *origin, struct oci_resources **ret,
                        rc_error_t *err)
{
        json_node *root = NULL;
        struct oci_resources *r;
        struct pctx c;
        int rv;

        if (origin == NULL)
                origin = "resources";
        if (json_parse(data, len, origin, &root, err) < 0)
                return -1;
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
                json_free(root);
                return rc_error_set(err, ENOMEM, "%s", origin);
        }
        pctx_init(&c, origin, err);
        rv = parse_resources(&c, root, r);
        json_free(root);
        if (rv == 0 && (r->has_network || r->has_rdma))
                rv = rc_error_set(err, 0, "%s: .%s: not supported on cgroup v2", origin,
                                  r->has_network ? "network" : "rdma");
        for (size_t i = 0; rv == 0 && i < r->n_unified; i++) {
                const char *k = r->unified[i].key;

                if (k[0] == '\0' || strchr(k, '/') != NULL || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
                        rv = rc_error_set(err, 0, "%s: .unified: invalid cgroup file name \"%s\"", origin,
                                          k);
        }
        if (rv < 0) {
                oci_resources_free(r);
                return -1;
        }
        *ret = r;
        return 0;
}

void oci_resources_free(struct oci_resources *r)
{
        if (r == NULL)
                return;
        resources_clear(r);
        free(r);
}
