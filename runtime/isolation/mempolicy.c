/* linux.memoryPolicy, applied in the init before anything of the container runs. The
 * parser validated the mode, flags and nodes and lowered the node list to a bitmask. */
#include "runtime/isolation/mempolicy.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int rc_mempolicy_apply(const struct oci_memory_policy *m, rc_error_t *err)
{
        long r;

        if (!m->present)
                return 0;
        /* maxnode counts one bit more than the kernel reads (set_mempolicy(2), BUGS) */
        if (m->has_nodes)
                r = syscall(SYS_set_mempolicy, m->mode | (int)m->flags, m->node_mask,
                            (unsigned long)OCI_MEMPOLICY_NODES + 1);
        else
                r = syscall(SYS_set_mempolicy, m->mode | (int)m->flags, NULL, 0UL);
        if (r < 0)
                return rc_error_set(err, errno, ".linux.memoryPolicy: set_mempolicy (mode %d, nodes \"%s\")",
                                    m->mode, m->nodes != NULL ? m->nodes : "");
        return 0;
}
