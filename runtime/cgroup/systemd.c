/* The systemd cgroup driver: a container's cgroup is a transient scope unit that systemd
 * makes around the container's init (StartTransientUnit on org.freedesktop.systemd1,
 * Delegate=yes), in the slice its cgroupsPath names. The limits systemd has properties
 * for are set on the unit, so that systemd keeps them when it rewrites the cgroup (a
 * daemon-reload, another unit's change); all of them, device rules included, are then
 * written into the delegated cgroup as the cgroupfs driver does, which covers what has no
 * property. Everything that only reads or signals (kill, freeze, stats, procs) is the
 * cgroupfs driver's, on the scope's directory.
 *
 * The bus goes through Debian's libsystemd (sd-bus), loaded on first use: a runtime that
 * never meets the systemd driver never loads it.
 *
 * Order, at create: the driver's create only connects (a host without systemd fails
 * there); the spawn clones the init outside any cgroup and calls enter(pid) while the init
 * waits in its handshake: the scope is started with that pid, the job waited for, then the
 * scope's directory gets the limits and the device program before the init goes on. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/clock.h"
#include "runtime/base/dl.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/internal.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_US (60ull * 1000 * 1000) /* a start or stop job; TCG guests are slow */
#define CALL_TIMEOUT_US (30ull * 1000 * 1000)
#define MAX_PROPS 32 /* a property per limit, and per unified file that has one */

/* ---- pure: names and properties ------------------------------------------------------ */

/* A valid unit name character (systemd's unit-name rules) */
static bool unit_char_ok(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
               c == '_' || c == '.' || c == '-' || c == '\\';
}

/* Append s to buf, escaping what a unit name cannot hold as systemd does ("\x2b"). */
static int append_escaped(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                int w = unit_char_ok((char)c) && c != '\\' ? snprintf(buf + *len, size - *len, "%c", c)
                                                           : snprintf(buf + *len, size - *len, "\\x%02x", c);

                if (w < 0 || (size_t)w >= size - *len)
                        return -1;
                *len += (size_t)w;
        }
        return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" (the root). */
static int slice_path(const char *slice, char *buf, size_t size, const char *what, rc_error_t *err)
{
        size_t n = strlen(slice), len = 0;

        if (strcmp(slice, "-.slice") == 0) {
                buf[0] = '\0';
                return 0;
        }
        if (n <= 6 || strcmp(slice + n - 6, ".slice") != 0)
                return rc_error_set(err, 0, "%s: the slice \"%s\" is not a slice unit name (NAME.slice)",
                                    what, slice);
        for (size_t i = 0; i < n - 6; i++)
                if (!unit_char_ok(slice[i]) || slice[i] == '\\' ||
                    (slice[i] == '-' && (i == 0 || i == n - 7 || slice[i + 1] == '-')))
                        return rc_error_set(err, 0, "%s: invalid slice name \"%s\"", what, slice);
        buf[0] = '\0';
        for (size_t i = 0; i <= n - 6; i++) {
                if (i < n - 6 && slice[i] != '-')
                        continue;
                /* the prefix up to here is one level */
                int w = snprintf(buf + len, size - len, "/%.*s.slice", (int)i, slice);
                if (w < 0 || (size_t)w >= size - len)
                        return rc_error_set(err, ENAMETOOLONG, "%s: slice name too long", what);
                len += (size_t)w;
        }
        return 0;
}

