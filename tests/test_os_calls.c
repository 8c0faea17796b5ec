/* OS operations a program makes (scim_sim_os_call) and what they do to the
 * model, and the simulation's life cycle errors (each with its message):
 *
 *   - pin faults in the pages of a region that are not mapped yet (the
 *     page table then holds them), migrate leaves a pinned page in place
 *     and moves it after its last unpin; munmap of a pinned page succeeds
 *     (as in Linux) and its frame stays in transit while pinned; pin is
 *     all or nothing: a range that runs out of its region is refused and
 *     keeps no pin, and pin maps missing 4 KiB pages only;
 *   - mmap with prot=R: a device's read works, its write fails; mprotect
 *     to RW makes the write work; mmap of a 2 MiB page maps a 2 MiB-aligned
 *     frame for the whole page;
 *   - munmap of part of a 2 MiB page is refused; mprotect to none makes a
 *     device's read fail until prot=r; mmap(populate) beyond the simulated
 *     memory ends the run with SCIM_ENOMEM and what to raise, as do a
 *     forced reclaim beyond os.swap.size and memory pressure without swap;
 *   - several calls in flight answered each with its tag and status;
 *   - OS calls before build, after finish, with a bad prot;
 *   - load twice, --set after build, and run, finish, check, write and
 *     dump before build; a run after finish; the configuration written to
 *     a directory that does not exist; the progress hook is called while
 *     the kernel runs, with the simulated time never going back; a trace
 *     path with a quote survives config.yaml (same statistics reloaded).
 * The safety checker runs in every simulation here. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "scimitar/host.h"

#define HOT 0x10000000ull  /* populated region */
#define COLD 0x10200000ull /* region of 2 MiB, not populated */
#define END_COLD 0x10400000ull
#define PAGE 4096ull
#define MIB2 (2ull << 20)

static const char *const YAML =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "memory: {size: 256MiB}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 2MiB, populate: true}\n"
    "      - {va: 0x10200000, size: 2MiB}\n"
    "devices:\n"
    "  nic0: {source: host, pasid: 1}\n";

typedef struct answers {
    size_t n;
    uint64_t tag[16];
    int status[16];
} answers;

static void on_os(void *ctx, uint64_t tag, int status, scim_time_t submitted, scim_time_t completed)
{
    answers *a = ctx;
    CHECK(completed >= submitted, "OS call answered before it was made");
    CHECK(a->n < 16, "too many answers");
    a->tag[a->n] = tag;
    a->status[a->n++] = status;
}

typedef struct dmas {
    size_t n;
    int status[16];
} dmas;

static void on_completion(void *ctx, scim_dev *dev, const scim_dev_completion *c)
{
    (void)dev;
    dmas *d = ctx;
    CHECK(d->n < 16, "too many completions");
    d->status[d->n++] = c->status;
}

static scim_sim *build(void)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_msg(scim_sim_load_string(sim, YAML, "os_calls.yaml") == 0 && scim_sim_build(sim) == 0, "%s",
                  scim_sim_errmsg(sim));
    return sim;
}

