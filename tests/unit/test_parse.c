/* specs/parse.c: every fixture of data/invalid fails with the text of its .err sidecar,
 * every fixture of data/valid parses, and the lowered values of data/valid/full.json. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"
#include "specs/json.h"
#include "specs/names.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must point at tests/unit/data"
#endif

/* ---- helpers ------------------------------------------------------------------------- */

struct fixture {
        char name[128]; /* file name without ".json" */
};

static int fixture_cmp(const void *a, const void *b)
{
        return strcmp(((const struct fixture *)a)->name, ((const struct fixture *)b)->name);
}

/* The fixtures of data/<sub>, in criterion's shared memory so that each test sees them. */
static struct fixture *list_fixtures(const char *sub, size_t *ret_n)
{
        char dir[PATH_MAX];
        struct fixture *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/%s", TEST_DATA_DIR, sub);
        d = opendir(dir);
        if (d == NULL)
                return NULL;
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);

                if (len <= 5 || len - 5 >= sizeof(v->name) || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                if (n == cap) {
                        struct fixture *nv = cr_malloc(sizeof(*nv) * (cap ? cap * 2 : 64));

                        if (nv == NULL)
                                break;
                        if (v != NULL)
                                memcpy(nv, v, sizeof(*v) * n);
                        cr_free(v);
                        v = nv;
                        cap = cap ? cap * 2 : 64;
                }
                memcpy(v[n].name, de->d_name, len - 5);
                v[n].name[len - 5] = '\0';
                n++;
        }
        closedir(d);
        qsort(v, n, sizeof(*v), fixture_cmp);
        *ret_n = n;
        return v;
}

static void free_fixtures(struct criterion_test_params *crp)
{
        cr_free(crp->params);
}

static char *read_text(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;
        long size;

        cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)size + 1);
        cr_assert_not_null(buf);
        len = fread(buf, 1, (size_t)size, f);
        fclose(f);
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return buf;
}

static struct oci_config *parse_ok(const char *json)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;

        if (oci_config_parse(json, strlen(json), "config.json", &c, &err) < 0)
                cr_assert_fail("unexpected error: %s", err->msg);
        return c;
}

static struct oci_config *load_valid(const char *name)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/valid/%s.json", TEST_DATA_DIR, name);
        if (oci_config_parse_file(path, &c, &err) < 0)
                cr_assert_fail("%s", err->msg);
        return c;
}

/* ---- fixtures ------------------------------------------------------------------------ */

ParameterizedTestParameters(invalid, fixture)
{
        size_t n = 0;
        struct fixture *v = list_fixtures("invalid", &n);

        return cr_make_param_array(struct fixture, v, n, free_fixtures);
}

ParameterizedTest(struct fixture *f, invalid, fixture)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *data = NULL, *expected = NULL;
        struct oci_config *c = (struct oci_config *)0x1;
        char path[PATH_MAX];
        size_t len;

        snprintf(path, sizeof(path), "%s/invalid/%s.err", TEST_DATA_DIR, f->name);
        expected = read_text(path, NULL);
        expected[strcspn(expected, "\n")] = '\0';
        cr_assert(expected[0] != '\0', "%s: empty .err", f->name);
        snprintf(path, sizeof(path), "%s/invalid/%s.json", TEST_DATA_DIR, f->name);
        data = read_text(path, &len);

        cr_assert_eq(oci_config_parse(data, len, "config.json", &c, &err), -1, "%s: parsed", f->name);
        cr_assert_not_null(err);
        cr_assert_not_null(err->msg);
        cr_assert(strncmp(err->msg, "config.json: ", 13) == 0, "%s: origin missing in \"%s\"", f->name,
                  err->msg);
        cr_assert(strstr(err->msg, expected) != NULL, "%s:\n  got      \"%s\"\n  expected \"%s\"", f->name,
                  err->msg, expected);
        cr_assert_eq(c, (struct oci_config *)0x1, "output parameter touched on failure");
}

Test(invalid, enough_fixtures)
{
        char dir[PATH_MAX];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/invalid", TEST_DATA_DIR);
        d = opendir(dir);
        cr_assert_not_null(d);
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);

                n += len > 4 && strcmp(de->d_name + len - 4, ".err") == 0;
        }
        closedir(d);
        cr_assert_geq(n, 50, "only %zu invalid fixtures", n);
}