int rc_cgroup_systemd_unit(const char *cgroups_path, const char *id, struct rc_systemd_unit *ret,
                           rc_error_t *err)
{
        char what[96], unit[256], path[4096];
        const char *slice = RC_SYSTEMD_DEFAULT_SLICE, *prefix = RC_SYSTEMD_DEFAULT_PREFIX, *name = id;
        size_t prefix_len = strlen(prefix), name_len = strlen(id), len = 0, plen;
        _cleanup_free_ char *slice_buf = NULL;

        snprintf(what, sizeof(what), ".linux.cgroupsPath \"%.60s\"", cgroups_path ? cgroups_path : "");
        *ret = (struct rc_systemd_unit){0};
        if (cgroups_path != NULL && cgroups_path[0] != '\0') {
                const char *c1 = strchr(cgroups_path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

                if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ':') != NULL)
                        return rc_error_set(err, 0,
                                            "%s: the systemd cgroup driver takes \"slice:prefix:name\" "
                                            "(e.g. \"system.slice:myengine:ID\"), not a path",
                                            what);
                if (c1 != cgroups_path) {
                        slice_buf = strndup(cgroups_path, (size_t)(c1 - cgroups_path));
                        if (slice_buf == NULL)
                                return rc_error_set(err, ENOMEM, "%s", what);
                        slice = slice_buf;
                }
                prefix = c1 + 1;
                prefix_len = (size_t)(c2 - prefix);
                name = c2 + 1;
                name_len = strlen(name);
                if (name_len == 0)
                        return rc_error_set(err, 0, "%s: the name (after the second ':') is empty", what);
                if (name_len > 6 && strcmp(name + name_len - 6, ".slice") == 0)
                        return rc_error_set(err, 0,
                                            "%s: a slice as the container's unit is not supported: name a "
                                            "scope (\"slice:prefix:name\" makes \"prefix-name.scope\")",
                                            what);
        }
        if (prefix_len > 0 && (append_escaped(unit, sizeof(unit), &len, prefix, prefix_len) < 0 ||
                               append_escaped(unit, sizeof(unit), &len, "-", 1) < 0))
                return rc_error_set(err, ENAMETOOLONG, "%s: unit name too long", what);
        if (append_escaped(unit, sizeof(unit), &len, name, name_len) < 0 ||
            append_escaped(unit, sizeof(unit), &len, ".scope", 6) < 0)
                return rc_error_set(err, ENAMETOOLONG, "%s: unit name too long", what);
        if (slice_path(slice, path, sizeof(path), what, err) < 0)
                return -1;
        plen = strlen(path);
        if ((size_t)snprintf(path + plen, sizeof(path) - plen, "/%s", unit) >= sizeof(path) - plen)
                return rc_error_set(err, ENAMETOOLONG, "%s: cgroup path too long", what);
        ret->slice = strdup(slice);
        ret->unit = strdup(unit);
        ret->path = strdup(path);
        if (ret->slice == NULL || ret->unit == NULL || ret->path == NULL) {
                rc_systemd_unit_clear(ret);
                return rc_error_set(err, ENOMEM, "%s", what);
        }
        return 0;
}

void rc_systemd_unit_clear(struct rc_systemd_unit *u)
{
        free(u->slice);
        free(u->unit);
        free(u->path);
        *u = (struct rc_systemd_unit){0};
}

static int push_prop(struct rc_systemd_prop *v, size_t max, size_t *n, const char *name, uint64_t value)
{
        if (*n >= max)
                return -1;
        v[(*n)++] = (struct rc_systemd_prop){.name = name, .value = value};
        return 0;
}

/* The unit property of a cgroup file that holds one number or "max" (as runc maps
 * linux.resources.unified); NULL: none, the file alone has it. */
