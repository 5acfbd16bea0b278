/* rtnetlink requests (see netlink.h). */
#include "runtime/net/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/net/nlmsg.h"

#define RC_NL_BUFSIZE (32u * 1024u)
#define EXT_MAX 256

/* The socket is created inside the target namespace and stays bound to it. */
static int open_socket(int netns_fd, uint32_t *portid, rc_error_t *err)
{
        _cleanup_close_ int self = -1;
        int fd, e;

        if (netns_fd < 0) {
                fd = rc_nlsock_open(NETLINK_ROUTE, portid);
                if (fd < 0)
                        rc_error_set(err, errno, "open rtnetlink socket");
                return fd;
        }
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return rc_error_set(err, errno, "open `/proc/self/ns/net`");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return rc_error_set(err, errno, "enter the container's network namespace");
        fd = rc_nlsock_open(NETLINK_ROUTE, portid);
        e = errno;
        if (setns(self, CLONE_NEWNET) < 0) {
                /* never carry on in the container's namespace */
                e = errno;
                if (fd >= 0)
                        close(fd);
                return rc_error_set(err, e, "return to the runtime's network namespace");
        }
        if (fd < 0)
                rc_error_set(err, e, "open rtnetlink socket in the container's network namespace");
        return fd;
}

int rc_nl_open(struct rc_nl *nl, int netns_fd, rc_error_t *err)
{
        int one = 1;

        *nl = (struct rc_nl){.fd = -1};
        nl->buf = malloc(RC_NL_BUFSIZE);
        if (nl->buf == NULL)
                return rc_error_set(err, ENOMEM, "open rtnetlink socket");
        nl->fd = open_socket(netns_fd, &nl->portid, err);
        if (nl->fd < 0) {
                rc_nl_close(nl);
                return -1;
        }
        /* best effort: older kernels simply send no extended ack */
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        nl->seq = (uint32_t)time(NULL);
        return 0;
}

void rc_nl_close(struct rc_nl *nl)
{
        if (nl->fd >= 0)
                close(nl->fd);
        free(nl->buf);
        *nl = (struct rc_nl){.fd = -1};
}

bool rc_nl_ifname_valid(const char *name)
{
        size_t len = name ? strlen(name) : 0;

        if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *p = name; *p; p++) {
                if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n' ||
                    (unsigned char)*p < 33)
                        return false;
        }
        return true;
}

/* ---- one request, its replies and its ack -------------------------------------- */

/* The NLMSGERR_ATTR_MSG text of an extended ack, if any. */
static void ext_ack_text(const struct nlmsghdr *nlh, char *ext, size_t size)
{
        const struct nlmsgerr *e = rc_nlmsg_payload(nlh, sizeof(*e));
        size_t off = sizeof(*e), total = nlh->nlmsg_len - NLMSG_HDRLEN;
        const struct nlattr *attr;

        ext[0] = '\0';
        if (e == NULL || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                if (e->msg.nlmsg_len < NLMSG_HDRLEN)
                        return;
                off += e->msg.nlmsg_len - NLMSG_HDRLEN; /* the request echoed back */
        }
        if (off >= total)
                return;
        rc_nla_for_each (attr, (const char *)e + off, total - off) {
                const char *text = rc_nla_type(attr) == NLMSGERR_ATTR_MSG ? rc_nla_str(attr) : NULL;
                if (text != NULL) {
                        snprintf(ext, size, "%s", text);
                        return;
                }
        }
}

static int talk(struct rc_nl *nl, struct nlmsghdr *nlh, rc_nlmsg_cb cb, void *data, char *ext)
{
        uint32_t seq;
        ssize_t n;
        int r;

        ext[0] = '\0';
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq = ++nl->seq;
        if (rc_nlsock_send(nl->fd, nlh) < 0)
                return -errno;
        for (;;) {
                const struct nlmsghdr *errmsg = NULL;

                n = rc_nlsock_recv(nl->fd, nl->buf, RC_NL_BUFSIZE);
                if (n < 0)
                        return -errno;
                r = rc_nlmsg_walk(nl->buf, (size_t)n, seq, nl->portid, cb, data, &errmsg);
                if (errmsg != NULL)
                        ext_ack_text(errmsg, ext, EXT_MAX);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}

/* "<what>: <strerror>: kernel says \"<ext>\"" (the last part only with an ext ack). */
__attribute__((format(printf, 4, 5))) static int nl_error(rc_error_t *err, int errnum, const char *ext,
                                                          const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (r < 0)
                return rc_error_set(err, ENOMEM, "netlink request");
        if (ext != NULL && ext[0] != '\0')
                return rc_error_set_status(err, errnum, "%s: %s: kernel says \"%s\"", what, strerror(errnum),
                                           ext);
        return rc_error_set(err, errnum, "%s", what);
}

static struct nlmsghdr *new_request(struct rc_nl *nl, uint16_t type, uint16_t flags)
{
        return rc_nlmsg_new(nl->buf, type, flags, 0);
}

/* ---- links ------------------------------------------------------------------------ */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
        struct rc_nl_link *l = data;
        const struct ifinfomsg *ifi = rc_nlmsg_payload(nlh, sizeof(*ifi));
        const struct nlattr *attr;
        uint32_t v;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        if (ifi == NULL)
                return -EPROTO;
        l->ifindex = ifi->ifi_index;
        l->up = (ifi->ifi_flags & IFF_UP) != 0;
        rc_nla_for_each_msg (attr, nlh, sizeof(*ifi)) {
                if (rc_nla_type(attr) == IFLA_MTU && rc_nla_u32(attr, &v))
                        l->mtu = v;
                else if (rc_nla_type(attr) == IFLA_MASTER && rc_nla_u32(attr, &v))
                        l->master = (int)v;
        }
        return 0;
}

