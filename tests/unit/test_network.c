/* network: the pure parts (port specs, nft command text, hosts/resolv.conf, annotations,
 * names) and the definitions store in a mkdtemp directory. Nothing here touches a
 * network interface or a firewall: creating and listing networks only reads and writes
 * files (bridge names are given, so no link is looked up either). */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/net/firewall.h"
#include "runtime/net/network.h"

/* ---- port specs ------------------------------------------------------------------- */

Test(ports, parse_good)
{
        struct rc_port *p = NULL;
        rc_error_t err = NULL;
        size_t n = 0;
        char buf[24];

        cr_assert_eq(rc_ports_parse("8080:80/tcp,5353:53/udp,9000:9001", &p, &n, &err), 0, "%s",
                     err ? err->msg : "");
        cr_assert_eq(n, 3);
        cr_assert_eq(p[0].proto, IPPROTO_TCP);
        cr_assert_eq(p[0].host_port, 8080);
        cr_assert_eq(p[0].container_port, 80);
        cr_assert_eq(p[1].proto, IPPROTO_UDP);
        cr_assert_eq(p[1].host_port, 5353);
        cr_assert_eq(p[2].proto, IPPROTO_TCP, "tcp by default");
        rc_port_format(&p[1], buf, sizeof(buf));
        cr_assert_str_eq(buf, "5353:53/udp");
        free(p);
        /* the same host port on both protocols is two ports */
        cr_assert_eq(rc_ports_parse("53:53/tcp,53:53/udp", &p, &n, &err), 0);
        cr_assert_eq(n, 2);
        free(p);
}

