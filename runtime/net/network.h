/* Container networking: named networks (a bridge, a subnet, firewall elements), and the
 * attachment of a container to one (a lease, a veth pair, /etc/hosts, resolv.conf).
 *
 * Opt-in, through the bundle's annotations:
 *   run-container.network=NAME     join NAME ("default" if only the others are given)
 *   run-container.ip=ADDR          ask for this address
 *   run-container.ports=8080:80/tcp,5353:53/udp   publish ports on the host
 *   run-container.network=pasta    user-mode networking, for a runtime that is not root
 *                                  too (runtime/net/pasta.c; with
 *                                  run-container.host-loopback=true the host's loopback
 *                                  is reachable at the gateway address)
 * A config without a new network namespace, or whose network namespace has a path, gets
 * no networking at all, annotations or not; so does one without these annotations.
 *
 * The network state directory (rt->net_state_dir, default RC_DEFAULT_NET_STATE_DIR):
 *   networks/.lock, networks/NAME.json   definitions (flock: shared to use, exclusive
 *                                        to create or remove)
 *   ipam/NAME/                           leases (see ipam.h); a lease record names the
 *                                        container, its state root, its veth and ports
 *   ports/tcp-8080                       claims on published host ports
 * The `default` network exists without being created: RC_DEFAULT_SUBNET on bridge
 * RC_DEFAULT_BRIDGE; `network create default --subnet ...` replaces it.
 *
 * Order of effects (each recorded before it is made, undone in reverse by detach):
 *   create:  <state>/network.json (the network state dir, the network, the veth name),
 *            lease, port claims, hosts + resolv.conf in the state dir, bind mounts
 *   spawn:   bridge (+ gateway address, up, route_localnet), nft table and the network's
 *            elements, ip_forward (non-internal networks only), veth pair with the peer
 *            created in the container's netns as eth0, master, addresses, lo/eth0 up,
 *            default route (not on internal networks), nft port elements
 *   delete:  nft port elements, port claims, host end of the veth (the peer goes with
 *            it, or is gone with the netns), lease. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/context.h"
#include "runtime/net/firewall.h"
#include "runtime/net/ipam.h"
#include "specs/config.h"

#define RC_DEFAULT_NET_STATE_DIR "/var/lib/run-container"
#define RC_NET_STATE_DIR_ENV "RUN_CONTAINER_NETWORK_ROOT"
#define RC_DEFAULT_NETWORK "default"
/* Private range clear of podman (10.88.0.0/16, its networks from 10.89.0.0/24 on) and
 * docker (172.17.0.0/16 and its pools in 172.16.0.0/12 and 192.168.0.0/16). */
#define RC_DEFAULT_SUBNET "10.90.0.0/24"
#define RC_DEFAULT_BRIDGE "rc0"
/* Networks created without --subnet get the first free 10.90.N.0/24, N = 1..255. */

#define RC_ANNOTATION_NETWORK "run-container.network"
#define RC_ANNOTATION_IP "run-container.ip"
#define RC_ANNOTATION_PORTS "run-container.ports"
/* "true": the host's loopback is reachable at the gateway address (pasta only) */
#define RC_ANNOTATION_HOST_LOOPBACK "run-container.host-loopback"
/* The network name that asks for pasta (user-mode networking, no root needed; the
 * container gets the host's addresses and routes, outbound traffic goes through the
 * host's sockets, ports are published by pasta). Reserved: no network may be named so. */
#define RC_NET_PASTA "pasta"

/* Bridge networks (veths, the bridge, nftables, ip_forward) need root: fails with
 * "WHAT: bridge networks need root" for any other caller. */
int rc_net_require_root(const char *what, rc_error_t *err);

struct rc_network {
        char *name;
        struct rc_cidr subnet;
        uint32_t gateway;
        char *bridge;
        bool internal;
        bool isolate;
        bool implicit; /* the default network, never created */
};

struct rc_network_create_opts {
        const char *subnet; /* NULL: the next free 10.90.N.0/24 */
        const char *gateway; /* NULL: the first host address */
        const char *bridge; /* NULL: rcN */
        bool internal;
        bool no_isolate;
};

