/* Unit tests for runtime/container/criu_image.c: the pages a CRIU pagemap image puts in its
 * pages image, read from hand-made images in CRIU's format. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "runtime/container/criu.h"

struct img {
        uint8_t b[512];
        size_t n;
};

static void u32(struct img *m, uint32_t v)
{
        memcpy(m->b + m->n, &v, 4);
        m->n += 4;
}

static size_t varint(uint8_t *p, uint64_t v)
{
        size_t n = 0;

        do {
                p[n] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
                v >>= 7;
                n++;
        } while (v);
        return n;
}

/* One record: the u32 length, then the varint fields (field, value) given (0 ends). */
static void record(struct img *m, const uint64_t *kv)
{
        uint8_t msg[128];
        size_t len = 0;

        for (; kv[0] != 0; kv += 2) {
                len += varint(msg + len, kv[0] << 3);
                len += varint(msg + len, kv[1]);
        }
        u32(m, (uint32_t)len);
        memcpy(m->b + m->n, msg, len);
        m->n += len;
}

static struct img pagemap(uint32_t pages_id)
{
        struct img m = {0};

        u32(&m, 0x54564319u); /* IMG_COMMON_MAGIC */
        u32(&m, 0x56084025u); /* PAGEMAP_MAGIC */
        record(&m, (const uint64_t[]){1, pages_id, 0});
        return m;
}

Test(criu_image, present_pages_count_parent_and_lazy_only_ones_do_not)
{
        struct img m = pagemap(7);
        uint32_t id = 0;
        uint64_t pages = 0;

        record(&m, (const uint64_t[]){1, 0x400000, 2, 3, 4, 1u << 2, 0}); /* present */
        record(&m, (const uint64_t[]){1, 0x7f0000000000ull, 2, 5, 4, (1u << 1) | (1u << 2),
                                      0}); /* lazy+present */
        record(&m, (const uint64_t[]){1, 0x500000, 2, 11, 4, 1u << 0, 0}); /* in the parent */
        record(&m, (const uint64_t[]){1, 0x600000, 2, 13, 4, 1u << 1, 0}); /* lazy only: page server */
        cr_assert_eq(rc_criu_pagemap_need(m.b, m.n, &id, &pages), 0);
        cr_assert_eq(id, 7);
        cr_assert_eq(pages, 8);
}

Test(criu_image, a_lazy_dump_leaves_its_lazy_only_pages_to_the_page_server)
{
        struct img m = pagemap(3);
        uint64_t lazy = 0;

        record(&m, (const uint64_t[]){1, 0x400000, 2, 3, 4, 1u << 2, 0}); /* present */
        record(&m, (const uint64_t[]){1, 0x600000, 2, 13, 4, 1u << 1, 0}); /* lazy only */
        record(&m, (const uint64_t[]){1, 0x700000, 2, 5, 4, (1u << 1) | (1u << 2), 0}); /* lazy+present */
        record(&m, (const uint64_t[]){1, 0x800000, 2, 7, 4, (1u << 1) | (1u << 0), 0}); /* in the parent */
        cr_assert_eq(rc_criu_pagemap_lazy(m.b, m.n, &lazy), 0);
        cr_assert_eq(lazy, 13);
        cr_assert_eq(rc_criu_pagemap_lazy(m.b, m.n - 1, &lazy), -1);
}

Test(criu_image, entries_without_flags_are_present_unless_in_parent)
{
        struct img m = pagemap(2);
        uint32_t id = 0;
        uint64_t pages = 0;

        record(&m, (const uint64_t[]){1, 0x400000, 2, 4, 0});
        record(&m, (const uint64_t[]){1, 0x500000, 2, 6, 3, 1, 0});
        cr_assert_eq(rc_criu_pagemap_need(m.b, m.n, &id, &pages), 0);
        cr_assert_eq(pages, 4);
}

Test(criu_image, truncated_or_foreign_data_is_not_a_pagemap)
{
        struct img m = pagemap(1);
        uint32_t id = 0;
        uint64_t pages = 0;

        record(&m, (const uint64_t[]){1, 0x400000, 2, 4, 4, 1u << 2, 0});
        cr_assert_eq(rc_criu_pagemap_need(m.b, m.n - 1, &id, &pages), -1);
        cr_assert_eq(rc_criu_pagemap_need((const uint8_t *)"{}", 2, &id, &pages), -1);
        m = (struct img){0};
        u32(&m, 0x54564319u);
        u32(&m, 0x56084025u);
        cr_assert_eq(rc_criu_pagemap_need(m.b, m.n, &id, &pages), -1, "no head");
}

/* stats-dump: the service magic, STATS_MAGIC, then one StatsEntry whose field 1 is the
 * DumpStatsEntry (kv: its varint fields). */
static struct img stats(bool service_magic, const uint64_t *kv)
{
        struct img m = {0};
        uint8_t dump[128], entry[160];
        size_t dl = 0, el = 0;