/* One OS call, run to its answer; returns its status. */
static int call(scim_sim *sim, scim_trace_op op, uint64_t va, uint64_t len, unsigned prot)
{
    answers a = {0};
    scim_os_call c = {.op = op, .pasid = 1, .va = va, .len = len, .prot = prot, .tag = 7, .at = scim_sim_now(sim)};
    ck_assert_msg(scim_sim_os_call(sim, &c, on_os, &a) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_uint_eq(a.n, 1);
    ck_assert_uint_eq(a.tag[0], 7);
    return a.status[0];
}

static bool mapped(scim_sim *sim, uint64_t va, uint64_t *pa)
{
    uint64_t x;
    return scim_sim_resolve(sim, 1, va, pa ? pa : &x) == 1;
}

static double st(scim_sim *sim, const char *name) { return stat_of(sim, name); }

START_TEST(pin_faults_in_and_blocks_munmap)
{
    scim_sim *sim = build();
    scim_frame_counts f0, f1, f2;
    ck_assert_int_eq(scim_sim_frames(sim, &f0), 0);
    ck_assert(!mapped(sim, COLD, NULL));
    ck_assert(!mapped(sim, COLD + PAGE, NULL));
    /* two pages not mapped yet: pin maps them (2 data frames) */
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, COLD, 2 * PAGE, 0), SCIM_OK);
    uint64_t pa0, pa1;
    ck_assert(mapped(sim, COLD, &pa0));
    ck_assert(mapped(sim, COLD + PAGE, &pa1));
    ck_assert_uint_ne(pa0 & ~(PAGE - 1), pa1 & ~(PAGE - 1));
    ck_assert_int_eq(scim_sim_frames(sim, &f1), 0);
    ck_assert_uint_eq(f1.data, f0.data + 2);
    /* pinned: migrate leaves the frames where they are */
    ck_assert_int_eq(call(sim, SCIM_OP_MIGRATE, COLD, 2 * PAGE, 0), SCIM_OK);
    uint64_t pa;
    ck_assert(mapped(sim, COLD, &pa));
    ck_assert_uint_eq(pa, pa0);
    /* unpin a range with pages never mapped: those are skipped */
    ck_assert_int_eq(call(sim, SCIM_OP_UNPIN, COLD, 4 * PAGE, 0), SCIM_OK);
    ck_assert(!mapped(sim, COLD + 2 * PAGE, NULL));
    /* unpinned: migrate moves them, munmap frees them */
    ck_assert_int_eq(call(sim, SCIM_OP_MIGRATE, COLD, PAGE, 0), SCIM_OK);
    ck_assert(mapped(sim, COLD, &pa));
    ck_assert_uint_ne(pa, pa0);
    ck_assert_int_eq(call(sim, SCIM_OP_MUNMAP, COLD, 2 * PAGE, 0), SCIM_OK);
    ck_assert(!mapped(sim, COLD, NULL));
    ck_assert_int_eq(scim_sim_frames(sim, &f2), 0);
    ck_assert_uint_eq(f2.data, f0.data);
    ck_assert_uint_eq(f2.transit, f0.transit);
    /* munmap of a pinned page succeeds (as in Linux): the mapping goes,
     * the frame stays in transit while the pin holds it */
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, HOT, PAGE, 0), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MUNMAP, HOT, PAGE, 0), SCIM_OK);
    ck_assert(!mapped(sim, HOT, NULL));
    ck_assert_int_eq(scim_sim_frames(sim, &f2), 0);
    ck_assert_uint_eq(f2.data, f0.data - 1);
    ck_assert_uint_eq(f2.transit, f0.transit + 1);
    ck_assert_uint_eq(f2.free + f2.data + f2.page_tables + f2.pasid_table + f2.deferred + f2.transit + f2.reserved,
                      f2.total);
    /* unpin by the same address finds the frame the pin took although
     * the page is gone (Linux unpins the pages pin_user_pages returned):
     * the frame leaves transit and is free */
    ck_assert_int_eq(call(sim, SCIM_OP_UNPIN, HOT, PAGE, 0), SCIM_OK);
    scim_frame_counts f3;
    ck_assert_int_eq(scim_sim_frames(sim, &f3), 0);
    ck_assert_uint_eq(f3.transit, f0.transit);
    ck_assert_uint_eq(f3.free, f2.free + 1);
    ck_assert_uint_eq(f3.data, f2.data);
    ck_assert(st(sim, "os.ops.pin") == 2);
    ck_assert(st(sim, "os.ops.unpin") == 2);
    ck_assert(st(sim, "os.ops.migrate") == 2);
    ck_assert(st(sim, "os.ops.munmap") == 2);
    ck_assert(st(sim, "os.ops.errors") == 0);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(pin_is_all_or_nothing)
{
    scim_sim *sim = build();
    /* the last page of the cold region and the page after it (no region) */
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, END_COLD - PAGE, 2 * PAGE, 0), SCIM_EINVAL);
    ck_assert(st(sim, "os.ops.errors") == 1);
    /* the first page was faulted in on the way, but keeps no pin: munmap works */
    ck_assert(mapped(sim, END_COLD - PAGE, NULL));
    ck_assert_int_eq(call(sim, SCIM_OP_MUNMAP, END_COLD - PAGE, PAGE, 0), SCIM_OK);
    ck_assert(!mapped(sim, END_COLD - PAGE, NULL));
    /* a populated page pinned twice needs two unpins */
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, HOT, PAGE, 0), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, HOT, PAGE, 0), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_UNPIN, HOT, PAGE, 0), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MIGRATE, HOT, PAGE, 0), SCIM_OK);
    uint64_t pa0, pa;
    ck_assert(mapped(sim, HOT, &pa0));
    ck_assert_int_eq(call(sim, SCIM_OP_UNPIN, HOT, PAGE, 0), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MIGRATE, HOT, PAGE, 0), SCIM_OK);
    ck_assert(mapped(sim, HOT, &pa));
    ck_assert_uint_ne(pa, pa0); /* the last pin gone: migrate moves it */
    ck_assert(st(sim, "os.ops.errors") == 1);
    scim_sim_destroy(sim);
}
END_TEST

