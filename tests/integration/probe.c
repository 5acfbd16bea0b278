/* probe: a small static program the integration tests copy into a container's rootfs as /probe.
 *
 * It looks at the process from the inside and prints what it sees, so the tests can check the
 * runtime's work without trusting the runtime's own account of it.
 *
 *   probe [info]            one JSON object: ids, namespaces, rlimits, fds, mounts, caps, env...
 *   probe exit N            exit with status N
 *   probe sleep SECS        sleep, then exit 0
 *   probe write PATH [TXT]  write TXT (default "probe") to PATH; prints {"ok":..,"errno":..}
 *   probe ls PATH           JSON array of the names in directory PATH
 *   probe cat PATH          copy PATH to stdout; exit 1 with a message on error
 *   probe stat PATH         JSON: type, mode, uid, gid, rdev major/minor (lstat)
 *   probe dev               JSON: checks that /dev/null, zero, full, random, urandom, tty behave
 *   probe sigwait [COUNT]   print "ready", then one line "signal N" per signal; stop after COUNT
 *   probe fd N              JSON: whether fd N is open, its readlink and its first bytes
 *   probe kill SIG          send SIG to itself (tests 128+N exit status)
 *   probe mempolicy         JSON: the NUMA memory policy mode and the first word of its nodes
 *   probe tiocsti FD        push "X" into the input of the tty on FD (TIOCSTI); prints
 *                           {"ok":..,"errno":..}
 *   probe notify MSG [SECS] send MSG as one datagram to $NOTIFY_SOCKET (sd_notify), then sleep
 *                           SECS (default 0); exit 1 with a message if it cannot
 *   probe dirty MIB RATE PATH  a working set of MIB MiB (all touched first), then forever: one
 *                           byte written in each of RATE MiB/s of its pages, cycling through
 *                           the set, and every millisecond the CLOCK_MONOTONIC time (8 bytes,
 *                           ns) appended to PATH: the largest gap between two stamps is the
 *                           longest time the process did not run (tests/bench/bench_migrate)
 *
 * No dependencies beyond libc: JSON is printed by hand. Exit status is 0 unless the mode says
 * otherwise; a usage error exits 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void json_str(const char *s)
{
        putchar('"');
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", stdout);
                        break;
                case '\\':
                        fputs("\\\\", stdout);
                        break;
                case '\n':
                        fputs("\\n", stdout);
                        break;
                case '\t':
                        fputs("\\t", stdout);
                        break;
                default:
                        if (*p < 0x20 || *p >= 0x7f)
                                printf("\\u%04x", *p);
                        else
                                putchar(*p);
                }
        }
        putchar('"');
}

static void json_key(const char *key, bool *first)
{
        if (!*first)
                putchar(',');
        *first = false;
        json_str(key);
        putchar(':');
}

static void json_key_str(const char *key, const char *val, bool *first)
{
        json_key(key, first);
        if (val)
                json_str(val);
        else
                fputs("null", stdout);
}

static void json_key_long(const char *key, long long val, bool *first)
{
        json_key(key, first);
        printf("%lld", val);
}

/* Reads a whole small file into a static-size buffer; returns length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t len = 0;
        while (len + 1 < size) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        close(fd);
        return (ssize_t)len;
}

static void print_ids(bool *first)
{
        json_key_long("pid", getpid(), first);
        json_key_long("ppid", getppid(), first);
        json_key_long("uid", getuid(), first);
        json_key_long("gid", getgid(), first);
        json_key_long("euid", geteuid(), first);
        json_key_long("egid", getegid(), first);

        gid_t groups[NGROUPS_MAX];
        int n = getgroups(NGROUPS_MAX, groups);
        json_key("groups", first);
        putchar('[');
        for (int i = 0; i < n; i++)
                printf("%s%u", i ? "," : "", groups[i]);
        putchar(']');

        mode_t mask = umask(0);
        umask(mask);
        json_key_long("umask", mask, first);
}

static void print_names(bool *first)
{
        struct utsname u;
        if (uname(&u) == 0) {
                json_key_str("hostname", u.nodename, first);
                json_key_str("domainname", u.domainname, first);
        }
        char cwd[PATH_MAX];
        json_key_str("cwd", getcwd(cwd, sizeof(cwd)), first);
}

static void print_namespaces(bool *first)
{
        static const char *const names[] = {
                "cgroup",           "ipc", "mnt", "net", "pid", "time", "user", "uts", "pid_for_children",
                "time_for_children"};
        bool inner = true;
        json_key("ns", first);
        putchar('{');
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char path[64];
                struct stat st;
                snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
                if (stat(path, &st) == 0)
                        json_key_long(names[i], (long long)st.st_ino, &inner);
        }
        putchar('}');
}

static void print_rlimits(bool *first)
{
        static const struct {
                const char *name;
                int resource;
        } limits[] = {
                {"as", RLIMIT_AS},
                {"core", RLIMIT_CORE},
                {"cpu", RLIMIT_CPU},
                {"data", RLIMIT_DATA},
                {"fsize", RLIMIT_FSIZE},
                {"locks", RLIMIT_LOCKS},
                {"memlock", RLIMIT_MEMLOCK},
                {"msgqueue", RLIMIT_MSGQUEUE},
                {"nice", RLIMIT_NICE},
                {"nofile", RLIMIT_NOFILE},
                {"nproc", RLIMIT_NPROC},
                {"rss", RLIMIT_RSS},
                {"rtprio", RLIMIT_RTPRIO},
                {"rttime", RLIMIT_RTTIME},
                {"sigpending", RLIMIT_SIGPENDING},
                {"stack", RLIMIT_STACK},
        };
        bool inner = true;
        json_key("rlimits", first);
        putchar('{');
        for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
                struct rlimit rl;
                if (getrlimit(limits[i].resource, &rl) != 0)
                        continue;
                json_key(limits[i].name, &inner);
                /* -1 stands for RLIM_INFINITY. */
                printf("[%lld,%lld]", rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
                       rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
        }
        putchar('}');
}

