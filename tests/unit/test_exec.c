/* Unit tests for the pure parts of exec and the relay: which process `exec` runs
 * (rc_exec_build_process) and the exit status passed on (rc_relay_exit_status). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/container/exec.h"
#include "runtime/container/relay.h"

static const char config_json[] =
        "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
        " \"process\": {\"terminal\": false, \"user\": {\"uid\": 5, \"gid\": 6, \"additionalGids\": [7]},"
        "  \"args\": [\"/bin/init\", \"x\"], \"env\": [\"PATH=/bin\", \"A=1\"], \"cwd\": \"/home\","
        "  \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],"
        "   \"permitted\": [\"CAP_KILL\"], \"inheritable\": [\"CAP_KILL\"]},"
        "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 10, \"hard\": 20}],"
        "  \"noNewPrivileges\": true, \"apparmorProfile\": \"prof\", \"selinuxLabel\": \"lab\"},"
        " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}]}}";

#define BIT(c) (UINT64_C(1) << (c))

static struct oci_config *config(void)
{
        struct oci_config *c = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(oci_config_parse(config_json, strlen(config_json), "config.json", &c, &err), 0, "%s",
                     err ? err->msg : "");
        return c;
}

static struct oci_process *build(const struct oci_config *c, const struct rc_exec_opts *o)
{
        struct oci_process *p = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_exec_build_process(c, o, &p, &err), 0, "%s", err ? err->msg : "");
        cr_assert_not_null(p);
        return p;
}

Test(exec_build, args_mode_keeps_the_container_process)
{
        struct oci_config *c = config();
        char *args[] = {"/bin/sh", "-c", "true", NULL};
        struct rc_exec_opts o = {.o = {.args = args}};
        struct oci_process *p = build(c, &o);

        cr_assert_eq(p->n_args, 3);
        cr_assert_str_eq(p->args[0], "/bin/sh");
        cr_assert_null(p->args[3]);
        cr_assert_eq(p->n_env, 2);
        cr_assert_str_eq(p->cwd, "/home");
        cr_assert_eq(p->user.uid, 5);
        cr_assert_eq(p->user.gid, 6);
        cr_assert_eq(p->user.n_additional_gids, 1);
        cr_assert(p->caps.present);
        cr_assert_eq(p->caps.effective, BIT(CAP_KILL));
        cr_assert_eq(p->n_rlimits, 1);
        cr_assert(p->no_new_privileges);
        cr_assert_not(p->terminal);
        cr_assert_str_eq(p->apparmor_profile, "prof");
        /* the container's process is untouched */
        cr_assert_str_eq(c->process.args[0], "/bin/init");
        oci_process_free(p);
        oci_config_free(c);
}

Test(exec_build, overrides_amend_the_process)
{
        struct oci_config *c = config();
        char *args[] = {"/bin/true", NULL};
        char *env[] = {"B=2", "C=3", NULL};
        gid_t gids[] = {100, 101};
        struct rc_exec_opts o = {.o = {.args = args,
                                       .env = env,
                                       .cwd = "/tmp",
                                       .has_user = true,
                                       .uid = 1000,
                                       .additional_gids = gids,
                                       .n_additional_gids = 2,
                                       .add_caps = BIT(CAP_CHOWN),
                                       .tty = true,
                                       .process_label = "other"}};
        struct oci_process *p = build(c, &o);

        cr_assert_eq(p->n_env, 4);
        cr_assert_str_eq(p->env[0], "PATH=/bin");
        cr_assert_str_eq(p->env[3], "C=3");
        cr_assert_null(p->env[4]);
        cr_assert_str_eq(p->cwd, "/tmp");
        cr_assert_eq(p->user.uid, 1000);
        cr_assert_eq(p->user.gid, 6, "gid stays the container's without UID:GID");
        cr_assert_eq(p->user.n_additional_gids, 3);
        cr_assert_eq(p->user.additional_gids[2], 101);
        cr_assert_eq(p->caps.bounding, BIT(CAP_KILL) | BIT(CAP_CHOWN));
        cr_assert_eq(p->caps.effective, BIT(CAP_KILL) | BIT(CAP_CHOWN));
        cr_assert_eq(p->caps.permitted, BIT(CAP_KILL) | BIT(CAP_CHOWN));
        cr_assert_eq(p->caps.ambient, BIT(CAP_CHOWN), "inheritable is set: ambient follows");
        cr_assert_eq(p->caps.inheritable, BIT(CAP_KILL));
        cr_assert(p->terminal);
        cr_assert_str_eq(p->selinux_label, "other");
        oci_process_free(p);
        oci_config_free(c);
}

