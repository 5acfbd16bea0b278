"""Container networking: networks, veth pairs, IPAM, NAT, published ports, isolation.

Every test runs the runtime inside a network namespace the test creates (its "host",
held by a sleeping process, entered with nsenter together with a private mount
namespace); bridges, veths, the nft table and the sysctls exist only there and vanish
with it. The network state lives in the test's own directory (--network-root). A fake
"outside" is one more namespace joined to the test host by a veth pair on 192.0.2.0/24.
Traffic goes only to addresses inside these namespaces.
"""

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import RUNTIME, Runtime, host_ns, wait_for

pytestmark = pytest.mark.run_container_only("run-container's own networking")

OUTSIDE_HOST_IP = "192.0.2.1"
OUTSIDE_IP = "192.0.2.2"

# The outside's server: answers every connection with the address it came from.
PEER_SERVER = r"""
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(16)
while True:
    c, addr = s.accept()
    c.sendall(addr[0].encode() + b"\n")
    c.close()
"""


class NetNs:
    """A network namespace (with a private mount namespace) held by `sleep`."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private",
                                      "sleep", "infinity"])
        self.pid = self.proc.pid
        wait_for(lambda: self._ns_ino() not in (None, host_ns("net")), what="a new network namespace")
        self.run("ip", "link", "set", "lo", "up")
        # A new namespace inherits the machine's ip_forward (net.core.devconf_inherit_init_net
        # 0): start from the kernel's default, whatever the machine's own setting, so the
        # tests see what the runtime turned on.
        self.run("sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward")

    def _ns_ino(self):
        try:
            return os.stat(f"/proc/{self.pid}/ns/net").st_ino
        except OSError:
            return None

    def prefix(self):
        # Never run anything in the machine's own namespace by accident.
        assert self._ns_ino() != host_ns("net"), "the test namespace is gone"
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "--"]

    def run(self, *argv, check=True, timeout=30, **kw):
        kw.setdefault("capture_output", True)
        r = subprocess.run(self.prefix() + [str(a) for a in argv], text=True, timeout=timeout, **kw)
        if check:
            assert r.returncode == 0, f"{argv} failed: {r.stderr}"
        return r

    def popen(self, *argv, **kw):
        return subprocess.Popen(self.prefix() + [str(a) for a in argv], **kw)

    def links(self):
        return [l["ifname"] for l in json.loads(self.run("ip", "-j", "link").stdout)]

    def close(self):
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(timeout=10)


class NetRuntime(Runtime):
    """conftest's Runtime, but every command runs inside the test host namespace."""

    def __init__(self, workdir, host):
        super().__init__(workdir)
        self.host = host
        self.netroot = os.path.join(workdir, "net")
        self.prefix = host.prefix() + [RUNTIME, "--network-root", self.netroot]

    def ok(self, *args, timeout=30):
        r = self.cmd(*args, timeout=timeout)
        assert r.returncode == 0, f"{args} failed ({r.returncode}): {r.stderr}"
        return r

    def pid(self, cid):
        return self.state(cid)["pid"]

    def leases(self, network="default"):
        d = os.path.join(self.netroot, "ipam", network)
        return sorted(f for f in os.listdir(d) if not f.startswith(".")) if os.path.isdir(d) else []

    def claims(self):
        d = os.path.join(self.netroot, "ports")
        return sorted(f for f in os.listdir(d) if not f.startswith(".")) if os.path.isdir(d) else []

    def inspect(self, network):
        return json.loads(self.ok("network", "inspect", network).stdout)

    def nft_set(self, name):
        r = self.host.run("nft", "-j", "list", "set" if name != "ports" else "map", "ip", "run-container", name,
                          check=False)
        if r.returncode != 0:
            return []
        items = json.loads(r.stdout)["nftables"]
        for it in items:
            for key in ("set", "map"):
                if key in it:
                    return it[key].get("elem", [])
        return []


