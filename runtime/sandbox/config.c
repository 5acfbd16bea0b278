/* The sandbox's config.json, built in memory: the default spec (`run-container spec`:
 * its mounts, masked paths, seccomp profile and capability set) copied node by node,
 * with the sandbox's options applied where they belong. The result goes through the
 * same parser and validator as any bundle's config. */
#include "runtime/sandbox/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/image/image.h"
#include "runtime/net/network.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

#define ENV_FILE_MAX (1024u * 1024u)

static size_t strv_len(char *const *v)
{
        size_t n = 0;

        while (v != NULL && v[n] != NULL)
                n++;
        return n;
}

/* ---- capabilities ------------------------------------------------------------------ */

static int cap_lookup(const char *name, int *ret)
{
        char buf[64];
        size_t off = 0;

        if (strncasecmp(name, "CAP_", 4) != 0)
                off = (size_t)snprintf(buf, sizeof(buf), "CAP_");
        for (const char *p = name; *p && off < sizeof(buf) - 1; p++)
                buf[off++] = (char)toupper((unsigned char)*p);
        buf[off] = '\0';
        return oci_cap_from_name(buf, ret);
}

static int apply_caps(uint64_t *mask, char *const *names, bool add, rc_error_t *err)
{
        for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
                uint64_t bits;
                int cap;

                if (strcasecmp(names[i], "ALL") == 0) {
                        bits = OCI_CAP_LAST >= 63 ? UINT64_MAX : (UINT64_C(1) << (OCI_CAP_LAST + 1)) - 1;
                } else if (cap_lookup(names[i], &cap) == 0) {
                        bits = UINT64_C(1) << cap;
                } else {
                        return rc_error_set(err, EINVAL, "--cap-%s: unknown capability \"%s\"",
                                            add ? "add" : "drop", names[i]);
                }
                *mask = add ? *mask | bits : *mask & ~bits;
        }
        return 0;
}

/* The default spec's bounding set with --cap-drop, then --cap-add applied (docker's order). */
static int caps_mask(const struct rc_sandbox_opts *o, const json_node *caps, uint64_t *ret, rc_error_t *err)
{
        const json_node *bounding = json_object_get(caps, "bounding");
        uint64_t mask = 0;
        int cap;

        for (size_t i = 0; i < json_array_size(bounding); i++)
                if (oci_cap_from_name(json_get_string(json_array_get(bounding, i)), &cap) == 0)
                        mask |= UINT64_C(1) << cap;
        if (apply_caps(&mask, o->cap_drop, false, err) < 0 || apply_caps(&mask, o->cap_add, true, err) < 0)
                return -1;
        *ret = mask;
        return 0;
}

/* ---- environment ------------------------------------------------------------------- */

struct env {
        char **v;
        size_t n;
};

static void env_clear(struct env *e)
{
        for (size_t i = 0; i < e->n; i++)
                free(e->v[i]);
        free(e->v);
}

/* Set K=V, replacing an earlier K in place. */
static int env_set(struct env *e, const char *kv, size_t len, const char *what, rc_error_t *err)
{
        const char *eq = memchr(kv, '=', len);
        char *copy, **nv;

        if (eq == NULL || eq == kv)
                return rc_error_set(err, EINVAL, "%s: \"%.*s\" is not KEY=VALUE", what, (int)len, kv);
        copy = strndup(kv, len);
        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "environment");
        for (size_t i = 0; i < e->n; i++) {
                if (strncmp(e->v[i], kv, (size_t)(eq - kv) + 1) == 0) {
                        free(e->v[i]);
                        e->v[i] = copy;
                        return 0;
                }
        }
        nv = realloc(e->v, (e->n + 1) * sizeof(*nv));
        if (nv == NULL) {
                free(copy);
                return rc_error_set(err, ENOMEM, "environment");
        }
        e->v = nv;
        e->v[e->n++] = copy;
        return 0;
}

