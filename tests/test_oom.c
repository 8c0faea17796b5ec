/* Host allocation failures in src/core (helpers/oom.h): configurations
 * (parse with anchors and aliases, --set, bind, dump, hash), statistics
 * (register, record, JSON, CSV, a directory), traces (every encoding
 * written, read back from file and memory, summarized) and the growable
 * containers, each with every one of its allocations failing in turn.
 * The reference is the scenario's own result without failures (the dump
 * of the configuration, the statistics' JSON, the trace's text), computed
 * in the same run. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/fifo.h"
#include "core/pool.h"
#include "core/stats.h"
#include "core/u64map.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/trace.h"
#include "helpers/testutil.h"

/* ------------------------------------------------------------------------ */
/* scenarios                                                                 */

static const char yaml[] = "# every construct of the configuration language\n"
                           "seed: 7\n"
                           "base: &b {size: 4KiB, ways: 4, list: [1, 2, 3]}\n"
                           "devices:\n"
                           "  nic0:\n"
                           "    iotlb: *b\n"
                           "    names: [a, 'b c', \"d\\te\"]\n"
                           "    empty: []\n"
                           "    none: {}\n"
                           "    nested:\n"
                           "      - {x: 1, y: [4, 5]}\n"
                           "      - - deep\n"
                           "        - deeper\n"
                           "    text: |\n"
                           "      two\n"
                           "      lines\n"
                           "    nothing: ~\n";

typedef struct bound {
    uint64_t size, ways, freq;
    bool on;
    int kind;
    const char *name;
    const scim_cfg_node *list;
} bound;

static const char *const kinds[] = {"lru", "fifo", "random", NULL};
static const scim_param_decl decls[] = {
    {"size", SCIM_P_SIZE, "4KiB", "bytes", false, 0, 0, NULL, offsetof(bound, size), "size", NULL},
    {"ways", SCIM_P_U64, "8", NULL, true, 1, 64, NULL, offsetof(bound, ways), "ways", NULL},
    {"freq", SCIM_P_FREQ, "2GHz", "Hz", false, 0, 0, NULL, offsetof(bound, freq), "clock", NULL},
    {"on", SCIM_P_BOOL, "true", NULL, false, 0, 0, NULL, offsetof(bound, on), "switch", NULL},
    {"kind", SCIM_P_ENUM, "lru", NULL, false, 0, 0, kinds, offsetof(bound, kind), "policy", NULL},
    {"name", SCIM_P_STRING, "anon", NULL, false, 0, 0, NULL, offsetof(bound, name), "name", NULL},
    {"list", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(bound, list), "a list", NULL},
};

/* Load, query, --set (new keys, sequence items, flow values), bind, dump,
 * hash. */
static int config_scenario(char *out, size_t len, scim_err *err)
{
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "oom.yaml", err);
    if (!cfg)
        return err->code;
    static const char *const sets[] = {
        "seed=9",
        "devices.nic0.iotlb.ways=8",
        "devices.nic1.iotlb={size: 2MiB, ways: 2}",
        "devices.nic0.names.1=renamed",
        "devices.nic0.nested.0.y=[6, 7, 8]",
        "os.new.deep.key=[x, {y: z}]",
        "devices.nic0.text=",
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0] && !rc; i++)
        rc = scim_cfg_set(cfg, sets[i], err);
    if (!rc)
        rc = scim_cfg_set_kv(cfg, "devices.nic2", "{iotlb: {kind: fifo}}", err);
    bound b = {0};
    if (!rc)
        rc = scim_cfg_bind(scim_cfg_get_path(scim_cfg_root(cfg), "devices.nic0.iotlb"), "devices.nic0.iotlb", decls,
                           sizeof decls / sizeof decls[0], &b, NULL, err);
    FILE *f = NULL;
    if (!rc && !(f = fmemopen(out, len, "w")))
        rc = scim_err_set(err, SCIM_EIO, "fmemopen");
    if (!rc) {
        fprintf(f, "bound: %llu %llu %llu %d %d %s %zu\nhash %016llx\n", (unsigned long long)b.size,
                (unsigned long long)b.ways, (unsigned long long)b.freq, b.on, b.kind, b.name,
                scim_cfg_node_count(b.list), (unsigned long long)scim_cfg_hash(cfg));
        rc = scim_cfg_dump(cfg, f, err);
    }
    if (f)
        fclose(f);
    scim_cfg_destroy(cfg);
    return rc;
}