static const char *unified_property(const char *file)
{
        static const char *const map[][2] = {
                {"memory.max", "MemoryMax"},          {"memory.high", "MemoryHigh"},
                {"memory.low", "MemoryLow"},          {"memory.min", "MemoryMin"},
                {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"},
                {"cpu.weight", "CPUWeight"},          {"io.weight", "IOWeight"},
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(file, map[i][0]) == 0)
                        return map[i][1];
        return NULL;
}

/* "max" or a decimal number (spaces around allowed); anything else stays file-only, where
 * the kernel judges it. */
static bool unified_value(const char *s, uint64_t *ret)
{
        char *end;

        s += strspn(s, " \t\n");
        if (strncmp(s, "max", 3) == 0 && s[3 + strspn(s + 3, " \t\n")] == '\0') {
                *ret = UINT64_MAX;
                return true;
        }
        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno == 0 && end[strspn(end, " \t\n")] == '\0';
}

int rc_cgroup_systemd_props(const struct oci_resources *r, struct rc_systemd_prop *v, size_t max,
                            size_t *ret_n, rc_error_t *err)
{
        size_t n = 0;
        bool full = false;

        *ret_n = 0;
        if (r == NULL || !r->present)
                return 0;
        if (r->has_memory) {
                const struct oci_memory *m = &r->memory;
                int64_t swap = 0;

                if (m->limit.set && m->limit.v != 0)
                        full |= push_prop(v, max, &n, "MemoryMax",
                                          m->limit.v > 0 ? (uint64_t)m->limit.v : UINT64_MAX) < 0;
                if (m->reservation.set && m->reservation.v > 0)
                        full |= push_prop(v, max, &n, "MemoryLow", (uint64_t)m->reservation.v) < 0;
                /* memory+swap is only known with the limit it adds to (an update may bring one
                 * without the other: then the files alone, which read the limit in force) */
                if (m->swap.set && m->swap.v != 0 && m->limit.set && m->limit.v != 0) {
                        if (rc_cgroup_swap_max(m->swap.v, m->limit.v, &swap, err) < 0)
                                return rc_error_wrap(err, ".linux.resources.memory.swap");
                        full |= push_prop(v, max, &n, "MemorySwapMax",
                                          swap < 0 ? UINT64_MAX : (uint64_t)swap) < 0;
                }
        }
        if (r->has_pids) /* <= 0: unlimited, as pids.max */
                full |= push_prop(v, max, &n, "TasksMax",
                                  r->pids_limit > 0 ? (uint64_t)r->pids_limit : UINT64_MAX) < 0;
        if (r->has_cpu) {
                const struct oci_cpu *c = &r->cpu;
                uint64_t period = c->period.set && c->period.v != 0 ? c->period.v : 100000;

                if (c->shares.set && rc_cgroup_cpu_weight(c->shares.v) != 0)
                        full |= push_prop(v, max, &n, "CPUWeight", rc_cgroup_cpu_weight(c->shares.v)) < 0;
                if (c->quota.set && c->quota.v > 0) {
                        /* systemd keeps the quota per second, in 10 ms steps: round up, as runc
                         * does, so that its rewrite never lowers the limit (cpu.max itself gets
                         * the exact numbers from the files) */
                        uint64_t per_sec = (uint64_t)c->quota.v * 1000000 / period;

                        if (per_sec % 10000 != 0)
                                per_sec += 10000 - per_sec % 10000;
                        full |= push_prop(v, max, &n, "CPUQuotaPerSecUSec", per_sec) < 0;
                } else if (c->quota.set && c->quota.v < 0) {
                        full |= push_prop(v, max, &n, "CPUQuotaPerSecUSec", UINT64_MAX) < 0;
                }
                if (c->period.set && c->period.v != 0)
                        full |= push_prop(v, max, &n, "CPUQuotaPeriodUSec", c->period.v) < 0;
        }
        if (r->has_blockio && r->blockio.weight.set && rc_cgroup_io_weight(r->blockio.weight.v) != 0)
                full |= push_prop(v, max, &n, "IOWeight", rc_cgroup_io_weight(r->blockio.weight.v)) < 0;
        /* after the rest, as the files get them: unified wins */
        for (size_t i = 0; i < r->n_unified; i++) {
                const char *name = unified_property(r->unified[i].key);
                uint64_t value;

                if (name != NULL && unified_value(r->unified[i].value, &value))
                        full |= push_prop(v, max, &n, name, value) < 0;
        }
        if (full)
                return rc_error_set(err, E2BIG, "systemd unit properties: more than %zu", max);
        *ret_n = n;
        return 0;
}

/* ---- libsystemd, loaded on first use -------------------------------------------------- */

#define SD_SYMBOLS(X)                                                                                       \
        X(sd_bus_open_system)                                                                               \
        X(sd_bus_flush_close_unref)                                                                         \
        X(sd_bus_call)                                                                                      \
        X(sd_bus_process)                                                                                   \
        X(sd_bus_wait)                                                                                      \
        X(sd_bus_slot_unref)                                                                                \
        X(sd_bus_match_signal)                                                                              \
        X(sd_bus_message_new_method_call)                                                                   \
        X(sd_bus_message_unref)                                                                             \
        X(sd_bus_message_append)                                                                            \
        X(sd_bus_message_open_container)                                                                    \
        X(sd_bus_message_close_container)                                                                   \
        X(sd_bus_message_read)                                                                              \
        X(sd_bus_error_free)                                                                                \
        X(sd_bus_error_has_name)

#define SD_DECLARE(name) static __typeof__(name) *p_##name;
SD_SYMBOLS(SD_DECLARE)
#undef SD_DECLARE

static int load_libsystemd(rc_error_t *err)
{
#define SD_NAME(name) #name,
#define SD_SLOT(name) (void **)&p_##name,
        static const char *const names[] = {SD_SYMBOLS(SD_NAME)};
        static void **const slots[] = {SD_SYMBOLS(SD_SLOT)};
#undef SD_NAME
#undef SD_SLOT
        static bool loaded;

        if (loaded)
                return 0;
        if (rc_dl_load("libsystemd.so.0", names, slots, sizeof(names) / sizeof(names[0]), err) < 0)
                return rc_error_wrap(err,
                                     "the systemd cgroup driver needs libsystemd (Debian: libsystemd0)");
        loaded = true;
        return 0;
}

/* ---- the bus ---------------------------------------------------------------------------- */

struct rc_systemd_bus {
        sd_bus *bus;
};

static void bus_close(struct rc_cgroup *cg)
{
        if (cg->bus != NULL) {
                p_sd_bus_flush_close_unref(cg->bus->bus);
                free(cg->bus);
                cg->bus = NULL;
        }
}

/* Connect once per rc_cgroup: a clear error on a host without systemd or its bus. */
static int bus_open(struct rc_cgroup *cg, rc_error_t *err)
{
        sd_bus *bus = NULL;
        int r;

        if (cg->bus != NULL)
                return 0;
        if (access("/run/systemd/system", F_OK) < 0)
                return rc_error_set(err, 0,
                                    "the systemd cgroup driver (--systemd-cgroup, --cgroup-manager=systemd) "
                                    "needs systemd as the init system, and this host does not run it "
                                    "(no `/run/systemd/system`): use --cgroup-manager=cgroupfs");
        if (load_libsystemd(err) < 0)
                return -1;
        r = p_sd_bus_open_system(&bus);
        if (r < 0)
                return rc_error_set(err, -r,
                                    "the systemd cgroup driver: connect to the system D-Bus "
                                    "(`/run/dbus/system_bus_socket`)");
        cg->bus = calloc(1, sizeof(*cg->bus));
        if (cg->bus == NULL) {
                p_sd_bus_flush_close_unref(bus);
                return rc_error_set(err, ENOMEM, "systemd bus");
        }
        cg->bus->bus = bus;
        return 0;
}

static int bus_error(rc_error_t *err, int r, sd_bus_error *e, const char *what, const char *unit)
{
        int ret = rc_error_set(err, -r, "%s `%s`%s%s", what, unit, e->message ? ": " : "",
                               e->message ? e->message : "");

        p_sd_bus_error_free(e);
        return ret;
}

struct job_wait {
        const char *path; /* the job's object path */
        bool done;
        char result[32]; /* "done", "failed", "canceled", "timeout", "dependency", "skipped" */
};

static int job_removed(sd_bus_message *m, void *data, sd_bus_error *e)
{
        struct job_wait *w = data;
        const char *path = NULL, *unit = NULL, *result = NULL;
        uint32_t id = 0;

        if (w->path == NULL || p_sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (strcmp(path, w->path) == 0) {
                snprintf(w->result, sizeof(w->result), "%s", result);
                w->done = true;
        }
        return 0;
}

/* Call `m` (a method returning a job path), then wait for the job to be removed. The
 * match is in place before the call: JobRemoved cannot pass unseen. */
static int call_job(struct rc_cgroup *cg, sd_bus_message *m, const char *what, const char *unit,
                    rc_error_t *err)
{
        sd_bus *bus = cg->bus->bus;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus_slot *slot = NULL;
        struct job_wait w = {0};
        uint64_t deadline;
        int r;

        r = p_sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", job_removed, &w);
        if (r < 0)
                return rc_error_set(err, -r, "%s `%s`: watch the systemd job", what, unit);
        r = p_sd_bus_call(bus, m, CALL_TIMEOUT_US, &e, &reply);
        if (r < 0) {
                p_sd_bus_slot_unref(slot);
                if (p_sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        p_sd_bus_error_free(&e);
                        return 1; /* nothing to stop */
                }
                return bus_error(err, r, &e, what, unit);
        }
        r = p_sd_bus_message_read(reply, "o", &w.path);
        if (r < 0) {
                p_sd_bus_message_unref(reply);
                p_sd_bus_slot_unref(slot);
                return rc_error_set(err, -r, "%s `%s`: read the job path", what, unit);
        }
        deadline = rc_now_us() + JOB_TIMEOUT_US;
        while (!w.done) {
                uint64_t now = rc_now_us();

                r = p_sd_bus_process(bus, NULL);
                if (r > 0)
                        continue;
                if (r == 0 && now < deadline)
                        r = p_sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR) {
                        rc_error_set(err, -r, "%s `%s`: wait for the systemd job", what, unit);
                        break;
                }
                if (now >= deadline) {
                        rc_error_set(err, ETIMEDOUT, "%s `%s`: the systemd job %s did not finish in %llu s",
                                     what, unit, w.path, (unsigned long long)(JOB_TIMEOUT_US / 1000000));
                        break;
                }
        }
        w.path = NULL;
        p_sd_bus_message_unref(reply);
        p_sd_bus_slot_unref(slot);
        if (!w.done)
                return -1;
        if (strcmp(w.result, "done") != 0)
                return rc_error_set(err, 0,
                                    "%s `%s`: the systemd job ended \"%s\" (see `systemctl status %s`)",
                                    what, unit, w.result, unit);
        return 0;
}

static int new_call(struct rc_cgroup *cg, const char *method, sd_bus_message **ret, rc_error_t *err)
{
        int r = p_sd_bus_message_new_method_call(cg->bus->bus, ret, SD_DEST, SD_PATH, SD_MANAGER, method);

        if (r < 0)
                return rc_error_set(err, -r, "systemd %s", method);
        return 0;
}

/* The limits as "(sv)" entries of an open a(sv) array. */
static int append_limits(sd_bus_message *m, const struct oci_resources *r, rc_error_t *err)
{
        struct rc_systemd_prop props[MAX_PROPS];
        size_t n = 0;

        if (rc_cgroup_systemd_props(r, props, MAX_PROPS, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                int e = p_sd_bus_message_append(m, "(sv)", props[i].name, "t", props[i].value);
                if (e < 0)
                        return rc_error_set(err, -e, "systemd property %s", props[i].name);
        }
        return 0;
}

static int start_scope(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        sd_bus_message *m = NULL;
        char desc[512];
        int r;

        if (new_call(cg, "StartTransientUnit", &m, err) < 0)
                return -1;
        snprintf(desc, sizeof(desc), "run-container container %s", cg->id ? cg->id : cg->unit);
        r = p_sd_bus_message_append(m, "ss", cg->unit, "fail");
        if (r >= 0)
                r = p_sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = p_sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s",
                                            desc, "Slice", "s", cg->slice, "Delegate", "b", 1, "PIDs", "au",
                                            1, (uint32_t)pid, "DefaultDependencies", "b", 0,
                                            "MemoryAccounting", "b", 1, "CPUAccounting", "b", 1,
                                            "IOAccounting", "b", 1, "TasksAccounting", "b", 1);
        if (r < 0) {
                p_sd_bus_message_unref(m);
                return rc_error_set(err, -r, "start systemd unit `%s`: build the call", cg->unit);
        }
        if (cg->cfg != NULL && append_limits(m, &cg->cfg->linux_.resources, err) < 0) {
                p_sd_bus_message_unref(m);
                return rc_error_wrap(err, "start systemd unit `%s`", cg->unit);
        }
        r = p_sd_bus_message_close_container(m);
        if (r >= 0)
                r = p_sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0) {
                p_sd_bus_message_unref(m);
                return rc_error_set(err, -r, "start systemd unit `%s`: build the call", cg->unit);
        }
        r = call_job(cg, m, "start systemd unit", cg->unit, err);
        p_sd_bus_message_unref(m);
        if (r == 1)
                return rc_error_set(err, ENOENT, "start systemd unit `%s`: no such unit", cg->unit);
        return r;
}

