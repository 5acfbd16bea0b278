/* A look into CRIU's images before restore hands them over: CRIU 3.17 restoring from a
 * pages image shorter than its pagemap says loops for ever ("Advanced iov 0 bytes"), so a
 * truncated image is named here instead (runtime/container/criu.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/container/criu.h"

#define IMG_COMMON_MAGIC 0x54564319u /* before the image's own magic (CRIU's magic.h) */
#define PE_PARENT (1u << 0) /* the page is in the parent image (CRIU's pagemap.h) */
#define PE_LAZY (1u << 1) /* may come after the restore (alone: only on a page server) */
#define PE_PRESENT (1u << 2) /* in pages-<id>.img (PE_LAZY alone: only on a page server) */
#define PAGEMAP_MAX (64u << 20)

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
                uint8_t b = *(*p)++;

                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -1;
}

/* The varint fields of one protobuf message (field numbers 1-4; others skipped); *seen:
 * a bit per field present. */
static int fields_n(const uint8_t *p, const uint8_t *end, uint64_t *v, unsigned nv, unsigned *seen)
{
        *seen = 0;
        while (p < end) {
                uint64_t key, x;

                if (varint(&p, end, &key) < 0)
                        return -1;
                switch (key & 7) {
                case 0:
                        if (varint(&p, end, &x) < 0)
                                return -1;
                        if ((key >> 3) >= 1 && (key >> 3) < nv) {
                                v[key >> 3] = x;
                                *seen |= 1u << (key >> 3);
                        }
                        break;
                case 1:
                        if (end - p < 8)
                                return -1;
                        p += 8;
                        break;
                case 2:
                        if (varint(&p, end, &x) < 0 || x > (uint64_t)(end - p))
                                return -1;
                        p += x;
                        break;
                case 5:
                        if (end - p < 4)
                                return -1;
                        p += 4;
                        break;
                default:
                        return -1;
                }
        }
        return 0;
}

static int fields(const uint8_t *p, const uint8_t *end, uint64_t v[5], unsigned *seen)
{
        return fields_n(p, end, v, 5, seen);
}

static uint32_t u32_at(const uint8_t *p)
{
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

/* A pagemap image's pages id, the pages it puts in its pages image and those it leaves
 * to a lazy dump's page server. */
static int pagemap_count(const uint8_t *buf, size_t len, uint32_t *ret_pages_id, uint64_t *ret_pages,
                         uint64_t *ret_lazy)
{
        const uint8_t *p = buf, *end = buf + len;
        uint64_t pages = 0, lazy = 0;
        bool head = true;

        if (len < 4)
                return -1;
        p += u32_at(p) == IMG_COMMON_MAGIC ? 8 : 4;
        while (p < end) {
                uint64_t v[5] = {0};
                unsigned seen;
                uint32_t n;

                if (end - p < 4)
                        return -1;
                n = u32_at(p);
                p += 4;
                if (n > (uint64_t)(end - p) || fields(p, p + n, v, &seen) < 0)
                        return -1;
                p += n;
                if (head) {
                        if (!(seen & (1u << 1)))
                                return -1;
                        *ret_pages_id = (uint32_t)v[1];
                        head = false;
                        continue;
                }
                /* flags absent (older images): present unless in_parent */
                if (seen & (1u << 4) ? (v[4] & PE_PRESENT) && !(v[4] & PE_PARENT) : !v[3])
                        pages += v[2];
                else if ((seen & (1u << 4)) && (v[4] & PE_LAZY) && !(v[4] & PE_PARENT))
                        lazy += v[2];
        }
        if (head)
                return -1;
        *ret_pages = pages;
        *ret_lazy = lazy;
        return 0;
}

int rc_criu_pagemap_need(const uint8_t *buf, size_t len, uint32_t *ret_pages_id, uint64_t *ret_pages)
{
        uint64_t lazy;

        return pagemap_count(buf, len, ret_pages_id, ret_pages, &lazy);
}

int rc_criu_pagemap_lazy(const uint8_t *buf, size_t len, uint64_t *ret_lazy)
{
        uint64_t pages;
        uint32_t id;

        return pagemap_count(buf, len, &id, &pages, ret_lazy);
}

/* fn for each pagemap-*.img of the image directory, until one fails. */
static int each_pagemap(int imgfd, const char *image_path,
                        int (*fn)(int imgfd, const char *name, void *data), void *data, rc_error_t *err)
{
        int fd = fcntl(imgfd, F_DUPFD_CLOEXEC, 0);
        struct dirent *d;
        DIR *dir;
        int ret = 0;

        if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
                if (fd >= 0)
                        close(fd);
                return rc_error_set(err, errno, "image `%s`", image_path);
        }
        while (ret == 0 && (d = readdir(dir)) != NULL)
                if (strncmp(d->d_name, "pagemap-", 8) == 0)
                        ret = fn(imgfd, d->d_name, data);
        closedir(dir);
        return ret;
}

struct check {
        const char *image_path;
        rc_error_t *err;
};

