#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/isolation/lsm.h"

static char root[] = "/tmp/rc-lsm-XXXXXX";

static void make_tree(void)
{
        cr_assert_not_null(mkdtemp(root));
}

static void put(const char *rel, const char *content)
{
        char path[512], cmd[700];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
        cr_assert_eq(system(cmd), 0);
        f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(content, f);
        fclose(f);
}

static void remove_tree(void)
{
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        system(cmd);
}

TestSuite(lsm, .init = make_tree, .fini = remove_tree);

Test(lsm, nothing_enabled_in_empty_tree)
{
        cr_assert_not(rc_lsm_enabled(root, RC_LSM_APPARMOR));
        cr_assert_not(rc_lsm_enabled(root, RC_LSM_SELINUX));
}

Test(lsm, apparmor_enabled_only_with_Y)
{
        put("sys/module/apparmor/parameters/enabled", "N\n");
        cr_assert_not(rc_lsm_enabled(root, RC_LSM_APPARMOR));
        put("sys/module/apparmor/parameters/enabled", "Y\n");
        cr_assert(rc_lsm_enabled(root, RC_LSM_APPARMOR));
}

Test(lsm, selinux_enabled_with_selinuxfs)
{
        put("sys/fs/selinux/enforce", "1");
        cr_assert(rc_lsm_enabled(root, RC_LSM_SELINUX));
}

Test(lsm, exec_attr_text)
{
        char buf[64];

        cr_assert_eq(rc_lsm_exec_attr(RC_LSM_APPARMOR, "my-profile", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "exec my-profile");
        cr_assert_eq(rc_lsm_exec_attr(RC_LSM_SELINUX, "system_u:system_r:container_t:s0", buf, sizeof(buf)),
                     0);
        cr_assert_str_eq(buf, "system_u:system_r:container_t:s0");
        cr_assert_eq(
                rc_lsm_exec_attr(RC_LSM_APPARMOR, "a-profile-name-much-too-long-for-the-buffer", buf, 16),
                -1);
}

Test(lsm, ignored_with_debug_log_where_host_lacks_module)
{
        struct oci_process p = {.apparmor_profile = "unconfined-test", .selinux_label = "x:y:z:s0"};
        rc_error_t err = NULL;

        if (rc_lsm_enabled("", RC_LSM_APPARMOR) || rc_lsm_enabled("", RC_LSM_SELINUX))
                cr_skip_test("this host runs AppArmor or SELinux: the ignore path cannot be tested here");
        cr_assert_eq(rc_lsm_apply_exec(&p, NULL, &err), 0);
        cr_assert_null(err);
}
