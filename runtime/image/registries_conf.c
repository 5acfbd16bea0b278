/* Short names (`--image busybox`, `alpine:3.18`) resolved as podman resolves them, from
 * containers-registries.conf(5) files: the `[aliases]` table, `unqualified-search-registries`
 * and `short-name-mode`; [[registry]] tables and version 1's [registries.*] lists for
 * where a name is pulled from. The files are read by the small strict TOML reader of
 * toml.c; what it does not know is an error naming the file and line, never a guess. */
#include "runtime/image/internal.h"
#include "runtime/image/toml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define CONF_MAX (1024u * 1024u)

/* ---- registries.conf ------------------------------------------------------------------- */

static int strv_push(char ***v, size_t *n, char *s)
{
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));

        if (nv == NULL)
                return -ENOMEM;
        *v = nv;
        nv[(*n)++] = s;
        nv[*n] = NULL;
        return 0;
}

/* The name part of a reference: [HOST/]PATH without :TAG or @DIGEST. */
static size_t name_length(const char *ref)
{
        size_t n = strcspn(ref, "@");
        const char *slash = memrchr(ref, '/', n), *colon = memrchr(ref, ':', n);

        return colon != NULL && (slash == NULL || colon > slash) ? (size_t)(colon - ref) : n;
}

bool rc_image_ref_is_qualified(const char *ref)
{
        size_t n = strcspn(ref, "/");

        return ref[n] == '/' && (memchr(ref, '.', n) != NULL || memchr(ref, ':', n) != NULL ||
                                 (n == 9 && strncmp(ref, "localhost", 9) == 0));
}

/* NAME as a registry's repository name takes it (lowercase components). */
static bool short_name_valid(const char *name)
{
        _cleanup_free_ char *probe = NULL;
        _cleanup_error_ rc_error_t e = NULL;
        struct rc_registry_ref r;

        if (asprintf(&probe, "localhost/%s", name) < 0 || rc_registry_ref_parse(probe, &r, &e) < 0)
                return false;
        rc_registry_ref_clear(&r);
        return true;
}

static int set_alias(struct rc_registries_conf *conf, struct rc_toml_cursor *c, const char *name,
                     struct rc_toml_value *v, char ***seen, size_t *n_seen, rc_error_t *err)
{
        struct rc_registry_ref check;
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *origin = NULL;
        size_t i;

        for (i = 0; i < *n_seen; i++)
                if (strcmp((*seen)[i], name) == 0)
                        return rc_error_set_status(err, EINVAL, "%s:%u: alias \"%s\" given twice", c->path,
                                                   c->line, name);
        if (v->kind != RC_TOML_STRING)
                return rc_error_set_status(err, EINVAL, "%s:%u: alias \"%s\": the value is not a string",
                                           c->path, c->line, name);
        if (name[0] == '\0' || rc_image_ref_is_qualified(name) || name_length(name) != strlen(name) ||
            strncmp(name, "localhost/", 10) == 0 || !short_name_valid(name))
                return rc_error_set_status(
                        err, EINVAL, "%s:%u: alias \"%s\": not a short name (no registry, tag or digest)",
                        c->path, c->line, name);
        if (v->str[0] != '\0' &&
            (!rc_image_ref_is_qualified(v->str) || name_length(v->str) != strlen(v->str) ||
             rc_registry_ref_parse(v->str, &check, &e) < 0))
                return rc_error_set_status(err, EINVAL,
                                           "%s:%u: alias \"%s\" = \"%s\": not a fully-qualified image name "
                                           "(HOST/PATH, no tag or digest)",
                                           c->path, c->line, name, v->str);
        if (v->str[0] != '\0')
                rc_registry_ref_clear(&check);
        if (strv_push(seen, n_seen, strdup(name)) < 0 || (*seen)[*n_seen - 1] == NULL ||
            asprintf(&origin, "%s:%u", c->path, c->line) < 0)
                return rc_error_set(err, ENOMEM, "%s", c->path);
        /* a later file's entry replaces an earlier one; "" erases it */
        for (i = 0; i < conf->n_aliases; i++)
                if (strcmp(conf->aliases[i].name, name) == 0)
                        break;
        if (i == conf->n_aliases) {
                struct rc_short_alias *na;

                if (v->str[0] == '\0')
                        return 0;
                na = realloc(conf->aliases, (conf->n_aliases + 1) * sizeof(*na));
                if (na == NULL)
                        return rc_error_set(err, ENOMEM, "%s", c->path);
                conf->aliases = na;
                conf->aliases[conf->n_aliases++] = (struct rc_short_alias){.name = strdup(name)};
                if (conf->aliases[i].name == NULL)
                        return rc_error_set(err, ENOMEM, "%s", c->path);
        }
        free(conf->aliases[i].value);
        free(conf->aliases[i].origin);
        if (v->str[0] == '\0') {
                free(conf->aliases[i].name);
                conf->aliases[i] = conf->aliases[--conf->n_aliases];
                return 0;
        }
        conf->aliases[i].value = TAKE_PTR(v->str);
        conf->aliases[i].origin = TAKE_PTR(origin);
        return 0;
}