/* The scope around pid, then the limits and device rules in its directory. */
static int make_scope(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        _cleanup_free_ char *actual = NULL;

        if (bus_open(cg, err) < 0 || start_scope(cg, pid, err) < 0)
                return -1;
        if (rc_cgroup_path_of_pid(pid, &actual, err) < 0)
                return rc_error_wrap(err, "systemd unit `%s`", cg->unit);
        if (strcmp(actual, cg->path) != 0)
                return rc_error_set(err, 0,
                                    "systemd unit `%s`: the container's init is in cgroup `%s`, not in "
                                    "`%s` where the unit was expected",
                                    cg->unit, actual, cg->path);
        if (rc_cgroup_open_dir(cg, err) < 0)
                return -1;
        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "systemd unit `%s`: its cgroup `%s%s` does not exist",
                                    cg->unit, cg->mount, cg->path);
        if (cg->cfg != NULL && rc_cgroup_v2_configure(cg, &cg->cfg->linux_.resources, err) < 0)
                return rc_error_wrap(err, "systemd unit `%s`", cg->unit);
        return 0;
}

/* ---- the ops ----------------------------------------------------------------------------- */

static int sd_create(struct rc_cgroup *cg, const struct oci_config *cfg, rc_error_t *err)
{
        /* the scope needs a pid: it is made in sd_enter, from the spawn */
        cg->cfg = cfg;
        return bus_open(cg, err);
}

