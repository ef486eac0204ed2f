/* config_units.c — durations and sizes as people write them in configs.
 *
 * One grammar for the loader and for tr_args_duration/tr_args_size, so a
 * behaviour reading its args accepts exactly what a config key accepts. */
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

/* Reads [0-9]+ at *s into *v (no sign); false on overflow or no digit. */
static bool digits(const char **s, uint64_t *v)
{
    const char *p = *s;
    uint64_t x = 0;
    if (*p < '0' || *p > '9') return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return false;
        x = x * 10 + d;
    }
    *s = p;
    *v = x;
    return true;
}

bool tri_parse_duration_us(const char *s, int64_t *us, bool *infinite)
{
    *us = 0;
    *infinite = false;
    if (!s || !*s) return false;
    if (strcmp(s, "infinity") == 0) {
        *infinite = true;
        return true;
    }
    if (strcmp(s, "0") == 0) return true; /* zero needs no unit */
    /* One or more <number><unit> parts, largest unit first by habit but
     * not by rule: "1h30m", "1s500ms". */
    static const struct {
        const char *name;
        uint64_t us;
    } units[] = {{"us", 1},          {"ms", 1000},         {"s", 1000000},
                 {"m", 60000000ull}, {"h", 3600000000ull}, {"d", 86400000000ull}};
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        uint64_t n;
        if (!digits(&p, &n)) return false;
        size_t ul = 0;
        while (p[ul] && (p[ul] < '0' || p[ul] > '9'))
            ul++;
        if (ul == 0) return false; /* a number without a unit */
        uint64_t mult = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == ul && memcmp(units[i].name, p, ul) == 0)
                mult = units[i].us;
        if (!mult) return false;
        if (n > (uint64_t)INT64_MAX / mult) return false;
        if (total > (uint64_t)INT64_MAX - n * mult) return false;
        total += n * mult;
        p += ul;
    }
    *us = (int64_t)total;
    return true;
}

bool tri_parse_size(const char *s, uint64_t *bytes)
{
    *bytes = 0;
    if (!s || !*s) return false;
    const char *p = s;
    uint64_t n;
    if (!digits(&p, &n)) return false;
    if (!*p) {
        *bytes = n;
        return true;
    }
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {{"B", 1},
                 {"KiB", 1ull << 10},
                 {"MiB", 1ull << 20},
                 {"GiB", 1ull << 30},
                 {"TiB", 1ull << 40},
                 {"kB", 1000},
                 {"KB", 1000},
                 {"MB", 1000000},
                 {"GB", 1000000000ull},
                 {"TB", 1000000000000ull}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(p, units[i].name) == 0) {
            if (n > UINT64_MAX / units[i].mult) return false;
            *bytes = n * units[i].mult;
            return true;
        }
    return false;
}

bool tri_parse_int(const char *s, int64_t *out)
{
    *out = 0;
    if (!s || !*s) return false;
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    if (!*p) return false;
    uint64_t x = 0;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return false;
        if (d >= base) return false;
        if (x > (UINT64_MAX - d) / base) return false;
        x = x * base + d;
    }
    if (neg) {
        if (x > (uint64_t)INT64_MAX + 1) return false;
        *out = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
    } else {
        if (x > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)x;
    }
    return true;
}
