/* IPv4 address management: CIDR arithmetic (pure) and a per-network lease store.
 *
 * A network's leases live in one directory, one file per address:
 *   <dir>/.lock        flock()ed (exclusive) while leases are allocated or released
 *   <dir>/.next        where the next search starts (round robin, so a released address
 *                      is not handed out again at once)
 *   <dir>/10.90.0.7    the lease record (JSON written by the caller: it names the
 *                      container); created by link(2) from a complete temp file, so a
 *                      record is either absent or whole, even after a crash
 * The address in the file name is the lease; link() failing with EEXIST is what makes
 * two allocations of one address impossible, the lock only keeps the search short. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"

/* Addresses are kept in host byte order. */
struct rc_cidr {
        uint32_t addr; /* the network address (host bits zero) */
        unsigned prefix; /* 0..32 */
};

#define RC_IP_STRLEN 16 /* "255.255.255.255" + NUL */

/* Dotted quad, exactly four decimal parts 0..255 without leading zeros or junk. */
int rc_ip_parse(const char *s, uint32_t *ret, rc_error_t *err);
void rc_ip_format(uint32_t ip, char buf[RC_IP_STRLEN]);

/* "A.B.C.D/N"; the host bits must be zero ("subnet `10.0.0.1/24` has host bits set:
 * did you mean `10.0.0.0/24`?"). */
int rc_cidr_parse(const char *s, struct rc_cidr *ret, rc_error_t *err);
/* "A.B.C.D/N" into buf (at least 19 bytes). */
void rc_cidr_format(const struct rc_cidr *c, char *buf, size_t size);

uint32_t rc_cidr_mask(unsigned prefix);
uint32_t rc_cidr_broadcast(const struct rc_cidr *c);
bool rc_cidr_contains(const struct rc_cidr *c, uint32_t ip);
bool rc_cidr_overlaps(const struct rc_cidr *a, const struct rc_cidr *b);
/* The usable host addresses: network+1 .. broadcast-1 (a /31 or /32 has none we use). */
uint32_t rc_cidr_first_host(const struct rc_cidr *c);
uint32_t rc_cidr_last_host(const struct rc_cidr *c);
/* The host address after ip, wrapping from the last host to the first. */
uint32_t rc_cidr_next_host(const struct rc_cidr *c, uint32_t ip);
/* Number of usable host addresses (0 for /31 and /32). */
uint32_t rc_cidr_host_count(const struct rc_cidr *c);
/* A host address of c that may be leased: inside, not the network, broadcast or gateway. */
int rc_cidr_check_host(const struct rc_cidr *c, uint32_t gateway, uint32_t ip, rc_error_t *err);

/* Allocate an address in `dir` (created if missing) and store `record` as its lease.
 * want != 0 asks for that address ("address `X` is already in use" if leased); else
 * the first free host address from the round-robin hint on, skipping the gateway.
 * "no free address in subnet `S`" when all are taken. */
int rc_ipam_allocate(const char *dir, const struct rc_cidr *subnet, uint32_t gateway, uint32_t want,
                     const char *record, size_t len, uint32_t *ret, rc_error_t *err);

/* Release a lease; a missing one is fine. With `owner` != NULL the lease is removed only
 * if its record contains that exact string (a lease handed out again since is kept). */
int rc_ipam_release(const char *dir, uint32_t ip, const char *owner, rc_error_t *err);

struct rc_lease {
        uint32_t ip;
        char *record; /* the file's content */
};

/* Every lease in dir (sorted by address); a missing dir has none. Temp files left by a
 * crash are removed on the way when `clean` (which takes the lock). */
int rc_ipam_list(const char *dir, bool clean, struct rc_lease **ret, size_t *ret_n, rc_error_t *err);
void rc_lease_list_free(struct rc_lease *v, size_t n);

/* The lease of one address: 1 with *ret_record (its content, to free), 0 if there is none. */
int rc_ipam_read(const char *dir, uint32_t ip, char **ret_record, rc_error_t *err);

/* Take the store's lock (creating dir and lock file); returns the locked fd. */
int rc_ipam_lock(const char *dir, rc_error_t *err);
