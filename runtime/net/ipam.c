/* IPv4 address management (see ipam.h). */
#include "runtime/net/ipam.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"

#define LOCK_FILE ".lock"
#define NEXT_FILE ".next"
#define TMP_PREFIX ".tmp-"
#define RECORD_MAX (64u * 1024u)

/* ---- pure CIDR arithmetic ----------------------------------------------------- */

static int parse_octet(const char **p, unsigned *ret)
{
        const char *s = *p;
        unsigned v = 0;
        int n = 0;

        while (*s >= '0' && *s <= '9' && n < 4) {
                v = v * 10 + (unsigned)(*s - '0');
                s++;
                n++;
        }
        if (n == 0 || n > 3 || v > 255 || (n > 1 && **p == '0'))
                return -1;
        *p = s;
        *ret = v;
        return 0;
}

static int parse_quad(const char *s, const char **end, uint32_t *ret)
{
        uint32_t ip = 0;
        unsigned v;

        for (int i = 0; i < 4; i++) {
                if (i > 0 && *s++ != '.')
                        return -1;
                if (parse_octet(&s, &v) < 0)
                        return -1;
                ip = (ip << 8) | v;
        }
        *end = s;
        *ret = ip;
        return 0;
}

int rc_ip_parse(const char *s, uint32_t *ret, rc_error_t *err)
{
        const char *end;
        uint32_t ip;

        if (s == NULL || parse_quad(s, &end, &ip) < 0 || *end != '\0')
                return rc_error_set_status(err, EINVAL, "invalid IPv4 address \"%s\"", s ? s : "");
        *ret = ip;
        return 0;
}

void rc_ip_format(uint32_t ip, char buf[RC_IP_STRLEN])
{
        snprintf(buf, RC_IP_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t rc_cidr_mask(unsigned prefix)
{
        return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int rc_cidr_parse(const char *s, struct rc_cidr *ret, rc_error_t *err)
{
        const char *end, *p;
        uint32_t ip;
        unsigned prefix;
        char fixed[RC_IP_STRLEN];

        if (s == NULL || parse_quad(s, &end, &ip) < 0 || *end != '/')
                return rc_error_set_status(err, EINVAL, "invalid subnet \"%s\": expected A.B.C.D/N",
                                           s ? s : "");
        p = end + 1;
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
                return rc_error_set_status(err, EINVAL, "invalid subnet \"%s\": bad prefix length", s);
        prefix = 0;
        for (; *p >= '0' && *p <= '9' && prefix <= 32; p++)
                prefix = prefix * 10 + (unsigned)(*p - '0');
        if (*p != '\0' || prefix > 32)
                return rc_error_set_status(err, EINVAL, "invalid subnet \"%s\": prefix length must be 0..32",
                                           s);
        if ((ip & ~rc_cidr_mask(prefix)) != 0) {
                rc_ip_format(ip & rc_cidr_mask(prefix), fixed);
                return rc_error_set_status(err, EINVAL,
                                           "subnet \"%s\" has host bits set: did you mean \"%s/%u\"?", s,
                                           fixed, prefix);
        }
        ret->addr = ip;
        ret->prefix = prefix;
        return 0;
}

void rc_cidr_format(const struct rc_cidr *c, char *buf, size_t size)
{
        char ip[RC_IP_STRLEN];

        rc_ip_format(c->addr, ip);
        snprintf(buf, size, "%s/%u", ip, c->prefix);
}

uint32_t rc_cidr_broadcast(const struct rc_cidr *c)
{
        return c->addr | ~rc_cidr_mask(c->prefix);
}

bool rc_cidr_contains(const struct rc_cidr *c, uint32_t ip)
{
        return (ip & rc_cidr_mask(c->prefix)) == c->addr;
}

bool rc_cidr_overlaps(const struct rc_cidr *a, const struct rc_cidr *b)
{
        unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;

        return (a->addr & rc_cidr_mask(p)) == (b->addr & rc_cidr_mask(p));
}

uint32_t rc_cidr_host_count(const struct rc_cidr *c)
{
        return c->prefix >= 31 ? 0 : (uint32_t)((1ull << (32 - c->prefix)) - 2);
}

uint32_t rc_cidr_first_host(const struct rc_cidr *c)
{
        return c->addr + 1;
}

uint32_t rc_cidr_last_host(const struct rc_cidr *c)
{
        return rc_cidr_broadcast(c) - 1;
}

uint32_t rc_cidr_next_host(const struct rc_cidr *c, uint32_t ip)
{
        if (!rc_cidr_contains(c, ip) || ip >= rc_cidr_last_host(c) || ip < rc_cidr_first_host(c))
                return rc_cidr_first_host(c);
        return ip + 1;
}

int rc_cidr_check_host(const struct rc_cidr *c, uint32_t gateway, uint32_t ip, rc_error_t *err)
{
        char sip[RC_IP_STRLEN], net[24];

        rc_ip_format(ip, sip);
        rc_cidr_format(c, net, sizeof(net));
        if (!rc_cidr_contains(c, ip))
                return rc_error_set_status(err, EINVAL, "address \"%s\" is outside the subnet \"%s\"", sip,
                                           net);
        if (rc_cidr_host_count(c) == 0 || ip == c->addr || ip == rc_cidr_broadcast(c))
                return rc_error_set_status(
                        err, EINVAL, "address \"%s\" is not a host address of the subnet \"%s\"", sip, net);
        if (ip == gateway)
                return rc_error_set_status(err, EINVAL, "address \"%s\" is the gateway of the subnet \"%s\"",
                                           sip, net);
        return 0;
}

/* ---- the lease store ------------------------------------------------------------ */

static int mkdir_p(const char *path, rc_error_t *err)
{
        _cleanup_free_ char *copy = strdup(path);

        if (copy == NULL)
                return rc_error_set(err, ENOMEM, "create `%s`", path);
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, 0700) < 0 && errno != EEXIST)
                        return rc_error_set(err, errno, "create `%s`", copy);
                *p = '/';
        }
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
                return rc_error_set(err, errno, "create `%s`", copy);
        return 0;
}

