/* Named networks: definitions on disk, create/list/remove, prune (see network.h). */
#include "runtime/net/network.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/net/internal.h"
#include "runtime/net/netlink.h"
#include "specs/json.h"

#define NAME_MAX_LEN 64
#define DEF_MAX (64u * 1024u)
#define AUTO_SUBNET_BASE 0x0a5a0000u /* 10.90.0.0 */

const char *rc_net_state_dir(const struct rc_runtime *rt)
{
        return rt->net_state_dir != NULL && rt->net_state_dir[0] != '\0' ? rt->net_state_dir
                                                                         : RC_DEFAULT_NET_STATE_DIR;
}

char *rc_net_path(const char *dir, const char *fmt, ...)
{
        _cleanup_free_ char *tail = NULL;
        char *out = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&tail, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        if (asprintf(&out, "%s/%s", dir, tail) < 0)
                return NULL;
        return out;
}

char *rc_net_ipam_dir(const char *netroot, const char *name)
{
        return rc_net_path(netroot, "ipam/%s", name);
}

int rc_network_validate_name(const char *name, rc_error_t *err)
{
        size_t len = name ? strlen(name) : 0;

        if (len == 0 || len > NAME_MAX_LEN)
                return rc_error_set_status(err, EINVAL, "invalid network name \"%s\": 1 to %d characters",
                                           name ? name : "", NAME_MAX_LEN);
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
                        return rc_error_set_status(
                                err, EINVAL,
                                "invalid network name \"%s\": letters, digits, '_', '.' and '-', "
                                "starting with a letter or digit",
                                name);
        }
        return 0;
}

/* Bridge names end up quoted in nft commands: allow only plain characters. */
static int validate_bridge(const char *name, rc_error_t *err)
{
        if (!rc_nl_ifname_valid(name))
                return rc_error_set_status(err, EINVAL, "invalid bridge name \"%s\": 1 to 15 characters",
                                           name);
        for (const char *p = name; *p; p++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-'))
                        return rc_error_set_status(
                                err, EINVAL, "invalid bridge name \"%s\": letters, digits, '_', '.' and '-'",
                                name);
        }
        return 0;
}

static int mkdir_one(const char *path, rc_error_t *err)
{
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "create `%s`", path);
        return 0;
}

int rc_net_defs_lock(const char *netroot, bool exclusive, rc_error_t *err)
{
        _cleanup_free_ char *dir = rc_net_path(netroot, "networks"),
                            *path = rc_net_path(netroot, "networks/.lock");
        _cleanup_free_ char *parent = strdup(netroot);
        int fd;

        if (dir == NULL || path == NULL || parent == NULL)
                return rc_error_set(err, ENOMEM, "lock the network definitions");
        /* the state dir's parents (e.g. /var/lib) exist; create the last levels only */
        for (char *p = parent + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "create `%s`", parent);
                *p = '/';
        }
        if (mkdir_one(netroot, err) < 0 || mkdir_one(dir, err) < 0)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
                if (errno != EINTR) {
                        int e = errno;
                        close(fd);
                        return rc_error_set(err, e, "lock `%s`", path);
                }
        }
        return fd;
}

/* ---- definitions ------------------------------------------------------------------ */

void rc_network_free(struct rc_network *n)
{
        if (n == NULL)
                return;
        free(n->name);
        free(n->bridge);
        free(n);
}

void rc_network_list_free(struct rc_network **v, size_t n)
{
        for (size_t i = 0; i < n && v != NULL; i++)
                rc_network_free(v[i]);
        free(v);
}

static struct rc_network *network_new(const char *name, const char *bridge)
{
        struct rc_network *n = calloc(1, sizeof(*n));

        if (n == NULL)
                return NULL;
        n->name = strdup(name);
        n->bridge = strdup(bridge);
        if (n->name == NULL || n->bridge == NULL) {
                rc_network_free(n);
                return NULL;
        }
        return n;
}

