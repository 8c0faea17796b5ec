/* Workload generators: determinism, and every statistic docs/workloads.md
 * promises, measured by reading the written traces back through the trace
 * reader and compared with values derived here from the options alone
 * (analytic means, rates, footprints, Zipf's 1/H(n, theta)). Random
 * quantities get a 5-sigma binomial tolerance, so a correct generator fails
 * about once in two million runs, while a wrong distribution (a 2%
 * error in a share, say) fails reliably. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/u64map.h"
#include "helpers/simtest.h"
#include "scimitar/trace.h"
#include "workload/tracegen.h"
#include "helpers/testutil.h"

#define BASE 0x7f0000000000ull

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */

typedef struct rec {
    uint64_t t; /* absolute ns */
    scim_trace_op op;
    uint64_t addr, size;
    uint32_t pasid;
    bool has_pasid;
} rec;

typedef struct recs {
    rec *v;
    size_t n;
} recs;

static char dir[256];

static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

static const char *path_in(const char *name)
{
    static char bufs[4][512];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Generate KIND with "name=value" options into dir/out (and dir/cpu). */
static scim_tracegen_summary gen_opts(const char *kind, const char *out, const char *cpu, const char *const *kv,
                                      size_t n)
{
    scim_tracegen_opt opts[32];
    char names[32][64];
    ck_assert(n <= 32);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        ck_assert(eq && (size_t)(eq - kv[i]) < sizeof names[i]);
        memcpy(names[i], kv[i], (size_t)(eq - kv[i]));
        names[i][eq - kv[i]] = 0;
        opts[i] = (scim_tracegen_opt){names[i], eq + 1};
    }
    char outp[512], cpup[512];
    snprintf(outp, sizeof outp, "%s", path_in(out));
    if (cpu)
        snprintf(cpup, sizeof cpup, "%s", path_in(cpu));
    scim_tracegen_output o = {outp, cpu ? cpup : NULL, ends_with(out, ".bin") ? SCIM_TRACE_BINARY : SCIM_TRACE_TEXT,
                              ends_with(out, ".bin") ? SCIM_TRACE_BINARY : SCIM_TRACE_TEXT, ends_with(out, ".gz"),
                              ends_with(out, ".gz")};
    scim_tracegen_summary s;
    scim_err err = {0};
    int rc = scim_tracegen_write(kind, opts, n, &o, &s, &err);
    ck_assert_msg(rc == 0, "trace gen %s failed: %s", kind, err.msg);
    return s;
}

#define GEN(kind, out, cpu, ...)                                                                                  \
    gen_opts(kind, out, cpu, (const char *const[]){__VA_ARGS__},                                                   \
             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static int gen_fail(const char *kind, const char *cpu, const char *const *kv, size_t n, char *msg, size_t len)
{
    scim_tracegen_opt opts[8];
    static char names[8][64];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        memcpy(names[i], kv[i], (size_t)(eq - kv[i]));
        names[i][eq - kv[i]] = 0;
        opts[i] = (scim_tracegen_opt){names[i], eq + 1};
    }
    scim_tracegen_output o = {path_in("fail.trace"), cpu ? path_in(cpu) : NULL, SCIM_TRACE_TEXT, SCIM_TRACE_TEXT,
                              false, false};
    scim_err err = {0};
    int rc = scim_tracegen_write(kind, opts, n, &o, NULL, &err);
    snprintf(msg, len, "%s", err.msg);
    return rc;
}

/* Field by field: a compound literal leaves the padding of `rec`
 * unspecified, so memcmp would compare indeterminate bytes. */
static bool same_recs(const recs *a, const recs *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const rec *x = &a->v[i], *y = &b->v[i];
        if (x->t != y->t || x->op != y->op || x->addr != y->addr || x->size != y->size || x->pasid != y->pasid ||
            x->has_pasid != y->has_pasid)
            return false;
    }
    return true;
}

