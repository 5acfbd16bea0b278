/* A look into CRIU's images before restore hands them over: CRIU 3.17 restoring from a
 * pages image shorter than its pagemap says loops for ever ("Advanced iov 0 bytes"), so a
 * truncated image is named here instead (runtime/container/criu.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* One entry of a pagemap image, its flags as CRIU reads them (pagemap.c: an old image's
 * in_parent is PE_PARENT, no flags at all is PE_PRESENT). */
struct pm_entry {
        uint64_t vaddr;
        uint64_t nr_pages;
        uint32_t flags;
};

/* The pagemap image buf..len: *ret_head, the bytes before its first record (the magics);
 * its pages id; fn for each entry in order, until one fails. -1: not a pagemap image. */
static int pagemap_walk(const uint8_t *buf, size_t len, size_t *ret_head, uint32_t *ret_pages_id,
                        int (*fn)(const struct pm_entry *e, void *data), void *data)
{
        const uint8_t *p = buf, *end = buf + len;
        bool head = true;

        if (len < 8)
                return -1;
        p += u32_at(p) == IMG_COMMON_MAGIC ? 8 : 4;
        *ret_head = (size_t)(p - buf);
        while (p < end) {
                uint64_t v[5] = {0};
                unsigned seen;
                uint32_t n;
                struct pm_entry e;

                if (end - p < 4)
                        return -1;
                n = u32_at(p);
                p += 4;
                if (n > (uint64_t)(end - p) || fields(p, p + n, v, &seen) < 0)
                        return -1;
                p += n;
                if (head) {
                        if (!(seen & (1u << 1)) || v[1] > UINT32_MAX)
                                return -1;
                        *ret_pages_id = (uint32_t)v[1];
                        head = false;
                        continue;
                }
                e.vaddr = v[1];
                e.nr_pages = v[2];
                e.flags = seen & (1u << 4) ? (uint32_t)v[4] : 0;
                if ((seen & (1u << 3)) && v[3])
                        e.flags |= PE_PARENT;
                else if (!(seen & (1u << 4)))
                        e.flags = PE_PRESENT;
                if (fn != NULL && fn(&e, data) < 0)
                        return -1;
        }
        return head ? -1 : 0;
}

struct counts {
        uint64_t pages, lazy;
};

static int count_one(const struct pm_entry *e, void *data)
{
        struct counts *c = data;

        if ((e->flags & PE_PRESENT) && !(e->flags & PE_PARENT))
                c->pages += e->nr_pages;
        else if ((e->flags & PE_LAZY) && !(e->flags & PE_PARENT))
                c->lazy += e->nr_pages;
        return 0;
}

/* A pagemap image's pages id, the pages it puts in its pages image and those it leaves
 * to a lazy dump's page server. */
static int pagemap_count(const uint8_t *buf, size_t len, uint32_t *ret_pages_id, uint64_t *ret_pages,
                         uint64_t *ret_lazy)
{
        struct counts c = {0};
        size_t head;

        if (pagemap_walk(buf, len, &head, ret_pages_id, count_one, &c) < 0)
                return -1;
        *ret_pages = c.pages;
        *ret_lazy = c.lazy;
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

/* ---- pre-dumps folded into one pages image (migrate --lazy-parent) -----------------
 * CRIU 3.17's `criu lazy-pages` answers a fault on a PE_PARENT page by reading the parent
 * image, but only the top image's reads copy into the process (the parent page read has
 * no io_complete): a parent page can be restored eagerly, never lazily. So the pages go
 * where a lazy read finds them: into the first pre-dump's pages image (the base, every
 * page of the tasks), each later round's pages written over their old copy there (in
 * place: the base's pagemap gives each page its offset), and the final image's pagemap
 * rewritten to take every page from that file: the final dump's own pages (dirtied since
 * the last round) PE_PRESENT, restored before the tasks run, the others PE_PRESENT and,
 * where the base said CRIU may restore them lazily (its PE_LAZY: private anonymous
 * memory, not a stack), PE_LAZY too. Process by process: one whose round has a page its
 * base has not (or, final, whose final's pages are not its base's exactly), or that the
 * base has not, keeps its images as CRIU wrote them (the restore reads its pages
 * first). A page rewritten in the base was written again by a later round, whose
 * copy the chain of images reads first: the chain stays right whatever was folded. */

struct pm_list {
        struct pm_entry *e;
        size_t n, cap;
};

static int collect(const struct pm_entry *e, void *data)
{
        struct pm_list *l = data;

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                struct pm_entry *n = realloc(l->e, cap * sizeof(*n));

                if (n == NULL)
                        return -1;
                l->e = n;
                l->cap = cap;
        }
        l->e[l->n++] = *e;
        return 0;
}