struct file_state {
        char *table; /* the current table's dotted path ('\x1f' between parts), "" for the root */
        bool array_table; /* from a [[header]] */
        bool seen_search, seen_mode, seen_aliases_table, v1, v2;
        size_t first_registry; /* conf->registries from here on are this file's */
        char **seen_aliases;
        size_t n_seen_aliases;
};

/* ---- [[registry]] tables --------------------------------------------------------------- */

static int set_bool(struct rc_toml_cursor *c, const char *key, const struct rc_toml_value *v, bool *out,
                    rc_error_t *err)
{
        if (v->kind != RC_TOML_BOOL)
                return rc_error_set_status(err, EINVAL, "%s:%u: %s: expected true or false", c->path,
                                           c->line, key);
        *out = v->b;
        return 0;
}

static int set_string(struct rc_toml_cursor *c, const char *key, struct rc_toml_value *v, char **out,
                      rc_error_t *err)
{
        if (v->kind != RC_TOML_STRING)
                return rc_error_set_status(err, EINVAL, "%s:%u: %s: expected a string", c->path, c->line,
                                           key);
        free(*out);
        *out = TAKE_PTR(v->str);
        return 0;
}

/* A key of the current [[registry]] or [[registry.mirror]] table; others are ignored, as
 * by the containers libraries. */
static int set_registry_key(struct rc_registries_conf *conf, struct rc_toml_cursor *c, bool mirror,
                            const char *key, struct rc_toml_value *v, rc_error_t *err)
{
        struct rc_registry_entry *e = &conf->registries[conf->n_registries - 1];

        if (mirror) {
                struct rc_registry_mirror *m = &e->mirrors[e->n_mirrors - 1];

                if (strcmp(key, "location") == 0)
                        return set_string(c, key, v, &m->location, err);
                if (strcmp(key, "insecure") == 0)
                        return set_bool(c, key, v, &m->insecure, err);
                if (strcmp(key, "pull-from-mirror") != 0)
                        return 0;
                if (v->kind == RC_TOML_STRING && (strcmp(v->str, "all") == 0 || v->str[0] == '\0'))
                        m->pull_from = RC_MIRROR_PULL_ALL;
                else if (v->kind == RC_TOML_STRING && strcmp(v->str, "digest-only") == 0)
                        m->pull_from = RC_MIRROR_PULL_DIGEST_ONLY;
                else if (v->kind == RC_TOML_STRING && strcmp(v->str, "tag-only") == 0)
                        m->pull_from = RC_MIRROR_PULL_TAG_ONLY;
                else
                        return rc_toml_error(
                                c, err,
                                "pull-from-mirror: expected \"all\", \"digest-only\" or \"tag-only\"");
                m->pull_from_set = true;
                return 0;
        }
        if (strcmp(key, "prefix") == 0)
                return set_string(c, key, v, &e->prefix, err);
        if (strcmp(key, "location") == 0)
                return set_string(c, key, v, &e->location, err);
        if (strcmp(key, "insecure") == 0)
                return set_bool(c, key, v, &e->insecure, err);
        if (strcmp(key, "blocked") == 0)
                return set_bool(c, key, v, &e->blocked, err);
        if (strcmp(key, "mirror-by-digest-only") == 0)
                return set_bool(c, key, v, &e->mirror_by_digest_only, err);
        return 0;
}

static int add_registry_table(struct rc_registries_conf *conf, struct rc_toml_cursor *c,
                              const struct file_state *f, bool mirror, rc_error_t *err);

/* A key of an inline mirror table (the rc_toml_entry_fn of parse_mirrors). */
static int mirror_key(void *data, struct rc_toml_cursor *c, const char *key, struct rc_toml_value *v,
                      rc_error_t *err)
{
        return strchr(key, '\x1f') == NULL ? set_registry_key(data, c, true, key, v, err) : 0;
}