static void print_fds(bool *first)
{
        bool inner = true;
        json_key("fds", first);
        putchar('{');
        DIR *d = opendir("/proc/self/fd");
        if (d) {
                int self = dirfd(d);
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.' || atoi(de->d_name) == self)
                                continue;
                        char path[PATH_MAX], target[PATH_MAX];
                        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                        ssize_t n = readlink(path, target, sizeof(target) - 1);
                        target[n < 0 ? 0 : n] = '\0';
                        json_key_str(de->d_name, target, &inner);
                }
                closedir(d);
        }
        putchar('}');
}

/* Prints a comma-separated option string as a JSON array. */
static void json_csv_array(char *opts)
{
        bool first_opt = true;
        putchar('[');
        for (char *save = NULL, *tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (!first_opt)
                        putchar(',');
                first_opt = false;
                json_str(tok);
        }
        putchar(']');
}

/* One mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
static void print_mount_line(char *line)
{
        char *fields[6] = {0};
        char *save = NULL, *tok = strtok_r(line, " \n", &save);
        int i = 0;
        for (; tok && i < 6; tok = strtok_r(NULL, " \n", &save))
                fields[i++] = tok;
        while (tok && strcmp(tok, "-") != 0)
                tok = strtok_r(NULL, " \n", &save);
        char *fstype = strtok_r(NULL, " \n", &save);
        char *source = strtok_r(NULL, " \n", &save);
        char *super = strtok_r(NULL, " \n", &save);
        if (i < 6 || !fstype)
                return;
        /* mountinfo escapes space, tab, newline and backslash as \ooo octal. */
        for (char *r = fields[4], *w = fields[4];; r++, w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7') {
                        *w = (char)strtol((char[]){r[1], r[2], r[3], 0}, NULL, 8);
                        r += 3;
                } else if (!(*w = *r)) {
                        break;
                }
        }
        bool first = true;
        putchar('{');
        json_key_str("mount_point", fields[4], &first);
        json_key_str("root", fields[3], &first);
        json_key_str("fstype", fstype, &first);
        json_key_str("source", source, &first);
        json_key("options", &first);
        json_csv_array(fields[5]);
        json_key("super_options", &first);
        if (super)
                json_csv_array(super);
        else
                fputs("[]", stdout);
        putchar('}');
}

static void print_mounts(bool *first)
{
        json_key("mounts", first);
        putchar('[');
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (f) {
                char *line = NULL;
                size_t cap = 0;
                bool first_mount = true;
                while (getline(&line, &cap, f) > 0) {
                        if (!first_mount)
                                putchar(',');
                        first_mount = false;
                        print_mount_line(line);
                }
                free(line);
                fclose(f);
        }
        putchar(']');
}

