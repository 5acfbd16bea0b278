/* NAT, published ports and isolation with libnftables, in one table of our own
 * (`ip run-container`); no other table is ever read or changed.
 *
 * The table's rules are fixed and installed once (atomically, by `create table` at the
 * head of one batch, so racing runtimes install them exactly once). Networks and
 * containers only add and delete set elements, which makes teardown idempotent:
 *   bridges   every bridge of ours          same      "br" . "br" (traffic within one)
 *   isolated  bridges of isolated networks  internal  bridges of --internal networks
 *   masq      subnets of non-internal networks (masqueraded when leaving by a
 *             non-bridge interface)
 *   ports     proto . host port : container address . container port (DNAT for
 *             traffic to any local address, incl. the host's loopback: the bridge gets
 *             route_localnet and 127.0.0.0/8 sources are masqueraded onto bridges)
 * Forwarding between two bridges is dropped unless both networks are --no-isolate;
 * an internal network's bridge forwards nothing to or from other interfaces. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"
#include "runtime/net/ipam.h"

#define RC_FW_TABLE "run-container"

struct rc_port {
        int proto; /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t host_port, container_port;
};

/* "8080:80/tcp,5353:53/udp,9000:9000": HOST:CONTAINER[/tcp|/udp] (tcp by default), ports
 * 1..65535, no host port (with its protocol) twice. */
int rc_ports_parse(const char *spec, struct rc_port **ret, size_t *ret_n, rc_error_t *err);
/* "8080:80/tcp" into buf (at least 20 bytes). */
void rc_port_format(const struct rc_port *p, char *buf, size_t size);
const char *rc_port_proto_name(int proto);

/* What the firewall needs to know about a network. */
struct rc_fw_net {
        const char *bridge;
        struct rc_cidr subnet;
        bool internal;
        bool isolate;
};

/* ---- pure: the nft command text (malloc'ed, NULL on ENOMEM) ----------------------- */

/* The whole table, starting with `create table` (fails if it exists). */
char *rc_fw_table_text(void);
/* A network's elements: added, or (add == false) removed; removal adds each element
 * before deleting it, so removing what is not there is not an error. */
char *rc_fw_network_text(const struct rc_fw_net *n, bool add);
/* A container's published ports, to its address (host order). */
char *rc_fw_ports_text(const struct rc_port *p, size_t n, uint32_t addr, bool add);

/* ---- effects ---------------------------------------------------------------------- */

/* Run nft commands through libnftables; errors carry nft's own message. */
int rc_fw_run(const char *text, rc_error_t *err);
/* Run commands that need the table: tried first as they are (the common case costs one
 * nft transaction), and after installing the table if it was missing. */
int rc_fw_apply(const char *text, rc_error_t *err);
/* Run removal commands (rc_fw_*_text with add == false); no table: nothing to remove. */
int rc_fw_remove(const char *text, rc_error_t *err);
/* Install the table unless it is there. */
int rc_fw_ensure_table(rc_error_t *err);
/* Is our table installed? */
bool rc_fw_table_exists(void);
/* Are the elements rc_fw_network_text(n, true) adds all in the table already? Read over
 * nfnetlink without libnftables (firewall_nl.c); false also when it cannot tell. */
bool rc_fw_network_present(const struct rc_fw_net *n);
/* CRIU's network lock (network_lock "nftables") is a table `inet CRIU-<its run id>` in the
 * dumped tasks' network namespace, which CRIU deletes when its dump fails or ends with the
 * tasks gone. A CRIU killed mid-dump leaves it there, and the namespace's traffic dropped.
 * In the network namespace netns_fd: every such table goes; *ret_n: how many. */
int rc_fw_remove_criu_lock(int netns_fd, size_t *ret_n, rc_error_t *err);
/* net.ipv4.ip_forward = 1 (left on: other users of the host may rely on it). */
int rc_fw_enable_forwarding(rc_error_t *err);
/* net.ipv4.conf.<bridge>.route_localnet = 1, so DNATed loopback traffic may leave by it. */
int rc_fw_route_localnet(const char *bridge, rc_error_t *err);
