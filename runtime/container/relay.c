/* The foreground wait and terminal relay of `run` and `exec`; see relay.h. */
#include "runtime/container/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/syscalls.h"

int rc_relay_block_signals(sigset_t *old, rc_error_t *err)
{
        static const int keep[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
        sigset_t all;
        int sfd;

        sigfillset(&all);
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
                sigdelset(&all, keep[i]);
        if (sigprocmask(SIG_BLOCK, &all, old) < 0)
                return rc_error_set(err, errno, "block signals");
        sfd = signalfd(-1, &all, SFD_CLOEXEC);
        if (sfd < 0) {
                int e = errno;
                sigprocmask(SIG_SETMASK, old, NULL);
                return rc_error_set(err, e, "signalfd");
        }
        return sfd;
}

int rc_relay_console_pair(int ret[2], rc_error_t *err)
{
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ret) < 0)
                return rc_error_set(err, errno, "socketpair for the terminal relay");
        return 0;
}

int rc_relay_exit_status(int wstatus)
{
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return 255;
}

/* The window size of the caller's terminal (stdin, else stdout); false when neither is a
 * terminal or its size is unset (0x0). */
static bool caller_winsize(int in_fd, int out_fd, struct winsize *ws)
{
        if (ioctl(in_fd, TIOCGWINSZ, ws) < 0 && ioctl(out_fd, TIOCGWINSZ, ws) < 0)
                return false;
        return ws->ws_row != 0 || ws->ws_col != 0;
}

void rc_relay_initial_size(int in_fd, int out_fd, struct oci_console_size *size)
{
        struct winsize ws;

        if (!caller_winsize(in_fd, out_fd, &ws))
                return;
        *size = (struct oci_console_size){.present = true, .height = ws.ws_row, .width = ws.ws_col};
}

/* The window size of the caller's terminal onto the pty. */
static void copy_winsize(const struct rc_relay *r)
{
        struct winsize ws;

        if (caller_winsize(r->in_fd, r->out_fd, &ws))
                (void)ioctl(r->master, TIOCSWINSZ, &ws);
}

int rc_relay_start(struct rc_relay *r, int master, int in_fd, int out_fd, rc_error_t *err)
{
        struct termios raw;
        int flags;

        *r = (struct rc_relay){.master = master, .in_fd = in_fd, .out_fd = out_fd, .in_open = master >= 0};
        if (master < 0)
                return 0;
        flags = fcntl(master, F_GETFL);
        if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0)
                return rc_error_set(err, errno, "make the pty master non-blocking");
        if (isatty(in_fd)) {
                if (tcgetattr(in_fd, &r->saved) < 0)
                        return rc_error_set(err, errno, "read the terminal attributes of stdin");
                raw = r->saved;
                cfmakeraw(&raw);
                if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
                        return rc_error_set(err, errno, "put stdin in raw mode");
                r->raw = true;
        }
        copy_winsize(r);
        return 0;
}

void rc_relay_stop(struct rc_relay *r)
{
        if (r == NULL)
                return;
        if (r->raw) {
                (void)tcsetattr(r->in_fd, TCSANOW, &r->saved);
                r->raw = false;
        }
        if (r->master >= 0) {
                close(r->master);
                r->master = -1;
        }
}

/* Copy what the pty has for us to out_fd. Returns false once the pty has no slave left
 * (EIO) or failed, so the caller stops polling it. */
static bool copy_out(struct rc_relay *r)
{
        char buf[8192];

        for (;;) {
                ssize_t n = read(r->master, buf, sizeof(buf));

                if (n > 0) {
                        (void)rc_write_all(r->out_fd, buf, (size_t)n); /* a reader gone: dropped */
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
}

/* stdin is at its end: a reader in canonical mode gets the pty's EOF character. */
static void queue_eof(struct rc_relay *r)
{
        struct termios t;

        r->in_open = false;
        if (r->raw || tcgetattr(r->master, &t) < 0 || !(t.c_lflag & ICANON))
                return;
        r->to_master.data[0] = (char)t.c_cc[VEOF];
        r->to_master.off = 0;
        r->to_master.len = 1;
}

static void read_in(struct rc_relay *r)
{
        struct rc_relay_buf *b = &r->to_master;
        ssize_t n;

        do
                n = read(r->in_fd, b->data, sizeof(b->data));
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                        queue_eof(r);
                return;
        }
        b->off = 0;
        b->len = (size_t)n;
}

static void flush_to_master(struct rc_relay *r)
{
        struct rc_relay_buf *b = &r->to_master;

        while (b->off < b->len) {
                ssize_t n = write(r->master, b->data + b->off, b->len - b->off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0) {
                        b->off = b->len; /* nobody reads the pty any more: drop it */
                        break;
                }
                b->off += (size_t)n;
        }
        b->off = b->len = 0;
}

/* Reap exited children other than `pid`, which stays for the caller's waitpid. */
static void reap_others(pid_t pid)
{
        for (;;) {
                siginfo_t si;

                memset(&si, 0, sizeof(si));
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
                    si.si_pid == pid)
                        return;
                if (waitpid(si.si_pid, NULL, WNOHANG) <= 0)
                        return;
        }
}