/* A device DMA of 64 bytes at va, run to its completion. */
static int dma(scim_sim *sim, scim_dev_op op, uint64_t va)
{
    dmas d = {0};
    scim_dev *nic = scim_sim_device(sim, "nic0");
    static const scim_dev_callbacks cb = {on_completion, NULL, NULL};
    ck_assert_int_eq(scim_dev_set_callbacks(nic, &cb, &d), 0);
    ck_assert_msg(scim_dev_submit(nic, op, va, 64, 1) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_uint_eq(d.n, 1);
    return d.status[0];
}

START_TEST(mmap_prot_and_mprotect)
{
    scim_sim *sim = build();
    const uint64_t ro = 0x20000000ull;
    answers a = {0};
    scim_os_call c = {.op = SCIM_OP_MMAP, .pasid = 1, .va = ro, .len = PAGE, .prot = SCIM_PROT_R, .populate = true};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(a.status[0], SCIM_OK);
    ck_assert_int_eq(dma(sim, SCIM_DEV_READ, ro), SCIM_OK);
    ck_assert_int_ne(dma(sim, SCIM_DEV_WRITE, ro), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MPROTECT, ro, PAGE, SCIM_PROT_RW), SCIM_OK);
    ck_assert_int_eq(dma(sim, SCIM_DEV_WRITE, ro), SCIM_OK);
    /* and back to read-only: the device's cached writable translation goes */
    ck_assert_int_eq(call(sim, SCIM_OP_MPROTECT, ro, PAGE, SCIM_PROT_R), SCIM_OK);
    ck_assert_int_ne(dma(sim, SCIM_DEV_WRITE, ro), SCIM_OK);
    ck_assert(st(sim, "os.ops.mprotect") == 2);

    /* a 2 MiB page: one 2 MiB-aligned frame for the whole page */
    const uint64_t big = 0x40000000ull;
    c = (scim_os_call){.op = SCIM_OP_MMAP, .pasid = 1, .va = big, .len = MIB2, .populate = true, .page_shift = 21};
    a.n = 0;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(a.status[0], SCIM_OK);
    uint64_t p0, p1;
    ck_assert(mapped(sim, big, &p0));
    ck_assert(mapped(sim, big + MIB2 - PAGE, &p1));
    ck_assert_uint_eq(p0 % MIB2, 0);
    ck_assert_uint_eq(p1, p0 + MIB2 - PAGE);
    /* pin maps missing 4 KiB pages only: not a page of a 2 MiB region */
    const uint64_t lazy = 0x80000000ull;
    c = (scim_os_call){.op = SCIM_OP_MMAP, .pasid = 1, .va = lazy, .len = MIB2, .page_shift = 21};
    a.n = 0;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(a.status[0], SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, lazy, PAGE, 0), SCIM_EINVAL);
    ck_assert(!mapped(sim, lazy, NULL));
    /* a mapped one takes its pin */
    ck_assert_int_eq(call(sim, SCIM_OP_PIN, big, PAGE, 0), SCIM_OK);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(os_call_states)
{
    scim_os_call c = {.op = SCIM_OP_MUNMAP, .pasid = 1, .va = HOT, .len = PAGE};
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, YAML, "os_calls.yaml"), 0);
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "build the simulation first"));
    ck_assert_int_eq(scim_sim_build(sim), 0);
    c.op = SCIM_OP_MPROTECT;
    c.prot = 2; /* write-only is not a protection of the model */
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "prot is SCIM_PROT_NONE"));
    c.prot = 7;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_finish(sim), 0);
    ck_assert_int_eq(scim_sim_finish(sim), 0); /* twice: nothing more */
    c.prot = SCIM_PROT_R;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "call the OS before scim_sim_finish"));
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "the simulation is finished"));
    ck_assert_int_eq(scim_sim_run_until(sim, 5), SCIM_ESTATE);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(life_cycle_errors)
{
    char dir[64], path[256], msg[512];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "c.yaml", "kernel: {backend: native}\n", path, sizeof path);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_finish(sim), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "before finishing it"));
    ck_assert_int_eq(scim_sim_check_traces(sim), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "before checking its traces"));
    ck_assert_int_eq(scim_sim_run_until(sim, 10), SCIM_ESTATE);
    ck_assert_int_eq(scim_sim_write_stats(sim, dir), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "nothing to write"));
    ck_assert_int_eq(scim_sim_write_config(sim, path), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "scim_sim_write_config: build the simulation first"));
    ck_assert_int_eq(scim_sim_dump_config(sim, stdout), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "scim_sim_dump_config: build the simulation first"));
    uint64_t pa;
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0, &pa), SCIM_ESTATE);
    ck_assert_int_eq(scim_sim_frames(sim, &fc), SCIM_ESTATE);
    ck_assert_uint_eq(scim_sim_seed(sim), 0);
    /* one configuration per simulation */
    ck_assert_int_eq(scim_sim_load_file(sim, path), 0);
    ck_assert_int_eq(scim_sim_load_file(sim, path), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "a configuration is already loaded"));
    ck_assert_int_eq(scim_sim_load_string(sim, "seed: 2\n", "again"), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "a configuration is already loaded"));
    ck_assert_int_eq(scim_sim_set(sim, "seed=9"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_uint_eq(scim_sim_seed(sim), 9);
    ck_assert_int_eq(scim_sim_set(sim, "seed=3"), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "--set after the simulation was built"));
    /* the configuration as run, into a directory that does not exist */
    snprintf(msg, sizeof msg, "%s/no/such/dir/config.yaml", dir);
    ck_assert_int_eq(scim_sim_write_config(sim, msg), SCIM_EIO);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "fix: choose a writable output directory"));
    ck_assert_int_eq(scim_sim_run(sim), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

typedef struct progress {
    size_t calls;
    scim_time_t last;
    bool back;
} progress;

static void on_progress(void *ctx, scim_time_t now, double fraction)
{
    (void)fraction;
    progress *p = ctx;
    if (now < p->last)
        p->back = true;
    p->last = now;
    p->calls++;
}

/* The hook is called every 2^14 events (src/sim/run.c): a run of 4,000
 * DMAs (several events each) calls it a few times; set before build or
 * after, the same calls. */
START_TEST(progress_hook)
{
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    size_t cap = 4000 * 40 + 64, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n, "# scimitar trace v1\n");
    for (int i = 0; i < 4000; i++)
        n += (size_t)snprintf(t + n, cap - n, "+100 read 0x%llx 64\n", HOT + (unsigned long long)(i % 512) * PAGE);
    write_file(dir, "p.trace", t, path, sizeof path);
    free(t);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB, populate: true}]}}\n"
             "devices: {nic0: {trace: %s, pasid: 1}}\n",
             path);
    progress before = {0}, after = {0};
    for (int when = 0; when < 2; when++) {
        progress *p = when ? &after : &before;
        scim_sim *sim = scim_sim_create();
        ck_assert_int_eq(scim_sim_load_string(sim, yaml, "p.yaml"), 0);
        if (!when)
            scim_sim_set_progress(sim, on_progress, p);
        ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
        if (when)
            scim_sim_set_progress(sim, on_progress, p);
        ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
        ck_assert(p->last <= scim_sim_now(sim));
        double events = stat_of(sim, "sim.events");
        ck_assert_uint_eq(p->calls, (size_t)(events / (1 << 14)));
        scim_sim_destroy(sim);
    }
    ck_assert_uint_gt(before.calls, 0);
    ck_assert_uint_eq(before.calls, after.calls);
    ck_assert(!before.back && !after.back);
    tmpdir_remove(dir);
}
END_TEST

