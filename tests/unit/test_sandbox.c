/* sandbox: the generated config, overlay options, journal records. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/context.h"
#include "runtime/image/image.h"
#include "runtime/isolation/reaper.h"
#include "runtime/isolation/seccomp.h"
#include "runtime/rootfs/overlay.h"
#include "runtime/sandbox/journal.h"
#include "runtime/sandbox/sandbox.h"
#include "seccomp_config.h"
#include "specs/config.h"

/* ---- the config ---------------------------------------------------------------------------- */

static struct oci_config *config_of(const struct rc_sandbox_opts *o, const struct rc_image *img,
                                    const char *const *lower)
{
        _cleanup_free_ char *json = NULL;
        struct oci_config *cfg = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(rc_sandbox_config(o, img, lower, "sb1", "/run/x/rootfs", 0, &json, &len, NULL, &err), 0,
                     "%s", err ? err->msg : "");
        cr_assert_eq(oci_config_parse(json, len, "test", &cfg, &err), 0, "%s", err ? err->msg : "");
        return cfg;
}

static const char *config_error(const struct rc_sandbox_opts *o)
{
        static char msg[512];
        char *json = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(rc_sandbox_config(o, NULL, NULL, "sb1", "/r", 0, &json, &len, NULL, &err), -1);
        snprintf(msg, sizeof(msg), "%s", err->msg);
        rc_error_free(&err);
        return msg;
}

static const char *env_of(const struct oci_config *c, const char *key)
{
        size_t kl = strlen(key);

        for (size_t i = 0; i < c->process.n_env; i++)
                if (strncmp(c->process.env[i], key, kl) == 0 && c->process.env[i][kl] == '=')
                        return c->process.env[i] + kl + 1;
        return NULL;
}

Test(sandbox, config_defaults)
{
        char *args[] = {"make", "test", NULL};
        struct rc_sandbox_opts o = {.args = args};
        struct oci_config *c = config_of(&o, NULL, NULL);

        cr_assert_str_eq(c->root.path, "/run/x/rootfs");
        cr_assert(!c->root.readonly);
        cr_assert_eq(c->process.n_args, 2);
        cr_assert_str_eq(c->process.args[0], "make");
        cr_assert_str_eq(c->process.cwd, "/");
        cr_assert_str_eq(c->hostname, "sb1");
        cr_assert(!c->process.terminal);
        cr_assert(c->process.no_new_privileges);
        cr_assert_null(env_of(c, "TERM")); /* no terminal, no TERM */
        cr_assert_not_null(env_of(c, "PATH"));
        cr_assert(c->linux_.seccomp.present); /* the default profile */
        cr_assert(c->process.caps.bounding & (UINT64_C(1) << CAP_CHOWN));
        cr_assert_not_null(oci_config_namespace(c, OCI_NS_NETWORK));
        cr_assert_not_null(oci_config_namespace(c, OCI_NS_PID));
        cr_assert(!c->linux_.resources.has_memory);
        bool marked = false;
        for (size_t i = 0; i < c->n_annotations; i++)
                marked |= strcmp(c->annotations[i].key, RC_ANNOTATION_SANDBOX) == 0;
        cr_assert(marked);
        oci_config_free(c);
}