/* `mirror = [ { location = "...", insecure = true }, ... ]` in a [[registry]] table: the
 * inline form of [[registry.mirror]] tables. */
static int parse_mirrors(struct rc_registries_conf *conf, struct rc_toml_cursor *c,
                         const struct file_state *f, rc_error_t *err)
{
        rc_toml_skip_ws(c, false);
        if (rc_toml_at_end(c) || *c->p != '[')
                return rc_toml_error(c, err, "mirror: expected an array of inline tables");
        c->p++;
        for (;;) {
                rc_toml_skip_ws(c, true);
                if (!rc_toml_at_end(c) && *c->p == ']') {
                        c->p++;
                        return 0;
                }
                if (rc_toml_at_end(c) || *c->p != '{')
                        return rc_toml_error(c, err,
                                             "mirror: expected an inline table ({ location = \"...\" })");
                /* its values one deep; a trailing comma taken */
                if (add_registry_table(conf, c, f, true, err) < 0 ||
                    rc_toml_inline_table(c, 0, true, mirror_key, conf, err) < 0)
                        return -1;
                rc_toml_skip_ws(c, true);
                if (!rc_toml_at_end(c) && *c->p == ',')
                        c->p++;
                else if (rc_toml_at_end(c) || *c->p != ']')
                        return rc_toml_error(c, err, "expected ',' or ']' in an array");
        }
}

/* A [[registry]] or [[registry.mirror]] header (or an inline mirror): a new table at the end. */
static int add_registry_table(struct rc_registries_conf *conf, struct rc_toml_cursor *c,
                              const struct file_state *f, bool mirror, rc_error_t *err)
{
        char *origin = NULL;

        if (mirror && conf->n_registries == f->first_registry)
                return rc_toml_error(c, err, "[[registry.mirror]] before any [[registry]] of this file");
        if (asprintf(&origin, "%s:%u", c->path, c->line) < 0)
                return rc_error_set(err, ENOMEM, "%s", c->path);
        if (mirror) {
                struct rc_registry_entry *e = &conf->registries[conf->n_registries - 1];
                struct rc_registry_mirror *m = realloc(e->mirrors, (e->n_mirrors + 1) * sizeof(*m));

                if (m != NULL) {
                        e->mirrors = m;
                        m[e->n_mirrors++] = (struct rc_registry_mirror){.origin = origin};
                        return 0;
                }
        } else {
                struct rc_registry_entry *v =
                        realloc(conf->registries, (conf->n_registries + 1) * sizeof(*v));

                if (v != NULL) {
                        conf->registries = v;
                        v[conf->n_registries++] = (struct rc_registry_entry){.origin = origin};
                        return 0;
                }
        }
        free(origin);
        return rc_error_set(err, ENOMEM, "%s", c->path);
}

static void registry_entry_clear(struct rc_registry_entry *e)
{
        for (size_t i = 0; i < e->n_mirrors; i++) {
                free(e->mirrors[i].location);
                free(e->mirrors[i].origin);
        }
        free(e->mirrors);
        free(e->prefix);
        free(e->location);
        free(e->origin);
        *e = (struct rc_registry_entry){0};
}

/* HOST[:PORT][/PATH]: no scheme, no wildcard, no empty component. */
static bool location_valid(const char *s)
{
        return s[0] != '\0' && s[0] != '/' && s[strlen(s) - 1] != '/' && strstr(s, "//") == NULL &&
               strstr(s, "://") == NULL && strchr(s, '*') == NULL && strpbrk(s, " \t") == NULL;
}

static int check_location(const char *origin, const char *what, const char *s, rc_error_t *err)
{
        if (!location_valid(s))
                return rc_error_set_status(err, EINVAL,
                                           "%s: %s \"%s\": expected HOST[:PORT][/PATH] (no scheme, no "
                                           "wildcard)",
                                           origin, what, s);
        return 0;
}

/* At the end of a file: its [[registry]] tables checked (a prefix defaults to the
 * location), and those of earlier files with the same prefix dropped. */