static int sd_enter(struct rc_cgroup *cg, pid_t pid, rc_error_t *err)
{
        if (cg->dirfd < 0)
                return make_scope(cg, pid, err);
        return rc_cgroup_enter_fd(cg->dirfd, pid, err); /* the init, forked by a stage already in */
}

static int set_properties(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        struct rc_systemd_prop props[MAX_PROPS];
        size_t n = 0;
        int ret;

        if (rc_cgroup_systemd_props(r, props, MAX_PROPS, &n, err) < 0)
                return -1;
        if (n == 0)
                return 0;
        if (bus_open(cg, err) < 0 || new_call(cg, "SetUnitProperties", &m, err) < 0)
                return -1;
        ret = p_sd_bus_message_append(m, "sb", cg->unit, 1);
        if (ret >= 0)
                ret = p_sd_bus_message_open_container(m, 'a', "(sv)");
        if (ret < 0 || append_limits(m, r, err) < 0 || (ret = p_sd_bus_message_close_container(m)) < 0) {
                p_sd_bus_message_unref(m);
                if (ret < 0)
                        rc_error_set(err, -ret, "build the call");
                return rc_error_wrap(err, "set properties of systemd unit `%s`", cg->unit);
        }
        ret = p_sd_bus_call(cg->bus->bus, m, CALL_TIMEOUT_US, &e, &reply);
        p_sd_bus_message_unref(m);
        p_sd_bus_message_unref(reply);
        if (ret < 0)
                return bus_error(err, ret, &e, "set properties of systemd unit", cg->unit);
        return 0;
}