Test(sandbox, config_options)
{
        char *args[] = {"sh", NULL}, *env[] = {"A=1", "A=2", "B=x", NULL}, *vols[] = {"/src:/dst:ro", NULL},
             *tmpfs[] = {"/scratch", NULL}, *drop[] = {"ALL", NULL},
             *add[] = {"net_admin", "CAP_KILL", NULL}, *ul[] = {"nofile=10:20", "core=0", NULL};
        struct rc_sandbox_opts o = {.args = args,
                                    .env = env,
                                    .volumes = vols,
                                    .tmpfs = tmpfs,
                                    .cap_drop = drop,
                                    .cap_add = add,
                                    .ulimits = ul,
                                    .workdir = "/work",
                                    .user = "1000:2000",
                                    .hostname = "h",
                                    .terminal = true,
                                    .read_only = true,
                                    .seccomp_unconfined = true,
                                    .net = "host",
                                    .memory = 64 << 20,
                                    .memory_swap = -1,
                                    .cpu_quota = 50000,
                                    .pids_limit = 10,
                                    .io_weight = 300};
        struct oci_config *c = config_of(&o, NULL, NULL);
        const struct oci_mount *last = &c->mounts[c->n_mounts - 1], *vol = &c->mounts[c->n_mounts - 2];

        cr_assert_str_eq(env_of(c, "A"), "2");
        cr_assert_str_eq(env_of(c, "TERM"), "xterm");
        cr_assert_str_eq(c->process.cwd, "/work");
        cr_assert_eq(c->process.user.uid, 1000);
        cr_assert_eq(c->process.user.gid, 2000);
        cr_assert_str_eq(c->hostname, "h");
        cr_assert(c->process.terminal);
        cr_assert(c->root.readonly);
        cr_assert(!c->linux_.seccomp.present);
        cr_assert_null(oci_config_namespace(c, OCI_NS_NETWORK));
        cr_assert_eq(c->process.caps.bounding, (UINT64_C(1) << CAP_NET_ADMIN) | (UINT64_C(1) << CAP_KILL));
        cr_assert_str_eq(vol->destination, "/dst");
        cr_assert_str_eq(vol->source, "/src");
        cr_assert(vol->is_bind);
        cr_assert_str_eq(last->destination, "/scratch");
        cr_assert_str_eq(last->type, "tmpfs");
        cr_assert_eq(c->linux_.resources.memory.limit.v, 64 << 20);
        cr_assert_eq(c->linux_.resources.memory.swap.v, -1);
        cr_assert_eq(c->linux_.resources.cpu.quota.v, 50000);
        cr_assert_eq(c->linux_.resources.cpu.period.v, 100000);
        cr_assert_eq(c->linux_.resources.pids_limit, 10);
        cr_assert_eq(c->linux_.resources.blockio.weight.v, 300);
        int found = 0;
        for (size_t i = 0; i < c->process.n_rlimits; i++) {
                if (c->process.rlimits[i].resource == RLIMIT_NOFILE) {
                        cr_assert_eq(c->process.rlimits[i].soft, 10);
                        cr_assert_eq(c->process.rlimits[i].hard, 20);
                        found++;
                }
                if (c->process.rlimits[i].resource == RLIMIT_CORE)
                        found++;
        }
        cr_assert_eq(found, 2);
        oci_config_free(c);
}

static struct oci_config *config_sized(const struct rc_sandbox_opts *o, uint64_t tmpfs_size)
{
        _cleanup_free_ char *json = NULL;
        struct oci_config *cfg = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(rc_sandbox_config(o, NULL, NULL, "sb1", "/r", tmpfs_size, &json, &len, NULL, &err), 0,
                     "%s", err ? err->msg : "");
        cr_assert_eq(oci_config_parse(json, len, "test", &cfg, &err), 0, "%s", err ? err->msg : "");
        return cfg;
}

/* podman's --tmpfs PATH[:OPTIONS]: the options after ours, a size where none is given
 * and the sandbox has no cgroup, size=0 (unlimited) refused then */