static int env_file(struct env *e, const char *path, rc_error_t *err)
{
        _cleanup_free_ char *data = NULL, *what = NULL;
        size_t len = 0, lineno = 0;

        if (rc_read_file_at(AT_FDCWD, path, ENV_FILE_MAX, &data, &len, err) < 0)
                return rc_error_wrap(err, "--env-file");
        for (char *line = data, *next; line < data + len; line = next) {
                char *nl = memchr(line, '\n', (size_t)(data + len - line));
                size_t l = nl ? (size_t)(nl - line) : (size_t)(data + len - line);

                next = line + l + 1;
                lineno++;
                while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
                        l--;
                while (l > 0 && (*line == ' ' || *line == '\t')) {
                        line++;
                        l--;
                }
                if (l == 0 || line[0] == '#')
                        continue;
                free(what);
                if (asprintf(&what, "%s:%zu", path, lineno) < 0)
                        return rc_error_set(err, ENOMEM, "--env-file");
                if (env_set(e, line, l, what, err) < 0)
                        return -1;
        }
        return 0;
}

static int build_env(const struct rc_sandbox_opts *o, const struct rc_image *img, const json_node *dflt,
                     struct env *e, rc_error_t *err)
{
        const char *s;

        for (size_t i = 0; i < json_array_size(dflt); i++)
                if ((s = json_get_string(json_array_get(dflt, i))) != NULL &&
                    (o->terminal || strncmp(s, "TERM=", 5) != 0) && env_set(e, s, strlen(s), "env", err) < 0)
                        return -1;
        for (size_t i = 0; img != NULL && img->env != NULL && img->env[i] != NULL; i++)
                if (env_set(e, img->env[i], strlen(img->env[i]), "image env", err) < 0)
                        return -1;
        for (size_t i = 0; o->env_files != NULL && o->env_files[i] != NULL; i++)
                if (env_file(e, o->env_files[i], err) < 0)
                        return -1;
        for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
                if (env_set(e, o->env[i], strlen(o->env[i]), "-e", err) < 0)
                        return -1;
        return 0;
}

/* ---- user ---------------------------------------------------------------------------- */

static bool parse_id(const char *s, size_t len, unsigned long *ret)
{
        char buf[16], *end;

        if (len == 0 || len >= sizeof(buf) || !isdigit((unsigned char)s[0]))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        *ret = strtoul(buf, &end, 10);
        return errno == 0 && *end == '\0' && *ret < UINT32_MAX;
}

/* Look `name` (or the numeric id) up in /etc/passwd or /etc/group of the base: the
 * topmost layer that has the file. Field 3 (the id) or, with want_gid, field 4. */