Test(exec_build, no_command_is_an_error)
{
        struct oci_config *c = config();
        char *args[] = {NULL};
        struct rc_exec_opts o = {.o = {.args = args}};
        struct oci_process *p = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_exec_build_process(c, &o, &p, &err), -1);
        cr_assert_not_null(strstr(err->msg, "no command"));
        cr_assert_null(p);
        rc_error_free(&err);
        oci_config_free(c);
}

static char *write_tmp(const char *text)
{
        char *path = strdup("/tmp/rc-test-exec-XXXXXX");
        int fd = mkstemp(path);

        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

Test(exec_build, process_file_fills_in_from_the_container)
{
        struct oci_config *c = config();
        char *path = write_tmp("{\"args\": [\"/x\"], \"cwd\": \"/\", \"user\": {\"uid\": 1, \"gid\": 2}}");
        struct rc_exec_opts o = {.process_path = path};
        struct oci_process *p = build(c, &o);

        cr_assert_str_eq(p->args[0], "/x");
        cr_assert_eq(p->n_env, 0, "a --process document's env is taken as is");
        cr_assert_eq(p->user.uid, 1);
        cr_assert(p->caps.present, "capabilities come from the container");
        cr_assert_eq(p->caps.bounding, BIT(CAP_KILL));
        cr_assert_eq(p->n_rlimits, 1);
        cr_assert_eq(p->rlimits[0].resource, RLIMIT_NOFILE);
        cr_assert_str_eq(p->apparmor_profile, "prof");
        cr_assert_not(p->no_new_privileges, "the document's own (absent: false), as runc");
        unlink(path);
        free(path);
        oci_process_free(p);
        oci_config_free(c);
}

Test(exec_build, process_file_overrides_win)
{
        struct oci_config *c = config();
        char *path = write_tmp("{\"args\": [\"/x\"], \"cwd\": \"/\", \"terminal\": true,"
                               " \"capabilities\": {\"bounding\": [\"CAP_CHOWN\"]},"
                               " \"rlimits\": [{\"type\": \"RLIMIT_CORE\", \"soft\": 0, \"hard\": 0}]}");
        struct rc_exec_opts o = {.process_path = path};
        struct oci_process *p = build(c, &o);

        cr_assert(p->terminal);
        cr_assert_eq(p->caps.bounding, BIT(CAP_CHOWN));
        cr_assert_eq(p->caps.effective, 0);
        cr_assert_eq(p->n_rlimits, 1);
        cr_assert_eq(p->rlimits[0].resource, RLIMIT_CORE);
        unlink(path);
        free(path);
        oci_process_free(p);
        oci_config_free(c);
}

Test(exec_build, bad_process_file_names_the_file)
{
        struct oci_config *c = config();
        char *path = write_tmp("{\"args\": \"nope\", \"cwd\": \"/\"}");
        struct rc_exec_opts o = {.process_path = path};
        struct oci_process *p = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_exec_build_process(c, &o, &p, &err), -1);
        cr_assert_not_null(strstr(err->msg, path), "%s", err->msg);
        cr_assert_not_null(strstr(err->msg, ".args"), "%s", err->msg);
        rc_error_free(&err);
        o.process_path = "/nonexistent/process.json";
        cr_assert_eq(rc_exec_build_process(c, &o, &p, &err), -1);
        cr_assert_eq(err->status, ENOENT);
        rc_error_free(&err);
        unlink(path);
        free(path);
        oci_config_free(c);
}

Test(relay, exit_status)
{
        cr_assert_eq(rc_relay_exit_status(0), 0);
        cr_assert_eq(rc_relay_exit_status(42 << 8), 42);
        cr_assert_eq(rc_relay_exit_status(SIGKILL), 128 + SIGKILL);
        cr_assert_eq(rc_relay_exit_status(SIGTERM | 0x80), 128 + SIGTERM, "core dumped");
}
