/* Workload generators (include/scimitar/tracegen.h, docs/workloads.md).
 *
 * Every generator is a loop that produces timed records through an
 * "emitter" per output (device trace, CPU trace). Records are pushed with
 * an integer time and released in (time, push order) once the generator
 * promises that nothing earlier can still come (a watermark), so a
 * generator may compute records out of order (storage's completions, the
 * application's writes ahead of the DMA) and the writer still sees them in
 * time order, with memory bounded by the generator's lookahead rather than
 * by the trace's length.
 *
 * Options are declared once in opt_defs[] (name, kinds, type, default,
 * unit, range, doc): parsing, --help and the markdown docs all read it, so
 * they cannot disagree. Defaults are strings parsed by the same code as the
 * user's values.
 *
 * Determinism: one xoshiro256** stream seeded from --seed, drawn in a fixed
 * order; no host state (time, addresses, hash order) reaches the output. */
#include "workload/tracegen.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/u64map.h"

#define PAGE 4096ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)
/* The user half of a 57-bit (5-level) address space; addresses from
 * 0x800000000000 up also need 5-level page tables in the config. */
#define VA_LIMIT (1ull << 56)
/* Open gzip streams cost ~300 KiB each. */
#define MAX_CPU_TRACES 1024

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* ------------------------------------------------------------------------ */
/* PRNG: xoshiro256** (Blackman and Vigna), seeded by splitmix64 so that
 * small and similar seeds still give unrelated streams. */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
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
static double rng_double(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n) without modulo bias: reject the top partial range. */
static uint64_t rng_below(rng *r, uint64_t n)
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

typedef struct zipf {
    double theta, n;
    double h_x1, h_n, s;
} zipf;

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
static double zh_integral(const zipf *z, double x)
{
    double lx = log(x);
    return zhelper2((1.0 - z->theta) * lx) * lx;
}

static double zh(const zipf *z, double x) { return exp(-z->theta * log(x)); }

static double zh_integral_inv(const zipf *z, double x)
{
    double t = x * (1.0 - z->theta);
    if (t < -1.0)
        t = -1.0; /* rounding near the bottom of the range */
    return exp(zhelper1(t) * x);
}

static void zipf_init(zipf *z, uint64_t n, double theta)
{
    z->theta = theta;
    z->n = (double)n;
    z->h_x1 = zh_integral(z, 1.5) - 1.0;
    z->h_n = zh_integral(z, z->n + 0.5);
    z->s = 2.0 - zh_integral_inv(z, zh_integral(z, 2.5) - zh(z, 2.0));
}

