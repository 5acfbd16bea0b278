/* Edits of a parsed config (see config_edit.h). */
#include "specs/config_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

int rc_config_add_bind_mount(struct oci_config *cfg, const char *source, const char *dest, bool ro,
                             rc_error_t *err)
{
        static const char *const opts[] = {"bind", "nosuid", "nodev", "noexec", "ro"};
        struct oci_mount *v = reallocarray(cfg->mounts, cfg->n_mounts + 1, sizeof(*v)), *m;
        size_t n_opts = sizeof(opts) / sizeof(opts[0]) - (ro ? 0 : 1);

        if (v == NULL)
                return rc_error_set(err, ENOMEM, "mount `%s`", dest);
        cfg->mounts = v;
        m = &v[cfg->n_mounts];
        *m = (struct oci_mount){
                .destination = strdup(dest),
                .type = strdup("bind"),
                .source = strdup(source),
                .options = calloc(n_opts + 1, sizeof(char *)),
                .n_options = n_opts,
                .flags = MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | (ro ? MS_RDONLY : 0),
                .is_bind = true,
        };
        for (size_t i = 0; m->options != NULL && i < n_opts; i++)
                m->options[i] = strdup(opts[i]);
        cfg->n_mounts++; /* owned by cfg from here on, even half-filled */
        for (size_t i = 0; m->options != NULL && i < n_opts; i++)
                if (m->options[i] == NULL)
                        return rc_error_set(err, ENOMEM, "mount `%s`", dest);
        if (m->destination == NULL || m->type == NULL || m->source == NULL || m->options == NULL)
                return rc_error_set(err, ENOMEM, "mount `%s`", dest);
        return 0;
}

int rc_config_set_env(struct oci_config *cfg, const char *entry, rc_error_t *err)
{
        struct oci_process *p = &cfg->process;
        size_t name_len = strcspn(entry, "=") + 1;
        char *copy = strdup(entry), **v;

        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "set `%s` in process.env", entry);
        for (size_t i = 0; i < p->n_env; i++) {
                if (strncmp(p->env[i], entry, name_len) == 0) {
                        free(p->env[i]);
                        p->env[i] = copy;
                        return 0;
                }
        }
        v = reallocarray(p->env, p->n_env + 2, sizeof(*v));
        if (v == NULL) {
                free(copy);
                return rc_error_set(err, ENOMEM, "set `%s` in process.env", entry);
        }
        p->env = v;
        p->env[p->n_env++] = copy;
        p->env[p->n_env] = NULL;
        return 0;
}

int rc_config_set_annotation(struct oci_config *cfg, const char *key, const char *value, rc_error_t *err)
{
        char *v = strdup(value), *k = NULL;
        struct oci_kv *a;

        if (v == NULL)
                return rc_error_set(err, ENOMEM, "annotation `%s`", key);
        for (size_t i = 0; i < cfg->n_annotations; i++)
                if (strcmp(cfg->annotations[i].key, key) == 0) {
                        free(cfg->annotations[i].value);
                        cfg->annotations[i].value = v;
                        return 0;
                }
        k = strdup(key);
        a = k != NULL ? reallocarray(cfg->annotations, cfg->n_annotations + 1, sizeof(*a)) : NULL;
        if (a == NULL) {
                free(k);
                free(v);
                return rc_error_set(err, ENOMEM, "annotation `%s`", key);
        }
        cfg->annotations = a;
        a[cfg->n_annotations++] = (struct oci_kv){.key = k, .value = v};
        return 0;
}
