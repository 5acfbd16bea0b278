/* runtime/net/nlmsg.c: building netlink requests, walking replies, and a real exchange with
 * the kernel over rtnetlink (a link lookup needs no privilege). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/net/nlmsg.h"

static _Alignas(4) char buf[4096];

Test(nlmsg, builds_a_request_that_walks_back)
{
        struct nlmsghdr *nlh = rc_nlmsg_new(buf, RTM_NEWLINK, NLM_F_REQUEST, 7);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        struct nlattr *outer, *inner;
        const struct nlattr *a, *b, *c;
        int seen = 0, nested = 0;
        uint32_t v = 0;

        ifi->ifi_index = 42;
        rc_nla_put_str(nlh, IFLA_IFNAME, "abc");
        rc_nla_put_u32(nlh, IFLA_MTU, 1400);
        outer = rc_nla_nest_start(nlh, IFLA_LINKINFO);
        rc_nla_put_str(nlh, IFLA_INFO_KIND, "veth");
        inner = rc_nla_nest_start(nlh, IFLA_INFO_DATA);
        rc_nla_put_u32(nlh, 1, 5);
        rc_nla_nest_end(nlh, inner);
        rc_nla_nest_end(nlh, outer);
        rc_nla_put_u32(nlh, IFLA_MASTER, 3);

        cr_assert_eq(nlh->nlmsg_type, RTM_NEWLINK);
        cr_assert_eq(nlh->nlmsg_seq, 7u);
        cr_assert_eq(nlh->nlmsg_len % 4, 0u);
        /* header 16 + ifinfomsg 16 + "abc\0" 8 + mtu 8 + linkinfo (4 + "veth\0" 12 + data (4 + 8)) + master
         * 8 */
        cr_assert_eq(nlh->nlmsg_len, 16u + 16 + 8 + 8 + 28 + 8);
        cr_assert_eq(outer->nla_len, 28);
        cr_assert(outer->nla_type & NLA_F_NESTED);
        cr_assert_eq(rc_nla_type(outer), IFLA_LINKINFO);

        {
                const struct ifinfomsg *back = rc_nlmsg_payload(nlh, sizeof(*ifi));
                cr_assert_not_null(back);
                if (back != NULL)
                        cr_assert_eq(back->ifi_index, 42);
        }
        rc_nla_for_each_msg (a, nlh, sizeof(*ifi)) {
                seen++;
                switch (rc_nla_type(a)) {
                case IFLA_IFNAME:
                        cr_assert_str_eq(rc_nla_str(a), "abc");
                        break;
                case IFLA_MTU:
                        cr_assert(rc_nla_u32(a, &v));
                        cr_assert_eq(v, 1400u);
                        break;
                case IFLA_MASTER:
                        cr_assert(rc_nla_u32(a, &v));
                        cr_assert_eq(v, 3u);
                        break;
                case IFLA_LINKINFO:
                        rc_nla_for_each_nested (b, a) {
                                nested++;
                                if (rc_nla_type(b) == IFLA_INFO_KIND)
                                        cr_assert_str_eq(rc_nla_str(b), "veth");
                                else
                                        rc_nla_for_each_nested (c, b) {
                                                nested++;
                                                cr_assert(rc_nla_u32(c, &v));
                                                cr_assert_eq(v, 5u);
                                        }
                        }
                        break;
                default:
                        cr_assert_fail("unexpected attribute %u", rc_nla_type(a));
                }
        }
        cr_assert_eq(seen, 4);
        cr_assert_eq(nested, 3);
}

Test(nlmsg, padding_is_zeroed)
{
        struct nlmsghdr *nlh;
        const unsigned char *attr;

        memset(buf, 0xff, sizeof(buf));
        nlh = rc_nlmsg_new(buf, RTM_GETLINK, 0, 1);
        rc_nlmsg_append(nlh, 3); /* a 3-byte family header, padded to 4 */
        rc_nla_put_str(nlh, IFLA_IFNAME, "a");
        cr_assert_eq(nlh->nlmsg_len, 16u + 4 + 8);
        cr_assert_eq((unsigned char)buf[16 + 3], 0);
        attr = (const unsigned char *)buf + 20;
        cr_assert_eq(attr[4], 'a');
        cr_assert_eq(attr[5], 0);
        cr_assert_eq(attr[6], 0, "padding after the attribute must be zero");
        cr_assert_eq(attr[7], 0, "padding after the attribute must be zero");
}