static uint64_t zipf_sample(const zipf *z, rng *r) /* rank in 1..n */
{
    for (;;) {
        double u = z->h_n + rng_double(r) * (z->h_x1 - z->h_n);
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

/* ------------------------------------------------------------------------ */
/* Options */

enum { K_RX = 1u << 0, K_TX = 1u << 1, K_STO = 1u << 2, K_KV = 1u << 3, K_STR = 1u << 4 };
#define K_NIC (K_RX | K_TX)
#define K_ALL (K_NIC | K_STO | K_KV | K_STR)

#define DIST_MAX 32
typedef struct dist {
    unsigned n;
    uint64_t size[DIST_MAX];
    double cum[DIST_MAX]; /* normalized cumulative weights; cum[n-1] == 1 */
    double mean;
    uint64_t max;
} dist;

typedef struct params {
    /* every kind */
    uint64_t count, seed, base, tenants, pasid_base, tenant_stride;
    double app_delay; /* ns */
    int timing;       /* TIMING_* */
    /* nic-rx, nic-tx (entries and framing also storage and kv) */
    uint64_t entries, buffers, buffer_size, framing;
    double rate; /* Gbit/s, also kv */
    dist sizes;
    int recycle; /* RECYCLE_* */
    /* storage (bandwidth also stream) */
    uint64_t block_size, file_size, queue_depth;
    double read_fraction, bandwidth /* GB/s */, latency /* ns */;
    int pattern; /* PATTERN_* */
    /* kv */
    uint64_t region, object_size;
    double get_fraction, zipf;
    int placement; /* PLACE_* */
    /* stream */
    uint64_t arrays, array_size, stride, access, passes, write_arrays;
    double cpu_bandwidth; /* GB/s */
    int order;            /* ORDER_* */
} params;

enum { TIMING_ABS, TIMING_REL };
enum { RECYCLE_FIFO, RECYCLE_LIFO };
enum { PATTERN_RAND, PATTERN_SEQ };
enum { PLACE_SCATTER, PLACE_RANK };
enum { ORDER_INTERLEAVE, ORDER_ARRAY };

typedef enum opt_type { O_U64, O_SIZE, O_TIME, O_F64, O_ENUM, O_DIST } opt_type;

typedef struct opt_def {
    const char *name;
    unsigned kinds;
    opt_type type;
    const char *def;
    const char *unit;
    double min, max;     /* numeric types, inclusive */
    const char *choices; /* O_ENUM: "a|b|c", stored as the index */
    size_t off;
    const char *doc;
} opt_def;

#define P(f) offsetof(params, f)
#define NOLIM 0, 0x1p64

/* One row per (option, kinds) pair; an option whose default, unit or
 * meaning differs between kinds has one row per group of kinds. */
static const opt_def opt_defs[] = {
    /* ---- every kind ---- */
    {"count", K_NIC, O_U64, "20000", "packets", 1, 1e12, NULL, P(count),
     "Packets to generate, all tenants together."},
    {"count", K_STO, O_U64, "10000", "I/Os", 1, 1e12, NULL, P(count), "I/Os to generate, all tenants together."},
    {"count", K_KV, O_U64, "100000", "operations", 1, 1e12, NULL, P(count),
     "Operations to generate, all tenants together."},
    {"count", K_STR, O_U64, "0", "accesses", 0, 1e12, NULL, P(count),
     "Accesses to generate; 0: --passes full passes over every tenant's arrays (passes x arrays x "
     "positions x tenants). A non-zero count overrides --passes: the sweep stops early or wraps into "
     "further passes."},
    {"seed", K_ALL, O_U64, "1", "", NOLIM, NULL, P(seed),
     "Seed of the generator (xoshiro256** seeded through splitmix64): the same kind, options and seed give "
     "byte-identical traces; another seed gives other ones."},
    {"base", K_ALL, O_U64, "0x7f0000000000", "address", 0, 0x1p56, NULL, P(base),
     "Virtual address of tenant 0's layout (4 KiB aligned); a typical x86-64 user mmap address."},
    {"tenants", K_ALL, O_U64, "1", "tenants", 1, 4096, NULL, P(tenants),
     "Tenants (processes) sharing the device, each with its own copy of the layout at base + t x "
     "tenant-stride, its own rings and cursors, and PASID pasid-base + t. Each operation goes to a tenant "
     "drawn uniformly at random, so tenants interleave in time and each gets ~1/N of the operations."},
    {"pasid-base", K_ALL, O_U64, "1", "PASID", 1, 0xfffff, NULL, P(pasid_base),
     "PASID of tenant 0 (tenant t uses pasid-base + t). Records carry pasid= when there is more than one "
     "tenant or pasid-base is not 1; otherwise the agent's pasid from the config applies."},
    {"tenant-stride", K_ALL, O_SIZE, "0", "bytes", 0, 0x1p56, NULL, P(tenant_stride),
     "Distance between tenants' base addresses (multiple of 4 KiB, at least the layout's span); 0: the "
     "span rounded up to 1 GiB."},
    {"timing", K_ALL, O_ENUM, "abs", "", 0, 0, "abs|rel", P(timing),
     "How records carry time: abs writes @N (absolute; a device that stalls falls behind and catches up, "
     "as when packets keep arriving), rel writes +N (gap to the previous record; a stall delays everything "
     "after it, as in a closed loop). Both describe the same schedule when the agent never waits."},
    {"app-delay", K_ALL, O_TIME, "500ns", "ns", 0, 1e12, NULL, P(app_delay),
     "CPU trace: how long after a DMA that filled a buffer the application touches it, and how long before "
     "a DMA that reads a buffer the application writes it. Kinds whose CPU trace writes ahead (nic-tx, "
     "storage) start the device at this time, with or without a CPU trace, so the device trace does not "
     "depend on whether one is written."},

    /* ---- nic-rx, nic-tx ---- */
    {"entries", K_NIC, O_U64, "256", "descriptors", 1, 1 << 20, NULL, P(entries),
     "Entries of the descriptor ring and of the completion ring (16 B each)."},
    {"buffers", K_NIC, O_U64, "2048", "buffers", 1, 1 << 26, NULL, P(buffers),
     "Buffers in the pool (at least --entries: each descriptor holds one)."},
    {"buffer-size", K_NIC, O_SIZE, "2KiB", "bytes", 64, 1 << 30, NULL, P(buffer_size),
     "Size of one buffer; buffers are contiguous in the pool. At least the largest packet size."},
    {"sizes", K_NIC, O_DIST, "64:7,576:4,1500:1", "bytes:weight", 0, 0, NULL, P(sizes),
     "Packet size distribution as SIZE:WEIGHT pairs; weights are relative (7:4:1 is IMIX; "
     "64:0.3,576:0.2,1500:0.5 also works); a SIZE alone weighs 1 (--sizes 1500: every packet 1500 B)."},
    {"rate", K_NIC, O_F64, "100", "Gbit/s", 1e-6, 1e6, NULL, P(rate),
     "Line rate: packet k+1 arrives (size_k + framing) x 8 / rate ns after packet k."},
    {"framing", K_NIC, O_U64, "20", "bytes", 0, 1 << 20, NULL, P(framing),
     "Wire bytes per packet besides the payload (Ethernet preamble and SFD 8 B + inter-frame gap 12 B)."},
    {"recycle", K_NIC, O_ENUM, "fifo", "", 0, 0, "fifo|lifo", P(recycle),
     "Which free buffer refills a descriptor: fifo, the longest free (the pool is cycled through: every "
     "buffer is touched), or lifo, the most recently freed (only --entries buffers are ever touched)."},

    /* ---- storage ---- */
    {"entries", K_STO, O_U64, "1024", "entries", 1, 1 << 20, NULL, P(entries),
     "Entries of the submission ring (64 B each) and of the completion ring (16 B each); at least "
     "--queue-depth."},
    {"block-size", K_STO, O_SIZE, "4KiB", "bytes", 1, 1 << 30, NULL, P(block_size), "Bytes per I/O."},
    {"read-fraction", K_STO, O_F64, "0.7", "", 0, 1, NULL, P(read_fraction),
     "Fraction of I/Os that are reads (the device writes the block into memory); the others are writes "
     "(the device reads the block from memory)."},
    {"pattern", K_STO, O_ENUM, "rand", "", 0, 0, "rand|seq", P(pattern),
     "Which block an I/O touches: rand, uniform over the file; seq, each tenant's next block in turn, "
     "wrapping at the end of the file."},
    {"file-size", K_STO, O_SIZE, "64MiB", "bytes", 1, 0x1p50, NULL, P(file_size),
     "Size of the file; the user buffer region mirrors it (block b is read into and written from offset "
     "b x block-size), so the I/O footprint is the part of the file touched."},
    {"queue-depth", K_STO, O_U64, "32", "I/Os", 1, 1 << 20, NULL, P(queue_depth),
     "I/Os in flight: a closed loop submits the next I/O when one completes."},
    {"bandwidth", K_STO, O_F64, "3.5", "GB/s", 1e-6, 1e6, NULL, P(bandwidth),
     "Device data bandwidth (1 GB = 10^9 B): transfers are served one at a time in order of readiness."},
    {"latency", K_STO, O_TIME, "80us", "ns", 0, 1e12, NULL, P(latency),
     "Media latency per I/O: before a read's data transfer, after a write's."},

    /* ---- kv ---- */
    {"region", K_KV, O_SIZE, "1GiB", "bytes", 1, 0x1p50, NULL, P(region),
     "Registered memory region that holds the objects (region / object-size of them, back to back)."},
    {"object-size", K_KV, O_SIZE, "1KiB", "bytes", 1, 1 << 30, NULL, P(object_size),
     "Bytes per object; every get or put moves one whole object."},
    {"get-fraction", K_KV, O_F64, "0.95", "", 0, 1, NULL, P(get_fraction),
     "Fraction of operations that are gets (one-sided RDMA READ: the NIC reads the object); the others are "
     "puts (RDMA WRITE: the NIC writes it)."},
    {"zipf", K_KV, O_F64, "0.99", "theta", 0, 100, NULL, P(zipf),
     "Zipf exponent of object popularity: rank r is chosen with probability r^-theta / H(n, theta), "
     "sampled exactly by rejection-inversion; 0 is uniform."},
    {"placement", K_KV, O_ENUM, "scatter", "", 0, 0, "scatter|rank", P(placement),
     "Where the object of rank r lives: scatter spreads ranks over the region by a fixed multiplicative "
     "permutation (hot objects on different pages), rank puts it at slot r - 1 (hot objects packed at the "
     "start)."},
    {"rate", K_KV, O_F64, "100", "Gbit/s", 1e-6, 1e6, NULL, P(rate),
     "Link rate: operations are back to back, (object-size + framing) x 8 / rate ns apart."},
    {"framing", K_KV, O_U64, "64", "bytes", 0, 1 << 20, NULL, P(framing),
     "Wire bytes per operation besides the object (RoCEv2 headers of request and response)."},

    /* ---- stream ---- */
    {"arrays", K_STR, O_U64, "3", "arrays", 1, 1024, NULL, P(arrays), "Arrays per tenant."},
    {"array-size", K_STR, O_SIZE, "16MiB", "bytes", 1, 0x1p46, NULL, P(array_size),
     "Bytes per array; arrays start on 2 MiB boundaries."},
    {"stride", K_STR, O_SIZE, "4KiB", "bytes", 1, 0x1p46, NULL, P(stride),
     "Distance between consecutive accesses to one array."},
    {"access", K_STR, O_SIZE, "4KiB", "bytes", 1, 1 << 30, NULL, P(access),
     "Bytes per access (at most --array-size)."},
    {"passes", K_STR, O_U64, "2", "passes", 1, 1e9, NULL, P(passes),
     "Sweeps over every array (used when --count is 0)."},
    {"write-arrays", K_STR, O_U64, "1", "arrays", 0, 1024, NULL, P(write_arrays),
     "The last W arrays are written, the others read (1 of 3: a[i] = f(b[i], c[i]))."},
    {"order", K_STR, O_ENUM, "interleave", "", 0, 0, "interleave|array", P(order),
     "interleave: position i of every array, then position i + stride (a STREAM-like kernel); array: each "
     "array swept whole, one after the other."},
    {"bandwidth", K_STR, O_F64, "16", "GB/s", 1e-6, 1e6, NULL, P(bandwidth),
     "Device DMA bandwidth: accesses are back to back, access / bandwidth ns apart."},
    {"cpu-bandwidth", K_STR, O_F64, "10", "GB/s", 1e-6, 1e6, NULL, P(cpu_bandwidth),
     "Speed of the application's initialization of the arrays (CPU trace). The device starts when it "
     "would be done (plus --app-delay), with or without a CPU trace."},
};
#define N_OPTS (sizeof opt_defs / sizeof opt_defs[0])

/* ------------------------------------------------------------------------ */
/* Value parsing: the same for defaults and user values. */

static int parse_uint(const char *s, uint64_t *out, const char **end)
{
    const char *p = s;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
        return -1;
    uint64_t v = 0;
    for (; *p; p++) {
        int d;
        if (isdigit((unsigned char)*p))
            d = *p - '0';
        else if (base == 16 && isxdigit((unsigned char)*p))
            d = tolower((unsigned char)*p) - 'a' + 10;
        else
            break;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    *end = p;
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    const char *e;
    uint64_t v;
    if (parse_uint(s, &v, &e) != 0)
        return -1;
    static const struct {
        const char *suf;
        unsigned shift;
    } sufs[] = {{"", 0},    {"B", 0},    {"K", 10},   {"KiB", 10}, {"M", 20},
                {"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},   {"TiB", 40}};
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
        if (strcmp(e, sufs[i].suf) == 0) {
            if (sufs[i].shift && v > (UINT64_MAX >> sufs[i].shift))
                return -1;
            *out = v << sufs[i].shift;
            return 0;
        }
    }
    return -1;
}

static int parse_double(const char *s, double *out, char **end)
{
    if (!*s || isspace((unsigned char)*s))
        return -1;
    *out = strtod(s, end);
    return *end == s || !isfinite(*out) ? -1 : 0;
}

static int parse_time(const char *s, double *out)
{
    char *e;
    double v;
    if (parse_double(s, &v, &e) != 0)
        return -1;
    static const struct {
        const char *suf;
        double ns;
    } sufs[] = {{"", 1}, {"ns", 1}, {"ps", 1e-3}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
        if (strcmp(e, sufs[i].suf) == 0) {
            *out = v * sufs[i].ns;
            return 0;
        }
    }
    return -1;
}

static int parse_dist(const char *s, dist *d)
{
    memset(d, 0, sizeof *d);
    double w[DIST_MAX], total = 0;
    const char *p = s;
    for (;;) {
        if (d->n == DIST_MAX)
            return -1;
        uint64_t size;
        const char *e;
        char *e2;
        if (parse_uint(p, &size, &e) != 0 || size == 0)
            return -1;
        if (*e != ':') { /* a size alone weighs 1: "--sizes 1500" is a fixed size */
            w[d->n] = 1;
            e2 = (char *)(uintptr_t)e;
        } else if (parse_double(e + 1, &w[d->n], &e2) != 0 || w[d->n] < 0) {
            return -1;
        }
        d->size[d->n] = size;
        total += w[d->n];
        d->n++;
        if (*e2 == '\0')
            break;
        if (*e2 != ',')
            return -1;
        p = e2 + 1;
    }
    if (!(total > 0))
        return -1;
    double c = 0;
    for (unsigned i = 0; i < d->n; i++) {
        c += w[i];
        d->cum[i] = c / total;
        d->mean += (double)d->size[i] * w[i] / total;
        if (w[i] > 0 && d->size[i] > d->max)
            d->max = d->size[i];
    }
    d->cum[d->n - 1] = 1.0; /* a draw of 1 - 2^-53 must land */
    return 0;
}

static uint64_t dist_sample(const dist *d, rng *r)
{
    double u = rng_double(r);
    for (unsigned i = 0; i < d->n; i++)
        if (u < d->cum[i])
            return d->size[i];
    return d->size[d->n - 1];
}

static int choice_index(const char *choices, const char *v)
{
    size_t len = strlen(v);
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, v, n) == 0)
            return i;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static const char *type_hint(const opt_def *o)
{
    switch (o->type) {
    case O_U64: return "an integer (decimal or 0x hex)";
    case O_SIZE: return "a size in bytes (e.g. 4096, 4KiB, 2MiB, 1GiB)";
    case O_TIME: return "a time (e.g. 500, 500ns, 80us, 1ms)";
    case O_F64: return "a number";
    case O_ENUM: return "one of the listed choices";
    default: return "SIZE:WEIGHT[,SIZE:WEIGHT...] (e.g. 64:0.3,576:0.2,1500:0.5, or 1500)";
    }
}

/* Large powers of two read better as 2^k than as 17 digits. */
static const char *fmt_bound(char *buf, size_t len, double v)
{
    if (v >= 0x1p40 && v == ldexp(1.0, ilogb(v)))
        snprintf(buf, len, "2^%d", ilogb(v));
    else
        snprintf(buf, len, "%.15g", v);
    return buf;
}

static int set_value(const opt_def *o, const char *kind, const char *v, params *p, scim_err *err)
{
    char *dst = (char *)p + o->off;
    double num = 0;
    int rc = 0;
    switch (o->type) {
    case O_U64: {
        const char *e;
        uint64_t x;
        rc = parse_uint(v, &x, &e) != 0 || *e ? -1 : 0;
        if (rc == 0) {
            memcpy(dst, &x, sizeof x);
            num = (double)x;
        }
        break;
    }
    case O_SIZE: {
        uint64_t x;
        rc = parse_size(v, &x);
        if (rc == 0) {
            memcpy(dst, &x, sizeof x);
            num = (double)x;
        }
        break;
    }
    case O_TIME:
        rc = parse_time(v, &num);
        if (rc == 0)
            memcpy(dst, &num, sizeof num);
        break;
    case O_F64: {
        char *e;
        rc = parse_double(v, &num, &e) != 0 || *e ? -1 : 0;
        if (rc == 0)
            memcpy(dst, &num, sizeof num);
        break;
    }
    case O_ENUM: {
        int i = choice_index(o->choices, v);
        if (i < 0)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s '%s': expected one of %s", kind, o->name, v,
                                o->choices);
        memcpy(dst, &i, sizeof i);
        return 0;
    }
    case O_DIST:
        rc = parse_dist(v, (dist *)(void *)dst);
        break;
    }
    if (rc != 0)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s '%s': expected %s", kind, o->name, v,
                            type_hint(o));
    char lo[32], hi[32];
    if (o->type != O_DIST && (num < o->min || num > o->max))
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: --%s %s is out of range; expected %s..%s %s", kind,
                            o->name, v, fmt_bound(lo, sizeof lo, o->min), fmt_bound(hi, sizeof hi, o->max), o->unit);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Emitters */

typedef struct pend {
    uint64_t t, seq;
    scim_trace_op op;
    uint32_t pasid;
    uint64_t addr, size;
} pend;

typedef struct emitter {
    scim_trace_writer *w; /* NULL: this output is not wanted */
    bool rel, pasid_keys;
    pend *heap;
    size_t n, cap;
    uint64_t seq, last_t;
    uint64_t records, read_bytes, write_bytes, first_t;
    scim_u64map pages;
} emitter;

static bool pend_less(const pend *a, const pend *b) { return a->t != b->t ? a->t < b->t : a->seq < b->seq; }

static int em_push(emitter *e, uint64_t t, scim_trace_op op, uint64_t addr, uint64_t size, uint32_t pasid,
                   scim_err *err)
{
    if (!e->w)
        return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        pend *h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory generating a trace");
        e->heap = h;
        e->cap = cap;
    }
    pend x = {t, e->seq++, op, pasid, addr, size};
    size_t i = e->n++;
    while (i > 0 && pend_less(&x, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = x;
    return 0;
}

static pend em_pop(emitter *e)
{
    pend top = e->heap[0], last = e->heap[--e->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->n)
            break;
        if (c + 1 < e->n && pend_less(&e->heap[c + 1], &e->heap[c]))
            c++;
        if (!pend_less(&e->heap[c], &last))
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->n)
        e->heap[i] = last;
    return top;
}

static int em_write(emitter *e, const pend *x, scim_err *err)
{
    scim_trace_rec r = {0};
    r.timing = e->rel ? SCIM_TIMING_REL : SCIM_TIMING_ABS;
    r.time_ns = e->rel ? x->t - e->last_t : x->t;
    r.op = x->op;
    r.addr = x->addr;
    r.size = x->size;
    if (e->pasid_keys) {
        r.has = SCIM_TRACE_HAS_PASID;
        r.pasid = x->pasid;
    }
    if (e->records == 0)
        e->first_t = x->t;
    e->last_t = x->t;
    e->records++;
    if (x->op == SCIM_OP_READ)
        e->read_bytes += x->size;
    else
        e->write_bytes += x->size;
    for (uint64_t p = x->addr / PAGE; p <= (x->addr + x->size - 1) / PAGE; p++)
        if (!scim_u64map_upsert(&e->pages, p, 0))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory counting pages");
    return scim_trace_write(e->w, &r, err);
}

/* Release every record at or before `upto`: the generator promises that
 * everything it pushes from now on is at `upto` or later. */
static int em_flush(emitter *e, uint64_t upto, scim_err *err)
{
    while (e->n && e->heap[0].t <= upto) {
        pend x = em_pop(e);
        if (em_write(e, &x, err) != 0)
            return err && err->code ? err->code : SCIM_EIO;
    }
    return 0;
}

static int em_flush_all(emitter *e, scim_err *err) { return em_flush(e, UINT64_MAX, err); }

/* ------------------------------------------------------------------------ */
/* Generators */

typedef struct gen {
    params p;
    rng r;
    emitter dma;
    /* One CPU trace per tenant: a core runs one address space, so tenants'
     * applications cannot share a CPU trace. ncpu is 0 without CPU traces. */
    emitter *cpu;
    size_t ncpu;
    uint64_t stride; /* between tenants */
    uint64_t ops;
    scim_err *err;
} gen;

static uint32_t tenant_pick(gen *g) { return g->p.tenants > 1 ? (uint32_t)rng_below(&g->r, g->p.tenants) : 0; }
static uint64_t tenant_base(const gen *g, uint32_t t) { return g->p.base + t * g->stride; }
static uint32_t tenant_pasid(const gen *g, uint32_t t) { return (uint32_t)g->p.pasid_base + t; }

#define DMA(t, op, a, s, tn) em_push(&g->dma, (t), (op), (a), (s), tenant_pasid(g, (tn)), g->err)
#define CPU(t, op, a, s, tn)                                                                                      \
    (g->ncpu ? em_push(&g->cpu[g->ncpu > 1 ? (tn) : 0], (t), (op), (a), (s), tenant_pasid(g, (tn)), g->err) : 0)
#define TRY(x)                                                                                                    \
    do {                                                                                                          \
        int rc_ = (x);                                                                                            \
        if (rc_ != 0)                                                                                             \
            return rc_;                                                                                           \
    } while (0)

static int cpu_flush(gen *g, uint64_t upto)
{
    for (size_t i = 0; i < g->ncpu; i++)
        TRY(em_flush(&g->cpu[i], upto, g->err));
    return 0;
}

static uint64_t delay_ns(const gen *g) { return (uint64_t)llround(g->p.app_delay); }

/* Integer ns at which `bytes` have gone by at `gbps` Gbit/s: one rounding
 * per record, never accumulated, so the mean rate is exact to 1 ns over the
 * whole trace. */
static uint64_t wire_ns(uint64_t bytes, double gbps) { return (uint64_t)floor((double)bytes * 8.0 / gbps); }

/* ---- nic-rx / nic-tx ---- */

enum { DESC = 16, SQE = 64, CQE = 16 };

static uint64_t nic_pool_offset(const params *p) { return round_up(2 * p->entries * DESC, MIB); }

/* A descriptor ring whose descriptors each hold a buffer, and the pool's
 * free list (a ring buffer used as a queue or a stack). */
typedef struct nic_tenant {
    uint64_t head;     /* packets this tenant received or sent */
    uint32_t *posted;  /* [entries]: buffer held by each descriptor */
    uint32_t *free;    /* [buffers] */
    uint64_t fhead, flen;
} nic_tenant;

static uint32_t nic_recycle(nic_tenant *n, uint32_t used, const params *p)
{
    uint64_t cap = p->buffers;
    n->free[(n->fhead + n->flen++) % cap] = used;
    if (p->recycle == RECYCLE_LIFO)
        return n->free[(n->fhead + --n->flen) % cap];
    uint32_t b = n->free[n->fhead];
    n->fhead = (n->fhead + 1) % cap;
    n->flen--;
    return b;
}

static int gen_nic(gen *g, bool rx)
{
    const params *p = &g->p;
    uint64_t E = p->entries, d = delay_ns(g);
    /* tx: the application writes a buffer app-delay before the NIC reads it */
    uint64_t t0 = rx ? 0 : d;
    nic_tenant *ts = calloc(p->tenants, sizeof *ts);
    int rc = ts ? 0 : scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    for (uint64_t t = 0; rc == 0 && t < p->tenants; t++) {
        ts[t].posted = malloc(E * sizeof *ts[t].posted);
        ts[t].free = malloc(p->buffers * sizeof *ts[t].free);
        if (!ts[t].posted || !ts[t].free) {
            rc = scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
            break;
        }
        for (uint64_t i = 0; i < E; i++)
            ts[t].posted[i] = (uint32_t)i;
        for (uint64_t i = E; i < p->buffers; i++)
            ts[t].free[ts[t].flen++] = (uint32_t)i;
    }
    uint64_t wire = 0, pool = nic_pool_offset(p);
    for (uint64_t i = 0; rc == 0 && i < p->count; i++) {
        uint32_t tn = tenant_pick(g);
        nic_tenant *n = &ts[tn];
        uint64_t size = dist_sample(&p->sizes, &g->r);
        uint64_t T = t0 + wire_ns(wire, p->rate);
        uint64_t slot = n->head++ % E, b = n->posted[slot];
        uint64_t base = tenant_base(g, tn), desc = base + slot * DESC, cq = base + E * DESC + slot * DESC;
        uint64_t buf = base + pool + b * p->buffer_size;
        n->posted[slot] = nic_recycle(n, (uint32_t)b, p);
        if (rx) {
            if ((rc = DMA(T, SCIM_OP_READ, desc, DESC, tn)) || (rc = DMA(T, SCIM_OP_WRITE, buf, size, tn)) ||
                (rc = DMA(T, SCIM_OP_WRITE, cq, CQE, tn)) || (rc = CPU(T + d, SCIM_OP_READ, cq, CQE, tn)) ||
                (rc = CPU(T + d, SCIM_OP_READ, buf, size, tn)) ||
                (rc = CPU(T + d, SCIM_OP_WRITE, desc, DESC, tn))) /* re-post the refilled descriptor */
                break;
        } else {
            if ((rc = CPU(T - d, SCIM_OP_WRITE, buf, size, tn)) ||
                (rc = CPU(T - d, SCIM_OP_WRITE, desc, DESC, tn)) || (rc = DMA(T, SCIM_OP_READ, desc, DESC, tn)) ||
                (rc = DMA(T, SCIM_OP_READ, buf, size, tn)) || (rc = DMA(T, SCIM_OP_WRITE, cq, CQE, tn)) ||
                (rc = CPU(T + d, SCIM_OP_READ, cq, CQE, tn)))
                break;
        }
        wire += size + p->framing;
        g->ops++;
        uint64_t next = t0 + wire_ns(wire, p->rate);
        if ((rc = em_flush(&g->dma, next, g->err)) || (rc = cpu_flush(g, rx ? next + d : next - d)))
            break;
    }
    for (uint64_t t = 0; ts && t < p->tenants; t++) {
        free(ts[t].posted);
        free(ts[t].free);
    }
    free(ts);
    return rc;
}

static int gen_nic_rx(gen *g) { return gen_nic(g, true); }
static int gen_nic_tx(gen *g) { return gen_nic(g, false); }

/* ---- storage: a small discrete-event model of an NVMe-like device ---- */

static uint64_t sto_data_offset(const params *p) { return round_up(p->entries * (SQE + CQE), MIB); }

enum { EV_ISSUE, EV_READY, EV_XDONE, EV_COMPLETE };

typedef struct sto_ev {
    double t;
    uint64_t seq;
    int type;
    uint32_t slot;
} sto_ev;

typedef struct sto_io {
    uint32_t tenant;
    bool read;
    uint64_t addr, entry;
} sto_io;

typedef struct sto {
    sto_ev *ev;
    size_t n;
    uint64_t seq;
    sto_io *io;     /* [queue-depth], by slot */
    uint32_t *fifo; /* link queue of slots, in order of readiness */
    size_t fh, fn;
    bool link_busy;
    uint64_t *cursor, *head; /* per tenant: next block (seq), ring position */
} sto;

static bool ev_less(const sto_ev *a, const sto_ev *b) { return a->t != b->t ? a->t < b->t : a->seq < b->seq; }

static void ev_push(sto *s, double t, int type, uint32_t slot)
{
    sto_ev x = {t, s->seq++, type, slot};
    size_t i = s->n++;
    while (i > 0 && ev_less(&x, &s->ev[(i - 1) / 2])) {
        s->ev[i] = s->ev[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->ev[i] = x;
}

static sto_ev ev_pop(sto *s)
{
    sto_ev top = s->ev[0], last = s->ev[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && ev_less(&s->ev[c + 1], &s->ev[c]))
            c++;
        if (!ev_less(&s->ev[c], &last))
            break;
        s->ev[i] = s->ev[c];
        i = c;
    }
    if (s->n)
        s->ev[i] = last;
    return top;
}

static uint64_t ns_of(double t) { return (uint64_t)floor(t); }

static int sto_start_transfer(gen *g, sto *s, double now)
{
    uint32_t slot = s->fifo[s->fh];
    s->fh = (s->fh + 1) % g->p.queue_depth;
    s->fn--;
    s->link_busy = true;
    const sto_io *io = &s->io[slot];
    ev_push(s, now + (double)g->p.block_size / g->p.bandwidth, EV_XDONE, slot);
    return DMA(ns_of(now), io->read ? SCIM_OP_WRITE : SCIM_OP_READ, io->addr, g->p.block_size, io->tenant);
}

static int sto_complete(gen *g, sto *s, uint32_t slot, double now)
{
    const sto_io *io = &s->io[slot];
    uint64_t base = tenant_base(g, io->tenant);
    TRY(DMA(ns_of(now), SCIM_OP_WRITE, base + g->p.entries * SQE + io->entry * CQE, CQE, io->tenant));
    if (io->read) /* the application consumes what it read */
        TRY(CPU(ns_of(now + g->p.app_delay), SCIM_OP_READ, io->addr, g->p.block_size, io->tenant));
    ev_push(s, now, EV_ISSUE, slot);
    return 0;
}

static int sto_issue(gen *g, sto *s, uint32_t slot, double now)
{
    const params *p = &g->p;
    if (g->ops == p->count)
        return 0;
    g->ops++;
    sto_io *io = &s->io[slot];
    io->tenant = tenant_pick(g);
    io->read = rng_double(&g->r) < p->read_fraction;
    uint64_t blocks = p->file_size / p->block_size;
    uint64_t blk = p->pattern == PATTERN_SEQ ? s->cursor[io->tenant]++ % blocks : rng_below(&g->r, blocks);
    uint64_t base = tenant_base(g, io->tenant);
    io->addr = base + sto_data_offset(p) + blk * p->block_size;
    io->entry = s->head[io->tenant]++ % p->entries;
    if (!io->read) /* the application fills the buffer before it submits */
        TRY(CPU(ns_of(now - p->app_delay), SCIM_OP_WRITE, io->addr, p->block_size, io->tenant));
    TRY(DMA(ns_of(now), SCIM_OP_READ, base + io->entry * SQE, SQE, io->tenant));
    ev_push(s, io->read ? now + p->latency : now, EV_READY, slot);
    return 0;
}

static int gen_storage(gen *g)
{
    const params *p = &g->p;
    uint64_t qd = p->queue_depth;
    sto s = {0};
    s.ev = malloc(3 * qd * sizeof *s.ev); /* each slot has at most one pending event, plus slack */
    s.io = calloc(qd, sizeof *s.io);
    s.fifo = malloc(qd * sizeof *s.fifo);
    s.cursor = calloc(p->tenants, sizeof *s.cursor);
    s.head = calloc(p->tenants, sizeof *s.head);
    int rc = s.ev && s.io && s.fifo && s.cursor && s.head ? 0 : scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    for (uint64_t i = 0; rc == 0 && i < qd; i++)
        ev_push(&s, p->app_delay, EV_ISSUE, (uint32_t)i);
    while (rc == 0 && s.n) {
        sto_ev e = ev_pop(&s);
        switch (e.type) {
        case EV_ISSUE: rc = sto_issue(g, &s, e.slot, e.t); break;
        case EV_READY:
            s.fifo[(s.fh + s.fn++) % qd] = e.slot;
            if (!s.link_busy)
                rc = sto_start_transfer(g, &s, e.t);
            break;
        case EV_XDONE:
            s.link_busy = false;
            if (s.fn)
                rc = sto_start_transfer(g, &s, e.t);
            if (rc == 0)
                rc = s.io[e.slot].read ? sto_complete(g, &s, e.slot, e.t) : (ev_push(&s, e.t + p->latency,
                                                                                    EV_COMPLETE, e.slot), 0);
            break;
        default: rc = sto_complete(g, &s, e.slot, e.t); break;
        }
        /* events come in time order, so the device's records are final up
         * to now and the application's up to now - app-delay */
        if (rc == 0)
            rc = em_flush(&g->dma, ns_of(e.t), g->err);
        if (rc == 0 && e.t >= p->app_delay)
            rc = cpu_flush(g, ns_of(e.t - p->app_delay));
    }
    free(s.ev);
    free(s.io);
    free(s.fifo);
    free(s.cursor);
    free(s.head);
    return rc;
}

/* ---- kv ---- */

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A multiplier coprime to n near n / golden ratio, so that consecutive
 * ranks land far apart and r -> r * m mod n is a permutation. */
static uint64_t scatter_multiplier(uint64_t n)
{
    if (n <= 2)
        return 1;
    uint64_t m = (uint64_t)((double)n * 0.6180339887498949) | 1;
    while (gcd(m, n) != 1)
        m += 2;
    return m % n;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t n)
{
    uint64_t r = 0;
    a %= n;
    while (b) { /* no 128-bit type in ISO C */
        if (b & 1)
            r = r >= n - a ? r - (n - a) : r + a;
        a = a >= n - a ? a - (n - a) : a + a;
        b >>= 1;
    }
    return r;
}

static int gen_kv(gen *g)
{
    const params *p = &g->p;
    uint64_t n = p->region / p->object_size, d = delay_ns(g), wire = 0;
    uint64_t m = scatter_multiplier(n);
    zipf z;
    zipf_init(&z, n, p->zipf);
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < p->count; i++) {
        uint32_t tn = tenant_pick(g);
        bool get = rng_double(&g->r) < p->get_fraction;
        uint64_t rank = zipf_sample(&z, &g->r) - 1;
        uint64_t slot = p->placement == PLACE_SCATTER ? mulmod(rank, m, n) : rank;
        uint64_t addr = tenant_base(g, tn) + slot * p->object_size, T = wire_ns(wire, p->rate);
        if ((rc = DMA(T, get ? SCIM_OP_READ : SCIM_OP_WRITE, addr, p->object_size, tn)) != 0)
            break;
        if (!get) /* the server notices the update (e.g. re-indexes the object) */
            if ((rc = CPU(T + d, SCIM_OP_READ, addr, p->object_size, tn)) != 0)
                break;
        wire += p->object_size + p->framing;
        g->ops++;
        uint64_t next = wire_ns(wire, p->rate);
        if ((rc = em_flush(&g->dma, next, g->err)) || (rc = cpu_flush(g, next + d)))
            break;
    }
    return rc;
}

/* ---- stream ---- */

static uint64_t str_array_stride(const params *p) { return round_up(p->array_size, 2 * MIB); }
static uint64_t str_positions(const params *p) { return (p->array_size - p->access) / p->stride + 1; }

static int gen_stream(gen *g)
{
    const params *p = &g->p;
    uint64_t astride = str_array_stride(p), npos = str_positions(p), per_pass = p->arrays * npos;
    /* the application initializes every tenant's arrays, a page at a time */
    uint64_t init = 0;
    for (uint32_t tn = 0; tn < p->tenants; tn++)
        for (uint64_t a = 0; a < p->arrays; a++)
            for (uint64_t off = 0; off < p->array_size; off += PAGE) {
                uint64_t len = p->array_size - off < PAGE ? p->array_size - off : PAGE;
                TRY(CPU((uint64_t)floor((double)init / p->cpu_bandwidth), SCIM_OP_WRITE,
                        tenant_base(g, tn) + a * astride + off, len, tn));
                init += len;
                TRY(cpu_flush(g, UINT64_MAX));
            }
    uint64_t start = (uint64_t)floor((double)(p->tenants * p->arrays * p->array_size) / p->cpu_bandwidth) +
                     delay_ns(g);
    uint64_t total = p->count ? p->count : p->passes * per_pass * p->tenants, bytes = 0;
    uint64_t *cursor = calloc(p->tenants, sizeof *cursor);
    if (!cursor)
        return scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < total; i++) {
        uint32_t tn = tenant_pick(g);
        uint64_t within = cursor[tn]++ % per_pass, a, pos;
        if (p->order == ORDER_INTERLEAVE) {
            pos = within / p->arrays;
            a = within % p->arrays;
        } else {
            a = within / npos;
            pos = within % npos;
        }
        scim_trace_op op = a >= p->arrays - p->write_arrays ? SCIM_OP_WRITE : SCIM_OP_READ;
        uint64_t T = start + (uint64_t)floor((double)bytes / p->bandwidth);
        rc = DMA(T, op, tenant_base(g, tn) + a * astride + pos * p->stride, p->access, tn);
        bytes += p->access;
        g->ops++;
        if (rc == 0)
            rc = em_flush(&g->dma, T, g->err);
    }
    free(cursor);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Kinds */

typedef struct kind_def {
    const char *name;
    unsigned mask;
    const char *title;
    const char *about;      /* what the device does, per operation */
    const char *layout;     /* regions of one tenant */
    const char *cpu;        /* what --cpu-trace holds */
    const char *guarantees; /* what the tests check */
    int (*run)(gen *g);
} kind_def;

static const kind_def kinds[] = {
    {"nic-rx", K_RX, "NIC receive",
     "Packets arrive at line rate with sizes drawn from --sizes. Per packet the NIC reads the next 16 B "
     "descriptor of the tenant's ring, writes the payload into the buffer that descriptor holds, and writes "
     "a 16 B completion; the descriptor is then refilled from the buffer pool's free list (--recycle).",
     "descriptor ring (entries x 16 B) at +0, completion ring right after it, buffer pool (buffers x "
     "buffer-size) at the next 1 MiB boundary after the rings.",
     "app-delay after each completion the application reads the completion and the payload, and re-posts "
     "the descriptor (a 16 B write).",
     "Mean payload size = the distribution's mean; wire bytes (payload + framing) per ns = rate / 8 to "
     "within 1 ns over the trace; footprint = the rings' pages plus every buffer's pages (fifo, once count >= "
     "buffers) or the first entries buffers' (lifo); CPU payload reads match the DMA payload writes one to "
     "one, app-delay later.",
     gen_nic_rx},
    {"nic-tx", K_TX, "NIC transmit",
     "Packets leave at line rate with sizes drawn from --sizes. Per packet the NIC reads the next 16 B "
     "descriptor, reads the payload from the buffer it points to, and writes a 16 B completion. The first "
     "packet leaves at app-delay.",
     "as nic-rx.",
     "app-delay before each packet the application writes the payload into the buffer and writes the "
     "descriptor; app-delay after it, it reads the completion.",
     "As nic-rx, with the payload read by the device, and every CPU payload write app-delay before the "
     "matching DMA payload read.",
     gen_nic_tx},
    {"storage", K_STO, "NVMe-like block storage",
     "A closed loop keeps queue-depth I/Os in flight. Per I/O the device reads a 64 B submission entry, "
     "transfers one block (a read I/O writes memory, a write I/O reads it) at --bandwidth, one transfer at "
     "a time in order of readiness, and writes a 16 B completion; the media latency comes before a read's "
     "transfer and after a write's. The first I/Os are submitted at app-delay.",
     "submission ring (entries x 64 B) at +0, completion ring (entries x 16 B) right after it, the file's "
     "buffer region (file-size) at the next 1 MiB boundary.",
     "The application writes each write I/O's block app-delay before submitting it, and reads each read "
     "I/O's block app-delay after its completion.",
     "Fraction of I/Os that are reads = read-fraction (binomial); data throughput = min(bandwidth, "
     "queue-depth x block-size / (latency + block-size / bandwidth)) in steady state, exactly when every I/O "
     "goes one way or the bandwidth is the bottleneck (a mixed load whose transfers are long next to the "
     "latency loses a few percent to contention for the link); seq touches min(count, B) distinct blocks, "
     "rand B(1 - (1 - 1/B)^count) on average, B = file-size / block-size.",
     gen_storage},
    {"kv", K_KV, "RDMA key-value store (one-sided)",
     "Clients issue back-to-back one-sided operations on objects of a registered region, at --rate: a get "
     "is an RDMA READ (the NIC reads the object), a put an RDMA WRITE (the NIC writes it). Objects are "
     "chosen by Zipf popularity (--zipf) and placed by --placement.",
     "the region (region bytes) at +0.",
     "After each put, the server reads the object app-delay later (server-side touch); gets involve no CPU.",
     "Fraction of gets = get-fraction (binomial); the most popular object's share of operations = "
     "1 / H(n, theta) and rank r's = r^-theta / H(n, theta), n = region / object-size; wire bytes per ns = "
     "rate / 8 to within 1 ns.",
     gen_kv},
    {"stream", K_STR, "accelerator / GPU array sweeps",
     "The device sweeps over arrays with a fixed stride and access size, back to back at --bandwidth, "
     "reading all arrays but the last write-arrays, which it writes.",
     "arrays x array-size, each array starting on a 2 MiB boundary, at +0.",
     "Before the device starts, the application initializes every array, one 4 KiB write at a time at "
     "cpu-bandwidth.",
     "Exactly count accesses (or passes x arrays x positions x tenants); footprint = every page of every "
     "array when stride <= 4 KiB and count covers a pass; bytes per ns = bandwidth to within 1 ns; the "
     "read/write split is exactly (arrays - write-arrays) : write-arrays per full pass.",
     gen_stream},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

int scim_tracegen_kind_count(void) { return (int)N_KINDS; }
const char *scim_tracegen_kind_name(int i) { return i >= 0 && (size_t)i < N_KINDS ? kinds[i].name : NULL; }

static const kind_def *find_kind(const char *name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (name && strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

bool scim_tracegen_kind_exists(const char *kind) { return find_kind(kind) != NULL; }

static const opt_def *find_opt(const char *name, unsigned mask)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if ((opt_defs[i].kinds & mask) && strcmp(opt_defs[i].name, name) == 0)
            return &opt_defs[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static int unknown_opt(const kind_def *k, const char *name, scim_err *err)
{
    if (find_opt(name, K_ALL)) {
        char owners[128] = "";
        for (size_t i = 0; i < N_KINDS; i++)
            if (find_opt(name, kinds[i].mask))
                snprintf(owners + strlen(owners), sizeof owners - strlen(owners), "%s%s", owners[0] ? ", " : "",
                         kinds[i].name);
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s is an option of %s, not of %s; see "
                                              "'scimitar trace gen %s --help'",
                            k->name, name, owners, k->name, k->name);
    }
    const char *best = NULL;
    size_t bd = 3;
    for (size_t i = 0; i < N_OPTS; i++) {
        size_t dd;
        if ((opt_defs[i].kinds & k->mask) && (dd = edit_distance(name, opt_defs[i].name)) < bd) {
            bd = dd;
            best = opt_defs[i].name;
        }
    }
    if (best)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: unknown option --%s; did you mean --%s?", k->name,
                            name, best);
    return scim_err_set(err, SCIM_EINVAL, "trace gen %s: unknown option --%s; see 'scimitar trace gen %s --help'",
                        k->name, name, k->name);
}

/* Tenant 0's regions and the span they cover. */
static unsigned layout(const kind_def *k, const params *p, scim_tracegen_region *r)
{
    switch (k->mask) {
    case K_RX:
    case K_TX:
        r[0] = (scim_tracegen_region){"rings", 0, round_up(2 * p->entries * DESC, PAGE)};
        r[1] = (scim_tracegen_region){"buffers", nic_pool_offset(p), round_up(p->buffers * p->buffer_size, PAGE)};
        return 2;
    case K_STO:
        r[0] = (scim_tracegen_region){"rings", 0, round_up(p->entries * (SQE + CQE), PAGE)};
        r[1] = (scim_tracegen_region){"file", sto_data_offset(p), round_up(p->file_size, PAGE)};
        return 2;
    case K_KV: r[0] = (scim_tracegen_region){"objects", 0, round_up(p->region, PAGE)}; return 1;
    default:
        r[0] = (scim_tracegen_region){"arrays", 0, p->arrays * str_array_stride(p)};
        return 1;
    }
}

/* Combinations the option table's ranges cannot express. */
static int check_params(const kind_def *k, const params *p, scim_err *err)
{
    const char *n = k->name;
    if (p->base % PAGE)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --base 0x%llx is not 4 KiB aligned", n,
                            (unsigned long long)p->base);
    if (p->pasid_base + p->tenants - 1 > 0xfffff)
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: PASIDs %llu..%llu exceed 20 bits; lower --pasid-base "
                                              "or --tenants", n, (unsigned long long)p->pasid_base,
                            (unsigned long long)(p->pasid_base + p->tenants - 1));
    switch (k->mask) {
    case K_RX:
    case K_TX:
        if (p->buffers < p->entries)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --buffers %llu is less than --entries %llu; every "
                                                  "descriptor holds a buffer", n, (unsigned long long)p->buffers,
                                (unsigned long long)p->entries);
        if (p->sizes.max > p->buffer_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: packet size %llu exceeds --buffer-size %llu; raise "
                                                  "--buffer-size or change --sizes", n,
                                (unsigned long long)p->sizes.max, (unsigned long long)p->buffer_size);
        break;
    case K_STO:
        if (p->queue_depth > p->entries)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --queue-depth %llu exceeds --entries %llu", n,
                                (unsigned long long)p->queue_depth, (unsigned long long)p->entries);
        if (p->block_size > p->file_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --block-size exceeds --file-size", n);
        break;
    case K_KV:
        if (p->object_size > p->region)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --object-size exceeds --region", n);
        break;
    default:
        if (p->access > p->array_size)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --access exceeds --array-size", n);
        if (p->write_arrays > p->arrays)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --write-arrays exceeds --arrays", n);
        break;
    }
    return 0;
}

