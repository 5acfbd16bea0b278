/* Usage statistics of a cgroup v2 directory (cpu.stat, memory.*, pids.*, io.stat), and
 * their JSON form: the "data" object of runc's `events --stats`, which is also how
 * delete records the final usage in the state directory (RC_STATS_FILE). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/cgroup/cgroup.h"

#define STAT_FILE_MAX (1024 * 1024)

void rc_cgroup_stats_clear(struct rc_cgroup_stats *s)
{
        for (size_t i = 0; i < s->n_memory_stat; i++)
                free(s->memory_stat[i].key);
        free(s->memory_stat);
        free(s->io);
        memset(s, 0, sizeof(*s));
}

/* A file's content, NULL (and no error) when it does not exist or cannot be read. */
static char *read_opt(int dirfd, const char *file)
{
        _cleanup_error_ rc_error_t e = NULL;
        char *data = NULL;

        if (rc_read_file_at(dirfd, file, STAT_FILE_MAX, &data, NULL, &e) < 0)
                return NULL;
        return data;
}

/* "max" -> UINT64_MAX */
static bool read_u64(int dirfd, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *data = read_opt(dirfd, file);
        char *end;

        if (data == NULL)
                return false;
        if (strncmp(data, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return true;
        }
        errno = 0;
        *ret = strtoull(data, &end, 10);
        return errno == 0 && end != data;
}

struct key_target {
        const char *key;
        uint64_t *v;
};

/* "key value" lines; keys not in the table are skipped. */
static bool read_keyed(int dirfd, const char *file, const struct key_target *t, size_t n)
{
        _cleanup_free_ char *data = read_opt(dirfd, file);
        char *save = NULL;

        if (data == NULL)
                return false;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');

                if (sp == NULL)
                        continue;
                *sp = '\0';
                for (size_t i = 0; i < n; i++)
                        if (strcmp(line, t[i].key) == 0)
                                *t[i].v = strtoull(sp + 1, NULL, 10);
        }
        return true;
}

static int read_memory_stat(int dirfd, struct rc_cgroup_stats *s, rc_error_t *err)
{
        _cleanup_free_ char *data = read_opt(dirfd, "memory.stat");
        char *save = NULL;
        size_t cap = 0;

        if (data == NULL)
                return 0;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');

                if (sp == NULL)
                        continue;
                if (s->n_memory_stat == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct rc_cgroup_kv *nv = realloc(s->memory_stat, ncap * sizeof(*nv));

                        if (nv == NULL)
                                return rc_error_set(err, ENOMEM, "read memory.stat");
                        s->memory_stat = nv;
                        cap = ncap;
                }
                s->memory_stat[s->n_memory_stat].key = strndup(line, (size_t)(sp - line));
                if (s->memory_stat[s->n_memory_stat].key == NULL)
                        return rc_error_set(err, ENOMEM, "read memory.stat");
                s->memory_stat[s->n_memory_stat++].value = strtoull(sp + 1, NULL, 10);
        }
        return 0;
}

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per line */
static int read_io_stat(int dirfd, struct rc_cgroup_stats *s, rc_error_t *err)
{
        _cleanup_free_ char *data = read_opt(dirfd, "io.stat");
        char *save = NULL;
        size_t cap = 0;

        if (data == NULL)
                return 0;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct rc_cgroup_io_stat e = {0};
                char *tok, *tsave = NULL;

                if (sscanf(line, "%" SCNu32 ":%" SCNu32, &e.major, &e.minor) != 2)
                        continue;
                strtok_r(line, " ", &tsave);
                while ((tok = strtok_r(NULL, " ", &tsave)) != NULL) {
                        char *eq = strchr(tok, '=');
                        uint64_t v;

                        if (eq == NULL)
                                continue;
                        v = strtoull(eq + 1, NULL, 10);
                        *eq = '\0';
                        if (strcmp(tok, "rbytes") == 0)
                                e.rbytes = v;
                        else if (strcmp(tok, "wbytes") == 0)
                                e.wbytes = v;
                        else if (strcmp(tok, "rios") == 0)
                                e.rios = v;
                        else if (strcmp(tok, "wios") == 0)
                                e.wios = v;
                }
                if (s->n_io == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        struct rc_cgroup_io_stat *nv = realloc(s->io, ncap * sizeof(*nv));

                        if (nv == NULL)
                                return rc_error_set(err, ENOMEM, "read io.stat");
                        s->io = nv;
                        cap = ncap;
                }
                s->io[s->n_io++] = e;
        }
        return 0;
}