static recs load(const char *name)
{
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open(path_in(name), &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    recs out = {0};
    size_t cap = 0;
    scim_trace_rec x;
    uint64_t t = 0;
    int rc;
    while ((rc = scim_trace_next(r, &x, &err)) == 1) {
        if (out.n == cap) {
            cap = cap ? cap * 2 : 4096;
            out.v = realloc(out.v, cap * sizeof *out.v);
            ck_assert(out.v);
        }
        t = x.timing == SCIM_TIMING_ABS ? x.time_ns : t + x.time_ns;
        out.v[out.n++] = (rec){t, x.op, x.addr, x.size, x.pasid, (x.has & SCIM_TRACE_HAS_PASID) != 0};
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    scim_trace_close(r);
    return out;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(path_in(a), &la), *y = slurp(path_in(b), &lb);
    ck_assert(x && y);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static uint64_t distinct_pages(const recs *r, bool (*keep)(const rec *))
{
    scim_u64map m;
    scim_u64map_init(&m);
    for (size_t i = 0; i < r->n; i++)
        if (!keep || keep(&r->v[i]))
            for (uint64_t p = r->v[i].addr >> 12; p <= (r->v[i].addr + r->v[i].size - 1) >> 12; p++)
                ck_assert(scim_u64map_upsert(&m, p, 0));
    uint64_t n = m.len;
    scim_u64map_free(&m);
    return n;
}

/* |observed share - p| within 5 sigma of a binomial(n, p) share. */
static void ck_share(double observed, double p, double n, const char *what)
{
    double tol = 5.0 * sqrt(p * (1.0 - p) / n) + 1e-12;
    ck_assert_msg(fabs(observed - p) <= tol, "%s: %.5f, expected %.5f +- %.5f", what, observed, p, tol);
}

static void ck_rel(double observed, double expected, double rel, const char *what)
{
    ck_assert_msg(fabs(observed - expected) <= rel * fabs(expected), "%s: %.6f, expected %.6f within %.2f%%", what,
                  observed, expected, rel * 100);
}

static bool is_nic_payload(const rec *r) { return r->addr >= BASE + 0x100000; }

static const char *const kinds[] = {"nic-rx", "nic-tx", "storage", "kv", "stream"};
/* Small but non-trivial runs of each kind. */
static const char *const small[][3] = {
    {"count=3000", "sizes=64:1,1500:1", "entries=64"},
    {"count=3000", "buffers=512", "rate=25"},
    {"count=1500", "queue-depth=8", "pattern=rand"},
    {"count=5000", "region=16MiB", "zipf=0.9"},
    {"count=5000", "array-size=1MiB", "stride=1KiB"},
};

/* ------------------------------------------------------------------------ */
/* determinism                                                               */

START_TEST(same_seed_same_bytes)
{
    for (int k = 0; k < 5; k++) {
        const char *const *o = small[k];
        GEN(kinds[k], "a.trace.gz", "a.cpu.gz", o[0], o[1], o[2], "seed=7");
        GEN(kinds[k], "b.trace.gz", "b.cpu.gz", o[0], o[1], o[2], "seed=7");
        GEN(kinds[k], "c.trace.gz", "c.cpu.gz", o[0], o[1], o[2], "seed=8");
        ck_assert_msg(same_file("a.trace.gz", "b.trace.gz"), "%s: same seed, different device traces", kinds[k]);
        ck_assert_msg(same_file("a.cpu.gz", "b.cpu.gz"), "%s: same seed, different CPU traces", kinds[k]);
        /* stream's sweep draws nothing random with one tenant */
        if (k != 4)
            ck_assert_msg(!same_file("a.trace.gz", "c.trace.gz"), "%s: seeds 7 and 8 gave the same trace",
                          kinds[k]);
        /* binary and text carry the same records */
        GEN(kinds[k], "a.bin", NULL, o[0], o[1], o[2], "seed=7");
        GEN(kinds[k], "b.bin", NULL, o[0], o[1], o[2], "seed=7");
        ck_assert(same_file("a.bin", "b.bin"));
        recs t = load("a.trace.gz"), b = load("a.bin");
        ck_assert_uint_eq(t.n, b.n);
        ck_assert(same_recs(&t, &b));
        free(t.v);
        free(b.v);
    }
    /* with tenants, stream's choice of tenant is random */
    GEN("stream", "s7.bin", NULL, "count=2000", "array-size=1MiB", "tenants=3", "seed=7");
    GEN("stream", "s8.bin", NULL, "count=2000", "array-size=1MiB", "tenants=3", "seed=8");
    ck_assert(!same_file("s7.bin", "s8.bin"));
}
END_TEST

START_TEST(cpu_trace_does_not_change_device_trace)
{
    for (int k = 0; k < 5; k++) {
        const char *const *o = small[k];
        GEN(kinds[k], "with.bin", "cpu.bin", o[0], o[1], o[2]);
        GEN(kinds[k], "without.bin", NULL, o[0], o[1], o[2]);
        ck_assert_msg(same_file("with.bin", "without.bin"), "%s", kinds[k]);
    }
}
END_TEST

START_TEST(rel_and_abs_timing_same_schedule)
{
    for (int k = 0; k < 5; k++) {
        const char *const *o = small[k];
        GEN(kinds[k], "abs.bin", NULL, o[0], o[1], o[2], "timing=abs");
        GEN(kinds[k], "rel.bin", NULL, o[0], o[1], o[2], "timing=rel");
        recs a = load("abs.bin"), r = load("rel.bin");
        ck_assert_uint_eq(a.n, r.n);
        ck_assert(same_recs(&a, &r));
        for (size_t i = 1; i < a.n; i++)
            ck_assert_msg(a.v[i].t >= a.v[i - 1].t, "%s: record %zu goes back in time", kinds[k], i);
        free(a.v);
        free(r.v);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* nic-rx / nic-tx                                                           */

static void check_nic(bool rx, const char *sizes, double mean, double var, const char *recycle, uint64_t want_bufs)
{
    const uint64_t n = 20000, E = 256;
    char so[96], ro[32];
    snprintf(so, sizeof so, "sizes=%s", sizes);
    snprintf(ro, sizeof ro, "recycle=%s", recycle);
    scim_tracegen_summary s =
        GEN(rx ? "nic-rx" : "nic-tx", "n.bin", "c.bin", "count=20000", "rate=100", "framing=20", so, ro);
    recs r = load("n.bin"), c = load("c.bin");
    ck_assert_uint_eq(r.n, 3 * n);
    ck_assert_uint_eq(s.records, 3 * n);
    double sum = 0, wire = 0;
    for (uint64_t i = 0; i < n; i++) {
        const rec *d = &r.v[3 * i], *p = &r.v[3 * i + 1], *q = &r.v[3 * i + 2];
        /* descriptor, payload, completion, in ring order */
        ck_assert(d->op == SCIM_OP_READ && d->size == 16 && d->addr == BASE + (i % E) * 16);
        ck_assert(p->op == (rx ? SCIM_OP_WRITE : SCIM_OP_READ));
        ck_assert(q->op == SCIM_OP_WRITE && q->size == 16 && q->addr == BASE + E * 16 + (i % E) * 16);
        ck_assert(d->t == p->t && p->t == q->t && !d->has_pasid);
        sum += (double)p->size;
        if (i + 1 < n)
            wire += (double)(p->size + 20);
    }
    double got = sum / (double)n, sd = sqrt(var / (double)n);
    ck_assert_msg(fabs(got - mean) <= 5 * sd + 1e-9, "mean size %.2f, expected %.2f +- %.2f", got, mean, 5 * sd);
    /* line rate: wire bytes over the time they took, exact to 1 ns */
    double span = (double)(r.v[r.n - 1].t - r.v[0].t);
    ck_rel(wire / span, 100.0 / 8.0, 0.001, "wire bytes per ns");
    /* footprint: two ring pages plus the buffers touched */
    ck_assert_uint_eq(distinct_pages(&r, NULL), 2 + want_bufs * 2048 / 4096);
    ck_assert_uint_eq(s.pages_4k, 2 + want_bufs * 2048 / 4096);
    /* the application touches exactly the DMA buffers, app-delay after (rx)
     * or before (tx) */
    size_t j = 0;
    for (uint64_t i = 0; i < n; i++) {
        const rec *p = &r.v[3 * i + 1];
        while (j < c.n && !(is_nic_payload(&c.v[j])))
            j++;
        ck_assert_msg(j < c.n, "CPU trace lacks packet %llu", (unsigned long long)i);
        ck_assert(c.v[j].addr == p->addr && c.v[j].size == p->size);
        ck_assert(c.v[j].op == (rx ? SCIM_OP_READ : SCIM_OP_WRITE));
        ck_assert_uint_eq(c.v[j].t, rx ? p->t + 500 : p->t - 500);
        j++;
    }
    ck_assert_uint_eq(c.n, 3 * n); /* plus completion read and descriptor write per packet */
    free(r.v);
    free(c.v);
}

START_TEST(nic_rx_statistics)
{
    /* IMIX 7:4:1 over 64/576/1500 */
    double m = (64.0 * 7 + 576.0 * 4 + 1500.0) / 12, m2 = (64.0 * 64 * 7 + 576.0 * 576 * 4 + 1500.0 * 1500) / 12;
    check_nic(true, "64:7,576:4,1500:1", m, m2 - m * m, "fifo", 2048);
}
END_TEST

START_TEST(nic_tx_statistics)
{
    double m = 64 * 0.3 + 576 * 0.2 + 1500 * 0.5, m2 = 64.0 * 64 * 0.3 + 576.0 * 576 * 0.2 + 1500.0 * 1500 * 0.5;
    check_nic(false, "64:0.3,576:0.2,1500:0.5", m, m2 - m * m, "fifo", 2048);
}
END_TEST

START_TEST(nic_lifo_recycling)
{
    double m = 1000;
    check_nic(true, "1000", m, 0, "lifo", 256); /* a size alone: fixed size */
}
END_TEST

/* ------------------------------------------------------------------------ */
/* storage                                                                   */

static uint64_t g_bs;
static bool is_data(const rec *r) { return r->size == g_bs; }

/* Data throughput of a closed loop of qd I/Os over one link. */
static void check_storage_rate(const char *rf, uint64_t qd, uint64_t bs, double bw, double lat_ns)
{
    char o1[32], o2[32], o3[32], o4[32], o5[32];
    snprintf(o1, sizeof o1, "read-fraction=%s", rf);
    snprintf(o2, sizeof o2, "queue-depth=%llu", (unsigned long long)qd);
    snprintf(o3, sizeof o3, "block-size=%llu", (unsigned long long)bs);
    snprintf(o4, sizeof o4, "bandwidth=%g", bw);
    snprintf(o5, sizeof o5, "latency=%gns", lat_ns);
    GEN("storage", "s.bin", NULL, "count=4000", o1, o2, o3, o4, o5, "file-size=256MiB");
    recs r = load("s.bin");
    ck_assert_uint_eq(r.n, 3 * 4000);
    uint64_t first = UINT64_MAX, last = 0, bytes = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].size == bs) {
            first = first < r.v[i].t ? first : r.v[i].t;
            last = r.v[i].t;
            bytes += bs;
        }
    double want = fmin(bw, (double)qd * (double)bs / (lat_ns + (double)bs / bw));
    /* transfers start at `first` and the last ends bs/bw after `last` */
    ck_rel((double)bytes / ((double)(last - first) + (double)bs / bw), want, 0.02, "storage bytes per ns");
    free(r.v);
}

START_TEST(storage_throughput)
{
    check_storage_rate("1", 8, 4096, 3.5, 80000);   /* latency-bound reads */
    check_storage_rate("0", 8, 4096, 3.5, 80000);   /* latency-bound writes */
    check_storage_rate("0.5", 64, 65536, 2, 10000); /* bandwidth-bound, mixed */
    check_storage_rate("1", 2, 65536, 8, 20000);    /* latency-bound, transfers queue behind each other */
    check_storage_rate("0.7", 4, 131072, 8, 5000);  /* bandwidth-bound, mixed */
}
END_TEST

START_TEST(storage_mix_footprint_and_cpu)
{
    const uint64_t n = 20000, bs = 4096, blocks = 4096; /* 16 MiB file */
    g_bs = bs;
    GEN("storage", "r.bin", "rc.bin", "count=20000", "read-fraction=0.7", "file-size=16MiB", "pattern=rand");
    recs r = load("r.bin"), c = load("rc.bin");
    uint64_t reads = 0, writes = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].size == bs) {
            /* a read I/O writes memory */
            reads += r.v[i].op == SCIM_OP_WRITE;
            writes += r.v[i].op == SCIM_OP_READ;
            ck_assert(r.v[i].addr >= BASE + (1 << 20) && r.v[i].addr + bs <= BASE + (1 << 20) + 16 * (1 << 20));
        }
    ck_assert_uint_eq(reads + writes, n);
    ck_share((double)reads / (double)n, 0.7, (double)n, "read fraction");
    double want = (double)blocks * (1.0 - pow(1.0 - 1.0 / (double)blocks, (double)n));
    ck_rel((double)distinct_pages(&r, is_data), want, 0.02, "random footprint");
    /* CPU: each read's block is read app-delay after the device wrote it,
     * each write's block written app-delay before the device read it */
    size_t ri = 0, wi = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].size != bs)
            continue;
        bool rd = r.v[i].op == SCIM_OP_WRITE;
        size_t *k = rd ? &ri : &wi;
        while (*k < c.n && c.v[*k].op != (rd ? SCIM_OP_READ : SCIM_OP_WRITE))
            (*k)++;
        ck_assert(*k < c.n);
        ck_assert(c.v[*k].addr == r.v[i].addr && c.v[*k].size == bs);
        if (rd)
            ck_assert(c.v[*k].t >= r.v[i].t + 500);
        else
            ck_assert(c.v[*k].t + 500 <= r.v[i].t);
        (*k)++;
    }
    ck_assert_uint_eq(c.n, n);
    free(r.v);
    free(c.v);

    /* sequential: each block once until the file wraps */
    GEN("storage", "q.bin", NULL, "count=3000", "file-size=16MiB", "pattern=seq");
    r = load("q.bin");
    ck_assert_uint_eq(distinct_pages(&r, is_data), 3000);
    free(r.v);
    GEN("storage", "q.bin", NULL, "count=5000", "file-size=16MiB", "pattern=seq");
    r = load("q.bin");
    ck_assert_uint_eq(distinct_pages(&r, is_data), blocks);
    free(r.v);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* kv                                                                        */

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

