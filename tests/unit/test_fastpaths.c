/* Unit tests for the choice of the start-up fast paths (runtime/container/spawn.h
 * rc_spawn_paths_choose, runtime/isolation/namespaces.h rc_netns_deferred) and for the
 * test-only switch that forces their slow paths (cli/cli.h cli_parse_slow_paths). The
 * configs are parsed from JSON as `create` parses config.json; no root needed. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/container/spawn.h"

#define ALLOW_ALL_BUT_MKDIR                                                                                 \
        "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "     \
        "\"action\": \"SCMP_ACT_ERRNO\"}]}"

static const char *const HOOK = "{\"path\": \"/bin/true\"}";

/* A config with the given extra top-level members and members of "linux"; namespaces:
 * a JSON array of namespace objects. */
static struct oci_config *config(const char *top, const char *namespaces, const char *linux_extra)
{
        static const char idmaps[] = "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": "
                                     "65536}], \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, "
                                     "\"size\": 65536}], ";
        char json[4096];
        struct oci_config *cfg = NULL;
        rc_error_t err = NULL;
        int n;

        n = snprintf(json, sizeof(json),
                     "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"/probe\"], \"cwd\": \"/\"}, "
                     "\"root\": {\"path\": \"rootfs\"}%s%s, \"linux\": {%s\"namespaces\": %s%s%s}}",
                     top[0] ? ", " : "", top, strstr(namespaces, "user") ? idmaps : "", namespaces,
                     linux_extra[0] ? ", " : "", linux_extra);
        cr_assert_lt((size_t)n, sizeof(json));
        cr_assert_eq(oci_config_parse(json, strlen(json), "config.json", &cfg, &err), 0, "%s",
                     err ? err->msg : "");
        return cfg;
}

#define NEW_NET "[{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"network\"}]"
#define NEW_NET_USER                                                                                        \
        "[{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"network\"}, {\"type\": \"user\"}]"
#define NO_NET "[{\"type\": \"pid\"}, {\"type\": \"mount\"}]"
#define JOINED_NET "[{\"type\": \"mount\"}, {\"type\": \"network\", \"path\": \"/proc/self/ns/net\"}]"

/* The paths for cfg with a compiled filter or not (its content does not matter here)
 * and a seccomp agent or not. */
static struct rc_spawn_paths choose(const struct oci_config *cfg, bool filter, bool agent, unsigned slow)
{
        struct sock_filter insn = {0};
        struct rc_seccomp_prog prog = RC_SECCOMP_PROG_INIT;
        struct rc_ns_plan plan;
        struct rc_spawn_paths p;
        rc_error_t err = NULL;

        if (filter) {
                prog.insns = &insn;
                prog.n_insns = 1;
        }
        if (agent)
                prog.agent_fd = 0; /* only compared with -1 */
        cr_assert_eq(rc_ns_plan_make(cfg, &plan, &err), 0, "%s", err ? err->msg : "");
        rc_spawn_paths_choose(cfg, &plan, &prog, slow, &p);
        rc_ns_plan_close(&plan);
        return p;
}

Test(fastpaths, netns_deferred_only_for_a_new_netns_without_a_new_userns)
{
        struct oci_config *cfgs[] = {config("", NEW_NET, ""), config("", NEW_NET_USER, ""),
                                     config("", NO_NET, ""), config("", JOINED_NET, "")};
        bool want[] = {true, false, false, false};

        for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
                struct rc_ns_plan plan;
                rc_error_t err = NULL;

                cr_assert_eq(rc_ns_plan_make(cfgs[i], &plan, &err), 0, "%s", err ? err->msg : "");
                cr_expect_eq(rc_netns_deferred(&plan), want[i], "config %zu", i);
                rc_ns_plan_close(&plan);
                cr_expect_eq(choose(cfgs[i], false, false, 0).netns_deferred, want[i], "config %zu", i);
                cr_expect_not(choose(cfgs[i], false, false, RC_SLOW_NETNS).netns_deferred, "config %zu", i);
                oci_config_free(cfgs[i]);
        }
}