static int implicit_default(struct rc_network **ret, rc_error_t *err)
{
        struct rc_network *n = network_new(RC_DEFAULT_NETWORK, RC_DEFAULT_BRIDGE);

        if (n == NULL)
                return rc_error_set(err, ENOMEM, "network \"%s\"", RC_DEFAULT_NETWORK);
        if (rc_cidr_parse(RC_DEFAULT_SUBNET, &n->subnet, err) < 0) {
                rc_network_free(n);
                return -1;
        }
        n->gateway = rc_cidr_first_host(&n->subnet);
        n->isolate = true;
        n->implicit = true;
        *ret = n;
        return 0;
}

static int network_from_json(const json_node *root, const char *origin, struct rc_network **ret,
                             rc_error_t *err)
{
        const char *name = json_get_string(json_object_get(root, "name"));
        const char *subnet = json_get_string(json_object_get(root, "subnet"));
        const char *gateway = json_get_string(json_object_get(root, "gateway"));
        const char *bridge = json_get_string(json_object_get(root, "bridge"));
        struct rc_network *n;

        if (name == NULL || subnet == NULL || gateway == NULL || bridge == NULL)
                return rc_error_set_status(err, EINVAL, "%s: name, subnet, gateway and bridge are required",
                                           origin);
        n = network_new(name, bridge);
        if (n == NULL)
                return rc_error_set(err, ENOMEM, "%s", origin);
        if (rc_cidr_parse(subnet, &n->subnet, err) < 0 || rc_ip_parse(gateway, &n->gateway, err) < 0) {
                rc_network_free(n);
                return rc_error_wrap(err, "%s", origin);
        }
        n->internal = json_get_bool(json_object_get(root, "internal"));
        n->isolate = json_get_bool(json_object_get(root, "isolate"));
        *ret = n;
        return 0;
}

int rc_net_load(const char *netroot, const char *name, struct rc_network **ret, rc_error_t *err)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_error_ rc_error_t e = NULL;
        json_node *root = NULL;
        size_t len = 0;
        int r;

        if (rc_network_validate_name(name, err) < 0)
                return -1;
        path = rc_net_path(netroot, "networks/%s.json", name);
        if (path == NULL)
                return rc_error_set(err, ENOMEM, "network \"%s\"", name);
        if (rc_read_file_at(AT_FDCWD, path, DEF_MAX, &buf, &len, &e) < 0) {
                if (e->status == ENOENT && strcmp(name, RC_DEFAULT_NETWORK) == 0)
                        return implicit_default(ret, err);
                if (e->status == ENOENT)
                        return rc_error_set_status(err, ENOENT, "network \"%s\" does not exist", name);
                rc_error_move(err, &e);
                return -1;
        }
        if (json_parse(buf, len, path, &root, err) < 0)
                return -1;
        r = network_from_json(root, path, ret, err);
        json_free(root);
        return r;
}

static int network_save(const char *netroot, const struct rc_network *n, rc_error_t *err)
{
        _cleanup_free_ char *dir = rc_net_path(netroot, "networks"), *name = NULL, *doc = NULL;
        _cleanup_close_ int dirfd = -1;
        char subnet[24], gw[RC_IP_STRLEN];
        _cleanup_json_gen_ json_gen *g = json_gen_new(true);
        size_t len = 0;

        if (dir == NULL || g == NULL || asprintf(&name, "%s.json", n->name) < 0)
                return rc_error_set(err, ENOMEM, "save network \"%s\"", n->name);
        rc_cidr_format(&n->subnet, subnet, sizeof(subnet));
        rc_ip_format(n->gateway, gw);
        json_gen_object_open(g);
        json_gen_kv_string(g, "name", n->name);
        json_gen_kv_string(g, "subnet", subnet);
        json_gen_kv_string(g, "gateway", gw);
        json_gen_kv_string(g, "bridge", n->bridge);
        json_gen_kv_bool(g, "internal", n->internal);
        json_gen_kv_bool(g, "isolate", n->isolate);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0)
                return -1;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return rc_error_set(err, errno, "open `%s`", dir);
        return rc_write_file_atomic(dirfd, name, doc, len, 0600, err);
}

