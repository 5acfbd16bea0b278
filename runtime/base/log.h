/* Library logging: the library never prints; it hands messages to the caller's sink
 * (cli/ writes them to --log in text or JSON). */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

enum rc_log_level { RC_LOG_ERROR, RC_LOG_WARNING, RC_LOG_INFO, RC_LOG_DEBUG };

struct rc_logger {
        void (*fn)(void *data, enum rc_log_level level, const char *msg);
        void *data;
        enum rc_log_level max_level; /* messages above this level are dropped */
};

void rc_log(const struct rc_logger *l, enum rc_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
const char *rc_log_level_name(enum rc_log_level level); /* "error", "warning", "info", "debug" */

/* RFC 3339 in UTC with nanoseconds ("2024-05-01T10:00:00.000000001Z"), the time of log
 * lines and of a state's "created". Computed here, not with gmtime_r: its first call
 * loads the local time zone (/etc/localtime, ~7 system calls and a parse), which a UTC
 * time never needs. -1 when buf is too small. */
int rc_format_utc(const struct timespec *ts, char *buf, size_t size);
