/* Configuration: one value's text as a parameter's type (integers,
 * numbers, bools, enums, and sizes, times, frequencies and bandwidths with
 * their units), exactly and with a message saying what was expected.
 * Contract in core/config.h. */
#include "core/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *scim_cfg_type_expect(const scim_param_decl *d)
{
    switch (d->type) {
    case SCIM_P_U64: return "a non-negative integer (decimal or 0x hex)";
    case SCIM_P_DOUBLE: return "a number";
    case SCIM_P_BOOL: return "true or false";
    case SCIM_P_SIZE: return "a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB";
    case SCIM_P_TIME: return "a time such as 250ps, 80ns, 1.5us or 10ms";
    case SCIM_P_FREQ: return "a frequency such as 800MHz or 2.5GHz";
    case SCIM_P_BANDWIDTH: return "a bandwidth such as 32GB/s, 500MB/s, 16GiB/s or 100Gbps";
    case SCIM_P_ENUM: return "one of the listed values";
    case SCIM_P_STRING: return "a string";
    default: return "a map or list";
    }
}

static const char *trim(const char *s, char *buf, size_t len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Exact decimal: digits with optional '_' separators and one '.', or 0x hex.
 * Returns the mantissa and the number of fraction digits; *end after it. */
static bool parse_number(const char *s, unsigned __int128 *mant, int *frac_digits, const char **end)
{
    unsigned __int128 m = 0;
    int fd = 0;
    bool any = false, dot = false;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        while (isxdigit((unsigned char)*p) || (*p == '_' && any)) {
            if (*p != '_') {
                int d = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
                m = m * 16 + (unsigned)d;
                if (m > ((unsigned __int128)1 << 100))
                    return false;
                any = true;
            }
            p++;
        }
        *mant = m;
        *frac_digits = 0;
        *end = p;
        return any;
    }
    while (isdigit((unsigned char)*p) || (*p == '_' && any) || (*p == '.' && !dot)) {
        if (*p == '.') {
            dot = true;
        } else if (*p != '_') {
            if (m > ((unsigned __int128)1 << 100))
                return false;
            m = m * 10 + (unsigned)(*p - '0');
            any = true;
            if (dot)
                fd++;
        }
        p++;
    }
    *mant = m;
    *frac_digits = fd;
    *end = p;
    return any;
}

typedef struct unit {
    const char *name;
    unsigned __int128 mult; /* value = number * mult / div */
    uint64_t div;
    bool icase;
} unit;

static const unit size_units[] = {
    {"B", 1, 1, false},          {"KiB", 1024, 1, false},     {"MiB", 1ull << 20, 1, false},
    {"GiB", 1ull << 30, 1, false}, {"TiB", 1ull << 40, 1, false}, {"K", 1024, 1, false},
    {"M", 1ull << 20, 1, false},  {"G", 1ull << 30, 1, false},  {"T", 1ull << 40, 1, false},
    {"k", 1024, 1, false},        {"m", 1ull << 20, 1, false},  {"g", 1ull << 30, 1, false},
    {"KB", 1000, 1, false},       {"MB", 1000000, 1, false},    {"GB", 1000000000, 1, false},
    {"TB", 1000000000000ull, 1, false}, {NULL, 0, 0, false}};
static const unit time_units[] = {{"ps", 1, 1, false},        {"ns", 1000, 1, false},
                                  {"us", 1000000, 1, false},  {"\xc2\xb5s", 1000000, 1, false},
                                  {"ms", 1000000000, 1, false}, {"s", 1000000000000ull, 1, false},
                                  {NULL, 0, 0, false}};
static const unit freq_units[] = {{"Hz", 1, 1, true},
                                  {"kHz", 1000, 1, true},
                                  {"MHz", 1000000, 1, true},
                                  {"GHz", 1000000000, 1, true},
                                  {NULL, 0, 0, false}};
static const unit bw_units[] = {{"B/s", 1, 1, false},        {"KB/s", 1000, 1, false},
                                {"MB/s", 1000000, 1, false}, {"GB/s", 1000000000, 1, false},
                                {"TB/s", 1000000000000ull, 1, false}, {"KiB/s", 1024, 1, false},
                                {"MiB/s", 1ull << 20, 1, false}, {"GiB/s", 1ull << 30, 1, false},
                                {"bps", 1, 8, false},        {"Kbps", 1000, 8, false},
                                {"Mbps", 1000000, 8, false}, {"Gbps", 1000000000, 8, false},
                                {NULL, 0, 0, false}};

