/* Capabilities around the uid switch; see caps.h. Only capabilities the running kernel
 * knows (0 .. cap_max_bits()-1) are considered: a config written for a newer kernel
 * still runs, as with runc. */
#include "runtime/isolation/caps.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int rc_caps_prepare(const struct oci_capabilities *c, uid_t uid, rc_error_t *err)
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
        /* keep the permitted set across setresuid() to a non-zero uid, the one switch that
         * clears it; uid 0 keeps it anyway (and each prctl here commits new credentials) */
        if (uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_KEEPCAPS 1");
        return 0;
}

/* The capability sets of a process as capget/capset(2) see them, version 3 (64 bits). */
struct cap_header {
        uint32_t version;
        int pid;
};
struct cap_data {
        uint32_t effective, permitted, inheritable;
};
#define CAP_VERSION_3 0x20080522

int rc_caps_plan(const struct oci_capabilities *c, const struct rc_logger *log, struct rc_caps_sets *ret,
                 rc_error_t *err)
{
        uint64_t known = kernel_cap_mask();
        struct rc_caps_sets s = {.present = c->present,
                                 .effective = c->effective & known,
                                 .permitted = c->permitted & known,
                                 .inheritable = c->inheritable & known,
                                 .ambient = c->ambient & known};
        char name[64];

        for (unsigned cap = 0; s.present && cap < 64; cap++) {
                uint64_t bit = UINT64_C(1) << cap;

                if ((s.effective & bit) && !(s.permitted & bit)) {
                        cap_name(cap, name, sizeof(name));
                        return rc_error_set_status(
                                err, EINVAL, "effective capability `%s` is not in the permitted set", name);
                }
                /* the kernel raises an ambient capability only when it is permitted and
                 * inheritable: skipped with a warning, as runc does (`runc spec` lists its
                 * three in ambient but not in inheritable) */
                if ((s.ambient & bit) && (!(s.permitted & bit) || !(s.inheritable & bit))) {
                        cap_name(cap, name, sizeof(name));
                        rc_log(log, RC_LOG_WARNING,
                               "ambient capability `%s` is skipped: it is not in both the permitted and the "
                               "inheritable sets",
                               name);
                        s.ambient &= ~bit;
                }
        }
        *ret = s;
        return 0;
}

static int cap_set(const struct cap_data d[2], rc_error_t *err)
{
        struct cap_header h = {.version = CAP_VERSION_3, .pid = 0};

        if (syscall(SYS_capset, &h, d) < 0)
                return rc_error_set(
                        err, errno, "set capabilities (effective %#llx, permitted %#llx, inheritable %#llx)",
                        (unsigned long long)d[0].effective | (unsigned long long)d[1].effective << 32,
                        (unsigned long long)d[0].permitted | (unsigned long long)d[1].permitted << 32,
                        (unsigned long long)d[0].inheritable | (unsigned long long)d[1].inheritable << 32);
        return 0;
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

/* CVE-2022-29162: without process.capabilities nothing sets the inheritable set, and the
 * caller's would reach the process (and be granted at execve by a file's inheritable
 * capabilities, bounding set or not). It is emptied, and the ambient set with it. */
static int drop_inherited(rc_error_t *err)
{
        struct cap_header h = {.version = CAP_VERSION_3, .pid = 0};
        struct cap_data d[2];

        if (syscall(SYS_capget, &h, d) < 0)
                return rc_error_set(err, errno, "read the capability sets");
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0)
                return rc_error_set(err, errno, "clear the inheritable capability set");
        return set_ambient(0, err);
}

int rc_caps_set(const struct rc_caps_sets *s, rc_error_t *err)
{
        struct cap_data d[2] = {
                {(uint32_t)s->effective, (uint32_t)s->permitted, (uint32_t)s->inheritable},
                {(uint32_t)(s->effective >> 32), (uint32_t)(s->permitted >> 32),
                 (uint32_t)(s->inheritable >> 32)},
        };
        int keep;

        if (!s->present)
                return drop_inherited(err);
        if (cap_set(d, err) < 0)
                return -1;
        keep = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
        if (keep < 0)
                return rc_error_set(err, errno, "prctl PR_GET_KEEPCAPS");
        if (keep > 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_KEEPCAPS 0");
        return set_ambient(s->ambient, err);
}

int rc_caps_apply(const struct oci_capabilities *c, rc_error_t *err)
{
        struct rc_caps_sets s;

        if (!c->present)
                return 0;
        if (rc_caps_plan(c, NULL, &s, err) < 0)
                return -1;
        return rc_caps_set(&s, err);
}

int rc_set_no_new_privs(rc_error_t *err)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
        return 0;
}
