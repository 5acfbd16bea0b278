#include "runtime/base/dl.h"

#include <dlfcn.h>
#include <errno.h>

int rc_dl_load(const char *soname, const char *const *names, void **const *slots, size_t n, rc_error_t *err)
{
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

        if (h == NULL)
                return rc_error_set(err, ENOENT, "load `%s`: %s", soname, dlerror());
        for (size_t i = 0; i < n; i++) {
                *slots[i] = dlsym(h, names[i]);
                if (*slots[i] == NULL) {
                        rc_error_set(err, ENOENT, "load `%s`: no symbol `%s`", soname, names[i]);
                        dlclose(h);
                        return -1;
                }
        }
        return 0; /* the handle stays open for the life of the process */
}
