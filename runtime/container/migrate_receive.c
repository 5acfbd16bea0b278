/* migrate-receive: the destination of `migrate --to unix:PATH` (protocol:
 * runtime/container/migrate_wire.h). One connection, one container:
 *   listen, accept (a peer of our uid), HELLO -> check -> OK|ERROR,
 *   FILE/LINK frames into <root>/@migrate-<id>.XXXXXX, RESTORE -> restore -> OK|ERROR.
 * Post-copy: the socket listens on until the page channel (a second connection) came;
 * a child relays it to a loopback port where the restore's `criu lazy-pages` fetches
 * the memory, and this returns once that ended.
 * Every failure is also told to the source (an ERROR frame with the message), which then
 * restores the container at the source. A source silent for the timeout is a failure. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/container.h"
#include "runtime/container/criu.h"
#include "runtime/container/migrate_wire.h"
#include "runtime/container/state.h"
#include "runtime/net/network.h"
#include "specs/config.h"
#include "specs/json.h"

struct receive {
        const struct rc_runtime *rt;
        const struct rc_migrate_receive_opts *o;
        struct rc_migrate_received *r;
        unsigned timeout_s;
        int lsock; /* listening until the migration has all its connections */
        int sock;
        char bundle[PATH_MAX];
        char work[PATH_MAX];
        int workfd;
        bool post_copy; /* the hello said so: a page channel comes before the restore */
        pid_t relay; /* post-copy: the page channel's relay */
        int relay_result; /* its u64 byte count, then its error message */
};

/* The socket file goes once the migration has the connections it needs. */
static void stop_listening(struct receive *rc)
{
        if (rc->lsock < 0)
                return;
        close(rc->lsock);
        rc->lsock = -1;
        unlink(rc->o->listen_path);
}

/* The next connection on rc->lsock that says something, from a peer of our uid: one
 * closed before its first byte (another receiver's check for a stale socket, a source
 * gone before its hello) is not a migration. wait: wait for it without a limit (else
 * for the timeout). */
static int accept_one(struct receive *rc, bool wait, const char *what, rc_error_t *err)
{
        const char *path = rc->o->listen_path;

        for (;;) {
                struct pollfd p = {.fd = rc->lsock, .events = POLLIN};
                struct ucred cred;
                socklen_t len = sizeof(cred);
                char c;
                ssize_t n;
                int sock, r;

                r = wait ? 1 : poll(&p, 1, (int)rc->timeout_s * 1000);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return rc_error_set(err, errno, "poll on `%s`", path);
                if (r == 0)
                        return rc_error_set_status(err, ETIMEDOUT, "no %s on `%s` within %u s (--timeout)",
                                                   what, path, rc->timeout_s);
                sock = accept4(rc->lsock, NULL, NULL, SOCK_CLOEXEC);
                if (sock < 0 && errno == EINTR)
                        continue;
                if (sock < 0)
                        return rc_error_set(err, errno, "accept on `%s`", path);
                if (rc_mw_set_timeout(sock, rc->timeout_s, err) < 0) {
                        close(sock);
                        return -1;
                }
                do
                        n = recv(sock, &c, 1, MSG_PEEK);
                while (n < 0 && errno == EINTR);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        close(sock);
                        return rc_error_set_status(
                                err, ETIMEDOUT,
                                "a peer connected to `%s` and sent nothing for %u s (--timeout)", path,
                                rc->timeout_s);
                }
                if (n <= 0) {
                        close(sock);
                        continue;
                }
                if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        int e = errno;
                        close(sock);
                        return rc_error_set(err, e, "SO_PEERCRED on `%s`", path);
                }
                /* the restore runs with our privileges: only our own uid may ask for one */
                if (cred.uid != geteuid()) {
                        close(sock);
                        return rc_error_set(err, EPERM, "`%s`: refused a peer of uid %u (not ours)", path,
                                            (unsigned)cred.uid);
                }
                return sock;
        }
}

