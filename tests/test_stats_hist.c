/* Statistics: histogram percentiles against a sort-based exact reference,
 * single and empty histograms, bucket boundaries. Split from test_stats.c. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

#include "helpers/testutil.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The bucket lower bound the documented model reports for x, derived by a
 * loop rather than the implementation's index arithmetic. */
static uint64_t ref_lower(uint64_t x)
{
    if (x < 256)
        return x;
    int e = 0;
    for (uint64_t t = x; t > 1; t >>= 1)
        e++;
    uint64_t w = (uint64_t)1 << (e - 7);
    return x - x % w;
}

/* ------------------------------------------------------------------------ */
/* histograms vs an exact reference                                          */

static const int q10s[] = {0, 1, 10, 100, 250, 500, 750, 900, 990, 999, 1000};

static void check_against_reference(const uint64_t *samples, size_t n, const char *label)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    scim_hist *h = scim_stats_add_hist(s, "h", "ps", "test", &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        scim_hist_record(h, samples[i]);

    uint64_t *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, samples, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += samples[i];

    ck_assert_uint_eq(scim_hist_count(h), n);
    ck_assert_uint_eq(scim_hist_min(h), sorted[0]);
    ck_assert_uint_eq(scim_hist_max(h), sorted[n - 1]);
    double ref_mean = (double)sum / (double)n;
    ck_assert_msg(fabs(scim_hist_mean(h) - ref_mean) <= 1e-12 * ref_mean,
                  "%s: mean %.17g, expected %.17g", label, scim_hist_mean(h), ref_mean);

    for (size_t k = 0; k < sizeof q10s / sizeof q10s[0]; k++) {
        uint64_t q10 = (uint64_t)q10s[k];
        uint64_t rank = (uint64_t)(((unsigned __int128)q10 * n + 999) / 1000);
        if (rank == 0)
            rank = 1;
        uint64_t exact = sorted[rank - 1];
        uint64_t got = scim_hist_percentile(h, (double)q10 / 10.0);
        ck_assert_msg(got <= exact, "%s: p%.1f = %" PRIu64 " above exact %" PRIu64, label,
                      q10 / 10.0, got, exact);
        if (exact < 256)
            ck_assert_msg(got == exact, "%s: p%.1f = %" PRIu64 ", exact %" PRIu64, label,
                          q10 / 10.0, got, exact);
        else
            ck_assert_msg((unsigned __int128)(exact - got) * 128 < exact,
                          "%s: p%.1f = %" PRIu64 " vs exact %" PRIu64 ": error >= 1/128", label,
                          q10 / 10.0, got, exact);
        uint64_t lb = ref_lower(exact);
        uint64_t want = lb < sorted[0] ? sorted[0] : lb;
        ck_assert_msg(got == want, "%s: p%.1f = %" PRIu64 ", model says %" PRIu64, label,
                      q10 / 10.0, got, want);
    }

    /* the flat rows carry the same numbers */
    double v;
    ck_assert_int_eq(scim_stats_lookup(s, "h.count", &v), 0);
    ck_assert(v == (double)n);
    ck_assert_int_eq(scim_stats_lookup(s, "h.p99", &v), 0);
    ck_assert(v == (double)scim_hist_percentile(h, 99));
    ck_assert_int_eq(scim_stats_lookup(s, "h.max", &v), 0);
    ck_assert(v == (double)sorted[n - 1]);
    free(sorted);
    scim_stats_destroy(s);
}

#define NS 20000