static int finish_registries(struct rc_registries_conf *conf, size_t first, rc_error_t *err)
{
        for (size_t i = first; i < conf->n_registries; i++) {
                struct rc_registry_entry *e = &conf->registries[i];
                bool wildcard;

                if (e->prefix == NULL && e->location == NULL)
                        return rc_error_set_status(
                                err, EINVAL, "%s: [[registry]]: neither prefix nor location", e->origin);
                if (e->location != NULL && check_location(e->origin, "location", e->location, err) < 0)
                        return -1;
                if (e->prefix == NULL && (e->prefix = strdup(e->location)) == NULL)
                        return rc_error_set(err, ENOMEM, "%s", e->origin);
                wildcard = strncmp(e->prefix, "*.", 2) == 0;
                if (wildcard && (e->prefix[2] == '\0' || strpbrk(e->prefix + 2, "*/:@") != NULL))
                        return rc_error_set_status(err, EINVAL, "%s: prefix \"%s\": a wildcard is *.DOMAIN",
                                                   e->origin, e->prefix);
                if (wildcard && e->location != NULL)
                        return rc_error_set_status(err, EINVAL,
                                                   "%s: prefix \"%s\": a wildcard prefix takes no location",
                                                   e->origin, e->prefix);
                if (!wildcard && check_location(e->origin, "prefix", e->prefix, err) < 0)
                        return -1;
                for (size_t k = 0; k < e->n_mirrors; k++) {
                        const struct rc_registry_mirror *m = &e->mirrors[k];

                        if (m->location == NULL)
                                return rc_error_set_status(
                                        err, EINVAL, "%s: [[registry.mirror]]: no location", m->origin);
                        if (check_location(m->origin, "mirror location", m->location, err) < 0)
                                return -1;
                        if (m->pull_from_set && e->mirror_by_digest_only)
                                return rc_error_set_status(
                                        err, EINVAL,
                                        "%s: pull-from-mirror with the [[registry]]'s mirror-by-digest-only "
                                        "(%s): give one of them",
                                        m->origin, e->origin);
                }
                for (size_t k = first; k < i; k++)
                        if (strcmp(conf->registries[k].prefix, e->prefix) == 0)
                                return rc_error_set_status(err, EINVAL,
                                                           "%s: [[registry]] prefix \"%s\" is given twice "
                                                           "(first at %s)",
                                                           e->origin, e->prefix, conf->registries[k].origin);
        }
        for (size_t i = 0; i < first;) {
                bool replaced = false;

                for (size_t k = first; k < conf->n_registries && !replaced; k++)
                        replaced = strcmp(conf->registries[i].prefix, conf->registries[k].prefix) == 0;
                if (!replaced) {
                        i++;
                        continue;
                }
                registry_entry_clear(&conf->registries[i]);
                memmove(&conf->registries[i], &conf->registries[i + 1],
                        (conf->n_registries - i - 1) * sizeof(conf->registries[0]));
                conf->n_registries--;
                first--;
        }
        return 0;
}

/* Version 1's `[registries.insecure]` and `[registries.block]`: `registries = [...]` names
 * registries (HOST[:PORT][/PATH]) each of which becomes a table of its own prefix with
 * insecure or blocked set, one table for a registry both lists name (containers-image's
 * conversion of the version 1 format). */
static int set_v1_list(struct rc_registries_conf *conf, struct rc_toml_cursor *c, const struct file_state *f,
                       bool blocked, struct rc_toml_value *v, rc_error_t *err)
{
        const char *what = blocked ? "[registries.block]" : "[registries.insecure]";

        if (v->kind != RC_TOML_ARRAY || v->not_strings)
                return rc_error_set_status(err, EINVAL, "%s:%u: %s registries: expected an array of strings",
                                           c->path, c->line, what);
        for (size_t i = 0; i < v->n; i++) {
                struct rc_registry_entry *e = NULL;

                /* this file's version 1 tables (a [[registry]] above, which makes the file
                 * an error at its end, may have no prefix yet) */
                for (size_t k = f->first_registry; k < conf->n_registries && e == NULL; k++)
                        if (conf->registries[k].v1 && strcmp(conf->registries[k].prefix, v->strv[i]) == 0)
                                e = &conf->registries[k];
                if (e == NULL) {
                        if (!location_valid(v->strv[i]))
                                return rc_error_set_status(err, EINVAL,
                                                           "%s:%u: %s registries: \"%s\": expected "
                                                           "HOST[:PORT][/PATH] (no scheme, no wildcard)",
                                                           c->path, c->line, what, v->strv[i]);
                        if (add_registry_table(conf, c, f, false, err) < 0)
                                return -1;
                        e = &conf->registries[conf->n_registries - 1];
                        e->v1 = true;
                        if ((e->prefix = strdup(v->strv[i])) == NULL)
                                return rc_error_set(err, ENOMEM, "%s", c->path);
                }
                if (blocked)
                        e->blocked = true;
                else
                        e->insecure = true;
        }
        return 0;
}