/* One pagemap image against its pages image; a pagemap we cannot read is CRIU's to judge. */
static int check_one(int imgfd, const char *name, void *data)
{
        const struct check *c = data;
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *buf = NULL;
        char pages_name[64];
        uint64_t need = 0;
        uint32_t id = 0;
        struct stat st;
        size_t len = 0;

        if (rc_read_file_at(imgfd, name, PAGEMAP_MAX, &buf, &len, &e) < 0 ||
            rc_criu_pagemap_need((const uint8_t *)buf, len, &id, &need) < 0 || need == 0)
                return 0;
        snprintf(pages_name, sizeof(pages_name), "pages-%u.img", id);
        if (fstatat(imgfd, pages_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return rc_error_set(c->err, errno, "image `%s`: %s (%s names %llu pages there)",
                                    c->image_path, pages_name, name, (unsigned long long)need);
        if ((uint64_t)st.st_size < need * (uint64_t)sysconf(_SC_PAGESIZE))
                return rc_error_set(
                        c->err, 0, "image `%s`: %s is truncated: %lld bytes, %s names %llu pages",
                        c->image_path, pages_name, (long long)st.st_size, name, (unsigned long long)need);
        return 0;
}

int rc_criu_check_pages(int imgfd, const char *image_path, rc_error_t *err)
{
        struct check c = {.image_path = image_path, .err = err};

        return each_pagemap(imgfd, image_path, check_one, &c, err);
}

static int add_lazy(int imgfd, const char *name, void *data)
{
        _cleanup_error_ rc_error_t e = NULL;
        _cleanup_free_ char *buf = NULL;
        uint64_t lazy = 0;
        size_t len = 0;

        if (rc_read_file_at(imgfd, name, PAGEMAP_MAX, &buf, &len, &e) == 0 &&
            rc_criu_pagemap_lazy((const uint8_t *)buf, len, &lazy) == 0)
                *(uint64_t *)data += lazy;
        return 0;
}

int rc_criu_image_lazy_pages(int imgfd, uint64_t *ret, rc_error_t *err)
{
        *ret = 0;
        return each_pagemap(imgfd, "", add_lazy, ret, err);
}

#define IMG_SERVICE_MAGIC 0x55105940u /* before a service image's own magic */
#define STATS_MAGIC 0x57093306u

/* The length-delimited field `field` of the message p..end (the last one). */
static int submessage(const uint8_t *p, const uint8_t *end, unsigned field, const uint8_t **ret_p,
                      const uint8_t **ret_end)
{
        bool found = false;

        while (p < end) {
                uint64_t key, x;

                if (varint(&p, end, &key) < 0)
                        return -1;
                if ((key & 7) == 0) {
                        if (varint(&p, end, &x) < 0)
                                return -1;
                        continue;
                }
                if ((key & 7) == 1 || (key & 7) == 5) {
                        if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
                                return -1;
                        p += (key & 7) == 1 ? 8 : 4;
                        continue;
                }
                if ((key & 7) != 2 || varint(&p, end, &x) < 0 || x > (uint64_t)(end - p))
                        return -1;
                if ((key >> 3) == field) {
                        *ret_p = p;
                        *ret_end = p + x;
                        found = true;
                }
                p += x;
        }
        return found ? 0 : -1;
}

int rc_criu_dump_stats_parse(const uint8_t *buf, size_t len, struct rc_criu_dump_stats *ret)
{
        const uint8_t *p = buf, *end = buf + len, *dp, *dend;
        uint64_t v[10] = {0};
        unsigned seen;
        uint32_t n;

        if (len >= 4 && (u32_at(p) == IMG_SERVICE_MAGIC || u32_at(p) == IMG_COMMON_MAGIC))
                p += 4;
        if (end - p < 8 || u32_at(p) != STATS_MAGIC)
                return -1;
        n = u32_at(p + 4);
        p += 8;
        if (n > (uint64_t)(end - p) || submessage(p, p + n, 1, &dp, &dend) < 0 ||
            fields_n(dp, dend, v, 10, &seen) < 0)
                return -1;
        /* pages_scanned, pages_skipped_parent and pages_written are required */
        if ((seen & (1u << 5 | 1u << 6 | 1u << 7)) != (1u << 5 | 1u << 6 | 1u << 7))
                return -1;
        *ret = (struct rc_criu_dump_stats){.frozen_us = v[2],
                                           .memdump_us = v[3],
                                           .memwrite_us = v[4],
                                           .pages_scanned = v[5],
                                           .pages_skipped_parent = v[6],
                                           .pages_written = v[7],
                                           .pages_lazy = v[9]};
        return 0;
}

int rc_criu_dump_stats(int dirfd, struct rc_criu_dump_stats *ret, rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        if (rc_read_file_at(dirfd, RC_CRIU_DUMP_STATS, 1 << 16, &buf, &len, err) < 0)
                return -1;
        if (rc_criu_dump_stats_parse((const uint8_t *)buf, len, ret) < 0)
                return rc_error_set(err, EINVAL, "%s: not CRIU's dump statistics", RC_CRIU_DUMP_STATS);
        return 0;
}
