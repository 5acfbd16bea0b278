/* Capabilities around the uid switch; see caps.h. Only capabilities the running kernel
 * knows (0 .. cap_max_bits()-1) are considered: a config written for a newer kernel
 * still runs, as with runc. */
#include "runtime/caps.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static unsigned kernel_cap_count(void)
{
        cap_value_t n = cap_max_bits();

        if (n <= 0)
                return 0;
        return n > 64 ? 64 : (unsigned)n;
}

static uint64_t kernel_cap_mask(void)
{
        unsigned n = kernel_cap_count();

        return n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

/* "CAP_NET_ADMIN" (upper case, as in config.json), or the number when libcap has no name. */
static void cap_name(unsigned cap, char *buf, size_t size)
{
        char *name = cap_to_name((cap_value_t)cap);

        if (name != NULL && strncmp(name, "cap_", 4) == 0) {
                size_t i;

                for (i = 0; name[i] != '\0' && i + 1 < size; i++)
                        buf[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
                buf[i] = '\0';
        } else {
                snprintf(buf, size, "capability %u", cap);
        }
        cap_free(name);
}

int rc_caps_prepare(const struct oci_capabilities *c, rc_error_t *err)
{
        unsigned n = kernel_cap_count();

        if (!c->present)
                return 0;
        for (unsigned cap = 0; cap < n; cap++) {
                char name[64];
                int in_set, e;

                if (c->bounding & (UINT64_C(1) << cap))
                        continue;
                /* one prctl per capability; only a refused drop asks whether the
                 * capability is there at all (already gone: no CAP_SETPCAP needed) */
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
                        continue;
                e = errno;
                cap_name(cap, name, sizeof(name));
                if (e != EPERM)
                        return rc_error_set(err, e, "drop `%s` from the bounding set", name);
                in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
                if (in_set < 0)
                        return rc_error_set(err, errno, "read bounding set for `%s`", name);
                if (in_set > 0)
                        return rc_error_set(err, EPERM, "drop `%s` from the bounding set", name);
        }
        /* keep the permitted set across setresuid() to a non-zero uid */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_KEEPCAPS 1");
        return 0;
}

/* Fail early with a message naming the capability instead of a bare EPERM from the
 * kernel halfway through. */
static int check_sets(uint64_t eff, uint64_t perm, uint64_t inh, uint64_t amb, rc_error_t *err)
{
        char name[64];

        for (unsigned cap = 0; cap < 64; cap++) {
                uint64_t bit = UINT64_C(1) << cap;

                if ((eff & bit) && !(perm & bit)) {
                        cap_name(cap, name, sizeof(name));
                        return rc_error_set_status(
                                err, EINVAL, "effective capability `%s` is not in the permitted set", name);
                }
                if ((amb & bit) && (!(perm & bit) || !(inh & bit))) {
                        cap_name(cap, name, sizeof(name));
                        return rc_error_set_status(
                                err, EINVAL,
                                "ambient capability `%s` must also be in the permitted and "
                                "inheritable sets",
                                name);
                }
        }
        return 0;
}

static int set_flags(cap_t caps, cap_flag_t flag, uint64_t mask)
{
        for (unsigned cap = 0; cap < 64; cap++) {
                cap_value_t v = (cap_value_t)cap;

                if ((mask & (UINT64_C(1) << cap)) && cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
                        return -1;
        }
        return 0;
}

static int set_proc_caps(uint64_t eff, uint64_t perm, uint64_t inh, rc_error_t *err)
{
        cap_t caps = cap_init();
        int ret = 0;

        if (caps == NULL)
                return rc_error_set(err, errno, "allocate capability state");
        if (set_flags(caps, CAP_EFFECTIVE, eff) < 0 || set_flags(caps, CAP_PERMITTED, perm) < 0 ||
            set_flags(caps, CAP_INHERITABLE, inh) < 0)
                ret = rc_error_set(err, errno, "build capability state");
        else if (cap_set_proc(caps) < 0)
                ret = rc_error_set(
                        err, errno, "set capabilities (effective %#llx, permitted %#llx, inheritable %#llx)",
                        (unsigned long long)eff, (unsigned long long)perm, (unsigned long long)inh);
        cap_free(caps);
        return ret;
}

static int set_ambient(uint64_t amb, rc_error_t *err)
{
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                /* EINVAL: kernel older than 4.3, which has no ambient set at all */
                if (errno == EINVAL && amb == 0)
                        return 0;
                return rc_error_set(err, errno, "clear the ambient capability set");
        }
        for (unsigned cap = 0; cap < 64; cap++) {
                char name[64];

                if (!(amb & (UINT64_C(1) << cap)))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
                        cap_name(cap, name, sizeof(name));
                        return rc_error_set(err, errno, "raise ambient capability `%s`", name);
                }
        }
        return 0;
}

int rc_caps_apply(const struct oci_capabilities *c, rc_error_t *err)
{
        uint64_t known = kernel_cap_mask();
        uint64_t eff = c->effective & known, perm = c->permitted & known, inh = c->inheritable & known;
        uint64_t amb = c->ambient & known;

        if (!c->present)
                return 0;
        if (check_sets(eff, perm, inh, amb, err) < 0)
                return -1;
        if (set_proc_caps(eff, perm, inh, err) < 0)
                return -1;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_KEEPCAPS 0");
        return set_ambient(amb, err);
}

int rc_set_no_new_privs(rc_error_t *err)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
        return 0;
}