int rc_nl_link_get(struct rc_nl *nl, const char *name, struct rc_nl_link *ret, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        struct rc_nl_link l = {0};
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, name);
        r = talk(nl, nlh, link_cb, &l, ext);
        if (r == -ENODEV) {
                *ret = (struct rc_nl_link){0};
                return 0;
        }
        if (r < 0)
                return nl_error(err, -r, ext, "look up link `%s`", name);
        *ret = l;
        return 0;
}

int rc_nl_bridge_create(struct rc_nl *nl, const char *name, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        struct nlattr *linkinfo;
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, name);
        linkinfo = rc_nla_nest_start(nlh, IFLA_LINKINFO);
        rc_nla_put_str(nlh, IFLA_INFO_KIND, "bridge");
        rc_nla_nest_end(nlh, linkinfo);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "create bridge `%s`", name);
        return 0;
}

int rc_nl_veth_create(struct rc_nl *nl, const char *name, const char *peer_name, int peer_netns_fd,
                      unsigned mtu, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi)), *peer;
        struct nlattr *linkinfo, *info_data, *peer_info;
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, name);
        if (mtu > 0)
                rc_nla_put_u32(nlh, IFLA_MTU, mtu);
        linkinfo = rc_nla_nest_start(nlh, IFLA_LINKINFO);
        rc_nla_put_str(nlh, IFLA_INFO_KIND, "veth");
        info_data = rc_nla_nest_start(nlh, IFLA_INFO_DATA);
        peer_info = rc_nla_nest_start(nlh, VETH_INFO_PEER);
        peer = rc_nlmsg_append(nlh, sizeof(*peer));
        peer->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, peer_name);
        rc_nla_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
        if (mtu > 0)
                rc_nla_put_u32(nlh, IFLA_MTU, mtu);
        rc_nla_nest_end(nlh, peer_info);
        rc_nla_nest_end(nlh, info_data);
        rc_nla_nest_end(nlh, linkinfo);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "create veth pair `%s` / `%s`", name, peer_name);
        return 0;
}

int rc_nl_link_set(struct rc_nl *nl, int ifindex, int master, unsigned mtu, bool up, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
        if (master > 0)
                rc_nla_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
        if (mtu > 0)
                rc_nla_put_u32(nlh, IFLA_MTU, mtu);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "configure link %d", ifindex);
        return 0;
}

int rc_nl_link_delete(struct rc_nl *nl, const char *name, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_DELLINK, 0);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        rc_nla_put_str(nlh, IFLA_IFNAME, name);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0 && r != -ENODEV)
                return nl_error(err, -r, ext, "delete link `%s`", name);
        return 0;
}

/* ---- addresses and routes ----------------------------------------------------------- */

int rc_nl_addr_add(struct rc_nl *nl, int ifindex, uint32_t addr, unsigned prefix, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *ifa = rc_nlmsg_append(nlh, sizeof(*ifa));
        uint32_t be = htonl(addr), mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
        char ext[EXT_MAX], ip[INET_ADDRSTRLEN];
        int r;

        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char)prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)ifindex;
        rc_nla_put_u32(nlh, IFA_LOCAL, be);
        rc_nla_put_u32(nlh, IFA_ADDRESS, be);
        if (prefix < 31)
                rc_nla_put_u32(nlh, IFA_BROADCAST, htonl(addr | ~mask));
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0 && r != -EEXIST) {
                inet_ntop(AF_INET, &be, ip, sizeof(ip));
                return nl_error(err, -r, ext, "add address %s/%u to link %d", ip, prefix, ifindex);
        }
        return 0;
}