int rc_cgroup_stats_read(int dirfd, struct rc_cgroup_stats *ret, rc_error_t *err)
{
        struct rc_cgroup_stats s = {0};
        const struct key_target cpu[] = {
                {"usage_usec", &s.cpu_usage_usec},     {"user_usec", &s.cpu_user_usec},
                {"system_usec", &s.cpu_system_usec},   {"nr_periods", &s.cpu_nr_periods},
                {"nr_throttled", &s.cpu_nr_throttled}, {"throttled_usec", &s.cpu_throttled_usec},
        };
        const struct key_target events[] = {
                {"low", &s.memory_events_low},           {"high", &s.memory_events_high},
                {"max", &s.memory_events_max},           {"oom", &s.memory_events_oom},
                {"oom_kill", &s.memory_events_oom_kill},
        };

        s.has_cpu = read_keyed(dirfd, "cpu.stat", cpu, sizeof(cpu) / sizeof(cpu[0]));
        s.has_memory = read_u64(dirfd, "memory.current", &s.memory_current);
        if (s.has_memory) {
                if (!read_u64(dirfd, "memory.peak", &s.memory_peak))
                        s.memory_peak = 0;
                if (!read_u64(dirfd, "memory.max", &s.memory_limit))
                        s.memory_limit = UINT64_MAX;
                read_u64(dirfd, "memory.swap.current", &s.swap_current);
                if (!read_u64(dirfd, "memory.swap.max", &s.swap_limit))
                        s.swap_limit = UINT64_MAX;
                read_keyed(dirfd, "memory.events", events, sizeof(events) / sizeof(events[0]));
        }
        s.has_pids = read_u64(dirfd, "pids.current", &s.pids_current);
        if (s.has_pids) {
                read_u64(dirfd, "pids.peak", &s.pids_peak);
                if (!read_u64(dirfd, "pids.max", &s.pids_limit))
                        s.pids_limit = UINT64_MAX;
        }
        if ((s.has_memory && read_memory_stat(dirfd, &s, err) < 0) || read_io_stat(dirfd, &s, err) < 0) {
                rc_cgroup_stats_clear(&s);
                return -1;
        }
        *ret = s;
        return 0;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void gen_io_list(json_gen *g, const struct rc_cgroup_stats *s, bool bytes)
{
        json_gen_array_open(g);
        for (size_t i = 0; i < s->n_io; i++) {
                const struct rc_cgroup_io_stat *e = &s->io[i];

                for (int w = 0; w < 2; w++) {
                        json_gen_object_open(g);
                        json_gen_kv_uint(g, "major", e->major);
                        json_gen_kv_uint(g, "minor", e->minor);
                        json_gen_kv_string(g, "op", w ? "Write" : "Read");
                        json_gen_kv_uint(g, "value",
                                         bytes ? (w ? e->wbytes : e->rbytes) : (w ? e->wios : e->rios));
                        json_gen_object_close(g);
                }
        }
        json_gen_array_close(g);
}

static void gen_cpu(json_gen *g, const struct rc_cgroup_stats *s)
{
        json_gen_string(g, "cpu");
        json_gen_object_open(g);
        json_gen_string(g, "usage");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "total", s->cpu_usage_usec * 1000);
        json_gen_kv_uint(g, "kernel", s->cpu_system_usec * 1000);
        json_gen_kv_uint(g, "user", s->cpu_user_usec * 1000);
        json_gen_object_close(g);
        json_gen_string(g, "throttling");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "periods", s->cpu_nr_periods);
        json_gen_kv_uint(g, "throttledPeriods", s->cpu_nr_throttled);
        json_gen_kv_uint(g, "throttledTime", s->cpu_throttled_usec * 1000);
        json_gen_object_close(g);
        json_gen_object_close(g);
}

