/* Netlink messages: building a request, walking the attributes of a reply, and the
 * socket calls around them (used by rtnetlink in netlink.c and nfnetlink in
 * firewall_nl.c).
 *
 * The runtime used libmnl for this, but Debian ships libmnl only as a shared object,
 * and the runtime is linked statically (see meson.build: no dynamic loader, no libc.so
 * relocation at every start). The few dozen lines it took are here.
 *
 * Building does not check the buffer's end: callers size their buffers for their
 * largest request (a few hundred bytes against buffers of kilobytes). Walking checks
 * every length against the bytes received. */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- building ------------------------------------------------------------------ */

/* A request header at the start of buf (zeroed, nlmsg_len = the header alone). */
struct nlmsghdr *rc_nlmsg_new(void *buf, uint16_t type, uint16_t flags, uint32_t seq);

/* Append `len` zeroed bytes (a family header: ifinfomsg, nfgenmsg, ...) and return them. */
void *rc_nlmsg_append(struct nlmsghdr *nlh, size_t len);

void rc_nla_put(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len);

static inline void rc_nla_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
        rc_nla_put(nlh, type, &v, sizeof(v));
}

/* A NUL-terminated string attribute. */
void rc_nla_put_str(struct nlmsghdr *nlh, uint16_t type, const char *s);

/* A nested attribute: attributes appended until rc_nla_nest_end are inside it. */
struct nlattr *rc_nla_nest_start(struct nlmsghdr *nlh, uint16_t type);
void rc_nla_nest_end(struct nlmsghdr *nlh, struct nlattr *nest);

/* ---- walking ------------------------------------------------------------------- */

static inline bool rc_nla_ok(const struct nlattr *a, size_t rem)
{
        return rem >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
}

static inline uint16_t rc_nla_type(const struct nlattr *a)
{
        return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *rc_nla_data(const struct nlattr *a)
{
        return (const char *)a + NLA_HDRLEN;
}

static inline size_t rc_nla_len(const struct nlattr *a)
{
        return a->nla_len - NLA_HDRLEN;
}

/* The value of a 32-bit attribute; false (and *v untouched) when it is shorter. */
bool rc_nla_u32(const struct nlattr *a, uint32_t *v);

/* The string of a string attribute; NULL unless it is NUL-terminated within it. */
const char *rc_nla_str(const struct nlattr *a);

struct rc_nla_iter {
        const char *p;
        size_t rem;
};

static inline const struct nlattr *rc_nla_iter_at(const struct rc_nla_iter *it)
{
        return (const struct nlattr *)it->p;
}

static inline void rc_nla_iter_next(struct rc_nla_iter *it)
{
        size_t step = NLA_ALIGN(rc_nla_iter_at(it)->nla_len);

        it->rem = step >= it->rem ? 0 : it->rem - step;
        it->p += step;
}

/* Each well-formed attribute in the `len` bytes at `data` (the walk ends at the first
 * malformed one); `a` is a const struct nlattr * of the caller's. */
#define rc_nla_for_each(a, data, len)                                                                       \
        for (struct rc_nla_iter a##_it = {(const char *)(data), (len)};                                     \
             rc_nla_ok((a = rc_nla_iter_at(&a##_it)), a##_it.rem); rc_nla_iter_next(&a##_it))

/* The attributes inside a nested attribute. */
#define rc_nla_for_each_nested(a, nest) rc_nla_for_each (a, rc_nla_data(nest), rc_nla_len(nest))

/* The attributes of a message after its family header of `hdrlen` bytes (none when the
 * message is too short to hold that header). */
#define rc_nla_for_each_msg(a, nlh, hdrlen)                                                                 \
        rc_nla_for_each (a, rc_nlmsg_attrs(nlh, hdrlen), rc_nlmsg_attrs_len(nlh, hdrlen))

static inline const void *rc_nlmsg_attrs(const struct nlmsghdr *nlh, size_t hdrlen)
{
        return (const char *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);
}

static inline size_t rc_nlmsg_attrs_len(const struct nlmsghdr *nlh, size_t hdrlen)
{
        size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);

        return nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0;
}

/* The payload of a message (its family header), or NULL when shorter than `len`. */
static inline const void *rc_nlmsg_payload(const struct nlmsghdr *nlh, size_t len)
{
        return nlh->nlmsg_len >= NLMSG_HDRLEN + len ? (const char *)nlh + NLMSG_HDRLEN : NULL;
}

/* Called for each data message of a reply; a negative return ends the walk with it. */
typedef int (*rc_nlmsg_cb)(const struct nlmsghdr *nlh, void *data);

/* Walk the `n` bytes of one read: the messages answering request `seq` of socket
 * `portid` (others are skipped). Returns 1 when the exchange is over (NLMSG_DONE or an
 * ack), 0 when more replies are to come, the negative errno of an error ack (*errmsg,
 * if not NULL, then points at it), -EINTR for a dump the kernel interrupted, -EPROTO
 * for a truncated message, or what cb returned when it failed. */
int rc_nlmsg_walk(const void *buf, size_t n, uint32_t seq, uint32_t portid, rc_nlmsg_cb cb, void *data,
                  const struct nlmsghdr **errmsg);

/* ---- the socket ---------------------------------------------------------------- */

/* A netlink socket of `protocol` (NETLINK_ROUTE, ...), close-on-exec, bound to a port id
 * the kernel chooses (*portid). Returns the fd, or -1 with errno set. */
int rc_nlsock_open(int protocol, uint32_t *portid);

/* Send one message to the kernel. 0, or -1 with errno set. */
int rc_nlsock_send(int fd, const struct nlmsghdr *nlh);

/* Receive one datagram from the kernel into buf. The byte count, or -1 with errno set
 * (ENOSPC when it did not fit, EINTR retried). */
ssize_t rc_nlsock_recv(int fd, void *buf, size_t size);
