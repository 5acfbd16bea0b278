#include "runtime/base/log.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void rc_log(const struct rc_logger *l, enum rc_log_level level, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;

        if (l == NULL || l->fn == NULL || level > l->max_level)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg == NULL)
                return;
        l->fn(l->data, level, msg);
        free(msg);
}

const char *rc_log_level_name(enum rc_log_level level)
{
        switch (level) {
        case RC_LOG_ERROR:
                return "error";
        case RC_LOG_WARNING:
                return "warning";
        case RC_LOG_INFO:
                return "info";
        case RC_LOG_DEBUG:
                return "debug";
        }
        return "unknown";
}

/* Proleptic Gregorian date of a day count since 1970-01-01 (days_from_civil inverted,
 * eras of 400 years). */
static void civil_from_days(int64_t days, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
        const int64_t z = days + 719468;
        const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = (unsigned)(z - era * 146097); /* [0, 146096] */
        const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365], from March 1 */
        const unsigned mp = (5 * doy + 2) / 153; /* [0, 11], March = 0 */

        *ret_d = doy - (153 * mp + 2) / 5 + 1;
        *ret_m = mp < 10 ? mp + 3 : mp - 9;
        *ret_y = (int64_t)yoe + era * 400 + (*ret_m <= 2);
}

int rc_format_utc(const struct timespec *ts, char *buf, size_t size)
{
        int64_t days = (int64_t)ts->tv_sec / 86400, secs = (int64_t)ts->tv_sec % 86400, year;
        unsigned month, day;
        int n;

        if (secs < 0) {
                secs += 86400;
                days--;
        }
        civil_from_days(days, &year, &month, &day);
        n = snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%09ldZ", year, month, day,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (long)ts->tv_nsec);
        if (n < 0 || (size_t)n >= size)
                return -1;
        return 0;
}
