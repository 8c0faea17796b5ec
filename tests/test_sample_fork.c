/* Windows of one warm-up (scim_sim_set_warm_points, scim_sim_fork): a
 * run that a host ends at a warm point is, statistic for statistic, the
 * run configured with sim.warmup_until at that point and sim.until at the
 * window's end (the reference: a second simulation built that way); a
 * forked child and its parent go on reading their trace files on their
 * own (traces of several buffers' length, so that both sides refill from
 * the file while the other runs); bad points are refused with messages. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/simtest.h"

#define US 1000000ull /* ps */
enum { RECORDS = 14000 }; /* ~300 KB of text each: several 64 KiB reads */

static const char *const YAML =
    "sim: {warmup_until: %llups, until: %llups}\n"
    "memory: {size: 256MiB}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 8MiB, populate: false}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, max_outstanding: 8, iotlb: {entries: 32, ways: 4}}\n"
    "cpus:\n"
    "  cpu0: {trace: %s, pasid: 1}\n";

static char dir[64], dev_trace[256], cpu_trace[256];

static void write_traces(void)
{
    tmpdir_make(dir, sizeof dir);
    char *dev = malloc(RECORDS * 48 + 1), *cpu = malloc(RECORDS * 48 + 1);
    size_t nd = 0, nc = 0;
    uint64_t x = 99;
    for (int i = 0; i < RECORDS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned page = (unsigned)((x >> 33) % ((x >> 62) ? 300 : 2000)); /* a hot set and a long tail */
        nd += (size_t)sprintf(dev + nd, "+100 %s 0x%llx 256\n", (x >> 20) & 1 ? "write" : "read",
                              0x10000000ull + page * 4096ull + ((x >> 8) & 0xf00));
        nc += (size_t)sprintf(cpu + nc, "+150 read 0x%llx 8\n", 0x10000000ull + ((x >> 40) % 2048) * 4096ull);
    }
    write_file(dir, "dev.trace", dev, dev_trace, sizeof dev_trace);
    write_file(dir, "cpu.trace", cpu, cpu_trace, sizeof cpu_trace);
    free(dev);
    free(cpu);
}

static void teardown(void) { tmpdir_remove(dir); }

static scim_sim *load_ps(scim_time_t warmup_until, scim_time_t until)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, YAML, (unsigned long long)warmup_until, (unsigned long long)until, dev_trace,
             cpu_trace);
    scim_sim *sim = scim_sim_create();
    ck_assert_msg(scim_sim_load_string(sim, yaml, "sample.yaml") == 0, "%s", scim_sim_errmsg(sim));
    return sim;
}

static scim_sim *load(unsigned long long warmup_until_us, unsigned long long until_us)
{
    return load_ps(warmup_until_us * US, until_us * US);
}

static char *stats_json(scim_sim *sim)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(scim_stats_write_json(scim_sim_stats(sim), f, NULL), 0);
    fclose(f);
    return text;
}

