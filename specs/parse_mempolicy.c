/* .linux.memoryPolicy (runtime-spec 1.2, config-linux.md "Memory policy"): the mode and
 * flags of set_mempolicy(2) by name, and the nodes as a list of ids and ranges ("0-3,7").
 * Checked here, without the live system: the names, the nodes' syntax, which modes need
 * nodes (bind, interleave, weighted interleave, preferred many) or refuse them (default,
 * local), and the flag combinations the kernel refuses. */
#include "specs/names.h"
#include "specs/parse_internal.h"

#include <stdlib.h>
#include <string.h>

/* linux/mempolicy.h values (not every libc header has the newer ones) */
enum {
        MPOL_DEFAULT_,
        MPOL_PREFERRED_,
        MPOL_BIND_,
        MPOL_INTERLEAVE_,
        MPOL_LOCAL_,
        MPOL_PREFERRED_MANY_,
        MPOL_WEIGHTED_INTERLEAVE_
};
#define MPOL_F_NUMA_BALANCING_ (1u << 13)
#define MPOL_F_RELATIVE_NODES_ (1u << 14)
#define MPOL_F_STATIC_NODES_ (1u << 15)

/* The highest node id accepted: the kernel's MAX_NUMNODES is at most 1 << 10. */
#define NODE_MAX (OCI_MEMPOLICY_NODES - 1)

/* Indexed by the kernel's value (linux/mempolicy.h). */
const char *const oci_mempolicy_mode_names[] = {
        "MPOL_DEFAULT",        "MPOL_PREFERRED",           "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
        "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE", NULL,
};

/* Bit 13 + index (MPOL_F_NUMA_BALANCING is 1 << 13). */
const char *const oci_mempolicy_flag_names[] = {
        "MPOL_F_NUMA_BALANCING",
        "MPOL_F_RELATIVE_NODES",
        "MPOL_F_STATIC_NODES",
        NULL,
};

static int parse_mode(struct pctx *c, const json_node *v, void *target)
{
        const char *s;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        for (int i = 0; oci_mempolicy_mode_names[i] != NULL; i++)
                if (strcmp(oci_mempolicy_mode_names[i], s) == 0) {
                        *(int *)target = i;
                        return 0;
                }
        return pctx_fail(c, "unknown memory policy mode \"%s\"", s);
}

static int parse_flags(struct pctx *c, const json_node *v, void *target)
{
        unsigned *mask = target;

        if (parse_expect(c, v, JSON_ARRAY, "an array of strings") < 0)
                return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
                size_t mark = pctx_push_index(c, i), j;
                const char *s;

                if (parse_get_string(c, json_array_get(v, i), &s) < 0)
                        return -1;
                for (j = 0;
                     oci_mempolicy_flag_names[j] != NULL && strcmp(oci_mempolicy_flag_names[j], s) != 0; j++)
                        ;
                if (oci_mempolicy_flag_names[j] == NULL)
                        return pctx_fail(c, "unknown memory policy flag \"%s\"", s);
                *mask |= 1u << (13 + j);
                pctx_pop(c, mark);
        }
        return 0;
}

/* One node id: decimal digits, at most NODE_MAX. Return the end or NULL. */
static const char *node_id(const char *p, unsigned *ret)
{
        unsigned v = 0;

        if (*p < '0' || *p > '9')
                return NULL;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned)(*p - '0');
                if (v > NODE_MAX)
                        return NULL;
        }
        *ret = v;
        return p;
}

static void set_nodes(struct oci_memory_policy *m, unsigned lo, unsigned hi)
{
        const unsigned bits = 8 * sizeof(m->node_mask[0]);

        for (unsigned n = lo; n <= hi; n++)
                m->node_mask[n / bits] |= 1UL << (n % bits);
        m->has_nodes = true;
}

/* "0", "0-3", "0-3,7,9-10": ids and increasing ranges separated by commas, set in m's
 * mask. An empty string is no nodes. */
static bool nodes_valid(const char *s, struct oci_memory_policy *m)
{
        const char *p = s;

        if (*p == '\0')
                return true;
        for (;;) {
                unsigned lo, hi;

                p = node_id(p, &lo);
                if (p == NULL)
                        return false;
                hi = lo;
                if (*p == '-') {
                        p = node_id(p + 1, &hi);
                        if (p == NULL || hi < lo)
                                return false;
                }
                set_nodes(m, lo, hi);
                if (*p == '\0')
                        return true;
                if (*p++ != ',')
                        return false;
        }
}

static int parse_nodes(struct pctx *c, const json_node *v, void *target)
{
        struct oci_memory_policy *m = target;
        const char *s;

        if (parse_get_string(c, v, &s) < 0)
                return -1;
        if (!nodes_valid(s, m))
                return pctx_fail(c,
                                 "invalid node list \"%s\" (expected ids and ranges such as \"0-3,7\", "
                                 "each at most %d)",
                                 s, NODE_MAX);
        return parse_dup_string(c, v, &m->nodes);
}

static int check_policy(struct pctx *c, const struct oci_memory_policy *m)
{
        bool nodes = m->has_nodes;
        size_t mark;
        int r;

        if ((m->mode == MPOL_DEFAULT_ || m->mode == MPOL_LOCAL_) && nodes) {
                mark = pctx_push_key(c, "nodes");
                r = pctx_fail(c, "must be empty with %s",
                              m->mode == MPOL_DEFAULT_ ? "MPOL_DEFAULT" : "MPOL_LOCAL");
                pctx_pop(c, mark);
                return r;
        }
        if ((m->mode == MPOL_BIND_ || m->mode == MPOL_INTERLEAVE_ || m->mode == MPOL_WEIGHTED_INTERLEAVE_ ||
             m->mode == MPOL_PREFERRED_MANY_) &&
            !nodes) {
                mark = pctx_push_key(c, "nodes");
                r = pctx_fail(c, "required by this mode (at least one node)");
                pctx_pop(c, mark);
                return r;
        }
        mark = pctx_push_key(c, "flags");
        if (m->mode == MPOL_DEFAULT_ && m->flags != 0)
                return pctx_fail(c, "MPOL_DEFAULT takes no flags");
        if ((m->flags & MPOL_F_STATIC_NODES_) && (m->flags & MPOL_F_RELATIVE_NODES_))
                return pctx_fail(c, "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are exclusive");
        if ((m->flags & MPOL_F_NUMA_BALANCING_) && m->mode != MPOL_BIND_ && m->mode != MPOL_PREFERRED_MANY_)
                return pctx_fail(c, "MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY");
        pctx_pop(c, mark);
        return 0;
}

int parse_memory_policy(struct pctx *c, const json_node *v, void *target)
{
        static const struct field fields[] = {
                FLD_FN("mode", struct oci_memory_policy, mode, parse_mode, .required = true),
                FLD_SELF("nodes", parse_nodes),
                FLD_FN("flags", struct oci_memory_policy, flags, parse_flags),
                FLD_END,
        };
        struct oci_memory_policy *m = target;

        m->present = true;
        if (parse_fields(c, v, fields, m) < 0)
                return -1;
        return check_policy(c, m);
}
