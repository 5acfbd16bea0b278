/* mounts: the pure decisions (rc_mount_plan_make and the config queries). The mounts
 * are built as specs/ lowers them: flags, clear_flags, propagation, attr_*, data. */
#include <criterion/criterion.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "runtime/rootfs/internal.h"
#include "runtime/rootfs/rootfs.h"

Test(mount_plan, bind_ro_needs_a_remount_pass)
{
        struct oci_mount m = {
                .destination = "/etc/resolv.conf",
                .type = "bind",
                .source = "/etc/resolv.conf",
                .flags = MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                .is_bind = true,
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_BIND);
        cr_assert_eq(p.remount_flags, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV);
        cr_assert_eq(p.propagation, 0);
        cr_assert_null(p.data);
}

Test(mount_plan, plain_bind_needs_no_remount)
{
        struct oci_mount m = {.destination = "/data", .source = "/srv", .flags = MS_BIND, .is_bind = true};
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_BIND);
        cr_assert_eq(p.remount_flags, 0);
        cr_assert_eq(p.propagation, 0);
}

Test(mount_plan, bind_with_only_cleared_flags_needs_no_remount)
{
        struct oci_mount m = {
                .destination = "/data",
                .source = "/srv",
                .flags = MS_BIND,
                .clear_flags = MS_RDONLY | MS_NOSUID,
                .is_bind = true,
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.remount_flags, 0);
}

Test(mount_plan, rbind_is_recursive)
{
        struct oci_mount m = {
                .destination = "/sys",
                .type = "none",
                .source = "/sys",
                .flags = MS_BIND | MS_REC,
                .is_bind = true,
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_BIND | MS_REC);
        cr_assert_eq(p.remount_flags, 0);

        m.flags |= MS_RDONLY | MS_NOEXEC | MS_NOATIME;
        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_BIND | MS_REC);
        cr_assert_eq(p.remount_flags, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOEXEC | MS_NOATIME,
                     "the remount never carries MS_REC");
}

Test(mount_plan, bind_option_without_type_is_a_bind)
{
        struct oci_mount m = {.destination = "/x", .source = "/y", .flags = MS_BIND | MS_NOSUID};
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_BIND);
        cr_assert_eq(p.remount_flags, MS_REMOUNT | MS_BIND | MS_NOSUID);
}

Test(mount_plan, tmpfs_with_data)
{
        struct oci_mount m = {
                .destination = "/dev",
                .type = "tmpfs",
                .source = "tmpfs",
                .flags = MS_NOSUID | MS_STRICTATIME,
                .data = "mode=755,size=65536k",
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_NOSUID | MS_STRICTATIME);
        cr_assert_eq(p.remount_flags, 0, "filesystem mounts take their flags in one call");
        cr_assert_str_eq(p.data, "mode=755,size=65536k");
        cr_assert_eq(p.propagation, 0);
}

Test(mount_plan, readonly_filesystem_in_one_call)
{
        struct oci_mount m = {
                .destination = "/sys",
                .type = "sysfs",
                .source = "sysfs",
                .flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        cr_assert_eq(p.remount_flags, 0);
        cr_assert_null(p.data);
}

Test(mount_plan, propagation_is_separate)
{
        struct oci_mount m = {
                .destination = "/mnt",
                .source = "/mnt",
                .flags = MS_BIND | MS_REC | MS_SHARED, /* a stray bit must not leak */
                .propagation = MS_REC | MS_SLAVE,
                .is_bind = true,
        };
        struct rc_mount_plan p;

        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.propagation, MS_REC | MS_SLAVE);
        cr_assert_eq(p.mount_flags, MS_BIND | MS_REC);
        cr_assert_eq(p.remount_flags, 0);

        m.type = "tmpfs";
        m.is_bind = false;
        m.flags = MS_NODEV;
        m.propagation = MS_PRIVATE;
        rc_mount_plan_make(&m, &p);
        cr_assert_eq(p.mount_flags, MS_NODEV);
        cr_assert_eq(p.propagation, MS_PRIVATE);
}

Test(mount_plan, statvfs_flags_map_to_mount_flags)
{
        cr_assert_eq(rc_statvfs_mount_flags(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
                     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        cr_assert_eq(rc_statvfs_mount_flags(ST_RELATIME), MS_RELATIME);
        cr_assert_eq(rc_statvfs_mount_flags(ST_NOATIME | ST_NODIRATIME), MS_NOATIME | MS_NODIRATIME);
        cr_assert_eq(rc_statvfs_mount_flags(ST_SYNCHRONOUS), 0);
}

Test(mount_config, dev_queries)
{
        struct oci_mount mounts[] = {
                {.destination = "/proc", .type = "proc", .source = "proc"},
                {.destination = "/dev/", .type = "tmpfs", .source = "tmpfs", .flags = MS_RDONLY},
                {.destination = "/dev/pts", .type = "devpts", .source = "devpts"},
        };
        struct oci_config cfg = {.mounts = mounts, .n_mounts = 3};

        cr_assert_eq(rc_mounts_find(&cfg, "/dev"), &mounts[1]);
        cr_assert_eq(rc_mounts_find(&cfg, "/proc/"), &mounts[0]);
        cr_assert_null(rc_mounts_find(&cfg, "/sys"));
        cr_assert_not(rc_mounts_dev_from_host(&cfg));
        cr_assert(rc_mounts_dev_needs_ro(&cfg));

        mounts[1].is_bind = true;
        mounts[1].flags = MS_BIND | MS_REC;
        cr_assert(rc_mounts_dev_from_host(&cfg));
        cr_assert_not(rc_mounts_dev_needs_ro(&cfg));
}