static int grow(struct rc_network ***v, size_t n, size_t *cap)
{
        struct rc_network **nv;
        size_t nc;

        if (n < *cap)
                return 0;
        nc = *cap ? 2 * *cap : 8;
        nv = reallocarray(*v, nc, sizeof(**v));
        if (nv == NULL)
                return -1;
        *v = nv;
        *cap = nc;
        return 0;
}

/* Every network (definitions plus the implicit default), unsorted. */
static int load_all(const char *netroot, struct rc_network ***ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_free_ char *dir = rc_net_path(netroot, "networks");
        struct rc_network **v = NULL;
        size_t n = 0, cap = 0;
        bool have_default = false;
        struct dirent *de;
        DIR *d;

        if (dir == NULL)
                return rc_error_set(err, ENOMEM, "list networks");
        d = opendir(dir);
        if (d == NULL && errno != ENOENT)
                return rc_error_set(err, errno, "read `%s`", dir);
        while (d != NULL && (de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                _cleanup_free_ char *name = NULL;

                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                name = strndup(de->d_name, len - 5);
                if (name == NULL || grow(&v, n, &cap) < 0)
                        goto nomem;
                if (rc_net_load(netroot, name, &v[n], err) < 0) {
                        closedir(d);
                        rc_network_list_free(v, n);
                        return -1;
                }
                have_default |= strcmp(name, RC_DEFAULT_NETWORK) == 0;
                n++;
        }
        if (d != NULL)
                closedir(d);
        d = NULL;
        if (!have_default) {
                if (grow(&v, n, &cap) < 0)
                        goto nomem;
                if (implicit_default(&v[n], err) < 0) {
                        rc_network_list_free(v, n);
                        return -1;
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
nomem:
        if (d != NULL)
                closedir(d);
        rc_network_list_free(v, n);
        return rc_error_set(err, ENOMEM, "list networks");
}

static int cmp_network(const void *a, const void *b)
{
        return strcmp((*(struct rc_network *const *)a)->name, (*(struct rc_network *const *)b)->name);
}

int rc_network_list(const struct rc_runtime *rt, struct rc_network ***ret, size_t *ret_n, rc_error_t *err)
{
        if (load_all(rc_net_state_dir(rt), ret, ret_n, err) < 0)
                return -1;
        qsort(*ret, *ret_n, sizeof(**ret), cmp_network);
        return 0;
}

int rc_network_get(const struct rc_runtime *rt, const char *name, struct rc_network **ret, rc_error_t *err)
{
        return rc_net_load(rc_net_state_dir(rt), name, ret, err);
}

/* ---- create and remove ------------------------------------------------------------- */

static int check_conflicts(struct rc_network **all, size_t n_all, const struct rc_network *nw,
                           rc_error_t *err)
{
        char a[24], b[24];

        for (size_t i = 0; i < n_all; i++) {
                const struct rc_network *o = all[i];

                if (strcmp(o->name, nw->name) == 0)
                        continue;
                if (rc_cidr_overlaps(&o->subnet, &nw->subnet)) {
                        rc_cidr_format(&nw->subnet, a, sizeof(a));
                        rc_cidr_format(&o->subnet, b, sizeof(b));
                        return rc_error_set_status(err, EEXIST,
                                                   "subnet \"%s\" overlaps \"%s\" of network \"%s\"", a, b,
                                                   o->name);
                }
                if (strcmp(o->bridge, nw->bridge) == 0)
                        return rc_error_set_status(err, EEXIST, "bridge \"%s\" is used by network \"%s\"",
                                                   nw->bridge, o->name);
        }
        return 0;
}

static int pick_subnet(struct rc_network **all, size_t n_all, struct rc_cidr *ret, rc_error_t *err)
{
        for (uint32_t i = 1; i < 256; i++) {
                struct rc_cidr c = {.addr = AUTO_SUBNET_BASE | (i << 8), .prefix = 24};
                bool used = false;

                for (size_t j = 0; j < n_all && !used; j++)
                        used = rc_cidr_overlaps(&all[j]->subnet, &c);
                if (!used) {
                        *ret = c;
                        return 0;
                }
        }
        return rc_error_set_status(err, ENOSPC, "no free subnet in 10.90.0.0/16: pass --subnet");
}

/* rcN: the first N no network uses and no existing link has. */
static int pick_bridge(struct rc_network **all, size_t n_all, char **ret, rc_error_t *err)
{
        struct rc_nl nl;
        bool have_nl = rc_nl_open(&nl, -1, NULL) == 0;
        char name[16];

        for (int i = 1; i < 10000; i++) {
                struct rc_nl_link l = {0};
                bool used = false;

                snprintf(name, sizeof(name), "rc%d", i);
                for (size_t j = 0; j < n_all && !used; j++)
                        used = strcmp(all[j]->bridge, name) == 0;
                if (!used && have_nl && rc_nl_link_get(&nl, name, &l, NULL) == 0 && l.ifindex != 0)
                        used = true;
                if (!used) {
                        if (have_nl)
                                rc_nl_close(&nl);
                        *ret = strdup(name);
                        return *ret ? 0 : rc_error_set(err, ENOMEM, "bridge name");
                }
        }
        if (have_nl)
                rc_nl_close(&nl);
        return rc_error_set_status(err, ENOSPC, "no free bridge name: pass --bridge");
}

static int fill_new(struct rc_network *nw, struct rc_network **all, size_t n_all,
                    const struct rc_network_create_opts *o, rc_error_t *err)
{
        char s[24];

        if (o->subnet != NULL ? rc_cidr_parse(o->subnet, &nw->subnet, err)
                              : pick_subnet(all, n_all, &nw->subnet, err))
                return -1;
        rc_cidr_format(&nw->subnet, s, sizeof(s));
        if (nw->subnet.prefix > 30)
                return rc_error_set_status(err, EINVAL,
                                           "subnet \"%s\" is too small: a network needs at least a /30 "
                                           "(a gateway and one container)",
                                           s);
        if (nw->subnet.prefix < 8)
                return rc_error_set_status(err, EINVAL, "subnet \"%s\" is too large: at most a /8", s);
        nw->gateway = rc_cidr_first_host(&nw->subnet);
        if (o->gateway != NULL && (rc_ip_parse(o->gateway, &nw->gateway, err) < 0 ||
                                   rc_cidr_check_host(&nw->subnet, 0, nw->gateway, err) < 0))
                return rc_error_wrap(err, "gateway");
        if (o->bridge != NULL) {
                if (validate_bridge(o->bridge, err) < 0)
                        return -1;
                free(nw->bridge);
                nw->bridge = strdup(o->bridge);
        } else {
                free(nw->bridge);
                nw->bridge = NULL;
                if (pick_bridge(all, n_all, &nw->bridge, err) < 0)
                        return -1;
        }
        if (nw->bridge == NULL)
                return rc_error_set(err, ENOMEM, "create network");
        nw->internal = o->internal;
        nw->isolate = !o->no_isolate;
        return check_conflicts(all, n_all, nw, err);
}

static int leases_of(const char *netroot, const char *name, struct rc_lease **ret, size_t *ret_n,
                     rc_error_t *err)
{
        _cleanup_free_ char *dir = rc_net_ipam_dir(netroot, name);

        if (dir == NULL)
                return rc_error_set(err, ENOMEM, "leases of network \"%s\"", name);
        return rc_ipam_list(dir, false, ret, ret_n, err);
}

/* "network \"X\" is in use by container \"Y\"" when it has a lease. */
static int check_unused(const char *netroot, const char *name, rc_error_t *err)
{
        struct rc_lease *v = NULL;
        struct rc_attachment a = {0};
        size_t n = 0;
        int r = 0;

        if (leases_of(netroot, name, &v, &n, err) < 0)
                return -1;
        if (n > 0) {
                rc_attachment_parse(v[0].record, v[0].ip, &a, NULL);
                r = rc_error_set_status(err, EBUSY, "network \"%s\" is in use by container \"%s\"%s", name,
                                        a.container ? a.container : "?", n > 1 ? " and others" : "");
                rc_attachment_clear(&a);
        }
        rc_lease_list_free(v, n);
        return r;
}

int rc_net_require_root(const char *what, rc_error_t *err)
{
        if (geteuid() == 0)
                return 0;
        return rc_error_set_status(err, EPERM, "%s: bridge networks need root (the runtime runs as uid %u)",
                                   what, (unsigned)geteuid());
}

int rc_network_create(const struct rc_runtime *rt, const char *name, const struct rc_network_create_opts *o,
                      struct rc_network **ret, rc_error_t *err)
{
        const char *netroot = rc_net_state_dir(rt);
        _cleanup_close_ int lockfd = -1;
        struct rc_network **all = NULL, *nw = NULL;
        size_t n_all = 0;
        int r = -1;

        if (rc_net_require_root("create a network", err) < 0 || rc_network_validate_name(name, err) < 0)
                return -1;
        if (strcmp(name, RC_NET_PASTA) == 0)
                return rc_error_set_status(err, EINVAL,
                                           "network name \"" RC_NET_PASTA "\" is reserved (user-mode "
                                           "networking through pasta)");
        lockfd = rc_net_defs_lock(netroot, true, err);
        if (lockfd < 0 || load_all(netroot, &all, &n_all, err) < 0)
                return -1;
        for (size_t i = 0; i < n_all; i++) {
                if (strcmp(all[i]->name, name) == 0 && !all[i]->implicit) {
                        rc_error_set_status(err, EEXIST, "network \"%s\" already exists", name);
                        goto out;
                }
        }
        if (strcmp(name, RC_DEFAULT_NETWORK) == 0 && check_unused(netroot, name, err) < 0)
                goto out;
        nw = network_new(name, "");
        if (nw == NULL) {
                rc_error_set(err, ENOMEM, "create network \"%s\"", name);
                goto out;
        }
        if (fill_new(nw, all, n_all, o, err) < 0 || network_save(netroot, nw, err) < 0) {
                rc_error_wrap(err, "create network \"%s\"", name);
                goto out;
        }
        *ret = TAKE_PTR(nw);
        r = 0;
out:
        rc_network_free(nw);
        rc_network_list_free(all, n_all);
        return r;
}

/* Undo what attaching containers set up for the network: firewall elements, bridge. */
static int network_teardown(const struct rc_network *nw, rc_error_t *err)
{
        struct rc_fw_net fw = {.bridge = nw->bridge,
                               .subnet = nw->subnet,
                               .internal = nw->internal,
                               .isolate = nw->isolate};
        _cleanup_free_ char *text = NULL;
        struct rc_nl nl;
        int r;

        text = rc_fw_network_text(&fw, false);
        if (rc_fw_remove(text, err) < 0)
                return -1;
        if (rc_nl_open(&nl, -1, err) < 0)
                return -1;
        r = rc_nl_link_delete(&nl, nw->bridge, err);
        rc_nl_close(&nl);
        return r;
}

static int remove_files(const char *netroot, const char *name, rc_error_t *err)
{
        _cleanup_free_ char *def = rc_net_path(netroot, "networks/%s.json", name);
        _cleanup_free_ char *dir = rc_net_ipam_dir(netroot, name), *lock = NULL, *next = NULL;

        if (def == NULL || dir == NULL || (lock = rc_net_path(dir, ".lock")) == NULL ||
            (next = rc_net_path(dir, ".next")) == NULL)
                return rc_error_set(err, ENOMEM, "remove network \"%s\"", name);
        unlink(lock);
        unlink(next);
        if (rmdir(dir) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove `%s`", dir);
        if (unlink(def) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "remove `%s`", def);
        return 0;
}

int rc_network_remove(const struct rc_runtime *rt, const char *name, rc_error_t *err)
{
        const char *netroot = rc_net_state_dir(rt);
        _cleanup_close_ int lockfd = -1;
        struct rc_network *nw = NULL;
        int r = -1;

        if (rc_net_require_root("remove a network", err) < 0 || rc_network_validate_name(name, err) < 0)
                return -1;
        if (strcmp(name, RC_DEFAULT_NETWORK) == 0)
                return rc_error_set_status(
                        err, EPERM, "remove network \"%s\": the default network cannot be removed", name);
        lockfd = rc_net_defs_lock(netroot, true, err);
        if (lockfd < 0 || rc_net_load(netroot, name, &nw, err) < 0)
                return -1;
        if (check_unused(netroot, name, err) < 0 || network_teardown(nw, err) < 0 ||
            remove_files(netroot, name, err) < 0)
                rc_error_wrap(err, "remove network \"%s\"", name);
        else
                r = 0;
        rc_network_free(nw);
        return r;
}

/* ---- attachments and prune ---------------------------------------------------------- */

void rc_attachment_clear(struct rc_attachment *a)
{
        free(a->container);
        free(a->root);
        free(a->network);
        free(a->veth);
        free(a->ports);
        *a = (struct rc_attachment){0};
}

void rc_attachment_list_free(struct rc_attachment *v, size_t n)
{
        for (size_t i = 0; i < n && v != NULL; i++)
                rc_attachment_clear(&v[i]);
        free(v);
}

char *rc_attachment_to_json(const struct rc_attachment *a, size_t *ret_len)
{
        _cleanup_json_gen_ json_gen *g = json_gen_new(false);
        char port[24], *doc = NULL;
        rc_error_t e = NULL;

        if (g == NULL)
                return NULL;
        /* no address: the lease file's name is the address */
        json_gen_object_open(g);
        json_gen_kv_string(g, "container", a->container);
        json_gen_kv_string(g, "root", a->root);
        json_gen_kv_string(g, "network", a->network);
        json_gen_kv_string(g, "veth", a->veth);
        json_gen_string(g, "ports");
        json_gen_array_open(g);
        for (size_t i = 0; i < a->n_ports; i++) {
                rc_port_format(&a->ports[i], port, sizeof(port));
                json_gen_string(g, port);
        }
        json_gen_array_close(g);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, ret_len, &e) < 0)
                rc_error_free(&e);
        return doc;
}

static int parse_ports_array(const json_node *arr, struct rc_attachment *a, rc_error_t *err)
{
        size_t n = json_array_size(arr);

        a->ports = calloc(n + 1, sizeof(*a->ports));
        if (a->ports == NULL)
                return rc_error_set(err, ENOMEM, "lease record");
        for (size_t i = 0; i < n; i++) {
                const char *s = json_get_string(json_array_get(arr, i));
                struct rc_port *p = NULL;
                size_t np = 0;

                if (s == NULL || rc_ports_parse(s, &p, &np, err) < 0)
                        return rc_error_set_status(err, EINVAL, "lease record: bad port");
                a->ports[a->n_ports++] = p[0];
                free(p);
        }
        return 0;
}

int rc_attachment_parse(const char *json, uint32_t ip, struct rc_attachment *ret, rc_error_t *err)
{
        struct rc_attachment a = {.address = ip};
        json_node *root = NULL;
        const char *keys[] = {"container", "root", "network", "veth"};
        char **fields[] = {&a.container, &a.root, &a.network, &a.veth};
        int r = 0;

        if (json_parse(json, strlen(json), "lease record", &root, err) < 0)
                return -1;
        for (size_t i = 0; i < 4 && r == 0; i++) {
                const char *s = json_get_string(json_object_get(root, keys[i]));
                if (s == NULL || (*fields[i] = strdup(s)) == NULL)
                        r = rc_error_set_status(err, EINVAL, "lease record: \"%s\" missing", keys[i]);
        }
        if (r == 0)
                r = parse_ports_array(json_object_get(root, "ports"), &a, err);
        json_free(root);
        if (r < 0) {
                rc_attachment_clear(&a);
                return -1;
        }
        *ret = a;
        return 0;
}

int rc_network_attachments(const struct rc_runtime *rt, const char *name, struct rc_attachment **ret,
                           size_t *ret_n, rc_error_t *err)
{
        struct rc_lease *v = NULL;
        struct rc_attachment *out;
        size_t n = 0, k = 0;

        if (rc_network_validate_name(name, err) < 0 ||
            leases_of(rc_net_state_dir(rt), name, &v, &n, err) < 0)
                return -1;
        out = calloc(n + 1, sizeof(*out));
        if (out == NULL) {
                rc_lease_list_free(v, n);
                return rc_error_set(err, ENOMEM, "list attachments");
        }
        for (size_t i = 0; i < n; i++) {
                if (rc_attachment_parse(v[i].record, v[i].ip, &out[k], NULL) == 0)
                        k++;
        }
        rc_lease_list_free(v, n);
        *ret = out;
        *ret_n = k;
        return 0;
}

static bool container_exists(const struct rc_attachment *a)
{
        _cleanup_free_ char *path = rc_net_path(a->root, "%s", a->container);
        struct stat st;

        /* unknown (ENOMEM, EACCES...) counts as existing: never release by mistake */
        return path == NULL || stat(path, &st) == 0 || errno != ENOENT;
}

static int prune_network(const char *netroot, const char *name, size_t *count, rc_error_t *err)
{
        _cleanup_free_ char *dir = rc_net_ipam_dir(netroot, name);
        struct rc_lease *v = NULL;
        size_t n = 0;
        int r = 0;

        if (dir == NULL)
                return rc_error_set(err, ENOMEM, "prune network \"%s\"", name);
        if (rc_ipam_list(dir, true, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n && r == 0; i++) {
                struct rc_attachment a = {0};

                if (rc_attachment_parse(v[i].record, v[i].ip, &a, NULL) < 0) {
                        rc_ipam_release(dir, v[i].ip, v[i].record, NULL); /* unreadable: nothing to undo */
                        continue;
                }
                if (!container_exists(&a)) {
                        r = rc_net_teardown(netroot, &a, false, err);
                        *count += r == 0;
                }
                rc_attachment_clear(&a);
        }
        rc_lease_list_free(v, n);
        return r;
}

int rc_network_prune(const struct rc_runtime *rt, size_t *ret_n, rc_error_t *err)
{
        const char *netroot = rc_net_state_dir(rt);
        _cleanup_close_ int lockfd = -1;
        struct rc_network **all = NULL;
        size_t n_all = 0, count = 0;
        int r = 0;

        *ret_n = 0;
        if (rc_net_require_root("prune networks", err) < 0)
                return -1;
        lockfd = rc_net_defs_lock(netroot, false, err);
        if (lockfd < 0 || load_all(netroot, &all, &n_all, err) < 0)
                return -1;
        for (size_t i = 0; i < n_all && r == 0; i++)
                r = prune_network(netroot, all[i]->name, &count, err);
        if (r == 0)
                r = rc_net_prune_claims(netroot, err);
        rc_network_list_free(all, n_all);
        *ret_n = count;
        return r;
}