/* Copies the interesting "Key:\tvalue" lines of /proc/self/status. */
static void print_status(bool *first)
{
        static const char *const keys[] = {"CapInh",     "CapPrm",  "CapEff", "CapBnd", "CapAmb",
                                           "NoNewPrivs", "Seccomp", "NSpid",  "Umask"};
        char buf[8192];
        bool inner = true;
        json_key("status", first);
        putchar('{');
        if (read_file("/proc/self/status", buf, sizeof(buf)) > 0) {
                for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char *colon = strchr(line, ':');
                        if (!colon)
                                continue;
                        *colon = '\0';
                        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                                if (strcmp(line, keys[i]) != 0)
                                        continue;
                                char *val = colon + 1;
                                val += strspn(val, " \t");
                                json_key_str(line, val, &inner);
                        }
                }
        }
        putchar('}');
        json_key_long("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), first);
}

static void print_file_field(const char *key, const char *path, bool *first)
{
        char buf[4096];
        ssize_t n = read_file(path, buf, sizeof(buf));
        json_key_str(key, n >= 0 ? buf : NULL, first);
}

static void print_strv(const char *key, char **v, bool *first)
{
        json_key(key, first);
        putchar('[');
        for (int i = 0; v && v[i]; i++) {
                if (i)
                        putchar(',');
                json_str(v[i]);
        }
        putchar(']');
}

static double clock_seconds(clockid_t id)
{
        struct timespec ts;
        if (clock_gettime(id, &ts) != 0)
                return -1;
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mode_info(char **argv)
{
        bool first = true;
        putchar('{');
        print_ids(&first);
        print_names(&first);
        print_namespaces(&first);
        print_rlimits(&first);
        print_fds(&first);
        print_mounts(&first);
        print_status(&first);
        char buf[64];
        ssize_t n = read_file("/proc/self/oom_score_adj", buf, sizeof(buf));
        json_key_long("oom_score_adj", n > 0 ? atol(buf) : LLONG_MIN, &first);
        print_file_field("uid_map", "/proc/self/uid_map", &first);
        print_file_field("gid_map", "/proc/self/gid_map", &first);
        print_file_field("setgroups", "/proc/self/setgroups", &first);
        print_strv("env", environ, &first);
        print_strv("argv", argv, &first);
        json_key("isatty", &first);
        printf("[%d,%d,%d]", isatty(0), isatty(1), isatty(2));
        json_key("monotonic", &first);
        printf("%.3f", clock_seconds(CLOCK_MONOTONIC));
        json_key("boottime", &first);
        printf("%.3f", clock_seconds(CLOCK_BOOTTIME));
        puts("}");
        return 0;
}

static int mode_write(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = 0;
        if (fd < 0) {
                err = errno;
        } else {
                if (write(fd, text, strlen(text)) < 0)
                        err = errno;
                if (close(fd) < 0 && !err)
                        err = errno;
        }
        bool first = true;
        putchar('{');
        json_key("ok", &first);
        fputs(err ? "false" : "true", stdout);
        json_key_long("errno", err, &first);
        json_key_str("error", err ? strerror(err) : "", &first);
        puts("}");
        return err ? 1 : 0;
}

static int mode_ls(const char *path)
{
        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "probe: ls %s: %s\n", path, strerror(errno));
                return 1;
        }
        bool first = true;
        putchar('[');
        for (struct dirent *de; (de = readdir(d));) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (!first)
                        putchar(',');
                first = false;
                json_str(de->d_name);
        }
        puts("]");
        closedir(d);
        return 0;
}

static int mode_cat(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "probe: cat %s: %s\n", path, strerror(errno));
                return 1;
        }
        char buf[8192];
        ssize_t n;
        fflush(stdout);
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                if (write(STDOUT_FILENO, buf, (size_t)n) != n)
                        break;
        }
        int err = n < 0 ? errno : 0;
        close(fd);
        if (err) {
                fprintf(stderr, "probe: cat %s: %s\n", path, strerror(err));
                return 1;
        }
        return 0;
}

static const char *file_type(mode_t m)
{
        switch (m & S_IFMT) {
        case S_IFREG:
                return "file";
        case S_IFDIR:
                return "dir";
        case S_IFLNK:
                return "symlink";
        case S_IFCHR:
                return "char";
        case S_IFBLK:
                return "block";
        case S_IFIFO:
                return "fifo";
        case S_IFSOCK:
                return "socket";
        }
        return "unknown";
}