static void gen_memory(json_gen *g, const struct rc_cgroup_stats *s)
{
        json_gen_string(g, "memory");
        json_gen_object_open(g);
        json_gen_string(g, "usage");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "limit", s->memory_limit);
        json_gen_kv_uint(g, "usage", s->memory_current);
        json_gen_kv_uint(g, "max", s->memory_peak);
        json_gen_kv_uint(g, "failcnt", s->memory_events_max);
        json_gen_object_close(g);
        json_gen_string(g, "swap");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "limit", s->swap_limit);
        json_gen_kv_uint(g, "usage", s->swap_current);
        json_gen_object_close(g);
        json_gen_string(g, "events");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "low", s->memory_events_low);
        json_gen_kv_uint(g, "high", s->memory_events_high);
        json_gen_kv_uint(g, "max", s->memory_events_max);
        json_gen_kv_uint(g, "oom", s->memory_events_oom);
        json_gen_kv_uint(g, "oom_kill", s->memory_events_oom_kill);
        json_gen_object_close(g);
        json_gen_string(g, "raw");
        json_gen_object_open(g);
        for (size_t i = 0; i < s->n_memory_stat; i++)
                json_gen_kv_uint(g, s->memory_stat[i].key, s->memory_stat[i].value);
        json_gen_object_close(g);
        json_gen_object_close(g);
}

void rc_cgroup_stats_gen(json_gen *g, const struct rc_cgroup_stats *s)
{
        json_gen_object_open(g);
        if (s->has_cpu)
                gen_cpu(g, s);
        if (s->has_memory)
                gen_memory(g, s);
        if (s->has_pids) {
                json_gen_string(g, "pids");
                json_gen_object_open(g);
                json_gen_kv_uint(g, "current", s->pids_current);
                json_gen_kv_uint(g, "limit", s->pids_limit);
                json_gen_kv_uint(g, "peak", s->pids_peak);
                json_gen_object_close(g);
        }
        json_gen_string(g, "blkio");
        json_gen_object_open(g);
        json_gen_string(g, "ioServiceBytesRecursive");
        gen_io_list(g, s, true);
        json_gen_string(g, "ioServicedRecursive");
        gen_io_list(g, s, false);
        json_gen_object_close(g);
        json_gen_object_close(g);
}

/* obj.a.b... as a u64; missing or mistyped leaves *ret alone */
static void get_u64(const json_node *obj, const char *a, const char *b, uint64_t *ret)
{
        const json_node *n = json_object_get(obj, a);

        if (b != NULL)
                n = json_object_get(n, b);
        if (json_type_of(n) == JSON_NUMBER)
                json_get_u64(n, ret);
}

/* nanoseconds in the JSON, microseconds in the struct */
static void get_usec(const json_node *obj, const char *a, const char *b, uint64_t *ret)
{
        uint64_t ns = UINT64_MAX;

        get_u64(obj, a, b, &ns);
        if (ns != UINT64_MAX)
                *ret = ns / 1000;
}

static int parse_memory(const json_node *m, struct rc_cgroup_stats *s, rc_error_t *err)
{
        const json_node *raw = json_object_get(m, "raw");
        size_t n = json_object_size(raw);

        s->has_memory = true;
        get_u64(m, "usage", "limit", &s->memory_limit);
        get_u64(m, "usage", "usage", &s->memory_current);
        get_u64(m, "usage", "max", &s->memory_peak);
        get_u64(m, "swap", "limit", &s->swap_limit);
        get_u64(m, "swap", "usage", &s->swap_current);
        get_u64(m, "events", "low", &s->memory_events_low);
        get_u64(m, "events", "high", &s->memory_events_high);
        get_u64(m, "events", "max", &s->memory_events_max);
        get_u64(m, "events", "oom", &s->memory_events_oom);
        get_u64(m, "events", "oom_kill", &s->memory_events_oom_kill);
        if (n == 0)
                return 0;
        s->memory_stat = calloc(n, sizeof(*s->memory_stat));
        if (s->memory_stat == NULL)
                return rc_error_set(err, ENOMEM, "stats");
        for (size_t i = 0; i < n; i++) {
                struct rc_cgroup_kv *kv = &s->memory_stat[s->n_memory_stat];

                kv->key = strdup(json_object_key(raw, i));
                if (kv->key == NULL)
                        return rc_error_set(err, ENOMEM, "stats");
                s->n_memory_stat++;
                json_get_u64(json_object_value(raw, i), &kv->value);
        }
        return 0;
}