static int write_header(scim_trace_writer *w, const kind_def *k, const char *const *values, const char *what,
                        scim_err *err)
{
    char line[512];
    snprintf(line, sizeof line, "%s: scimitar trace gen %s (%s), with:", what, k->name, k->title);
    TRY(scim_trace_comment(w, line, err));
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(opt_defs[i].kinds & k->mask))
            continue;
        snprintf(line, sizeof line, "  --%s %s", opt_defs[i].name, values[i]);
        TRY(scim_trace_comment(w, line, err));
    }
    return 0;
}

/* PATH with every %t replaced by the tenant number. */
static int expand_tenant(const char *path, unsigned t, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = path; *p; p++) {
        int w;
        if (p[0] == '%' && p[1] == 't') {
            w = snprintf(buf + n, len - n, "%u", t);
            p++;
        } else {
            w = snprintf(buf + n, len - n, "%c", *p);
        }
        if (w < 0 || (size_t)w >= len - n)
            return -1;
        n += (size_t)w;
    }
    if (n == 0)
        buf[0] = '\0';
    return 0;
}

static void em_free(emitter *e)
{
    free(e->heap);
    scim_u64map_free(&e->pages);
}

int scim_tracegen_write(const char *kind, const scim_tracegen_opt *opts, size_t n_opts,
                        const scim_tracegen_output *out, scim_tracegen_summary *summary, scim_err *err)
{
    const kind_def *k = find_kind(kind);
    if (!k) {
        char list[256] = "";
        for (size_t i = 0; i < N_KINDS; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", kinds[i].name);
        return scim_err_set(err, SCIM_EINVAL, "trace gen: unknown kind '%s'; expected one of %s", kind ? kind : "",
                            list);
    }
    if (!out || !out->path)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: no output file; give -o FILE", k->name);

    gen g = {.err = err};
    const char *values[N_OPTS];
    for (size_t i = 0; i < N_OPTS; i++) {
        values[i] = opt_defs[i].def;
        if (opt_defs[i].kinds & k->mask)
            TRY(set_value(&opt_defs[i], k->name, opt_defs[i].def, &g.p, err));
    }
    for (size_t j = 0; j < n_opts; j++) {
        if (!opts[j].name)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: option %zu has no name", k->name, j + 1);
        const opt_def *o = find_opt(opts[j].name, k->mask);
        if (!o)
            return unknown_opt(k, opts[j].name, err);
        if (!opts[j].value)
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s needs a value", k->name, o->name);
        TRY(set_value(o, k->name, opts[j].value, &g.p, err));
        values[o - opt_defs] = opts[j].value;
    }
    TRY(check_params(k, &g.p, err));

    scim_tracegen_summary s = {.kind = k->name};
    s.n_regions = layout(k, &g.p, s.regions);
    uint64_t span = s.regions[s.n_regions - 1].offset + s.regions[s.n_regions - 1].size;
    g.stride = g.p.tenant_stride ? g.p.tenant_stride : round_up(span, GIB);
    if (g.stride % PAGE || g.stride < span)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --tenant-stride must be a multiple of 4 KiB and at "
                                              "least the layout's span (%llu bytes)", k->name,
                            (unsigned long long)span);
    if (g.p.base + (g.p.tenants - 1) * g.stride + span > VA_LIMIT)
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: the layout ends beyond 0x%llx (the user address "
                                              "space); lower --base, --tenants or the sizes", k->name,
                            (unsigned long long)VA_LIMIT);
    rng_seed(&g.r, g.p.seed);
    bool keys = g.p.tenants > 1 || g.p.pasid_base != 1;
    g.dma = (emitter){.rel = g.p.timing == TIMING_REL, .pasid_keys = keys};
    scim_u64map_init(&g.dma.pages);
    int rc = 0;
    if (out->cpu_path) {
        if (g.p.tenants > 1 && !strstr(out->cpu_path, "%t"))
            return scim_err_set(err, SCIM_EINVAL, "trace gen %s: with --tenants %llu, the CPU trace's name needs %%t "
                                                  "(replaced by the tenant number): a core runs one address space, "
                                                  "so each tenant gets its own CPU trace", k->name,
                                (unsigned long long)g.p.tenants);
        if (g.p.tenants > MAX_CPU_TRACES)
            return scim_err_set(err, SCIM_ERANGE, "trace gen %s: at most %d CPU traces (--tenants) at once", k->name,
                                MAX_CPU_TRACES);
        g.ncpu = g.p.tenants;
        if (!(g.cpu = calloc(g.ncpu, sizeof *g.cpu)))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        for (size_t i = 0; i < g.ncpu; i++) {
            g.cpu[i] = (emitter){.rel = g.dma.rel, .pasid_keys = keys};
            scim_u64map_init(&g.cpu[i].pages);
        }
    }

    g.dma.w = scim_trace_create(out->path, out->format, out->gzip, err);
    if (!g.dma.w)
        rc = err && err->code ? err->code : SCIM_EIO;
    char cpu_path[4096];
    for (size_t i = 0; rc == 0 && i < g.ncpu; i++) {
        if (expand_tenant(out->cpu_path, (unsigned)i, cpu_path, sizeof cpu_path) != 0)
            rc = scim_err_set(err, SCIM_EINVAL, "trace gen %s: CPU trace name too long", k->name);
        else if (strcmp(cpu_path, out->path) == 0)
            rc = scim_err_set(err, SCIM_EINVAL, "trace gen %s: the CPU trace and the device trace are both %s",
                              k->name, out->path);
        else if (!(g.cpu[i].w = scim_trace_create(cpu_path, out->cpu_format, out->cpu_gzip, err)))
            rc = err && err->code ? err->code : SCIM_EIO;
    }
    if (rc == 0)
        rc = write_header(g.dma.w, k, values, "device trace", err);
    for (size_t i = 0; rc == 0 && i < g.ncpu; i++)
        rc = write_header(g.cpu[i].w, k, values, "CPU trace", err);
    if (rc == 0)
        rc = k->run(&g);
    if (rc == 0)
        rc = em_flush_all(&g.dma, err);
    if (rc == 0)
        rc = cpu_flush(&g, UINT64_MAX);
    if (rc == 0) {
        /* publish the device trace last, so that a failure leaves none of it */
        size_t done = 0;
        for (; done < g.ncpu; done++) {
            rc = scim_trace_finish(g.cpu[done].w, err);
            g.cpu[done].w = NULL;
            if (rc != 0)
                break;
        }
        if (rc == 0) {
            rc = scim_trace_finish(g.dma.w, err);
            g.dma.w = NULL;
        }
        for (size_t i = 0; rc != 0 && i < done; i++)
            if (expand_tenant(out->cpu_path, (unsigned)i, cpu_path, sizeof cpu_path) == 0 && strcmp(cpu_path, "-"))
                remove(cpu_path);
    }
    scim_trace_abort(g.dma.w);
    for (size_t i = 0; i < g.ncpu; i++)
        scim_trace_abort(g.cpu[i].w);
    if (rc == 0 && summary) {
        s.ops = g.ops;
        s.records = g.dma.records;
        s.read_bytes = g.dma.read_bytes;
        s.write_bytes = g.dma.write_bytes;
        s.pages_4k = g.dma.pages.len;
        s.first_ns = g.dma.first_t;
        s.last_ns = g.dma.last_t;
        for (size_t i = 0; i < g.ncpu; i++) {
            s.cpu_records += g.cpu[i].records;
            s.cpu_pages_4k += g.cpu[i].pages.len;
        }
        s.base = g.p.base;
        s.tenant_stride = g.stride;
        s.tenants = (uint32_t)g.p.tenants;
        s.pasid_base = (uint32_t)g.p.pasid_base;
        s.pasid_keys = keys;
        *summary = s;
    }
    em_free(&g.dma);
    for (size_t i = 0; i < g.ncpu; i++)
        em_free(&g.cpu[i]);
    free(g.cpu);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Help, docs, summary */

static void wrap(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    fprintf(out, "%*s", indent, "");
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (col > indent && col + 1 + (int)n > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)n, p);
        col += (int)n;
        p += n;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static const char *metavar(const opt_def *o)
{
    switch (o->type) {
    case O_U64: return "N";
    case O_SIZE: return "BYTES";
    case O_TIME: return "TIME";
    case O_F64: return "X";
    case O_ENUM: return o->choices;
    default: return "SIZE:W,...";
    }
}

int scim_tracegen_help(const char *kind, FILE *out)
{
    const kind_def *k = find_kind(kind);
    if (!k)
        return SCIM_EINVAL;
    fprintf(out, "scimitar trace gen %s: %s\n\n", k->name, k->title);
    wrap(out, k->about, 2, 78);
    fprintf(out, "\n  Layout per tenant:\n");
    wrap(out, k->layout, 4, 78);
    fprintf(out, "  CPU trace (--cpu-trace):\n");
    wrap(out, k->cpu, 4, 78);
    fprintf(out, "\nOptions (default, unit):\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *o = &opt_defs[i];
        if (!(o->kinds & k->mask))
            continue;
        fprintf(out, "  --%s %s%s%s%s  (default %s)\n", o->name, metavar(o), o->unit[0] ? " [" : "", o->unit,
                o->unit[0] ? "]" : "", o->def);
        wrap(out, o->doc, 8, 78);
    }
    return ferror(out) ? SCIM_EIO : 0;
}

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, out);
}

