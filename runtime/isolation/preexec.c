/* The pre-exec steps shared by the container init and `exec`; the order is drawn in
 * preexec.h. */
#include "runtime/isolation/preexec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/isolation/caps.h"
#include "runtime/isolation/lsm.h"
#include "runtime/isolation/process.h"

#define PASSWD_MAX (1U << 20)

/* What the steps before the filter leave for those after it. */
struct pre {
        const struct rc_preexec *x;
        struct rc_seccomp_prog *seccomp; /* NULL once loaded */
        char *exe;
        char **env; /* the process' env, or a copy with HOME (then home_var is set) */
        char *home_var;
        struct rc_caps_sets caps;
        bool setgroups_denied;
        bool cwd_late; /* root was refused the cwd: the user tries it after the switch */
        int pdeathsig;
};

char *rc_passwd_home(const char *data, size_t len, uid_t uid)
{
        const char *end = data + len;

        for (const char *line = data; line < end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                const char *lend = nl != NULL ? nl : end;
                const char *f[7];
                size_t n = 0;

                /* name:password:uid:gid:gecos:home:shell */
                f[n++] = line;
                for (const char *c = line; c < lend && n < 7; c++)
                        if (*c == ':')
                                f[n++] = c + 1;
                if (n >= 6) {
                        char *num_end;
                        unsigned long v = strtoul(f[2], &num_end, 10);

                        if (num_end == f[3] - 1 && num_end != f[2] && v == (unsigned long)uid) {
                                const char *hend = n >= 7 ? f[6] - 1 : lend;
                                return strndup(f[5], (size_t)(hend - f[5]));
                        }
                }
                line = lend + 1;
        }
        return NULL;
}

static bool has_home(char *const *env)
{
        for (; env != NULL && *env != NULL; env++)
                if (strncmp(*env, "HOME=", 5) == 0)
                        return true;
        return false;
}

int rc_env_with_home(char *const *env, const char *home, char ***ret_env, char **ret_home)
{
        size_t n = 0;
        char **v, *var;

        *ret_env = (char **)env;
        *ret_home = NULL;
        if (has_home(env))
                return 0;
        while (env != NULL && env[n] != NULL)
                n++;
        v = calloc(n + 2, sizeof(*v));
        if (v == NULL || asprintf(&var, "HOME=%s", home) < 0) {
                free(v);
                return -1;
        }
        if (n > 0)
                memcpy(v, env, n * sizeof(*v));
        v[n] = var;
        *ret_env = v;
        *ret_home = var;
        return 0;
}

/* The container's /etc/passwd (a regular file only: never block on a FIFO the image
 * put there), read as far as PASSWD_MAX. NULL when there is none or no entry. */
static char *home_of(uid_t uid)
{
        _cleanup_close_ int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0, max;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        /* its size now, so a typical passwd takes one small allocation and one read */
        max = st.st_size > 0 && (size_t)st.st_size < PASSWD_MAX ? (size_t)st.st_size : PASSWD_MAX;
        buf = malloc(max);
        if (buf == NULL)
                return NULL;
        while (len < max && (n = read(fd, buf + len, max - len)) > 0)
                len += (size_t)n;
        return rc_passwd_home(buf, len, uid);
}

/* runc and crun: HOME from the process user's passwd entry, or "/", when env has none. */
static int build_env(struct pre *s, rc_error_t *err)
{
        const struct oci_process *p = s->x->proc;
        _cleanup_free_ char *home = NULL;

        s->env = p->env;
        if (has_home(p->env))
                return 0;
        home = home_of(p->user.uid);
        if (rc_env_with_home(p->env, home != NULL && home[0] != '\0' ? home : "/", &s->env, &s->home_var) <
            0)
                return rc_error_set(err, ENOMEM, "set HOME");
        return 0;
}

static int enter_cwd(struct pre *s, bool as_user, rc_error_t *err)
{
        const char *cwd = s->x->proc->cwd != NULL ? s->x->proc->cwd : "/";
        int e;

        if (chdir(cwd) < 0) {
                e = errno;
                if (!as_user && (e == EACCES || e == EPERM || s->x->lookup_late)) {
                        s->cwd_late = true;
                        return 0;
                }
                /* late: the status stays 0, as a missing directory is no missing
                 * executable (127): the process cannot be started, 126 */
                if (s->x->lookup_late)
                        return rc_error_set(err, 0, "chdir to the working directory `%s`: %s", cwd,
                                            strerror(e));
                return rc_error_set(err, e, "chdir to cwd `%s` set in config.json", cwd);
        }
        return rc_process_check_cwd(cwd, as_user, err);
}