/* Sorted, apart, page-aligned, without overflow, each page in one place. */
static bool well_formed(const struct pm_list *l, uint64_t ps)
{
        uint64_t prev_end = 0;

        for (size_t i = 0; i < l->n; i++) {
                const struct pm_entry *e = &l->e[i];

                /* (CRIU never writes an entry both in the parent and in its own file) */
                if ((e->flags & (PE_PARENT | PE_PRESENT)) == (PE_PARENT | PE_PRESENT) || e->nr_pages == 0 ||
                    e->nr_pages > UINT32_MAX || e->vaddr % ps != 0 ||
                    e->vaddr > UINT64_MAX - e->nr_pages * ps || (i > 0 && e->vaddr < prev_end))
                        return false;
                prev_end = e->vaddr + e->nr_pages * ps;
        }
        return true;
}

static bool present(const struct pm_entry *e)
{
        return (e->flags & PE_PRESENT) && !(e->flags & PE_PARENT);
}

static int add_copy(struct rc_criu_fold *f, uint64_t from, uint64_t to, uint64_t len)
{
        struct rc_criu_fold_copy *c = f->n_copies > 0 ? &f->copies[f->n_copies - 1] : NULL;

        if (c != NULL && c->from + c->len == from && c->to + c->len == to) {
                c->len += len;
                return 0;
        }
        if (f->n_copies == f->cap_copies) {
                size_t cap = f->cap_copies ? f->cap_copies * 2 : 16;
                struct rc_criu_fold_copy *n = realloc(f->copies, cap * sizeof(*n));

                if (n == NULL)
                        return -1;
                f->copies = n;
                f->cap_copies = cap;
        }
        f->copies[f->n_copies++] = (struct rc_criu_fold_copy){.from = from, .to = to, .len = len};
        return 0;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
        size_t n = 0;

        do {
                p[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
                v >>= 7;
        } while (v);
        return n;
}

/* One record of (field 1, 2, 4) varints: an entry (vaddr, nr_pages, flags); nv 1: the head. */
static void put_record(uint8_t *buf, size_t *len, const uint64_t *v, unsigned nv)
{
        static const uint8_t keys[] = {1 << 3, 2 << 3, 4 << 3};
        uint8_t *msg = buf + *len + 4;
        uint32_t n = 0;

        for (unsigned i = 0; i < nv; i++) {
                msg[n++] = keys[i];
                n += (uint32_t)put_varint(msg + n, v[i]);
        }
        memcpy(buf + *len, &n, 4);
        *len += 4 + n;
}

#define RECORD_MAX (4 + 3 * 11)

void rc_criu_fold_free(struct rc_criu_fold *f)
{
        free(f->copies);
        free(f->pagemap);
        *f = (struct rc_criu_fold){0};
}

/* The final's pagemap over the base's pages: the runs of each base entry, hot (in the
 * final's own pages) or not. */
static int fold_pagemap(const uint8_t *base, size_t head, const struct pm_list *b, const struct pm_list *t,
                        uint32_t new_pages_id, uint64_t ps, struct rc_criu_fold *f)
{
        size_t ti = 0, len = head;

        f->pagemap = malloc(head + RECORD_MAX * (1 + b->n + 2 * t->n));
        if (f->pagemap == NULL)
                return -1;
        memcpy(f->pagemap, base, head);
        put_record(f->pagemap, &len, (const uint64_t[]){new_pages_id}, 1);
        for (size_t i = 0; i < b->n; i++) {
                uint64_t cur = b->e[i].vaddr, end = cur + b->e[i].nr_pages * ps;

                while (cur < end) {
                        uint64_t run_end, flags;

                        while (ti < t->n &&
                               (!present(&t->e[ti]) || t->e[ti].vaddr + t->e[ti].nr_pages * ps <= cur))
                                ti++;
                        if (ti < t->n && t->e[ti].vaddr <= cur) {
                                run_end = t->e[ti].vaddr + t->e[ti].nr_pages * ps;
                                flags = PE_PRESENT;
                                f->eager_pages += ((run_end < end ? run_end : end) - cur) / ps;
                        } else {
                                run_end = ti < t->n ? t->e[ti].vaddr : end;
                                flags = PE_PRESENT | (b->e[i].flags & PE_LAZY);
                                if (flags & PE_LAZY)
                                        f->lazy_pages += ((run_end < end ? run_end : end) - cur) / ps;
                                else
                                        f->eager_pages += ((run_end < end ? run_end : end) - cur) / ps;
                        }
                        if (run_end > end)
                                run_end = end;
                        put_record(f->pagemap, &len, (const uint64_t[]){cur, (run_end - cur) / ps, flags},
                                   3);
                        cur = run_end;
                }
        }
        f->pagemap_len = len;
        return 0;
}

int rc_criu_pagemap_fold(const uint8_t *base, size_t blen, const uint8_t *top, size_t tlen, bool final,
                         uint32_t new_pages_id, struct rc_criu_fold *ret, const char **why)
{
        struct pm_list b = {0}, t = {0};
        uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), boff = 0, toff = 0, bpages = 0, tpages = 0;
        size_t bhead, thead, bi = 0;
        uint32_t tid;
        int ret_code = -1;

        *ret = (struct rc_criu_fold){0};
        *why = "not a pagemap image";
        if (pagemap_walk(base, blen, &bhead, &ret->base_pages_id, collect, &b) < 0 ||
            pagemap_walk(top, tlen, &thead, &tid, collect, &t) < 0)
                goto out;
        ret->top_pages_id = tid;
        *why = "a pagemap's entries overlap or are out of order";
        if (!well_formed(&b, ps) || !well_formed(&t, ps))
                goto out;
        ret_code = -2;
        *why = "the first pre-dump has pages in a parent image";
        for (size_t i = 0; i < b.n; i++) {
                if (!present(&b.e[i]))
                        goto out;
                bpages += b.e[i].nr_pages;
        }
        for (size_t j = 0; j < t.n; j++) {
                const struct pm_entry *e = &t.e[j];
                uint64_t addr = e->vaddr, end = e->vaddr + e->nr_pages * ps;

                *why = "a page is neither in the image nor in its parent";
                if (!present(e) && !(e->flags & PE_PARENT))
                        goto out;
                *why = "a page is not in the first pre-dump";
                while (addr < end) {
                        uint64_t bend, n;

                        while (bi < b.n && b.e[bi].vaddr + b.e[bi].nr_pages * ps <= addr)
                                boff += b.e[bi++].nr_pages * ps;
                        if (bi == b.n || b.e[bi].vaddr > addr)
                                goto out;
                        bend = b.e[bi].vaddr + b.e[bi].nr_pages * ps;
                        n = (bend < end ? bend : end) - addr;
                        if (present(e) &&
                            add_copy(ret, toff + (addr - e->vaddr), boff + (addr - b.e[bi].vaddr), n) < 0)
                                goto nomem;
                        addr += n;
                }
                tpages += e->nr_pages;
                if (present(e))
                        toff += e->nr_pages * ps;
        }
        *why = "the final dump's pages are not the first pre-dump's";
        if (final && tpages != bpages)
                goto out;
        if (final && fold_pagemap(base, bhead, &b, &t, new_pages_id, ps, ret) < 0)
                goto nomem;
        *why = NULL;
        ret_code = 0;
        goto out;
nomem:
        *why = "out of memory";
        ret_code = -1;
out:
        free(b.e);
        free(t.e);
        if (ret_code < 0)
                rc_criu_fold_free(ret);
        return ret_code;
}