START_TEST(test_hist_distributions)
{
    uint64_t *x = malloc(NS * sizeof *x);
    uint64_t seed = 42;

    for (size_t i = 0; i < NS; i++)
        x[i] = rng_next(&seed) % 300; /* straddles the exact/log boundary */
    check_against_reference(x, NS, "uniform small");

    for (size_t i = 0; i < NS; i++)
        x[i] = rng_next(&seed) >> 14; /* up to 2^50 */
    check_against_reference(x, NS, "uniform huge");

    for (size_t i = 0; i < NS; i++) {
        double u = ((double)(rng_next(&seed) >> 11) + 1.0) / 9007199254740993.0;
        x[i] = (uint64_t)(-log(u) * 250000.0);
    }
    check_against_reference(x, NS, "exponential");

    for (size_t i = 0; i < NS; i++)
        x[i] = rng_next(&seed) >> (rng_next(&seed) % 64); /* log-uniform over 2^0..2^64 */
    check_against_reference(x, NS, "log-uniform");

    for (size_t i = 0; i < NS; i++)
        x[i] = 123456789;
    check_against_reference(x, NS, "constant");

    for (size_t i = 0; i < NS; i++)
        x[i] = (i % 3 == 0) ? UINT64_MAX - (rng_next(&seed) % 1000) : rng_next(&seed) % 5;
    check_against_reference(x, NS, "extremes");

    /* tiny sample counts exercise the rank rounding */
    for (size_t n = 1; n <= 12; n++) {
        for (int t = 0; t < 20; t++) {
            for (size_t i = 0; i < n; i++)
                x[i] = rng_next(&seed) % 5000;
            check_against_reference(x, n, "tiny");
        }
    }
    free(x);
}
END_TEST

/* Runs of one value (the recording's memo of the last value and bucket,
 * core/stats.h): the same numbers as the reference, and a value repeated
 * across a reset is a first sample again (min and max are its). */
START_TEST(test_hist_repeats)
{
    uint64_t *v = malloc(NS * sizeof *v);
    uint64_t x = 7;
    size_t n = 0;
    while (n < NS) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t val = (x >> 8) % 4 == 0 ? 0 : (x >> 16) % ((x & 1) ? 300 : 5000000);
        for (size_t run = 1 + (x >> 40) % 50; run-- > 0 && n < NS;)
            v[n++] = val;
    }
    check_against_reference(v, NS, "runs");
    free(v);

    scim_stats *s = scim_stats_create();
    scim_hist *h = scim_stats_add_hist(s, "r", "ps", "repeats", NULL);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < 5; i++)
        scim_hist_record(h, 1000);
    scim_hist_record(h, 3);
    scim_stats_reset(s);
    scim_hist_record(h, 3);
    scim_hist_record(h, 3);
    ck_assert_uint_eq(scim_hist_count(h), 2);
    ck_assert_uint_eq(scim_hist_min(h), 3);
    ck_assert_uint_eq(scim_hist_max(h), 3);
    ck_assert_uint_eq(scim_hist_percentile(h, 100), 3);
    scim_hist_record(h, 1000);
    ck_assert_uint_eq(scim_hist_max(h), 1000);
    ck_assert_uint_eq(scim_hist_percentile(h, 50), 3);
    ck_assert_uint_eq(scim_hist_percentile(h, 100), 1000);
    scim_stats_destroy(s);
}
END_TEST

/* The model's percentile: the lower bound of the rank-th sample's bucket,
 * raised to the minimum. */
static uint64_t model_at(const uint64_t *sorted, size_t rank)
{
    uint64_t lb = ref_lower(sorted[rank - 1]);
    return lb < sorted[0] ? sorted[0] : lb;
}

/* Read after every sample, in the middle of runs of one value (which the
 * recording counts apart until the value changes): every reading is the
 * reference's for the samples so far. */
START_TEST(test_hist_read_mid_run)
{
    enum { N = 600 };
    uint64_t v[N], sorted[N], x = 99;
    scim_stats *s = scim_stats_create();
    scim_hist *h = scim_stats_add_hist(s, "m", "ps", "mid-run reads", NULL);
    ck_assert_ptr_nonnull(h);
    unsigned __int128 sum = 0;
    for (size_t n = 0; n < N;) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t val = (x >> 20) % ((x & 1) ? 200 : 100000);
        for (size_t run = 1 + (x >> 40) % 12; run-- > 0 && n < N; n++) {
            v[n] = val;
            sum += val;
            scim_hist_record(h, val);
            memcpy(sorted, v, (n + 1) * sizeof *v);
            qsort(sorted, n + 1, sizeof *sorted, cmp_u64);
            ck_assert_uint_eq(scim_hist_count(h), n + 1);
            ck_assert_uint_eq(scim_hist_min(h), sorted[0]);
            ck_assert_uint_eq(scim_hist_max(h), sorted[n]);
            ck_assert(scim_hist_mean(h) == (double)((long double)sum / (long double)(n + 1)));
            ck_assert_uint_eq(scim_hist_percentile(h, 50), model_at(sorted, (n + 2) / 2));
            ck_assert_uint_eq(scim_hist_percentile(h, 100), model_at(sorted, n + 1));
        }
    }
    scim_stats_destroy(s);
}
END_TEST