static int mode_stat(const char *path)
{
        struct stat st;
        if (lstat(path, &st) != 0) {
                printf("{\"exists\":false,\"errno\":%d}\n", errno);
                return 1;
        }
        bool first = true;
        putchar('{');
        fputs("\"exists\":true", stdout);
        first = false;
        json_key_str("type", file_type(st.st_mode), &first);
        json_key_long("mode", st.st_mode & 07777, &first);
        json_key_long("uid", st.st_uid, &first);
        json_key_long("gid", st.st_gid, &first);
        json_key_long("major", major(st.st_rdev), &first);
        json_key_long("minor", minor(st.st_rdev), &first);
        json_key_long("ino", (long)st.st_ino, &first);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = '\0';
                json_key_str("target", target, &first);
        }
        puts("}");
        return 0;
}

/* Each device: open result, then one read or write that shows it is the right device. */
static void dev_check(const char *name, bool *first)
{
        char path[64], buf[16];
        snprintf(path, sizeof(path), "/dev/%s", name);
        bool inner = true;
        json_key(name, first);
        putchar('{');
        struct stat st;
        bool exists = stat(path, &st) == 0;
        json_key("char", &inner);
        fputs(exists && S_ISCHR(st.st_mode) ? "true" : "false", stdout);
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        json_key_long("open_errno", fd < 0 ? errno : 0, &inner);
        /* A terminal is only opened: reading it would wait for input. */
        if (fd >= 0 && isatty(fd)) {
                close(fd);
        } else if (fd >= 0) {
                ssize_t r = read(fd, buf, sizeof(buf));
                json_key_long("read", r < 0 ? -errno : r, &inner);
                bool zeros = r > 0;
                for (ssize_t i = 0; i < r; i++)
                        zeros = zeros && buf[i] == 0;
                json_key("read_zeros", &inner);
                fputs(zeros ? "true" : "false", stdout);
                ssize_t w = write(fd, "x", 1);
                json_key_long("write", w < 0 ? -errno : w, &inner);
                close(fd);
        }
        putchar('}');
}

static int mode_dev(void)
{
        static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
        bool first = true;
        putchar('{');
        for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
                dev_check(devs[i], &first);
        puts("}");
        return 0;
}

static void on_signal(int sig)
{
        (void)sig;
}

static int mode_sigwait(long count)
{
        sigset_t all;
        sigfillset(&all);
        /* A handler matters: pid 1 of a pid namespace drops default-action signals from outside. */
        struct sigaction sa = {.sa_handler = on_signal};
        for (int s = 1; s < NSIG; s++) {
                if (s != SIGKILL && s != SIGSTOP)
                        sigaction(s, &sa, NULL);
        }
        sigprocmask(SIG_BLOCK, &all, NULL);
        puts("ready");
        fflush(stdout);
        for (long seen = 0; count <= 0 || seen < count; seen++) {
                int sig = sigwaitinfo(&all, NULL);
                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                printf("signal %d\n", sig);
                fflush(stdout);
        }
        return 0;
}

static int mode_fd(int fd)
{
        char path[64], target[PATH_MAX], buf[256];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        bool first = true;
        putchar('{');
        json_key("open", &first);
        fputs(fcntl(fd, F_GETFD) >= 0 ? "true" : "false", stdout);
        json_key_str("target", target, &first);
        ssize_t r = n < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
        if (r < 0 && n >= 0)
                r = read(fd, buf, sizeof(buf) - 1);
        buf[r < 0 ? 0 : r] = '\0';
        json_key_str("data", buf, &first);
        puts("}");
        return n < 0 ? 1 : 0;
}

static int mode_tiocsti(int fd)
{
        char c = 'X';
        int err = ioctl(fd, TIOCSTI, &c) < 0 ? errno : 0;

        printf("{\"ok\":%s,\"errno\":%d}\n", err ? "false" : "true", err);
        return 0;
}

static int mode_mempolicy(void)
{
        unsigned long nodes[16] = {0};
        int mode = -1;

        if (syscall(SYS_get_mempolicy, &mode, nodes, (unsigned long)(sizeof(nodes) * 8), NULL, 0UL) < 0) {
                printf("{\"errno\":%d}\n", errno);
                return 1;
        }
        printf("{\"mode\":%d,\"nodes\":%lu}\n", mode, nodes[0]);
        return 0;
}

