/* Workload generators' random draws: one xoshiro256** stream per
 * generator, and the distributions drawn from it (a uniform integer, a
 * discrete size distribution, Zipf ranks). */
#include "workload/tracegen_internal.h"

/* ------------------------------------------------------------------------ */
/* PRNG: xoshiro256** (Blackman and Vigna), seeded by splitmix64 so that
 * small and similar seeds still give unrelated streams. */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void scim_tg_rng_seed(scim_tg_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(scim_tg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* [0, 1) with 53 random bits. */
double scim_tg_rng_double(scim_tg_rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n) without modulo bias: reject the top partial range. */
uint64_t scim_tg_rng_below(scim_tg_rng *r, uint64_t n)
{
    uint64_t lim = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= lim)
            return x % n;
    }
}

/* ------------------------------------------------------------------------ */
/* Zipf over ranks 1..n with P(k) = k^-theta / H(n, theta), sampled exactly
 * by rejection-inversion (W. Hormann and G. Derflinger, "Rejection-inversion
 * to generate variates from monotone discrete distributions", ACM TOMACS
 * 1996), as in Apache Commons' ZipfRejectionInversionSampler: O(1) set-up
 * and, on average, few iterations per sample, for any n and theta >= 0
 * (theta = 1 included, through the helpers' series near zero). Gray et
 * al.'s method is only exact for the first two ranks. */

static double zhelper1(double x) /* log1p(x) / x */
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double zhelper2(double x) /* expm1(x) / x */
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

/* H(x) = integral of h(x) = x^-theta, shifted so that it is continuous in
 * theta at 1. */
static double zh_integral(const scim_tg_zipf *z, double x)
{
    double lx = log(x);
    return zhelper2((1.0 - z->theta) * lx) * lx;
}

static double zh(const scim_tg_zipf *z, double x) { return exp(-z->theta * log(x)); }

static double zh_integral_inv(const scim_tg_zipf *z, double x)
{
    double t = x * (1.0 - z->theta);
    if (t < -1.0)
        t = -1.0; /* rounding near the bottom of the range */
    return exp(zhelper1(t) * x);
}

void scim_tg_zipf_init(scim_tg_zipf *z, uint64_t n, double theta)
{
    z->theta = theta;
    z->n = (double)n;
    z->h_x1 = zh_integral(z, 1.5) - 1.0;
    z->h_n = zh_integral(z, z->n + 0.5);
    z->s = 2.0 - zh_integral_inv(z, zh_integral(z, 2.5) - zh(z, 2.0));
}

uint64_t scim_tg_zipf_sample(const scim_tg_zipf *z, scim_tg_rng *r) /* rank in 1..n */
{
    for (;;) {
        double u = z->h_n + scim_tg_rng_double(r) * (z->h_x1 - z->h_n);
        double x = zh_integral_inv(z, u);
        double k = floor(x + 0.5);
        if (k < 1.0)
            k = 1.0;
        else if (k > z->n)
            k = z->n;
        if (k - x <= z->s || u >= zh_integral(z, k + 0.5) - zh(z, k))
            return (uint64_t)k;
    }
}

uint64_t scim_tg_dist_sample(const scim_tg_dist *d, scim_tg_rng *r)
{
    double u = scim_tg_rng_double(r);
    for (unsigned i = 0; i < d->n; i++)
        if (u < d->cum[i])
            return d->size[i];
    return d->size[d->n - 1];
}