static int lookup_db(const char *const *lower, const char *file, const char *key, size_t klen, bool by_id,
                     bool want_gid, unsigned long *ret, rc_error_t *err)
{
        unsigned long kid = 0;
        size_t n = 0;

        if (by_id && !parse_id(key, klen, &kid))
                return 0;
        while (lower != NULL && lower[n] != NULL)
                n++;
        for (size_t i = n; i-- > 0;) {
                _cleanup_free_ char *data = NULL;
                _cleanup_close_ int rootfd = open(lower[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = -1;
                rc_error_t e = NULL;
                size_t len = 0;
                char path[64];

                if (rootfd < 0)
                        continue;
                fd = rc_open_in_root(rootfd, file, O_RDONLY, 0, &e);
                rc_error_free(&e);
                if (fd < 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (rc_read_file_at(AT_FDCWD, path, ENV_FILE_MAX, &data, &len, err) < 0)
                        return -1;
                for (char *line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
                        char *f[4] = {line};
                        unsigned long id;
                        int k = 1;

                        for (char *p = line; *p && k < 4; p++)
                                if (*p == ':') {
                                        *p = '\0';
                                        f[k++] = p + 1;
                                }
                        if (k < 3 || f[2] == NULL)
                                continue;
                        if (k == 4) {
                                char *c = strchr(f[3], ':');
                                if (c != NULL)
                                        *c = '\0';
                        }
                        bool match = by_id ? parse_id(f[2], strlen(f[2]), &id) && id == kid
                                           : strlen(f[0]) == klen && strncmp(f[0], key, klen) == 0;
                        const char *want = want_gid ? (k == 4 ? f[3] : NULL) : f[2];
                        if (match && want != NULL && parse_id(want, strlen(want), ret))
                                return 1;
                }
                return 0; /* the topmost file decides */
        }
        return 0;
}

static int resolve_user(const char *spec, const char *const *lower, unsigned long *uid, unsigned long *gid,
                        rc_error_t *err)
{
        const char *colon = strchr(spec, ':');
        size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
        int r;

        *gid = 0;
        if (parse_id(spec, ulen, uid)) {
                /* a known uid takes its primary group, as docker does */
                if (colon == NULL && lookup_db(lower, "/etc/passwd", spec, ulen, true, true, gid, err) < 0)
                        return -1;
        } else {
                r = lookup_db(lower, "/etc/passwd", spec, ulen, false, false, uid, err);
                if (r == 0)
                        return rc_error_set(err, ENOENT, "user \"%.*s\" not found in the base's /etc/passwd",
                                            (int)ulen, spec);
                if (r < 0 || (colon == NULL &&
                              lookup_db(lower, "/etc/passwd", spec, ulen, false, true, gid, err) < 0))
                        return -1;
        }
        if (colon == NULL || parse_id(colon + 1, strlen(colon + 1), gid))
                return 0;
        r = lookup_db(lower, "/etc/group", colon + 1, strlen(colon + 1), false, false, gid, err);
        if (r == 0)
                return rc_error_set(err, ENOENT, "group \"%s\" not found in the base's /etc/group",
                                    colon + 1);
        return r < 0 ? -1 : 0;
}

/* ---- mounts, rlimits ------------------------------------------------------------------ */

static int gen_volume(json_gen *g, const char *spec, rc_error_t *err)
{
        _cleanup_free_ char *copy = strdup(spec);
        char *src, *dst, *mode;
        bool ro = false;

        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "-v");
        src = copy;
        dst = strchr(src, ':');
        if (dst == NULL)
                return rc_error_set(err, EINVAL, "-v \"%s\": not SRC:DST[:ro|rw]", spec);
        *dst++ = '\0';
        mode = strchr(dst, ':');
        if (mode != NULL) {
                *mode++ = '\0';
                if (strcmp(mode, "ro") == 0)
                        ro = true;
                else if (strcmp(mode, "rw") != 0)
                        return rc_error_set(err, EINVAL, "-v \"%s\": unknown mode \"%s\" (ro or rw)", spec,
                                            mode);
        }
        if (src[0] != '/' || dst[0] != '/')
                return rc_error_set(err, EINVAL, "-v \"%s\": SRC and DST must be absolute paths", spec);
        json_gen_object_open(g);
        json_gen_kv_string(g, "destination", dst);
        json_gen_kv_string(g, "type", "bind");
        json_gen_kv_string(g, "source", src);
        json_gen_string(g, "options");
        json_gen_array_open(g);
        json_gen_string(g, "rbind");
        json_gen_string(g, "rprivate");
        json_gen_string(g, ro ? "rro" : "rw");
        json_gen_array_close(g);
        json_gen_object_close(g);
        return 0;
}

/* "--tmpfs DST[:OPTIONS]" (podman's): our nosuid,nodev,mode=1777 first, the options
 * after them (the later word wins), and size= when the options give none and
 * default_size is set (no cgroup: see rc_sandbox_opts.unlimited_tmpfs). */
static int gen_tmpfs(json_gen *g, const char *spec, uint64_t default_size, rc_error_t *err)
{
        const char *colon = strchr(spec, ':');
        _cleanup_free_ char *dst = strndup(spec, colon ? (size_t)(colon - spec) : strlen(spec));
        _cleanup_free_ char *opts = strdup(colon ? colon + 1 : "");
        bool sized = false;
        char *save = NULL;

        if (dst == NULL || opts == NULL)
                return rc_error_set(err, ENOMEM, "--tmpfs");
        if (dst[0] != '/')
                return rc_error_set(err, EINVAL, "--tmpfs \"%s\": not an absolute path", spec);
        json_gen_object_open(g);
        json_gen_kv_string(g, "destination", dst);
        json_gen_kv_string(g, "type", "tmpfs");
        json_gen_kv_string(g, "source", "tmpfs");
        json_gen_string(g, "options");
        json_gen_array_open(g);
        json_gen_string(g, "nosuid");
        json_gen_string(g, "nodev");
        json_gen_string(g, "mode=1777");
        for (char *w = strtok_r(opts, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
                if (strncmp(w, "size=", 5) == 0) {
                        sized = true;
                        /* tmpfs reads size=0 as no limit at all */
                        if (strcmp(w + 5, "0") == 0 && default_size > 0)
                                return rc_error_set(
                                        err, EINVAL,
                                        "--tmpfs \"%s\": size=0 is unlimited, and without a cgroup "
                                        "nothing charges a tmpfs's pages to the job: give a size, "
                                        "or pass --unlimited-tmpfs",
                                        spec);
                }
                json_gen_string(g, w);
        }
        if (!sized && default_size > 0) {
                char size[32];

                snprintf(size, sizeof(size), "size=%" PRIu64, default_size);
                json_gen_string(g, size);
        }
        json_gen_array_close(g);
        json_gen_object_close(g);
        return 0;
}

static int gen_mounts(json_gen *g, const struct rc_sandbox_opts *o, const json_node *dflt,
                      uint64_t tmpfs_size, rc_error_t *err)
{
        json_gen_array_open(g);
        for (size_t i = 0; i < json_array_size(dflt); i++)
                json_gen_node(g, json_array_get(dflt, i));
        for (size_t i = 0; o->volumes != NULL && o->volumes[i] != NULL; i++)
                if (gen_volume(g, o->volumes[i], err) < 0)
                        return -1;
        for (size_t i = 0; o->tmpfs != NULL && o->tmpfs[i] != NULL; i++)
                if (gen_tmpfs(g, o->tmpfs[i], tmpfs_size, err) < 0)
                        return -1;
        json_gen_array_close(g);
        return 0;
}

struct rlimit_set {
        char name[32];
        uint64_t soft, hard;
};

static int parse_limit(const char *s, size_t len, uint64_t *ret)
{
        char buf[32], *end;

        if (len == 0 || len >= sizeof(buf))
                return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (strcmp(buf, "unlimited") == 0 || strcmp(buf, "-1") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (!isdigit((unsigned char)buf[0]))
                return -1;
        errno = 0;
        *ret = strtoull(buf, &end, 10);
        return errno == 0 && *end == '\0' ? 0 : -1;
}

/* "nofile=1024[:2048]" -> RLIMIT_NOFILE 1024/2048 */
static int parse_ulimit(const char *spec, struct rlimit_set *ret, rc_error_t *err)
{
        const char *eq = strchr(spec, '='), *colon;
        size_t off = 0;
        int res;

        if (eq == NULL || eq == spec)
                return rc_error_set(err, EINVAL, "--ulimit \"%s\": not NAME=SOFT[:HARD]", spec);
        if (strncasecmp(spec, "RLIMIT_", 7) != 0)
                off = (size_t)snprintf(ret->name, sizeof(ret->name), "RLIMIT_");
        for (const char *p = spec; p < eq && off < sizeof(ret->name) - 1; p++)
                ret->name[off++] = (char)toupper((unsigned char)*p);
        ret->name[off] = '\0';
        if (oci_rlimit_from_name(ret->name, &res) < 0)
                return rc_error_set(err, EINVAL, "--ulimit \"%s\": unknown limit", spec);
        colon = strchr(eq + 1, ':');
        if (parse_limit(eq + 1, colon ? (size_t)(colon - eq - 1) : strlen(eq + 1), &ret->soft) < 0 ||
            (colon != NULL && parse_limit(colon + 1, strlen(colon + 1), &ret->hard) < 0))
                return rc_error_set(err, EINVAL, "--ulimit \"%s\": invalid value", spec);
        if (colon == NULL)
                ret->hard = ret->soft;
        if (ret->soft > ret->hard)
                return rc_error_set(err, EINVAL, "--ulimit \"%s\": soft limit above the hard one", spec);
        return 0;
}

static int gen_rlimits(json_gen *g, const struct rc_sandbox_opts *o, const json_node *dflt, rc_error_t *err)
{
        size_t n = strv_len(o->ulimits);
        _cleanup_free_ struct rlimit_set *set = calloc(n + 1, sizeof(*set));

        if (set == NULL)
                return rc_error_set(err, ENOMEM, "--ulimit");
        for (size_t i = 0; i < n; i++)
                if (parse_ulimit(o->ulimits[i], &set[i], err) < 0)
                        return -1;
        json_gen_array_open(g);
        for (size_t i = 0; i < json_array_size(dflt); i++) {
                const json_node *r = json_array_get(dflt, i);
                const char *type = json_get_string(json_object_get(r, "type"));
                bool overridden = false;

                for (size_t k = 0; k < n && type != NULL; k++)
                        overridden |= strcmp(set[k].name, type) == 0;
                if (!overridden)
                        json_gen_node(g, r);
        }
        for (size_t i = 0; i < n; i++) {
                bool later = false;

                for (size_t k = i + 1; k < n; k++)
                        later |= strcmp(set[k].name, set[i].name) == 0;
                if (later)
                        continue; /* the last --ulimit for a name wins */
                json_gen_object_open(g);
                json_gen_kv_string(g, "type", set[i].name);
                json_gen_kv_uint(g, "hard", set[i].hard);
                json_gen_kv_uint(g, "soft", set[i].soft);
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
        return 0;
}

/* ---- process ---------------------------------------------------------------------------- */

static void gen_strv(json_gen *g, const char *key, char *const *v, size_t n)
{
        json_gen_string(g, key);
        json_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
                json_gen_string(g, v[i]);
        json_gen_array_close(g);
}

static void gen_caps(json_gen *g, uint64_t mask)
{
        static const char *const sets[] = {"bounding", "effective", "permitted"};

        json_gen_string(g, "capabilities");
        json_gen_object_open(g);
        for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
                json_gen_string(g, sets[s]);
                json_gen_array_open(g);
                for (int c = 0; c <= OCI_CAP_LAST; c++)
                        if ((mask & (UINT64_C(1) << c)) && oci_cap_name(c) != NULL)
                                json_gen_string(g, oci_cap_name(c));
                json_gen_array_close(g);
        }
        json_gen_object_close(g);
}

/* The command: the options', else the image's entrypoint + cmd. */
static int command(const struct rc_sandbox_opts *o, const struct rc_image *img, char ***ret, size_t *ret_n,
                   rc_error_t *err)
{
        char *const *parts[2] = {NULL, NULL};
        size_t n = 0;
        char **v;

        if (strv_len(o->args) > 0) {
                parts[0] = o->args;
        } else if (img != NULL) {
                parts[0] = img->entrypoint;
                parts[1] = img->cmd;
        }
        n = strv_len(parts[0]) + strv_len(parts[1]);
        if (n == 0)
                return rc_error_set(err, EINVAL, "no command given (and the image has none)");
        v = calloc(n + 1, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "command");
        n = 0;
        for (int p = 0; p < 2; p++)
                for (size_t i = 0; i < strv_len(parts[p]); i++)
                        v[n++] = parts[p][i]; /* borrowed */
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The job's user (process.user), which a rootless sandbox's id maps also name. */
struct job_ids {
        unsigned long uid, gid;
};

static int gen_process(json_gen *g, const struct rc_sandbox_opts *o, const struct rc_image *img,
                       const char *const *lower, const json_node *dflt, struct job_ids *ids, rc_error_t *err)
{
        const char *user = o->user ? o->user : img != NULL && img->user && img->user[0] ? img->user : NULL;
        const char *cwd = o->workdir                                       ? o->workdir
                          : img != NULL && img->workdir && img->workdir[0] ? img->workdir
                                                                           : "/";
        __attribute__((cleanup(env_clear))) struct env env = {0};
        _cleanup_free_ char **args = NULL;
        unsigned long uid = 0, gid = 0;
        uint64_t caps = 0;
        size_t n_args = 0;

        if (cwd[0] != '/')
                return rc_error_set(err, EINVAL, "working directory \"%s\": not an absolute path", cwd);
        if ((user != NULL && resolve_user(user, lower, &uid, &gid, err) < 0) ||
            command(o, img, &args, &n_args, err) < 0 ||
            build_env(o, img, json_object_get(dflt, "env"), &env, err) < 0 ||
            caps_mask(o, json_object_get(dflt, "capabilities"), &caps, err) < 0)
                return -1;
        json_gen_object_open(g);
        json_gen_kv_bool(g, "terminal", o->terminal);
        json_gen_string(g, "user");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "uid", uid);
        json_gen_kv_uint(g, "gid", gid);
        json_gen_object_close(g);
        ids->uid = uid;
        ids->gid = gid;
        gen_strv(g, "args", args, n_args);
        gen_strv(g, "env", env.v, env.n);
        json_gen_kv_string(g, "cwd", cwd);
        gen_caps(g, caps);
        json_gen_string(g, "rlimits");
        if (gen_rlimits(g, o, json_object_get(dflt, "rlimits"), err) < 0)
                return -1;
        json_gen_kv_bool(g, "noNewPrivileges", true);
        json_gen_object_close(g);
        return 0;
}

/* ---- linux ------------------------------------------------------------------------------- */

static bool net_is(const struct rc_sandbox_opts *o, const char *what)
{
        return strcmp(o->net != NULL ? o->net : "none", what) == 0;
}

static void gen_resources(json_gen *g, const struct rc_sandbox_opts *o, const json_node *dflt)
{
        json_gen_object_open(g);
        for (size_t k = 0; k < json_object_size(dflt); k++) {
                json_gen_string(g, json_object_key(dflt, k));
                json_gen_node(g, json_object_value(dflt, k));
        }
        if (o->memory != 0 || o->memory_swap != 0) {
                json_gen_string(g, "memory");
                json_gen_object_open(g);
                if (o->memory != 0)
                        json_gen_kv_int(g, "limit", o->memory);
                if (o->memory_swap != 0)
                        json_gen_kv_int(g, "swap", o->memory_swap);
                json_gen_object_close(g);
        }
        if (o->cpu_quota != 0) {
                json_gen_string(g, "cpu");
                json_gen_object_open(g);
                json_gen_kv_int(g, "quota", (int64_t)o->cpu_quota);
                json_gen_kv_uint(g, "period", RC_SANDBOX_CPU_PERIOD);
                json_gen_object_close(g);
        }
        if (o->pids_limit != 0) {
                json_gen_string(g, "pids");
                json_gen_object_open(g);
                json_gen_kv_int(g, "limit", o->pids_limit);
                json_gen_object_close(g);
        }
        if (o->io_weight != 0) {
                json_gen_string(g, "blockIO");
                json_gen_object_open(g);
                json_gen_kv_uint(g, "weight", o->io_weight);
                json_gen_object_close(g);
        }
        json_gen_object_close(g);
}

/* A rootless sandbox maps one id, the caller's: to the job's user (bwrap's --uid), so that
 * `--user N` runs as N, owning what the caller owns; root (0) by default. */
static void gen_own_idmap(json_gen *g, unsigned long container_id, unsigned long host_id)
{
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_uint(g, "containerID", container_id);
        json_gen_kv_uint(g, "hostID", host_id);
        json_gen_kv_uint(g, "size", 1);
        json_gen_object_close(g);
        json_gen_array_close(g);
}

/* The default seccomp profile (unless --security-opt seccomp=unconfined) comes first in
 * the linux object: *seccomp_at and *seccomp_end are where its member starts and ends in
 * the document (equal without one), for the copy the parser is given (parse_config). */
static void gen_linux(json_gen *g, const struct rc_sandbox_opts *o, const json_node *dflt,
                      const struct job_ids *ids, size_t *seccomp_at, size_t *seccomp_end)
{
        json_gen_object_open(g);
        *seccomp_at = json_gen_tell(g);
        if (!o->seccomp_unconfined) {
                json_gen_string(g, "seccomp");
                oci_default_seccomp_gen(g);
        }
        *seccomp_end = json_gen_tell(g);
        for (size_t k = 0; k < json_object_size(dflt); k++) {
                const char *key = json_object_key(dflt, k);
                const json_node *v = json_object_value(dflt, k);

                json_gen_string(g, key);
                if (strcmp(key, "resources") == 0) {
                        gen_resources(g, o, v);
                } else if (strcmp(key, "uidMappings") == 0 && geteuid() != 0) {
                        gen_own_idmap(g, ids->uid, (unsigned long)geteuid());
                } else if (strcmp(key, "gidMappings") == 0 && geteuid() != 0) {
                        gen_own_idmap(g, ids->gid, (unsigned long)getegid());
                } else if (strcmp(key, "namespaces") == 0) {
                        /* a network namespace of its own unless --net host (the rootless
                         * spec has none) */
                        json_gen_array_open(g);
                        for (size_t i = 0; i < json_array_size(v); i++) {
                                const json_node *ns = json_array_get(v, i);
                                const char *type = json_get_string(json_object_get(ns, "type"));

                                if (type == NULL || strcmp(type, "network") != 0)
                                        json_gen_node(g, ns);
                        }
                        if (!net_is(o, "host")) {
                                json_gen_object_open(g);
                                json_gen_kv_string(g, "type", "network");
                                json_gen_object_close(g);
                        }
                        json_gen_array_close(g);
                } else {
                        json_gen_node(g, v);
                }
        }
        if (json_object_get(dflt, "resources") == NULL) {
                json_gen_string(g, "resources");
                gen_resources(g, o, NULL);
        }
        json_gen_object_close(g);
}

static int gen_annotations(json_gen *g, const struct rc_sandbox_opts *o, rc_error_t *err)
{
        _cleanup_free_ char *ports = NULL;
        size_t len = 0;

        for (size_t i = 0; o->ports != NULL && o->ports[i] != NULL; i++)
                len += strlen(o->ports[i]) + 1;
        if (len > 0 && (net_is(o, "none") || net_is(o, "host")))
                return rc_error_set(err, EINVAL, "-p needs --net NETWORK (not \"%s\")",
                                    o->net ? o->net : "none");
        if (len > 0) {
                ports = calloc(1, len);
                if (ports == NULL)
                        return rc_error_set(err, ENOMEM, "-p");
                for (size_t i = 0; o->ports[i] != NULL; i++) {
                        if (i > 0)
                                strcat(ports, ",");
                        strcat(ports, o->ports[i]);
                }
        }
        json_gen_string(g, "annotations");
        json_gen_object_open(g);
        json_gen_kv_string(g, RC_ANNOTATION_SANDBOX, "true");
        if (!net_is(o, "none") && !net_is(o, "host"))
                json_gen_kv_string(g, RC_ANNOTATION_NETWORK, o->net);
        if (ports != NULL)
                json_gen_kv_string(g, RC_ANNOTATION_PORTS, ports);
        json_gen_object_close(g);
        return 0;
}

static int gen_config(json_gen *g, const struct rc_sandbox_opts *o, const struct rc_image *img,
                      const char *const *lower, const char *id, const char *root_path, uint64_t tmpfs_size,
                      const json_node *dflt, size_t *seccomp_at, size_t *seccomp_end, rc_error_t *err)
{
        struct job_ids ids = {0};
        char hostname[64];

        snprintf(hostname, sizeof(hostname), "%s", o->hostname ? o->hostname : id);
        json_gen_object_open(g);
        for (size_t k = 0; k < json_object_size(dflt); k++) {
                const char *key = json_object_key(dflt, k);
                const json_node *v = json_object_value(dflt, k);

                json_gen_string(g, key);
                if (strcmp(key, "process") == 0) {
                        if (gen_process(g, o, img, lower, v, &ids, err) < 0)
                                return -1;
                } else if (strcmp(key, "root") == 0) {
                        json_gen_object_open(g);
                        json_gen_kv_string(g, "path", root_path);
                        json_gen_kv_bool(g, "readonly", o->read_only);
                        json_gen_object_close(g);
                } else if (strcmp(key, "hostname") == 0) {
                        json_gen_string(g, hostname);
                } else if (strcmp(key, "mounts") == 0) {
                        if (gen_mounts(g, o, v, tmpfs_size, err) < 0)
                                return -1;
                } else if (strcmp(key, "linux") == 0) {
                        /* after "process", as in the default spec */
                        gen_linux(g, o, v, &ids, seccomp_at, seccomp_end);
                } else {
                        json_gen_node(g, v);
                }
        }
        if (gen_annotations(g, o, err) < 0)
                return -1;
        json_gen_object_close(g);
        return 0;
}

/* The same checks as any config.json: a bad option value fails here, not later. The
 * default seccomp profile (most of the document, at [at, end)) is not parsed: the parser
 * gets a copy without it, and it is built straight into the result. */
static int parse_config(const char *doc, size_t len, size_t at, size_t end, bool seccomp,
                        struct oci_config **ret, rc_error_t *err)
{
        _cleanup_free_ char *rest = NULL;

        if (at > end || end > len || (seccomp && (at == 0 || doc[at - 1] != '{' || at == end)))
                return rc_error_set(err, EINVAL, "sandbox config: no linux object for the seccomp profile");
        if (end < len && doc[end] == ',')
                end++; /* the member after it */
        rest = malloc(len - (end - at) + 1);
        if (rest == NULL)
                return rc_error_set(err, ENOMEM, "sandbox config");
        memcpy(rest, doc, at);
        memcpy(rest + at, doc + end, len - end);
        rest[len - (end - at)] = '\0';
        if (oci_config_parse(rest, len - (end - at), "sandbox config", ret, err) < 0)
                return -1;
        if (seccomp && oci_default_seccomp_build(&(*ret)->linux_.seccomp, err) < 0) {
                oci_config_free(TAKE_PTR(*ret));
                return -1;
        }
        return 0;
}

int rc_sandbox_config(const struct rc_sandbox_opts *o, const struct rc_image *img, const char *const *lower,
                      const char *id, const char *root_path, uint64_t tmpfs_size, char **ret,
                      size_t *ret_len, struct oci_config **ret_cfg, rc_error_t *err)
{
        _cleanup_free_ char *spec = NULL;
        json_node *dflt = NULL;
        json_gen *g = NULL;
        size_t seccomp_at = 0, seccomp_end = 0;
        struct oci_config *cfg = NULL;
        size_t len = 0;
        int r;

        /* a runtime that is not root starts from the rootless spec: a user namespace
         * mapping the job's root to the caller, /sys bound, no gid= on devpts */
        if (oci_default_spec_compact_no_seccomp(geteuid() != 0, &spec, &len, err) < 0 ||
            json_parse(spec, len, "default spec", &dflt, err) < 0)
                return -1;
        g = json_gen_new(false);
        if (g == NULL) {
                json_free(dflt);
                return rc_error_set(err, ENOMEM, "sandbox config");
        }
        r = gen_config(g, o, img, lower, id, root_path, tmpfs_size, dflt, &seccomp_at, &seccomp_end, err);
        json_free(dflt);
        if (r == 0)
                r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        if (r < 0)
                return -1;
        if (parse_config(*ret, *ret_len, seccomp_at, seccomp_end, !o->seccomp_unconfined, &cfg, err) < 0) {
                free(*ret);
                *ret = NULL;
                return -1;
        }
        if (ret_cfg != NULL)
                *ret_cfg = cfg;
        else
                oci_config_free(cfg);
        return 0;
}
