/* The create handshake's messages (runtime/container/sync.h): fds that travel with them, and a
 * peer that exits with one of our messages unread. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/container/sync.h"

static int sv[2] = {-1, -1};

static void open_pair(void)
{
        cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void close_pair(void)
{
        for (int i = 0; i < 2; i++)
                if (sv[i] >= 0)
                        close(sv[i]);
        sv[0] = sv[1] = -1;
}

TestSuite(sync, .init = open_pair, .fini = close_pair);

static bool same_file(int a, int b)
{
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

Test(sync, fd_travels_with_the_message)
{
        _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC);
        rc_error_t err = NULL;
        struct rc_sync_msg m = {0};
        int got = -1;

        cr_assert_eq(rc_sync_send_fd(sv[0], RC_SYNC_NETNS, 7, efd, &err), 0);
        cr_assert_eq(rc_sync_expect_fd(sv[1], RC_SYNC_NETNS, "peer", &m, &got, &err), 0, "%s",
                     err ? err->msg : "");
        cr_assert_eq(m.value, 7);
        cr_assert_geq(got, 0);
        cr_assert_neq(got, efd);
        cr_assert(same_file(got, efd));
        cr_assert_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "received fds are close-on-exec");
        close(got);
        rc_sync_msg_clear(&m);
}

Test(sync, message_without_fd_gives_minus_one)
{
        rc_error_t err = NULL;
        int got = 5;

        cr_assert_eq(rc_sync_send(sv[0], RC_SYNC_NETNS, EPERM, NULL, 0, &err), 0);
        cr_assert_eq(rc_sync_expect_fd(sv[1], RC_SYNC_NETNS, "peer", NULL, &got, &err), 0);
        cr_assert_eq(got, -1);
}

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        cr_assert_not_null(d);
        while (readdir(d) != NULL)
                n++;
        closedir(d);
        return n;
}

Test(sync, unexpected_fd_is_closed)
{
        _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC);
        rc_error_t err = NULL;
        int before;

        cr_assert_eq(rc_sync_send_fd(sv[0], RC_SYNC_READY, 0, efd, &err), 0);
        before = count_fds();
        cr_assert_eq(rc_sync_expect(sv[1], RC_SYNC_READY, "peer", NULL, &err), 0);
        cr_assert_eq(count_fds(), before, "the fd that came with READY was left open");
}

Test(sync, fd_with_wrong_type_is_an_error_and_closed)
{
        _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC);
        rc_error_t err = NULL;
        int got = -1;

        cr_assert_eq(rc_sync_send_fd(sv[0], RC_SYNC_READY, 0, efd, &err), 0);
        cr_assert_eq(rc_sync_expect_fd(sv[1], RC_SYNC_NETNS, "peer", NULL, &got, &err), -1);
        cr_assert_eq(got, -1);
        cr_assert_str_eq(err->msg, "sync: expected NETNS from peer, got READY: Protocol error");
        rc_error_free(&err);
}

Test(sync, error_of_a_peer_that_left_our_message_unread)
{
        rc_error_t err = NULL, perr = NULL;

        /* we send NETNS; the peer fails before reading it, reports and exits */
        cr_assert_eq(rc_sync_send(sv[0], RC_SYNC_NETNS, 0, NULL, 0, &err), 0);
        rc_error_set(&perr, ENOENT, "mount `/x`");
        rc_sync_send_error(sv[1], perr);
        rc_error_free(&perr);
        close(sv[1]);
        sv[1] = -1;
        cr_assert_eq(rc_sync_expect(sv[0], RC_SYNC_READY, "container init", NULL, &err), -1);
        cr_assert_str_eq(err->msg, "mount `/x`: No such file or directory");
        cr_assert_eq(err->status, ENOENT);
        rc_error_free(&err);
}

Test(sync, peer_that_left_our_message_unread_and_said_nothing)
{
        rc_error_t err = NULL;

        cr_assert_eq(rc_sync_send(sv[0], RC_SYNC_NETNS, 0, NULL, 0, &err), 0);
        close(sv[1]);
        sv[1] = -1;
        cr_assert_eq(rc_sync_expect(sv[0], RC_SYNC_READY, "container init", NULL, &err), -1);
        cr_assert_str_eq(err->msg, "container init exited before READY");
        rc_error_free(&err);
}
