/* Read-only checks of run-container's nftables table over nfnetlink (see firewall.h).
 *
 * Adding a network's elements through libnftables costs ~1.4 ms per container attach
 * (loading five shared objects, parsing, the cache dump, a commit) although the elements
 * are nearly always there already. Reading the three sets back over a raw nfnetlink socket
 * costs a few tens of microseconds; only when something is missing (a flushed ruleset, a
 * reboot, the first container) does attach go through libnftables. Any failure here only
 * means "not known to be present". */
#include "runtime/net/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/net/nlmsg.h"

#define FW_BUFSIZE (16u * 1024u)
#define KEY_MAX 64

/* One element the check looks for: its key as the kernel stores it, and whether it is the
 * end of an interval (NFT_SET_ELEM_INTERVAL_END). */
struct want {
        unsigned char key[KEY_MAX];
        size_t len;
        bool interval_end;
        bool found;
};

struct scan {
        struct want *w;
        size_t n;
};

/* An ifname key: the name zero-padded to IFNAMSIZ bytes. */
static size_t ifname_key(unsigned char *key, const char *name)
{
        memset(key, 0, IFNAMSIZ);
        strncpy((char *)key, name, IFNAMSIZ - 1);
        return IFNAMSIZ;
}

static void elem_cb(const struct nlattr *elem, struct scan *s)
{
        const struct nlattr *a, *key = NULL;
        uint32_t flags = 0, v;

        rc_nla_for_each_nested (a, elem) {
                if (rc_nla_type(a) == NFTA_SET_ELEM_KEY)
                        key = a;
                else if (rc_nla_type(a) == NFTA_SET_ELEM_FLAGS && rc_nla_u32(a, &v))
                        flags = ntohl(v);
        }
        if (key == NULL)
                return;
        rc_nla_for_each_nested (a, key) {
                if (rc_nla_type(a) != NFTA_DATA_VALUE)
                        continue;
                for (size_t i = 0; i < s->n; i++) {
                        struct want *w = &s->w[i];
                        if (rc_nla_len(a) == w->len && memcmp(rc_nla_data(a), w->key, w->len) == 0 &&
                            ((flags & NFT_SET_ELEM_INTERVAL_END) != 0) == w->interval_end)
                                w->found = true;
                }
        }
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *a, *e;

        rc_nla_for_each_msg (a, nlh, sizeof(struct nfgenmsg)) {
                if (rc_nla_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
                        continue;
                rc_nla_for_each_nested (e, a) {
                        if (rc_nla_type(e) == NFTA_LIST_ELEM)
                                elem_cb(e, data);
                }
        }
        return 0;
}

/* Dump one set of the table and mark the wanted elements it holds. 0 when the dump
 * completed (whatever it found), -1 when it failed (no table, no set, no socket). */
static int scan_set(int fd, uint32_t portid, char *buf, const char *set, struct want *w, size_t n)
{
        struct scan s = {.w = w, .n = n};
        uint32_t seq = (uint32_t)time(NULL);
        struct nlmsghdr *nlh = rc_nlmsg_new(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM,
                                            NLM_F_REQUEST | NLM_F_DUMP, seq);
        struct nfgenmsg *nfg = rc_nlmsg_append(nlh, sizeof(*nfg));
        ssize_t len;
        int r;

        nfg->nfgen_family = NFPROTO_IPV4;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        rc_nla_put_str(nlh, NFTA_SET_ELEM_LIST_TABLE, RC_FW_TABLE);
        rc_nla_put_str(nlh, NFTA_SET_ELEM_LIST_SET, set);
        if (rc_nlsock_send(fd, nlh) < 0)
                return -1;
        do {
                len = rc_nlsock_recv(fd, buf, FW_BUFSIZE);
                if (len < 0)
                        return -1;
                r = rc_nlmsg_walk(buf, (size_t)len, seq, portid, msg_cb, &s, NULL);
        } while (r == 0);
        return r < 0 ? -1 : 0;
}

bool rc_fw_network_present(const struct rc_fw_net *n)
{
        struct want bridges[1] = {0}, same[1] = {0}, masq[2] = {0};
        uint32_t portid = 0;
        int fd = -1;
        char *buf;
        bool ok = false;

        bridges[0].len = ifname_key(bridges[0].key, n->bridge);
        same[0].len = 2 * ifname_key(same[0].key, n->bridge);
        memcpy(same[0].key + IFNAMSIZ, same[0].key, IFNAMSIZ);
        if (n->subnet.prefix == 0)
                return false; /* an interval that ends past 255.255.255.255: not worth it */
        {
                uint32_t start = htonl(n->subnet.addr),
                         end = htonl(n->subnet.addr + (uint32_t)(1ull << (32 - n->subnet.prefix)));
                memcpy(masq[0].key, &start, 4);
                masq[0].len = 4;
                memcpy(masq[1].key, &end, 4);
                masq[1].len = 4;
                masq[1].interval_end = true;
        }
        buf = malloc(FW_BUFSIZE);
        if (buf == NULL || (fd = rc_nlsock_open(NETLINK_NETFILTER, &portid)) < 0)
                goto out;
        if (scan_set(fd, portid, buf, "bridges", bridges, 1) < 0 || !bridges[0].found)
                goto out;
        if (scan_set(fd, portid, buf, "same", same, 1) < 0 || !same[0].found)
                goto out;
        if (n->isolate) {
                struct want iso[1] = {bridges[0]};
                iso[0].found = false;
                if (scan_set(fd, portid, buf, "isolated", iso, 1) < 0 || !iso[0].found)
                        goto out;
        }
        if (n->internal) {
                struct want in[1] = {bridges[0]};
                in[0].found = false;
                if (scan_set(fd, portid, buf, "internal", in, 1) < 0 || !in[0].found)
                        goto out;
        } else {
                /* an interval whose end is 0.0.0.0 (a subnet at the top of the space) has no
                 * end element: then the start alone */
                size_t nm = masq[1].key[0] | masq[1].key[1] | masq[1].key[2] | masq[1].key[3] ? 2 : 1;
                if (scan_set(fd, portid, buf, "masq", masq, nm) < 0 || !masq[0].found ||
                    (nm == 2 && !masq[1].found))
                        goto out;
        }
        ok = true;
out:
        if (fd >= 0)
                close(fd);
        free(buf);
        return ok;
}