Test(fastpaths, plain_config_takes_every_fast_path)
{
        struct oci_config *cfg = config("", NEW_NET, ALLOW_ALL_BUT_MKDIR);
        struct rc_spawn_paths p = choose(cfg, true, false, 0);

        cr_expect(p.netns_deferred);
        cr_expect_not(p.net_early, "no network annotation");
        cr_expect_not(p.hooks_sync);
        cr_expect(p.seccomp_before_start);
        cr_expect(p.early_protect);
        cr_expect(p.recorded_late);
        oci_config_free(cfg);
}

/* Each bit turns off its own path and what depends on it, nothing else. */
Test(fastpaths, each_slow_path_forces_only_its_own)
{
        struct oci_config *cfg = config("", NEW_NET, ALLOW_ALL_BUT_MKDIR);
        struct rc_spawn_paths p;

        p = choose(cfg, true, false, RC_SLOW_NETNS);
        cr_expect(!p.netns_deferred && !p.early_protect, "protect needs the deferred netns");
        cr_expect(!p.hooks_sync && p.seccomp_before_start);
        p = choose(cfg, true, false, RC_SLOW_HOOKS);
        cr_expect(p.netns_deferred && p.hooks_sync && p.seccomp_before_start && p.early_protect);
        cr_expect_not(p.recorded_late, "HOOKS follows RECORDED: it stays after the mounts");
        p = choose(cfg, true, false, RC_SLOW_RECORDED);
        cr_expect(p.netns_deferred && !p.hooks_sync && p.seccomp_before_start && p.early_protect);
        cr_expect_not(p.recorded_late);
        p = choose(cfg, true, false, RC_SLOW_SECCOMP);
        cr_expect(p.netns_deferred && !p.hooks_sync && !p.seccomp_before_start && p.early_protect);
        p = choose(cfg, true, false, RC_SLOW_PROTECT);
        cr_expect(p.netns_deferred && !p.hooks_sync && p.seccomp_before_start && !p.early_protect);
        /* created and setup are chosen by the lifecycle, not here */
        p = choose(cfg, true, false, RC_SLOW_CREATED | RC_SLOW_SETUP | RC_SLOW_RELEASE);
        cr_expect(p.netns_deferred && !p.hooks_sync && p.seccomp_before_start && p.early_protect &&
                  p.recorded_late);
        oci_config_free(cfg);
}

Test(fastpaths, network_annotation)
{
        struct oci_config *cfg =
                config("\"annotations\": {\"run-container.network\": \"default\"}", NEW_NET, "");
        struct rc_spawn_paths p = choose(cfg, false, false, 0);

        cr_expect(p.netns_deferred && p.net_early, "attached into the namespace the runtime made");
        cr_expect_not(p.hooks_sync, "an early network needs no HOOKS stop");
        p = choose(cfg, false, false, RC_SLOW_NETNS);
        cr_expect(!p.net_early && p.hooks_sync, "the network is attached at HOOKS");
        oci_config_free(cfg);
        /* a user namespace owns its network namespace: no deferral, attached at HOOKS */
        cfg = config("\"annotations\": {\"run-container.network\": \"default\"}", NEW_NET_USER, "");
        p = choose(cfg, false, false, 0);
        cr_expect(!p.netns_deferred && !p.net_early && p.hooks_sync);
        oci_config_free(cfg);
}

Test(fastpaths, hooks)
{
        static const char *const kinds[] = {"prestart", "createRuntime", "createContainer",
                                            "startContainer"};

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                char top[128];
                struct oci_config *cfg;
                struct rc_spawn_paths p;

                snprintf(top, sizeof(top), "\"hooks\": {\"%s\": [%s]}", kinds[i], HOOK);
                cfg = config(top, NEW_NET, ALLOW_ALL_BUT_MKDIR);
                p = choose(cfg, true, false, 0);
                cr_expect(p.hooks_sync, "%s", kinds[i]);
                cr_expect_not(p.recorded_late, "%s: RECORDED before HOOKS", kinds[i]);
                cr_expect(p.netns_deferred, "%s", kinds[i]);
                /* a hook between the init's mounts and the rest would see the early work */
                cr_expect_eq(p.early_protect, i == 3, "%s", kinds[i]);
                /* a startContainer hook runs after the wait for start, before the filter */
                cr_expect_eq(p.seccomp_before_start, i != 3, "%s", kinds[i]);
                oci_config_free(cfg);
        }
}