static void md_row(FILE *out, const opt_def *o)
{
    fprintf(out, "| `--%s` | %s | %s | ", o->name, o->def, o->unit);
    if (o->type == O_ENUM) {
        md_cell(out, o->choices);
    } else if (o->type != O_DIST && o->max < 0x1p64) {
        char lo[32], hi[32];
        fprintf(out, "%s..%s", fmt_bound(lo, sizeof lo, o->min), fmt_bound(hi, sizeof hi, o->max));
    }
    fputs(" | ", out);
    md_cell(out, o->doc);
    fputs(" |\n", out);
}

static const char MD_HEAD[] = "| option | default | unit | range | description |\n|---|---|---|---|---|\n";

int scim_tracegen_doc(FILE *out)
{
    fprintf(out, "## Options of every kind\n\n%s", MD_HEAD);
    for (size_t j = 0; j < N_OPTS; j++)
        if (opt_defs[j].kinds == K_ALL)
            md_row(out, &opt_defs[j]);
    fputc('\n', out);
    for (size_t i = 0; i < N_KINDS; i++) {
        const kind_def *k = &kinds[i];
        fprintf(out, "## %s: %s\n\n%s\n\n", k->name, k->title, k->about);
        fprintf(out, "- **Layout per tenant:** %s\n- **CPU trace:** %s\n- **Guaranteed statistics:** %s\n\n",
                k->layout, k->cpu, k->guarantees);
        fprintf(out, "Options besides those of every kind:\n\n%s", MD_HEAD);
        for (size_t j = 0; j < N_OPTS; j++)
            if ((opt_defs[j].kinds & k->mask) && opt_defs[j].kinds != K_ALL)
                md_row(out, &opt_defs[j]);
        fputc('\n', out);
    }
    return ferror(out) ? SCIM_EIO : 0;
}