static int dir_exists(const char *what, const char *path, rc_error_t *err)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return rc_error_set(err, errno, "%s `%s` is not here", what, path);
        if (!S_ISDIR(st.st_mode))
                return rc_error_set(err, ENOTDIR, "%s `%s` is not a directory", what, path);
        return 0;
}

/* The bridge network the container is on (its annotations) must exist here. */
static int check_network(const struct rc_runtime *rt, const struct oci_config *cfg, rc_error_t *err)
{
        const char *net = NULL, *ip = NULL, *ports = NULL;
        struct rc_network *n = NULL;

        if (rc_network_from_annotations(cfg, &net, &ip, &ports, err) < 0)
                return -1;
        if (net == NULL || strcmp(net, RC_NET_PASTA) == 0)
                return 0;
        if (rc_network_get(rt, net, &n, err) < 0)
                return -1;
        rc_network_free(n);
        return 0;
}

/* What must be here before the source dumps anything: a free id, the bundle and its
 * rootfs, a config that parses, its network. */
static int check_here(struct receive *rc, const char *id, const char *config, size_t len, rc_error_t *err)
{
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        _cleanup_error_ rc_error_t e = NULL;
        struct oci_config *cfg = NULL;
        char rootfs[PATH_MAX * 2];
        int ret;

        if (rc_validate_id(id, err) < 0 || rc_state_root_open(rc->rt->root, &rootfd, err) < 0)
                return -1;
        if (rc_state_dir_open(rootfd, id, &dirfd, &e) == 0)
                return rc_error_set(err, EEXIST, "container \"%s\" exists here (root `%s`)", id,
                                    rc_state_root_path(rc->rt->root));
        if (dir_exists("the bundle", rc->bundle, err) < 0)
                return -1;
        if (oci_config_parse(config, len, "the source's config", &cfg, err) < 0)
                return -1;
        if (cfg->root.path == NULL) {
                oci_config_free(cfg);
                return rc_error_set(err, EINVAL, "the source's config has no root.path");
        }
        snprintf(rootfs, sizeof(rootfs), "%s%s%s", cfg->root.path[0] == '/' ? "" : rc->bundle,
                 cfg->root.path[0] == '/' ? "" : "/", cfg->root.path);
        ret = dir_exists("the rootfs", rootfs, err);
        if (ret == 0)
                ret = check_network(rc->rt, cfg, err);
        oci_config_free(cfg);
        return ret;
}

/* HELLO: the id, the bundle (ours or the source's path), the config; checked, then the
 * work directory with the config in it. */
static int take_hello(struct receive *rc, const char *payload, size_t len, rc_error_t *err)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        _cleanup_free_ char *config = NULL;
        json_node *root = NULL, *cfg;
        const char *id, *bundle;
        size_t clen = 0;
        uint64_t proto = 0;
        int ret = -1;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "hello");
        if (json_parse(payload, len, "hello", &root, err) < 0)
                return -1;
        id = json_get_string(json_object_get(root, "id"));
        bundle = json_get_string(json_object_get(root, "bundle"));
        cfg = json_object_get(root, "config");
        if (json_get_u64(json_object_get(root, "protocol"), &proto) < 0 || proto != MW_PROTOCOL) {
                rc_error_set(err, EPROTO, "protocol %llu (this side speaks %d)", (unsigned long long)proto,
                             MW_PROTOCOL);
                goto out;
        }
        if (id == NULL || bundle == NULL || cfg == NULL || json_type_of(cfg) != JSON_OBJECT) {
                rc_error_set(err, EPROTO, "hello without id, bundle or config");
                goto out;
        }
        snprintf(rc->r->id, sizeof(rc->r->id), "%s", id);
        rc->post_copy = json_get_bool(json_object_get(root, "postCopy"));
        snprintf(rc->bundle, sizeof(rc->bundle), "%s", rc->o->bundle != NULL ? rc->o->bundle : bundle);
        json_gen_node(g, cfg);
        if (json_gen_finish(g, &config, &clen, err) < 0 || check_here(rc, id, config, clen, err) < 0)
                goto out;
        snprintf(rc->work, sizeof(rc->work), "%s/@migrate-%s.XXXXXX", rc_state_root_path(rc->rt->root), id);
        if (mkdtemp(rc->work) == NULL) {
                rc_error_set(err, errno, "work directory `%s`", rc->work);
                rc->work[0] = '\0';
                goto out;
        }
        rc->workfd = open(rc->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* held for the receiver's life (migrate's convention): a directory nobody locks
         * is what a killed receiver left, which `gc` may remove */
        if (rc->workfd < 0 || flock(rc->workfd, LOCK_EX | LOCK_NB) < 0) {
                rc_error_set(err, errno, "work directory `%s`", rc->work);
                goto out;
        }
        ret = rc_write_file_atomic(rc->workfd, "config.json", config, clen, 0600, err);