@pytest.fixture
def host(root_required):
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip") and shutil.which("nft")):
        pytest.skip("needs unshare, nsenter, ip (iproute2) and nft (nftables) to build and check the test host")
    h = NetNs()
    yield h
    h.close()


@pytest.fixture
def nrt(runtime_binary, workdir, host):
    r = NetRuntime(workdir, host)
    yield r
    r.cleanup()


@pytest.fixture
def outside(host):
    """A fake outside network namespace on a veth pair, running PEER_SERVER."""
    o = NetNs()
    host.run("ip", "link", "add", "vout", "type", "veth", "peer", "name", "vin", "netns", o.pid)
    host.run("ip", "addr", "add", f"{OUTSIDE_HOST_IP}/24", "dev", "vout")
    host.run("ip", "link", "set", "vout", "up")
    o.run("ip", "addr", "add", f"{OUTSIDE_IP}/24", "dev", "vin")
    o.run("ip", "link", "set", "vin", "up")
    server = o.popen("python3", "-c", PEER_SERVER, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: "9000" in o.run("ss", "-ltn").stdout, what="the outside server")
    yield o
    server.kill()
    server.wait(timeout=10)
    o.close()


def net_bundle(make, args, network=None, ip=None, ports=None):
    b = make(args=args)
    ann = {}
    if network:
        ann["run-container.network"] = network
    if ip:
        ann["run-container.ip"] = ip
    if ports:
        ann["run-container.ports"] = ports
    b.config["annotations"] = ann
    caps = b.config["process"]["capabilities"]
    for k in caps:
        caps[k].append("CAP_NET_RAW")  # busybox ping uses a raw socket
    return b


def sh(script):
    return ["/bin/sh", "-c", script]


def server(nrt, bundle, cid=None):
    """create + start a long-running container; returns (cid, stdout file)."""
    r = nrt.create(bundle, cid=cid)
    nrt.ok("start", r.cid)
    return r.cid, r.out


def read(path):
    with open(path) as f:
        return f.read()


# ---------------------------------------------------------------- tests