ParameterizedTestParameters(valid, fixture)
{
        size_t n = 0;
        struct fixture *v = list_fixtures("valid", &n);

        return cr_make_param_array(struct fixture, v, n, free_fixtures);
}

ParameterizedTest(struct fixture *f, valid, fixture)
{
        struct oci_config *c = load_valid(f->name);

        cr_assert_not_null(c->oci_version);
        oci_config_free(c);
}

/* ---- lowered values of full.json ------------------------------------------------------------ */

Test(full, mounts)
{
        struct oci_config *c = load_valid("full");

        cr_assert_eq(c->n_mounts, 3);
        cr_assert_str_eq(c->mounts[0].destination, "/proc");
        cr_assert_str_eq(c->mounts[0].type, "proc");
        cr_assert_eq(c->mounts[0].flags, 0);
        cr_assert_null(c->mounts[0].data);
        cr_assert(!c->mounts[0].is_bind);

        /* "ro", "nosuid", "rbind", "rprivate" */
        cr_assert_eq(c->mounts[1].flags, MS_RDONLY | MS_NOSUID | MS_BIND | MS_REC, "flags %#lx",
                     c->mounts[1].flags);
        cr_assert_eq(c->mounts[1].propagation, MS_PRIVATE | MS_REC);
        cr_assert(c->mounts[1].is_bind);
        cr_assert_null(c->mounts[1].data);
        cr_assert_eq(c->mounts[1].n_options, 4);
        cr_assert_null(c->mounts[1].options[4]);

        cr_assert_eq(c->mounts[2].flags, MS_NOSUID | MS_NODEV);
        cr_assert_str_eq(c->mounts[2].data, "mode=1777,size=65536k");
        cr_assert(c->mounts[2].attr_set & MOUNT_ATTR_NOEXEC);
        cr_assert(!c->mounts[2].is_bind);
        oci_config_free(c);
}

