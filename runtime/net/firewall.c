/* The nftables table of run-container (see firewall.h). */
#include "runtime/net/firewall.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define T "ip " RC_FW_TABLE

#ifndef RC_LIBNFTABLES_SONAME
#define RC_LIBNFTABLES_SONAME "libnftables.so.1"
#endif

/* ---- port specs ------------------------------------------------------------------ */

const char *rc_port_proto_name(int proto)
{
        return proto == IPPROTO_UDP ? "udp" : "tcp";
}

void rc_port_format(const struct rc_port *p, char *buf, size_t size)
{
        snprintf(buf, size, "%u:%u/%s", p->host_port, p->container_port, rc_port_proto_name(p->proto));
}

static int parse_port(const char *s, size_t len, uint16_t *ret)
{
        unsigned v = 0;

        if (len == 0 || len > 5 || s[0] == '0')
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v < 1 || v > 65535)
                return -1;
        *ret = (uint16_t)v;
        return 0;
}

/* One "HOST:CONTAINER[/PROTO]" of len bytes. */
static int parse_one_port(const char *s, size_t len, struct rc_port *p, rc_error_t *err)
{
        const char *colon = memchr(s, ':', len), *slash = memchr(s, '/', len);
        size_t end = slash ? (size_t)(slash - s) : len;

        *p = (struct rc_port){.proto = IPPROTO_TCP};
        if (slash != NULL) {
                size_t plen = len - end - 1;
                if (plen == 3 && strncmp(slash + 1, "tcp", 3) == 0)
                        p->proto = IPPROTO_TCP;
                else if (plen == 3 && strncmp(slash + 1, "udp", 3) == 0)
                        p->proto = IPPROTO_UDP;
                else
                        return rc_error_set_status(err, EINVAL,
                                                   "invalid port \"%.*s\": protocol must be tcp or udp",
                                                   (int)len, s);
        }
        if (colon == NULL || colon > s + end)
                return rc_error_set_status(err, EINVAL,
                                           "invalid port \"%.*s\": expected HOST:CONTAINER[/tcp|/udp]",
                                           (int)len, s);
        if (parse_port(s, (size_t)(colon - s), &p->host_port) < 0 ||
            parse_port(colon + 1, end - (size_t)(colon - s) - 1, &p->container_port) < 0)
                return rc_error_set_status(err, EINVAL, "invalid port \"%.*s\": ports are numbers 1..65535",
                                           (int)len, s);
        return 0;
}

