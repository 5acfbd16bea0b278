/* Netlink messages and sockets (see nlmsg.h). */
#include "runtime/net/nlmsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *tail(struct nlmsghdr *nlh)
{
        return (char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len);
}

struct nlmsghdr *rc_nlmsg_new(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
        struct nlmsghdr *nlh = buf;

        memset(nlh, 0, NLMSG_HDRLEN);
        nlh->nlmsg_len = NLMSG_HDRLEN;
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        nlh->nlmsg_seq = seq;
        return nlh;
}

void *rc_nlmsg_append(struct nlmsghdr *nlh, size_t len)
{
        void *p = tail(nlh);

        memset(p, 0, NLMSG_ALIGN(len));
        nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + (uint32_t)NLMSG_ALIGN(len);
        return p;
}

void rc_nla_put(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len)
{
        struct nlattr *a = tail(nlh);
        size_t total = NLA_HDRLEN + len;

        a->nla_type = type;
        a->nla_len = (uint16_t)total;
        if (len > 0)
                memcpy((char *)a + NLA_HDRLEN, data, len);
        /* the padding is part of the message: zero it */
        memset((char *)a + total, 0, NLA_ALIGN(total) - total);
        nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + (uint32_t)NLA_ALIGN(total);
}

void rc_nla_put_str(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
        rc_nla_put(nlh, type, s, strlen(s) + 1);
}

struct nlattr *rc_nla_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
        struct nlattr *nest = tail(nlh);

        nest->nla_type = type | NLA_F_NESTED;
        nest->nla_len = NLA_HDRLEN;
        nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_HDRLEN;
        return nest;
}

void rc_nla_nest_end(struct nlmsghdr *nlh, struct nlattr *nest)
{
        nest->nla_len = (uint16_t)((char *)tail(nlh) - (char *)nest);
}

bool rc_nla_u32(const struct nlattr *a, uint32_t *v)
{
        if (rc_nla_len(a) < sizeof(*v))
                return false;
        memcpy(v, rc_nla_data(a), sizeof(*v));
        return true;
}

const char *rc_nla_str(const struct nlattr *a)
{
        size_t len = rc_nla_len(a);
        const char *s = rc_nla_data(a);

        return len > 0 && memchr(s, '\0', len) != NULL ? s : NULL;
}

int rc_nlmsg_walk(const void *buf, size_t n, uint32_t seq, uint32_t portid, rc_nlmsg_cb cb, void *data,
                  const struct nlmsghdr **errmsg)
{
        const char *p = buf;

        while (n >= NLMSG_HDRLEN) {
                const struct nlmsghdr *nlh = (const void *)p;
                size_t step;

                if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > n)
                        return -EPROTO;
                step = NLMSG_ALIGN(nlh->nlmsg_len);
                if (nlh->nlmsg_seq == seq && nlh->nlmsg_pid == portid) {
                        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                return -EINTR;
                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = rc_nlmsg_payload(nlh, sizeof(*e));
                                if (e == NULL)
                                        return -EPROTO;
                                if (e->error == 0)
                                        return 1;
                                if (errmsg != NULL)
                                        *errmsg = nlh;
                                return e->error < 0 ? e->error : -EPROTO;
                        }
                        if (nlh->nlmsg_type == NLMSG_DONE)
                                return 1;
                        if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb != NULL) {
                                int r = cb(nlh, data);
                                if (r < 0)
                                        return r;
                        }
                }
                if (step >= n)
                        break;
                n -= step;
                p += step;
        }
        return 0;
}

int rc_nlsock_open(int protocol, uint32_t *portid)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        socklen_t len = sizeof(sa);
        int fd, e;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (fd < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                goto fail;
        if (len != sizeof(sa) || sa.nl_family != AF_NETLINK) {
                errno = EINVAL;
                goto fail;
        }
        *portid = sa.nl_pid;
        return fd;
fail:
        e = errno;
        close(fd);
        errno = e;
        return -1;
}

int rc_nlsock_send(int fd, const struct nlmsghdr *nlh)
{
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        ssize_t n;

        do
                n = sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -1;
        if ((size_t)n != nlh->nlmsg_len) {
                errno = EMSGSIZE;
                return -1;
        }
        return 0;
}

ssize_t rc_nlsock_recv(int fd, void *buf, size_t size)
{
        for (;;) {
                struct sockaddr_nl from;
                struct iovec iov = {.iov_base = buf, .iov_len = size};
                struct msghdr msg = {
                        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
                ssize_t n = recvmsg(fd, &msg, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (msg.msg_flags & MSG_TRUNC) {
                        errno = ENOSPC;
                        return -1;
                }
                if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
                        continue; /* not from the kernel */
                return n;
        }
}
