/* Per-user default directories (runtime/base/userdirs.h). */
#include "runtime/base/userdirs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The initial user namespace maps every id to itself: "0 0 4294967295". */
static bool in_initial_userns(void)
{
        char buf[128];
        unsigned long a, b, n;
        ssize_t len;
        int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return true; /* no user namespaces at all */
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
                return true;
        buf[len] = '\0';
        return sscanf(buf, "%lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL &&
               strchr(buf, '\n') == buf + len - 1;
}

bool rc_running_rootless(void)
{
        static int rootless = -1;

        if (rootless < 0)
                rootless = geteuid() != 0 || !in_initial_userns();
        return rootless;
}

const char *rc_user_state_root(bool rootless, const char *xdg_runtime_dir, const char *system_root,
                               char *buf, size_t size)
{
        int n;

        if (!rootless || xdg_runtime_dir == NULL || xdg_runtime_dir[0] != '/')
                return system_root;
        n = snprintf(buf, size, "%s/run-container", xdg_runtime_dir);
        if (n < 0 || (size_t)n >= size)
                return system_root;
        return buf;
}

const char *rc_user_image_cache(bool rootless, const char *xdg_data_home, const char *home,
                                const char *system_cache, char *buf, size_t size)
{
        int n;

        if (!rootless)
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
                root = rc_user_state_root(rc_running_rootless(), getenv("XDG_RUNTIME_DIR"), RC_DEFAULT_ROOT,
                                          buf, sizeof(buf));
        return root;
}