int rc_ports_parse(const char *spec, struct rc_port **ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_free_ struct rc_port *v = NULL;
        size_t n = 0, cap = 1;
        const char *s = spec;

        for (const char *p = spec; *p; p++)
                cap += *p == ',';
        v = calloc(cap, sizeof(*v));
        if (v == NULL)
                return rc_error_set(err, ENOMEM, "parse ports");
        while (*s != '\0') {
                size_t len = strcspn(s, ",");

                if (parse_one_port(s, len, &v[n], err) < 0)
                        return -1;
                for (size_t i = 0; i < n; i++) {
                        if (v[i].proto == v[n].proto && v[i].host_port == v[n].host_port)
                                return rc_error_set_status(
                                        err, EINVAL, "invalid ports \"%s\": host port %u/%s given twice",
                                        spec, v[n].host_port, rc_port_proto_name(v[n].proto));
                }
                n++;
                s += len;
                if (*s == ',' && *++s == '\0')
                        return rc_error_set_status(err, EINVAL, "invalid ports \"%s\": trailing comma",
                                                   spec);
        }
        if (n == 0)
                return rc_error_set_status(err, EINVAL, "invalid ports \"%s\": no port given", spec);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* ---- command text ------------------------------------------------------------------ */

static char *finish(FILE *f, char **buf)
{
        if (fclose(f) != 0) {
                free(*buf);
                return NULL;
        }
        return *buf;
}

char *rc_fw_table_text(void)
{
        static const char text[] =
                "create table " T "\n"
                "add set " T " bridges { type ifname; }\n"
                "add set " T " isolated { type ifname; }\n"
                "add set " T " internal { type ifname; }\n"
                "add set " T " same { type ifname . ifname; }\n"
                "add set " T " masq { type ipv4_addr; flags interval; }\n"
                "add map " T " ports { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
                "add chain " T " forward { type filter hook forward priority filter; policy accept; }\n"
                "add chain " T " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
                "add chain " T " output { type nat hook output priority -100; policy accept; }\n"
                "add chain " T " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
                "add rule " T " forward iifname . oifname @same accept\n"
                "add rule " T " forward iifname @isolated oifname @bridges drop\n"
                "add rule " T " forward iifname @bridges oifname @isolated drop\n"
                "add rule " T " forward iifname @internal drop\n"
                "add rule " T " forward oifname @internal drop\n"
                "add rule " T
                " prerouting fib daddr type local dnat ip to meta l4proto . th dport map @ports\n"
                "add rule " T " output fib daddr type local dnat ip to meta l4proto . th dport map @ports\n"
                "add rule " T " postrouting ip saddr @masq oifname != @bridges masquerade\n"
                "add rule " T " postrouting ip saddr 127.0.0.0/8 oifname @bridges masquerade\n";

        return strdup(text);
}

/* "add element" (and for removal a "delete element" right after it). */
static void element(FILE *f, const char *set, const char *elem, bool add)
{
        fprintf(f, "add element " T " %s { %s }\n", set, elem);
        if (!add)
                fprintf(f, "delete element " T " %s { %s }\n", set, elem);
}

char *rc_fw_network_text(const struct rc_fw_net *n, bool add)
{
        char *buf = NULL, quoted[40], pair[96], net[24];
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (f == NULL)
                return NULL;
        snprintf(quoted, sizeof(quoted), "\"%s\"", n->bridge);
        snprintf(pair, sizeof(pair), "%s . %s", quoted, quoted);
        rc_cidr_format(&n->subnet, net, sizeof(net));
        element(f, "bridges", quoted, add);
        element(f, "same", pair, add);
        if (n->isolate)
                element(f, "isolated", quoted, add);
        if (n->internal)
                element(f, "internal", quoted, add);
        else
                element(f, "masq", net, add);
        return finish(f, &buf);
}

char *rc_fw_ports_text(const struct rc_port *p, size_t n, uint32_t addr, bool add)
{
        char *buf = NULL, ip[RC_IP_STRLEN], elem[64];
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (f == NULL)
                return NULL;
        rc_ip_format(addr, ip);
        for (size_t i = 0; i < n; i++) {
                snprintf(elem, sizeof(elem), "%s . %u : %s . %u", rc_port_proto_name(p[i].proto),
                         p[i].host_port, ip, p[i].container_port);
                fprintf(f, "add element " T " ports { %s }\n", elem);
                if (!add)
                        fprintf(f, "delete element " T " ports { %s . %u }\n",
                                rc_port_proto_name(p[i].proto), p[i].host_port);
        }
        return finish(f, &buf);
}

/* ---- effects ------------------------------------------------------------------------ */

/* nft's error output, folded on one line: "Error: ... : <command>" lines joined by "; ". */
static char *fold_error(const char *text)
{
        char *out = strdup(text ? text : ""), *w = out;

        if (out == NULL)
                return NULL;
        for (const char *r = out; *r; r++) {
                if (*r == '^' || (*r == ' ' && w > out && w[-1] == ' '))
                        continue;
                *w++ = *r == '\n' ? ' ' : *r;
        }
        while (w > out && w[-1] == ' ')
                w--;
        *w = '\0';
        return out;
}

/* libnftables is loaded on first use, not linked: with its libraries (nftnl, xtables,
 * jansson, gmp) it doubled the dynamic loader's work at every start of the runtime,
 * ~0.4 ms of CPU per command, for the few commands that touch the firewall. */
struct nft_api {
        struct nft_ctx *(*ctx_new)(uint32_t flags);
        void (*ctx_free)(struct nft_ctx *ctx);
        int (*buffer_output)(struct nft_ctx *ctx);
        int (*buffer_error)(struct nft_ctx *ctx);
        int (*run_cmd_from_buffer)(struct nft_ctx *ctx, const char *buf);
        const char *(*get_error_buffer)(struct nft_ctx *ctx);
        const char *(*get_output_buffer)(struct nft_ctx *ctx);
};

static const struct nft_api *nft_api_load(rc_error_t *err)
{
        static struct nft_api api;
        static bool loaded;
        void *h;

        if (loaded)
                return &api;
        h = dlopen(RC_LIBNFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
                rc_error_set(err, ENOENT, "firewall: load `%s`: %s", RC_LIBNFTABLES_SONAME, dlerror());
                return NULL;
        }
        *(void **)&api.ctx_new = dlsym(h, "nft_ctx_new");
        *(void **)&api.ctx_free = dlsym(h, "nft_ctx_free");
        *(void **)&api.buffer_output = dlsym(h, "nft_ctx_buffer_output");
        *(void **)&api.buffer_error = dlsym(h, "nft_ctx_buffer_error");
        *(void **)&api.run_cmd_from_buffer = dlsym(h, "nft_run_cmd_from_buffer");
        *(void **)&api.get_error_buffer = dlsym(h, "nft_ctx_get_error_buffer");
        *(void **)&api.get_output_buffer = dlsym(h, "nft_ctx_get_output_buffer");
        if (!api.ctx_new || !api.ctx_free || !api.buffer_output || !api.buffer_error ||
            !api.run_cmd_from_buffer || !api.get_error_buffer || !api.get_output_buffer) {
                rc_error_set(err, ENOENT, "firewall: `%s` lacks a symbol we need", RC_LIBNFTABLES_SONAME);
                dlclose(h);
                return NULL;
        }
        loaded = true; /* the handle stays open for the life of the process */
        return &api;
}

/* ret_out (optional): nft's output, malloc'ed. */
static int run_ctx_out(const char *text, bool quiet, char **ret_out, rc_error_t *err)
{
        const struct nft_api *nft = nft_api_load(err);
        struct nft_ctx *ctx;
        _cleanup_free_ char *msg = NULL;
        int r;

        if (nft == NULL)
                return -1;
        ctx = nft->ctx_new(NFT_CTX_DEFAULT);
        if (ctx == NULL)
                return rc_error_set(err, ENOMEM, "firewall: create nftables context");
        if (nft->buffer_output(ctx) < 0 || nft->buffer_error(ctx) < 0) {
                nft->ctx_free(ctx);
                return rc_error_set(err, ENOMEM, "firewall: buffer nftables output");
        }
        r = nft->run_cmd_from_buffer(ctx, text);
        if (r != 0 && !quiet)
                msg = fold_error(nft->get_error_buffer(ctx));
        if (r == 0 && ret_out != NULL) {
                const char *out = nft->get_output_buffer(ctx);

                *ret_out = strdup(out != NULL ? out : "");
                if (*ret_out == NULL) {
                        nft->ctx_free(ctx);
                        return rc_error_set(err, ENOMEM, "firewall: nftables output");
                }
        }
        nft->ctx_free(ctx);
        if (r != 0 && quiet)
                return -1;
        if (r != 0)
                return rc_error_set_status(err, EIO, "firewall: %s", msg ? msg : "nftables command failed");
        return 0;
}

static int run_ctx(const char *text, bool quiet, rc_error_t *err)
{
        return run_ctx_out(text, quiet, NULL, err);
}

int rc_fw_run(const char *text, rc_error_t *err)
{
        if (text == NULL)
                return rc_error_set(err, ENOMEM, "firewall: build nftables commands");
        return run_ctx(text, false, err);
}

bool rc_fw_table_exists(void)
{
        return run_ctx("list table " T "\n", true, NULL) == 0;
}

int rc_fw_ensure_table(rc_error_t *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ rc_error_t e = NULL;

        if (rc_fw_table_exists())
                return 0;
        text = rc_fw_table_text();
        if (rc_fw_run(text, &e) < 0) {
                if (rc_fw_table_exists()) /* another runtime installed it meanwhile */
                        return 0;
                rc_error_move(err, &e);
                return -1;
        }
        return 0;
}

int rc_fw_apply(const char *text, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        if (text == NULL)
                return rc_error_set(err, ENOMEM, "firewall: build nftables commands");
        if (run_ctx(text, false, &e) == 0)
                return 0;
        /* The table was missing (the first container on this host) or another runtime
         * was installing it while we tried: make sure it is there and try once more; a
         * second failure is a real one. */
        if (rc_fw_ensure_table(err) < 0)
                return -1;
        return rc_fw_run(text, err);
}

int rc_fw_remove(const char *text, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;

        if (text == NULL)
                return rc_error_set(err, ENOMEM, "firewall: build nftables commands");
        if (run_ctx(text, false, &e) == 0 || !rc_fw_table_exists())
                return 0;
        rc_error_move(err, &e);
        return -1;
}

static int write_sysctl(const char *path, rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *cur = NULL;
        size_t len = 0;

        if (rc_read_file_at(AT_FDCWD, path, 64, &cur, &len, &e) == 0 && cur[0] == '1')
                return 0;
        return rc_write_file_at(AT_FDCWD, path, "1", 1, err);
}

int rc_fw_enable_forwarding(rc_error_t *err)
{
        return write_sysctl("/proc/sys/net/ipv4/ip_forward", err);
}

int rc_fw_route_localnet(const char *bridge, rc_error_t *err)
{
        char path[128];

        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        return write_sysctl(path, err);
}

/* ---- CRIU's network lock -------------------------------------------------------------- */

#define CRIU_LOCK_PREFIX "CRIU-"

/* In the current network namespace: the `inet CRIU-*` tables go. */
static int remove_criu_tables(size_t *ret_n, rc_error_t *err)
{
        _cleanup_free_ char *list = NULL;
        char *save = NULL;

        if (run_ctx_out("list tables inet\n", false, &list, err) < 0)
                return -1;
        for (char *line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
                char cmd[320];
                const char *name;

                if (strncmp(line, "table inet " CRIU_LOCK_PREFIX, strlen("table inet " CRIU_LOCK_PREFIX)) !=
                    0)
                        continue;
                name = line + strlen("table inet ");
                if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
                            strlen(name) ||
                    (size_t)snprintf(cmd, sizeof(cmd), "delete table inet %s\n", name) >= sizeof(cmd))
                        return rc_error_set(err, EINVAL, "firewall: unexpected table name `%s`", name);
                if (run_ctx(cmd, false, err) < 0)
                        return -1;
                (*ret_n)++;
        }
        return 0;
}

int rc_fw_remove_criu_lock(int netns_fd, size_t *ret_n, rc_error_t *err)
{
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int r;

        *ret_n = 0;
        if (self < 0)
                return rc_error_set(err, errno, "open `/proc/self/ns/net`");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return rc_error_set(err, errno, "enter the container's network namespace");
        r = remove_criu_tables(ret_n, err);
        if (setns(self, CLONE_NEWNET) < 0) {
                /* never carry on in the container's namespace */
                int e = errno;

                rc_error_free(err);
                return rc_error_set(err, e, "return to the runtime's network namespace");
        }
        return r;
}