Test(full, process)
{
        struct oci_config *c = load_valid("full");
        struct oci_process *p = &c->process;

        cr_assert(c->has_process);
        cr_assert(p->terminal);
        cr_assert(p->console_size.present);
        cr_assert_eq(p->console_size.height, 25);
        cr_assert_eq(p->console_size.width, 80);
        cr_assert_eq(p->user.uid, 1000);
        cr_assert_eq(p->user.gid, 1001);
        cr_assert(p->user.has_umask);
        cr_assert_eq(p->user.umask, 022);
        cr_assert_eq(p->user.n_additional_gids, 2);
        cr_assert_eq(p->user.additional_gids[0], 5);
        cr_assert_eq(p->user.additional_gids[1], 4294967294u);
        cr_assert_eq(p->n_args, 3);
        cr_assert_str_eq(p->args[2], "echo hello");
        cr_assert_null(p->args[3]);
        cr_assert_eq(p->n_env, 3);
        cr_assert_str_eq(p->env[2], "EMPTY=");
        cr_assert_str_eq(p->cwd, "/home/user");
        cr_assert(p->no_new_privileges);
        cr_assert_str_eq(p->apparmor_profile, "acme_secure_profile");
        cr_assert_str_eq(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
        cr_assert(p->has_oom_score_adj);
        cr_assert_eq(p->oom_score_adj, -500);
        oci_config_free(c);
}

Test(full, capabilities)
{
        struct oci_config *c = load_valid("full");
        const struct oci_capabilities *caps = &c->process.caps;
        uint64_t chown = UINT64_C(1) << CAP_CHOWN, kill = UINT64_C(1) << CAP_KILL;

        cr_assert(caps->present);
        cr_assert_eq(caps->bounding, chown | kill | UINT64_C(1) << CAP_NET_BIND_SERVICE | UINT64_C(1) << 40,
                     "bounding %#llx", (unsigned long long)caps->bounding);
        cr_assert_eq(caps->effective, chown | kill);
        cr_assert_eq(caps->inheritable, 0);
        cr_assert_eq(caps->permitted, chown | kill | UINT64_C(1) << CAP_SYS_ADMIN);
        cr_assert_eq(caps->ambient, kill);
        oci_config_free(c);
}

Test(full, rlimits_exact_u64)
{
        struct oci_config *c = load_valid("full");

        cr_assert_eq(c->process.n_rlimits, 2);
        cr_assert_eq(c->process.rlimits[0].resource, RLIMIT_NOFILE);
        cr_assert_eq(c->process.rlimits[0].soft, 1024);
        cr_assert_eq(c->process.rlimits[0].hard, 4096);
        cr_assert_eq(c->process.rlimits[1].resource, RLIMIT_CORE);
        cr_assert_eq(c->process.rlimits[1].soft, UINT64_C(18446744073709551615));
        cr_assert_eq(c->process.rlimits[1].hard, UINT64_MAX);
        oci_config_free(c);
}

Test(full, scheduler_and_io_priority)
{
        struct oci_config *c = load_valid("full");
        const struct oci_scheduler *s = &c->process.scheduler;

        cr_assert(s->present);
        cr_assert_eq(s->policy, 6 /* SCHED_DEADLINE */);
        cr_assert_eq(s->nice, -5);
        cr_assert_eq(s->flags, 0x01 | 0x02); /* RESET_ON_FORK | RECLAIM */
        cr_assert_eq(s->runtime, 10000000);
        cr_assert_eq(s->deadline, 20000000);
        cr_assert_eq(s->period, 30000000);
        cr_assert(c->process.io_priority.present);
        cr_assert_eq(c->process.io_priority.klass, 2 /* IOPRIO_CLASS_BE */);
        cr_assert_eq(c->process.io_priority.priority, 4);
        oci_config_free(c);
}

Test(full, hooks_and_annotations)
{
        struct oci_config *c = load_valid("full");
        const struct oci_hook *h = &c->hooks[OCI_HOOK_PRESTART].v[0];

        cr_assert_eq(c->hooks[OCI_HOOK_PRESTART].n, 1);
        cr_assert_str_eq(h->path, "/usr/bin/prestart");
        cr_assert_eq(h->n_args, 2);
        cr_assert_str_eq(h->env[0], "A=1");
        cr_assert_eq(h->timeout, 5);
        cr_assert_eq(c->hooks[OCI_HOOK_CREATE_RUNTIME].n, 2);
        cr_assert_eq(c->hooks[OCI_HOOK_CREATE_RUNTIME].v[0].timeout, 0);
        cr_assert_eq(c->hooks[OCI_HOOK_CREATE_CONTAINER].n, 1);
        cr_assert_eq(c->hooks[OCI_HOOK_START_CONTAINER].n, 1);
        cr_assert_eq(c->hooks[OCI_HOOK_POSTSTART].n, 1);
        cr_assert_str_eq(c->hooks[OCI_HOOK_POSTSTOP].v[0].path, "/usr/bin/pstop");
        cr_assert_eq(c->n_annotations, 2);
        cr_assert_str_eq(c->annotations[1].key, "com.example.key2");
        cr_assert_str_eq(c->annotations[1].value, "value2");
        cr_assert_str_eq(c->hostname, "box");
        cr_assert_str_eq(c->domainname, "example.org");
        cr_assert_str_eq(c->root.path, "rootfs");
        cr_assert(c->root.readonly);
        oci_config_free(c);
}

Test(full, namespaces_and_mappings)
{
        struct oci_config *c = load_valid("full");
        const struct oci_linux *l = &c->linux_;

        cr_assert(c->has_linux);
        cr_assert_eq(l->n_namespaces, 8);
        cr_assert_eq(l->namespaces[1].type, OCI_NS_NETWORK);
        cr_assert_eq(l->namespaces[1].clone_flag, CLONE_NEWNET);
        cr_assert_str_eq(l->namespaces[1].path, "/var/run/netns/foo");
        cr_assert_eq(l->namespaces[5].clone_flag, CLONE_NEWUSER);
        cr_assert_eq(l->namespaces[7].type, OCI_NS_TIME);
        cr_assert_null(l->namespaces[7].path, "an empty path means a new namespace");
        cr_assert_eq(oci_config_namespace(c, OCI_NS_UTS), &l->namespaces[4]);
        cr_assert_eq(l->n_uid_mappings, 1);
        cr_assert_eq(l->uid_mappings[0].host_id, 100000);
        cr_assert_eq(l->uid_mappings[0].size, 65536);
        cr_assert_eq(l->n_gid_mappings, 2);
        cr_assert_eq(l->gid_mappings[1].container_id, 65536);
        cr_assert(l->time_monotonic.set);
        cr_assert_eq(l->time_monotonic.secs, -3600);
        cr_assert_eq(l->time_monotonic.nanosecs, 500);
        cr_assert_eq(l->time_boottime.nanosecs, 999999999);
        cr_assert_eq(l->rootfs_propagation, MS_SLAVE | MS_REC);
        cr_assert(l->has_personality);
        cr_assert_eq(l->personality, PER_LINUX32);
        cr_assert_str_eq(l->cgroups_path, "/myRuntime/myContainer");
        cr_assert_str_eq(l->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811");
        cr_assert_eq(l->n_masked_paths, 2);
        cr_assert_eq(l->n_readonly_paths, 2);
        cr_assert_eq(l->n_sysctl, 6);
        oci_config_free(c);
}

Test(full, devices)
{
        struct oci_config *c = load_valid("full");
        const struct oci_device *d = c->linux_.devices;

        cr_assert_eq(c->linux_.n_devices, 4);
        cr_assert_eq(d[0].type, 'c');
        cr_assert_eq(d[0].major, 10);
        cr_assert_eq(d[0].minor, 229);
        cr_assert(d[0].has_file_mode);
        cr_assert_eq(d[0].file_mode, 0666);
        cr_assert(d[0].has_uid && d[0].has_gid);
        cr_assert_eq(d[1].type, 'b');
        cr_assert(!d[1].has_file_mode && !d[1].has_uid);
        cr_assert_eq(d[2].type, 'p');
        cr_assert_eq(d[3].type, 'u');
        cr_assert_eq(d[3].major, 4095);
        cr_assert_eq(d[3].minor, 1048575);
        oci_config_free(c);
}

Test(full, resources)
{
        struct oci_config *c = load_valid("full");
        const struct oci_resources *r = &c->linux_.resources;

        cr_assert(r->present);
        cr_assert_eq(r->n_devices, 3);
        cr_assert(!r->devices[0].allow);
        cr_assert_eq(r->devices[0].type, 'a');
        cr_assert_eq(r->devices[0].major, -1);
        cr_assert_str_eq(r->devices[0].access, "rwm");
        cr_assert_eq(r->devices[2].minor, -1);
        cr_assert(r->has_memory);
        cr_assert(r->memory.limit.set && r->memory.limit.v == 536870912);
        cr_assert(r->memory.swap.set && r->memory.swap.v == -1);
        cr_assert(r->memory.swappiness.set && r->memory.swappiness.v == 0);
        cr_assert(r->memory.has_disable_oom_killer && !r->memory.disable_oom_killer);
        cr_assert(r->memory.has_use_hierarchy && r->memory.use_hierarchy);
        cr_assert(r->memory.check_before_update);
        cr_assert(r->has_cpu);
        cr_assert_eq(r->cpu.shares.v, 1024);
        cr_assert_eq(r->cpu.quota.v, 1000000);
        cr_assert(r->cpu.idle.set);
        cr_assert_str_eq(r->cpu.cpus, "2-3");
        cr_assert(r->has_pids);
        cr_assert_eq(r->pids_limit, 32771);
        cr_assert(r->has_blockio);
        cr_assert_eq(r->blockio.weight.v, 10);
        cr_assert_eq(r->blockio.n_weight_devices, 2);
        cr_assert(!r->blockio.weight_devices[1].leaf_weight.set);
        cr_assert_eq(r->blockio.throttle_read_bps[0].rate, 600);
        cr_assert_eq(r->blockio.throttle_write_iops[0].rate, UINT64_MAX);
        cr_assert_eq(r->blockio.throttle_write_iops[0].minor, 16);
        cr_assert_eq(r->n_hugepages, 2);
        cr_assert_str_eq(r->hugepages[1].page_size, "1GB");
        cr_assert_eq(r->n_unified, 2);
        cr_assert_str_eq(r->unified[0].key, "io.max");
        cr_assert(!r->has_network && !r->has_rdma);
        oci_config_free(c);
}

Test(full, seccomp)
{
        struct oci_config *c = load_valid("full");
        const struct oci_seccomp *s = &c->linux_.seccomp;
        const struct oci_seccomp_arg *a;

        cr_assert(s->present);
        cr_assert_eq(s->default_action, OCI_SECCOMP_ERRNO);
        cr_assert(s->has_default_errno_ret);
        cr_assert_eq(s->default_errno_ret, 1);
        cr_assert_eq(s->n_architectures, 3);
        cr_assert_str_eq(s->architectures[1], "SCMP_ARCH_X86");
        cr_assert_eq(s->flags, (1u << 1) | (1u << 2)); /* LOG | SPEC_ALLOW */
        cr_assert_str_eq(s->listener_path, "/run/seccomp-agent.socket");
        cr_assert_str_eq(s->listener_metadata, "metadata");
        cr_assert_eq(s->n_syscalls, 5);
        cr_assert_eq(s->syscalls[0].n_names, 3);
        cr_assert_eq(s->syscalls[0].action, OCI_SECCOMP_ALLOW);
        cr_assert(s->syscalls[1].has_errno_ret);
        cr_assert_eq(s->syscalls[1].errno_ret, 38);
        cr_assert_eq(s->syscalls[2].n_args, 2);
        a = s->syscalls[2].args;
        cr_assert_eq(a[0].index, 0);
        cr_assert_eq(a[0].value, 8);
        cr_assert_eq(a[0].op, OCI_SECCOMP_OP_EQ);
        cr_assert_eq(a[1].index, 5);
        cr_assert_eq(a[1].value, UINT64_MAX);
        cr_assert_eq(a[1].value_two, UINT64_C(4294967296));
        cr_assert_eq(a[1].op, OCI_SECCOMP_OP_MASKED_EQ);
        cr_assert_eq(s->syscalls[3].action, OCI_SECCOMP_NOTIFY);
        cr_assert_eq(s->syscalls[4].action, OCI_SECCOMP_KILL_PROCESS);
        oci_config_free(c);
}

/* ---- smaller documents ----------------------------------------------------------------- */

Test(parse, minimal_and_absent_sections)
{
        struct oci_config *c = parse_ok("{\"ociVersion\": \"1.0.0-rc5\"}");

        cr_assert_str_eq(c->oci_version, "1.0.0-rc5");
        cr_assert(!c->has_process);
        cr_assert(!c->has_linux);
        cr_assert_null(c->root.path);
        cr_assert_eq(c->n_mounts, 0);
        cr_assert_null(oci_config_namespace(c, OCI_NS_PID));
        oci_config_free(c);
}

Test(parse, runc_default_shape)
{
        struct oci_config *c = load_valid("runc-default");

        cr_assert_eq(c->n_mounts, 7);
        cr_assert_str_eq(c->mounts[1].data, "mode=755,size=65536k");
        cr_assert_eq(c->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
        cr_assert_str_eq(c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        cr_assert_eq(c->mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        cr_assert_eq(c->linux_.n_namespaces, 6);
        cr_assert_eq(c->linux_.resources.n_devices, 1);
        cr_assert_str_eq(c->linux_.resources.devices[0].access, "rwm");
        cr_assert_eq(c->process.caps.inheritable, 0);
        oci_config_free(c);
}

Test(parse, mount_bind_type_and_empty_option)
{
        struct oci_config *c =
                parse_ok("{\"ociVersion\": \"1.2.0\", \"mounts\": [{\"destination\": \"/a\", "
                         "\"type\": \"bind\", \"source\": \"/b\", \"options\": [\"\", \"rw\"]}]}");

        cr_assert(c->mounts[0].is_bind);
        cr_assert_null(c->mounts[0].data);
        cr_assert_eq(c->mounts[0].flags & MS_RDONLY, 0);
        oci_config_free(c);
}

Test(parse, unknown_properties_are_ignored)
{
        struct oci_config *c =
                parse_ok("{\"ociVersion\": \"1.2.0\", \"vm\": {\"x\": 1}, "
                         "\"linux\": {\"netDevices\": {\"eth0\": {}}, \"newThing\": [1]}, "
                         "\"process\": {\"args\": [\"a\"], \"cwd\": \"/\", \"fancy\": null}}");

        cr_assert(c->has_linux);
        cr_assert_eq(c->linux_.n_namespaces, 0);
        oci_config_free(c);
}

Test(parse, error_names_origin_and_path)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;
        const char *doc = "{\"ociVersion\": \"1.2.0\", \"linux\": {\"namespaces\": "
                          "[{\"type\": \"pid\"}, {\"type\": \"uts\"}, {\"type\": \"netwrok\"}]}}";

        cr_assert_eq(oci_config_parse(doc, strlen(doc), "config.json", &c, &err), -1);
        cr_assert_str_eq(err->msg, "config.json: .linux.namespaces[2].type: unknown namespace \"netwrok\"");
        cr_assert_null(c);
}

Test(parse, uid_type_message_exact)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;
        const char *doc = "{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"a\"], \"cwd\": \"/\", "
                          "\"user\": {\"uid\": \"0\", \"gid\": 0}}}";

        cr_assert_eq(oci_config_parse(doc, strlen(doc), "bundle/config.json", &c, &err), -1);
        cr_assert_str_eq(
                err->msg,
                "bundle/config.json: .process.user.uid: expected a non-negative integer, got string");
}

Test(parse, huge_document_refused)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *big = malloc(JSON_MAX_INPUT + 2);
        struct oci_config *c = NULL;

        cr_assert_not_null(big);
        memset(big, ' ', JSON_MAX_INPUT + 1);
        big[0] = '{';
        big[JSON_MAX_INPUT] = '}';
        big[JSON_MAX_INPUT + 1] = '\0';
        cr_assert_eq(oci_config_parse(big, JSON_MAX_INPUT + 1, "big.json", &c, &err), -1);
        cr_assert(strstr(err->msg, "big.json") != NULL, "%s", err->msg);
}

/* ---- files ----------------------------------------------------------------------------- */

Test(file, missing_file_names_path_and_errno)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;

        cr_assert_eq(oci_config_parse_file("/nonexistent/dir/config.json", &c, &err), -1);
        cr_assert_eq(err->status, ENOENT);
        cr_assert(strstr(err->msg, "/nonexistent/dir/config.json") != NULL, "%s", err->msg);
        cr_assert(strstr(err->msg, strerror(ENOENT)) != NULL, "%s", err->msg);
        cr_assert_null(c);
}

static char *write_temp(const char *content, off_t size)
{
        char *path = strdup("/tmp/test_parse.XXXXXX");
        int fd = mkstemp(path);

        cr_assert_geq(fd, 0);
        if (content != NULL)
                cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        if (size > 0)
                cr_assert_eq(ftruncate(fd, size), 0);
        close(fd);
        return path;
}

Test(file, errors_use_the_path_as_origin)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path =
                write_temp("{\"ociVersion\": \"1.2.0\", \"linux\": {\"intelRdt\": {}}}", 0);
        struct oci_config *c = NULL;
        char expected[256];

        snprintf(expected, sizeof(expected), "%s: .linux.intelRdt: intelRdt is not supported", path);
        cr_assert_eq(oci_config_parse_file(path, &c, &err), -1);
        unlink(path);
        cr_assert_str_eq(err->msg, expected);
}

