/* Locality analysis (workload/locality.h) against brute-force references.
 *
 * Random lackey logs are written here together with the list of events
 * they hold, imported (workload/import.h), and analysed twice: from the log
 * itself and from the imported CPU and device traces. Both must equal what
 * a direct scan of the event list gives: I/O pages, distinct pages,
 * presence, recency in every window, seen, sequential runs, and every
 * reuse distance (distinct pages between two uses, counted by scanning the
 * page stream). The lackey clock is varied (ipns below and above 1, the
 * shortest and a long system call), so CPU accesses and I/O share
 * nanoseconds in the traces: the traces must still keep the log's order.
 *
 * Curves: the one-pass LRU curve equals an LRU list simulated at every size
 * from 1 to distinct + 1; each set-associative curve equals scimitar's own
 * TLB (mmu/tlb.h, LRU, sets x ways) at every size it reports; and the
 * simulator's device IOTLB (the exact path: lookups, ATS requests, fills),
 * fed a trace with one chunk in flight, misses exactly as the curves say.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "mmu/tlb.h"
#include "workload/import.h"
#include "workload/locality.h"

#define PAGE 4096ull

/* ------------------------------------------------------------------------ */
/* random logs and their events                                              */

typedef struct ev {
    bool io, dev_writes;
    uint64_t addr, size;
} ev;

typedef struct evs {
    ev *v;
    size_t n, cap;
    uint64_t vectored, zero_len, unknown;
} evs;

static void push(evs *e, ev x)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
        ck_assert_ptr_nonnull(e->v);
    }
    e->v[e->n++] = x;
}

/* An address in one of two areas (48 pages low, 8 pages high). */
static uint64_t rand_addr(uint64_t *s)
{
    uint64_t base = rnd(s, 8) ? 0x10000000ull : 0x7ff000000000ull;
    uint64_t pages = base == 0x10000000ull ? 48 : 8;
    return base + rnd(s, pages) * PAGE + rnd(s, PAGE);
}

static const char *const io_calls[][2] = {{"read", "0"},      {"write", "1"},   {"pread64", "17"},
                                          {"pwrite64", "18"}, {"recvfrom", "45"}, {"sendto", "44"}};

/* About n lines of a lackey log, with their events in *e. */
static void gen_log(const char *path, uint64_t seed, size_t n, evs *e)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    uint64_t s = seed;
    fprintf(f, "==1== Lackey, an example Valgrind tool\n==1== Command: ./random\n==1== \n");
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd(&s, 100), addr = rand_addr(&s);
        if (r < 40) {
            fprintf(f, "I  %08llx,%llu\n", (unsigned long long)(0x4000000 + rnd(&s, 1 << 20)),
                    (unsigned long long)(1 + rnd(&s, 15)));
        } else if (r < 80) {
            static const char kinds[] = "LSM";
            uint64_t size = 1ull << rnd(&s, 6);
            fprintf(f, " %c %08llx,%llu\n", kinds[rnd(&s, 3)], (unsigned long long)addr, (unsigned long long)size);
            push(e, (ev){false, false, addr, size});
        } else if (r < 87) {
            size_t c = (size_t)rnd(&s, 6);
            uint64_t len = 1 + rnd(&s, 3 * PAGE);
            const char *extra = c >= 4 ? ", 0, 0x0, 0" : c >= 2 ? ", 4096" : "";
            bool sync = rnd(&s, 2);
            fprintf(f, "SYSCALL[1,1](%s) sys_%s ( 3, 0x%llx, %llu%s )%s\n", io_calls[c][1], io_calls[c][0],
                    (unsigned long long)addr, (unsigned long long)len, extra,
                    sync ? "[sync] --> Success(0x1)" : " --> [async] ... ");
            if (!sync)
                fprintf(f, "SYSCALL[1,1](%s) ... [async] --> Success(0x%llx) \n", io_calls[c][1],
                        (unsigned long long)len);
            push(e, (ev){true, c % 2 == 0, addr, len});
        } else if (r < 89) {
            fprintf(f, "SYSCALL[1,1](19) sys_readv ( 3, 0x%llx, 2 ) --> [async] ... \n", (unsigned long long)addr);
            e->vectored++;
        } else if (r < 90) {
            fprintf(f, "SYSCALL[1,1](0) sys_read ( 3, 0x%llx, 0 )[sync] --> Success(0x0)\n", (unsigned long long)addr);
            e->zero_len++;
        } else if (r < 94) {
            fprintf(f, "SYSCALL[1,1](3) sys_close ( 3 )[sync] --> Success(0x0) \n");
        } else if (r < 96) {
            fprintf(f, "output of the program %llu\n", (unsigned long long)i);
            e->unknown++;
        } else {
            fprintf(f, "==1== a message\n");
        }
    }
    fprintf(f, "==1== \n==1== Exit code:       0\n");
    ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------------ */