out:
        json_free(root);
        return ret;
}

/* A frame from the source that did not come: one that timed out says for how long. */
static int not_received(const struct receive *rc, const char *what, rc_error_t *err)
{
        if ((*err)->status != ETIMEDOUT)
                return rc_error_wrap(err, "%s", what);
        rc_error_free(err);
        return rc_error_set_status(err, ETIMEDOUT,
                                   "%s: the source sent nothing for %u s (--timeout): given up", what,
                                   rc->timeout_s);
}

/* The post-copy page channel's relay child: the restore's `criu lazy-pages` connects to
 * tcp (a loopback port), its bytes go over chan; the count, then any error, into res. */
static void relay_child(struct receive *rc, int tcp, int chan, int res)
{
        struct pollfd p = {.fd = tcp, .events = POLLIN};
        _cleanup_error_ rc_error_t e = NULL;
        uint64_t bytes = 0;
        int daemon = -1, r;

        prctl(PR_SET_NAME, "rc-page-relay");
        close(rc->sock);
        do
                r = poll(&p, 1, (int)rc->timeout_s * 1000);
        while (r < 0 && errno == EINTR);
        if (r > 0)
                daemon = accept4(tcp, NULL, NULL, SOCK_CLOEXEC);
        close(tcp);
        if (daemon < 0)
                rc_error_set(&e, r == 0 ? ETIMEDOUT : errno,
                             "`criu lazy-pages` did not connect to the page channel's relay within %u s",
                             rc->timeout_s);
        else if (rc_mw_relay(daemon, chan, rc->timeout_s, &bytes, &e) < 0)
                rc_error_wrap(&e, "the page channel");
        (void)!write(res, &bytes, sizeof(bytes));
        if (e != NULL)
                (void)!write(res, e->msg, strlen(e->msg));
        _exit(e != NULL);
}

/* Post-copy, before the restore: the page channel accepted (PAGES with our id), a
 * loopback port for `criu lazy-pages` written into the final image, the relay started. */