/* Lay attributes out by hand: (type, nla_len, payload bytes...) */
static size_t raw_attr(char *p, uint16_t type, uint16_t len, const void *payload, size_t plen)
{
        struct nlattr a = {.nla_len = len, .nla_type = type};

        memcpy(p, &a, sizeof(a));
        if (plen > 0)
                memcpy(p + sizeof(a), payload, plen);
        return NLA_ALIGN(sizeof(a) + plen);
}

static int count_attrs(const void *data, size_t len)
{
        const struct nlattr *a;
        int n = 0;

        rc_nla_for_each (a, data, len)
                n++;
        return n;
}

Test(nlmsg, walking_stops_at_a_malformed_attribute)
{
        char p[64] = {0};
        uint32_t v = 9;
        size_t off = 0;

        off += raw_attr(p + off, 1, 8, &v, 4);
        off += raw_attr(p + off, 2, 8, &v, 4);
        cr_assert_eq(count_attrs(p, off), 2);
        cr_assert_eq(count_attrs(p, off - 1), 1, "a last attribute cut short is not walked");
        cr_assert_eq(count_attrs(p, 3), 0, "fewer bytes than an attribute header");

        memset(p, 0, sizeof(p));
        off = raw_attr(p, 1, 8, &v, 4);
        raw_attr(p + off, 2, 2, &v, 0); /* nla_len below the header's own size */
        cr_assert_eq(count_attrs(p, off + 8), 1);

        memset(p, 0, sizeof(p));
        off = raw_attr(p, 1, 200, &v, 4); /* claims more than there is */
        cr_assert_eq(count_attrs(p, 16), 0);
}

Test(nlmsg, typed_getters_check_lengths)
{
        char p[32] = {0};
        uint32_t v = 0x01020304, out = 77;
        const struct nlattr *a = (const void *)p;

        raw_attr(p, 1, 6, &v, 2); /* a 2-byte payload */
        cr_assert_not(rc_nla_u32(a, &out));
        cr_assert_eq(out, 77u);
        cr_assert_null(rc_nla_str(a), "not NUL-terminated");

        raw_attr(p, 1, 4, NULL, 0);
        cr_assert_null(rc_nla_str(a), "empty");

        raw_attr(p, 1, 8, "ab\0", 4);
        cr_assert_str_eq(rc_nla_str(a), "ab");
        raw_attr(p, 1, 8, &v, 4);
        cr_assert(rc_nla_u32(a, &out));
        cr_assert_eq(out, v);
}

/* ---- rc_nlmsg_walk over a hand-made read ---------------------------------------- */

static size_t put_msg(char *p, uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid,
                      const void *payload, size_t plen)
{
        struct nlmsghdr h = {.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + plen),
                             .nlmsg_type = type,
                             .nlmsg_flags = flags,
                             .nlmsg_seq = seq,
                             .nlmsg_pid = pid};

        memcpy(p, &h, sizeof(h));
        if (plen > 0)
                memcpy(p + NLMSG_HDRLEN, payload, plen);
        return NLMSG_ALIGN(h.nlmsg_len);
}

static int calls;
static int count_cb(const struct nlmsghdr *nlh, void *data)
{
        calls++;
        cr_assert_eq(nlh->nlmsg_type, RTM_NEWLINK);
        return data == NULL ? 0 : -ENOTRECOVERABLE;
}

