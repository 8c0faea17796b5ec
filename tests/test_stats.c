/* Statistics registry: registration rules, sorted flat view, byte-exact
 * JSON/CSV, atomic directory output. Histograms: test_stats_hist.c. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/stats.h"

#include "helpers/jsoncheck.h"
#include "helpers/testutil.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef int (*write_fn)(const scim_stats *, FILE *, scim_err *);

static char *capture(write_fn fn, const scim_stats *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    scim_err err = {0};
    int rc = fn(s, f, &err);
    ck_assert_msg(rc == 0, "writer failed: %s", err.msg);
    fclose(f);
    return buf;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 256;
            buf = realloc(buf, cap);
        }
        buf[len++] = (char)c;
    }
    fclose(f);
    if (!buf)
        buf = malloc(1);
    buf[len] = '\0';
    return buf;
}

/* Sorted names in a directory, joined by '|'. */
static void list_dir(const char *path, char *out, size_t n)
{
    char *names[64];
    size_t k = 0;
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) && k < 64) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[k++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof names[0], cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (i)
            strncat(out, "|", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
        free(names[i]);
    }
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ------------------------------------------------------------------------ */
/* registry                                                                  */

typedef struct comp {
    uint64_t hits;
    scim_hist *lat;
    uint64_t misses;
    uint64_t evictions;
} comp;

static const scim_stat_decl comp_decls[] = {
    {"hits", SCIM_STAT_COUNTER, "count", "Lookups that hit.", offsetof(comp, hits)},
    {"misses", SCIM_STAT_COUNTER, "count", "Lookups that missed.", offsetof(comp, misses)},
    {"walk.lat", SCIM_STAT_HIST, "ps", "Walk latency.", offsetof(comp, lat)},
    {"evictions", SCIM_STAT_COUNTER, "count", "Valid entries evicted.", offsetof(comp, evictions)},
};

static const char *const hist_suffixes[] = {"count", "mean", "min", "p50", "p90", "p99", "max"};

START_TEST(test_register_and_flat_view)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    comp c[3] = {0};
    const char *prefixes[3] = {"nic0.iotlb", "cpu0.tlb", "nic1.iotlb"};
    for (int i = 0; i < 3; i++) {
        int rc = scim_stats_register(s, prefixes[i], comp_decls, SCIM_COUNT_OF(comp_decls), &c[i],
                                     &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        ck_assert_ptr_nonnull(c[i].lat);
    }
    ck_assert_ptr_ne(c[0].lat, c[1].lat);
    ck_assert_ptr_ne(c[1].lat, c[2].lat);

    /* expected flat names, built and sorted independently */
    char *want[64];
    size_t nw = 0;
    for (int i = 0; i < 3; i++) {
        for (size_t d = 0; d < SCIM_COUNT_OF(comp_decls); d++) {
            char buf[128];
            if (comp_decls[d].kind == SCIM_STAT_COUNTER) {
                snprintf(buf, sizeof buf, "%s.%s", prefixes[i], comp_decls[d].name);
                want[nw++] = strdup(buf);
            } else {
                for (int f = 0; f < 7; f++) {
                    snprintf(buf, sizeof buf, "%s.%s.%s", prefixes[i], comp_decls[d].name,
                             hist_suffixes[f]);
                    want[nw++] = strdup(buf);
                }
            }
        }
    }
    qsort(want, nw, sizeof want[0], cmp_str);
    ck_assert_uint_eq(scim_stats_flat_count(s), nw);
    for (size_t i = 0; i < nw; i++) {
        const char *name = NULL;
        ck_assert_int_eq(scim_stats_flat_get(s, i, &name, NULL, NULL, NULL), 0);
        ck_assert_str_eq(name, want[i]);
        free(want[i]);
    }
    ck_assert_int_eq(scim_stats_flat_get(s, nw, NULL, NULL, NULL, NULL), SCIM_ERANGE);

    /* counters are read live */
    double v = -1;
    c[0].hits = 5;
    ck_assert_int_eq(scim_stats_lookup(s, "nic0.iotlb.hits", &v), 0);
    ck_assert(v == 5.0);
    c[0].hits = 7;
    c[2].misses = 3;
    ck_assert_int_eq(scim_stats_lookup(s, "nic0.iotlb.hits", &v), 0);
    ck_assert(v == 7.0);
    ck_assert_int_eq(scim_stats_lookup(s, "nic1.iotlb.misses", &v), 0);
    ck_assert(v == 3.0);
    ck_assert_int_eq(scim_stats_lookup(s, "nic1.iotlb.hits", &v), 0);
    ck_assert(v == 0.0);
    ck_assert_int_eq(scim_stats_lookup(s, "nic1.iotlb", &v), SCIM_ENOENT);
    ck_assert_int_eq(scim_stats_lookup(s, "nic1.iotlb.walk.lat", &v), SCIM_ENOENT);

    scim_hist_record(c[1].lat, 100);
    scim_hist_record(c[1].lat, 300);
    ck_assert_int_eq(scim_stats_lookup(s, "cpu0.tlb.walk.lat.count", &v), 0);
    ck_assert(v == 2.0);
    ck_assert_int_eq(scim_stats_lookup(s, "cpu0.tlb.walk.lat.mean", &v), 0);
    ck_assert(v == 200.0);
    ck_assert_int_eq(scim_stats_lookup(s, "nic0.iotlb.walk.lat.count", &v), 0);
    ck_assert(v == 0.0);

    /* units and descriptions */
    for (size_t i = 0; i < scim_stats_flat_count(s); i++) {
        const char *name, *unit, *desc;
        scim_stats_flat_get(s, i, &name, NULL, &unit, &desc);
        if (!strcmp(name, "cpu0.tlb.walk.lat.p99")) {
            ck_assert_str_eq(unit, "ps");
            ck_assert_str_eq(desc, "Walk latency.");
        }
        if (!strcmp(name, "cpu0.tlb.walk.lat.count"))
            ck_assert_str_eq(unit, "count");
        if (!strcmp(name, "nic1.iotlb.evictions")) {
            ck_assert_str_eq(unit, "count");
            ck_assert_str_eq(desc, "Valid entries evicted.");
        }
    }

    /* reset zeroes component counters through the registered pointers */
    c[0].evictions = 9;
    scim_stats_reset(s);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(c[i].hits, 0);
        ck_assert_uint_eq(c[i].misses, 0);
        ck_assert_uint_eq(c[i].evictions, 0);
        ck_assert_uint_eq(scim_hist_count(c[i].lat), 0);
    }
    ck_assert_int_eq(scim_stats_lookup(s, "cpu0.tlb.walk.lat.p50", &v), 0);
    ck_assert(v == 0.0);

    /* one-off counter, reset too */
    uint64_t ticks = 11;
    ck_assert_int_eq(scim_stats_add_counter(s, "sim.ticks", "cycles", "Ticks.", &ticks, &err), 0);
    ck_assert_int_eq(scim_stats_lookup(s, "sim.ticks", &v), 0);
    ck_assert(v == 11.0);
    scim_stats_reset(s);
    ck_assert_uint_eq(ticks, 0);
    scim_stats_destroy(s);
    scim_stats_destroy(NULL);
}
END_TEST