static int sd_update(struct rc_cgroup *cg, const struct oci_resources *r, rc_error_t *err)
{
        if (cg->dirfd < 0)
                return rc_error_set(err, ENOENT, "cgroup `%s` of systemd unit `%s` does not exist", cg->path,
                                    cg->unit);
        if (set_properties(cg, r, err) < 0)
                return -1;
        return rc_cgroup_ops_v2.update(cg, r, err);
}

static int stop_unit(struct rc_cgroup *cg, rc_error_t *err)
{
        sd_bus_message *m = NULL;
        int r;

        if (new_call(cg, "StopUnit", &m, err) < 0)
                return -1;
        r = p_sd_bus_message_append(m, "ss", cg->unit, "replace");
        if (r < 0) {
                p_sd_bus_message_unref(m);
                return rc_error_set(err, -r, "stop systemd unit `%s`: build the call", cg->unit);
        }
        r = call_job(cg, m, "stop systemd unit", cg->unit, err);
        p_sd_bus_message_unref(m);
        return r < 0 ? -1 : 0;
}

/* Kill what is left (a scope's stop would send SIGTERM and wait), stop the unit, then
 * remove the directory should systemd have left it (or never have had the unit). */
static int sd_destroy(struct rc_cgroup *cg, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        if (cg->dirfd >= 0 && rc_cgroup_ops_v2.kill(cg, SIGKILL, 0, &e) < 0) {
                rc_log(cg->log, RC_LOG_DEBUG, "%s", e->msg);
                rc_error_free(&e);
        }
        if (bus_open(cg, &e) < 0) {
                /* nothing systemd could hold if the cgroup is gone; otherwise go on with
                 * the files, which is all a host without the bus allows */
                if (cg->dirfd < 0) {
                        rc_log(cg->log, RC_LOG_DEBUG, "%s", e->msg);
                        return 0;
                }
                rc_log(cg->log, RC_LOG_WARNING, "%s: removing cgroup `%s` without systemd", e->msg,
                       cg->path);
        } else if (stop_unit(cg, err) < 0) {
                return -1;
        }
        return rc_cgroup_ops_v2.destroy(cg, err);
}