static void check_zipf(double theta, const char *placement, uint64_t n_ops)
{
    const uint64_t objs = 4096, osz = 1024;
    char t[32], pl[32], c[32];
    snprintf(t, sizeof t, "zipf=%g", theta);
    snprintf(pl, sizeof pl, "placement=%s", placement);
    snprintf(c, sizeof c, "count=%llu", (unsigned long long)n_ops);
    GEN("kv", "k.bin", NULL, c, "region=4MiB", "object-size=1KiB", t, pl);
    recs r = load("k.bin");
    ck_assert_uint_eq(r.n, n_ops);
    uint64_t *cnt = calloc(objs, sizeof *cnt), gets = 0;
    for (size_t i = 0; i < r.n; i++) {
        ck_assert(r.v[i].size == osz && (r.v[i].addr - BASE) % osz == 0 && r.v[i].addr - BASE < objs * osz);
        cnt[(r.v[i].addr - BASE) / osz]++;
        gets += r.v[i].op == SCIM_OP_READ;
    }
    ck_share((double)gets / (double)n_ops, 0.95, (double)n_ops, "get fraction");
    double h = 0;
    for (uint64_t k = objs; k >= 1; k--)
        h += pow((double)k, -theta);
    if (!strcmp(placement, "rank")) {
        /* slot r - 1 holds rank r: every one of the top ranks */
        for (uint64_t k = 1; k <= 20; k++)
            ck_share((double)cnt[k - 1] / (double)n_ops, pow((double)k, -theta) / h, (double)n_ops, "rank share");
    }
    /* whatever the placement, the most popular object has 1/H */
    qsort(cnt, objs, sizeof *cnt, cmp_desc);
    ck_share((double)cnt[0] / (double)n_ops, 1.0 / h, (double)n_ops, "top-1 share");
    free(cnt);
    free(r.v);
}