START_TEST(test_bad_names)
{
    static const char *const bad[] = {"Misses", "a-b", "", "a..b", ".a", "a.", "a b", "x/y", "\xc3\xa9",
                                      "a~b", "a\x7f", "a\x01"}; /* above 'z'; DEL and a control: bytes */
    static const char *const bad_prefix[] = {"Nic0", "nic0.", ".nic0", "nic 0", "nic0..iotlb"};
    scim_stats *s = scim_stats_create();
    for (size_t i = 0; i < SCIM_COUNT_OF(bad); i++) {
        comp c = {0};
        scim_stat_decl d[2] = {
            {"ok", SCIM_STAT_HIST, "ps", "fine", offsetof(comp, lat)},
            {bad[i], SCIM_STAT_COUNTER, "count", "bad", offsetof(comp, hits)},
        };
        scim_err err = {0};
        int rc = scim_stats_register(s, "dev", d, 2, &c, &err);
        ck_assert_int_eq(rc, SCIM_EINVAL);
        ck_assert_int_eq(err.code, SCIM_EINVAL);
        ck_assert_msg(strstr(err.msg, "invalid statistic name") && strstr(err.msg, "[a-z0-9_"),
                      "message: %s", err.msg);
        if (!strcmp(bad[i], "a~b"))
            ck_assert_ptr_nonnull(strstr(err.msg, "character '~' at position 6 is not in [a-z0-9_.]"));
        if (!strcmp(bad[i], "a\x7f"))
            ck_assert_ptr_nonnull(strstr(err.msg, "byte 0x7f at position 6 is not in [a-z0-9_.]"));
        ck_assert_ptr_null(c.lat); /* all-or-nothing */
        ck_assert_uint_eq(scim_stats_flat_count(s), 0);
    }
    for (size_t i = 0; i < SCIM_COUNT_OF(bad_prefix); i++) {
        comp c = {0};
        scim_err err = {0};
        ck_assert_int_eq(scim_stats_register(s, bad_prefix[i], comp_decls,
                                             SCIM_COUNT_OF(comp_decls), &c, &err),
                         SCIM_EINVAL);
        ck_assert_msg(strstr(err.msg, bad_prefix[i]) != NULL, "message: %s", err.msg);
        ck_assert_uint_eq(scim_stats_flat_count(s), 0);
    }
    /* one-offs and NULLs */
    scim_err err = {0};
    uint64_t x = 0;
    ck_assert_int_eq(scim_stats_add_counter(s, "Bad", "count", "", &x, &err), SCIM_EINVAL);
    ck_assert_ptr_null(scim_stats_add_hist(s, "bad!", "ps", "", NULL));
    ck_assert_int_eq(scim_stats_add_counter(s, NULL, "count", "", &x, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_add_counter(s, "nul", "count", "", NULL, NULL), SCIM_EINVAL);
    ck_assert_uint_eq(scim_stats_flat_count(s), 0);
    /* an empty prefix means just the name */
    ck_assert_int_eq(scim_stats_add_counter(s, "top", "count", "", &x, NULL), 0);
    comp c = {0};
    ck_assert_int_eq(scim_stats_register(s, "", comp_decls, 1, &c, NULL), 0);
    ck_assert_int_eq(scim_stats_lookup(s, "hits", NULL), 0);
    ck_assert_int_eq(scim_stats_lookup(s, "top", NULL), 0);
    scim_stats_destroy(s);
}
END_TEST

START_TEST(test_duplicates)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    comp a = {0}, b = {0};
    ck_assert_int_eq(scim_stats_register(s, "nic0", comp_decls, SCIM_COUNT_OF(comp_decls), &a,
                                         &err),
                     0);
    size_t n0 = scim_stats_flat_count(s);

    /* the same component twice */
    ck_assert_int_eq(scim_stats_register(s, "nic0", comp_decls, SCIM_COUNT_OF(comp_decls), &b,
                                         &err),
                     SCIM_EEXIST);
    ck_assert_msg(strstr(err.msg, "duplicate statistic name"), "%s", err.msg);
    ck_assert_ptr_null(b.lat);
    ck_assert_uint_eq(scim_stats_flat_count(s), n0);

    /* one new and one clashing entry: nothing is registered */
    scim_stat_decl mix[2] = {
        {"fresh", SCIM_STAT_HIST, "ps", "", offsetof(comp, lat)},
        {"hits", SCIM_STAT_COUNTER, "count", "", offsetof(comp, hits)},
    };
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_register(s, "nic0", mix, 2, &b, &err), SCIM_EEXIST);
    ck_assert_msg(strstr(err.msg, "nic0.hits"), "%s", err.msg);
    ck_assert_int_eq(scim_stats_lookup(s, "nic0.fresh.count", NULL), SCIM_ENOENT);
    ck_assert_ptr_null(b.lat);

    /* the same name twice in one table */
    scim_stat_decl twice[2] = {
        {"q", SCIM_STAT_COUNTER, "count", "", offsetof(comp, hits)},
        {"q", SCIM_STAT_COUNTER, "count", "", offsetof(comp, misses)},
    };
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_register(s, "dev", twice, 2, &b, &err), SCIM_EEXIST);
    ck_assert_msg(strstr(err.msg, "same registration"), "%s", err.msg);

    /* a counter named like a histogram row, both orders */
    uint64_t x = 0;
    ck_assert_ptr_nonnull(scim_stats_add_hist(s, "x", "ps", "", NULL));
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_add_counter(s, "x.p50", "count", "", &x, &err), SCIM_EEXIST);
    ck_assert_msg(strstr(err.msg, "\"x.p50\"") && strstr(err.msg, "histogram \"x\""), "%s",
                  err.msg);
    ck_assert_int_eq(scim_stats_add_counter(s, "y.count", "count", "", &x, NULL), 0);
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_stats_add_hist(s, "y", "ps", "", &err));
    ck_assert_int_eq(err.code, SCIM_EEXIST);
    /* a counter and a histogram of the same name */
    ck_assert_int_eq(scim_stats_add_counter(s, "x", "count", "", &x, NULL), SCIM_EEXIST);
    /* a histogram named like another histogram's row */
    ck_assert_ptr_null(scim_stats_add_hist(s, "x.max", "ps", "", NULL));
    /* near misses are fine */
    ck_assert_int_eq(scim_stats_add_counter(s, "x.p5", "count", "", &x, NULL), 0);
    ck_assert_int_eq(scim_stats_add_counter(s, "x.p500", "count", "", &x, NULL), 0);
    ck_assert_ptr_nonnull(scim_stats_add_hist(s, "x.p50x", "ps", "", NULL));
    ck_assert_uint_eq(scim_stats_flat_count(s), n0 + 7 + 1 + 2 + 7);

    /* still sorted after all the merging */
    const char *prev = NULL;
    for (size_t i = 0; i < scim_stats_flat_count(s); i++) {
        const char *name;
        scim_stats_flat_get(s, i, &name, NULL, NULL, NULL);
        if (prev)
            ck_assert_msg(strcmp(prev, name) < 0, "%s before %s", prev, name);
        prev = name;
    }
    scim_stats_destroy(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* output                                                                    */

typedef struct known {
    uint64_t b;
    scim_hist *lat;
    scim_hist *half;
} known;

static const scim_stat_decl known_a[] = {
    {"b", SCIM_STAT_COUNTER, "count", "A counter.", offsetof(known, b)},
};
static const scim_stat_decl known_root[] = {
    {"lat", SCIM_STAT_HIST, "ps", "Latency.", offsetof(known, lat)},
    {"half", SCIM_STAT_HIST, "ns", "Halves.", offsetof(known, half)},
};

typedef struct known_reg {
    scim_stats *s;
    known k;
    uint64_t big, z;
} known_reg;

/* The same registry, built in two different orders. */
static void build_known(known_reg *r, int order)
{
    r->s = scim_stats_create();
    memset(&r->k, 0, sizeof r->k);
    r->big = (1ull << 63) + 5; /* beyond 2^53: must print exactly */
    r->z = 0;
    scim_err err = {0};
    scim_hist *empty = NULL, *wide = NULL;
    for (int step = 0; step < 4; step++) {
        int which = order ? 3 - step : step;
        int rc = 0;
        switch (which) {
        case 0: rc = scim_stats_register(r->s, "a", known_a, 1, &r->k, &err); break;
        case 1: rc = scim_stats_register(r->s, "", known_root, 2, &r->k, &err); break;
        case 2:
            rc = scim_stats_add_counter(r->s, "big", "bytes", "Big.", &r->big, &err);
            rc |= scim_stats_add_counter(r->s, "z", "a,\"b\"", "Quoted unit.", &r->z, &err);
            break;
        case 3:
            empty = scim_stats_add_hist(r->s, "empty", "ps", "Nothing.", &err);
            wide = scim_stats_add_hist(r->s, "wide", "ps", "Wide.", &err);
            rc = (empty && wide) ? 0 : -1;
            break;
        }
        ck_assert_msg(rc == 0, "%s", err.msg);
    }
    r->k.b = 3;
    scim_hist_record(r->k.lat, 1);
    scim_hist_record(r->k.lat, 2);
    scim_hist_record(r->k.lat, 4);
    scim_hist_record(r->k.half, 3);
    scim_hist_record(r->k.half, 2);
    scim_hist_record(wide, 1000);
    scim_hist_record(wide, 1000000);
}

/* wide: 1000000 = 2^19 * 1.907..; bucket width 2^12; 1000000 - 576 = 999424 */
static const char known_json[] = "{\n"
                                 "  \"a.b\": 3,\n"
                                 "  \"big\": 9223372036854775813,\n"
                                 "  \"empty.count\": 0,\n"
                                 "  \"empty.max\": 0,\n"
                                 "  \"empty.mean\": 0,\n"
                                 "  \"empty.min\": 0,\n"
                                 "  \"empty.p50\": 0,\n"
                                 "  \"empty.p90\": 0,\n"
                                 "  \"empty.p99\": 0,\n"
                                 "  \"half.count\": 2,\n"
                                 "  \"half.max\": 3,\n"
                                 "  \"half.mean\": 2.5,\n"
                                 "  \"half.min\": 2,\n"
                                 "  \"half.p50\": 2,\n"
                                 "  \"half.p90\": 3,\n"
                                 "  \"half.p99\": 3,\n"
                                 "  \"lat.count\": 3,\n"
                                 "  \"lat.max\": 4,\n"
                                 "  \"lat.mean\": 2.333333,\n"
                                 "  \"lat.min\": 1,\n"
                                 "  \"lat.p50\": 2,\n"
                                 "  \"lat.p90\": 4,\n"
                                 "  \"lat.p99\": 4,\n"
                                 "  \"wide.count\": 2,\n"
                                 "  \"wide.max\": 1000000,\n"
                                 "  \"wide.mean\": 500500,\n"
                                 "  \"wide.min\": 1000,\n"
                                 "  \"wide.p50\": 1000,\n"
                                 "  \"wide.p90\": 999424,\n"
                                 "  \"wide.p99\": 999424,\n"
                                 "  \"z\": 0\n"
                                 "}\n";

static const char known_csv[] = "name,value,unit\n"
                                "a.b,3,count\n"
                                "big,9223372036854775813,bytes\n"
                                "empty.count,0,count\n"
                                "empty.max,0,ps\n"
                                "empty.mean,0,ps\n"
                                "empty.min,0,ps\n"
                                "empty.p50,0,ps\n"
                                "empty.p90,0,ps\n"
                                "empty.p99,0,ps\n"
                                "half.count,2,count\n"
                                "half.max,3,ns\n"
                                "half.mean,2.5,ns\n"
                                "half.min,2,ns\n"
                                "half.p50,2,ns\n"
                                "half.p90,3,ns\n"
                                "half.p99,3,ns\n"
                                "lat.count,3,count\n"
                                "lat.max,4,ps\n"
                                "lat.mean,2.333333,ps\n"
                                "lat.min,1,ps\n"
                                "lat.p50,2,ps\n"
                                "lat.p90,4,ps\n"
                                "lat.p99,4,ps\n"
                                "wide.count,2,count\n"
                                "wide.max,1000000,ps\n"
                                "wide.mean,500500,ps\n"
                                "wide.min,1000,ps\n"
                                "wide.p50,1000,ps\n"
                                "wide.p90,999424,ps\n"
                                "wide.p99,999424,ps\n"
                                "z,0,\"a,\"\"b\"\"\"\n";

/* Keys of the one-level object, in order; checks "key": value lines. */
static size_t json_keys(const char *text, char keys[][64], size_t max)
{
    size_t n = 0;
    for (const char *p = strchr(text, '\n'); p && p[1] && n < max; p = strchr(p + 1, '\n')) {
        const char *q = p + 1;
        if (strncmp(q, "  \"", 3) != 0)
            break;
        const char *end = strchr(q + 3, '"');
        ck_assert_ptr_nonnull(end);
        size_t len = (size_t)(end - (q + 3));
        ck_assert(len < 64);
        memcpy(keys[n], q + 3, len);
        keys[n][len] = '\0';
        ck_assert(end[1] == ':' && end[2] == ' ');
        n++;
    }
    return n;
}

START_TEST(test_json_csv)
{
    known_reg r1, r2;
    build_known(&r1, 0);
    build_known(&r2, 1);

    char *j1 = capture(scim_stats_write_json, r1.s);
    char *j2 = capture(scim_stats_write_json, r2.s);
    ck_assert_str_eq(j1, known_json);
    ck_assert_str_eq(j2, j1); /* registration order does not leak */
    ck_assert(json_valid(j1));
    ck_assert(!json_valid("{\n  \"a\": nan\n}\n")); /* the validator can fail */
    ck_assert(!json_valid("{\n  \"a\": 1,\n}\n"));

    char keys[64][64];
    size_t nk = json_keys(j1, keys, 64);
    ck_assert_uint_eq(nk, scim_stats_flat_count(r1.s));
    for (size_t i = 1; i < nk; i++)
        ck_assert_msg(strcmp(keys[i - 1], keys[i]) < 0, "%s !< %s", keys[i - 1], keys[i]);

    char *c1 = capture(scim_stats_write_csv, r1.s);
    char *c2 = capture(scim_stats_write_csv, r2.s);
    ck_assert_str_eq(c1, known_csv);
    ck_assert_str_eq(c2, c1);

    /* same values in both formats, row by row */
    const char *jl = strchr(j1, '\n') + 1, *cl = strchr(c1, '\n') + 1;
    for (size_t i = 0; i < nk; i++) {
        const char *jv = strchr(jl, ':') + 2;
        size_t jlen = strcspn(jv, ",\n");
        const char *cv = strchr(cl, ',') + 1;
        size_t clen = strcspn(cv, ",");
        ck_assert_uint_eq(jlen, clen);
        ck_assert(strncmp(jv, cv, jlen) == 0);
        jl = strchr(jl, '\n') + 1;
        cl = strchr(cl, '\n') + 1;
    }

    /* an empty registry is still a valid object */
    scim_stats *e = scim_stats_create();
    char *je = capture(scim_stats_write_json, e);
    ck_assert_str_eq(je, "{\n}\n");
    ck_assert(json_valid(je));
    char *ce = capture(scim_stats_write_csv, e);
    ck_assert_str_eq(ce, "name,value,unit\n");

    /* a failing stream is reported */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        scim_err err = {0};
        ck_assert_int_eq(scim_stats_write_json(r1.s, full, &err), SCIM_EIO);
        ck_assert_msg(strstr(err.msg, "could not write"), "%s", err.msg);
        fclose(full);
    }

    free(j1);
    free(j2);
    free(c1);
    free(c2);
    free(je);
    free(ce);
    scim_stats_destroy(e);
    scim_stats_destroy(r1.s);
    scim_stats_destroy(r2.s);
}
END_TEST

