/* The migration stream's frames (protocol: migrate_wire.h). */
#include "runtime/container/migrate_wire.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/criu.h"

#define CHUNK (256u * 1024)

static void put_u64(unsigned char *p, uint64_t v)
{
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *p)
{
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static int unix_addr(const char *path, struct sockaddr_un *sa, rc_error_t *err)
{
        size_t len = strlen(path);

        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        if (len == 0 || len >= sizeof(sa->sun_path))
                return rc_error_set(err, ENAMETOOLONG, "socket path `%s`: empty or longer than %zu bytes",
                                    path, sizeof(sa->sun_path) - 1);
        memcpy(sa->sun_path, path, len + 1);
        return 0;
}

int rc_mw_connect(const char *path, int *ret_sock, rc_error_t *err)
{
        struct sockaddr_un sa;
        int fd;

        if (unix_addr(path, &sa, err) < 0)
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rc_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return rc_error_set(err, e,
                                    "connect to `%s` (is `migrate-receive --listen unix:%s` running?)", path,
                                    path);
        }
        *ret_sock = fd;
        return 0;
}

/* A socket file at sa nobody listens on any more (a receiver killed while it waited). */
static bool stale_socket(const struct sockaddr_un *sa)
{
        struct stat st;
        int fd, r;

        if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
                return false;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
        close(fd);
        return r < 0 && errno == ECONNREFUSED;
}

int rc_mw_listen(const char *path, int *ret_sock, rc_error_t *err)
{
        struct sockaddr_un sa;
        mode_t old;
        int fd, r;

        if (unix_addr(path, &sa, err) < 0)
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return rc_error_set(err, errno, "socket");
        old = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r < 0 && errno == EADDRINUSE && stale_socket(&sa) && unlink(path) == 0)
                r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(fd, 1) < 0) {
                int e = errno;
                close(fd);
                if (r == 0)
                        unlink(path);
                return rc_error_set(err, e, "listen on `%s`", path);
        }
        *ret_sock = fd;
        return 0;
}

/* What the peer said before it went (an ERROR frame already queued), else `e`'s words. */
static int peer_gone(int sock, int e, rc_error_t *err)
{
        unsigned char h[8];
        _cleanup_free_ char *msg = NULL;
        uint32_t type, len;

        if (recv(sock, h, sizeof(h), MSG_DONTWAIT | MSG_PEEK) == (ssize_t)sizeof(h)) {
                memcpy(&type, h, 4);
                memcpy(&len, h + 4, 4);
                type = ntohl(type);
                len = ntohl(len);
                if (type == MW_ERROR && len < MW_MAX_PAYLOAD && (msg = malloc(len + 9)) != NULL &&
                    recv(sock, msg, len + 8, MSG_DONTWAIT | MSG_WAITALL) == (ssize_t)len + 8) {
                        msg[len + 8] = '\0';
                        return rc_error_set_status(err, EREMOTEIO, "the destination: %s", msg + 8);
                }
        }
        return rc_error_set(err, e, "the destination closed the connection");
}