Test(ports, parse_bad)
{
        struct {
                const char *spec, *msg;
        } cases[] = {
                {"80", "invalid port \"80\": expected HOST:CONTAINER[/tcp|/udp]"},
                {"0:80", "invalid port \"0:80\": ports are numbers 1..65535"},
                {"70000:80", "invalid port \"70000:80\": ports are numbers 1..65535"},
                {"8080:", "invalid port \"8080:\": ports are numbers 1..65535"},
                {"a:b", "invalid port \"a:b\": ports are numbers 1..65535"},
                {"8080:80/sctp", "invalid port \"8080:80/sctp\": protocol must be tcp or udp"},
                {"8080:80,", "invalid ports \"8080:80,\": trailing comma"},
                {"", "invalid ports \"\": no port given"},
                {",8080:80", "invalid port \"\": expected HOST:CONTAINER[/tcp|/udp]"},
                {"8080:80,8080:81", "invalid ports \"8080:80,8080:81\": host port 8080/tcp given twice"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct rc_port *p = NULL;
                rc_error_t err = NULL;
                size_t n = 0;

                cr_assert_lt(rc_ports_parse(cases[i].spec, &p, &n, &err), 0, "\"%s\" accepted",
                             cases[i].spec);
                cr_assert_str_eq(err->msg, cases[i].msg);
                rc_error_free(&err);
        }
}

/* ---- nft command text --------------------------------------------------------------------- */

Test(firewall, table_text)
{
        char *t = rc_fw_table_text();

        cr_assert_not_null(t);
        cr_assert_eq(strncmp(t, "create table ip run-container\n", 30), 0,
                     "creation fails if the table exists");
        cr_assert_not_null(
                strstr(t, "add rule ip run-container forward iifname @isolated oifname @bridges drop\n"));
        cr_assert_not_null(strstr(t, "add rule ip run-container forward iifname @internal drop\n"));
        cr_assert_not_null(strstr(t, "postrouting ip saddr @masq oifname != @bridges masquerade\n"));
        cr_assert_not_null(
                strstr(t, "output fib daddr type local dnat ip to meta l4proto . th dport map @ports\n"));
        cr_assert_null(strstr(t, "flush"), "never flushes anything");
        free(t);
}

Test(firewall, network_text)
{
        struct rc_fw_net n = {
                .bridge = "rc1", .subnet = {.addr = 0x0a5a0100u, .prefix = 24}, .isolate = true};
        char *add = rc_fw_network_text(&n, true), *del;

        cr_assert_str_eq(add, "add element ip run-container bridges { \"rc1\" }\n"
                              "add element ip run-container same { \"rc1\" . \"rc1\" }\n"
                              "add element ip run-container isolated { \"rc1\" }\n"
                              "add element ip run-container masq { 10.90.1.0/24 }\n");
        free(add);
        n.internal = true;
        n.isolate = false;
        del = rc_fw_network_text(&n, false);
        cr_assert_str_eq(del, "add element ip run-container bridges { \"rc1\" }\n"
                              "delete element ip run-container bridges { \"rc1\" }\n"
                              "add element ip run-container same { \"rc1\" . \"rc1\" }\n"
                              "delete element ip run-container same { \"rc1\" . \"rc1\" }\n"
                              "add element ip run-container internal { \"rc1\" }\n"
                              "delete element ip run-container internal { \"rc1\" }\n");
        free(del);
}

Test(firewall, ports_text)
{
        struct rc_port p[] = {{IPPROTO_TCP, 8080, 80}, {IPPROTO_UDP, 5353, 53}};
        char *add = rc_fw_ports_text(p, 2, 0x0a5a0002u, true),
             *del = rc_fw_ports_text(p, 1, 0x0a5a0002u, false);

        cr_assert_str_eq(add, "add element ip run-container ports { tcp . 8080 : 10.90.0.2 . 80 }\n"
                              "add element ip run-container ports { udp . 5353 : 10.90.0.2 . 53 }\n");
        cr_assert_str_eq(del, "add element ip run-container ports { tcp . 8080 : 10.90.0.2 . 80 }\n"
                              "delete element ip run-container ports { tcp . 8080 }\n");
        free(add);
        free(del);
}

/* ---- hosts, resolv.conf, annotations, names ------------------------------------------------- */

Test(network, hosts_text)
{
        char *h = rc_network_hosts_text(0x0a5a0007u, "web", "c1"),
             *h2 = rc_network_hosts_text(0x0a5a0007u, NULL, "c1");

        cr_assert_str_eq(
                h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.90.0.7\tweb c1\n");
        cr_assert_not_null(strstr(h2, "\n10.90.0.7\tc1\n"));
        free(h);
        free(h2);
}

Test(network, resolv_text)
{
        const char *host =
                "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2 # primary\n"
                "nameserver ::1\nsearch example.com\n  options edns0 trust-ad\nnameserver 127.1.2.3";
        char *r = rc_network_resolv_text(host), *empty = rc_network_resolv_text(NULL);

        cr_assert_str_eq(r, "# generated by run-container from the host's resolv.conf\n"
                            "nameserver 10.0.0.2\nsearch example.com\noptions edns0 trust-ad\n");
        cr_assert_str_eq(empty, "# generated by run-container from the host's resolv.conf\n");
        free(r);
        free(empty);
}

static struct oci_kv kv(const char *k, const char *v)
{
        return (struct oci_kv){.key = (char *)k, .value = (char *)v};
}

Test(network, annotations)
{
        struct oci_kv a[3];
        struct oci_config c = {.annotations = a};
        const char *net = "x", *ip = NULL, *ports = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_network_from_annotations(&c, &net, &ip, &ports, &err), 0);
        cr_assert_null(net, "no annotation: no networking");
        a[0] = kv("run-container.ports", "8080:80");
        c.n_annotations = 1;
        cr_assert_eq(rc_network_from_annotations(&c, &net, &ip, &ports, &err), 0);
        cr_assert_str_eq(net, "default", "ports alone join the default network");
        cr_assert_str_eq(ports, "8080:80");
        a[1] = kv("run-container.network", "back-end");
        a[2] = kv("run-container.ip", "10.90.1.5");
        c.n_annotations = 3;
        cr_assert_eq(rc_network_from_annotations(&c, &net, &ip, &ports, &err), 0);
        cr_assert_str_eq(net, "back-end");
        cr_assert_str_eq(ip, "10.90.1.5");
        a[1] = kv("run-container.network", "../etc");
        cr_assert_lt(rc_network_from_annotations(&c, &net, &ip, &ports, &err), 0);
        cr_assert_not_null(strstr(err->msg, "annotation \"run-container.network\": invalid network name"),
                           "%s", err->msg);
        rc_error_free(&err);
}

Test(network, names)
{
        const char *good[] = {"default", "a", "Back-end_2.x"};
        const char *bad[] = {"", "-a", ".hidden", "a/b", "a b", "x\"y"};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                cr_assert_eq(rc_network_validate_name(good[i], NULL), 0, "%s", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                rc_error_t err = NULL;
                cr_assert_lt(rc_network_validate_name(bad[i], &err), 0, "\"%s\" accepted", bad[i]);
                rc_error_free(&err);
        }
}

/* ---- definitions on disk ------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/rc-test-network-XXXXXX";
static struct rc_runtime rt;

static void setup(void)
{
        cr_assert_not_null(mkdtemp(tmpdir));
        rt = (struct rc_runtime){.root = tmpdir, .net_state_dir = tmpdir};
}

static void teardown(void)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        cr_assert_eq(system(cmd), 0);
}

static int create(const char *name, const char *subnet, const char *gw, const char *bridge, rc_error_t *err)
{
        struct rc_network_create_opts o = {.subnet = subnet, .gateway = gw, .bridge = bridge};
        struct rc_network *n = NULL;
        int r = rc_network_create(&rt, name, &o, &n, err);

        rc_network_free(n);
        return r;
}

static void create_fails(const char *name, const char *subnet, const char *gw, const char *bridge,
                         const char *msg)
{
        rc_error_t err = NULL;

        cr_assert_lt(create(name, subnet, gw, bridge, &err), 0, "%s accepted", name);
        cr_assert_str_eq(err->msg, msg);
        rc_error_free(&err);
}

Test(network, definitions, .init = setup, .fini = teardown)
{
        struct rc_network **v = NULL, *n = NULL;
        rc_error_t err = NULL;
        size_t count = 0;

        cr_assert_eq(rc_network_list(&rt, &v, &count, &err), 0);
        cr_assert_eq(count, 1, "the default network exists without being created");
        cr_assert_str_eq(v[0]->name, "default");
        cr_assert(v[0]->implicit);
        rc_network_list_free(v, count);

        cr_assert_eq(create("front", "10.91.0.0/24", NULL, "rcf", &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(create("back", "10.92.0.0/16", "10.92.3.4", "rcb", &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_network_get(&rt, "back", &n, &err), 0);
        cr_assert_eq(n->gateway, 0x0a5c0304u);
        cr_assert(n->isolate);
        cr_assert_not(n->internal);
        cr_assert_not(n->implicit);
        rc_network_free(n);
        cr_assert_eq(rc_network_list(&rt, &v, &count, &err), 0);
        cr_assert_eq(count, 3);
        cr_assert_str_eq(v[0]->name, "back", "sorted by name");
        cr_assert_str_eq(v[1]->name, "default");
        rc_network_list_free(v, count);
        cr_assert_lt(rc_network_get(&rt, "nope", &n, &err), 0);
        cr_assert_str_eq(err->msg, "network \"nope\" does not exist");
        rc_error_free(&err);
}

Test(network, bad_definitions, .init = setup, .fini = teardown)
{
        rc_error_t err = NULL;

        cr_assert_eq(create("front", "10.91.0.0/24", NULL, "rcf", &err), 0);
        create_fails("front", "10.93.0.0/24", NULL, "rcx", "network \"front\" already exists");
        create_fails("a", "10.91.0.128/25", NULL, "rca",
                     "create network \"a\": subnet \"10.91.0.128/25\" overlaps \"10.91.0.0/24\" of network "
                     "\"front\"");
        create_fails("b", "10.90.0.0/16", NULL, "rcb",
                     "create network \"b\": subnet \"10.90.0.0/16\" overlaps \"10.90.0.0/24\" of network "
                     "\"default\"");
        create_fails(
                "c", "10.93.0.0/31", NULL, "rcc",
                "create network \"c\": subnet \"10.93.0.0/31\" is too small: a network needs at least a /30 "
                "(a gateway and one container)");
        create_fails("d", "10.93.0.0/24", "10.94.0.1", "rcd",
                     "create network \"d\": gateway: address \"10.94.0.1\" is outside the subnet "
                     "\"10.93.0.0/24\"");
        create_fails("e", "10.93.0.0/24", NULL, "rcf",
                     "create network \"e\": bridge \"rcf\" is used by network \"front\"");
        create_fails("f", "10.93.0.0/24", NULL, "bad\"name",
                     "create network \"f\": invalid bridge name \"bad\"name\": "
                     "letters, digits, '_', '.' and '-'");
        create_fails(
                "g", "10.93.0.0/24", NULL, "waytoolongbridgename",
                "create network \"g\": invalid bridge name \"waytoolongbridgename\": 1 to 15 characters");
        create_fails("h", "10.93.0.1/24", NULL, "rch",
                     "create network \"h\": subnet \"10.93.0.1/24\" has host bits set: did you mean "
                     "\"10.93.0.0/24\"?");
}

Test(network, default_can_be_redefined_until_used, .init = setup, .fini = teardown)
{
        struct rc_network *n = NULL;
        rc_error_t err = NULL;
        char p[300];
        FILE *f;

        cr_assert_eq(create("default", "10.95.0.0/24", NULL, "rc0", &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(rc_network_get(&rt, "default", &n, &err), 0);
        cr_assert_eq(n->subnet.addr, 0x0a5f0000u);
        cr_assert_not(n->implicit);
        rc_network_free(n);
        create_fails("default", "10.96.0.0/24", NULL, "rc0", "network \"default\" already exists");

        /* a lease on the implicit default forbids redefining it */
        teardown();
        strcpy(tmpdir, "/tmp/rc-test-network-XXXXXX");
        setup();
        snprintf(p, sizeof(p), "%s/ipam", tmpdir);
        cr_assert_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/ipam/default", tmpdir);
        cr_assert_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/ipam/default/10.90.0.2", tmpdir);
        f = fopen(p, "w");
        cr_assert_not_null(f);
        fputs("{\"container\":\"c1\",\"root\":\"/"
              "r\",\"network\":\"default\",\"veth\":\"rcv1\",\"ports\":[]}",
              f);
        fclose(f);
        create_fails("default", "10.96.0.0/24", NULL, "rc0",
                     "network \"default\" is in use by container \"c1\"");
}