START_TEST(test_doc_markdown)
{
    static const scim_stat_decl d[] = {
        {"misses", SCIM_STAT_COUNTER, "count", "Lookups that missed.", 0},
        {"walk_latency", SCIM_STAT_HIST, "ps", "Miss to fill, a|b.", 0},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(scim_stats_doc_markdown(f, "<device>.iotlb", d, 2), 0);
    fclose(f);
    ck_assert_str_eq(buf, "| name | kind | unit | description |\n"
                          "|---|---|---|---|\n"
                          "| `<device>.iotlb.misses` | counter | count | Lookups that missed. |\n"
                          "| `<device>.iotlb.walk_latency` | histogram | ps | Miss to fill, a\\|b."
                          " Rows: `.count` `.mean` `.min` `.p50` `.p90` `.p99` `.max`. |\n");
    free(buf);
}
END_TEST

START_TEST(test_write_dir)
{
    char root[] = "/tmp/scim_stats_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    known_reg r;
    build_known(&r, 0);
    char path[4096], listing[1024];
    scim_err err = {0};

    /* nested directories created, both files complete, no temporaries */
    snprintf(path, sizeof path, "%s/a/b/c", root);
    ck_assert_msg(scim_stats_write_dir(r.s, path, &err) == 0, "%s", err.msg);
    list_dir(path, listing, sizeof listing);
    ck_assert_str_eq(listing, "stats.csv|stats.json");
    snprintf(path, sizeof path, "%s/a/b/c/stats.json", root);
    char *txt = read_all(path);
    ck_assert_str_eq(txt, known_json);
    free(txt);
    snprintf(path, sizeof path, "%s/a/b/c/stats.csv", root);
    txt = read_all(path);
    ck_assert_str_eq(txt, known_csv);
    free(txt);

    /* overwrite in place, with a trailing slash */
    r.k.b = 4;
    snprintf(path, sizeof path, "%s/a/b/c/", root);
    ck_assert_msg(scim_stats_write_dir(r.s, path, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/a/b/c", root);
    list_dir(path, listing, sizeof listing);
    ck_assert_str_eq(listing, "stats.csv|stats.json");
    snprintf(path, sizeof path, "%s/a/b/c/stats.json", root);
    txt = read_all(path);
    ck_assert(strstr(txt, "\"a.b\": 4,\n") != NULL);
    free(txt);

    /* the directory path is a regular file: error, file untouched */
    snprintf(path, sizeof path, "%s/f", root);
    FILE *f = fopen(path, "w");
    fputs("keep", f);
    fclose(f);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(r.s, path, &err), SCIM_EIO);
    char want[4200];
    snprintf(want, sizeof want, "could not write %s/stats.json: ", path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "message: %s", err.msg);
    txt = read_all(path);
    ck_assert_str_eq(txt, "keep");
    free(txt);
    snprintf(path, sizeof path, "%s/f/sub/dir", root);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(r.s, path, &err), SCIM_EIO);
    list_dir(root, listing, sizeof listing);
    ck_assert_str_eq(listing, "a|f");

    /* a target name is taken by a directory: the rename fails, temporaries
     * are removed, the other file is not half-published */
    snprintf(path, sizeof path, "%s/j", root);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/j/stats.json", root);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/j", root);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(r.s, path, &err), SCIM_EIO);
    ck_assert_msg(strstr(err.msg, "could not write") && strstr(err.msg, "stats.json"), "%s",
                  err.msg);
    list_dir(path, listing, sizeof listing);
    ck_assert_str_eq(listing, "stats.json");

    scim_stats_destroy(r.s);
    rm_rf(root);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_register_and_flat_view);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_json_csv);
    tcase_add_test(tc, test_doc_markdown);
    tcase_add_test(tc, test_write_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(stats_suite()); }