static int set_key(struct rc_registries_conf *conf, struct rc_toml_cursor *c, struct file_state *f,
                   const char *key, struct rc_toml_value *v, rc_error_t *err)
{
        bool root = f->table[0] == '\0' && strchr(key, '\x1f') == NULL;

        if (!f->array_table && strcmp(f->table, "aliases") == 0 && strchr(key, '\x1f') != NULL)
                return rc_toml_error(c, err,
                                     "[aliases]: a dotted key makes a table, not an alias (quote the name)");
        if (!f->array_table && strcmp(f->table, "aliases") == 0)
                return f->v2 = true, set_alias(conf, c, key, v, &f->seen_aliases, &f->n_seen_aliases, err);
        if ((root && strcmp(key, "unqualified-search-registries") == 0) ||
            (!f->array_table && strcmp(f->table, "registries\x1fsearch") == 0 &&
             strcmp(key, "registries") == 0)) {
                if (f->seen_search)
                        return rc_toml_error(c, err, "the search registries are given twice");
                if (v->kind != RC_TOML_ARRAY || v->not_strings)
                        return rc_toml_error(c, err,
                                             "unqualified-search-registries: expected an array of strings");
                for (size_t i = 0; i < v->n; i++)
                        if (v->strv[i][0] == '\0' || strchr(v->strv[i], '/') != NULL)
                                return rc_error_set_status(
                                        err, EINVAL,
                                        "%s:%u: unqualified-search-registries: \"%s\" is not "
                                        "a registry (HOST[:PORT])",
                                        c->path, c->line, v->strv[i]);
                f->seen_search = true;
                if (root)
                        f->v2 = true;
                rc_strv_free(conf->search);
                conf->search = TAKE_PTR(v->strv);
                conf->n_search = v->n;
                return 0;
        }
        /* \037 is \x1f, the parts' separator ("\x1fb" would be one hex escape) */
        if (!f->array_table && strcmp(key, "registries") == 0 &&
            (strcmp(f->table, "registries\x1finsecure") == 0 ||
             strcmp(f->table, "registries\037block") == 0))
                return set_v1_list(conf, c, f, strcmp(f->table, "registries\037block") == 0, v, err);
        if (root && strcmp(key, "short-name-mode") == 0) {
                const char *s = v->kind == RC_TOML_STRING ? v->str : NULL;

                if (f->seen_mode)
                        return rc_toml_error(c, err, "short-name-mode is given twice");
                f->seen_mode = true;
                if (s != NULL && (s[0] == '\0' || strcmp(s, "permissive") == 0))
                        conf->mode = RC_SHORT_NAME_PERMISSIVE;
                else if (s != NULL && strcmp(s, "enforcing") == 0)
                        conf->mode = RC_SHORT_NAME_ENFORCING;
                else if (s != NULL && strcmp(s, "disabled") == 0)
                        conf->mode = RC_SHORT_NAME_DISABLED;
                else
                        return rc_toml_error(c, err,
                                             "short-name-mode: expected \"enforcing\", \"permissive\" or "
                                             "\"disabled\"");
                return 0;
        }
        if (f->array_table &&
            (strcmp(f->table, "registry") == 0 || strcmp(f->table, "registry\x1fmirror") == 0))
                return strchr(key, '\x1f') != NULL
                               ? 0
                               : set_registry_key(conf, c, strcmp(f->table, "registry") != 0, key, v, err);
        return 0; /* another setting: not used here */
}

static int header(struct rc_registries_conf *conf, struct rc_toml_cursor *c, struct file_state *f,
                  rc_error_t *err)
{
        _cleanup_free_ char *path = NULL;
        bool array;

        if (rc_toml_header(c, &path, &array, err) < 0)
                return -1;
        if (!array && strcmp(path, "aliases") == 0) {
                if (f->seen_aliases_table)
                        return rc_toml_error(c, err, "the [aliases] table is given twice");
                f->seen_aliases_table = true;
        }
        if (strncmp(path, "registries\x1f", 11) == 0)
                f->v1 = true;
        else if (strcmp(path, "registry") == 0 || strncmp(path, "registry\x1f", 9) == 0)
                f->v2 = true;
        if (strcmp(path, "registry") == 0 || strcmp(path, "registry\x1fmirror") == 0) {
                if (!array)
                        return rc_toml_error(
                                c, err,
                                strcmp(path, "registry") == 0
                                        ? "[registry]: expected [[registry]] (an array of tables)"
                                        : "[registry.mirror]: expected [[registry.mirror]] (an array of "
                                          "tables)");
                if (add_registry_table(conf, c, f, strcmp(path, "registry") != 0, err) < 0)
                        return -1;
        }
        free(f->table);
        f->table = TAKE_PTR(path);
        f->array_table = array;
        return rc_toml_end_of_line(c, err);
}