/* The reference: a run configured to the window. */
static char *separate(scim_time_t from, scim_time_t until)
{
    scim_sim *sim = load_ps(from, until);
    ck_assert_msg(scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    char *s = stats_json(sim);
    scim_sim_destroy(sim);
    return s;
}

static const scim_time_t POINTS[] = {0, 150 * US, 400 * US, 400 * US, 900 * US};
#define N_POINTS (sizeof POINTS / sizeof POINTS[0])
static const scim_time_t WINDOW = 120 * US;
/* shorter than the gap between two records: the record the warm-up hands
 * back may be past the window's end, which ends the trace there */
static const scim_time_t SLIVER = 60000;

typedef struct host {
    size_t stop_at; /* the point whose window runs here */
    scim_time_t window;
    size_t calls;
    bool fork_each;
    pid_t children[N_POINTS];
    size_t n_children;
} host;

static int at_point(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until)
{
    host *h = ctx;
    ck_assert_uint_eq(index, h->calls);
    ck_assert_uint_eq(at, POINTS[index]);
    h->calls++;
    if (h->fork_each) {
        long pid = scim_sim_fork(sim);
        ck_assert_msg(pid >= 0, "%s", scim_sim_errmsg(sim));
        if (pid > 0) {
            h->children[h->n_children++] = (pid_t)pid;
            return 0;
        }
        h->stop_at = index;
    }
    if (index != h->stop_at)
        return 0;
    *until = at + (h->window ? h->window : WINDOW);
    return SCIM_WARM_POINT_DETAIL;
}

START_TEST(stopped_at_a_point_is_the_configured_window)
{
    size_t i = (size_t)_i % N_POINTS;
    scim_time_t window = _i < (int)N_POINTS ? WINDOW : SLIVER;
    /* the whole warm-up's sim.until is later than every window's */
    scim_sim *sim = load(POINTS[N_POINTS - 1] / US, 0);
    host h = {.stop_at = i, .window = window};
    ck_assert_int_eq(scim_sim_set_warm_points(sim, POINTS, N_POINTS, at_point, &h), 0);
    ck_assert_msg(scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    /* points up to this one were called, none after (equal times too) */
    ck_assert_uint_eq(h.calls, i + 1);
    char *got = stats_json(sim), *want = separate(POINTS[i], POINTS[i] + window);
    ck_assert_msg(strcmp(got, want) == 0, "window at %llu us (%llu ps) differs from its configured run",
                  (unsigned long long)(POINTS[i] / US), (unsigned long long)window);
    double warmed = stat_of(sim, "sim.warmup.records");
    ck_assert_msg(i == 0 ? warmed == 0 : warmed > 100, "records warmed: %g", warmed);
    free(got);
    free(want);
    scim_sim_destroy(sim);
}
END_TEST

/* Every point forks: each child runs its window while the parent warms
 * on and then runs the last one itself; all read the same files. */
START_TEST(forked_children_and_parent_read_on_their_own)
{
    scim_sim *sim = load(POINTS[N_POINTS - 1] / US, (POINTS[N_POINTS - 1] + WINDOW) / US);
    host h = {.stop_at = SIZE_MAX, .fork_each = true};
    ck_assert_int_eq(scim_sim_set_warm_points(sim, POINTS, N_POINTS, at_point, &h), 0);
    int rc = scim_sim_build(sim);
    if (h.stop_at != SIZE_MAX) { /* a child: its window into a file, then out */
        char path[300], *s = NULL;
        snprintf(path, sizeof path, "%s/child-%zu.json", dir, h.stop_at);
        if (rc == 0 && scim_sim_run(sim) == 0 && (s = stats_json(sim)) != NULL)
            write_file(dir, strrchr(path, '/') + 1, s, path, sizeof path);
        _exit(s ? 0 : 1);
    }
    ck_assert_msg(rc == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_uint_eq(h.n_children, N_POINTS);
    for (size_t i = 0; i < h.n_children; i++) {
        int status;
        ck_assert_int_eq(waitpid(h.children[i], &status, 0), h.children[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %zu failed", i);
    }
    /* the parent's own run: warmed to the last point, to the configured end */
    char *got = stats_json(sim), *want = separate(POINTS[N_POINTS - 1], POINTS[N_POINTS - 1] + WINDOW);
    ck_assert_msg(strcmp(got, want) == 0, "the parent's run differs");
    free(got);
    free(want);
    scim_sim_destroy(sim);
    for (size_t i = 0; i < N_POINTS; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/child-%zu.json", dir, i);
        char *child = slurp(path, NULL), *ref = separate(POINTS[i], POINTS[i] + WINDOW);
        ck_assert_msg(child && strcmp(child, ref) == 0, "child %zu's window differs from its configured run", i);
        free(child);
        free(ref);
    }
}
END_TEST

static int never(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until)
{
    (void)ctx, (void)sim, (void)index, (void)at, (void)until;
    return 0;
}

static int bad_until(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until)
{
    (void)sim, (void)index;
    *until = *(const scim_time_t *)ctx ? *(const scim_time_t *)ctx : at;
    return SCIM_WARM_POINT_DETAIL;
}

static int fails(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until)
{
    (void)ctx, (void)sim, (void)index, (void)at, (void)until;
    return SCIM_EIO;
}

static void expect_build_error(scim_sim *sim, const char *part)
{
    ck_assert_int_ne(scim_sim_build(sim), 0);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), part), "message '%s' lacks '%s'", scim_sim_errmsg(sim), part);
    scim_sim_destroy(sim);
}

START_TEST(bad_points_are_refused)
{
    scim_time_t two[] = {300 * US, 200 * US}, one[] = {500 * US}, zero = 0, late = 900 * US;
    scim_sim *sim = load(400, 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, two, 2, never, NULL), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "expected ascending"));
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, NULL, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_set_warm_points(NULL, one, 1, never, NULL), SCIM_EINVAL);
    /* after the warm-up's end, located at its key */
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), 0);
    expect_build_error(sim, "sample.yaml:1:21: error: sim.warmup_until: the last window starts after the warm-up's end");
    /* no warm-up by time */
    sim = load(0, 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), 0);
    expect_build_error(sim, "need a warm-up by time");
    /* a warm-up by records */
    sim = load(600, 0);
    ck_assert_int_eq(scim_sim_set(sim, "sim.warmup_until=0"), 0);
    ck_assert_int_eq(scim_sim_set(sim, "sim.warmup=10"), 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), 0);
    expect_build_error(sim, "need a warm-up by time");
    sim = load(600, 0);
    ck_assert_int_eq(scim_sim_set(sim, "sim.records=1000"), 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), 0);
    expect_build_error(sim, "placed by time");
    /* a run that ends before its warm-up */
    sim = load(600, 550);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), 0);
    expect_build_error(sim, "expected a sim.until after");
    /* a window's end: not after its start, or past sim.until */
    sim = load(600, 800);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, bad_until, &zero), 0);
    expect_build_error(sim, "is not after its start");
    sim = load(600, 800);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, bad_until, &late), 0);
    expect_build_error(sim, "after sim.until");
    /* the host's failure fails the build */
    sim = load(600, 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, fails, NULL), 0);
    expect_build_error(sim, "warm point 0 failed");
    /* too late */
    sim = load(600, 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_eq(scim_sim_set_warm_points(sim, one, 1, never, NULL), SCIM_ESTATE);
    scim_sim_destroy(sim);
}
END_TEST

/* Points no host stops at change nothing: the full warm-up's run. */
START_TEST(points_passed_change_nothing)
{
    scim_sim *sim = load(700, 900);
    host h = {.stop_at = SIZE_MAX};
    scim_time_t pts[] = {0, 150 * US, 400 * US, 700 * US};
    ck_assert_int_eq(scim_sim_set_warm_points(sim, pts, 4, never, &h), 0);
    ck_assert_msg(scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    char *got = stats_json(sim), *want = separate(700 * US, 900 * US);
    ck_assert_msg(strcmp(got, want) == 0, "points passed changed the run");
    free(got);
    free(want);
    scim_sim_destroy(sim);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sample_fork");
    TCase *tc = tcase_create("windows");
    tcase_add_unchecked_fixture(tc, write_traces, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, stopped_at_a_point_is_the_configured_window, 0, 2 * (int)N_POINTS);
    tcase_add_test(tc, forked_children_and_parent_read_on_their_own);
    tcase_add_test(tc, bad_points_are_refused);
    tcase_add_test(tc, points_passed_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