/* len bytes from `from` at offset a to `to` at offset b. */
static int copy_range(int from, uint64_t a, int to, uint64_t b, uint64_t len)
{
        char buf[1 << 16];

        while (len > 0) {
                off_t ia = (off_t)a, ib = (off_t)b;
                ssize_t n = copy_file_range(from, &ia, to, &ib, len, 0);

                if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                        n = pread(from, buf, len < sizeof(buf) ? len : sizeof(buf), (off_t)a);
                        if (n > 0 && pwrite(to, buf, (size_t)n, (off_t)b) != n)
                                return -1;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n == 0)
                                errno = EIO; /* shorter than its pagemap says */
                        return -1;
                }
                a += (uint64_t)n;
                b += (uint64_t)n;
                len -= (uint64_t)n;
        }
        return 0;
}

struct fold_one {
        char name[NAME_MAX + 1];
        struct rc_criu_fold f;
};

struct fold_all {
        int basefd, dirfd;
        bool final;
        const char *base_path, *dir_path;
        struct fold_one *v;
        size_t n;
        struct rc_criu_fold_stats *st;
        rc_error_t *err;
};

#define UNFOLDED ".unfolded" /* in the base beside a process's pagemap: not folded since */

/* The plan for one process's pagemap of the round. A process the base has not (forked
 * since), or one the round has a page of that the base has not, is left to the chain of
 * images (a marker in the base keeps it so for the rounds after). */
