/* Configuration (include/scimitar/config.h): value parsing against an
 * exact big-number reference, error messages with their file:line:column,
 * unknown keys and suggestions, the generated reference. --set overrides,
 * the canonical dump and hash: test_config_dump.c. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "scimitar/scimitar.h"

#include "helpers/testutil.h"

/* ------------------------------------------------------------------------ */
/* an exact reference: decimal big numbers in base 10^9                       */

typedef struct big {
    uint32_t d[24]; /* little-endian limbs < 10^9 */
    int n;
} big;

static void big_mul_add(big *b, uint64_t mul, uint64_t add)
{
    unsigned __int128 carry = add;
    for (int i = 0; i < b->n; i++) {
        unsigned __int128 v = (unsigned __int128)b->d[i] * mul + carry;
        b->d[i] = (uint32_t)(v % 1000000000u);
        carry = v / 1000000000u;
    }
    while (carry) {
        ck_assert_int_lt(b->n, 24);
        b->d[b->n++] = (uint32_t)(carry % 1000000000u);
        carry /= 1000000000u;
    }
}

/* divide in place; returns the remainder */
static uint64_t big_div(big *b, uint64_t q)
{
    unsigned __int128 rem = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        unsigned __int128 cur = rem * 1000000000u + b->d[i];
        b->d[i] = (uint32_t)(cur / q);
        rem = cur % q;
    }
    while (b->n && b->d[b->n - 1] == 0)
        b->n--;
    return (uint64_t)rem;
}

static bool big_to_u64(const big *b, uint64_t *out)
{
    unsigned __int128 v = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        v = v * 1000000000u + b->d[i];
        if (v > UINT64_MAX)
            return false;
    }
    *out = (uint64_t)v;
    return true;
}

typedef struct ref_unit {
    const char *name;
    uint64_t mult, div;
} ref_unit;

/* From the header's examples and docs/config.md: sizes in binary units
 * (K/M/G/T alone and lower-case k/m/g are binary too) and KB..TB decimal;
 * times; frequencies (any case); bandwidths decimal, binary and in bits. */
static const ref_unit size_u[] = {{"B", 1, 1},          {"KiB", 1ull << 10, 1}, {"MiB", 1ull << 20, 1},
                                  {"GiB", 1ull << 30, 1}, {"TiB", 1ull << 40, 1}, {"K", 1ull << 10, 1},
                                  {"M", 1ull << 20, 1},   {"G", 1ull << 30, 1},   {"T", 1ull << 40, 1},
                                  {"k", 1ull << 10, 1},   {"m", 1ull << 20, 1},   {"g", 1ull << 30, 1},
                                  {"KB", 1000, 1},        {"MB", 1000000, 1},     {"GB", 1000000000, 1},
                                  {"TB", 1000000000000ull, 1}};
static const ref_unit time_u[] = {{"ps", 1, 1},          {"ns", 1000, 1}, {"us", 1000000, 1}, {"\xc2\xb5s", 1000000, 1},
                                  {"ms", 1000000000, 1}, {"s", 1000000000000ull, 1}};
static const ref_unit freq_u[] = {{"Hz", 1, 1}, {"kHz", 1000, 1}, {"MHz", 1000000, 1}, {"GHz", 1000000000, 1}};
static const ref_unit bw_u[] = {{"B/s", 1, 1},          {"KB/s", 1000, 1},      {"MB/s", 1000000, 1},
                                {"GB/s", 1000000000, 1}, {"TB/s", 1000000000000ull, 1}, {"KiB/s", 1024, 1},
                                {"MiB/s", 1ull << 20, 1}, {"GiB/s", 1ull << 30, 1}, {"bps", 1, 8},
                                {"Kbps", 1000, 8},      {"Mbps", 1000000, 8},   {"Gbps", 1000000000, 8}};

typedef enum { R_OK, R_NOT_WHOLE, R_TOO_LARGE, R_BOTH } ref_outcome;

/* value = digits * mult / (10^fd * div), exactly */
static ref_outcome ref_value(const char *digits, int fd, uint64_t mult, uint64_t div, uint64_t *out)
{
    big b = {{0}, 0};
    for (const char *p = digits; *p; p++)
        big_mul_add(&b, 10, (uint64_t)(*p - '0'));
    big_mul_add(&b, mult, 0);
    bool whole = true;
    for (int i = 0; i < fd; i++)
        whole &= big_div(&b, 10) == 0;
    whole &= big_div(&b, div) == 0;
    bool fits = big_to_u64(&b, out); /* the integer part */
    return fits ? (whole ? R_OK : R_NOT_WHOLE) : (whole ? R_TOO_LARGE : R_BOTH);
}

static int parse(scim_param_type type, const char *unit, const char *text, uint64_t *v, char *why, size_t len)
{
    scim_param_decl d = {"k", type, "0", unit, false, 0, 0, NULL, 0, "doc", NULL};
    *v = 0xabababab;
    why[0] = '\0';
    return scim_cfg_parse_value(&d, text, v, why, len);
}

/* Random numbers written the ways the parser must accept them, each
 * checked against the big-number value. */
