/* Shared between runtime/net/network.c (definitions, prune) and runtime/net/attach.c
 * (the container side). */
#pragma once

#include "runtime/net/network.h"

#define RC_NET_ATTACH_FILE "network.json" /* in the container's state directory */

/* "<dir>/<fmt...>", malloc'ed (NULL on ENOMEM). */
char *rc_net_path(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* flock networks/.lock (creating the directories); returns the locked fd. */
int rc_net_defs_lock(const char *netroot, bool exclusive, rc_error_t *err);

/* Load a definition (or the implicit default); "network \"X\" does not exist" (ENOENT). */
int rc_net_load(const char *netroot, const char *name, struct rc_network **ret, rc_error_t *err);

char *rc_net_ipam_dir(const char *netroot, const char *name);

/* Lease records (JSON). */
char *rc_attachment_to_json(const struct rc_attachment *a, size_t *ret_len);
int rc_attachment_parse(const char *json, uint32_t ip, struct rc_attachment *ret, rc_error_t *err);

/* Port claims: ports/<proto>-<port> holding "<veth> <address> <spec>". */
int rc_net_claim_ports(const char *netroot, const struct rc_attachment *a, rc_error_t *err);

/* Undo an attachment: nft port elements, port claims, host veth, lease. */
/* async_link_delete: see struct rc_runtime (container.h). */
int rc_net_teardown(const char *netroot, const struct rc_attachment *a, bool async_link_delete,
                    rc_error_t *err);

/* Make sure the network's bridge exists with its gateway address, up, route_localnet
 * set (its firewall elements are added with the container's ports, in one batch). */
int rc_net_ensure_bridge(const struct rc_network *n, rc_error_t *err);

/* Remove port claims (and their nft elements) whose lease is gone. */
int rc_net_prune_claims(const char *netroot, rc_error_t *err);

/* ---- pasta (runtime/net/pasta.c) ---------------------------------------------------- */

#define RC_PASTA_BIN "/usr/bin/pasta"
#define RC_PASTA_ARGS_FILE "pasta.args" /* in the state directory: pasta's arguments */
#define RC_PASTA_PID_FILE "pasta.pid" /* in the state directory: written by pasta */

struct rc_pasta_opts {
        const char *ip; /* RC_ANNOTATION_IP: refused */
        const char *ports; /* RC_ANNOTATION_PORTS, or NULL */
        bool host_loopback; /* RC_ANNOTATION_HOST_LOOPBACK */
};

/* Record pasta's arguments for the container (its state directory at state_dirfd). */
int rc_pasta_prepare(const struct rc_runtime *rt, const char *id, const struct oci_config *cfg,
                     const struct rc_pasta_opts *o, int state_dirfd, rc_error_t *err);
/* Run pasta on the user and network namespaces of pid: 1 done, 0 when nothing was
 * recorded. */
int rc_pasta_attach(int state_dirfd, pid_t pid, rc_error_t *err);
/* Stop the container's pasta and remove its files: 1 done, 0 when nothing was recorded. */
int rc_pasta_detach(int state_dirfd, rc_error_t *err);
