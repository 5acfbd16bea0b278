/* Per-user default directories (runtime/base/userdirs.h). */
#include "runtime/base/userdirs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *rc_user_state_root(uid_t euid, const char *xdg_runtime_dir, const char *system_root, char *buf,
                               size_t size)
{
        int n;

        if (euid == 0 || xdg_runtime_dir == NULL || xdg_runtime_dir[0] != '/')
                return system_root;
        n = snprintf(buf, size, "%s/run-container", xdg_runtime_dir);
        if (n < 0 || (size_t)n >= size)
                return system_root;
        return buf;
}

const char *rc_user_image_cache(uid_t euid, const char *xdg_data_home, const char *home,
                                const char *system_cache, char *buf, size_t size)
{
        int n;

        if (euid == 0)
                return system_cache;
        if (xdg_data_home != NULL && xdg_data_home[0] == '/')
                n = snprintf(buf, size, "%s/run-container/layers", xdg_data_home);
        else if (home != NULL && home[0] == '/')
                n = snprintf(buf, size, "%s/.local/share/run-container/layers", home);
        else
                return system_cache;
        if (n < 0 || (size_t)n >= size)
                return system_cache;
        return buf;
}

const char *rc_default_state_root(void)
{
        static char buf[PATH_MAX];
        static const char *root;

        if (root == NULL)
                root = rc_user_state_root(geteuid(), getenv("XDG_RUNTIME_DIR"), RC_DEFAULT_ROOT, buf,
                                          sizeof(buf));
        return root;
}