/* brute-force reference                                                     */

typedef struct ref {
    uint64_t cpu, io_ops, io_pages, distinct, present, seen, recent[SCIM_LOC_MAX_WINDOWS], seq_runs, longest;
    uint64_t *stream, *dist; /* dist: UINT64_MAX for a cold entry */
    size_t n;
} ref;

static bool touches(const ev *x, uint64_t page)
{
    return page >= x->addr / PAGE && page <= (x->addr + x->size - 1) / PAGE;
}

static void reference(const evs *e, const scim_loc_params *p, ref *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = 1024;
    r->stream = malloc(cap * sizeof *r->stream);
    uint64_t run = 0, prev_last = 0;
    for (size_t i = 0; i < e->n; i++) {
        const ev *x = &e->v[i];
        if (!x->io) {
            r->cpu++;
            continue;
        }
        uint64_t first = x->addr / PAGE, last = (x->addr + x->size - 1) / PAGE;
        for (uint64_t pg = first; pg <= last; pg++) {
            uint64_t k = 0;
            bool found = false, io_before = false;
            for (size_t j = i; j-- > 0;) {
                if (e->v[j].io) {
                    io_before |= touches(&e->v[j], pg);
                    continue;
                }
                k++;
                if (touches(&e->v[j], pg)) {
                    found = true;
                    break;
                }
            }
            for (size_t j = 0; j < i && !io_before; j++)
                io_before = e->v[j].io && touches(&e->v[j], pg);
            r->present += found;
            r->seen += found || io_before;
            for (size_t w = 0; w < p->n_windows; w++)
                r->recent[w] += found && k <= p->windows[w];
            if (r->n == cap)
                r->stream = realloc(r->stream, (cap *= 2) * sizeof *r->stream);
            r->stream[r->n++] = pg;
        }
        run = r->io_ops && (first == prev_last || first == prev_last + 1) ? run + 1 : 1;
        r->seq_runs += run == 1;
        r->longest = run > r->longest ? run : r->longest;
        prev_last = last;
        r->io_ops++;
        r->io_pages += last - first + 1;
    }
    r->dist = malloc((r->n ? r->n : 1) * sizeof *r->dist);
    for (size_t i = 0; i < r->n; i++) {
        size_t j = i;
        while (j-- > 0 && r->stream[j] != r->stream[i])
            ;
        if (j == (size_t)-1) {
            r->dist[i] = UINT64_MAX;
            r->distinct++;
            continue;
        }
        uint64_t d = 0; /* distinct pages strictly between j and i */
        for (size_t k = j + 1; k < i; k++) {
            size_t m = j + 1;
            while (m < k && r->stream[m] != r->stream[k])
                m++;
            d += m == k;
        }
        r->dist[i] = d;
    }
}

static void ref_free(ref *r)
{
    free(r->stream);
    free(r->dist);
}