int rc_nl_route_add_default(struct rc_nl *nl, int ifindex, uint32_t gateway, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        struct rtmsg *rtm = rc_nlmsg_append(nlh, sizeof(*rtm));
        uint32_t be = htonl(gateway);
        char ext[EXT_MAX], ip[INET_ADDRSTRLEN];
        int r;

        rtm->rtm_family = AF_INET;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        rc_nla_put_u32(nlh, RTA_GATEWAY, be);
        rc_nla_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0 && r != -EEXIST) {
                inet_ntop(AF_INET, &be, ip, sizeof(ip));
                return nl_error(err, -r, ext, "add default route via %s", ip);
        }
        return 0;
}

/* ---- loopback --------------------------------------------------------------------- */

int rc_nl_lo_open(struct rc_nl_lo *lo, rc_error_t *err)
{
        lo->fd = rc_nlsock_open(NETLINK_ROUTE, &lo->portid);
        if (lo->fd < 0)
                return rc_error_set(err, errno, "bring `lo` up: open rtnetlink socket");
        return 0;
}

int rc_nl_lo_up(struct rc_nl_lo *lo, rc_error_t *err)
{
        /* no rc_nl: no 32 KiB buffer for a one-message exchange on every start */
        union {
                struct nlmsghdr h;
                char b[512];
        } req, ack;
        struct nlmsghdr *nlh = rc_nlmsg_new(&req, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1);
        struct ifinfomsg *ifi = rc_nlmsg_append(nlh, sizeof(*ifi));
        _cleanup_close_ int fd = TAKE_FD(lo->fd);
        ssize_t n;
        int r;

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        rc_nla_put_str(nlh, IFLA_IFNAME, "lo");
        if (rc_nlsock_send(fd, nlh) < 0)
                return rc_error_set(err, errno, "bring `lo` up");
        /* the only message this socket gets is the ack (with the ~40-byte request echoed) */
        n = rc_nlsock_recv(fd, &ack, sizeof(ack));
        if (n < 0)
                return rc_error_set(err, errno, "bring `lo` up");
        r = rc_nlmsg_walk(&ack, (size_t)n, 1, lo->portid, NULL, NULL, NULL);
        if (r <= 0)
                return rc_error_set(err, r < 0 ? -r : EPROTO, "bring `lo` up");
        return 0;
}

int rc_nl_loopback_up(rc_error_t *err)
{
        struct rc_nl_lo lo;

        if (rc_nl_lo_open(&lo, err) < 0)
                return -1;
        return rc_nl_lo_up(&lo, err);
}

/* The network namespace a socket belongs to (SIOCGSKNS, O_CLOEXEC): no walk of
 * /proc/self/ns/net, whose lookups in the process' /proc directory are most of that
 * open's cost. -1 where the kernel refuses (before 4.9, or without CAP_NET_ADMIN over the
 * namespace's owner): the caller then opens it through /proc. */
static int socket_netns(int sock)
{
        return sock >= 0 ? ioctl(sock, SIOCGSKNS, 0) : -1;
}

/* ns/net is a magic link: plain openat on the verified procfs */
static int proc_netns(const char *what, rc_error_t *err)
{
        int procfd = rc_proc_fd(err);

        if (procfd < 0)
                return -1;
        int fd = openat(procfd, "self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "open %s", what);
        return fd;
}

int rc_netns_make(int our_sock, int *ret_fd, struct rc_nl_lo *ret_lo, rc_error_t *err)
{
        _cleanup_close_ int own = socket_netns(our_sock), fd = -1;

        *ret_fd = -1;
        ret_lo->fd = -1;
        if (own < 0 && (own = proc_netns("our network namespace", err)) < 0)
                return -1;
        /* joining the namespace we are in is allowed exactly when returning to it is */
        if (setns(own, CLONE_NEWNET) < 0)
                return rc_error_set(err, errno, "join our own network namespace");
        if (unshare(CLONE_NEWNET) < 0)
                return rc_error_set(err, errno, "create a network namespace");
        if (rc_nl_lo_open(ret_lo, err) == 0) {
                fd = socket_netns(ret_lo->fd);
                if (fd < 0 && (fd = proc_netns("the new network namespace", err)) < 0)
                        close(TAKE_FD(ret_lo->fd));
        }
        if (setns(own, CLONE_NEWNET) < 0) {
                int e = errno;
                if (ret_lo->fd >= 0)
                        close(TAKE_FD(ret_lo->fd));
                rc_error_free(err);
                rc_error_set(err, e, "return to our own network namespace");
                return -2;
        }
        if (fd < 0)
                return -1;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