def test_attach_configures_the_container(nrt, host, bundle):
    b = net_bundle(bundle, sh("ip -4 -o addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf; "
                              "cat /sys/class/net/eth0/mtu"),
                   network="default", ip="10.90.0.42")
    r = nrt.run(b)
    assert r.returncode == 0, r.stderr
    assert "inet 10.90.0.42/24" in r.stdout
    assert "default via 10.90.0.1 dev eth0" in r.stdout
    assert "10.90.0.42\tprobe-host" in r.stdout
    assert "generated by run-container" in r.stdout
    assert "127.0.0.53" not in r.stdout.split("generated by run-container", 1)[1]
    assert "rc0" in host.links()
    assert host.run("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    assert host.run("cat", "/proc/sys/net/ipv4/conf/rc0/route_localnet").stdout.strip() == "1"
    # run deleted it: nothing left
    assert nrt.leases() == []
    assert [l for l in host.links() if l.startswith("rcv")] == []


def test_same_network_ping_and_tcp(nrt, bundle):
    nrt.ok("network", "create", "lan", "--subnet", "10.77.0.0/24")
    a = net_bundle(bundle, sh("sleep 100 | nc -l -p 7000"), network="lan", ip="10.77.0.10")
    cid, out = server(nrt, a)
    wait_for(lambda: nrt.host.run("nsenter", "-t", nrt.pid(cid), "-n", "ss", "-ltn").stdout.count(":7000"),
             what="the server in the first container")
    b = net_bundle(bundle, sh("ping -c 2 -W 2 10.77.0.10 && echo hello-over-tcp | nc 10.77.0.10 7000"),
                   network="lan")
    r = nrt.run(b)
    assert r.returncode == 0, f"{r.stdout} {r.stderr}"
    assert "2 packets received" in r.stdout
    wait_for(lambda: "hello-over-tcp" in read(out), what="the data in the first container")
    assert [c["address"] for c in nrt.inspect("lan")["containers"]] == ["10.77.0.10"]


def test_two_networks_cannot_talk(nrt, host, bundle):
    nrt.ok("network", "create", "red", "--subnet", "10.71.0.0/24")
    nrt.ok("network", "create", "blue", "--subnet", "10.72.0.0/24")
    a = net_bundle(bundle, sh("sleep 100 | nc -l -p 7000"), network="red", ip="10.71.0.10")
    cid, out = server(nrt, a)
    b = net_bundle(bundle, sh("ping -c 1 -W 1 10.72.0.1 || exit 3; "  # its own gateway answers
                              "ping -c 2 -W 1 10.71.0.10 && exit 4; "
                              "echo leak | nc -w 2 10.71.0.10 7000 && exit 5; exit 0"), network="blue")
    r = nrt.run(b)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stdout} {r.stderr}"
    assert "leak" not in read(out)
    assert host.run("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1", \
        "forwarding is on: the drop comes from the isolation rules"


def test_no_isolate_networks_can_talk(nrt, bundle):
    """The other side of the isolation test: the same traffic passes between two
    --no-isolate networks, so the drop above is the firewall's doing."""
    nrt.ok("network", "create", "green", "--subnet", "10.73.0.0/24", "--no-isolate")
    nrt.ok("network", "create", "yellow", "--subnet", "10.74.0.0/24", "--no-isolate")
    a = net_bundle(bundle, sh("sleep 60"), network="green", ip="10.73.0.10")
    server(nrt, a)
    r = nrt.run(net_bundle(bundle, sh("ping -c 1 -W 2 10.73.0.10"), network="yellow"))
    assert r.returncode == 0, f"{r.stdout} {r.stderr}"


def test_masquerade_and_internal(nrt, host, outside, bundle):
    nrt.ok("network", "create", "sealed", "--subnet", "10.75.0.0/24", "--internal")
    # an internal network alone does not turn forwarding on
    r = nrt.run(net_bundle(bundle, sh("ip route; nc -w 2 192.0.2.2 9000"), network="sealed"))
    assert r.returncode != 0, f"internal network reached outside: {r.stdout}"
    assert "default" not in r.stdout, "no default route on an internal network"
    assert host.run("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"

    # a normal network reaches the outside, which sees the test host's address
    r = nrt.run(net_bundle(bundle, sh("nc -w 3 192.0.2.2 9000"), network="default"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == OUTSIDE_HOST_IP, f"outside saw {r.stdout!r}: not masqueraded"

    # even with a default route added by hand, the firewall drops what leaves an internal network
    cid, _ = server(nrt, net_bundle(bundle, sh("sleep 60"), network="sealed", ip="10.75.0.9"))
    pid = nrt.pid(cid)
    host.run("nsenter", "-t", pid, "-n", "ip", "route", "add", "default", "via", "10.75.0.1")
    r = host.run("nsenter", "-t", pid, "-n", "busybox", "nc", "-w", "2", OUTSIDE_IP, "9000", check=False,
                 input="")
    assert r.returncode != 0 and OUTSIDE_HOST_IP not in r.stdout, f"internal network reached outside: {r.stdout}"
    assert nrt.inspect("sealed")["bridge"] in json.dumps(nrt.nft_set("internal"))


@pytest.mark.parametrize("kind", ["isolated", "no-isolate", "internal"])
def test_attach_restores_missing_firewall_elements(nrt, host, bundle, kind):
    """Attach skips nftables when the network's elements are all in the table (read back
    over nfnetlink); each one removed by hand is therefore noticed and put back."""
    subnet = {"isolated": "10.78.0.0/24", "no-isolate": "10.79.0.0/24", "internal": "10.80.0.0/24"}[kind]
    opts = {"isolated": [], "no-isolate": ["--no-isolate"], "internal": ["--internal"]}[kind]
    nrt.ok("network", "create", "fw", "--subnet", subnet, *opts)
    br = nrt.inspect("fw")["bridge"]
    q = f'"{br}"'
    elements = [("bridges", q), ("same", f"{q} . {q}")]
    elements += {"isolated": [("isolated", q), ("masq", subnet)], "no-isolate": [("masq", subnet)],
                 "internal": [("internal", q)]}[kind]
    b = net_bundle(bundle, ["/bin/true"], network="fw")
    assert nrt.run(b).returncode == 0

    def present(set_name):
        return br in json.dumps(nrt.nft_set(set_name)) or subnet.split("/")[0] in json.dumps(nrt.nft_set(set_name))

    for set_name, elem in elements:
        assert present(set_name), f"{set_name} lacks the network's element after the first attach"
        host.run("nft", "delete", "element", "ip", "run-container", set_name, "{", elem, "}")
        assert not present(set_name)
        r = nrt.run(b)
        assert r.returncode == 0, r.stderr
        assert present(set_name), f"attach did not put back {elem} in {set_name}"
    if kind == "no-isolate":
        assert not present("isolated")
    if kind == "internal":
        assert not present("masq")


def test_attach_and_detach_read_only_their_own_lease(nrt, host, bundle):
    """A container's attach and delete read its own lease by address (recorded in its
    state), not every lease of the network: they cost the same with 100 containers on
    it, and another lease that cannot be read does not get in their way."""
    nrt.ok("network", "create", "one", "--subnet", "10.81.0.0/24")
    assert nrt.run(net_bundle(bundle, ["/bin/true"], network="one")).returncode == 0  # makes the store
    os.mkdir(os.path.join(nrt.netroot, "ipam", "one", "10.81.0.200"))  # not a readable lease
    cid, _ = server(nrt, net_bundle(bundle, sh("sleep 60"), network="one", ip="10.81.0.7"))
    with open(os.path.join(nrt.root, cid, "network.json")) as f:
        assert json.load(f)["address"] == "10.81.0.7"
    r = nrt.host.run("nsenter", "-t", nrt.pid(cid), "-n", "ip", "-4", "-o", "addr", "show", "eth0")
    assert "10.81.0.7/24" in r.stdout
    nrt.ok("delete", "--force", cid)
    assert nrt.leases("one") == ["10.81.0.200"]


def test_attach_with_a_user_namespace(nrt, host, bundle):
    """With a new user namespace the init makes its network namespace itself (the user
    namespace must own it), so the network is attached when the init stops at HOOKS
    rather than right after the clone; and the generated /etc/hosts and resolv.conf in
    the state directory, which the container's root may not enter, are still bound."""
    b = net_bundle(bundle, sh("ip -4 -o addr show eth0; ip route; cat /etc/hosts"), network="default",
                   ip="10.90.0.77")
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    for f in ("hosts", "resolv.conf"):  # mount points: the host's root owns this rootfs
        open(os.path.join(b.rootfs, "etc", f), "a").close()
    r = nrt.run(b)
    assert r.returncode == 0, r.stderr
    assert "inet 10.90.0.77/24" in r.stdout
    assert "default via 10.90.0.1 dev eth0" in r.stdout
    assert "10.90.0.77\t" in r.stdout, "the generated /etc/hosts"
    assert nrt.leases() == []


def test_published_port(nrt, host, outside, bundle):
    b = net_bundle(bundle, sh("exec 3>&1; nc -ll -p 80 -e sh -c 'cat >&3'"), ports="8080:80/tcp,5353:53/udp")
    cid, out = server(nrt, b)
    wait_for(lambda: ":80 " in host.run("nsenter", "-t", nrt.pid(cid), "-n", "ss", "-ltn").stdout,
             what="the server in the container")
    send = ("import socket,sys\ns=socket.create_connection((sys.argv[1],8080),timeout=5)\n"
            "s.sendall(sys.argv[2].encode()+b'\\n')\ns.close()\n")
    host.run("python3", "-c", send, "127.0.0.1", "via-loopback")
    wait_for(lambda: "via-loopback" in read(out), what="data through the host's loopback")
    host.run("python3", "-c", send, "10.90.0.1", "via-gateway")
    wait_for(lambda: "via-gateway" in read(out), what="data through the bridge address")
    outside.run("python3", "-c", send, OUTSIDE_HOST_IP, "from-outside")
    wait_for(lambda: "from-outside" in read(out), what="data from the outside")
    assert sorted(nrt.claims()) == ["tcp-8080", "udp-5353"]
    ports = nrt.inspect("default")["containers"][0]["ports"]
    assert ports == ["8080:80/tcp", "5353:53/udp"]

    # the same host port cannot be published twice
    r = nrt.create(net_bundle(bundle, sh("sleep 1"), ports="8080:81"), check=False)
    assert r.returncode != 0
    assert "publish port 8080/tcp: already published by container" in r.stderr
    assert len(nrt.leases()) == 1, "the failed create released its lease"


def test_delete_leaves_nothing(nrt, host, bundle):
    b = net_bundle(bundle, sh("sleep 60"), ports="8081:80")
    cid, _ = server(nrt, b)
    veth = nrt.inspect("default")["containers"][0]["veth"]
    assert veth in host.links()
    assert nrt.leases() and nrt.claims() and nrt.nft_set("ports")
    nrt.ok("delete", "--force", cid)
    assert veth not in host.links()
    assert nrt.leases() == []
    assert nrt.claims() == []
    assert nrt.nft_set("ports") == []
    assert nrt.inspect("default")["containers"] == []
    # the network itself stays: its elements are still there
    assert "rc0" in json.dumps(nrt.nft_set("bridges"))


def test_prune_after_lost_state(nrt, host, bundle):
    """A runtime that lost a container (state directory gone, as after a crash) leaves a
    lease, a claim and an nft element that `network prune` releases."""
    b = net_bundle(bundle, sh("sleep 60"), ports="8082:80")
    cid, _ = server(nrt, b)
    pid = nrt.pid(cid)
    veth = nrt.inspect("default")["containers"][0]["veth"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the container to die")
    shutil.rmtree(os.path.join(nrt.root, cid))
    assert nrt.leases() and nrt.claims() and nrt.nft_set("ports")
    r = nrt.ok("network", "prune")
    assert "released 1 attachment" in r.stdout
    assert nrt.leases() == [] and nrt.claims() == [] and nrt.nft_set("ports") == []
    assert veth not in host.links()
    r = nrt.ok("network", "gc")
    assert "released 0 attachments" in r.stdout


def test_network_rm_refused_while_in_use(nrt, host, bundle):
    nrt.ok("network", "create", "busy", "--subnet", "10.76.0.0/24", "--bridge", "rcbusy")
    cid, _ = server(nrt, net_bundle(bundle, sh("sleep 60"), network="busy"))
    r = nrt.cmd("network", "rm", "busy")
    assert r.returncode == 1
    assert f'network "busy" is in use by container "{cid}"' in r.stderr
    assert "rcbusy" in host.links()
    nrt.ok("delete", "--force", cid)
    nrt.ok("network", "rm", "busy")
    assert "rcbusy" not in host.links()
    assert "rcbusy" not in json.dumps(nrt.nft_set("bridges"))
    names = [n["name"] for n in json.loads(nrt.ok("network", "ls", "--format", "json").stdout)]
    assert names == ["default"]
    r = nrt.cmd("network", "rm", "default")
    assert "the default network cannot be removed" in r.stderr


def test_bad_input(nrt, host, bundle):
    nrt.ok("network", "create", "one", "--subnet", "10.78.0.0/24")
    cases = [
        (["network", "create", "two", "--subnet", "10.78.0.0/16"],
         'subnet "10.78.0.0/16" overlaps "10.78.0.0/24" of network "one"'),
        (["network", "create", "two", "--subnet", "10.79.0.0/31"], "is too small: a network needs at least a /30"),
        (["network", "create", "two", "--subnet", "10.79.0.0/24", "--gateway", "10.80.0.1"],
         'address "10.80.0.1" is outside the subnet "10.79.0.0/24"'),
        (["network", "create", "one"], 'network "one" already exists'),
        (["network", "create", "bad/name"], 'invalid network name "bad/name"'),
        (["network", "inspect", "nope"], 'network "nope" does not exist'),
    ]
    for args, msg in cases:
        r = nrt.cmd(*args)
        assert r.returncode == 1, f"{args} succeeded"
        assert msg in r.stderr, f"{args}: {r.stderr}"
    container_cases = [
        ({"network": "one", "ip": "10.99.0.5"}, 'address "10.99.0.5" is outside the subnet "10.78.0.0/24"'),
        ({"network": "one", "ip": "10.78.0.1"}, 'address "10.78.0.1" is the gateway'),
        ({"ports": "8080:80/sctp"}, 'invalid port "8080:80/sctp": protocol must be tcp or udp'),
        ({"ports": "99999:80"}, "ports are numbers 1..65535"),
        ({"network": "missing"}, 'network "missing" does not exist'),
    ]
    for ann, msg in container_cases:
        r = nrt.create(net_bundle(bundle, sh("true"), **ann), check=False)
        assert r.returncode == 1, f"{ann} accepted"
        assert msg in r.stderr, f"{ann}: {r.stderr}"
        assert not os.path.exists(os.path.join(nrt.root, r.cid)), "the failed create left its state"
    assert nrt.leases("one") == [] and nrt.leases() == []
    assert [l for l in host.links() if l.startswith("rcv")] == []


def test_no_networking_without_annotation_or_with_netns_path(nrt, host, bundle):
    r = nrt.run(bundle(args=sh("ip -o link | grep -c .")))
    assert r.returncode == 0 and r.stdout.strip() == "1", f"only lo expected: {r.stdout}"
    assert not os.path.exists(nrt.netroot), "no annotation: the network state is not even created"
    other = NetNs()
    try:
        b = net_bundle(bundle, sh("ip -o link | grep -c ."), network="default")
        b.set_namespace("network", path=f"/proc/{other.pid}/ns/net")
        r = nrt.run(b)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "1", "a joined netns is left alone"
        assert nrt.leases() == [] and "rc0" not in host.links()
    finally:
        other.close()


def test_concurrent_creates_get_distinct_addresses(nrt, host, bundle):
    n = 100
    b = net_bundle(bundle, sh("sleep 120"), network="default")
    b.save()
    ids = [nrt.new_id("p") for _ in range(n)]

    def create(cid):
        # files, not pipes: the container keeps its stdio open for as long as it lives
        err = os.path.join(nrt.workdir, f"{cid}.err")
        with open(err, "w") as fe:
            r = nrt.cmd("create", "--bundle", b.path, cid, timeout=120, stdout=subprocess.DEVNULL, stderr=fe)
        r.stderr = read(err)
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(create, ids))
    failed = [r.stderr for r in results if r.returncode != 0]
    assert not failed, f"{len(failed)} creates failed, e.g. {failed[0]}"
    addrs = [c["address"] for c in nrt.inspect("default")["containers"]]
    assert len(addrs) == n and len(set(addrs)) == n
    assert len([l for l in host.links() if l.startswith("rcv")]) == n
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
        list(ex.map(lambda cid: nrt.cmd("delete", "--force", cid, timeout=60), ids))
    assert nrt.leases() == []
    assert [l for l in host.links() if l.startswith("rcv")] == []