Test(sandbox, config_tmpfs_options)
{
        char *args[] = {"sh", NULL}, *tmpfs[] = {"/build:size=10485760,mode=0700,noexec", "/plain", NULL},
             *zero[] = {"/z:size=0", NULL};
        struct rc_sandbox_opts o = {.args = args, .tmpfs = tmpfs};
        struct oci_config *c = config_sized(&o, 4096);
        const struct oci_mount *build = &c->mounts[c->n_mounts - 2], *plain = &c->mounts[c->n_mounts - 1];
        rc_error_t err = NULL;
        char *json = NULL;
        size_t len = 0;

        cr_assert_str_eq(build->destination, "/build");
        cr_assert_str_eq(build->data, "mode=1777,size=10485760,mode=0700"); /* the later mode= wins */
        cr_assert(build->flags & MS_NOEXEC);
        cr_assert(build->flags & MS_NOSUID);
        cr_assert_str_eq(plain->destination, "/plain");
        cr_assert_str_eq(plain->data, "mode=1777,size=4096");
        oci_config_free(c);
        c = config_sized(&o, 0); /* a cgroup, or --unlimited-tmpfs: no size added */
        cr_assert_str_eq(c->mounts[c->n_mounts - 1].data, "mode=1777");
        oci_config_free(c);
        o.tmpfs = zero;
        cr_assert_eq(rc_sandbox_config(&o, NULL, NULL, "sb1", "/r", 4096, &json, &len, NULL, &err), -1);
        cr_assert(strstr(err->msg, "--tmpfs \"/z:size=0\": size=0 is unlimited") != NULL, "%s", err->msg);
        cr_assert(strstr(err->msg, "--unlimited-tmpfs") != NULL, "%s", err->msg);
        rc_error_free(&err);
        c = config_sized(&o, 0);
        cr_assert_str_eq(c->mounts[c->n_mounts - 1].data, "mode=1777,size=0");
        oci_config_free(c);
}

Test(sandbox, config_network_and_image)
{
        char *ports[] = {"8080:80/tcp", "5353:53/udp", NULL}, *ep[] = {"/entry", NULL},
             *cmd[] = {"arg", NULL}, *ienv[] = {"PATH=/img/bin", "IMG=1", NULL}, *env[] = {"IMG=2", NULL};
        struct rc_image img = {.entrypoint = ep, .cmd = cmd, .env = ienv, .workdir = "/srv", .user = "7"};
        struct rc_sandbox_opts o = {.net = "backend", .ports = ports, .env = env};
        struct oci_config *c = config_of(&o, &img, NULL);
        const char *net = NULL, *p = NULL;

        for (size_t i = 0; i < c->n_annotations; i++) {
                if (strcmp(c->annotations[i].key, "run-container.network") == 0)
                        net = c->annotations[i].value;
                if (strcmp(c->annotations[i].key, "run-container.ports") == 0)
                        p = c->annotations[i].value;
        }
        cr_assert_str_eq(net, "backend");
        cr_assert_str_eq(p, "8080:80/tcp,5353:53/udp");
        cr_assert_eq(c->process.n_args, 2);
        cr_assert_str_eq(c->process.args[0], "/entry");
        cr_assert_str_eq(c->process.args[1], "arg");
        cr_assert_str_eq(env_of(c, "PATH"), "/img/bin");
        cr_assert_str_eq(env_of(c, "IMG"), "2");
        cr_assert_str_eq(c->process.cwd, "/srv");
        cr_assert_eq(c->process.user.uid, 7);
        oci_config_free(c);
}