Test(fastpaths, poststart_and_poststop_hooks_need_no_stop)
{
        char top[128];
        struct oci_config *cfg;

        snprintf(top, sizeof(top), "\"hooks\": {\"poststart\": [%s], \"poststop\": [%s]}", HOOK, HOOK);
        cfg = config(top, NEW_NET, "");
        cr_expect_not(choose(cfg, false, false, 0).hooks_sync);
        cr_expect(choose(cfg, false, false, 0).early_protect);
        oci_config_free(cfg);
}

Test(fastpaths, seccomp)
{
        struct oci_config *cfg = config("", NEW_NET, ALLOW_ALL_BUT_MKDIR);

        cr_expect_not(choose(cfg, false, false, 0).seccomp_before_start, "nothing compiled");
        cr_expect(choose(cfg, false, true, 0).hooks_sync, "an agent gets the state at HOOKS");
        oci_config_free(cfg);
        /* a filter that restricts what the init does after its setup loads last */
        cfg = config("", NEW_NET,
                     "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                     "[\"prctl\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
        cr_expect_not(choose(cfg, true, false, 0).seccomp_before_start);
        oci_config_free(cfg);
}

Test(fastpaths, parse_slow_paths)
{
        unsigned bits = 123;
        rc_error_t err = NULL;

        cr_assert_eq(cli_parse_slow_paths(NULL, &bits, &err), 0);
        cr_expect_eq(bits, 0u);
        cr_assert_eq(cli_parse_slow_paths("", &bits, &err), 0);
        cr_expect_eq(bits, 0u);
        cr_assert_eq(cli_parse_slow_paths("netns", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)RC_SLOW_NETNS);
        cr_assert_eq(cli_parse_slow_paths("hooks,seccomp,created", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)(RC_SLOW_HOOKS | RC_SLOW_SECCOMP | RC_SLOW_CREATED));
        cr_assert_eq(cli_parse_slow_paths("protect,setup,", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)(RC_SLOW_PROTECT | RC_SLOW_SETUP));
        cr_assert_eq(cli_parse_slow_paths("release,exec", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)(RC_SLOW_RELEASE | RC_SLOW_EXEC));
        cr_assert_eq(cli_parse_slow_paths("all", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)(RC_SLOW_NETNS | RC_SLOW_HOOKS | RC_SLOW_SECCOMP | RC_SLOW_CREATED |
                                      RC_SLOW_PROTECT | RC_SLOW_SETUP | RC_SLOW_RELEASE | RC_SLOW_EXEC |
                                      RC_SLOW_RECORDED));
        cr_assert_eq(cli_parse_slow_paths("release,recorded", &bits, &err), 0);
        cr_expect_eq(bits, (unsigned)(RC_SLOW_RELEASE | RC_SLOW_RECORDED));
}

Test(fastpaths, parse_slow_paths_refuses_unknown_words)
{
        static const char *const bad[] = {"net", "netns,hook", "NETNS", "netns,,hooks", " netns", "1"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                unsigned bits = 7;
                rc_error_t err = NULL;

                cr_assert_lt(cli_parse_slow_paths(bad[i], &bits, &err), 0, "%s", bad[i]);
                cr_expect_eq(bits, 7u, "left untouched on failure");
                cr_expect(strstr(err->msg, "RC_TEST_SLOW_PATHS: unknown start-up path") != NULL, "%s",
                          err->msg);
                rc_error_free(&err);
        }
}