static int mode_notify(const char *msg, unsigned secs)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (path == NULL || strlen(path) >= sizeof(sa.sun_path) || fd < 0) {
                fprintf(stderr, "probe notify: no usable NOTIFY_SOCKET (%s)\n", path ? path : "unset");
                return 1;
        }
        strcpy(sa.sun_path, path);
        if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "probe notify: send to %s: %s\n", path, strerror(errno));
                return 1;
        }
        close(fd);
        sleep(secs);
        return 0;
}

static uint64_t now_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int mode_dirty(long mib, long rate, const char *path)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (size_t)mib * (1u << 20) / page;
        uint64_t t0, done = 0, next = 0;
        unsigned char *mem;
        int fd;

        if (mib <= 0 || rate < 0) {
                fputs("probe dirty: MIB > 0 and RATE >= 0 expected\n", stderr);
                return 2;
        }
        mem = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (mem == MAP_FAILED || fd < 0) {
                fprintf(stderr, "probe dirty: %s: %s\n", mem == MAP_FAILED ? "mmap" : path, strerror(errno));
                return 1;
        }
        for (size_t i = 0; i < pages; i++)
                mem[i * page] = 1;
        t0 = now_ns();
        for (;;) {
                uint64_t t = now_ns();
                /* pages due by now at RATE MiB/s, at most one pass over the set per step */
                uint64_t due = (t - t0) / 1000 * (uint64_t)rate * ((1u << 20) / page) / 1000000;

                for (size_t n = 0; done < due && n < pages; done++, n++) {
                        mem[next * page]++;
                        next = (next + 1) % pages;
                }
                done = due;
                if (write(fd, &t, sizeof(t)) != sizeof(t)) {
                        fprintf(stderr, "probe dirty: write %s: %s\n", path, strerror(errno));
                        return 1;
                }
                usleep(1000);
        }
}

static int usage(void)
{
        fputs("usage: probe [info | exit N | sleep SECS | write PATH [TEXT] | ls PATH | cat PATH |\n"
              "              stat PATH | dev | sigwait [COUNT] | fd N | kill SIG | tiocsti FD |\n"
              "              notify MSG [SECS] | mempolicy | dirty MIB RATE PATH]\n",
              stderr);
        return 2;
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "info";
        const char *arg = argc > 2 ? argv[2] : NULL;
        int ret;

        if (!strcmp(mode, "info"))
                ret = mode_info(argv);
        else if (!strcmp(mode, "mempolicy"))
                ret = mode_mempolicy();
        else if (!strcmp(mode, "exit") && arg)
                ret = atoi(arg);
        else if (!strcmp(mode, "sleep") && arg)
                ret = sleep((unsigned)atoi(arg)) == 0 ? 0 : 1;
        else if (!strcmp(mode, "write") && arg)
                ret = mode_write(arg, argc > 3 ? argv[3] : "probe");
        else if (!strcmp(mode, "ls") && arg)
                ret = mode_ls(arg);
        else if (!strcmp(mode, "cat") && arg)
                ret = mode_cat(arg);
        else if (!strcmp(mode, "stat") && arg)
                ret = mode_stat(arg);
        else if (!strcmp(mode, "dev"))
                ret = mode_dev();
        else if (!strcmp(mode, "sigwait"))
                ret = mode_sigwait(arg ? atol(arg) : 0);
        else if (!strcmp(mode, "fd") && arg)
                ret = mode_fd(atoi(arg));
        else if (!strcmp(mode, "tiocsti") && arg)
                ret = mode_tiocsti(atoi(arg));
        else if (!strcmp(mode, "notify") && arg)
                ret = mode_notify(arg, argc > 3 ? (unsigned)atoi(argv[3]) : 0);
        else if (!strcmp(mode, "dirty") && argc > 4)
                ret = mode_dirty(atol(argv[2]), atol(argv[3]), argv[4]);
        else if (!strcmp(mode, "kill") && arg) {
                /* Reset to the default action so the signal ends us, even as pid 1 of a pid ns. */
                int sig = atoi(arg);
                signal(sig, SIG_DFL);
                fflush(stdout);
                ret = kill(getpid(), sig) == 0 ? 0 : 1;
                pause();
        } else
                ret = usage();
        fflush(stdout);
        return ret;
}