static void random_values(scim_param_type type, const char *decl_unit, const ref_unit *units, size_t n_units,
                          const ref_unit *bare, uint64_t seed, int count)
{
    uint64_t s = seed;
    int ok = 0, not_whole = 0, too_large = 0;
    for (int k = 0; k < count; k++) {
        char digits[64], text[128];
        int nd = 1 + (int)(rnd(&s, 4) ? rnd(&s, 12) : rnd(&s, 30)), fd = 0;
        if (nd > 1 && rnd(&s, 3) == 0)
            fd = 1 + (int)rnd(&s, nd - 1 < 6 ? nd - 1 : 6);
        for (int i = 0; i < nd; i++)
            digits[i] = (char)('0' + (i == 0 && rnd(&s, 4) ? 1 + rnd(&s, 9) : rnd(&s, 10)));
        digits[nd] = '\0';
        if (fd && rnd(&s, 2)) /* trailing fraction zeros */
            for (int i = nd - fd; i < nd; i++)
                digits[i] = rnd(&s, 3) ? '0' : digits[i];
        /* text: integer part with optional '_' separators, '.', fraction */
        size_t t = 0;
        for (int i = 0; i < nd; i++) {
            if (i == nd - fd && fd)
                text[t++] = '.';
            else if (i > 0 && i < nd - fd && rnd(&s, 8) == 0)
                text[t++] = '_';
            text[t++] = digits[i];
        }
        uint64_t hexval = 0;
        if (type == SCIM_P_SIZE && rnd(&s, 6) == 0) {
            hexval = rng_next(&s) >> rnd(&s, 64);
            t = (size_t)snprintf(text, sizeof text, rnd(&s, 2) ? "0x%" PRIx64 : "0X%" PRIX64, hexval);
            /* "0x10B" is the hex number 0x10b: a unit after hex digits needs a space */
            text[t++] = ' ';
            snprintf(digits, sizeof digits, "%" PRIu64, hexval);
            fd = 0;
        }
        const ref_unit *u = NULL;
        if (bare && rnd(&s, 5) == 0) {
            u = bare;
        } else {
            u = &units[rnd(&s, n_units)];
            if (rnd(&s, 5) == 0)
                text[t++] = ' ';
            for (const char *p = u->name; *p; p++) {
                char c = *p;
                if (type == SCIM_P_FREQ && rnd(&s, 3) == 0) /* frequency units ignore case */
                    c = (char)(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
                text[t++] = c;
            }
        }
        text[t] = '\0';
        uint64_t want = 0, got;
        ref_outcome r = ref_value(digits, fd, u->mult, u->div, &want);
        char why[400];
        int rc = parse(type, decl_unit, text, &got, why, sizeof why);
        if (r == R_OK) {
            CHECK(rc == 0, "'%s': rc %d (%s), reference %" PRIu64, text, rc, why, want);
            CHECK(got == want, "'%s' parsed as %" PRIu64 ", reference %" PRIu64, text, got, want);
            ok++;
        } else {
            CHECK(rc == SCIM_ERANGE, "'%s': rc %d (value %" PRIu64 "), reference says %s", text, rc, got,
                  r == R_NOT_WHOLE ? "not whole" : "too large");
            /* too large and not whole: either reason will do */
            CHECK((r != R_TOO_LARGE && strstr(why, "not a whole number")) ||
                      (r != R_NOT_WHOLE && strstr(why, "too large")),
                  "'%s': %s", text, why);
            if (r == R_NOT_WHOLE)
                not_whole++;
            else
                too_large++;
        }
    }
    /* the generator covered all three outcomes */
    ck_assert_int_gt(ok, count / 4);
    ck_assert_int_gt(too_large, 0);
    if (type != SCIM_P_U64)
        ck_assert_int_gt(not_whole, 0);
}

START_TEST(test_values_random)
{
    static const ref_unit bytes = {"", 1, 1}, ns = {"", 1000, 1}, hz = {"", 1, 1}, bps = {"", 1, 1};
    random_values(SCIM_P_SIZE, "bytes", size_u, SCIM_COUNT_OF(size_u), &bytes, 1, 6000);
    random_values(SCIM_P_TIME, "ns", time_u, SCIM_COUNT_OF(time_u), &ns, 2, 6000);
    random_values(SCIM_P_FREQ, "Hz", freq_u, SCIM_COUNT_OF(freq_u), &hz, 3, 6000);
    random_values(SCIM_P_BANDWIDTH, "B/s", bw_u, SCIM_COUNT_OF(bw_u), &bps, 4, 6000);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* directed values, every type                                                */

static const char *const repl_names[] = {"lru", "fifo", "random", "plru", NULL};

typedef union any_val {
    uint64_t u;
    double d;
    bool b;
    int e;
} any_val;

static int parse_decl(const scim_param_decl *d, const char *text, any_val *v, char *why, size_t len)
{
    memset(v, 0xab, sizeof *v);
    why[0] = '\0';
    return scim_cfg_parse_value(d, text, v, why, len);
}

static scim_param_decl decl_of(scim_param_type type, const char *unit)
{
    return (scim_param_decl){"k", type, "0", unit, false, 0, 0, type == SCIM_P_ENUM ? repl_names : NULL, 0, "doc", NULL};
}

static void expect_u(scim_param_type type, const char *unit, const char *text, uint64_t want)
{
    scim_param_decl d = decl_of(type, unit);
    any_val v;
    char why[400];
    int rc = parse_decl(&d, text, &v, why, sizeof why);
    ck_assert_msg(rc == 0, "'%s': %s", text, why);
    ck_assert_msg(v.u == want, "'%s' gave %" PRIu64 ", want %" PRIu64, text, v.u, want);
}

static void expect_err_decl(const scim_param_decl *d, const char *text, int code, const char *why_want)
{
    any_val v;
    char why[400];
    int rc = parse_decl(d, text, &v, why, sizeof why);
    ck_assert_msg(rc == code, "'%s': rc %d, want %d (%s)", text, rc, code, why);
    ck_assert_str_eq(why, why_want);
}

static void expect_err(scim_param_type type, const char *unit, const char *text, int code, const char *why_want)
{
    scim_param_decl d = decl_of(type, unit);
    expect_err_decl(&d, text, code, why_want);
}

START_TEST(test_values_directed)
{
    const char *esize = "expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB";
    const char *etime = "expected a time such as 250ps, 80ns, 1.5us or 10ms";
    const char *efreq = "expected a frequency such as 800MHz or 2.5GHz";
    const char *eu64 = "expected a non-negative integer (decimal or 0x hex)";
    char buf[600];

    /* sizes */
    expect_u(SCIM_P_SIZE, "bytes", "4096", 4096);
    expect_u(SCIM_P_SIZE, "bytes", "0x1000", 4096);
    expect_u(SCIM_P_SIZE, "bytes", "  64KiB ", 65536);
    expect_u(SCIM_P_SIZE, "bytes", "2 MiB", 2u << 20);
    expect_u(SCIM_P_SIZE, "bytes", "1GiB", 1u << 30);
    expect_u(SCIM_P_SIZE, "bytes", "16TiB", 1ull << 44);
    expect_u(SCIM_P_SIZE, "bytes", "1.5KiB", 1536);
    expect_u(SCIM_P_SIZE, "bytes", "0x10K", 16384);
    expect_u(SCIM_P_SIZE, "bytes", "1_000_000", 1000000);
    expect_u(SCIM_P_SIZE, "bytes", "4KB", 4000);
    expect_u(SCIM_P_SIZE, "bytes", "18446744073709551615", UINT64_MAX);
    expect_u(SCIM_P_SIZE, "bytes", "16777215TiB", ((1ull << 24) - 1) << 40);
    expect_err(SCIM_P_SIZE, "bytes", "16777216TiB", SCIM_ERANGE, "expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB; the value is too large");
    expect_err(SCIM_P_SIZE, "bytes", "18446744073709551616", SCIM_ERANGE,
               "expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB; the value is too large");
    /* (2^88 + 1) TiB = 2^128 + 2^40: must not wrap around to 1 TiB */
    expect_err(SCIM_P_SIZE, "bytes", "309485009821345068724781057TiB", SCIM_ERANGE,
               "expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB; the value is too large");
    expect_err(SCIM_P_SIZE, "bytes", "0.5B", SCIM_ERANGE,
               "expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB; the value is not a whole number of bytes");
    snprintf(buf, sizeof buf, "%s; unknown unit 'PiB'", esize);
    expect_err(SCIM_P_SIZE, "bytes", "1PiB", SCIM_EPARSE, buf);
    snprintf(buf, sizeof buf, "%s; unknown unit 'kib'", esize);
    expect_err(SCIM_P_SIZE, "bytes", "1kib", SCIM_EPARSE, buf);
    expect_err(SCIM_P_SIZE, "bytes", "-1", SCIM_EPARSE, esize);
    expect_err(SCIM_P_SIZE, "bytes", "", SCIM_EPARSE, esize);
    expect_err(SCIM_P_SIZE, "bytes", "KiB", SCIM_EPARSE, esize);
    expect_err(SCIM_P_SIZE, "bytes", "_1", SCIM_EPARSE, esize);

    /* times; a bare number is in the declaration's unit */
    expect_u(SCIM_P_TIME, "ns", "80ns", 80000);
    expect_u(SCIM_P_TIME, "ns", "1.5us", 1500000);
    expect_u(SCIM_P_TIME, "ns", "1.5\xc2\xb5s", 1500000);
    expect_u(SCIM_P_TIME, "ns", "250ps", 250);
    expect_u(SCIM_P_TIME, "ns", "10ms", 10000000000ull);
    expect_u(SCIM_P_TIME, "ns", "1s", 1000000000000ull);
    expect_u(SCIM_P_TIME, "ns", "7", 7000);
    expect_u(SCIM_P_TIME, "ps", "7", 7);
    expect_u(SCIM_P_TIME, "ns", "1.000000000000000000000000000s", 1000000000000ull);
    expect_u(SCIM_P_TIME, "ns", "0.000000000000000000000000000000000000000000000000000000000000000000000000000000"
                                "0000000000000000000000000000000000000000000000000000000000000000000000000ns", 0);
    /* 10^-150 ns: far beyond 10^38, the scale must not wrap (it used to
     * divide by zero) */
    expect_err(SCIM_P_TIME, "ns", "0.000000000000000000000000000000000000000000000000000000000000000000000000000000"
                                  "000000000000000000000000000000000000000000000000000000000000000000000000000000"
                                  "1ns", SCIM_ERANGE,
               "expected a time such as 250ps, 80ns, 1.5us or 10ms; the value is not a whole number of picoseconds");
    expect_err(SCIM_P_TIME, "ns", "0.5ps", SCIM_ERANGE,
               "expected a time such as 250ps, 80ns, 1.5us or 10ms; the value is not a whole number of picoseconds");
    snprintf(buf, sizeof buf, "%s; unknown unit 'min'", etime);
    expect_err(SCIM_P_TIME, "ns", "5min", SCIM_EPARSE, buf);
    snprintf(buf, sizeof buf, "%s (a unit is required)", etime);
    expect_err(SCIM_P_TIME, NULL, "5", SCIM_EPARSE, buf);

    /* frequencies: any case */
    expect_u(SCIM_P_FREQ, "Hz", "2GHz", 2000000000);
    expect_u(SCIM_P_FREQ, "Hz", "2.5GHz", 2500000000ull);
    expect_u(SCIM_P_FREQ, "Hz", "800MHz", 800000000);
    expect_u(SCIM_P_FREQ, "Hz", "100kHz", 100000);
    expect_u(SCIM_P_FREQ, "Hz", "1000Hz", 1000);
    expect_u(SCIM_P_FREQ, "Hz", "2ghz", 2000000000);
    expect_u(SCIM_P_FREQ, "Hz", "3", 3);
    snprintf(buf, sizeof buf, "%s (a unit is required)", efreq);
    expect_err(SCIM_P_FREQ, NULL, "3", SCIM_EPARSE, buf);

    /* bandwidths */
    expect_u(SCIM_P_BANDWIDTH, "B/s", "32GB/s", 32000000000ull);
    expect_u(SCIM_P_BANDWIDTH, "B/s", "500MB/s", 500000000);
    expect_u(SCIM_P_BANDWIDTH, "B/s", "16GiB/s", 16ull << 30);
    expect_u(SCIM_P_BANDWIDTH, "B/s", "100Gbps", 12500000000ull);
    expect_u(SCIM_P_BANDWIDTH, "B/s", "8bps", 1);
    expect_err(SCIM_P_BANDWIDTH, "B/s", "1bps", SCIM_ERANGE,
               "expected a bandwidth such as 32GB/s, 500MB/s, 16GiB/s or 100Gbps; the value is not a whole number of "
               "bytes");

    /* integers */
    expect_u(SCIM_P_U64, NULL, "0", 0);
    expect_u(SCIM_P_U64, NULL, "0x10", 16);
    expect_u(SCIM_P_U64, NULL, "0XfF", 255);
    expect_u(SCIM_P_U64, NULL, "1_000", 1000);
    expect_u(SCIM_P_U64, NULL, "18446744073709551615", UINT64_MAX);
    expect_u(SCIM_P_U64, NULL, "0xffffffffffffffff", UINT64_MAX);
    snprintf(buf, sizeof buf, "%s; the value is too large", eu64);
    expect_err(SCIM_P_U64, NULL, "18446744073709551616", SCIM_ERANGE, buf);
    expect_err(SCIM_P_U64, NULL, "0x10000000000000000", SCIM_ERANGE, buf);
    expect_err(SCIM_P_U64, NULL, "-1", SCIM_EPARSE, eu64);
    expect_err(SCIM_P_U64, NULL, "1.5", SCIM_EPARSE, eu64);
    expect_err(SCIM_P_U64, NULL, "1.0", SCIM_EPARSE, eu64);
    expect_err(SCIM_P_U64, NULL, "12abc", SCIM_EPARSE, eu64);
    expect_err(SCIM_P_U64, NULL, "0x", SCIM_EPARSE, eu64);
    expect_err(SCIM_P_U64, NULL, "4KiB", SCIM_EPARSE, eu64);
    scim_param_decl ranged = {"k", SCIM_P_U64, "1", NULL, true, 1, 64, NULL, 0, "doc", NULL};
    expect_err_decl(&ranged, "0", SCIM_ERANGE, "value 0 is outside the allowed range 1..64 (in units)");
    expect_err_decl(&ranged, "65", SCIM_ERANGE, "value 65 is outside the allowed range 1..64 (in units)");
    scim_param_decl rsize = {"k", SCIM_P_SIZE, "1", "bytes", true, 65536, 70368744177664.0, NULL, 0, "doc", NULL};
    expect_err_decl(&rsize, "4KiB", SCIM_ERANGE, "value 4KiB is outside the allowed range 65536..70368744177664 (in bytes)");
    scim_param_decl rtime = {"k", SCIM_P_TIME, "1", "ns", true, 1000, 2000, NULL, 0, "doc", NULL};
    expect_err_decl(&rtime, "3ns", SCIM_ERANGE, "value 3ns is outside the allowed range 1000..2000 (in ps)");

    /* booleans */
    static const char *const yes[] = {"true", "yes", "on", "TRUE", "On", "yEs"};
    static const char *const no[] = {"false", "no", "off", "FALSE", "Off"};
    scim_param_decl db = decl_of(SCIM_P_BOOL, NULL);
    any_val v;
    char why[400];
    for (size_t i = 0; i < SCIM_COUNT_OF(yes); i++) {
        ck_assert_int_eq(parse_decl(&db, yes[i], &v, why, sizeof why), 0);
        ck_assert(v.b == true);
    }
    for (size_t i = 0; i < SCIM_COUNT_OF(no); i++) {
        ck_assert_int_eq(parse_decl(&db, no[i], &v, why, sizeof why), 0);
        ck_assert(v.b == false);
    }
    expect_err(SCIM_P_BOOL, NULL, "1", SCIM_EPARSE, "expected true or false");
    expect_err(SCIM_P_BOOL, NULL, "truee", SCIM_EPARSE, "expected true or false");

    /* doubles */
    scim_param_decl dd = decl_of(SCIM_P_DOUBLE, NULL);
    ck_assert_int_eq(parse_decl(&dd, "1.5", &v, why, sizeof why), 0);
    ck_assert(v.d == 1.5);
    ck_assert_int_eq(parse_decl(&dd, " 1e3 ", &v, why, sizeof why), 0);
    ck_assert(v.d == 1000.0);
    ck_assert_int_eq(parse_decl(&dd, "-0.25", &v, why, sizeof why), 0);
    ck_assert(v.d == -0.25);
    expect_err(SCIM_P_DOUBLE, NULL, "nan", SCIM_EPARSE, "expected a number");
    expect_err(SCIM_P_DOUBLE, NULL, "inf", SCIM_EPARSE, "expected a number");
    expect_err(SCIM_P_DOUBLE, NULL, "1e999", SCIM_EPARSE, "expected a number");
    expect_err(SCIM_P_DOUBLE, NULL, "1.5x", SCIM_EPARSE, "expected a number");
    scim_param_decl rd = {"k", SCIM_P_DOUBLE, "0", NULL, true, 0, 1, NULL, 0, "doc", NULL};
    expect_err_decl(&rd, "2", SCIM_ERANGE, "value 2 is outside 0..1");
    expect_err_decl(&rd, "-0.5", SCIM_ERANGE, "value -0.5 is outside 0..1"); /* below, as inject's probability */

    /* enums, with a suggestion only when it is close */
    scim_param_decl de = decl_of(SCIM_P_ENUM, NULL);
    ck_assert_int_eq(parse_decl(&de, "plru", &v, why, sizeof why), 0);
    ck_assert_int_eq(v.e, 3);
    ck_assert_int_eq(parse_decl(&de, " fifo ", &v, why, sizeof why), 0);
    ck_assert_int_eq(v.e, 1);
    expect_err(SCIM_P_ENUM, NULL, "lur", SCIM_EPARSE, "expected one of: lru, fifo, random, plru (did you mean 'lru'?)");
    expect_err(SCIM_P_ENUM, NULL, "randm", SCIM_EPARSE,
               "expected one of: lru, fifo, random, plru (did you mean 'random'?)");
    expect_err(SCIM_P_ENUM, NULL, "LRU", SCIM_EPARSE, "expected one of: lru, fifo, random, plru");
    expect_err(SCIM_P_ENUM, NULL, "xyzzy", SCIM_EPARSE, "expected one of: lru, fifo, random, plru");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* binding and error locations                                                */

typedef struct my_cfg {
    uint64_t entries, ways;
    int repl;
    bool enabled;
    uint64_t size;
    uint64_t latency, depth;
    const char *name;
    const scim_cfg_node *extra;
} my_cfg;

static const scim_param_decl my_decls[] = {
    {"entries", SCIM_P_U64, "64", "entries", true, 0, 1024, NULL, offsetof(my_cfg, entries), "Entries.", NULL},
    {"ways", SCIM_P_U64, "4", "ways", true, 1, 64, NULL, offsetof(my_cfg, ways), "Ways.", NULL},
    {"replacement", SCIM_P_ENUM, "lru", NULL, false, 0, 0, repl_names, offsetof(my_cfg, repl), "Policy.", NULL},
    {"enabled", SCIM_P_BOOL, "true", NULL, false, 0, 0, NULL, offsetof(my_cfg, enabled), "On.", NULL},
    {"size", SCIM_P_SIZE, "4KiB", "bytes", false, 0, 0, NULL, offsetof(my_cfg, size), "Size.", NULL},
    {"walk.latency", SCIM_P_TIME, "80ns", "ns", false, 0, 0, NULL, offsetof(my_cfg, latency), "Latency.", NULL},
    {"walk.depth", SCIM_P_U64, "4", NULL, false, 0, 0, NULL, offsetof(my_cfg, depth), "Depth.", NULL},
    {"name", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(my_cfg, name), "Name.", NULL},
    {"extra", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(my_cfg, extra), "Extra.", NULL},
};

static const char *const valid_here = "entries, ways, replacement, enabled, size, walk, name, extra";

/* Load `yaml` as t.yaml and bind its root; returns the status, fills msg. */
static int bind_text(const char *yaml, my_cfg *out, const char *const *extra, char *msg, size_t len)
{
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "t.yaml", &err);
    int rc = err.code;
    if (cfg) {
        memset(out, 0, sizeof *out);
        rc = scim_cfg_bind(scim_cfg_root(cfg), "dev", my_decls, SCIM_COUNT_OF(my_decls), out, extra, &err);
        /* strings and nodes point into cfg: copy what the tests read */
        if (out->name)
            out->name = strcmp(out->name, "x") == 0 ? "x" : "(other)";
        out->extra = NULL;
        scim_cfg_destroy(cfg);
    }
    snprintf(msg, len, "%s", err.msg);
    return rc;
}

static void expect_bind_error(const char *yaml, int code, const char *want)
{
    my_cfg c;
    char msg[1100];
    int rc = bind_text(yaml, &c, NULL, msg, sizeof msg);
    ck_assert_msg(rc == code, "rc %d, want %d: %s", rc, code, msg);
    ck_assert_str_eq(msg, want);
}

START_TEST(test_bind)
{
    my_cfg c;
    char msg[1100];
    ck_assert_int_eq(bind_text("name: x\nentries: 128\nwalk:\n  latency: 1.5us\nextra: {a: 1}\n", &c, NULL, msg,
                               sizeof msg),
                     0);
    ck_assert_uint_eq(c.entries, 128);
    ck_assert_uint_eq(c.ways, 4);
    ck_assert_int_eq(c.repl, 0);
    ck_assert(c.enabled);
    ck_assert_uint_eq(c.size, 4096);
    ck_assert_uint_eq(c.latency, 1500000);
    ck_assert_uint_eq(c.depth, 4);
    ck_assert_str_eq(c.name, "x");
    /* a null section is all defaults; extra keys are left to the caller */
    static const char *const extra[] = {"trace_extra", NULL};
    ck_assert_int_eq(bind_text("name: x\nwalk:\ntrace_extra: [1, 2]\n", &c, extra, msg, sizeof msg), 0);
    ck_assert_uint_eq(c.latency, 80000);
    ck_assert_int_eq(bind_text("name: x\nwalk: ~\n", &c, NULL, msg, sizeof msg), 0);

    char want[1100];
    snprintf(want, sizeof want,
             "t.yaml:2:1: error: unknown key 'dev.entires'; did you mean 'entries'? (valid here: %s)", valid_here);
    expect_bind_error("name: x\nentires: 4\n", SCIM_ECONFIG, want);
    snprintf(want, sizeof want, "t.yaml:3:1: error: unknown key 'dev.zzzzzz'; valid here: %s", valid_here);
    expect_bind_error("name: x\nentries: 4\nzzzzzz: 1\n", SCIM_ECONFIG, want);
    expect_bind_error("name: x\nwalk:\n  latncy: 5ns\n", SCIM_ECONFIG,
                      "t.yaml:3:3: error: unknown key 'dev.walk.latncy'; did you mean 'latency'? (valid here: "
                      "latency, depth)");
    expect_bind_error("name: x\nentries: lots\n", SCIM_ECONFIG,
                      "t.yaml:2:10: error: key 'dev.entries': expected a non-negative integer (decimal or 0x hex), "
                      "got 'lots'");
    expect_bind_error("name: x\nways: 0\n", SCIM_ECONFIG,
                      "t.yaml:2:7: error: key 'dev.ways': value 0 is outside the allowed range 1..64 (in units), got "
                      "'0'");
    expect_bind_error("entries: 4\n", SCIM_ECONFIG, "t.yaml:1:1: error: missing required key 'dev.name'; add it (Name.)");
    expect_bind_error("name: x\nentries: [1]\n", SCIM_ECONFIG,
                      "t.yaml:2:10: error: key 'dev.entries': expected a non-negative integer (decimal or 0x hex), "
                      "got a list");
    expect_bind_error("name: x\nentries: {a: 1}\n", SCIM_ECONFIG,
                      "t.yaml:2:10: error: key 'dev.entries': expected a non-negative integer (decimal or 0x hex), "
                      "got a map");
    expect_bind_error("name: x\nwalk: 5\n", SCIM_ECONFIG, "t.yaml:2:7: error: a map is needed above key 'dev.walk.latency'");
    expect_bind_error("name: x\nwalk: [1]\n", SCIM_ECONFIG,
                      "t.yaml:2:7: error: a map is needed above key 'dev.walk.latency'");
    expect_bind_error("name: x\nreplacement: lur\n", SCIM_ECONFIG,
                      "t.yaml:2:14: error: key 'dev.replacement': expected one of: lru, fifo, random, plru (did you "
                      "mean 'lru'?), got 'lur'");
    expect_bind_error("{name: x, walk: {latency: 3 parsecs}}", SCIM_ECONFIG,
                      "t.yaml:1:27: error: key 'dev.walk.latency': expected a time such as 250ps, 80ns, 1.5us or "
                      "10ms; unknown unit 'parsecs', got '3 parsecs'");
    expect_bind_error("name: x\nwalk:\n    depth: 0x\n", SCIM_ECONFIG,
                      "t.yaml:3:12: error: key 'dev.walk.depth': expected a non-negative integer (decimal or 0x hex), "
                      "got '0x'");
    expect_bind_error("name: ''\n", SCIM_ECONFIG, "t.yaml:1:7: error: key 'dev.name': expected a non-empty string");
    expect_bind_error("# comment\n\nname: x\nsize: 1.5B\n", SCIM_ECONFIG,
                      "t.yaml:4:7: error: key 'dev.size': expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB; "
                      "the value is not a whole number of bytes, got '1.5B'");
    expect_bind_error("name: x\nenabled: maybe\n", SCIM_ECONFIG,
                      "t.yaml:2:10: error: key 'dev.enabled': expected true or false, got 'maybe'");

    /* binding a section that is not a map */
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string("dev: 5\nlist: [1]\n", strlen("dev: 5\nlist: [1]\n"), "t.yaml", &err);
    ck_assert_ptr_nonnull(cfg);
    my_cfg out;
    ck_assert_int_eq(scim_cfg_bind(scim_cfg_get_path(scim_cfg_root(cfg), "dev"), "dev", my_decls,
                                   SCIM_COUNT_OF(my_decls), &out, NULL, &err),
                     SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "t.yaml:1:6: error: 'dev' must be a map of settings, not a single value");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_cfg_bind(scim_cfg_get_path(scim_cfg_root(cfg), "list"), "list", my_decls,
                                   SCIM_COUNT_OF(my_decls), &out, NULL, &err),
                     SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "t.yaml:2:7: error: 'list' must be a map of settings, not a list");
    /* absent section: all defaults, and the required key is reported */
    scim_err_clear(&err);
    ck_assert_int_eq(scim_cfg_bind(NULL, "dev", my_decls, SCIM_COUNT_OF(my_decls), &out, NULL, &err), SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "(configuration): error: missing required key 'dev.name'; add it (Name.)");
    scim_cfg_destroy(cfg);
}
END_TEST

static void expect_load_error(const char *yaml, int code, const char *want)
{
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "t.yaml", &err);
    ck_assert_msg(cfg == NULL, "'%s' loaded", yaml);
    ck_assert_msg(err.code == code, "'%s': code %d, want %d: %s", yaml, err.code, code, err.msg);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(test_load_errors)
{
    expect_load_error("a: 1\nb: 2\na: 3\n", SCIM_EPARSE, "t.yaml:3:1: error: duplicate key 'a' (first at line 1); keep one");
    expect_load_error("{a: 1, b: {c: [1, {d: e}]}, a: 2}", SCIM_EPARSE,
                      "t.yaml:1:29: error: duplicate key 'a' (first at line 1); keep one");
    expect_load_error("a: !!binary abc\n", SCIM_EPARSE,
                      "t.yaml:1:4: error: unsupported YAML tag 'tag:yaml.org,2002:binary'; remove it");
    expect_load_error("a:\n  - !foo [1]\n", SCIM_EPARSE, "t.yaml:2:5: error: unsupported YAML tag '!foo'; remove it");
    expect_load_error("- 1\n- 2\n", SCIM_ECONFIG,
                      "t.yaml:1:1: error: the configuration must be a map of keys (e.g. 'devices:'), not a list");
    expect_load_error("\n\n  5\n", SCIM_ECONFIG,
                      "t.yaml:3:3: error: the configuration must be a map of keys (e.g. 'devices:'), not a single value");
    expect_load_error("a: 1\n---\nb: 2\n", SCIM_EPARSE, "t.yaml:2:1: error: more than one YAML document; keep one");
    expect_load_error("a: *x\n", SCIM_EPARSE, "t.yaml:1:4: error: unknown alias '*x'");
    expect_load_error("? [a]\n: 1\n", SCIM_EPARSE, "t.yaml:1:3: error: map keys must be plain names, not maps or lists");
    expect_load_error("a: &k b\n*k : 1\n", SCIM_EPARSE, "t.yaml:2:1: error: map keys must be plain names, not aliases");
    expect_load_error("a: b: c\n", SCIM_EPARSE,
                      "t.yaml:1:5: error: mapping values are not allowed in this context; check indentation, colons "
                      "and quotes");
    expect_load_error("a:\n  b: 1\n c: 2\n", SCIM_EPARSE,
                      "t.yaml:3:2: error: did not find expected key while parsing a block mapping (line 1); check "
                      "indentation, colons and quotes");
    expect_load_error("a: [1, 2\nb: 3\n", SCIM_EPARSE,
                      "t.yaml:2:2: error: did not find expected ',' or ']' while parsing a flow sequence (line 1); "
                      "check indentation, colons and quotes");
    expect_load_error("x: 1\na: \"unterminated\n", SCIM_EPARSE,
                      "t.yaml:3:1: error: found unexpected end of stream while scanning a quoted scalar (line 2); "
                      "check indentation, colons and quotes");
    /* nesting is bounded (alias bombs: test_config_aliases) */
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    char doc[500];
    snprintf(doc, sizeof doc, "a: %s\n", deep);
    expect_load_error(doc, SCIM_EPARSE, "t.yaml:1:68: error: nesting deeper than 64 levels");
    /* not a file */
    scim_err err = {0};
    ck_assert_ptr_null(scim_cfg_load_file("/nonexistent/dir/x.yaml", &err));
    ck_assert_int_eq(err.code, SCIM_EIO);
    ck_assert_str_eq(err.msg, "cannot open configuration /nonexistent/dir/x.yaml: No such file or directory");
    /* empty documents are an empty map */
    static const char *const empty[] = {"", "# only a comment\n", "\n\n"};
    for (size_t i = 0; i < SCIM_COUNT_OF(empty); i++) {
        scim_err_clear(&err);
        scim_cfg *cfg = scim_cfg_load_string(empty[i], strlen(empty[i]), NULL, &err);
        ck_assert_msg(cfg != NULL, "'%s': %s", empty[i], err.msg);
        ck_assert_int_eq(scim_cfg_node_kind(scim_cfg_root(cfg)), SCIM_CFG_MAP);
        ck_assert_uint_eq(scim_cfg_node_count(scim_cfg_root(cfg)), 0);
        ck_assert_str_eq(scim_cfg_name(cfg), "(string)");
        scim_cfg_destroy(cfg);
    }
}
END_TEST

/* The simulator's own tables: unknown keys at the top and in a section. */
START_TEST(test_sim_keys)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"seed: 1\nkernal:\n  backend: native\n",
         "exp.yaml:2:1: error: unknown key 'kernal'; did you mean 'kernel'? (valid here: seed, scheme, kernel, sim, "
         "system, fabric, memory, os, iommu, vms, processes, devices, cpus, sweep, inject)"},
        {"seed: 1\nkernel:\n  backend: natve\n",
         "exp.yaml:3:12: error: key 'kernel.backend': expected one of: systemc, native (did you mean 'native'?), got "
         "'natve'"},
        {"memory:\n  size: 1GiB\n  latancy: 80ns\n",
         "exp.yaml:3:3: error: unknown key 'memory.latancy'; did you mean 'latency'? (valid here: size, latency, "
         "bandwidth, queue)"},
        {"memory:\n  size: 1KiB\n",
         "exp.yaml:2:9: error: key 'memory.size': value 1KiB is outside the allowed range 65536..70368744177664 (in "
         "bytes), got '1KiB'"},
        {"seed: -3\n",
         "exp.yaml:1:7: error: key 'seed': expected a non-negative integer (decimal or 0x hex), got '-3'"},
    };
    for (size_t i = 0; i < SCIM_COUNT_OF(cases); i++) {
        scim_sim *sim = scim_sim_create();
        ck_assert_int_eq(scim_sim_load_string(sim, cases[i].yaml, "exp.yaml"), 0);
        ck_assert_int_eq(scim_sim_build(sim), SCIM_ECONFIG);
        ck_assert_str_eq(scim_sim_errmsg(sim), cases[i].want);
        scim_sim_destroy(sim);
    }
    /* an override is reported against --set, with its column */
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, "seed: 1\n", "exp.yaml"), 0);
    ck_assert_int_eq(scim_sim_set(sim, "memory.size=lots"), 0);
    ck_assert_int_eq(scim_sim_build(sim), SCIM_ECONFIG);
    ck_assert_str_eq(scim_sim_errmsg(sim), "--set:1:13: error: key 'memory.size': expected a size such as 4096, "
                                           "0x1000, 64KiB, 2MiB or 1GiB, got 'lots'");
    scim_sim_destroy(sim);
}
END_TEST