static int parse_with_units(const scim_param_decl *d, const char *text, const unit *units, uint64_t *out, char *why,
                            size_t why_len)
{
    unsigned __int128 mant;
    int fd;
    const char *rest;
    if (!parse_number(text, &mant, &fd, &rest)) {
        snprintf(why, why_len, "expected %s", scim_cfg_type_expect(d));
        return SCIM_EPARSE;
    }
    while (*rest == ' ')
        rest++;
    const unit *u = NULL;
    if (*rest == '\0') {
        if (d->unit) {
            for (const unit *c = units; c->name; c++)
                if ((c->icase ? strcasecmp(c->name, d->unit) : strcmp(c->name, d->unit)) == 0)
                    u = c;
        }
        if (!u && units != size_units) {
            snprintf(why, why_len, "expected %s (a unit is required)", scim_cfg_type_expect(d));
            return SCIM_EPARSE;
        }
        static const unit one = {"", 1, 1, false};
        if (!u)
            u = &one;
    } else {
        for (const unit *c = units; c->name; c++)
            if ((c->icase ? strcasecmp(c->name, rest) : strcmp(c->name, rest)) == 0)
                u = c;
        if (!u) {
            snprintf(why, why_len, "expected %s; unknown unit '%s'", scim_cfg_type_expect(d), rest);
            return SCIM_EPARSE;
        }
    }
    /* Trailing fraction zeros change nothing: drop them. Then neither
     * mant * mult nor 10^fd may wrap around 2^128 (a wrapped product could
     * pass as a small whole number, a wrapped 10^fd as a divisor of zero). */
    while (fd > 0 && mant % 10 == 0) {
        mant /= 10;
        fd--;
    }
    if (mant != 0 && u->mult > ~(unsigned __int128)0 / mant) {
        snprintf(why, why_len, "expected %s; the value is too large", scim_cfg_type_expect(d));
        return SCIM_ERANGE;
    }
    unsigned __int128 scale = 1;
    for (int i = 0; i < fd && i <= 38; i++)
        scale *= 10;
    unsigned __int128 num = mant * u->mult;
    unsigned __int128 den = scale * u->div;
    /* fd > 38: 10^fd exceeds every product, which is not 0 (mant != 0) */
    if (fd > 38 || num % den != 0) {
        snprintf(why, why_len, "expected %s; the value is not a whole number of %s", scim_cfg_type_expect(d),
                 d->type == SCIM_P_TIME ? "picoseconds" : d->type == SCIM_P_FREQ ? "hertz" : "bytes");
        return SCIM_ERANGE;
    }
    unsigned __int128 v = num / den;
    if (v > UINT64_MAX) {
        snprintf(why, why_len, "expected %s; the value is too large", scim_cfg_type_expect(d));
        return SCIM_ERANGE;
    }
    *out = (uint64_t)v;
    return 0;
}

size_t scim_cfg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
        }
    return d[la][lb];
}

int scim_cfg_parse_value(const scim_param_decl *d, const char *raw, void *out, char *why, size_t why_len)
{
    char buf[512];
    const char *t = trim(raw, buf, sizeof buf);
    uint64_t u = 0;
    int rc = 0;
    switch (d->type) {
    case SCIM_P_U64: {
        unsigned __int128 mant;
        int fd;
        const char *rest;
        if (t[0] == '-' || !parse_number(t, &mant, &fd, &rest) || *rest || fd) {
            snprintf(why, why_len, "expected %s", scim_cfg_type_expect(d));
            return SCIM_EPARSE;
        }
        if (mant > UINT64_MAX) {
            snprintf(why, why_len, "expected %s; the value is too large", scim_cfg_type_expect(d));
            return SCIM_ERANGE;
        }
        u = (uint64_t)mant;
        break;
    }
    case SCIM_P_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(t, &end);
        if (!*t || *end || errno || !isfinite(v)) {
            snprintf(why, why_len, "expected %s", scim_cfg_type_expect(d));
            return SCIM_EPARSE;
        }
        if (d->ranged && (v < d->min || v > d->max)) {
            snprintf(why, why_len, "value %g is outside %g..%g", v, d->min, d->max);
            return SCIM_ERANGE;
        }
        *(double *)out = v;
        return 0;
    }
    case SCIM_P_BOOL: {
        static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
        for (int i = 0; i < 3; i++) {
            if (!strcasecmp(t, yes[i])) {
                *(bool *)out = true;
                return 0;
            }
            if (!strcasecmp(t, no[i])) {
                *(bool *)out = false;
                return 0;
            }
        }
        snprintf(why, why_len, "expected %s", scim_cfg_type_expect(d));
        return SCIM_EPARSE;
    }
    case SCIM_P_SIZE: rc = parse_with_units(d, t, size_units, &u, why, why_len); break;
    case SCIM_P_TIME: rc = parse_with_units(d, t, time_units, &u, why, why_len); break;
    case SCIM_P_FREQ: rc = parse_with_units(d, t, freq_units, &u, why, why_len); break;
    case SCIM_P_BANDWIDTH: rc = parse_with_units(d, t, bw_units, &u, why, why_len); break;
    case SCIM_P_ENUM: {
        size_t best = 99;
        const char *sugg = NULL;
        char list[256] = "";
        for (int i = 0; d->enum_values[i]; i++) {
            if (strcmp(t, d->enum_values[i]) == 0) {
                *(int *)out = i;
                return 0;
            }
            size_t e = scim_cfg_edit_distance(t, d->enum_values[i]);
            if (e < best) {
                best = e;
                sugg = d->enum_values[i];
            }
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, d->enum_values[i], sizeof list - strlen(list) - 1);
        }
        if (sugg && best <= 2)
            snprintf(why, why_len, "expected one of: %s (did you mean '%s'?)", list, sugg);
        else
            snprintf(why, why_len, "expected one of: %s", list);
        return SCIM_EPARSE;
    }
    default:
        snprintf(why, why_len, "internal: type %d has no text form", (int)d->type);
        return SCIM_EINVAL;
    }
    if (rc)
        return rc;
    if (d->ranged && ((double)u < d->min || (double)u > d->max)) {
        /* whole bounds in full: %g would print 2^57 bytes as 1.44115188075856e+17 */
        snprintf(why, why_len, "value %s is outside the allowed range %.*f..%.*f (in %s)", t,
                 d->min == floor(d->min) ? 0 : 6, d->min, d->max == floor(d->max) ? 0 : 6, d->max,
                 d->type == SCIM_P_TIME ? "ps" : d->type == SCIM_P_FREQ ? "Hz" : d->type == SCIM_P_BANDWIDTH ? "B/s"
                 : d->type == SCIM_P_SIZE ? "bytes" : "units");
        return SCIM_ERANGE;
    }
    *(uint64_t *)out = u;
    return 0;
}