/* munmap of part of a large page and mprotect to none; mmap(populate) of
 * more than the simulated memory ends the run with its message. */
START_TEST(large_pages_none_and_exhaustion)
{
    scim_sim *sim = build();
    const uint64_t big = 0x40000000ull;
    answers a = {0};
    scim_os_call c = {.op = SCIM_OP_MMAP, .pasid = 1, .va = big, .len = MIB2, .populate = true, .page_shift = 21};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(a.status[0], SCIM_OK);
    /* a 4 KiB munmap inside the 2 MiB page: refused, the page stays */
    ck_assert_int_eq(call(sim, SCIM_OP_MUNMAP, big + PAGE, PAGE, 0), SCIM_EINVAL);
    ck_assert(mapped(sim, big + PAGE, NULL));
    ck_assert_int_eq(call(sim, SCIM_OP_MUNMAP, big, MIB2, 0), SCIM_OK);
    ck_assert(!mapped(sim, big, NULL));
    /* prot none: the page stays mapped for the OS, a device's read fails */
    ck_assert_int_eq(dma(sim, SCIM_DEV_READ, HOT), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MPROTECT, HOT, PAGE, SCIM_PROT_NONE), SCIM_OK);
    ck_assert_int_ne(dma(sim, SCIM_DEV_READ, HOT), SCIM_OK);
    ck_assert_int_ne(dma(sim, SCIM_DEV_READ, HOT + 64), SCIM_OK);
    ck_assert_int_eq(call(sim, SCIM_OP_MPROTECT, HOT, PAGE, SCIM_PROT_R), SCIM_OK);
    ck_assert_int_eq(dma(sim, SCIM_DEV_READ, HOT), SCIM_OK);
    /* 512 MiB populated in 256 MiB of memory */
    c = (scim_os_call){.op = SCIM_OP_MMAP, .pasid = 1, .va = 0x100000000ull, .len = 512ull << 20, .populate = true};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ENOMEM);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "simulated memory exhausted by mmap(populate) of pasid 1") != NULL &&
                      strstr(scim_sim_errmsg(sim), "raise memory.size") != NULL,
                  "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
}
END_TEST

