/* The monotonic clock in the units deadlines and timings are kept in. */
#pragma once

#include <stdint.h>
#include <time.h>

/* Microseconds of CLOCK_MONOTONIC (it cannot fail with a valid clock and pointer). */
static inline uint64_t rc_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline int64_t rc_now_ms(void)
{
        return (int64_t)(rc_now_us() / 1000);
}