typedef struct comp {
    uint64_t reads, writes;
    scim_hist *lat;
} comp;

static const scim_stat_decl stat_decls[] = {
    {"reads", SCIM_STAT_COUNTER, "count", "reads", offsetof(comp, reads)},
    {"writes", SCIM_STAT_COUNTER, "count", "writes", offsetof(comp, writes)},
    {"latency", SCIM_STAT_HIST, "ps", "latency", offsetof(comp, lat)},
};

/* Register components and one-off statistics, record, write JSON, CSV and a
 * directory. */
static int stats_scenario(char *out, size_t len, scim_err *err)
{
    scim_stats *s = scim_stats_create();
    if (!s)
        return scim_err_set(err, SCIM_ENOMEM, "no statistics registry");
    comp c[3] = {{0}};
    static const char *const names[] = {"nic0.iotlb", "nic1.iotlb", "iommu.walker"};
    int rc = 0;
    for (size_t i = 0; i < 3 && !rc; i++)
        rc = scim_stats_register(s, names[i], stat_decls, 3, &c[i], err);
    static uint64_t total = 12345;
    if (!rc)
        rc = scim_stats_add_counter(s, "sim.total", "count", "a total", &total, err);
    scim_hist *h = NULL;
    if (!rc && !(h = scim_stats_add_hist(s, "sim.gap", "ps", "gaps", err)))
        rc = err->code;
    for (uint64_t v = 1; !rc && v < 5000; v = v * 3 + 1) {
        scim_hist_record(h, v);
        for (size_t i = 0; i < 3; i++) {
            c[i].reads += v;
            scim_hist_record(c[i].lat, v * (i + 1));
        }
    }
    FILE *f = NULL;
    if (!rc && !(f = fmemopen(out, len, "w")))
        rc = scim_err_set(err, SCIM_EIO, "fmemopen");
    if (!rc)
        rc = scim_stats_write_json(s, f, err);
    if (!rc)
        rc = scim_stats_write_csv(s, f, err);
    if (f)
        fclose(f);
    if (!rc) {
        char dir[256], sub[300];
        OOM_QUIET(tmpdir_make(dir, sizeof dir));
        snprintf(sub, sizeof sub, "%s/a/b", dir);
        rc = scim_stats_write_dir(s, sub, err);
        OOM_QUIET(tmpdir_remove(dir));
    }
    scim_stats_destroy(s);
    return rc;
}

/* Records with every operation and every key, through the writer in each
 * encoding, back through the reader (file and memory), and summarized. */
