/* rtnetlink requests through libmnl (see netlink.h). */
#include "runtime/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cleanup.h"

#define RC_NL_BUFSIZE (32u * 1024u)
#define EXT_MAX 256

typedef int (*reply_cb)(const struct nlmsghdr *nlh, void *data);

/* The socket is created inside the target namespace and stays bound to it. */
static struct mnl_socket *open_socket(int netns_fd, rc_error_t *err)
{
        _cleanup_close_ int self = -1;
        struct mnl_socket *s;
        int e;

        if (netns_fd < 0) {
                s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
                if (s == NULL)
                        rc_error_set(err, errno, "open rtnetlink socket");
                return s;
        }
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0) {
                rc_error_set(err, errno, "open `/proc/self/ns/net`");
                return NULL;
        }
        if (setns(netns_fd, CLONE_NEWNET) < 0) {
                rc_error_set(err, errno, "enter the container's network namespace");
                return NULL;
        }
        s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        e = errno;
        if (setns(self, CLONE_NEWNET) < 0) {
                /* never carry on in the container's namespace */
                if (s != NULL)
                        mnl_socket_close(s);
                rc_error_set(err, errno, "return to the runtime's network namespace");
                return NULL;
        }
        if (s == NULL)
                rc_error_set(err, e, "open rtnetlink socket in the container's network namespace");
        return s;
}

int rc_nl_open(struct rc_nl *nl, int netns_fd, rc_error_t *err)
{
        int one = 1;

        *nl = (struct rc_nl){0};
        nl->buf = malloc(RC_NL_BUFSIZE);
        if (nl->buf == NULL)
                return rc_error_set(err, ENOMEM, "open rtnetlink socket");
        nl->sock = open_socket(netns_fd, err);
        if (nl->sock == NULL) {
                rc_nl_close(nl);
                return -1;
        }
        /* best effort: older kernels simply send no extended ack */
        mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
        mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;
                rc_nl_close(nl);
                return rc_error_set(err, e, "bind rtnetlink socket");
        }
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = (uint32_t)time(NULL);
        return 0;
}

void rc_nl_close(struct rc_nl *nl)
{
        if (nl->sock != NULL)
                mnl_socket_close(nl->sock);
        free(nl->buf);
        *nl = (struct rc_nl){0};
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
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        size_t off = sizeof(*e), total = mnl_nlmsg_get_payload_len(nlh);
        const struct nlattr *attr;
        const void *payload;

        ext[0] = '\0';
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (off >= total)
                return;
        payload = (const char *)e + off;
        mnl_attr_for_each_payload(payload, total - off)
        {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(attr, MNL_TYPE_STRING) == 0) {
                        snprintf(ext, size, "%s", mnl_attr_get_str(attr));
                        return;
                }
        }
}

/* One batch of replies. Returns 1 when the exchange is over (ack, error or done), 0 to
 * keep reading, or -errno with ext filled on an error ack. */
static int handle_replies(const struct rc_nl *nl, size_t n, uint32_t seq, reply_cb cb, void *data, char *ext)
{
        int len = (int)n;

        for (const struct nlmsghdr *nlh = (const void *)nl->buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
                if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
                        continue;
                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
                        if (e->error == 0)
                                return 1;
                        ext_ack_text(nlh, ext, EXT_MAX);
                        return e->error;
                }
                if (nlh->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (cb != NULL && cb(nlh, data) < 0)
                        return -EPROTO;
        }
        return 0;
}

static int talk(struct rc_nl *nl, struct nlmsghdr *nlh, reply_cb cb, void *data, char *ext)
{
        uint32_t seq;
        ssize_t n;
        int r;

        ext[0] = '\0';
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq = ++nl->seq;
        if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                n = mnl_socket_recvfrom(nl->sock, nl->buf, RC_NL_BUFSIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                r = handle_replies(nl, (size_t)n, seq, cb, data, ext);
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
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        return nlh;
}

/* ---- links ------------------------------------------------------------------------ */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
        struct rc_nl_link *l = data;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *attr;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        l->ifindex = ifi->ifi_index;
        l->up = (ifi->ifi_flags & IFF_UP) != 0;
        mnl_attr_for_each (attr, nlh, sizeof(*ifi)) {
                if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
                        l->mtu = mnl_attr_get_u32(attr);
                else if (mnl_attr_get_type(attr) == IFLA_MASTER &&
                         mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
                        l->master = (int)mnl_attr_get_u32(attr);
        }
        return 0;
}

int rc_nl_link_get(struct rc_nl *nl, const char *name, struct rc_nl_link *ret, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        struct rc_nl_link l = {0};
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
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
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        struct nlattr *linkinfo;
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, linkinfo);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "create bridge `%s`", name);
        return 0;
}

int rc_nl_veth_create(struct rc_nl *nl, const char *name, const char *peer_name, int peer_netns_fd,
                      unsigned mtu, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi)), *peer;
        struct nlattr *linkinfo, *info_data, *peer_info;
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        info_data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        peer = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer));
        peer->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_nest_end(nlh, peer_info);
        mnl_attr_nest_end(nlh, info_data);
        mnl_attr_nest_end(nlh, linkinfo);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "create veth pair `%s` / `%s`", name, peer_name);
        return 0;
}

int rc_nl_link_set(struct rc_nl *nl, int ifindex, int master, unsigned mtu, bool up, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0)
                return nl_error(err, -r, ext, "configure link %d", ifindex);
        return 0;
}

int rc_nl_link_delete(struct rc_nl *nl, const char *name, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_DELLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        char ext[EXT_MAX];
        int r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0 && r != -ENODEV)
                return nl_error(err, -r, ext, "delete link `%s`", name);
        return 0;
}

/* ---- addresses and routes ----------------------------------------------------------- */

int rc_nl_addr_add(struct rc_nl *nl, int ifindex, uint32_t addr, unsigned prefix, rc_error_t *err)
{
        struct nlmsghdr *nlh = new_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        uint32_t be = htonl(addr), mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
        char ext[EXT_MAX], ip[INET_ADDRSTRLEN];
        int r;

        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char)prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)ifindex;
        mnl_attr_put_u32(nlh, IFA_LOCAL, be);
        mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
        if (prefix < 31)
                mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(addr | ~mask));
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
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        uint32_t be = htonl(gateway);
        char ext[EXT_MAX], ip[INET_ADDRSTRLEN];
        int r;

        rtm->rtm_family = AF_INET;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_GATEWAY, be);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
        r = talk(nl, nlh, NULL, NULL, ext);
        if (r < 0 && r != -EEXIST) {
                inet_ntop(AF_INET, &be, ip, sizeof(ip));
                return nl_error(err, -r, ext, "add default route via %s", ip);
        }
        return 0;
}