int rc_ipam_lock(const char *dir, rc_error_t *err)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (mkdir_p(dir, err) < 0)
                return -1;
        if (asprintf(&path, "%s/" LOCK_FILE, dir) < 0)
                return rc_error_set(err, ENOMEM, "lock `%s`", dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return rc_error_set(err, errno, "open `%s`", path);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        int e = errno;
                        close(fd);
                        return rc_error_set(err, e, "lock `%s`", path);
                }
        }
        return fd;
}

/* Write the record to a temp file, then link it to the address's name: EEXIST means
 * the address is taken, and no reader ever sees a half-written lease. */
static int try_claim(int dirfd, uint32_t ip, const char *record, size_t len, rc_error_t *err)
{
        char name[RC_IP_STRLEN], tmp[64];
        _cleanup_close_ int fd = -1;
        int r = 0;

        rc_ip_format(ip, name);
        snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d-%s", (int)getpid(), name);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return rc_error_set(err, errno, "create lease for \"%s\"", name);
        if (write(fd, record, len) != (ssize_t)len)
                r = rc_error_set(err, errno ? errno : EIO, "write lease for \"%s\"", name);
        if (r == 0 && linkat(dirfd, tmp, dirfd, name, 0) < 0) {
                if (errno == EEXIST)
                        r = 1;
                else
                        r = rc_error_set(err, errno, "record lease for \"%s\"", name);
        }
        unlinkat(dirfd, tmp, 0);
        return r;
}

static uint32_t read_hint(int dirfd, const struct rc_cidr *subnet)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        uint32_t ip;

        if (rc_read_file_at(dirfd, NEXT_FILE, 64, &buf, &len, &e) < 0)
                return rc_cidr_first_host(subnet);
        buf[strcspn(buf, "\n")] = '\0';
        if (rc_ip_parse(buf, &ip, &e) < 0 || !rc_cidr_contains(subnet, ip))
                return rc_cidr_first_host(subnet);
        return ip;
}

/* Rewritten in place, under the lock: a hint torn by a crash reads as no hint, and no
 * temp file is left behind (read_hint checks what it reads). */
