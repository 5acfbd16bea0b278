#include "runtime/container/sync.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fdpass.h"

struct sync_header {
        uint32_t type;
        int32_t value;
};

const char *rc_sync_name(enum rc_sync_type t)
{
        static const char *const names[] = {
                [RC_SYNC_IDMAP_REQ] = "IDMAP_REQ",   [RC_SYNC_IDMAP_DONE] = "IDMAP_DONE",
                [RC_SYNC_INIT_PID] = "INIT_PID",     [RC_SYNC_HOOKS] = "HOOKS",
                [RC_SYNC_HOOKS_DONE] = "HOOKS_DONE", [RC_SYNC_READY] = "READY",
                [RC_SYNC_ERROR] = "ERROR",           [RC_SYNC_NETNS] = "NETNS",
                [RC_SYNC_RECORDED] = "RECORDED",     [RC_SYNC_EXIT] = "EXIT",
                [RC_SYNC_CGROUPNS] = "CGROUPNS",
        };
        if ((unsigned)t < sizeof(names) / sizeof(names[0]) && names[t] != NULL)
                return names[t];
        return "UNKNOWN";
}

/* passfd >= 0 goes along as SCM_RIGHTS */
static int sync_send(int fd, enum rc_sync_type type, int32_t value, const void *data, size_t len, int passfd,
                     rc_error_t *err)
{
        struct sync_header h = {.type = type, .value = value};
        struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)},
                               {.iov_base = (void *)data, .iov_len = data ? len : 0}};
        union rc_fd_cmsg control;
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n;

        if (len > RC_SYNC_MAX_PAYLOAD)
                return rc_error_set(err, EMSGSIZE, "sync: send %s", rc_sync_name(type));
        if (passfd >= 0)
                rc_cmsg_put_fd(&mh, &control, passfd);
        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return rc_error_set(err, errno, "sync: send %s", rc_sync_name(type));
        return 0;
}

int rc_sync_send(int fd, enum rc_sync_type type, int32_t value, const void *data, size_t len,
                 rc_error_t *err)
{
        return sync_send(fd, type, value, data, len, -1, err);
}

int rc_sync_send_fd(int fd, enum rc_sync_type type, int32_t value, int passfd, rc_error_t *err)
{
        return sync_send(fd, type, value, NULL, 0, passfd, err);
}

void rc_sync_send_error(int fd, const struct rc_error *e)
{
        const char *msg = e && e->msg ? e->msg : "unknown error";
        rc_error_t ignored = NULL;

        rc_sync_send(fd, RC_SYNC_ERROR, e ? e->status : 0, msg, strlen(msg), &ignored);
        rc_error_free(&ignored);
}

void rc_sync_msg_clear(struct rc_sync_msg *m)
{
        free(m->data);
        m->data = NULL;
        m->len = 0;
}

/* The fds that came with a message (SCM_RIGHTS): the first goes to *ret_fd when the
 * caller takes one, any other is closed. */
static void take_fds(struct msghdr *mh, int *ret_fd)
{
        int fd;

        if (rc_cmsg_get_fds(mh, &fd, 1) == 0)
                return;
        if (ret_fd != NULL && *ret_fd < 0)
                *ret_fd = fd;
        else
                close(fd);
}

/* Whether a failed receive is worth another try: EINTR always; ECONNRESET once per
 * message (see sync_recv). */
static bool try_again(int *resets)
{
        return errno == EINTR || (errno == ECONNRESET && (*resets)++ == 0);
}

static int sync_recv(int fd, struct rc_sync_msg *ret, int *ret_fd, rc_error_t *err)
{
        struct sync_header h;
        _cleanup_free_ char *buf = NULL;
        union rc_fd_cmsg control;
        struct iovec iov;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t size, n;
        int resets;

        /* A peer that exits with a message of ours unread (NETNS, say, when the init
         * fails before it takes it) resets the connection: that is reported once, by
         * whichever receive comes next (this peek or the read below), and what the peer
         * sent before (its ERROR) can still be read after it. */
        resets = 0;
        do
                size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
        while (size < 0 && try_again(&resets));
        if (size < 0)
                return rc_error_set(err, errno, "sync: receive");
        if (size == 0)
                return 0; /* EOF */
        if ((size_t)size < sizeof(h) || (size_t)size > sizeof(h) + RC_SYNC_MAX_PAYLOAD)
                return rc_error_set(err, EPROTO, "sync: message of %zd bytes", size);
        buf = malloc((size_t)size + 1);
        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "sync: receive");
        iov = (struct iovec){.iov_base = buf, .iov_len = (size_t)size};
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        resets = 0;
        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && try_again(&resets));
        if (n >= 0)
                take_fds(&mh, ret_fd);
        if (n != size)
                return rc_error_set(err, n < 0 ? errno : EPROTO, "sync: receive");
        memcpy(&h, buf, sizeof(h));
        ret->type = h.type;
        ret->value = h.value;
        ret->len = (size_t)size - sizeof(h);
        ret->data = NULL;
        if (ret->len > 0) {
                ret->data = malloc(ret->len + 1);
                if (ret->data == NULL)
                        return rc_error_set(err, ENOMEM, "sync: receive");
                memcpy(ret->data, buf + sizeof(h), ret->len);
                ret->data[ret->len] = '\0';
        }
        return 1;
}

static int sync_expect(int fd, enum rc_sync_type want, const char *peer, struct rc_sync_msg *ret,
                       int *ret_fd, rc_error_t *err)
{
        struct rc_sync_msg m = {0};
        int r;

        r = sync_recv(fd, &m, ret_fd, err);
        if (r < 0)
                return r;
        if (r == 0)
                return rc_error_set(err, 0, "%s exited before %s", peer, rc_sync_name(want));
        if (m.type == RC_SYNC_ERROR) {
                /* the text already names the reason */
                rc_error_set_status(err, m.value, "%s", m.data ? m.data : "unknown error");
                rc_sync_msg_clear(&m);
                return -1;
        }
        if (m.type != want) {
                rc_sync_msg_clear(&m);
                return rc_error_set(err, EPROTO, "sync: expected %s from %s, got %s", rc_sync_name(want),
                                    peer, rc_sync_name(m.type));
        }
        if (ret != NULL)
                *ret = m;
        else
                rc_sync_msg_clear(&m);
        return 0;
}

int rc_sync_expect(int fd, enum rc_sync_type want, const char *peer, struct rc_sync_msg *ret,
                   rc_error_t *err)
{
        return sync_expect(fd, want, peer, ret, NULL, err);
}

int rc_sync_expect_fd(int fd, enum rc_sync_type want, const char *peer, struct rc_sync_msg *ret, int *ret_fd,
                      rc_error_t *err)
{
        int r;

        *ret_fd = -1;
        r = sync_expect(fd, want, peer, ret, ret_fd, err);
        if (r < 0 && *ret_fd >= 0) {
                close(*ret_fd);
                *ret_fd = -1;
        }
        return r;
}