        for (; kv[0] != 0; kv += 2) {
                dl += varint(dump + dl, kv[0] << 3);
                dl += varint(dump + dl, kv[1]);
        }
        el += varint(entry + el, 1u << 3 | 2);
        el += varint(entry + el, dl);
        memcpy(entry + el, dump, dl);
        el += dl;
        if (service_magic)
                u32(&m, 0x55105940u);
        u32(&m, 0x57093306u);
        u32(&m, (uint32_t)el);
        memcpy(m.b + m.n, entry, el);
        m.n += el;
        return m;
}

Test(criu_image, dump_stats_give_written_skipped_and_lazy_pages)
{
        /* freezing 1, frozen 2, memdump 3, memwrite 4 (µs), scanned 5, skipped_parent 6,
         * written 7, irmap 8, lazy 9, page_pipes 10 */
        struct img m = stats(true, (const uint64_t[]){1, 10, 2, 250000, 3, 30, 4, 40, 5, 70000, 6, 65000, 7,
                                                      5000, 9, 123, 10, 3, 0});
        struct rc_criu_dump_stats st;

        cr_assert_eq(rc_criu_dump_stats_parse(m.b, m.n, &st), 0);
        cr_assert_eq(st.pages_scanned, 70000);
        cr_assert_eq(st.pages_skipped_parent, 65000);
        cr_assert_eq(st.pages_written, 5000);
        cr_assert_eq(st.pages_lazy, 123);
        cr_assert_eq(st.frozen_us, 250000);
        m = stats(false, (const uint64_t[]){5, 9, 6, 0, 7, 9, 0});
        cr_assert_eq(rc_criu_dump_stats_parse(m.b, m.n, &st), 0, "without the service magic");
        cr_assert_eq(st.pages_written, 9);
        cr_assert_eq(st.pages_lazy, 0);
}

Test(criu_image, dump_stats_without_their_counts_or_truncated_are_refused)
{
        struct rc_criu_dump_stats st;
        struct img m = stats(true, (const uint64_t[]){5, 9, 7, 9, 0}); /* no pages_skipped_parent */

        cr_assert_eq(rc_criu_dump_stats_parse(m.b, m.n, &st), -1);
        m = stats(true, (const uint64_t[]){5, 9, 6, 0, 7, 9, 0});
        cr_assert_eq(rc_criu_dump_stats_parse(m.b, m.n - 1, &st), -1);
        cr_assert_eq(rc_criu_dump_stats_parse(m.b, 6, &st), -1);
        m = pagemap(1);
        cr_assert_eq(rc_criu_dump_stats_parse(m.b, m.n, &st), -1, "another image");
}

/* ---- migrate --lazy-parent: a round folded into the first pre-dump (the base) ---- */

#define PE_PARENT (1u << 0)
#define PE_LAZY (1u << 1)
#define PE_PRESENT (1u << 2)
#define PS 4096u

static uint64_t get_varint(const uint8_t **p)
{
        uint64_t v = 0;

        for (unsigned shift = 0;; shift += 7) {
                uint8_t b = *(*p)++;

                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        return v;
        }
}

/* The entries of a pagemap image made by the fold (vaddr, nr_pages, flags each), *n of
 * them; the head's pages id. */
static uint32_t entries(const uint8_t *b, size_t len, uint64_t (*out)[3], size_t *n)
{
        const uint8_t *p = b + 8, *end = b + len;
        uint32_t id = 0;
        bool head = true;

        *n = 0;
        while (p < end) {
                uint32_t rl;
                const uint8_t *rend;
                uint64_t v[5] = {0};

                memcpy(&rl, p, 4);
                p += 4;
                rend = p + rl;
                while (p < rend) {
                        uint64_t key = get_varint(&p);

                        cr_assert_eq(key & 7, 0);
                        v[key >> 3] = get_varint(&p);
                }
                if (head)
                        id = (uint32_t)v[1];
                else {
                        out[*n][0] = v[1];
                        out[*n][1] = v[2];
                        out[*n][2] = v[4];
                        (*n)++;
                }
                head = false;
        }
        return id;
}