Test(sandbox, config_user_names_from_the_top_layer)
{
        char dir[] = "/tmp/rc-sbx-unit-XXXXXX", path[512];
        char *args[] = {"id", NULL};
        const char *lower[3];
        FILE *f;

        cr_assert_not_null(mkdtemp(dir));
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/l%d", dir, i);
                mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/l%d/etc", dir, i);
                mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/l%d/etc/passwd", dir, i);
                f = fopen(path, "w");
                fprintf(f, "root:x:0:0::/root:/bin/sh\nbuilder:x:%d:%d::/home:/bin/sh\n", 100 + i, 200 + i);
                fclose(f);
                snprintf(path, sizeof(path), "%s/l%d/etc/group", dir, i);
                f = fopen(path, "w");
                fprintf(f, "root:x:0:\nstaff:x:%d:\n", 300 + i);
                fclose(f);
        }
        char l0[256], l1[256];
        snprintf(l0, sizeof(l0), "%s/l0", dir);
        snprintf(l1, sizeof(l1), "%s/l1", dir);
        lower[0] = l0;
        lower[1] = l1;
        lower[2] = NULL;
        struct rc_sandbox_opts o = {.args = args, .user = "builder"};
        struct oci_config *c = config_of(&o, NULL, lower);
        cr_assert_eq(c->process.user.uid, 101); /* the top layer (l1) wins */
        cr_assert_eq(c->process.user.gid, 201);
        oci_config_free(c);
        o.user = "builder:staff";
        c = config_of(&o, NULL, lower);
        cr_assert_eq(c->process.user.gid, 301);
        oci_config_free(c);
        o.user = "101";
        c = config_of(&o, NULL, lower);
        cr_assert_eq(c->process.user.gid, 201); /* a known uid takes its primary group */
        oci_config_free(c);
        o.user = "nobody-here";
        char *json = NULL;
        rc_error_t err = NULL;
        size_t len;
        cr_assert_eq(rc_sandbox_config(&o, NULL, lower, "x", "/r", 0, &json, &len, NULL, &err), -1);
        cr_assert(strstr(err->msg, "not found") != NULL, "%s", err->msg);
        rc_error_free(&err);
        snprintf(path, sizeof(path), "rm -rf %s", dir);
        cr_assert_eq(system(path), 0);
}

Test(sandbox, config_errors)
{
        char *args[] = {"x", NULL}, *bad_vol[] = {"rel:/d", NULL}, *bad_cap[] = {"NOPE", NULL},
             *bad_ul[] = {"nofile=20:10", NULL}, *ports[] = {"80:80", NULL};
        struct rc_sandbox_opts o = {.args = args};

        cr_assert(strstr(config_error(&(struct rc_sandbox_opts){0}), "no command") != NULL);
        o.volumes = bad_vol;
        cr_assert(strstr(config_error(&o), "absolute") != NULL);
        o.volumes = NULL;
        o.cap_add = bad_cap;
        cr_assert(strstr(config_error(&o), "unknown capability") != NULL);
        o.cap_add = NULL;
        o.ulimits = bad_ul;
        cr_assert(strstr(config_error(&o), "soft limit") != NULL);
        o.ulimits = NULL;
        o.ports = ports;
        cr_assert(strstr(config_error(&o), "--net NETWORK") != NULL);
        o.ports = NULL;
        o.workdir = "relative";
        cr_assert(strstr(config_error(&o), "absolute") != NULL);
}

/* ---- overlay options ------------------------------------------------------------------------ */

Test(sandbox, overlay_options)
{
        const char *lower[] = {"/bottom", "/mid:dle", "/top,x", NULL};
        struct rc_overlay ov = {.lower = lower, .dir = "/s/ov"};
        _cleanup_free_ char *a = NULL, *b = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_overlay_options(&ov, NULL, &a, &err), 0);
        cr_assert_str_eq(a, "lowerdir=/top\\,x:/mid\\:dle:/bottom,upperdir=/s/ov/upper,workdir=/s/ov/work");
        ov.read_only = true;
        cr_assert_eq(rc_overlay_options(&ov, "/s/ov/empty", &b, &err), 0);
        cr_assert_str_eq(b, "lowerdir=/top\\,x:/mid\\:dle:/bottom:/s/ov/empty");
        ov.lower = NULL;
        cr_assert_eq(rc_overlay_options(&ov, NULL, &b, &err), -1);
        rc_error_free(&err);
}

/* ---- journal records --------------------------------------------------------------------- */