/* config.yaml keeps a trace path with a single quote in it (the resolver
 * quotes it as a YAML string): reloaded, it builds the same model and gives
 * byte-identical statistics. */
START_TEST(quoted_trace_path)
{
    char dir[64], sub[128], path[256], yaml[1024], cfg[256];
    tmpdir_make(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/it's", dir);
    ck_assert_int_eq(mkdir(sub, 0777), 0);
    write_file(sub, "t.trace", "@0 read 0x10000000 64\n@100 write 0x10001000 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB}]}}\n"
             "devices: {nic0: {trace: \"%s\", pasid: 1}}\n",
             path);
    char *json[2];
    for (int i = 0; i < 2; i++) {
        scim_sim *sim = scim_sim_create();
        int rc = i ? scim_sim_load_file(sim, cfg) : scim_sim_load_string(sim, yaml, "q.yaml");
        ck_assert_msg(rc == 0 && scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
        if (!i) {
            snprintf(cfg, sizeof cfg, "%s/config.yaml", dir);
            ck_assert_msg(scim_sim_write_config(sim, cfg) == 0, "%s", scim_sim_errmsg(sim));
            char *text = slurp(cfg, NULL);
            char want[300];
            snprintf(want, sizeof want, "trace: %s\n", path);
            ck_assert_msg(strstr(text, want) != NULL, "no '%s' in %s", want, text);
            free(text);
        }
        char out[160];
        snprintf(out, sizeof out, "%s/out%d", dir, i);
        ck_assert_int_eq(scim_sim_write_stats(sim, out), 0);
        strcat(out, "/stats.json");
        json[i] = slurp(out, NULL);
        ck_assert_ptr_nonnull(json[i]);
        ck_assert(stat_of(sim, "nic0.dma.requests") == 2);
        scim_sim_destroy(sim);
    }
    ck_assert_str_eq(json[0], json[1]);
    free(json[0]);
    free(json[1]);
    tmpdir_remove(dir);
}
END_TEST

/* Swap space runs out: a forced reclaim of more pages than os.swap.size
 * holds, and memory pressure with no swap at all, end the run with
 * SCIM_ENOMEM and the key to raise. */
START_TEST(out_of_swap)
{
    scim_sim *sim = scim_sim_create();
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%sos: {swap: {size: 8KiB}}\n", YAML);
    ck_assert_msg(scim_sim_load_string(sim, yaml, "swap.yaml") == 0 && scim_sim_build(sim) == 0, "%s",
                  scim_sim_errmsg(sim));
    /* two pages fit, the third does not */
    answers a = {0};
    scim_os_call c = {.op = SCIM_OP_RECLAIM, .pasid = 1, .va = HOT, .len = 4 * PAGE, .at = 0};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ENOMEM);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "out of swap space (os.swap.size) in reclaim; raise it") != NULL, "%s",
                  scim_sim_errmsg(sim));
    scim_sim_destroy(sim);

    /* 64 MiB of memory, 62 MiB of it populated, no swap: a device writing
     * 2 MiB of new pages needs frames that only swap could free */
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    size_t cap = 512 * 40 + 64, n = 0;
    char *t = malloc(cap);
    for (int i = 0; i < 512; i++)
        n += (size_t)snprintf(t + n, cap - n, "+10 write 0x%llx 64\n", 0x20000000ull + (unsigned long long)i * PAGE);
    write_file(dir, "w.trace", t, path, sizeof path);
    free(t);
    snprintf(yaml, sizeof yaml,
             "memory: {size: 64MiB}\n"
             "os: {swap: {size: 0}}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 62MiB, populate: true},\n"
             "                                      {va: 0x20000000, size: 2MiB}]}}\n"
             "devices: {nic0: {trace: %s, pasid: 1}}\n",
             path);
    sim = scim_sim_create();
    ck_assert_msg(scim_sim_load_string(sim, yaml, "noswap.yaml") == 0 && scim_sim_build(sim) == 0, "%s",
                  scim_sim_errmsg(sim));
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ENOMEM);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "out of swap space (os.swap.size = 0 bytes) while reclaiming; raise "
                                               "os.swap.size or memory.size") != NULL,
                  "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Several calls in flight at once: each answer carries its own tag and
 * status (one of them refused), whatever order the OS answers them in. */