START_TEST(kv_zipf)
{
    check_zipf(0.99, "rank", 100000);
    check_zipf(0.99, "scatter", 40000);
    check_zipf(1.0, "rank", 40000); /* the sampler's series branch */
    check_zipf(0.5, "rank", 40000);
    check_zipf(1.5, "rank", 40000);
}
END_TEST

START_TEST(kv_rate_and_cpu)
{
    GEN("kv", "k.bin", "kc.bin", "count=20000", "region=4MiB", "object-size=2KiB", "rate=40", "framing=64",
        "get-fraction=0.5");
    recs r = load("k.bin"), c = load("kc.bin");
    double span = (double)(r.v[r.n - 1].t - r.v[0].t);
    ck_rel((double)(r.n - 1) * (2048 + 64) / span, 40.0 / 8.0, 0.001, "kv wire bytes per ns");
    /* the server reads every object a put wrote, app-delay later */
    size_t j = 0, puts = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].op != SCIM_OP_WRITE)
            continue;
        puts++;
        ck_assert(j < c.n && c.v[j].addr == r.v[i].addr && c.v[j].t == r.v[i].t + 500);
        j++;
    }
    ck_assert_uint_eq(c.n, puts);
    ck_share((double)puts / (double)r.n, 0.5, (double)r.n, "put fraction");
    free(r.v);
    free(c.v);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* stream                                                                    */