Test(sandbox, journal_roundtrip)
{
        char buf[RC_JOURNAL_RECORD_MAX], doc[4096] = "";
        struct rc_journal_entry *v = NULL;
        rc_error_t err = NULL;
        size_t n = 0;
        pid_t pid;
        uint64_t start;

        cr_assert_gt(rc_journal_format(RC_JOURNAL_OWNER, "42 123456", buf, sizeof(buf)), 0);
        strcat(doc, buf);
        cr_assert_gt(rc_journal_format(RC_JOURNAL_DIR_CREATED, "/a\nb\\c", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "dir /a\\nb\\\\c\n");
        strcat(doc, buf);
        cr_assert_gt(rc_journal_format(RC_JOURNAL_CONTAINER, "sb1", buf, sizeof(buf)), 0);
        strcat(doc, buf);
        strcat(doc, "cgroup /torn-last-li"); /* a record cut by a crash */
        cr_assert_eq(rc_journal_parse(doc, strlen(doc), &v, &n, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(n, 3);
        cr_assert_eq(v[0].kind, RC_JOURNAL_OWNER);
        cr_assert_eq(rc_journal_owner_parse(v[0].arg, &pid, &start), 0);
        cr_assert_eq(pid, 42);
        cr_assert_eq(start, 123456);
        cr_assert_eq(v[1].kind, RC_JOURNAL_DIR_CREATED);
        cr_assert_str_eq(v[1].arg, "/a\nb\\c");
        cr_assert_eq(v[2].kind, RC_JOURNAL_CONTAINER);
        rc_journal_entries_free(v, n);
        cr_assert_eq(rc_journal_parse("bogus x\n", 8, &v, &n, &err), -1);
        rc_error_free(&err);
        cr_assert_eq(rc_journal_owner_parse("12", &pid, &start), -1);
        cr_assert_eq(rc_journal_format(RC_JOURNAL_DIR_CREATED, "/x", buf, 6), -1);
}

/* The owner's lock is the owner process's: a child holding a copy of the journal's fd (the
 * container init before it executes the job) does not keep it once the owner is dead, so
 * the gc run right after a kill -9 of the sandbox finds it an orphan; a live owner's
 * journal is left alone. */
Test(sandbox, journal_lock_goes_with_its_owner_not_its_children)
{
        char tmp[] = "/tmp/rc-test-journal-XXXXXX", root[64], path[128], cmd[96];
        struct rc_runtime rt = {.root = root};
        int ready[2], quit[2], go[2], status = 0;
        rc_error_t err = NULL;
        size_t removed = 9;
        char c = 0;
        pid_t owner;

        cr_assert_not_null(mkdtemp(tmp));
        snprintf(root, sizeof(root), "%s/root", tmp);
        snprintf(path, sizeof(path), "%s/" RC_JOURNAL_DIR "/sb1" RC_JOURNAL_SUFFIX, root);
        cr_assert_eq(mkdir(root, 0700), 0);
        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(quit, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(go, O_CLOEXEC), 0);

        owner = fork();
        cr_assert_geq(owner, 0);
        if (owner == 0) {
                struct rc_journal *j = NULL;
                rc_error_t e = NULL;

                close(go[1]); /* the child ends at EOF too, when the test ends early */
                if (rc_journal_create(rc_state_root_path(root), "sb1", &j, &e) < 0)
                        _exit(1);
                pid_t child = fork(); /* a copy of the journal's fd, as the init has */
                if (child < 0)
                        _exit(1);
                if (child == 0) {
                        _exit(read(go[0], &c, 1) < 0);
                }
                if (write(ready[1], "r", 1) != 1 || read(quit[0], &c, 1) < 0)
                        _exit(1);
                _exit(0); /* killed, as it were: the journal stays */
        }
        cr_assert_eq(read(ready[0], &c, 1), 1);
        cr_assert_eq(rc_gc(&rt, 0, &removed, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(removed, 0, "a live owner's journal was taken");
        cr_assert_eq(access(path, F_OK), 0);
        cr_assert_eq(write(quit[1], "q", 1), 1);
        cr_assert_eq(waitpid(owner, &status, 0), owner);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* the owner's child still holds its copy of the fd */
        cr_assert_eq(rc_gc(&rt, 0, &removed, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(removed, 1, "the dead owner's journal was left to its child's copy of the fd");
        cr_assert(access(path, F_OK) < 0 && errno == ENOENT);
        cr_assert_eq(write(go[1], "g", 1), 1);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        cr_assert_eq(system(cmd), 0);
}

/* The profile the sandbox builds straight into its config is the one the copy in the
 * state directory holds, and the one the parser makes of `run-container spec`'s. */
Test(sandbox, seccomp_built_without_parsing_equals_the_parsed_profile)
{
        char *args[] = {"true", NULL};
        struct rc_sandbox_opts o = {.args = args};
        _cleanup_free_ char *json = NULL, *k_built = NULL, *k_copy = NULL, *k_spec = NULL;
        struct oci_config *built = NULL, *copy = NULL, *from_spec = NULL;
        size_t len = 0, kl1 = 0, kl2 = 0, kl3 = 0;
        rc_error_t err = NULL;

        cr_assert_eq(rc_sandbox_config(&o, NULL, NULL, "sb1", "/r", 0, &json, &len, &built, &err), 0, "%s",
                     err ? err->msg : "");
        cr_assert_eq(oci_config_parse(json, len, "copy", &copy, &err), 0, "%s", err ? err->msg : "");
        from_spec = parse_default_spec(false);
        cr_assert(built->linux_.seccomp.present);
        cr_assert(built->linux_.seccomp.builtin);
        cr_assert(!copy->linux_.seccomp.builtin && !from_spec->linux_.seccomp.builtin);
        /* the rules written out (the cache's key names the built-in profile by the build id) */
        built->linux_.seccomp.builtin = false;
        cr_assert_eq(rc_seccomp_key(&built->linux_.seccomp, &k_built, &kl1, &err), 0);
        cr_assert_eq(rc_seccomp_key(&copy->linux_.seccomp, &k_copy, &kl2, &err), 0);
        cr_assert_eq(rc_seccomp_key(&from_spec->linux_.seccomp, &k_spec, &kl3, &err), 0);
        cr_assert_eq(kl1, kl2);
        cr_assert_eq(memcmp(k_built, k_copy, kl1), 0, "built:\n%s\ncopy:\n%s", k_built, k_copy);
        cr_assert_eq(kl1, kl3);
        cr_assert_eq(memcmp(k_built, k_spec, kl1), 0);
        /* the key leaves out what does not change the BPF: compare that too */
        cr_assert_eq(built->linux_.seccomp.n_syscalls, copy->linux_.seccomp.n_syscalls);
        cr_assert_eq(built->linux_.seccomp.n_architectures, copy->linux_.seccomp.n_architectures);
        cr_assert_eq(built->linux_.seccomp.flags, copy->linux_.seccomp.flags);
        cr_assert_null(built->linux_.seccomp.listener_path);
        for (size_t i = 0; i < built->linux_.seccomp.n_syscalls; i++)
                cr_assert_eq(built->linux_.seccomp.syscalls[i].n_names,
                             copy->linux_.seccomp.syscalls[i].n_names);
        oci_config_free(built);
        oci_config_free(copy);
        oci_config_free(from_spec);
}

/* The small init's signal targets: never kill(-1) unless it is a pid namespace's init. */
Test(sandbox, init_signal_targets)
{
        int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

        for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
                cr_assert(rc_reaper_signal_is_stop(stops[i]));
                cr_assert_eq(rc_reaper_signal_target(42, stops[i], true), -1);
                cr_assert_eq(rc_reaper_signal_target(42, stops[i], false), -42);
        }
        cr_assert(!rc_reaper_signal_is_stop(SIGUSR1));
        cr_assert_eq(rc_reaper_signal_target(42, SIGUSR1, true), 42);
        cr_assert_eq(rc_reaper_signal_target(42, SIGWINCH, false), 42);
}