static int send_all(int sock, const void *buf, size_t len, rc_error_t *err)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return rc_error_set(err, ETIMEDOUT,
                                            "send: the peer took nothing within the timeout");
                if (n < 0)
                        return errno == EPIPE || errno == ECONNRESET ? peer_gone(sock, errno, err)
                                                                     : rc_error_set(err, errno, "send");
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Exactly len bytes; a stream that ends first is ECONNRESET. */
static int recv_all(int sock, void *buf, size_t len, rc_error_t *err)
{
        char *p = buf;

        while (len > 0) {
                ssize_t n = recv(sock, p, len, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return rc_error_set(err, ETIMEDOUT,
                                            "receive: the peer sent nothing within the timeout");
                if (n < 0)
                        return rc_error_set(err, errno, "receive");
                if (n == 0)
                        return rc_error_set(err, ECONNRESET, "the peer closed the connection");
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int rc_mw_send(int sock, enum mw_type type, const void *payload, size_t len, rc_error_t *err)
{
        uint32_t h[2] = {htonl((uint32_t)type), htonl((uint32_t)len)};

        if (len > MW_MAX_PAYLOAD)
                return rc_error_set(err, EMSGSIZE, "frame of %zu bytes (at most %u)", len, MW_MAX_PAYLOAD);
        if (send_all(sock, h, sizeof(h), err) < 0)
                return -1;
        return len > 0 ? send_all(sock, payload, len, err) : 0;
}

int rc_mw_recv(int sock, uint32_t *ret_type, char **ret_payload, size_t *ret_len, rc_error_t *err)
{
        uint32_t h[2], len;
        char *p;

        if (recv_all(sock, h, sizeof(h), err) < 0)
                return -1;
        len = ntohl(h[1]);
        if (len > MW_MAX_PAYLOAD)
                return rc_error_set(err, EPROTO, "frame of %u bytes (at most %u)", len, MW_MAX_PAYLOAD);
        p = malloc((size_t)len + 1);
        if (p == NULL)
                return rc_error_set(err, ENOMEM, "frame");
        if (recv_all(sock, p, len, err) < 0) {
                free(p);
                return -1;
        }
        p[len] = '\0';
        *ret_type = ntohl(h[0]);
        *ret_payload = p;
        *ret_len = len;
        return 0;
}

int rc_mw_await(int sock, char **ret_msg, rc_error_t *err)
{
        char *msg = NULL;
        uint32_t type;
        size_t len;

        if (rc_mw_recv(sock, &type, &msg, &len, err) < 0) {
                if ((*err)->status == ECONNRESET) {
                        rc_error_free(err);
                        return rc_error_set(err, ECONNRESET, "the destination closed the connection");
                }
                return -1;
        }
        if (type == MW_OK) {
                *ret_msg = msg;
                return 0;
        }
        if (type == MW_ERROR)
                rc_error_set_status(err, EREMOTEIO, "the destination: %s", msg);
        else
                rc_error_set(err, EPROTO, "the destination answered with frame type %u", type);
        free(msg);
        return -1;
}

/* "pre-N" or "final": the image directories of a migration. */
static bool round_dir(const char *s, size_t n)
{
        if (n == 5 && memcmp(s, "final", 5) == 0)
                return true;
        if (n < 5 || n > 8 || memcmp(s, "pre-", 4) != 0 || s[4] == '0')
                return false;
        for (size_t i = 4; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* "DIR/NAME" with DIR a round directory and NAME a plain file name; *ret_base: NAME. */
static int check_name(const char *name, size_t len, const char **ret_base, rc_error_t *err)
{
        const char *slash = memchr(name, '/', len);
        const char *base = slash != NULL ? slash + 1 : NULL;
        size_t blen = base != NULL ? len - (size_t)(base - name) : 0;

        if (strlen(name) != len || slash == NULL || !round_dir(name, (size_t)(slash - name)) || blen == 0 ||
            blen > 255 || memchr(base, '/', blen) != NULL || strcmp(base, ".") == 0 ||
            strcmp(base, "..") == 0)
                return rc_error_set(err, EPROTO, "invalid image file name \"%.*s\"",
                                    (int)(len < 300 ? len : 300), name);
        *ret_base = base;
        return 0;
}

static int send_file(int sock, int dirfd, const char *dir, const char *name, uint64_t *sent, rc_error_t *err)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        char head[8 + 300];
        uint64_t size;
        struct stat st;
        int n;

        if (fd < 0 || fstat(fd, &st) < 0)
                return rc_error_set(err, errno, "image `%s/%s`", dir, name);
        size = (uint64_t)st.st_size;
        n = snprintf(head + 8, sizeof(head) - 8, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof(head) - 8)
                return rc_error_set(err, ENAMETOOLONG, "image `%s/%s`", dir, name);
        put_u64((unsigned char *)head, size);
        if (rc_mw_send(sock, MW_FILE, head, 8 + (size_t)n, err) < 0)
                return -1;
        buf = malloc(CHUNK);
        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "send buffer");
        for (uint64_t left = size; left > 0;) {
                ssize_t r = read(fd, buf, left < CHUNK ? (size_t)left : CHUNK);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return rc_error_set(err, r < 0 ? errno : EIO, "read image `%s/%s`", dir, name);
                if (send_all(sock, buf, (size_t)r, err) < 0)
                        return -1;
                left -= (uint64_t)r;
        }
        *sent += 8 + 8 + (uint64_t)n + size;
        return 0;
}

static int send_link(int sock, int dirfd, const char *dir, const char *name, uint64_t *sent, rc_error_t *err)
{
        char target[256], msg[600];
        ssize_t t = readlinkat(dirfd, name, target, sizeof(target) - 1);
        int n;

        if (t < 0)
                return rc_error_set(err, errno, "image `%s/%s`", dir, name);
        target[t] = '\0';
        n = snprintf(msg, sizeof(msg), "%s/%s%c%s", dir, name, '\0', target);
        if (n < 0 || (size_t)n >= sizeof(msg))
                return rc_error_set(err, ENAMETOOLONG, "image `%s/%s`", dir, name);
        *sent += 8 + (uint64_t)n;
        return rc_mw_send(sock, MW_LINK, msg, (size_t)n, err);
}

int rc_mw_send_dir(int sock, int workfd, const char *dir, uint64_t *sent, rc_error_t *err)
{
        int fd = openat(workfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dirent *e;
        int ret = 0;
        DIR *d;

        if (fd < 0 || (d = fdopendir(fd)) == NULL) {
                ret = rc_error_set(err, errno, "image directory `%s`", dir);
                if (fd >= 0)
                        close(fd);
                return ret;
        }
        while (ret == 0 && (e = readdir(d)) != NULL) {
                struct stat st;

                /* CRIU's log stays with the source's copy */
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                    strcmp(e->d_name, RC_CRIU_DUMP_LOG) == 0)
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        ret = rc_error_set(err, errno, "image `%s/%s`", dir, e->d_name);
                else if (S_ISREG(st.st_mode))
                        ret = send_file(sock, dirfd(d), dir, e->d_name, sent, err);
                else if (S_ISLNK(st.st_mode))
                        ret = send_link(sock, dirfd(d), dir, e->d_name, sent, err);
        }
        closedir(d);
        return ret;
}

/* The round directory of `name` (made if needed), opened. */
static int open_round_dir(int workfd, const char *name, const char *base, rc_error_t *err)
{
        char dir[16];
        int fd;

        snprintf(dir, sizeof(dir), "%.*s", (int)(base - 1 - name), name);
        if (mkdirat(workfd, dir, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "image directory `%s`", dir);
        fd = openat(workfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return rc_error_set(err, errno, "image directory `%s`", dir);
        return fd;
}

int rc_mw_recv_file(int sock, int workfd, const char *payload, size_t len, uint64_t *received,
                    rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1, fd = -1;
        _cleanup_free_ char *buf = NULL;
        const char *name = payload + 8, *base;
        uint64_t size;

        if (len <= 8)
                return rc_error_set(err, EPROTO, "FILE frame of %zu bytes", len);
        size = get_u64((const unsigned char *)payload);
        if (check_name(name, len - 8, &base, err) < 0)
                return -1;
        dirfd = open_round_dir(workfd, name, base, err);
        if (dirfd < 0)
                return -1;
        fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        buf = malloc(CHUNK);
        if (fd < 0 || buf == NULL)
                return rc_error_set(err, fd < 0 ? errno : ENOMEM, "image `%s`", name);
        for (uint64_t left = size; left > 0;) {
                ssize_t r = recv(sock, buf, left < CHUNK ? (size_t)left : CHUNK, 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return rc_error_set(err, ETIMEDOUT,
                                            "receive image `%s`: the source sent nothing within the timeout",
                                            name);
                if (r < 0)
                        return rc_error_set(err, errno, "receive image `%s`", name);
                if (r == 0)
                        return rc_error_set(err, ECONNRESET,
                                            "the source closed the connection in the middle of `%s`", name);
                if (rc_write_all(fd, buf, (size_t)r) < 0)
                        return rc_error_set(err, errno, "write image `%s`", name);
                left -= (uint64_t)r;
        }
        if (close(fd) < 0) {
                fd = -1;
                return rc_error_set(err, errno, "write image `%s`", name);
        }
        fd = -1;
        *received += size;
        return 0;
}

int rc_mw_make_link(int workfd, const char *payload, size_t len, rc_error_t *err)
{
        size_t nlen = strlen(payload);
        const char *target = payload + nlen + 1, *base;
        _cleanup_close_ int dirfd = -1;
        struct stat st;

        if (nlen >= len)
                return rc_error_set(err, EPROTO, "invalid LINK frame");
        if (check_name(payload, nlen, &base, err) < 0)
                return -1;
        /* only CRIU's link to an earlier round: "../pre-N", which must be here already */
        if (strlen(target) != len - nlen - 1 || strncmp(target, "../", 3) != 0 ||
            !round_dir(target + 3, strlen(target + 3)) ||
            fstatat(workfd, target + 3, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                return rc_error_set(err, EPROTO, "link `%s`: target \"%s\" is no earlier round", payload,
                                    target);
        dirfd = open_round_dir(workfd, payload, base, err);
        if (dirfd < 0)
                return -1;
        if (symlinkat(target, dirfd, base) < 0)
                return rc_error_set(err, errno, "link `%s`", payload);
        return 0;
}

int rc_mw_set_timeout(int sock, unsigned seconds, rc_error_t *err)
{
        struct timeval tv = {.tv_sec = (time_t)seconds};

        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return rc_error_set(err, errno, "socket timeout");
        return 0;
}

int rc_mw_relay(int a, int b, unsigned idle_s, uint64_t *ret_bytes, rc_error_t *err)
{
        struct {
                int from, to;
                bool open;
        } d[2] = {{a, b, true}, {b, a, true}};
        _cleanup_free_ char *buf = malloc(CHUNK);

        *ret_bytes = 0;
        if (buf == NULL)
                return rc_error_set(err, ENOMEM, "relay buffer");
        while (d[0].open || d[1].open) {
                struct pollfd p[2];
                int n = 0, dir[2], r;

                for (int i = 0; i < 2; i++)
                        if (d[i].open) {
                                dir[n] = i;
                                p[n++] = (struct pollfd){.fd = d[i].from, .events = POLLIN};
                        }
                r = poll(p, (nfds_t)n, idle_s > 0 ? (int)idle_s * 1000 : -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return rc_error_set(err, errno, "relay: poll");
                if (r == 0)
                        return rc_error_set(err, ETIMEDOUT, "relay: nothing moved for %u s", idle_s);
                for (int k = 0; k < n; k++) {
                        int i = dir[k];
                        ssize_t got;

                        if (p[k].revents == 0)
                                continue;
                        got = recv(d[i].from, buf, CHUNK, MSG_DONTWAIT);
                        if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                                continue;
                        if (got < 0)
                                return rc_error_set(err, errno, "relay: receive");
                        if (got == 0) {
                                /* an end of stream goes on as one */
                                if (shutdown(d[i].to, SHUT_WR) < 0 && errno != ENOTCONN)
                                        return rc_error_set(err, errno, "relay: shutdown");
                                d[i].open = false;
                                continue;
                        }
                        for (ssize_t off = 0; off < got;) {
                                ssize_t w = send(d[i].to, buf + off, (size_t)(got - off), MSG_NOSIGNAL);

                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0)
                                        return rc_error_set(err, errno, "relay: send");
                                off += w;
                        }
                        *ret_bytes += (uint64_t)got;
                }
        }
        return 0;
}