/* A deadline ms from now (CLOCK_MONOTONIC). */
static void deadline_in(struct timespec *d, unsigned ms)
{
        clock_gettime(CLOCK_MONOTONIC, d);
        d->tv_sec += ms / 1000;
        d->tv_nsec += (long)(ms % 1000) * 1000000;
        if (d->tv_nsec >= 1000000000) {
                d->tv_sec++;
                d->tv_nsec -= 1000000000;
        }
}

/* Returns what the caller's on_signal asked to arm (ms), or -1. */
static int handle_signal(struct rc_relay *r, int sfd, int pidfd, pid_t pid,
                         const struct rc_relay_wait_opts *o)
{
        struct signalfd_siginfo si;
        int arm = -1;

        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                return -1;
        if (si.ssi_signo == SIGCHLD) {
                reap_others(pid);
                return -1;
        }
        if (si.ssi_signo == SIGWINCH && r != NULL && r->master >= 0) {
                copy_winsize(r); /* the pty signals its foreground process group itself */
                return -1;
        }
        if (o == NULL || o->on_signal == NULL || !o->on_signal(o->data, (int)si.ssi_signo, &arm))
                (void)rc_pidfd_send_signal(pidfd, (int)si.ssi_signo, NULL, 0);
        return arm;
}

static int finish(struct rc_relay *r, pid_t pid, bool out_open, const struct rc_relay_wait_opts *o,
                  int *ret_status, rc_error_t *err)
{
        struct rusage ru;
        int status;

        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR)
                        return rc_error_set(err, errno, "wait for pid %d", (int)pid);
        if (o != NULL && o->ret_wstatus != NULL)
                *o->ret_wstatus = status;
        if (o != NULL && o->ret_rusage != NULL)
                *o->ret_rusage = ru;
        if (r != NULL && r->master >= 0) {
                flush_to_master(r);
                if (out_open)
                        copy_out(r);
        }
        *ret_status = rc_relay_exit_status(status);
        return 0;
}

/* Milliseconds until the deadline (never negative); -1 without one. */
static int poll_timeout(const struct timespec *deadline)
{
        struct timespec now;
        int64_t ms;

        if (deadline == NULL)
                return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
        return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* The nearer of two optional deadlines. */
static int poll_timeout2(const struct timespec *a, const struct timespec *b)
{
        int ta = poll_timeout(a), tb = poll_timeout(b);

        return ta < 0 ? tb : tb < 0 ? ta : ta < tb ? ta : tb;
}

int rc_relay_wait(struct rc_relay *r, pid_t pid, int sfd, int *ret_status, rc_error_t *err)
{
        return rc_relay_wait_ex(r, pid, sfd, NULL, ret_status, err);
}

int rc_relay_wait_ex(struct rc_relay *r, pid_t pid, int sfd, const struct rc_relay_wait_opts *o,
                     int *ret_status, rc_error_t *err)
{
        _cleanup_close_ int pidfd = rc_pidfd_open(pid, 0);
        bool tty = r != NULL && r->master >= 0, out_open = tty;
        struct timespec deadline, stop_deadline;
        bool armed = o != NULL && o->timeout_ms > 0, stop_armed = false, stop_used = false;

        if (pidfd < 0)
                return rc_error_set(err, errno, "pidfd_open pid %d", (int)pid);
        if (armed)
                deadline_in(&deadline, o->timeout_ms);
        for (;;) {
                struct pollfd p[4] = {{.fd = sfd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
                nfds_t n = 2;

                if (tty) {
                        p[2] = (struct pollfd){.fd = out_open ? r->master : -1, .events = POLLIN};
                        if (r->to_master.len > 0)
                                p[2] = (struct pollfd){.fd = r->master,
                                                       .events = POLLOUT | (out_open ? POLLIN : 0)};
                        p[3] = (struct pollfd){.fd = r->in_open && r->to_master.len == 0 ? r->in_fd : -1,
                                               .events = POLLIN};
                        n = 4;
                }
                int ready = poll(
                        p, n, poll_timeout2(armed ? &deadline : NULL, stop_armed ? &stop_deadline : NULL));

                if (ready < 0) {
                        if (errno == EINTR)
                                continue;
                        return rc_error_set(err, errno, "wait for pid %d", (int)pid);
                }
                if (ready == 0) { /* a deadline expired: the process still has to exit */
                        if (armed && poll_timeout(&deadline) == 0) {
                                armed = false;
                                o->on_timeout(o->data);
                        }
                        if (stop_armed && poll_timeout(&stop_deadline) == 0) {
                                stop_armed = false;
                                o->on_stop_timeout(o->data);
                        }
                        continue;
                }
                if (p[1].revents & POLLIN)
                        return finish(r, pid, out_open, o, ret_status, err);
                if (p[0].revents & POLLIN) {
                        int arm = handle_signal(r, sfd, pidfd, pid, o);

                        if (arm >= 0 && !stop_used) {
                                stop_used = stop_armed = true;
                                deadline_in(&stop_deadline, (unsigned)arm);
                        }
                }
                if (!tty)
                        continue;
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        out_open = copy_out(r);
                if (p[2].revents & POLLOUT)
                        flush_to_master(r);
                if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
                        read_in(r);
        }
}
