/* Workload generators' options, declared once in scim_tg_opts[] (name,
 * kinds, type, default, unit, range, doc): parsing, --help and the markdown
 * docs all read it, so they cannot disagree. Defaults are strings parsed by
 * the same code as the user's values. */
#include "workload/tracegen_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define P(f) offsetof(scim_tg_params, f)
#define NOLIM 0, 0x1p64

/* One row per (option, kinds) pair; an option whose default, unit or
 * meaning differs between kinds has one row per group of kinds. */
const scim_tg_opt scim_tg_opts[] = {
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
_Static_assert(sizeof scim_tg_opts / sizeof scim_tg_opts[0] == SCIM_TG_N_OPTS,
               "SCIM_TG_N_OPTS (tracegen_internal.h) must count scim_tg_opts");

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

static int parse_dist(const char *s, scim_tg_dist *d)
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

static const char *type_hint(const scim_tg_opt *o)
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
const char *scim_tg_fmt_bound(char *buf, size_t len, double v)
{
    if (v >= 0x1p40 && v == ldexp(1.0, ilogb(v)))
        snprintf(buf, len, "2^%d", ilogb(v));
    else
        snprintf(buf, len, "%.15g", v);
    return buf;
}

int scim_tg_set_value(const scim_tg_opt *o, const char *kind, const char *v, scim_tg_params *p, scim_err *err)
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
        rc = parse_dist(v, (scim_tg_dist *)(void *)dst);
        break;
    }
    if (rc != 0)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s '%s': expected %s", kind, o->name, v,
                            type_hint(o));
    char lo[32], hi[32];
    if (o->type != O_DIST && (num < o->min || num > o->max))
        return scim_err_set(err, SCIM_ERANGE, "trace gen %s: --%s %s is out of range; expected %s..%s %s", kind,
                            o->name, v, scim_tg_fmt_bound(lo, sizeof lo, o->min),
                            scim_tg_fmt_bound(hi, sizeof hi, o->max), o->unit);
    return 0;
}

const scim_tg_opt *scim_tg_find_opt(const char *name, unsigned mask)
{
    for (size_t i = 0; i < SCIM_TG_N_OPTS; i++)
        if ((scim_tg_opts[i].kinds & mask) && strcmp(scim_tg_opts[i].name, name) == 0)
            return &scim_tg_opts[i];
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

int scim_tg_unknown_opt(const scim_tg_kind *k, const char *name, scim_err *err)
{
    if (scim_tg_find_opt(name, K_ALL)) {
        char owners[128] = "";
        for (size_t i = 0; i < SCIM_TG_N_KINDS; i++)
            if (scim_tg_find_opt(name, scim_tg_kinds[i].mask))
                snprintf(owners + strlen(owners), sizeof owners - strlen(owners), "%s%s", owners[0] ? ", " : "",
                         scim_tg_kinds[i].name);
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: --%s is an option of %s, not of %s; see "
                                              "'scimitar trace gen %s --help'",
                            k->name, name, owners, k->name, k->name);
    }
    const char *best = NULL;
    size_t bd = 3;
    for (size_t i = 0; i < SCIM_TG_N_OPTS; i++) {
        size_t dd;
        if ((scim_tg_opts[i].kinds & k->mask) && (dd = edit_distance(name, scim_tg_opts[i].name)) < bd) {
            bd = dd;
            best = scim_tg_opts[i].name;
        }
    }
    if (best)
        return scim_err_set(err, SCIM_EINVAL, "trace gen %s: unknown option --%s; did you mean --%s?", k->name,
                            name, best);
    return scim_err_set(err, SCIM_EINVAL, "trace gen %s: unknown option --%s; see 'scimitar trace gen %s --help'",
                        k->name, name, k->name);
}
