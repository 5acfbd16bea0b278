/* `run-container spec`: the default config.json, modelled on `runc spec`. The rootless
 * variant applies what runc's ToRootless does: no network namespace, a user namespace
 * mapping root to the calling user, /sys bind-mounted from the host (sysfs cannot be
 * mounted without owning the network namespace), no uid=/gid= mount options (those ids
 * are not mapped) and no cgroup resources. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "specs/config.h"
#include "specs/json.h"

struct default_mount {
        const char *destination;
        const char *type;
        const char *source;
        const char *const *options; /* NULL-terminated */
};

#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct default_mount default_mounts[] = {
        {"/proc", "proc", "proc", NULL},
        {"/dev", "tmpfs", "tmpfs", STRV("nosuid", "strictatime", "mode=755", "size=65536k")},
        {"/dev/pts", "devpts", "devpts",
         STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")},
        {"/dev/shm", "tmpfs", "shm", STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")},
        {"/dev/mqueue", "mqueue", "mqueue", STRV("nosuid", "noexec", "nodev")},
        {"/sys", "sysfs", "sysfs", STRV("nosuid", "noexec", "nodev", "ro")},
        {"/sys/fs/cgroup", "cgroup", "cgroup", STRV("nosuid", "noexec", "nodev", "relatime", "ro")},
};

/* runc's replacement for the sysfs mount in rootless mode */
static const struct default_mount rootless_sys = {"/sys", "none", "/sys",
                                                  STRV("rbind", "nosuid", "noexec", "nodev", "ro")};

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static const char *const default_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
        NULL,
};

static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/devices/virtual/powercap",
        NULL,
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *const default_namespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};

static void gen_strv(json_gen *g, const char *key, const char *const *v)
{
        json_gen_string(g, key);
        json_gen_array_open(g);
        for (; v != NULL && *v != NULL; v++)
                json_gen_string(g, *v);
        json_gen_array_close(g);
}

static void gen_process(json_gen *g)
{
        json_gen_string(g, "process");
        json_gen_object_open(g);
        json_gen_kv_bool(g, "terminal", true);
        json_gen_string(g, "user");
        json_gen_object_open(g);
        json_gen_kv_uint(g, "uid", 0);
        json_gen_kv_uint(g, "gid", 0);
        json_gen_object_close(g);
        gen_strv(g, "args", STRV("sh"));
        gen_strv(g, "env", default_env);
        json_gen_kv_string(g, "cwd", "/");

        json_gen_string(g, "capabilities");
        json_gen_object_open(g);
        gen_strv(g, "bounding", default_caps);
        gen_strv(g, "effective", default_caps);
        gen_strv(g, "permitted", default_caps);
        json_gen_object_close(g);

        json_gen_string(g, "rlimits");
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_string(g, "type", "RLIMIT_NOFILE");
        json_gen_kv_uint(g, "hard", 1024);
        json_gen_kv_uint(g, "soft", 1024);
        json_gen_object_close(g);
        json_gen_array_close(g);

        json_gen_kv_bool(g, "noNewPrivileges", true);
        json_gen_object_close(g);
}

/* Mount options, without uid=/gid= in rootless mode (those ids are not mapped). */
static void gen_mount_options(json_gen *g, const char *const *options, bool rootless)
{
        if (options == NULL)
                return;
        json_gen_string(g, "options");
        json_gen_array_open(g);
        for (; *options != NULL; options++) {
                if (rootless && (strncmp(*options, "uid=", 4) == 0 || strncmp(*options, "gid=", 4) == 0))
                        continue;
                json_gen_string(g, *options);
        }
        json_gen_array_close(g);
}

static void gen_mounts(json_gen *g, bool rootless)
{
        json_gen_string(g, "mounts");
        json_gen_array_open(g);
        for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++) {
                const struct default_mount *m = &default_mounts[i];

                if (rootless && strcmp(m->destination, "/sys") == 0)
                        m = &rootless_sys;
                json_gen_object_open(g);
                json_gen_kv_string(g, "destination", m->destination);
                json_gen_kv_string(g, "type", m->type);
                json_gen_kv_string(g, "source", m->source);
                gen_mount_options(g, m->options, rootless);
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
}

static void gen_idmap(json_gen *g, const char *key, unsigned long host_id)
{
        json_gen_string(g, key);
        json_gen_array_open(g);
        json_gen_object_open(g);
        json_gen_kv_uint(g, "containerID", 0);
        json_gen_kv_uint(g, "hostID", host_id);
        json_gen_kv_uint(g, "size", 1);
        json_gen_object_close(g);
        json_gen_array_close(g);
}

static void gen_namespaces(json_gen *g, bool rootless)
{
        json_gen_string(g, "namespaces");
        json_gen_array_open(g);
        for (const char *const *ns = default_namespaces; *ns != NULL; ns++) {
                if (rootless && strcmp(*ns, "network") == 0)
                        continue;
                json_gen_object_open(g);
                json_gen_kv_string(g, "type", *ns);
                json_gen_object_close(g);
        }
        if (rootless) {
                json_gen_object_open(g);
                json_gen_kv_string(g, "type", "user");
                json_gen_object_close(g);
        }
        json_gen_array_close(g);
}

static void gen_linux(json_gen *g, bool rootless)
{
        json_gen_string(g, "linux");
        json_gen_object_open(g);
        if (rootless) {
                gen_idmap(g, "uidMappings", (unsigned long)geteuid());
                gen_idmap(g, "gidMappings", (unsigned long)getegid());
        } else {
                /* deny all device access; the runtime adds the default devices */
                json_gen_string(g, "resources");
                json_gen_object_open(g);
                json_gen_string(g, "devices");
                json_gen_array_open(g);
                json_gen_object_open(g);
                json_gen_kv_bool(g, "allow", false);
                json_gen_kv_string(g, "access", "rwm");
                json_gen_object_close(g);
                json_gen_array_close(g);
                json_gen_object_close(g);
        }
        gen_namespaces(g, rootless);
        gen_strv(g, "maskedPaths", masked_paths);
        gen_strv(g, "readonlyPaths", readonly_paths);
        json_gen_object_close(g);
}

int oci_default_spec(bool rootless, char **ret, size_t *ret_len, rc_error_t *err)
{
        json_gen *g = json_gen_new(true);
        int r;

        json_gen_object_open(g);
        json_gen_kv_string(g, "ociVersion", OCI_VERSION);
        gen_process(g);
        json_gen_string(g, "root");
        json_gen_object_open(g);
        json_gen_kv_string(g, "path", "rootfs");
        json_gen_kv_bool(g, "readonly", true);
        json_gen_object_close(g);
        json_gen_kv_string(g, "hostname", "run-container");
        gen_mounts(g, rootless);
        gen_linux(g, rootless);
        json_gen_object_close(g);

        r = json_gen_finish(g, ret, ret_len, err);
        json_gen_free(g);
        if (r < 0)
                return rc_error_wrap(err, "default spec");
        return 0;
}
