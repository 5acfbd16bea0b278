/* libFuzzer target: two CRIU pagemap images (the first byte says where the first ends)
 * folded as migrate --lazy-parent does (runtime/container/criu_image.c). A fold that is
 * accepted copies only within the two pages files, and a final's new pagemap reads back
 * as an image whose pages are the base's, all of them in the base's pages file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/container/criu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rc_criu_fold f;
        const char *why = NULL;
        size_t split;

        if (size < 1)
                return 0;
        split = data[0] * (size - 1) / 255;
        for (int final = 0; final < 2; final++) {
                uint64_t base_pages = 0, base_lazy = 0, pages = 0;
                uint32_t id = 0;

                if (rc_criu_pagemap_fold(data + 1, split, data + 1 + split, size - 1 - split, final, 12345,
                                         &f, &why) != 0) {
                        if (why == NULL || f.copies != NULL || f.pagemap != NULL)
                                abort();
                        continue;
                }
                if (final) {
                        if (rc_criu_pagemap_need(f.pagemap, f.pagemap_len, &id, &pages) != 0 ||
                            id != 12345 || rc_criu_pagemap_need(data + 1, split, &id, &base_pages) != 0 ||
                            rc_criu_pagemap_lazy(data + 1, split, &base_lazy) != 0 || pages != base_pages ||
                            f.lazy_pages + f.eager_pages != pages)
                                abort();
                } else if (f.pagemap != NULL)
                        abort();
                for (size_t i = 0; i < f.n_copies; i++)
                        if (f.copies[i].len == 0 || f.copies[i].from + f.copies[i].len < f.copies[i].from)
                                abort();
                rc_criu_fold_free(&f);
        }
        return 0;
}