/* A container attached to a network, as its lease records it. */
struct rc_attachment {
        char *container;
        char *root; /* the container's state root */
        char *network;
        char *veth; /* host end; also the attachment's unique token */
        uint32_t address;
        struct rc_port *ports;
        size_t n_ports;
};

const char *rc_net_state_dir(const struct rc_runtime *rt);

/* Network names: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes. */
int rc_network_validate_name(const char *name, rc_error_t *err);

int rc_network_create(const struct rc_runtime *rt, const char *name, const struct rc_network_create_opts *o,
                      struct rc_network **ret, rc_error_t *err);
int rc_network_get(const struct rc_runtime *rt, const char *name, struct rc_network **ret, rc_error_t *err);
/* All networks, sorted by name, the default one included. */
int rc_network_list(const struct rc_runtime *rt, struct rc_network ***ret, size_t *ret_n, rc_error_t *err);
/* The containers attached to a network (sorted by address). */
int rc_network_attachments(const struct rc_runtime *rt, const char *name, struct rc_attachment **ret,
                           size_t *ret_n, rc_error_t *err);
/* Remove a network: its bridge, its firewall elements, its definition. Refused while a
 * container holds a lease on it, and for the default network. */
int rc_network_remove(const struct rc_runtime *rt, const char *name, rc_error_t *err);
/* Tear down every attachment whose container no longer exists (no state directory under
 * its recorded root), and port claims no lease owns. *ret_n: attachments released. */
int rc_network_prune(const struct rc_runtime *rt, size_t *ret_n, rc_error_t *err);

void rc_network_free(struct rc_network *n);
void rc_network_list_free(struct rc_network **v, size_t n);
void rc_attachment_clear(struct rc_attachment *a);
void rc_attachment_list_free(struct rc_attachment *v, size_t n);

/* ---- the container side (runtime/net/attach.c) ------------------------------ */

/* create, before the spawn: decide from the config whether the container is networked;
 * if so record network.json in the state dir (<rt->root>/<id>), take the lease and port
 * claims, write hosts and resolv.conf there and add their bind mounts to cfg (unless
 * cfg mounts its own). */
int rc_network_prepare(const struct rc_runtime *rt, const char *id, struct oci_config *cfg, int state_dirfd,
                       rc_error_t *err);

/* spawn, once the init's namespaces are set up: plumb what prepare recorded into the
 * network namespace of `pid`. Nothing to do (0) when prepare recorded nothing. */
int rc_network_attach(const struct rc_runtime *rt, int state_dirfd, pid_t pid, rc_error_t *err);
/* The same into the network namespace open as netns_fd (the one the runtime made for the
 * init, runtime/isolation/namespaces.h): done while the init makes its mounts. */
int rc_network_attach_netns(const struct rc_runtime *rt, int state_dirfd, int netns_fd, rc_error_t *err);

/* The destinations prepare binds from the state directory into a networked container
 * (/etc/hosts, /etc/resolv.conf: those its config does not mount itself); returns how
 * many are in ret. */
size_t rc_network_bind_destinations(const struct oci_config *cfg, const char *ret[2]);
/* delete (and a failed create): undo attach and prepare; idempotent, fine when the
 * netns or any piece is gone already. Nothing to do when prepare recorded nothing. */
int rc_network_detach(const struct rc_runtime *rt, const char *id, int state_dirfd, rc_error_t *err);

/* ---- pure helpers, exposed for the unit tests ------------------------------------- */

/* Which network the annotations ask for: *ret_net NULL when none (no networking). */
int rc_network_from_annotations(const struct oci_config *cfg, const char **ret_net, const char **ret_ip,
                                const char **ret_ports, rc_error_t *err);
/* /etc/hosts for a container. */
char *rc_network_hosts_text(uint32_t addr, const char *hostname, const char *id);
/* resolv.conf from the host's: search/domain/options lines kept, loopback nameservers
 * (127.0.0.0/8, ::1) dropped. */
char *rc_network_resolv_text(const char *host_resolv);