/* runc's fixStdioPermissions, narrowed to what cannot be a host file: a non-root process
 * owns its pipes and, with a terminal, its pty, so it can reopen them (/proc/self/fd/N,
 * /dev/tty). EPERM/EINVAL (owner or gid not mapped in a user namespace) are ignored, as
 * runc does. */
static void chown_stdio(const struct oci_process *p)
{
        if (p->user.uid == 0)
                return;
        for (int fd = 0; fd < 3; fd++) {
                struct statfs sf;
                struct stat st;

                if (fstat(fd, &st) < 0 || st.st_uid == p->user.uid)
                        continue;
                if (S_ISFIFO(st.st_mode) ? fstatfs(fd, &sf) < 0 || sf.f_type != PIPEFS_MAGIC
                                         : !(p->terminal && S_ISCHR(st.st_mode)))
                        continue;
                (void)fchown(fd, p->user.uid, (gid_t)-1);
        }
}

static int before_filter(struct pre *s, rc_error_t *err)
{
        const struct oci_process *p = s->x->proc;

        if (rc_lsm_apply_exec(p, s->x->log, err) < 0 || build_env(s, err) < 0 ||
            enter_cwd(s, false, err) < 0)
                return -1;
        if (!s->cwd_late && !s->x->lookup_late && rc_process_find_executable(p, &s->exe, err) < 0)
                return -1;
        if (rc_process_setgroups_denied(&s->setgroups_denied, err) < 0 ||
            rc_process_check_groups(&p->user, s->setgroups_denied, err) < 0 ||
            rc_caps_plan(&p->caps, s->x->log, &s->caps, err) < 0)
                return -1;
        chown_stdio(p);
        if (rc_process_cloexec_from((int)(3 + s->x->preserve_fds), err) < 0)
                return -1;
        umask(p->user.has_umask ? p->user.umask : 0022);
        if (prctl(PR_GET_PDEATHSIG, &s->pdeathsig, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_GET_PDEATHSIG");
        return 0;
}

static int become_user(struct pre *s, rc_error_t *err)
{
        const struct oci_process *p = s->x->proc;

        if (rc_caps_prepare(&p->caps, p->user.uid, err) < 0 ||
            rc_process_set_ids(&p->user, s->setgroups_denied, err) < 0 || rc_caps_set(&s->caps, err) < 0)
                return -1;
        if (s->pdeathsig != 0 && prctl(PR_SET_PDEATHSIG, s->pdeathsig, 0, 0, 0) < 0)
                return rc_error_set(err, errno, "prctl PR_SET_PDEATHSIG");
        if (p->no_new_privileges && rc_set_no_new_privs(err) < 0)
                return -1;
        return 0;
}

static int load_seccomp(struct pre *s, rc_error_t *err)
{
        struct rc_seccomp_prog *prog = s->seccomp;

        s->seccomp = NULL;
        return rc_seccomp_load(prog, s->x->state_json, s->x->state_len, err);
}

static int run_steps(struct pre *s, rc_error_t *err)
{
        const struct rc_preexec *x = s->x;
        bool nnp = x->proc->no_new_privileges;

        if (before_filter(s, err) < 0)
                return -1;
        /* loading needs no_new_privs or CAP_SYS_ADMIN: without noNewPrivileges it goes
         * in before the capability drop, as runc does */
        if (!nnp && load_seccomp(s, err) < 0)
                return -1;
        if (become_user(s, err) < 0)
                return -1;
        if (nnp && x->seccomp_early && s->seccomp != NULL && s->seccomp->insns != NULL) {
                rc_log(x->log, RC_LOG_DEBUG,
                       "fast path seccomp: the filter is loaded before the wait for start");
                if (load_seccomp(s, err) < 0)
                        return -1;
        }
        if (s->cwd_late && !x->lookup_late && enter_cwd(s, true, err) < 0)
                return -1;
        if (s->exe == NULL && !x->lookup_late && rc_process_find_executable(x->proc, &s->exe, err) < 0)
                return -1;
        if (x->gate != NULL && x->gate(x->gate_arg, err) < 0)
                return -1;
        if (s->cwd_late && x->lookup_late && enter_cwd(s, true, err) < 0)
                return -1;
        if (s->exe == NULL && rc_process_find_executable(x->proc, &s->exe, err) < 0)
                return -1;
        if (load_seccomp(s, err) < 0)
                return -1;
        if (x->init != NULL)
                return rc_reaper_exec(x->init, s->exe, x->proc->args, s->env, err);
        return rc_process_exec(s->exe, x->proc->args, s->env, err);
}

int rc_preexec_run(const struct rc_preexec *x, rc_error_t *err)
{
        struct pre s = {.x = x, .seccomp = x->seccomp};
        int ret = run_steps(&s, err);

        free(s.exe);
        if (s.home_var != NULL) {
                free(s.env);
                free(s.home_var);
        }
        return ret;
}
