/* The values options take, parsed once for every command: byte sizes and durations.
 *
 * Sizes as docker, podman and runc (go-units' RAMInBytes) read them: binary multiples,
 * any case, "512m", "2GiB", "1.5g", "64 kb". Durations as Go's time.ParseDuration plus
 * a bare number of seconds: "30", "1.5s", "500ms", "1m30s", "2h". CPUs as docker's --cpus. */
#include "cli/cli.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#define CLI_MAX_CPUS 1000
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Fractional digits beyond these are read and ignored (below a byte or a millisecond). */
#define FRAC_DIGITS 9

struct decimal {
        uint64_t whole, frac, scale; /* whole + frac / scale */
};

/* Digits, optionally "." and digits. Returns the end, or NULL if there is no number. */
static const char *parse_decimal(const char *s, struct decimal *ret)
{
        const char *p = s;
        int n = 0;

        *ret = (struct decimal){.scale = 1};
        for (; isdigit((unsigned char)*p); p++) {
                if (ret->whole > (UINT64_MAX - 9) / 10)
                        return NULL;
                ret->whole = ret->whole * 10 + (uint64_t)(*p - '0');
        }
        if (p == s)
                return NULL;
        if (*p != '.')
                return p;
        for (p++; isdigit((unsigned char)*p); p++, n++) {
                if (n < FRAC_DIGITS) {
                        ret->frac = ret->frac * 10 + (uint64_t)(*p - '0');
                        ret->scale *= 10;
                }
        }
        return n == 0 ? NULL : p; /* "1." is not a number */
}

/* whole * mult + floor(frac * mult / scale), or -1 if that passes max. */
static int decimal_scale(const struct decimal *d, uint64_t mult, uint64_t max, uint64_t *ret)
{
        /* mult = q * scale + r, so frac * mult / scale = frac * q + frac * r / scale, and
         * frac, r < scale <= 10^9 keep every product in range */
        uint64_t q = mult / d->scale, r = mult % d->scale;
        uint64_t part = d->frac * q + d->frac * r / d->scale;

        if (part > max || d->whole > (max - part) / mult)
                return -1;
        *ret = d->whole * mult + part;
        return 0;
}

static int invalid(const char *flag, const char *s, const char *why, rc_error_t *err)
{
        return rc_error_set(err, 0, "invalid value \"%s\" for %s: %s", s, flag, why);
}

/* "k", "K", "ki", "kib", "kb" ... "P...": the power of 1024; 0 for "", "b", "B". */
static int size_unit(const char *u, unsigned *ret_power)
{
        static const char units[] = "kmgtp";
        const char *found = *u != '\0' ? strchr(units, tolower((unsigned char)*u)) : NULL;

        *ret_power = 0;
        if (found != NULL) {
                *ret_power = (unsigned)(found - units) + 1;
                u++;
                u += tolower((unsigned char)*u) == 'i';
        }
        u += tolower((unsigned char)*u) == 'b';
        return *u == '\0' ? 0 : -1;
}

int cli_parse_bytes(const char *flag, const char *s, unsigned flags, int64_t *ret, rc_error_t *err)
{
        struct decimal d;
        const char *end;
        unsigned power;
        uint64_t v;

        if ((flags & CLI_VALUE_UNLIMITED) && strcmp(s, "-1") == 0) {
                *ret = -1;
                return 0;
        }
        end = parse_decimal(s, &d);
        if (end == NULL)
                return invalid(flag, s,
                               "not a size (a number of bytes, or with k, m, g, t or p, as 512m or 2GiB)",
                               err);
        end += *end == ' ';
        if (size_unit(end, &power) < 0)
                return invalid(flag, s,
                               "unknown unit (k, m, g, t or p, optionally with i, b or ib: 512m, 2GiB)",
                               err);
        if (decimal_scale(&d, UINT64_C(1) << (10 * power), INT64_MAX, &v) < 0)
                return invalid(flag, s, "too large", err);
        if ((flags & CLI_VALUE_NONZERO) && v == 0)
                return invalid(flag, s, "must be at least 1 byte", err);
        *ret = (int64_t)v;
        return 0;
}

/* The longest unit first, so "ms" is not read as "m". */
static const struct {
        const char *name;
        uint64_t ms;
} duration_units[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

static size_t duration_unit(const char *u, uint64_t *ret_ms)
{
        for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
                size_t n = strlen(duration_units[i].name);

                if (strncmp(u, duration_units[i].name, n) == 0) {
                        *ret_ms = duration_units[i].ms;
                        return n;
                }
        }
        return 0;
}

int cli_parse_duration(const char *flag, const char *s, unsigned flags, unsigned *ret_ms, rc_error_t *err)
{
        uint64_t total = 0, part, unit;
        const char *p = s, *start;
        struct decimal d;
        size_t n;

        do {
                start = p;
                p = parse_decimal(p, &d);
                if (p == NULL)
                        return invalid(flag, s,
                                       "not a duration (seconds, or with units: 500ms, 30s, 1m30s, 2h)",
                                       err);
                n = duration_unit(p, &unit);
                /* only a number on its own may leave the unit out */
                if (n == 0 && (*p != '\0' || start != s))
                        return invalid(flag, s,
                                       "missing or unknown unit (ms, s, m or h: 500ms, 30s, 1m30s, 2h)",
                                       err);
                if (n == 0)
                        unit = 1000;
                if (decimal_scale(&d, unit, INT_MAX - total, &part) < 0)
                        return invalid(flag, s, "too long (the maximum is 596h)", err);
                total += part;
                p += n;
        } while (*p != '\0');
        if ((flags & CLI_VALUE_NONZERO) && total == 0)
                return invalid(flag, s, "must be at least 1ms", err);
        *ret_ms = (unsigned)total;
        return 0;
}

int cli_parse_cpus(const char *flag, const char *s, uint64_t period, uint64_t *ret_quota, rc_error_t *err)
{
        struct decimal d;
        const char *end = parse_decimal(s, &d);
        uint64_t quota;

        if (end == NULL || *end != '\0')
                return invalid(flag, s, "not a number of CPUs (2, 1.5, 0.25)", err);
        if (decimal_scale(&d, period, CLI_MAX_CPUS * period, &quota) < 0)
                return invalid(flag, s, "more than " STRINGIFY(CLI_MAX_CPUS) " CPUs", err);
        /* the kernel's smallest cpu.max quota is 1 ms */
        if (quota < 1000)
                return invalid(flag, s, "less than 1 ms of CPU time per period", err);
        *ret_quota = quota;
        return 0;
}
