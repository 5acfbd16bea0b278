/* rtnetlink (messages built with nlmsg.h): links (bridge, veth), addresses, routes, link state.
 *
 * One request at a time, each with NLM_F_ACK; the kernel's extended ack text
 * (NETLINK_EXT_ACK) is appended to our error messages: "create bridge `rc0`: Operation
 * not supported: kernel says \"Unknown device type\"". A socket opened for another
 * network namespace stays bound to it: the namespace is entered only for socket(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "runtime/base/error.h"

struct rc_nl {
        int fd;
        uint32_t portid;
        uint32_t seq;
        char *buf; /* RC_NL_BUFSIZE, for requests and replies */
};

/* netns_fd < 0: the caller's network namespace. */
int rc_nl_open(struct rc_nl *nl, int netns_fd, rc_error_t *err);
void rc_nl_close(struct rc_nl *nl);

struct rc_nl_link {
        int ifindex; /* 0: no such link */
        unsigned mtu;
        int master; /* 0: none */
        bool up;
};

/* Look a link up by name; ret->ifindex is 0 (and 0 returned) when there is none. */
int rc_nl_link_get(struct rc_nl *nl, const char *name, struct rc_nl_link *ret, rc_error_t *err);

/* Create a bridge; EEXIST is reported with status EEXIST (callers racing for it retry
 * the lookup). */
int rc_nl_bridge_create(struct rc_nl *nl, const char *name, rc_error_t *err);

/* Create a veth pair: `name` here, `peer` created directly in the network namespace
 * peer_netns_fd under the name peer_name. mtu 0: the kernel's default. */
int rc_nl_veth_create(struct rc_nl *nl, const char *name, const char *peer_name, int peer_netns_fd,
                      unsigned mtu, rc_error_t *err);

/* Change a link: master (>0 to enslave, 0 unchanged), mtu (0 unchanged), up. */
int rc_nl_link_set(struct rc_nl *nl, int ifindex, int master, unsigned mtu, bool up, rc_error_t *err);

/* Delete a link by name; a missing link is fine (returns 0). */
int rc_nl_link_delete(struct rc_nl *nl, const char *name, rc_error_t *err);

/* Add an IPv4 address (host byte order) with its prefix; an existing one is fine. */
int rc_nl_addr_add(struct rc_nl *nl, int ifindex, uint32_t addr, unsigned prefix, rc_error_t *err);

/* Add the IPv4 default route via gateway (host byte order) on ifindex. */
int rc_nl_route_add_default(struct rc_nl *nl, int ifindex, uint32_t gateway, rc_error_t *err);

/* Bring `lo` up (a new network namespace has it down; runc and crun bring it up). A few
 * system calls and no allocation: it is on the start path. In two steps when the caller
 * opens the socket inside a namespace it then leaves (the socket stays bound to it) and
 * sends the request later, off its critical path; rc_nl_lo_up closes the socket. */
struct rc_nl_lo {
        int fd;
        uint32_t portid;
};
int rc_nl_lo_open(struct rc_nl_lo *lo, rc_error_t *err);
int rc_nl_lo_up(struct rc_nl_lo *lo, rc_error_t *err);
/* Both, in the caller's network namespace. */
int rc_nl_loopback_up(rc_error_t *err);

/* A valid interface name: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
bool rc_nl_ifname_valid(const char *name);

/* unshare(CLONE_NEWNET), open it (*ret_fd, O_CLOEXEC) and an rtnetlink socket in it
 * (*ret_lo, for rc_nl_lo_up once the init has the namespace), and setns() back. our_sock:
 * a socket in the caller's network namespace (the sync socket), or -1; both namespaces
 * are then taken from sockets (SIOCGSKNS), /proc only where the kernel refuses that.
 * Returns 0; -1 with *ret_fd = ret_lo->fd = -1 when no namespace could be made (the
 * runtime is still in its own: the init may try itself); -2 when the runtime could not
 * return to its own network namespace (it must not go on). */
int rc_netns_make(int our_sock, int *ret_fd, struct rc_nl_lo *ret_lo, rc_error_t *err);