static void write_hint(int dirfd, uint32_t ip)
{
        _cleanup_close_ int fd = openat(dirfd, NEXT_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        char buf[RC_IP_STRLEN + 1];
        size_t len;

        rc_ip_format(ip, buf);
        strcat(buf, "\n");
        len = strlen(buf);
        if (fd >= 0 && pwrite(fd, buf, len, 0) == (ssize_t)len)
                (void)ftruncate(fd, (off_t)len);
}

/* A temp file of ours: a lease being linked, or (earlier versions) a hint being renamed. */
static bool is_temp(const char *name)
{
        return strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 ||
               strncmp(name, "." NEXT_FILE ".", strlen("." NEXT_FILE ".")) == 0;
}

static int search_free(int dirfd, const struct rc_cidr *subnet, uint32_t gateway, const char *record,
                       size_t len, uint32_t *ret, rc_error_t *err)
{
        uint32_t n = rc_cidr_host_count(subnet), ip = read_hint(dirfd, subnet);
        char net[24];

        if (!rc_cidr_contains(subnet, ip) || ip < rc_cidr_first_host(subnet) ||
            ip > rc_cidr_last_host(subnet))
                ip = rc_cidr_first_host(subnet);
        for (uint32_t i = 0; i < n; i++, ip = rc_cidr_next_host(subnet, ip)) {
                int r;

                if (ip == gateway)
                        continue;
                r = try_claim(dirfd, ip, record, len, err);
                if (r < 0)
                        return -1;
                if (r == 0) {
                        write_hint(dirfd, rc_cidr_next_host(subnet, ip));
                        *ret = ip;
                        return 0;
                }
        }
        rc_cidr_format(subnet, net, sizeof(net));
        return rc_error_set_status(err, ENOSPC, "no free address in subnet \"%s\"", net);
}

int rc_ipam_allocate(const char *dir, const struct rc_cidr *subnet, uint32_t gateway, uint32_t want,
                     const char *record, size_t len, uint32_t *ret, rc_error_t *err)
{
        _cleanup_close_ int lockfd = -1, dirfd = -1;
        char sip[RC_IP_STRLEN];
        int r;

        if (want != 0 && rc_cidr_check_host(subnet, gateway, want, err) < 0)
                return -1;
        lockfd = rc_ipam_lock(dir, err);
        if (lockfd < 0)
                return -1;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return rc_error_set(err, errno, "open `%s`", dir);
        if (want == 0)
                return search_free(dirfd, subnet, gateway, record, len, ret, err);
        r = try_claim(dirfd, want, record, len, err);
        if (r < 0)
                return -1;
        rc_ip_format(want, sip);
        if (r > 0)
                return rc_error_set_status(err, EADDRINUSE, "address \"%s\" is already in use", sip);
        *ret = want;
        return 0;
}

int rc_ipam_release(const char *dir, uint32_t ip, const char *owner, rc_error_t *err)
{
        _cleanup_close_ int lockfd = -1, dirfd = -1;
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *buf = NULL;
        char name[RC_IP_STRLEN];
        size_t len = 0;

        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0 && errno == ENOENT)
                return 0;
        if (dirfd < 0)
                return rc_error_set(err, errno, "open `%s`", dir);
        lockfd = rc_ipam_lock(dir, err);
        if (lockfd < 0)
                return -1;
        rc_ip_format(ip, name);
        if (owner != NULL) {
                if (rc_read_file_at(dirfd, name, RECORD_MAX, &buf, &len, &e) < 0)
                        return e->status == ENOENT ? 0 : (rc_error_move(err, &e), -1);
                if (strstr(buf, owner) == NULL)
                        return 0;
        }
        if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                return rc_error_set(err, errno, "release lease \"%s\" in `%s`", name, dir);
        return 0;
}

static int cmp_lease(const void *a, const void *b)
{
        uint32_t x = ((const struct rc_lease *)a)->ip, y = ((const struct rc_lease *)b)->ip;

        return (x > y) - (x < y);
}

static int add_lease(int dirfd, const char *name, struct rc_lease **v, size_t *n, size_t *cap,
                     rc_error_t *err)
{
        _cleanup_error_ rc_error_t e = NULL;
        char *buf = NULL;
        size_t len = 0;
        uint32_t ip;

        if (rc_ip_parse(name, &ip, &e) < 0)
                return 0; /* not a lease */
        if (rc_read_file_at(dirfd, name, RECORD_MAX, &buf, &len, &e) < 0) {
                if (e->status == ENOENT)
                        return 0; /* released meanwhile */
                rc_error_move(err, &e);
                return -1;
        }
        if (*n == *cap) {
                struct rc_lease *nv = realloc(*v, (*cap = *cap ? *cap * 2 : 16) * sizeof(**v));
                if (nv == NULL) {
                        free(buf);
                        return rc_error_set(err, ENOMEM, "list leases");
                }
                *v = nv;
        }
        (*v)[(*n)++] = (struct rc_lease){.ip = ip, .record = buf};
        return 0;
}

int rc_ipam_list(const char *dir, bool clean, struct rc_lease **ret, size_t *ret_n, rc_error_t *err)
{
        _cleanup_close_ int lockfd = -1;
        struct rc_lease *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d = opendir(dir);
        int r = 0;

        *ret = NULL;
        *ret_n = 0;
        if (d == NULL)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "read `%s`", dir);
        /* temp files are removed only under the lock: an allocation may be linking one */
        if (clean && (lockfd = rc_ipam_lock(dir, err)) < 0) {
                closedir(d);
                return -1;
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (clean && is_temp(de->d_name))
                        unlinkat(dirfd(d), de->d_name, 0);
                else
                        r = add_lease(dirfd(d), de->d_name, &v, &n, &cap, err);
        }
        closedir(d);
        if (r < 0) {
                rc_lease_list_free(v, n);
                return -1;
        }
        if (n > 0)
                qsort(v, n, sizeof(*v), cmp_lease);
        *ret = v;
        *ret_n = n;
        return 0;
}

int rc_ipam_read(const char *dir, uint32_t ip, char **ret_record, rc_error_t *err)
{
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_error_ rc_error_t e = NULL;
        char name[RC_IP_STRLEN];
        size_t len = 0;

        *ret_record = NULL;
        if (dirfd < 0)
                return errno == ENOENT ? 0 : rc_error_set(err, errno, "open `%s`", dir);
        rc_ip_format(ip, name);
        if (rc_read_file_at(dirfd, name, RECORD_MAX, ret_record, &len, &e) < 0) {
                if (e->status == ENOENT)
                        return 0;
                rc_error_move(err, &e);
                return -1;
        }
        return 1;
}

void rc_lease_list_free(struct rc_lease *v, size_t n)
{
        for (size_t i = 0; i < n && v != NULL; i++)
                free(v[i].record);
        free(v);
}