START_TEST(test_hist_single_and_empty)
{
    static const uint64_t vals[] = {0, 1, 127, 128, 255, 256, 257, 1000, 999999,
                                    (1ull << 40) + 12345, UINT64_MAX - 1, UINT64_MAX};
    scim_stats *s = scim_stats_create();
    scim_hist *h = scim_stats_add_hist(s, "one", "ps", "single", NULL);
    ck_assert_ptr_nonnull(h);

    /* empty: every summary is 0, never NaN */
    ck_assert_uint_eq(scim_hist_count(h), 0);
    ck_assert_uint_eq(scim_hist_min(h), 0);
    ck_assert_uint_eq(scim_hist_max(h), 0);
    ck_assert(scim_hist_mean(h) == 0.0);
    for (double q = 0; q <= 100; q += 12.5)
        ck_assert_uint_eq(scim_hist_percentile(h, q), 0);
    for (size_t i = 0; i < scim_stats_flat_count(s); i++) {
        double v = -1;
        ck_assert_int_eq(scim_stats_flat_get(s, i, NULL, &v, NULL, NULL), 0);
        ck_assert(v == 0.0);
    }

    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        scim_stats_reset(s);
        scim_hist_record(h, vals[k]);
        ck_assert_uint_eq(scim_hist_count(h), 1);
        ck_assert_uint_eq(scim_hist_min(h), vals[k]);
        ck_assert_uint_eq(scim_hist_max(h), vals[k]);
        ck_assert(scim_hist_mean(h) == (double)vals[k]);
        for (double q = 0; q <= 100; q += 0.5)
            ck_assert_msg(scim_hist_percentile(h, q) == vals[k], "p%g of {%" PRIu64 "}", q,
                          vals[k]);
    }

    /* the 128-bit sum cannot overflow: four samples of 2^64-1 */
    scim_stats_reset(s);
    for (int i = 0; i < 4; i++)
        scim_hist_record(h, UINT64_MAX);
    ck_assert(scim_hist_mean(h) == (double)UINT64_MAX);

    /* NULL is "statistics disabled" */
    scim_hist_record(NULL, 5);
    ck_assert_uint_eq(scim_hist_count(NULL), 0);
    ck_assert_uint_eq(scim_hist_percentile(NULL, 50), 0);
    scim_stats_destroy(s);
}
END_TEST

START_TEST(test_hist_bucket_boundaries)
{
    /* {0, x}: p100 is x's bucket lower bound, unclamped; reset between
     * rounds must clear the buckets or a stale one would be reported. */
    scim_stats *s = scim_stats_create();
    scim_hist *h = scim_stats_add_hist(s, "b", "ps", "boundaries", NULL);
    uint64_t seed = 7;
    for (int k = 1; k < 64; k++) {
        uint64_t p = 1ull << k;
        uint64_t xs[] = {p - 1, p, p + 1, p + (p >> 1) + 3, p | (rng_next(&seed) & (p - 1))};
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
            uint64_t x = xs[j];
            scim_stats_reset(s);
            scim_hist_record(h, 0);
            scim_hist_record(h, x);
            uint64_t got = scim_hist_percentile(h, 100);
            ck_assert_msg(got == ref_lower(x), "x=%" PRIu64 ": got %" PRIu64 " want %" PRIu64, x,
                          got, ref_lower(x));
            ck_assert(got <= x && (unsigned __int128)(x - got) * 129 < x + (x == 0));
            ck_assert_uint_eq(scim_hist_percentile(h, 50), 0);
        }
    }
    scim_stats_destroy(s);
}
END_TEST


static Suite *stats_hist_suite(void)
{
    Suite *s = suite_create("stats_hist");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hist_distributions);
    tcase_add_test(tc, test_hist_single_and_empty);
    tcase_add_test(tc, test_hist_repeats);
    tcase_add_test(tc, test_hist_read_mid_run);
    tcase_add_test(tc, test_hist_bucket_boundaries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(stats_hist_suite()); }