Test(nlmsg, walk_follows_seq_and_port)
{
        struct ifinfomsg ifi = {0};
        struct nlmsgerr e = {0};
        const struct nlmsghdr *errmsg = NULL;
        size_t n = 0;

        calls = 0;
        n += put_msg(buf + n, RTM_NEWLINK, NLM_F_MULTI, 5, 100, &ifi, sizeof(ifi));
        n += put_msg(buf + n, RTM_NEWLINK, NLM_F_MULTI, 4, 100, &ifi, sizeof(ifi)); /* another request */
        n += put_msg(buf + n, RTM_NEWLINK, NLM_F_MULTI, 5, 101, &ifi, sizeof(ifi)); /* another socket */
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, count_cb, NULL, NULL), 0, "no end yet: more to read");
        cr_assert_eq(calls, 1);

        n += put_msg(buf + n, NLMSG_DONE, NLM_F_MULTI, 5, 100, &e.error, sizeof(e.error));
        calls = 0;
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, count_cb, NULL, NULL), 1);
        cr_assert_eq(calls, 1);

        calls = 0;
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, count_cb, (void *)1, NULL), -ENOTRECOVERABLE,
                     "a failing callback ends the walk with its code");

        n = put_msg(buf, NLMSG_ERROR, 0, 5, 100, &e, sizeof(e));
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, NULL, NULL, &errmsg), 1, "error 0 is an ack");
        cr_assert_null(errmsg);

        e.error = -ENODEV;
        n = put_msg(buf, NLMSG_ERROR, 0, 5, 100, &e, sizeof(e));
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, NULL, NULL, &errmsg), -ENODEV);
        cr_assert_eq(errmsg, (const void *)buf);

        n = put_msg(buf, NLMSG_ERROR, 0, 5, 100, &e, 2); /* too short for a struct nlmsgerr */
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, NULL, NULL, NULL), -EPROTO);

        n = put_msg(buf, RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR, 5, 100, &ifi, sizeof(ifi));
        cr_assert_eq(rc_nlmsg_walk(buf, n, 5, 100, count_cb, NULL, NULL), -EINTR);

        n = put_msg(buf, RTM_NEWLINK, 0, 5, 100, &ifi, sizeof(ifi));
        cr_assert_eq(rc_nlmsg_walk(buf, n - 4, 5, 100, count_cb, NULL, NULL), -EPROTO,
                     "a message longer than the read is truncated");
}

Test(nlmsg, short_messages_have_no_payload_or_attributes)
{
        struct nlmsghdr *nlh = rc_nlmsg_new(buf, RTM_NEWLINK, 0, 1);

        cr_assert_null(rc_nlmsg_payload(nlh, sizeof(struct ifinfomsg)));
        cr_assert_eq(rc_nlmsg_attrs_len(nlh, sizeof(struct ifinfomsg)), 0u);
}

/* ---- the kernel ---------------------------------------------------------------------- */

static int lookup(int fd, uint32_t portid, const char *name, int *ifindex)
{
        struct nlmsghdr *nlh = rc_nlmsg_new(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 99);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        static _Alignas(4) char rbuf[32768];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, name);
        cr_assert_eq(rc_nlsock_send(fd, nlh), 0, "send: %s", strerror(errno));
        do {
                ssize_t n = rc_nlsock_recv(fd, rbuf, sizeof(rbuf));
                cr_assert_geq(n, 0, "recv: %s", strerror(errno));
                r = rc_nlmsg_walk(rbuf, (size_t)n, 99, portid, NULL, NULL, NULL);
                if (r == 0) {
                        /* the reply to a GET is one RTM_NEWLINK message, then the ack */
                        const struct nlmsghdr *m = (const void *)rbuf;
                        const struct ifinfomsg *got = rc_nlmsg_payload(m, sizeof(*ifi));
                        if (m->nlmsg_type == RTM_NEWLINK && got != NULL)
                                *ifindex = got->ifi_index;
                }
        } while (r == 0);
        return r;
}

Test(nlmsg, talks_to_the_kernel)
{
        uint32_t portid = 0;
        int fd = rc_nlsock_open(NETLINK_ROUTE, &portid), ifindex = 0;

        cr_assert_geq(fd, 0, "rtnetlink socket: %s", strerror(errno));
        cr_assert_neq(portid, 0u);
        cr_assert_eq(lookup(fd, portid, "lo", &ifindex), 1);
        cr_assert_eq(ifindex, 1, "loopback is ifindex 1 in every network namespace");
        cr_assert_eq(lookup(fd, portid, "rc-no-such0", &ifindex), -ENODEV);
        close(fd);
}