static int trace_scenario(char *out, size_t len, scim_err *err)
{
    char dir[256];
    OOM_QUIET(tmpdir_make(dir, sizeof dir));
    FILE *f = fmemopen(out, len, "w");
    int rc = f ? 0 : scim_err_set(err, SCIM_EIO, "fmemopen");
    static const struct {
        const char *name;
        scim_trace_format fmt;
        bool gz;
    } enc[] = {{"t.trace", SCIM_TRACE_TEXT, false}, {"t.trace.gz", SCIM_TRACE_TEXT, true},
               {"t.bin", SCIM_TRACE_BINARY, false}, {"t.bin.gz", SCIM_TRACE_BINARY, true}};
    for (size_t e = 0; e < 4 && !rc; e++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, enc[e].name);
        scim_trace_writer *w = scim_trace_create(path, enc[e].fmt, enc[e].gz, err);
        if (!w) {
            rc = err->code;
            break;
        }
        if (enc[e].fmt == SCIM_TRACE_TEXT)
            rc = scim_trace_comment(w, "every op and key", err);
        for (int op = 0; op < SCIM_OP_COUNT_ && !rc; op++) {
            scim_trace_rec r = {0};
            r.timing = op % 2 ? SCIM_TIMING_ABS : SCIM_TIMING_REL;
            r.time_ns = 100u * (unsigned)op;
            r.op = (scim_trace_op)op;
            r.addr = 0x7f0000000000ull + 0x1000u * (unsigned)op;
            r.size = 64;
            if (op == SCIM_OP_READ || op == SCIM_OP_WRITE) {
                r.has = SCIM_TRACE_HAS_PASID | SCIM_TRACE_HAS_IO;
                r.pasid = 5;
                r.io = 77;
            } else if (op == SCIM_OP_MMAP) {
                r.has = SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_POPULATE | SCIM_TRACE_HAS_PAGESIZE;
                r.prot = SCIM_PROT_RW;
                r.populate = 1;
                r.page_shift = 21;
                r.size = 2u << 20;
                r.addr = 0x7f0000200000ull;
            } else if (op == SCIM_OP_MIGRATE) {
                r.has = SCIM_TRACE_HAS_NODE;
                r.node = 1;
            }
            rc = scim_trace_write(w, &r, err);
        }
        if (rc) {
            scim_trace_abort(w);
            break;
        }
        if ((rc = scim_trace_finish(w, err)))
            break;
        scim_trace_reader *r = scim_trace_open(path, err);
        if (!r) {
            rc = err->code;
            break;
        }
        scim_trace_rec rec;
        char line[256];
        int n;
        while ((n = scim_trace_next(r, &rec, err)) == 1) {
            scim_trace_format_rec(&rec, line, sizeof line);
            fprintf(f, "%s: %s\n", enc[e].name, line);
        }
        scim_trace_close(r);
        if (n < 0) {
            rc = n;
            break;
        }
        scim_trace_summary s;
        if ((rc = scim_trace_summarize(path, &s, err)))
            break;
        fprintf(f, "%s: %llu records, %llu pages\n", enc[e].name, (unsigned long long)s.records,
                (unsigned long long)s.pages_4k);
    }
    static const char text[] = "# scimitar trace v1\n@0 read 0x1000 64\n+5 write 0x2000 8192 pasid=3\n";
    scim_trace_reader *m = rc ? NULL : scim_trace_open_mem(text, strlen(text), "mem", err);
    if (!rc && !m)
        rc = err->code;
    if (m) {
        scim_trace_rec rec;
        int n;
        while ((n = scim_trace_next(m, &rec, err)) == 1)
            fprintf(f, "mem: %llu\n", (unsigned long long)rec.size);
        if (n < 0)
            rc = n;
        scim_trace_close(m);
    }
    if (f)
        fclose(f);
    OOM_QUIET(tmpdir_remove(dir));
    return rc;
}

/* The containers report a failed growth and keep what they held. */
static int containers_scenario(char *out, size_t len, scim_err *err)
{
    scim_u64map m;
    scim_u64map_init(&m);
    scim_fifo q;
    scim_fifo_init(&q, sizeof(uint64_t));
    scim_pool p;
    scim_pool_init(&p, 24);
    int rc = 0;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 3000 && !rc; i++) {
        uint64_t *v = scim_u64map_upsert(&m, i * 4099, i);
        if (!v || !scim_fifo_push(&q, &i) || scim_pool_alloc(&p) == SCIM_POOL_NONE)
            rc = scim_err_set(err, SCIM_ENOMEM, "container growth failed at %llu", (unsigned long long)i);
        /* what was there before a failure is still there */
        if (rc && i && (!scim_u64map_get(&m, (i - 1) * 4099) || scim_fifo_len(&q) < i))
            rc = scim_err_set(err, SCIM_EINVARIANT, "contents lost after a failed growth");
    }
    for (uint64_t i = 0; !rc && i < 3000; i += 2)
        scim_u64map_remove(&m, i * 4099);
    uint64_t x;
    while (!rc && scim_fifo_pop(&q, &x))
        sum += x;
    if (!rc)
        snprintf(out, len, "%zu %llu %u", (size_t)m.len, (unsigned long long)sum, scim_pool_len(&p));
    scim_u64map_free(&m);
    scim_fifo_free(&q);
    scim_pool_free(&p);
    return rc;
}

START_TEST(config_under_allocation_failures) { exhaust("configuration", config_scenario); }
END_TEST

START_TEST(stats_under_allocation_failures) { exhaust("statistics", stats_scenario); }
END_TEST

START_TEST(traces_under_allocation_failures) { exhaust("traces", trace_scenario); }
END_TEST

START_TEST(containers_under_allocation_failures) { exhaust("containers", containers_scenario); }
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, config_under_allocation_failures);
    tcase_add_test(tc, stats_under_allocation_failures);
    tcase_add_test(tc, traces_under_allocation_failures);
    tcase_add_test(tc, containers_under_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_suite()); }