Test(file, oversized_file_refused)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *path = write_temp("{", (off_t)JSON_MAX_INPUT + 100); /* sparse */
        struct oci_config *c = NULL;

        cr_assert_eq(oci_config_parse_file(path, &c, &err), -1);
        unlink(path);
        cr_assert(strstr(err->msg, path) != NULL, "%s", err->msg);
        cr_assert(strstr(err->msg, "larger than") != NULL, "%s", err->msg);
}

Test(file, directory_is_an_error)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_config *c = NULL;

        cr_assert_eq(oci_config_parse_file(TEST_DATA_DIR, &c, &err), -1);
        cr_assert_eq(err->status, EISDIR, "%s", err->msg);
}

/* ---- process documents (exec --process) ------------------------------------------------------ */

Test(process, parse_ok)
{
        _cleanup_error_ rc_error_t err = NULL;
        struct oci_process *p = NULL;
        const char *doc =
                "{\"args\": [\"/bin/ls\", \"-l\"], \"cwd\": \"/tmp\", \"env\": [\"A=b\"], "
                "\"user\": {\"uid\": 5, \"gid\": 6}, \"capabilities\": {\"bounding\": [\"CAP_KILL\"]}, "
                "\"rlimits\": [{\"type\": \"RLIMIT_NPROC\", \"soft\": 10, \"hard\": 20}]}";

        if (oci_process_parse(doc, strlen(doc), "process.json", &p, &err) < 0)
                cr_assert_fail("%s", err->msg);
        cr_assert_eq(p->n_args, 2);
        cr_assert_str_eq(p->cwd, "/tmp");
        cr_assert_eq(p->user.uid, 5);
        cr_assert_eq(p->caps.bounding, UINT64_C(1) << CAP_KILL);
        cr_assert_eq(p->rlimits[0].resource, RLIMIT_NPROC);
        oci_process_free(p);
}

