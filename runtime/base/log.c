#include "runtime/base/log.h"

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
