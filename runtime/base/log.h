/* Library logging: the library never prints; it hands messages to the caller's sink
 * (cli/ writes them to --log in text or JSON). */
#pragma once

#include <stdarg.h>

enum rc_log_level { RC_LOG_ERROR, RC_LOG_WARNING, RC_LOG_INFO, RC_LOG_DEBUG };

struct rc_logger {
        void (*fn)(void *data, enum rc_log_level level, const char *msg);
        void *data;
        enum rc_log_level max_level; /* messages above this level are dropped */
};

void rc_log(const struct rc_logger *l, enum rc_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
const char *rc_log_level_name(enum rc_log_level level); /* "error", "warning", "info", "debug" */
