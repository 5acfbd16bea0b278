/* The .mounts array of config.json: each mount's options lowered once into mount flags,
 * mount_setattr(2) attributes, the runtime's own option words (OCI_MOUNT_*) and the
 * filesystem data string; option words that cannot work are refused here, naming the
 * option's JSON path. */
#include "specs/parse_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "specs/names.h"

/* Words crun knows that this runtime cannot honour: refused rather than handed to the
 * filesystem as data, where the mount would fail with a bare EINVAL. */
static const struct {
        const char *name, *why;
} refused_options[] = {
        {"idmap", "idmapped mounts are not supported"},
        {"ridmap", "idmapped mounts are not supported"},
        {"rsync", "has no recursive form: mount_setattr(2) cannot set it"},
        {"rasync", "has no recursive form: mount_setattr(2) cannot set it"},
        {"rdirsync", "has no recursive form: mount_setattr(2) cannot set it"},
        {"rmand", "has no recursive form: mount_setattr(2) cannot set it"},
        {"rnomand", "has no recursive form: mount_setattr(2) cannot set it"},
};

static const char *refused_option(const char *opt)
{
        for (size_t i = 0; i < ARRAY_SIZE(refused_options); i++)
                if (strcmp(refused_options[i].name, opt) == 0)
                        return refused_options[i].why;
        return NULL;
}

static int reject_idmapped_mount(struct pctx *c, const json_node *v, void *target)
{
        return pctx_fail(c, "idmapped mounts are not supported");
}

/* Append `opt` to the ','-separated filesystem data string. */
static int append_mount_data(struct pctx *c, char **data, const char *opt)
{
        size_t old = *data ? strlen(*data) : 0, add = strlen(opt);
        char *s = realloc(*data, old + add + 2);

        if (s == NULL)
                return pctx_oom(c);
        if (old > 0)
                s[old++] = ',';
        memcpy(s + old, opt, add + 1);
        *data = s;
        return 0;
}

static int lower_mount_options(struct pctx *c, struct oci_mount *m)
{
        size_t mark = pctx_push_key(c, "options");

        for (size_t i = 0; i < m->n_options; i++) {
                const char *opt = m->options[i], *why;

                if (opt[0] == '\0')
                        continue;
                if (oci_mount_option_apply(opt, m) == 1)
                        continue;
                if ((why = refused_option(opt)) != NULL) {
                        pctx_push_index(c, i);
                        return pctx_fail(c, "\"%s\": %s", opt, why);
                }
                if (append_mount_data(c, &m->data, opt) < 0)
                        return -1;
        }
        pctx_pop(c, mark);
        m->is_bind = (m->type != NULL && strcmp(m->type, "bind") == 0) || (m->flags & MS_BIND) != 0;
        return 0;
}

/* The runtime's option words need the right kind of mount. */
static int check_mount_extra(struct pctx *c, const struct oci_mount *m)
{
        const unsigned nofollow = OCI_MOUNT_SRC_NOFOLLOW | OCI_MOUNT_DEST_NOFOLLOW;
        size_t mark;

        if (m->extra == 0)
                return 0;
        mark = pctx_push_key(c, "options");
        if ((m->extra & OCI_MOUNT_TMPCOPYUP) &&
            (m->is_bind || m->type == NULL || strcmp(m->type, "tmpfs") != 0))
                return pctx_fail(c, "\"tmpcopyup\" needs a tmpfs mount");
        if ((m->extra & (OCI_MOUNT_COPY_SYMLINK | nofollow)) && !m->is_bind)
                return pctx_fail(c, "\"%s\" needs a bind mount",
                                 (m->extra & OCI_MOUNT_COPY_SYMLINK)   ? "copy-symlink"
                                 : (m->extra & OCI_MOUNT_SRC_NOFOLLOW) ? "src-nofollow"
                                                                       : "dest-nofollow");
        if ((m->extra & OCI_MOUNT_COPY_SYMLINK) && (m->extra & nofollow))
                return pctx_fail(c, "\"copy-symlink\" excludes \"src-nofollow\" and \"dest-nofollow\"");
        pctx_pop(c, mark);
        return 0;
}

int parse_mount(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_STR("destination", struct oci_mount, destination, .required = true),
                FLD_STR("type", struct oci_mount, type),
                FLD_STR("source", struct oci_mount, source),
                FLD_STRV("options", struct oci_mount, options, n_options),
                FLD_SELF("uidMappings", reject_idmapped_mount),
                FLD_SELF("gidMappings", reject_idmapped_mount),
                FLD_END,
        };
        struct oci_mount *m = target;

        if (parse_fields(c, v, fields, m) < 0 || lower_mount_options(c, m) < 0)
                return -1;
        return check_mount_extra(c, m);
}