START_TEST(calls_in_flight)
{
    scim_sim *sim = build();
    answers a = {0};
    const scim_os_call calls[] = {
        {.op = SCIM_OP_MUNMAP, .pasid = 1, .va = HOT, .len = 64 * PAGE, .tag = 1},
        {.op = SCIM_OP_MMAP, .pasid = 1, .va = 0x30000000ull, .len = PAGE, .populate = true, .tag = 2},
        {.op = SCIM_OP_MMAP, .pasid = 1, .va = COLD, .len = PAGE, .tag = 3}, /* overlaps a region: refused */
        {.op = SCIM_OP_PIN, .pasid = 1, .va = COLD, .len = PAGE, .tag = 4, .at = 1000000},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        ck_assert_int_eq(scim_sim_os_call(sim, &calls[i], on_os, &a), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(a.n, 4);
    int status[5] = {1, 1, 1, 1, 1};
    for (size_t i = 0; i < a.n; i++)
        status[a.tag[i]] = a.status[i];
    ck_assert_int_eq(status[1], SCIM_OK);
    ck_assert_int_eq(status[2], SCIM_OK);
    ck_assert_int_eq(status[3], SCIM_EINVAL);
    ck_assert_int_eq(status[4], SCIM_OK);
    ck_assert(!mapped(sim, HOT, NULL));
    ck_assert(mapped(sim, 0x30000000ull, NULL));
    ck_assert(mapped(sim, COLD, NULL));
    /* a call nobody waits for (no callback) is executed all the same */
    scim_os_call quiet = {.op = SCIM_OP_MUNMAP, .pasid = 1, .va = 0x30000000ull, .len = PAGE};
    ck_assert_int_eq(scim_sim_os_call(sim, &quiet, NULL, NULL), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert(!mapped(sim, 0x30000000ull, NULL));
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("os_calls");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, pin_faults_in_and_blocks_munmap);
    tcase_add_test(tc, pin_is_all_or_nothing);
    tcase_add_test(tc, mmap_prot_and_mprotect);
    tcase_add_test(tc, os_call_states);
    tcase_add_test(tc, life_cycle_errors);
    tcase_add_test(tc, progress_hook);
    tcase_add_test(tc, large_pages_none_and_exhaustion);
    tcase_add_test(tc, quoted_trace_path);
    tcase_add_test(tc, out_of_swap);
    tcase_add_test(tc, calls_in_flight);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