static void check_against(const scim_loc_result *a, const ref *r, const scim_loc_params *p, const char *what)
{
    ck_assert_msg(a->cpu_accesses == r->cpu, "%s: cpu accesses %llu, reference %llu", what,
                  (unsigned long long)a->cpu_accesses, (unsigned long long)r->cpu);
    ck_assert_msg(a->io_ops == r->io_ops && a->io_pages == r->io_pages && a->distinct_pages == r->distinct,
                  "%s: ops/pages/distinct %llu/%llu/%llu, reference %llu/%llu/%llu", what,
                  (unsigned long long)a->io_ops, (unsigned long long)a->io_pages,
                  (unsigned long long)a->distinct_pages, (unsigned long long)r->io_ops,
                  (unsigned long long)r->io_pages, (unsigned long long)r->distinct);
    ck_assert_msg(a->present == r->present, "%s: present %llu, reference %llu", what, (unsigned long long)a->present,
                  (unsigned long long)r->present);
    ck_assert_msg(a->seen == r->seen, "%s: seen %llu, reference %llu", what, (unsigned long long)a->seen,
                  (unsigned long long)r->seen);
    for (size_t w = 0; w < p->n_windows; w++)
        ck_assert_msg(a->recent[w] == r->recent[w], "%s: recent_%llu %llu, reference %llu", what,
                      (unsigned long long)p->windows[w], (unsigned long long)a->recent[w],
                      (unsigned long long)r->recent[w]);
    ck_assert_msg(a->seq_runs == r->seq_runs && a->longest_run == r->longest, "%s: runs %llu/%llu, reference %llu/%llu",
                  what, (unsigned long long)a->seq_runs, (unsigned long long)a->longest_run,
                  (unsigned long long)r->seq_runs, (unsigned long long)r->longest);
    /* every distance: the histogram by exact distance, and the bins */
    uint64_t *h = calloc(r->distinct + 1, sizeof *h), cold = 0, bins[SCIM_LOC_REUSE_BINS] = {0};
    for (size_t i = 0; i < r->n; i++) {
        if (r->dist[i] == UINT64_MAX) {
            cold++;
            continue;
        }
        h[r->dist[i]]++;
        unsigned b = 0;
        for (uint64_t d = r->dist[i]; d; d >>= 1)
            b++;
        bins[b]++;
    }
    bins[SCIM_LOC_REUSE_BINS - 1] = cold;
    for (size_t d = 0; d < r->distinct; d++)
        ck_assert_msg(a->stack_hist[d] == h[d], "%s: %llu entries at distance %zu, reference %llu", what,
                      (unsigned long long)a->stack_hist[d], d, (unsigned long long)h[d]);
    for (size_t b = 0; b < SCIM_LOC_REUSE_BINS; b++)
        ck_assert_msg(a->reuse[b] == bins[b], "%s: reuse bin %zu", what, b);
    free(h);
}

/* ------------------------------------------------------------------------ */
/* random logs: log, traces and reference agree                             */

static const struct {
    uint64_t seed;
    double ipns;
    uint64_t syscall_ns;
} log_cases[] = {{1, 2.0, 1000}, {2, 0.5, 1}, {3, 3.0, 1}, {4, 1.0, 7}, {5, 8.0, 1}};