START_TEST(stream_sweeps)
{
    /* 3 arrays of 2 MiB, 4 KiB accesses every 4 KiB, 2 passes */
    scim_tracegen_summary s =
        GEN("stream", "s.bin", "sc.bin", "arrays=3", "array-size=2MiB", "passes=2", "bandwidth=16", "cpu-bandwidth=8");
    recs r = load("s.bin"), c = load("sc.bin");
    ck_assert_uint_eq(r.n, 2 * 3 * 512);
    ck_assert_uint_eq(s.ops, r.n);
    uint64_t writes = 0;
    for (size_t i = 0; i < r.n; i++)
        writes += r.v[i].op == SCIM_OP_WRITE;
    ck_assert_uint_eq(writes, r.n / 3);
    ck_assert_uint_eq(distinct_pages(&r, NULL), 3 * 512);
    double span = (double)(r.v[r.n - 1].t - r.v[0].t);
    ck_rel((double)(r.n - 1) * 4096 / span, 16.0, 0.001, "stream bytes per ns");
    /* interleaved: a[0], b[0], c[0], a[4K] ... arrays 2 MiB apart */
    ck_assert(r.v[0].addr == BASE && r.v[1].addr == BASE + (2 << 20) && r.v[3].addr == BASE + 4096);
    /* the application writes every page before the device starts */
    ck_assert_uint_eq(c.n, 3 * 512);
    ck_assert_uint_eq(distinct_pages(&c, NULL), 3 * 512);
    for (size_t i = 0; i < c.n; i++)
        ck_assert(c.v[i].op == SCIM_OP_WRITE && c.v[i].t + 500 <= r.v[0].t);
    free(r.v);
    free(c.v);

    /* count overrides passes; order=array sweeps one array at a time; a
     * stride above 4 KiB skips pages */
    GEN("stream", "s.bin", NULL, "count=200", "array-size=1MiB", "stride=8KiB", "access=64", "order=array");
    r = load("s.bin");
    ck_assert_uint_eq(r.n, 200);
    ck_assert(r.v[127].addr == BASE + 127 * 8192 && r.v[128].addr == BASE + (2 << 20));
    ck_assert_uint_eq(distinct_pages(&r, NULL), 200);
    free(r.v);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tenants                                                                   */

START_TEST(tenants_share_and_regions)
{
    const uint32_t N = 4;
    for (int k = 0; k < 5; k++) {
        const char *const *o = small[k];
        scim_tracegen_summary s = GEN(kinds[k], "t.bin", "tc%t.bin", o[0], o[1], o[2], "tenants=4", "pasid-base=9");
        ck_assert_uint_eq(s.tenants, N);
        ck_assert(s.pasid_keys);
        recs r = load("t.bin");
        uint64_t span = s.regions[s.n_regions - 1].offset + s.regions[s.n_regions - 1].size;
        uint64_t per[4] = {0}, ops[4] = {0};
        for (size_t i = 0; i < r.n; i++) {
            ck_assert(r.v[i].has_pasid && r.v[i].pasid >= 9 && r.v[i].pasid < 9 + N);
            uint32_t t = r.v[i].pasid - 9;
            per[t]++;
            /* every access inside its own tenant's layout */
            uint64_t lo = s.base + t * s.tenant_stride;
            ck_assert_msg(r.v[i].addr >= lo && r.v[i].addr + r.v[i].size <= lo + span,
                          "%s: record %zu outside tenant %u", kinds[k], i, t);
        }
        /* records per op are the same for every tenant, so shares of
         * records are shares of operations */
        for (uint32_t t = 0; t < N; t++) {
            ops[t] = per[t] * s.ops / r.n;
            ck_share((double)ops[t] / (double)s.ops, 1.0 / N, (double)s.ops, kinds[k]);
        }
        /* one CPU trace per tenant, holding only that tenant */
        for (uint32_t t = 0; t < N; t++) {
            char name[32];
            snprintf(name, sizeof name, "tc%u.bin", t);
            recs c = load(name);
            if (k != 3) /* kv: only puts touch the CPU */
                ck_assert(c.n > 0);
            for (size_t i = 0; i < c.n; i++)
                ck_assert(c.v[i].pasid == 9 + t);
            free(c.v);
        }
        free(r.v);
    }
}
END_TEST

/* The layout --summary prints is what a config must map: a run with two
 * tenants, one core each, has no failed access. */
START_TEST(tenants_run_in_the_simulator)
{
    scim_tracegen_summary s = GEN("nic-rx", "t.trace", "c%t.trace", "count=400", "tenants=2", "entries=32",
                                  "buffers=64");
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "memory: {size: 256MiB}\n"
             "processes:\n"
             "  a: {pasid: 1, regions: [{va: 0x%llx, size: %llu}, {va: 0x%llx, size: %llu}]}\n"
             "  b: {pasid: 2, regions: [{va: 0x%llx, size: %llu}, {va: 0x%llx, size: %llu}]}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, tenants: [2]}\n"
             "sim: {check_invariants: true}\n"
             "cpus:\n  cpu0: {trace: %s, pasid: 1}\n  cpu1: {trace: %s, pasid: 2}\n",
             (unsigned long long)(s.base + s.regions[0].offset), (unsigned long long)s.regions[0].size,
             (unsigned long long)(s.base + s.regions[1].offset), (unsigned long long)s.regions[1].size,
             (unsigned long long)(s.base + s.tenant_stride + s.regions[0].offset),
             (unsigned long long)s.regions[0].size,
             (unsigned long long)(s.base + s.tenant_stride + s.regions[1].offset),
             (unsigned long long)s.regions[1].size, path_in("t.trace"), path_in("c0.trace"), path_in("c1.trace"));
    scim_sim *sim = run_yaml(yaml);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.requests"), 3 * 400);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_uint_eq((uint64_t)(stat_of(sim, "cpu0.mem.requests") + stat_of(sim, "cpu1.mem.requests")), 3 * 400);
    ck_assert_uint_eq((uint64_t)(stat_of(sim, "cpu0.mem.errors") + stat_of(sim, "cpu1.mem.errors")), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* errors                                                                    */

#define FAIL_WITH(kind, cpu, want, ...)                                                                            \
    do {                                                                                                          \
        char msg_[1024];                                                                                          \
        const char *const kv_[] = {__VA_ARGS__};                                                                  \
        ck_assert_int_lt(gen_fail(kind, cpu, kv_, sizeof kv_ / sizeof *kv_, msg_, sizeof msg_), 0);              \
        ck_assert_msg(strstr(msg_, want), "message '%s' lacks '%s'", msg_, want);                                 \
    } while (0)

START_TEST(bad_options)
{
    FAIL_WITH("nic-rx", NULL, "did you mean --entries?", "entires=4");
    FAIL_WITH("nic-rx", NULL, "--zipf is an option of kv, not of nic-rx", "zipf=1");
    FAIL_WITH("storage", NULL, "--rate is an option of nic-rx, nic-tx, kv, not of storage", "rate=1");
    FAIL_WITH("nic-rx", NULL, "exceeds --buffer-size", "sizes=9000:1");
    FAIL_WITH("nic-rx", NULL, "expected SIZE:WEIGHT", "sizes=64:x");
    FAIL_WITH("nic-rx", NULL, "less than --entries", "buffers=8");
    FAIL_WITH("storage", NULL, "out of range", "read-fraction=1.5");
    FAIL_WITH("storage", NULL, "expected one of rand|seq", "pattern=zigzag");
    FAIL_WITH("storage", NULL, "exceeds --entries", "queue-depth=2048");
    FAIL_WITH("kv", NULL, "expected a size", "region=lots");
    FAIL_WITH("kv", "c.trace", "needs %t", "tenants=2");
    FAIL_WITH("stream", NULL, "not 4 KiB aligned", "base=0x1234");
    FAIL_WITH("stream", NULL, "exceed 20 bits", "pasid-base=1048575", "tenants=2");
    char msg[1024];
    ck_assert_int_lt(gen_fail("disk", NULL, NULL, 0, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "unknown kind 'disk'"), "%s", msg);
    /* nothing written on failure */
    ck_assert_ptr_null(slurp(path_in("fail.trace"), NULL));
}
END_TEST

START_TEST(help_lists_every_option)
{
    for (int k = 0; k < 5; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_int_eq(scim_tracegen_help(kinds[k], f), 0);
        fclose(f);
        ck_assert(strstr(buf, "--count") && strstr(buf, "--seed") && strstr(buf, "--tenants") &&
                  strstr(buf, "(default "));
        free(buf);
    }
}
END_TEST

static Suite *tracegen_suite(void)
{
    Suite *s = suite_create("tracegen");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, same_seed_same_bytes);
    tcase_add_test(tc, cpu_trace_does_not_change_device_trace);
    tcase_add_test(tc, rel_and_abs_timing_same_schedule);
    tcase_add_test(tc, nic_rx_statistics);
    tcase_add_test(tc, nic_tx_statistics);
    tcase_add_test(tc, nic_lifo_recycling);
    tcase_add_test(tc, storage_throughput);
    tcase_add_test(tc, storage_mix_footprint_and_cpu);
    tcase_add_test(tc, kv_zipf);
    tcase_add_test(tc, kv_rate_and_cpu);
    tcase_add_test(tc, stream_sweeps);
    tcase_add_test(tc, tenants_share_and_regions);
    tcase_add_test(tc, tenants_run_in_the_simulator);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, help_lists_every_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(tracegen_suite()); }