Test(criu_image, fold_final_takes_every_page_from_the_base_its_own_eager)
{
        struct img base = pagemap(5), top = pagemap(9);
        struct rc_criu_fold f;
        const char *why = "";
        uint64_t e[8][3];
        size_t n = 0;

        /* the heap (CRIU may restore it lazily) and the stack (not) */
        record(&base, (const uint64_t[]){1, 0x400000, 2, 4, 4, PE_PRESENT | PE_LAZY, 0});
        record(&base, (const uint64_t[]){1, 0x7ffd000000ull, 2, 2, 4, PE_PRESENT, 0});
        /* the final dump: the second and third heap pages dirtied, the rest in the parent */
        record(&top, (const uint64_t[]){1, 0x400000, 2, 1, 4, PE_PARENT, 0});
        record(&top, (const uint64_t[]){1, 0x401000, 2, 2, 4, PE_PRESENT | PE_LAZY, 0});
        record(&top, (const uint64_t[]){1, 0x403000, 2, 1, 4, PE_PARENT, 0});
        record(&top, (const uint64_t[]){1, 0x7ffd000000ull, 2, 2, 4, PE_PARENT, 0});
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, top.b, top.n, true, 77, &f, &why), 0, "%s", why);
        cr_assert_eq(f.base_pages_id, 5);
        cr_assert_eq(f.top_pages_id, 9);
        cr_assert_eq(f.n_copies, 1);
        cr_assert_eq(f.copies[0].from, 0);
        cr_assert_eq(f.copies[0].to, 1 * PS);
        cr_assert_eq(f.copies[0].len, 2 * PS);
        cr_assert_eq(f.lazy_pages, 2);
        cr_assert_eq(f.eager_pages, 4);
        cr_assert_eq(entries(f.pagemap, f.pagemap_len, e, &n), 77);
        cr_assert_eq(n, 4);
        cr_assert(e[0][0] == 0x400000 && e[0][1] == 1 && e[0][2] == (PE_PRESENT | PE_LAZY));
        cr_assert(e[1][0] == 0x401000 && e[1][1] == 2 && e[1][2] == PE_PRESENT,
                  "dirtied: before the tasks run");
        cr_assert(e[2][0] == 0x403000 && e[2][1] == 1 && e[2][2] == (PE_PRESENT | PE_LAZY));
        cr_assert(e[3][0] == 0x7ffd000000ull && e[3][1] == 2 && e[3][2] == PE_PRESENT,
                  "a stack is never lazy");
        /* the same image for the checks of the restore: every page in the base's file */
        {
                uint32_t id = 0;
                uint64_t pages = 0;

                cr_assert_eq(rc_criu_pagemap_need(f.pagemap, f.pagemap_len, &id, &pages), 0);
                cr_assert_eq(id, 77);
                cr_assert_eq(pages, 6);
        }
        rc_criu_fold_free(&f);
}

Test(criu_image, fold_round_copies_to_the_base_offsets_merged)
{
        struct img base = pagemap(1), top = pagemap(2);
        struct rc_criu_fold f;
        const char *why = "";

        record(&base, (const uint64_t[]){1, 0x1000, 2, 2, 4, PE_PRESENT | PE_LAZY, 0}); /* offsets 0, PS */
        record(&base, (const uint64_t[]){1, 0x5000, 2, 1, 4, PE_PRESENT | PE_LAZY, 0}); /* offset 2 PS */
        record(&top, (const uint64_t[]){1, 0x1000, 2, 1, 4, PE_PARENT, 0});
        record(&top, (const uint64_t[]){1, 0x2000, 2, 1, 4, PE_PRESENT | PE_LAZY, 0}); /* top offset 0 */
        record(&top, (const uint64_t[]){1, 0x5000, 2, 1, 4, PE_PRESENT | PE_LAZY, 0}); /* top offset PS */
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, top.b, top.n, false, 0, &f, &why), 0, "%s", why);
        cr_assert_eq(f.n_copies, 1, "contiguous at both ends: one copy");
        cr_assert(f.copies[0].from == 0 && f.copies[0].to == PS && f.copies[0].len == 2 * PS);
        cr_assert_null(f.pagemap, "a pre-dump round's pagemap is not rewritten");
        rc_criu_fold_free(&f);
}

Test(criu_image, fold_refuses_what_the_base_has_not)
{
        struct img base = pagemap(1), top = pagemap(2), fewer = pagemap(3), chained = pagemap(4);
        struct rc_criu_fold f;
        const char *why = NULL;

        record(&base, (const uint64_t[]){1, 0x1000, 2, 2, 4, PE_PRESENT | PE_LAZY, 0});
        /* a page mapped since the first pre-dump */
        record(&top, (const uint64_t[]){1, 0x1000, 2, 3, 4, PE_PRESENT | PE_LAZY, 0});
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, top.b, top.n, false, 0, &f, &why), -2);
        cr_assert_not_null(why);
        cr_assert_null(f.copies);
        /* a page unmapped since: the final's pages are not the base's */
        record(&fewer, (const uint64_t[]){1, 0x1000, 2, 1, 4, PE_PARENT, 0});
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, fewer.b, fewer.n, false, 0, &f, &why), 0);
        rc_criu_fold_free(&f);
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, fewer.b, fewer.n, true, 9, &f, &why), -2);
        /* a base with a parent of its own */
        record(&chained, (const uint64_t[]){1, 0x1000, 2, 2, 4, PE_PARENT, 0});
        cr_assert_eq(rc_criu_pagemap_fold(chained.b, chained.n, fewer.b, fewer.n, false, 0, &f, &why), -2);
        /* overlapping entries, garbage */
        record(&top, (const uint64_t[]){1, 0x2000, 2, 1, 4, PE_PARENT, 0});
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, top.b, top.n, false, 0, &f, &why), -1);
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n, (const uint8_t *)"{}", 2, false, 0, &f, &why), -1);
        cr_assert_eq(rc_criu_pagemap_fold(base.b, base.n - 1, fewer.b, fewer.n, false, 0, &f, &why), -1);
}