static int key_value(struct rc_registries_conf *conf, struct rc_toml_cursor *c, struct file_state *f,
                     rc_error_t *err)
{
        _cleanup_free_ char *key = NULL;
        struct rc_toml_value v = {0};
        unsigned line = c->line;
        int r;

        if (rc_toml_key_eq(c, &key, err) < 0)
                return -1;
        if (f->array_table && strcmp(f->table, "registry") == 0 && strcmp(key, "mirror") == 0)
                return parse_mirrors(conf, c, f, err) < 0 ? -1 : rc_toml_end_of_line(c, err);
        r = rc_toml_parse_value(c, &v, 0, err);
        if (r == 0) {
                unsigned here = c->line;

                c->line = line; /* messages name the key's line */
                r = set_key(conf, c, f, key, &v, err);
                c->line = here;
        }
        rc_toml_value_clear(&v);
        return r < 0 ? -1 : rc_toml_end_of_line(c, err);
}

int rc_registries_conf_parse(const char *buf, size_t len, const char *path, struct rc_registries_conf *conf,
                             rc_error_t *err)
{
        struct rc_toml_cursor c = {.p = buf, .end = buf + len, .path = path, .line = 1};
        struct file_state f = {.table = strdup(""), .first_registry = conf->n_registries};
        int r = f.table ? 0 : rc_error_set(err, ENOMEM, "%s", path);

        if (memchr(buf, '\0', len) != NULL)
                r = rc_error_set_status(err, EINVAL, "%s: a NUL byte (not a text file)", path);
        while (r == 0 && (r = rc_toml_next_line(&c, err)) > 0)
                r = *c.p == '[' ? header(conf, &c, &f, err) : key_value(conf, &c, &f, err);
        if (r == 0 && f.v1 && f.v2)
                r = rc_error_set_status(
                        err, EINVAL, "%s: mixes the version 1 format ([registries.*]) with version 2", path);
        if (r == 0)
                r = finish_registries(conf, f.first_registry, err);
        /* a file in error adds no table (they may lack their prefix) */
        while (r < 0 && conf->n_registries > f.first_registry)
                registry_entry_clear(&conf->registries[--conf->n_registries]);
        free(f.table);
        rc_strv_free(f.seen_aliases);
        return r;
}

void rc_registries_conf_clear(struct rc_registries_conf *conf)
{
        for (size_t i = 0; i < conf->n_aliases; i++) {
                free(conf->aliases[i].name);
                free(conf->aliases[i].value);
                free(conf->aliases[i].origin);
        }
        free(conf->aliases);
        for (size_t i = 0; i < conf->n_registries; i++)
                registry_entry_clear(&conf->registries[i]);
        free(conf->registries);
        rc_strv_free(conf->search);
        rc_strv_free(conf->files);
        *conf = (struct rc_registries_conf){0};
}

/* ---- the files ----------------------------------------------------------------------------- */