START_TEST(random_logs)
{
    char dir[256], log[512], prefix[512], dev[600], cpu[600];
    tmpdir_make(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/lackey.log", dir);
    snprintf(prefix, sizeof prefix, "%s/imp", dir);
    snprintf(dev, sizeof dev, "%s.dev.trace.gz", prefix);
    snprintf(cpu, sizeof cpu, "%s.cpu.trace.gz", prefix);
    evs e = {0};
    gen_log(log, log_cases[_i].seed, 6000, &e);
    scim_import_opts o;
    scim_import_opts_default(&o);
    o.ipns = log_cases[_i].ipns;
    o.syscall_ns = log_cases[_i].syscall_ns;
    o.text = _i % 2;
    scim_loc_params p = {.windows = {1, 3, 20, 200, 2000}, .n_windows = 5, .ways = {2, 4}, .n_ways = 2};
    scim_err err = {0};
    scim_import_result ir;
    ck_assert_msg(scim_import_write(SCIM_IMPORT_LACKEY, log, prefix, &o, &ir, &err) == 0, "import: %s", err.msg);
    scim_loc_result a, b;
    scim_import_counts c;
    ck_assert_msg(scim_loc_from_log(SCIM_IMPORT_LACKEY, log, &o, &p, &a, &c, &err) == 0, "log: %s", err.msg);
    ck_assert_msg(scim_loc_from_traces(dev, cpu, &p, &b, &err) == 0, "traces: %s", err.msg);
    ref r;
    reference(&e, &p, &r);
    ck_assert_uint_gt(r.io_ops, 100);
    ck_assert_uint_gt(r.present, 0);
    ck_assert_uint_lt(r.recent[1], r.present); /* the windows discriminate */
    check_against(&a, &r, &p, "from the log");
    check_against(&b, &r, &p, "from the traces");
    ck_assert_uint_eq(c.io_calls, r.io_ops);
    ck_assert_uint_eq(ir.counts.io_calls, r.io_ops);
    ck_assert_uint_eq(c.vectored, e.vectored);
    ck_assert_uint_eq(c.zero_len, e.zero_len);
    ck_assert_uint_eq(c.unknown, e.unknown);
    ck_assert_uint_eq(c.loads + c.stores + c.modifies, r.cpu);
    /* and the two analyses print the same JSON */
    char *ja = NULL, *jb = NULL;
    size_t la, lb;
    FILE *fa = open_memstream(&ja, &la), *fb = open_memstream(&jb, &lb);
    ck_assert_int_eq(scim_loc_write_json(&a, fa), 0);
    ck_assert_int_eq(scim_loc_write_json(&b, fb), 0);
    fclose(fa);
    fclose(fb);
    ck_assert_str_eq(ja, jb);
    free(ja);
    free(jb);
    scim_loc_result_free(&a);
    scim_loc_result_free(&b);
    ref_free(&r);
    free(e.v);
    tmpdir_remove(dir);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* page streams: the curves                                                  */

enum { N_STREAM = 2500 };

/* Stream kind k: uniform over 100 pages, skewed, a loop of 40 pages, and
 * a mix with strided pages that collide in small sets. */
static void gen_stream(int k, uint64_t seed, uint64_t *v)
{
    uint64_t s = seed;
    for (size_t i = 0; i < N_STREAM; i++) {
        switch (k) {
        case 0: v[i] = 0x10000 + rnd(&s, 100); break;
        case 1: v[i] = 0x10000 + rnd(&s, rnd(&s, 120) + 1); break;
        case 2: v[i] = 0x20000 + i % 40; break;
        default: v[i] = rnd(&s, 3) ? 0x30000 + 64 * rnd(&s, 24) : 0x40000 + rnd(&s, 60); break;
        }
    }
}

static void analyse(const uint64_t *v, size_t n, const scim_loc_params *p, scim_loc_result *r)
{
    scim_err err = {0};
    scim_loc *l = scim_loc_create(p, &err);
    ck_assert_ptr_nonnull(l);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(scim_loc_io(l, v[i] * PAGE + 8, 64, true, &err), 0);
    ck_assert_int_eq(scim_loc_finish(l, false, r, &err), 0);
    scim_loc_destroy(l);
}

START_TEST(lru_curve_every_size)
{
    uint64_t v[N_STREAM], list[512];
    gen_stream(_i, 100 + (uint64_t)_i, v);
    scim_loc_params p;
    scim_loc_params_default(&p);
    scim_loc_result r;
    analyse(v, N_STREAM, &p, &r);
    ck_assert_uint_le(r.distinct_pages, 500);
    for (uint64_t size = 1; size <= r.distinct_pages + 1; size++) {
        size_t n = 0;
        uint64_t misses = 0;
        for (size_t i = 0; i < N_STREAM; i++) {
            size_t k = 0;
            while (k < n && list[k] != v[i])
                k++;
            if (k == n) {
                misses++;
                if (n < size)
                    n++;
                k = n - 1;
            }
            memmove(list + 1, list, k * sizeof *list);
            list[0] = v[i];
        }
        CHECK(scim_loc_lru_misses(&r, size) == misses, "stream %d, %llu pages: %llu misses, LRU list %llu", _i,
              (unsigned long long)size, (unsigned long long)scim_loc_lru_misses(&r, size),
              (unsigned long long)misses);
    }
    scim_loc_result_free(&r);
}
END_TEST

static uint64_t tlb_misses(const uint64_t *v, size_t n, uint64_t sets, uint64_t ways)
{
    scim_err err = {0};
    scim_tlb_params tp = {.entries = sets * ways, .ways = ways, .repl = SCIM_REPL_LRU, .page_sizes = SCIM_PAGE_4K};
    scim_tlb *t = scim_tlb_create(&tp, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        if (scim_tlb_lookup(t, 1, v[i] * PAGE, NULL) == 1)
            continue;
        scim_tlb_entry e = {.pasid = 1, .page_shift = 12, .perms = 3, .vpn = v[i], .pfn = v[i]};
        scim_tlb_insert(t, &e, NULL);
    }
    uint64_t m = scim_tlb_counters(t)->misses;
    scim_tlb_destroy(t);
    return m;
}

START_TEST(set_assoc_equals_tlb)
{
    uint64_t v[N_STREAM];
    gen_stream(_i, 200 + (uint64_t)_i, v);
    scim_loc_params p = {.n_windows = 0, .ways = {1, 2, 4, 8, 16}, .n_ways = 5};
    scim_loc_result r;
    analyse(v, N_STREAM, &p, &r);
    ck_assert_uint_eq(r.n_curves, 5);
    for (size_t c = 0; c < r.n_curves; c++) {
        const scim_loc_curve *cv = &r.curves[c];
        ck_assert_uint_ge(cv->sets[cv->n - 1] * cv->ways, 2 * r.distinct_pages);
        for (size_t s = 0; s < cv->n; s++) {
            uint64_t m = tlb_misses(v, N_STREAM, cv->sets[s], cv->ways);
            ck_assert_msg(cv->misses[s] == m, "stream %d, %llu sets x %llu ways: curve %llu, TLB %llu", _i,
                          (unsigned long long)cv->sets[s], (unsigned long long)cv->ways,
                          (unsigned long long)cv->misses[s], (unsigned long long)m);
        }
        /* one set of W ways is the fully associative cache of W pages */
        ck_assert_uint_eq(cv->misses[0], scim_loc_lru_misses(&r, cv->ways));
    }
    scim_loc_result_free(&r);
}
END_TEST

/* The simulator's device IOTLB, one chunk in flight (each lookup sees the
 * previous fill), every page populated: its misses are the curve's. */
START_TEST(iotlb_exact_path)
{
    static const struct {
        uint64_t entries, ways;
    } shapes[] = {{16, 16}, {32, 4}, {64, 8}, {8, 1}};
    uint64_t v[1200];
    uint64_t s = 7;
    for (size_t i = 0; i < 1200; i++)
        v[i] = 0x10000 + (rnd(&s, 4) ? rnd(&s, 30) : rnd(&s, 200));
    char dir[256], path[512], *trace = malloc(1200 * 48);
    size_t len = 0;
    for (size_t i = 0; i < 1200; i++)
        len += (size_t)sprintf(trace + len, "+10 read 0x%llx 64\n", (unsigned long long)(v[i] * PAGE + 128));
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace", trace, path, sizeof path);
    free(trace);
    scim_loc_params p = {.n_windows = 0, .ways = {16, 4, 8, 1}, .n_ways = 4};
    scim_loc_result r;
    analyse(v, 1200, &p, &r);
    for (size_t k = 0; k < 4; k++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "scheme: scimitar\nkernel: {backend: native}\n"
                 "processes:\n  app:\n    pasid: 1\n    regions:\n"
                 "      - {va: 0x10000000, size: 1MiB, populate: true}\n"
                 "devices:\n  dev0: {trace: %s, pasid: 1, max_outstanding: 1,\n"
                 "         iotlb: {entries: %llu, ways: %llu, page_sizes: 4K}}\n",
                 path, (unsigned long long)shapes[k].entries, (unsigned long long)shapes[k].ways);
        scim_sim *sim = run_yaml(yaml);
        const scim_loc_curve *c = &r.curves[k];
        uint64_t sets = shapes[k].entries / shapes[k].ways, want = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->sets[i] == sets)
                want = c->misses[i];
        ck_assert_uint_gt(want, 0);
        ck_assert_double_eq(stat_of(sim, "dev0.iotlb.misses"), (double)want);
        if (shapes[k].entries == shapes[k].ways)
            ck_assert_uint_eq(want, scim_loc_lru_misses(&r, shapes[k].entries));
        scim_sim_destroy(sim);
    }
    scim_loc_result_free(&r);
    tmpdir_remove(dir);
}
END_TEST