static struct rc_cgroup_io_stat *io_entry(struct rc_cgroup_stats *s, uint64_t major, uint64_t minor)
{
        for (size_t i = 0; i < s->n_io; i++)
                if (s->io[i].major == major && s->io[i].minor == minor)
                        return &s->io[i];
        return NULL;
}

static int parse_io(const json_node *list, bool bytes, struct rc_cgroup_stats *s, rc_error_t *err)
{
        for (size_t i = 0; i < json_array_size(list); i++) {
                const json_node *e = json_array_get(list, i);
                const char *op = json_get_string(json_object_get(e, "op"));
                uint64_t major = 0, minor = 0, value = 0;
                struct rc_cgroup_io_stat *d;
                bool w;

                get_u64(e, "major", NULL, &major);
                get_u64(e, "minor", NULL, &minor);
                get_u64(e, "value", NULL, &value);
                d = io_entry(s, major, minor);
                if (d == NULL) {
                        struct rc_cgroup_io_stat *nv = realloc(s->io, (s->n_io + 1) * sizeof(*nv));

                        if (nv == NULL)
                                return rc_error_set(err, ENOMEM, "stats");
                        s->io = nv;
                        d = &s->io[s->n_io++];
                        *d = (struct rc_cgroup_io_stat){.major = (uint32_t)major, .minor = (uint32_t)minor};
                }
                w = op != NULL && strcmp(op, "Write") == 0;
                if (bytes)
                        *(w ? &d->wbytes : &d->rbytes) = value;
                else
                        *(w ? &d->wios : &d->rios) = value;
        }
        return 0;
}

int rc_cgroup_stats_parse(const char *data, size_t len, const char *origin, struct rc_cgroup_stats *ret,
                          rc_error_t *err)
{
        struct rc_cgroup_stats s = {0};
        json_node *root = NULL;
        const json_node *n, *blkio;
        int r = 0;

        if (json_parse(data, len, origin, &root, err) < 0)
                return -1;
        if (json_type_of(root) != JSON_OBJECT) {
                json_free(root);
                return rc_error_set(err, 0, "%s: not a JSON object", origin);
        }
        if ((n = json_object_get(root, "cpu")) != NULL) {
                s.has_cpu = true;
                get_usec(n, "usage", "total", &s.cpu_usage_usec);
                get_usec(n, "usage", "kernel", &s.cpu_system_usec);
                get_usec(n, "usage", "user", &s.cpu_user_usec);
                get_u64(n, "throttling", "periods", &s.cpu_nr_periods);
                get_u64(n, "throttling", "throttledPeriods", &s.cpu_nr_throttled);
                get_usec(n, "throttling", "throttledTime", &s.cpu_throttled_usec);
        }
        if ((n = json_object_get(root, "memory")) != NULL)
                r = parse_memory(n, &s, err);
        if ((n = json_object_get(root, "pids")) != NULL) {
                s.has_pids = true;
                get_u64(n, "current", NULL, &s.pids_current);
                get_u64(n, "limit", NULL, &s.pids_limit);
                get_u64(n, "peak", NULL, &s.pids_peak);
        }
        blkio = json_object_get(root, "blkio");
        if (r == 0)
                r = parse_io(json_object_get(blkio, "ioServiceBytesRecursive"), true, &s, err);
        if (r == 0)
                r = parse_io(json_object_get(blkio, "ioServicedRecursive"), false, &s, err);
        json_free(root);
        if (r < 0) {
                rc_cgroup_stats_clear(&s);
                return -1;
        }
        *ret = s;
        return 0;
}