static int load_file(struct rc_registries_conf *conf, const char *path, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        char *copy;
        size_t len;

        if (rc_read_file_at(AT_FDCWD, path, CONF_MAX, &buf, &len, err) < 0)
                return rc_error_wrap(err, "registries.conf");
        if (rc_registries_conf_parse(buf, len, path, conf, err) < 0)
                return -1;
        copy = strdup(path);
        if (copy == NULL || strv_push(&conf->files, &conf->n_files, copy) < 0) {
                free(copy);
                return rc_error_set(err, ENOMEM, "%s", path);
        }
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files DIR/NAME.conf in the C locale's order; a missing DIR has none. */
static int load_dir(struct rc_registries_conf *conf, const char *dir, rc_error_t *err)
{
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        if (d == NULL)
                return errno == ENOENT || errno == ENOTDIR ? 0 : rc_error_set(err, errno, "open `%s`", dir);
        while (r == 0 && (de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                char *full;

                if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0 || de->d_name[0] == '.')
                        continue;
                if (asprintf(&full, "%s/%s", dir, de->d_name) < 0 || strv_push(&names, &n, full) < 0)
                        r = rc_error_set(err, ENOMEM, "%s", dir);
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; r == 0 && i < n; i++) {
                struct stat st;

                /* other files and sub-directories are ignored, as by the containers libraries */
                if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
                        r = load_file(conf, names[i], err);
        }
        rc_strv_free(names);
        return r;
}

int rc_registries_conf_load(const char *path, struct rc_registries_conf *ret, rc_error_t *err)
{
        const char *env = getenv("CONTAINERS_REGISTRIES_CONF"), *home = getenv("HOME");
        _cleanup_free_ char *user = NULL, *user_dir = NULL;
        int r;

        *ret = (struct rc_registries_conf){.mode = RC_SHORT_NAME_PERMISSIVE};
        if (path == NULL && env != NULL && env[0] != '\0')
                path = env;
        if (path != NULL) {
                r = load_file(ret, path, err);
        } else {
                if (home != NULL && home[0] == '/' &&
                    (asprintf(&user, "%s/.config/containers/registries.conf", home) < 0 ||
                     asprintf(&user_dir, "%s/.config/containers/registries.conf.d", home) < 0))
                        return rc_error_set(err, ENOMEM, "registries.conf");
                /* the user's file replaces the system's, and then only the user's drop-ins count */
                if (user != NULL && access(user, F_OK) == 0)
                        r = load_file(ret, user, err);
                else if (access(RC_REGISTRIES_CONF, F_OK) == 0)
                        r = load_file(ret, RC_REGISTRIES_CONF, err);
                else
                        r = 0;
                if (r == 0 && (user == NULL || access(user, F_OK) != 0))
                        r = load_dir(ret, RC_REGISTRIES_CONF ".d", err);
                if (r == 0 && user_dir != NULL)
                        r = load_dir(ret, user_dir, err);
        }
        if (r < 0)
                rc_registries_conf_clear(ret);
        return r;
}

/* ---- resolution --------------------------------------------------------------------------- */

static void files_list(const struct rc_registries_conf *conf, char *out, size_t size)
{
        size_t n = 0;

        out[0] = '\0';
        if (conf->n_files == 0)
                snprintf(out, size, "no registries.conf file (%s, its .d/, ~/.config/containers/)",
                         RC_REGISTRIES_CONF);
        for (size_t i = 0; i < conf->n_files && n < size; i++)
                n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", conf->files[i]);
}

int rc_short_name_resolve(const struct rc_registries_conf *conf, const char *ref, char ***ret, size_t *ret_n,
                          rc_error_t *err)
{
        size_t n = name_length(ref), count = 0;
        _cleanup_free_ char *probe = NULL;
        struct rc_registry_ref check;
        char **out = NULL, files[1024];
        char *one;

        *ret = NULL;
        *ret_n = 0;
        /* the syntax first, with the registry parser's words */
        if (asprintf(&probe, "%s%s", rc_image_ref_is_qualified(ref) ? "" : "localhost/", ref) < 0)
                return rc_error_set(err, ENOMEM, "image `%s`", ref);
        if (rc_registry_ref_parse(probe, &check, err) < 0) {
                rc_error_free(err);
                return rc_error_set_status(err, EINVAL,
                                           "\"%s\" is not an image name ([HOST[:PORT]/]NAME[:TAG][@DIGEST], "
                                           "NAME in lowercase)",
                                           ref);
        }
        rc_registry_ref_clear(&check);
        if (rc_image_ref_is_qualified(ref)) {
                if ((one = strdup(ref)) == NULL || strv_push(&out, &count, one) < 0) {
                        free(one);
                        return rc_error_set(err, ENOMEM, "image `%s`", ref);
                }
                *ret = out, *ret_n = count;
                return 0;
        }
        for (size_t i = 0; i < conf->n_aliases; i++) {
                if (strlen(conf->aliases[i].name) != n || strncmp(conf->aliases[i].name, ref, n) != 0)
                        continue;
                if (asprintf(&one, "%s%s", conf->aliases[i].value, ref + n) < 0 ||
                    strv_push(&out, &count, one) < 0) {
                        rc_strv_free(out);
                        return rc_error_set(err, ENOMEM, "image `%s`", ref);
                }
                *ret = out, *ret_n = count;
                return 0;
        }
        files_list(conf, files, sizeof(files));
        if (conf->n_search == 0)
                return rc_error_set_status(
                        err, ENOENT,
                        "short name \"%s\": no alias and no unqualified-search-registries in "
                        "%s (give HOST/NAME[:TAG], or add an alias)",
                        ref, files);
        if (conf->mode == RC_SHORT_NAME_ENFORCING && conf->n_search > 1)
                return rc_error_set_status(
                        err, EINVAL,
                        "short name \"%s\" is ambiguous: no alias, %zu "
                        "unqualified-search-registries and short-name-mode \"enforcing\" in %s "
                        "(nothing asks which one: give HOST/NAME[:TAG], or add an alias)",
                        ref, conf->n_search, files);
        for (size_t i = 0; i < conf->n_search; i++)
                if (asprintf(&one, "%s/%s", conf->search[i], ref) < 0 || strv_push(&out, &count, one) < 0) {
                        rc_strv_free(out);
                        return rc_error_set(err, ENOMEM, "image `%s`", ref);
                }
        *ret = out, *ret_n = count;
        return 0;
}

/* ---- [[registry]]: where a name is pulled from ---------------------------------------------- */

/* How much of name (HOST/REPO[:TAG][@DIGEST]) prefix matches: its length, for a wildcard
 * the host's; 0 when it does not. A prefix matches up to a '/', '@' or the end, and up to
 * a ':' only after a repository (HOST/REPO:TAG; a prefix "HOST" takes no "HOST:PORT"). */
static size_t prefix_match(const char *prefix, const char *name)
{
        size_t host = strcspn(name, "/"), n = strlen(prefix), sfx;

        if (strncmp(prefix, "*.", 2) == 0) {
                sfx = n - 1; /* ".DOMAIN" */
                return host > sfx && strncmp(name + host - sfx, prefix + 1, sfx) == 0 ? host : 0;
        }
        if (strncmp(name, prefix, n) != 0)
                return 0;
        if (name[n] == '\0' || name[n] == '/' || name[n] == '@' || (name[n] == ':' && n > host))
                return n;
        return 0;
}

void rc_pull_sources_free(struct rc_pull_source *v, size_t n)
{
        for (size_t i = 0; v != NULL && i < n; i++)
                free(v[i].ref);
        free(v);
}

static int add_source(struct rc_pull_source *v, size_t *n, const char *location, const char *rest,
                      bool insecure, bool mirror)
{
        if (asprintf(&v[*n].ref, "%s%s", location, rest) < 0)
                return -ENOMEM;
        v[*n].insecure = insecure;
        v[*n].mirror = mirror;
        (*n)++;
        return 0;
}

int rc_registries_pull_sources(const struct rc_registries_conf *conf, const char *name,
                               struct rc_pull_source **ret, size_t *ret_n, rc_error_t *err)
{
        const struct rc_registry_entry *e = NULL;
        bool by_digest = strchr(name, '@') != NULL;
        struct rc_pull_source *v;
        size_t best = 0, n = 0;
        int r = 0;

        for (size_t i = 0; i < conf->n_registries; i++) {
                size_t m = prefix_match(conf->registries[i].prefix, name);

                /* the longest match; a literal prefix over a wildcard of the same length */
                if (m > best || (m == best && m > 0 && e != NULL && e->prefix[0] == '*')) {
                        best = m;
                        e = &conf->registries[i];
                }
        }
        if (e != NULL && e->blocked && e->v1)
                return rc_error_set_status(err, EACCES,
                                           "pull `%s`: blocked by registries.conf: [registries.block] at %s "
                                           "(registry \"%s\")",
                                           name, e->origin, e->prefix);
        if (e != NULL && e->blocked)
                return rc_error_set_status(err, EACCES,
                                           "pull `%s`: blocked by registries.conf: [[registry]] at %s "
                                           "(prefix \"%s\", blocked = true)",
                                           name, e->origin, e->prefix);
        v = calloc(e != NULL ? e->n_mirrors + 1 : 1, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "pull `%s`", name);
        for (size_t i = 0; e != NULL && i < e->n_mirrors && r == 0; i++) {
                const struct rc_registry_mirror *m = &e->mirrors[i];

                if ((e->mirror_by_digest_only || m->pull_from == RC_MIRROR_PULL_DIGEST_ONLY) && !by_digest)
                        continue;
                if (m->pull_from == RC_MIRROR_PULL_TAG_ONLY && by_digest)
                        continue;
                r = add_source(v, &n, m->location, name + best, m->insecure, true);
        }
        if (r == 0)
                r = e != NULL && e->location != NULL
                            ? add_source(v, &n, e->location, name + best, e->insecure, false)
                            : add_source(v, &n, name, "", e != NULL && e->insecure, false);
        if (r < 0) {
                rc_pull_sources_free(v, n);
                return rc_error_set(err, ENOMEM, "pull `%s`", name);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
