/* The device rules in force for a container (linux.resources.devices plus the runtime's
 * own), and the question which rule decides an access. Pure functions of the config: the
 * cgroup layer compiles them to its program (runtime/cgroup/devices.c), the rootfs layer
 * asks them which nodes a container may open (runtime/rootfs/devices.c). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "specs/device_rules.h"

/* The nodes the runtime always creates (runtime/rootfs/devices.c), /dev/console, /dev/ptmx
 * and the pts; and mknod of anything (opening it is what the rules decide). */
static const struct oci_device_rule default_rules[] = {
        {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
        {.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"}, /* null */
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"}, /* zero */
        {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"}, /* full */
        {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"}, /* random */
        {.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"}, /* urandom */
        {.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"}, /* tty */
        {.allow = true, .type = 'c', .major = 5, .minor = 1, .access = "rwm"}, /* console */
        {.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"}, /* ptmx */
        {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* pts */
};

int rc_device_rules(const struct oci_device_rule *rules, size_t n, struct oci_device_rule **ret,
                    size_t *ret_n, rc_error_t *err)
{
        size_t n_default = sizeof(default_rules) / sizeof(default_rules[0]);
        size_t total = n + n_default;
        struct oci_device_rule *v;

        if (total > RC_DEVICE_RULES_MAX)
                return rc_error_set(err, 0, ".linux.resources.devices: too many rules (%zu, at most %d)",
                                    total, RC_DEVICE_RULES_MAX);
        v = calloc(total, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "device rules");
        if (n > 0)
                memcpy(v, rules, n * sizeof(*v));
        memcpy(v + n, default_rules, sizeof(default_rules));
        *ret = v;
        *ret_n = total;
        return 0;
}

unsigned rc_device_access_bits(const char *access)
{
        unsigned bits = 0;

        if (access[0] == '\0')
                return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        for (const char *p = access; *p; p++)
                bits |= *p == 'r'   ? BPF_DEVCG_ACC_READ
                        : *p == 'w' ? BPF_DEVCG_ACC_WRITE
                        : *p == 'm' ? BPF_DEVCG_ACC_MKNOD
                                    : 0;
        return bits;
}

bool rc_device_rule_is_reset(const struct oci_device_rule *r)
{
        return r->type == 'a' && r->major < 0 && r->minor < 0;
}

long rc_device_rule_for(const struct oci_device_rule *rules, size_t n, char type, int64_t major,
                        int64_t minor, unsigned access)
{
        for (size_t i = n; i-- > 0;) {
                const struct oci_device_rule *r = &rules[i];
                unsigned acc = rc_device_access_bits(r->access);

                if (rc_device_rule_is_reset(r))
                        return (long)i;
                if (r->type != 'a' && r->type != type)
                        continue;
                if (r->allow ? (access & ~acc) != 0 : (access & acc) == 0)
                        continue;
                if ((r->major >= 0 && r->major != major) || (r->minor >= 0 && r->minor != minor))
                        continue;
                return (long)i;
        }
        return -1;
}

bool rc_device_rules_allow_all(const struct oci_device_rule *rules, size_t n)
{
        for (size_t i = n; i-- > 0;) {
                if (rc_device_rule_is_reset(&rules[i]))
                        return rules[i].allow;
                if (!rules[i].allow)
                        return false;
        }
        return false;
}