Test(process, errors_are_relative_to_the_document)
{
        static const struct {
                const char *doc, *expected;
        } cases[] = {
                {"{\"cwd\": \"/\"}", "process.json: .args: missing required property"},
                {"{\"args\": [], \"cwd\": \"/\"}", "process.json: .args: must not be empty"},
                {"{\"args\": [\"a\"], \"cwd\": \"x\"}", "process.json: .cwd: must be an absolute path"},
                {"{\"args\": [\"a\"], \"cwd\": \"/\", \"user\": {\"uid\": -3, \"gid\": 0}}",
                 "process.json: .user.uid: expected a non-negative integer, got -3"},
                {"{\"args\": [\"a\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": 1, "
                 "\"hard\": 1}, {\"type\": \"RLIMIT_CPU\", \"soft\": 1, \"hard\": 1}]}",
                 "process.json: .rlimits[1].type: duplicate rlimit \"RLIMIT_CPU\""},
                {"[]", "process.json: expected an object, got array"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_error_ rc_error_t err = NULL;
                struct oci_process *p = NULL;

                cr_assert_eq(oci_process_parse(cases[i].doc, strlen(cases[i].doc), "process.json", &p, &err),
                             -1, "case %zu parsed", i);
                cr_assert_str_eq(err->msg, cases[i].expected);
                cr_assert_null(p);
        }
}

Test(free, null_is_fine)
{
        struct oci_process p;

        oci_config_free(NULL);
        oci_process_free(NULL);
        oci_process_clear(NULL);
        memset(&p, 0, sizeof(p));
        oci_process_clear(&p);
}

/* ---- what engines write ------------------------------------------------------------------ */

Test(engines, podman_mount_option_words)
{
        struct oci_config *c = load_valid("podman-mount-options");

        cr_assert_eq(c->mounts[0].extra, OCI_MOUNT_TMPCOPYUP);
        cr_assert_null(c->mounts[0].data, "\"%s\" reaches the filesystem", c->mounts[0].data);
        cr_assert_eq(c->mounts[0].flags, MS_NOSUID | MS_NODEV);
        cr_assert_eq(c->mounts[1].extra, 0, "notmpcopyup undoes tmpcopyup");
        cr_assert_str_eq(c->mounts[1].data, "size=65536k");
        cr_assert_eq(c->mounts[2].extra, OCI_MOUNT_COPY_SYMLINK);
        cr_assert_eq(c->mounts[3].extra, OCI_MOUNT_SRC_NOFOLLOW | OCI_MOUNT_DEST_NOFOLLOW);
        oci_config_free(c);
}

Test(engines, podman_device_file_mode_keeps_permission_bits)
{
        struct oci_config *c = load_valid("podman-devices");

        cr_assert_eq(c->linux_.devices[0].file_mode, 0666);
        cr_assert_eq(c->linux_.devices[1].file_mode, 0660);
        cr_assert_eq(c->linux_.devices[2].file_mode, 0666);
        oci_config_free(c);
}

Test(engines, memory_policy_lowered)
{
        struct oci_config *c = load_valid("mempolicy");

        cr_assert(c->linux_.memory_policy.present);
        cr_assert_eq(c->linux_.memory_policy.mode, 3 /* MPOL_INTERLEAVE */);
        cr_assert_eq(c->linux_.memory_policy.flags, 1u << 15 /* MPOL_F_STATIC_NODES */);
        cr_assert_str_eq(c->linux_.memory_policy.nodes, "0-3,7");
        oci_config_free(c);
}