static int sd_kill(struct rc_cgroup *cg, int sig, pid_t last, rc_error_t *err)
{
        return rc_cgroup_ops_v2.kill(cg, sig, last, err);
}

static int sd_freeze(struct rc_cgroup *cg, bool frozen, rc_error_t *err)
{
        return rc_cgroup_ops_v2.freeze(cg, frozen, err);
}

static int sd_is_frozen(struct rc_cgroup *cg, bool *ret, rc_error_t *err)
{
        return rc_cgroup_ops_v2.is_frozen(cg, ret, err);
}

static int sd_stats(struct rc_cgroup *cg, struct rc_cgroup_stats *ret, rc_error_t *err)
{
        return rc_cgroup_ops_v2.stats(cg, ret, err);
}

static int sd_procs(struct rc_cgroup *cg, pid_t **ret, size_t *ret_n, rc_error_t *err)
{
        return rc_cgroup_ops_v2.procs(cg, ret, ret_n, err);
}

static void sd_release(struct rc_cgroup *cg)
{
        bus_close(cg);
}

const struct rc_cgroup_ops rc_cgroup_ops_systemd = {
        .name = "systemd",
        .create = sd_create,
        .update = sd_update,
        .enter = sd_enter,
        .destroy = sd_destroy,
        .kill = sd_kill,
        .freeze = sd_freeze,
        .is_frozen = sd_is_frozen,
        .stats = sd_stats,
        .procs = sd_procs,
        .release = sd_release,
};