static void print_size(FILE *out, uint64_t v)
{
    if (v && v % GIB == 0)
        fprintf(out, "%lluGiB", (unsigned long long)(v / GIB));
    else if (v && v % MIB == 0)
        fprintf(out, "%lluMiB", (unsigned long long)(v / MIB));
    else if (v && v % 1024 == 0)
        fprintf(out, "%lluKiB", (unsigned long long)(v / 1024));
    else
        fprintf(out, "%llu", (unsigned long long)v);
}

int scim_tracegen_summary_print(const scim_tracegen_summary *s, FILE *out)
{
    double span = (double)(s->last_ns - s->first_ns);
    fprintf(out, "kind: %s\nops: %llu\nrecords: %llu\nbytes.read: %llu\nbytes.written: %llu\n", s->kind,
            (unsigned long long)s->ops, (unsigned long long)s->records, (unsigned long long)s->read_bytes,
            (unsigned long long)s->write_bytes);
    fprintf(out, "footprint.pages_4k: %llu\nfootprint.bytes: %llu\n", (unsigned long long)s->pages_4k,
            (unsigned long long)(s->pages_4k * PAGE));
    fprintf(out, "time.first_ns: %llu\ntime.last_ns: %llu\nrate.bytes_per_ns: %.4f\n",
            (unsigned long long)s->first_ns, (unsigned long long)s->last_ns,
            span > 0 ? (double)(s->read_bytes + s->write_bytes) / span : 0.0);
    if (s->cpu_records)
        fprintf(out, "cpu.records: %llu\ncpu.footprint.pages_4k: %llu\n", (unsigned long long)s->cpu_records,
                (unsigned long long)s->cpu_pages_4k);
    fprintf(out, "# config: one process per tenant, each mapping its regions%s\nprocesses:\n",
            s->pasid_keys ? "; records carry pasid=, so any device or CPU in one of these PASIDs can replay them"
                          : "");
    for (uint32_t t = 0; t < s->tenants; t++) {
        fprintf(out, "  tenant%u:\n    pasid: %u\n    regions:\n", t, s->pasid_base + t);
        for (unsigned i = 0; i < s->n_regions; i++) {
            fprintf(out, "      - {va: 0x%llx, size: ",
                    (unsigned long long)(s->base + t * s->tenant_stride + s->regions[i].offset));
            print_size(out, s->regions[i].size);
            fprintf(out, "}   # %s\n", s->regions[i].what);
        }
    }
    return ferror(out) ? SCIM_EIO : 0;
}