/* A bind error on a --set override points at its value (the overrides
 * themselves: test_config_dump.c). */
START_TEST(test_set_then_bind)
{
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_new_empty(NULL);
    ck_assert_int_eq(scim_cfg_set(cfg, "name=x", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "walk.latency=9 furlongs", &err), 0);
    my_cfg out;
    ck_assert_int_eq(scim_cfg_bind(scim_cfg_root(cfg), "", my_decls, SCIM_COUNT_OF(my_decls), &out, NULL, &err),
                     SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "--set:1:14: error: key 'walk.latency': expected a time such as 250ps, 80ns, 1.5us or "
                              "10ms; unknown unit 'furlongs', got '9 furlongs'");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_cfg_set(cfg, "walk.latencyy=1ns", &err), 0);
    ck_assert_int_eq(scim_cfg_set(cfg, "walk.latency=9ns", &err), 0);
    ck_assert_int_eq(scim_cfg_bind(scim_cfg_root(cfg), "", my_decls, SCIM_COUNT_OF(my_decls), &out, NULL, &err),
                     SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "--set:1:6: error: unknown key 'walk.latencyy'; did you mean 'latency'? (valid here: "
                              "latency, depth)");
    scim_cfg_destroy(cfg);
}
END_TEST

START_TEST(test_doc_markdown)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(scim_cfg_doc_markdown(f, "dev.", my_decls, 3), 0);
    fclose(f);
    ck_assert_str_eq(buf, "| key | type | default | unit | range | description | source of the default |\n"
                          "|---|---|---|---|---|---|---|\n"
                          "| `dev.entries` | integer | 64 | entries | 0..1024 | Entries. |  |\n"
                          "| `dev.ways` | integer | 4 | ways | 1..64 | Ways. |  |\n"
                          "| `dev.replacement` | enum | lru |  | lru, fifo, random, plru | Policy. |  |\n");
    free(buf);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_values_random);
    tcase_add_test(tc, test_values_directed);
    tcase_add_test(tc, test_bind);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_sim_keys);
    tcase_add_test(tc, test_set_then_bind);
    tcase_add_test(tc, test_doc_markdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(config_suite()); }