static int open_page_channel(struct receive *rc, rc_error_t *err)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        _cleanup_close_ int chan = -1, tcp = -1, imgfd = -1;
        _cleanup_free_ char *p = NULL;
        char spec[32];
        uint32_t type;
        size_t len;
        int res[2];

        chan = accept_one(rc, false, "page channel", err);
        if (chan < 0)
                return -1;
        stop_listening(rc);
        if (rc_mw_recv(chan, &type, &p, &len, err) < 0)
                return not_received(rc, "page channel", err);
        if (type != MW_PAGES || strcmp(p, rc->r->id) != 0)
                return rc_error_set(err, EPROTO, "page channel: expected PAGES \"%s\", got frame type %u",
                                    rc->r->id, type);
        tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (tcp < 0 || bind(tcp, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(tcp, 1) < 0 ||
            getsockname(tcp, (struct sockaddr *)&a, &alen) < 0)
                return rc_error_set(err, errno, "page channel: a loopback port for `criu lazy-pages`");
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", (int)ntohs(a.sin_port));
        imgfd = openat(rc->workfd, "final", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (imgfd < 0)
                return rc_error_set(err, errno, "the final image (`%s/final`)", rc->work);
        if (rc_criu_write_lazy(imgfd, spec, err) < 0)
                return rc_error_wrap(err, "the final image");
        if (pipe2(res, O_CLOEXEC) < 0)
                return rc_error_set(err, errno, "page channel: pipe");
        rc->relay = fork();
        if (rc->relay == 0) {
                close(res[0]);
                relay_child(rc, tcp, chan, res[1]);
        }
        close(res[1]);
        if (rc->relay < 0) {
                close(res[0]);
                return rc_error_set(err, errno, "page channel: fork");
        }
        rc->relay_result = res[0];
        return 0;
}

/* The relay's end: 0 when the memory all came; else -1 with its words. kill: it serves
 * no one (the restore failed). */
static int end_relay(struct receive *rc, bool kill_it, rc_error_t *err)
{
        pid_t pid = rc->relay;
        char msg[1024];
        ssize_t n, len = 0;
        int status = 0;

        if (pid <= 0)
                return 0;
        if (kill_it)
                kill(rc->relay, SIGKILL);
        while ((n = read(rc->relay_result, msg + len, sizeof(msg) - 1 - (size_t)len)) > 0 ||
               (n < 0 && errno == EINTR))
                len += n > 0 ? n : 0;
        close(rc->relay_result);
        while (waitpid(rc->relay, &status, 0) < 0 && errno == EINTR)
                ;
        rc->relay = 0;
        if (len >= (ssize_t)sizeof(uint64_t))
                memcpy(&rc->r->page_bytes, msg, sizeof(uint64_t));
        if (kill_it || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
                return 0;
        msg[len] = '\0';
        if (len > (ssize_t)sizeof(uint64_t))
                return rc_error_set(err, 0, "%s", msg + sizeof(uint64_t));
        return rc_error_set(err, 0, "the page channel's relay (pid %d) ended with status %d", (int)pid,
                            status);
}

static int restore_here(struct receive *rc, const char *payload, size_t len, rc_error_t *err)
{
        char image[PATH_MAX + 16], config[PATH_MAX + 16];
        struct rc_create_opts co = {.bundle = rc->bundle, .config_path = config};
        struct rc_restore_opts ro = {.detach = true, .criu.image_path = image};
        struct oci_state *st = NULL;
        json_node *req = NULL;
        int status;

        if (json_parse(payload, len, "restore request", &req, err) < 0)
                return -1;
        ro.criu.tcp_established = json_get_bool(json_object_get(req, "tcpEstablished"));
        ro.criu.ext_unix_sk = json_get_bool(json_object_get(req, "extUnixSk"));
        ro.criu.file_locks = json_get_bool(json_object_get(req, "fileLocks"));
        ro.criu.lazy_pages = json_get_bool(json_object_get(req, "lazyPages"));
        json_free(req);
        if (ro.criu.lazy_pages != rc->post_copy)
                return rc_error_set(
                        err, EPROTO, "a restore request %s lazy pages after a hello %s post-copy",
                        ro.criu.lazy_pages ? "with" : "without", rc->post_copy ? "with" : "without");
        snprintf(image, sizeof(image), "%s/final", rc->work);
        snprintf(config, sizeof(config), "%s/config.json", rc->work);
        if (ro.criu.lazy_pages && open_page_channel(rc, err) < 0)
                return -1;
        if (rc_container_restore(rc->rt, rc->r->id, &co, &ro, &status, err) < 0) {
                end_relay(rc, true, NULL);
                return -1;
        }
        if (rc_container_state(rc->rt, rc->r->id, &st, err) < 0)
                return -1;
        rc->r->pid = st->pid;
        oci_state_free(st);
        return 0;
}

/* The frames up to RESTORE, then the restore. */
static int receive_images(struct receive *rc, rc_error_t *err)
{
        for (;;) {
                _cleanup_free_ char *p = NULL;
                uint32_t type;
                size_t len;

                if (rc_mw_recv(rc->sock, &type, &p, &len, err) < 0)
                        return not_received(rc, "receive the images", err);
                switch (type) {
                case MW_FILE:
                        if (rc_mw_recv_file(rc->sock, rc->workfd, p, len, &rc->r->bytes, err) < 0)
                                return (*err)->status == ETIMEDOUT
                                               ? not_received(rc, "receive the images", err)
                                               : -1;
                        rc->r->files++;
                        break;
                case MW_LINK:
                        if (rc_mw_make_link(rc->workfd, p, len, err) < 0)
                                return -1;
                        break;
                case MW_RESTORE:
                        /* from here on the source cannot tell whether the container runs
                         * here if the connection breaks: it then does not restore it at home */
                        if (rc_mw_send(rc->sock, MW_OK, "restoring", 9, err) < 0)
                                return rc_error_wrap(err, "answer the restore request");
                        return restore_here(rc, p, len, err);
                default:
                        return rc_error_set(err, EPROTO, "unexpected frame type %u", type);
                }
        }
}

static int converse(struct receive *rc, rc_error_t *err)
{
        _cleanup_free_ char *p = NULL;
        char msg[64];
        uint32_t type;
        size_t len;

        if (rc_mw_recv(rc->sock, &type, &p, &len, err) < 0)
                return not_received(rc, "receive the hello", err);
        if (type != MW_HELLO)
                return rc_error_set(err, EPROTO, "expected a hello, got frame type %u", type);
        if (take_hello(rc, p, len, err) < 0)
                return -1;
        if (!rc->post_copy)
                stop_listening(rc);
        if (rc_mw_send(rc->sock, MW_OK, "ready", 5, err) < 0 || receive_images(rc, err) < 0)
                return -1;
        snprintf(msg, sizeof(msg), "pid %d", (int)rc->r->pid);
        /* the container runs here now: a source gone meanwhile changes nothing */
        if (rc_mw_send(rc->sock, MW_OK, msg, strlen(msg), err) < 0)
                rc_error_wrap(err, "container \"%s\" restored (pid %d), but telling the source failed",
                              rc->r->id, (int)rc->r->pid);
        /* post-copy: the memory goes on coming until the relay ends */
        if (end_relay(rc, false, *err != NULL ? NULL : err) < 0)
                return rc_error_wrap(err,
                                     "container \"%s\" restored (pid %d), but its memory did not all come",
                                     rc->r->id, (int)rc->r->pid);
        return *err != NULL ? -1 : 0;
}

int rc_container_migrate_receive(const struct rc_runtime *rt, const struct rc_migrate_receive_opts *o,
                                 struct rc_migrate_received *ret, rc_error_t *err)
{
        struct receive rc = {.rt = rt,
                             .o = o,
                             .r = ret,
                             .timeout_s = o->timeout_s > 0 ? o->timeout_s : RC_MIGRATE_RECEIVE_TIMEOUT_S,
                             .lsock = -1,
                             .sock = -1,
                             .workfd = -1};
        int r;

        *ret = (struct rc_migrate_received){0};
        if (o->listen_path == NULL || o->listen_path[0] != '/')
                return rc_error_set(err, 0, "migrate-receive: the socket path must be absolute");
        if (o->bundle != NULL && o->bundle[0] != '/')
                return rc_error_set(err, 0, "migrate-receive: the bundle path must be absolute");
        if (rc_mw_listen(o->listen_path, &rc.lsock, err) < 0)
                return rc_error_wrap(err, "migrate-receive");
        if (o->on_listening != NULL)
                o->on_listening(o->data);
        rc.sock = accept_one(&rc, true, "hello", err);
        r = rc.sock < 0 ? -1 : converse(&rc, err);
        if (r < 0 && rc.sock >= 0 && ret->pid == 0) {
                /* the source restores it at home on this word */
                rc_mw_send(rc.sock, MW_ERROR, (*err)->msg, strlen((*err)->msg), NULL);
        }
        end_relay(&rc, true, NULL);
        stop_listening(&rc);
        if (rc.workfd >= 0)
                close(rc.workfd);
        if (rc.work[0] != '\0')
                rc_remove_tree_at(AT_FDCWD, rc.work, NULL);
        if (rc.sock >= 0)
                close(rc.sock);
        if (r < 0)
                return ret->id[0] != '\0' ? rc_error_wrap(err, "migrate-receive \"%s\"", ret->id)
                                          : rc_error_wrap(err, "migrate-receive");
        return 0;
}