/* Windows and ways out of range are errors; an empty input has no curves. */
START_TEST(params_and_empty)
{
    scim_err err = {0};
    scim_loc_params p = {.windows = {0}, .n_windows = 1};
    ck_assert_ptr_null(scim_loc_create(&p, &err));
    ck_assert(strstr(err.msg, "window") != NULL);
    scim_loc *l = scim_loc_create(NULL, &err);
    scim_loc_result r;
    ck_assert_int_eq(scim_loc_finish(l, true, &r, &err), 0);
    ck_assert_uint_eq(r.io_ops, 0);
    ck_assert_uint_eq(r.n_curves, 0);
    char *j = NULL;
    size_t n;
    FILE *f = open_memstream(&j, &n);
    ck_assert_int_eq(scim_loc_write_json(&r, f), 0);
    fclose(f);
    ck_assert(strstr(j, "\"present\": 0.000000") != NULL);
    free(j);
    scim_loc_result_free(&r);
    scim_loc_destroy(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("locality");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_logs, 0, (int)(sizeof log_cases / sizeof log_cases[0]));
    tcase_add_loop_test(tc, lru_curve_every_size, 0, 4);
    tcase_add_loop_test(tc, set_assoc_equals_tlb, 0, 4);
    tcase_add_test(tc, iotlb_exact_path);
    tcase_add_test(tc, params_and_empty);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
