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