static int plan_one(int dirfd, const char *name, void *data)
{
        struct fold_all *a = data;
        _cleanup_free_ char *top = NULL, *base = NULL;
        size_t tlen = 0, blen = 0, digits = strspn(name + 8, "0123456789");
        char marker[NAME_MAX + 16];
        struct fold_one *v;
        const char *why = NULL;
        int r;

        (void)dirfd;
        /* a process's pagemap (pagemap-PID.img); shared memory's (pagemap-shmem-*) stays
         * with the chain, restored before the tasks run */
        if (digits == 0 || strcmp(name + 8 + digits, ".img") != 0)
                return 0;
        snprintf(marker, sizeof(marker), "%s" UNFOLDED, name);
        if (faccessat(a->basefd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 ||
            faccessat(a->basefd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                a->st->unfolded++;
                return 0;
        }
        v = realloc(a->v, (a->n + 1) * sizeof(*v));
        if (v == NULL)
                return rc_error_set(a->err, ENOMEM, "fold `%s`", name);
        a->v = v;
        v = &a->v[a->n];
        *v = (struct fold_one){0};
        if (rc_read_file_at(a->dirfd, name, PAGEMAP_MAX, &top, &tlen, a->err) < 0)
                return rc_error_wrap(a->err, "image `%s`", a->dir_path);
        if (rc_read_file_at(a->basefd, name, PAGEMAP_MAX, &base, &blen, a->err) < 0)
                return rc_error_wrap(a->err, "image `%s`", a->base_path);
        /* the final's pagemap names the base's pages file by a new id (set_pages_id) */
        r = rc_criu_pagemap_fold((const uint8_t *)base, blen, (const uint8_t *)top, tlen, a->final, 0, &v->f,
                                 &why);
        if (r == -2) {
                a->st->unfolded++;
                if (a->st->why[0] == '\0')
                        snprintf(a->st->why, sizeof(a->st->why), "%s: %s", name, why);
                if (rc_write_file_atomic(a->basefd, marker, "", 0, 0600, a->err) < 0)
                        return rc_error_wrap(a->err, "image `%s`", a->base_path);
                return 0;
        }
        if (r < 0)
                return rc_error_set(a->err, EINVAL, "image `%s`: %s: %s", a->dir_path, name, why);
        snprintf(v->name, sizeof(v->name), "%s", name);
        a->n++;
        return 0;
}

/* A pages id no pages-<id>.img of the directory has: the base's pages file linked there. */
static int link_base_pages(struct fold_all *a, uint32_t bid, uint32_t *ret_id)
{
        char from[64], to[64];

        snprintf(from, sizeof(from), "pages-%u.img", bid);
        for (uint32_t id = 1u << 30; id < (1u << 30) + 1024; id++) {
                snprintf(to, sizeof(to), "pages-%u.img", id);
                if (linkat(a->basefd, from, a->dirfd, to, 0) == 0) {
                        *ret_id = id;
                        return 0;
                }
                if (errno != EEXIST)
                        return rc_error_set(a->err, errno, "link `%s/%s` to `%s/%s`", a->base_path, from,
                                            a->dir_path, to);
        }
        return rc_error_set(a->err, EEXIST, "image `%s`: no free pages id", a->dir_path);
}

/* The folded pagemap's head record (after the magics) with pages id `id`. */
static int set_pages_id(struct rc_criu_fold *f, uint32_t id)
{
        size_t head = 0, len, rest;
        uint32_t old, n;
        uint8_t *p;

        if (pagemap_walk(f->pagemap, f->pagemap_len, &head, &old, NULL, NULL) < 0)
                return -1;
        n = u32_at(f->pagemap + head);
        rest = f->pagemap_len - head - 4 - n;
        p = malloc(head + RECORD_MAX + rest);
        if (p == NULL)
                return -1;
        memcpy(p, f->pagemap, head);
        len = head;
        put_record(p, &len, (const uint64_t[]){id}, 1);
        memcpy(p + len, f->pagemap + head + 4 + n, rest);
        free(f->pagemap);
        f->pagemap = p;
        f->pagemap_len = len + rest;
        return 0;
}

static int apply_one(struct fold_all *a, struct fold_one *v, struct rc_criu_fold_stats *st)
{
        _cleanup_close_ int from = -1, to = -1;
        char tname[64], bname[64];

        snprintf(tname, sizeof(tname), "pages-%u.img", v->f.top_pages_id);
        snprintf(bname, sizeof(bname), "pages-%u.img", v->f.base_pages_id);
        if (v->f.n_copies > 0) {
                from = openat(a->dirfd, tname, O_RDONLY | O_CLOEXEC);
                if (from < 0)
                        return rc_error_set(a->err, errno, "image `%s`: %s", a->dir_path, tname);
                to = openat(a->basefd, bname, O_WRONLY | O_CLOEXEC);
                if (to < 0)
                        return rc_error_set(a->err, errno, "image `%s`: %s", a->base_path, bname);
        }
        for (size_t i = 0; i < v->f.n_copies; i++) {
                const struct rc_criu_fold_copy *c = &v->f.copies[i];

                if (copy_range(from, c->from, to, c->to, c->len) < 0)
                        return rc_error_set(a->err, errno, "copy %llu bytes of `%s/%s` into `%s/%s`",
                                            (unsigned long long)c->len, a->dir_path, tname, a->base_path,
                                            bname);
                st->folded_pages += c->len / (uint64_t)sysconf(_SC_PAGESIZE);
        }
        if (a->final) {
                uint32_t id = 0;

                if (link_base_pages(a, v->f.base_pages_id, &id) < 0)
                        return -1;
                if (set_pages_id(&v->f, id) < 0)
                        return rc_error_set(a->err, ENOMEM, "fold `%s`", v->name);
                if (rc_write_file_atomic(a->dirfd, v->name, v->f.pagemap, v->f.pagemap_len, 0600, a->err) <
                    0)
                        return rc_error_wrap(a->err, "image `%s`", a->dir_path);
                st->lazy_pages += v->f.lazy_pages;
                st->eager_pages += v->f.eager_pages;
                st->rewritten++;
        }
        return 0;
}

int rc_criu_fold_image(int basefd, const char *base_path, int dirfd, const char *dir_path, bool final,
                       struct rc_criu_fold_stats *st, rc_error_t *err)
{
        struct fold_all a = {.basefd = basefd,
                             .dirfd = dirfd,
                             .final = final,
                             .base_path = base_path,
                             .dir_path = dir_path,
                             .st = st,
                             .err = err};
        int ret;

        *st = (struct rc_criu_fold_stats){0};
        /* every plan first */
        ret = each_pagemap(dirfd, dir_path, plan_one, &a, err);
        for (size_t i = 0; ret == 0 && i < a.n; i++)
                ret = apply_one(&a, &a.v[i], st);
        for (size_t i = 0; i < a.n; i++)
                rc_criu_fold_free(&a.v[i].f);
        free(a.v);
        return ret;
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
