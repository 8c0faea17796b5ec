/* Host allocation failures, one by one: the allocator seam and the
 * exhaustive loop shared by test_oom (src/core) and test_oom_sim (whole
 * simulations). Include it in one file per runner; the runner is linked
 * with --wrap for malloc, calloc, realloc, free, strdup and strndup
 * (CMakeLists.txt), so every call the library's own objects make comes
 * here, while the allocations libyaml, zlib, SystemC or libc make inside
 * themselves are not ours to fail.
 *
 * exhaust() runs a scenario once to count its allocations and take its
 * result as the reference, then again with allocation k failing, for every
 * k, once alone and once with every later allocation failing too
 * (exhaust_modes(..., 1): alone only). Each time the scenario must either
 * succeed with the reference result or return SCIM_ENOMEM, and in both
 * cases leave nothing allocated (an allocation is live from its wrapped
 * malloc to its wrapped free; what is live at the end, counted from the
 * scenario's start, has leaked).
 */
#ifndef SCIM_TEST_OOM_H
#define SCIM_TEST_OOM_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "scimitar/scimitar.h"

/* ------------------------------------------------------------------------ */
/* the allocator seam                                                        */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static bool armed;      /* count (and maybe fail) allocations */
static long fail_at;    /* the allocation to fail, 1-based; 0 none */
static bool persistent; /* and every one after it */
static long n_calls, n_failed;

/* Live allocations made while armed: an open-addressing set of pointers
 * (tombstones for removals), in static memory so that it allocates nothing. */
#define LIVE_SLOTS (1u << 16)
#define TOMB ((void *)1)
static void *live[LIVE_SLOTS];
static size_t n_live, n_slots_used; /* live; live or tombstone */

static size_t slot_of(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 46); }

static void track(void *p)
{
    if (!p || !armed)
        return;
    size_t i = slot_of(p) & (LIVE_SLOTS - 1);
    while (live[i] && live[i] != TOMB)
        i = (i + 1) & (LIVE_SLOTS - 1);
    n_slots_used += !live[i];
    live[i] = p;
    n_live++;
    if (n_slots_used > LIVE_SLOTS / 4 * 3)
        abort(); /* a scenario this big does not belong here */
}

static void untrack(void *p)
{
    if (!p || !n_live)
        return;
    for (size_t i = slot_of(p) & (LIVE_SLOTS - 1); live[i]; i = (i + 1) & (LIVE_SLOTS - 1))
        if (live[i] == p) {
            live[i] = TOMB;
            n_live--;
            return;
        }
}

static bool inject(void)
{
    if (!armed)
        return false;
    n_calls++;
    if (fail_at && (n_calls == fail_at || (persistent && n_calls > fail_at))) {
        n_failed++;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    if (inject())
        return NULL;
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (inject())
        return NULL;
    void *p = __real_calloc(n, size);
    track(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (inject())
        return NULL; /* p stays valid, as with a real failure */
    void *q = __real_realloc(p, n);
    if (q) {
        untrack(p);
        track(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    if (inject())
        return NULL;
    char *p = __real_strdup(s);
    track(p);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (inject())
        return NULL;
    char *p = __real_strndup(s, n);
    track(p);
    return p;
}

static void arm(long at, bool from_there_on)
{
    memset(live, 0, sizeof live);
    n_live = n_slots_used = 0;
    n_calls = n_failed = 0;
    fail_at = at;
    persistent = from_there_on;
    armed = true;
}

/* ------------------------------------------------------------------------ */
/* the exhaustive loop                                                       */

/* A scenario writes its result (a digest of what it built) into out and
 * returns 0, or returns its error code with the message in *err; either
 * way it frees everything it allocated. */
typedef int (*scenario_fn)(char *out, size_t len, scim_err *err);

#define RESULT_MAX (256 * 1024)
static char ref[RESULT_MAX], got[RESULT_MAX];

static void exhaust_modes(const char *what, scenario_fn fn, int modes)
{
    scim_err err = {0};
    arm(0, false);
    int rc = fn(ref, sizeof ref, &err);
    armed = false;
    long total = n_calls;
    ck_assert_msg(rc == 0, "%s without failures: %s", what, err.msg);
    ck_assert_msg(n_live == 0, "%s leaks %zu blocks without failures", what, n_live);
    ck_assert_msg(total > 0, "%s allocates nothing: the wrapping is not in effect", what);
    long enomem = 0;
    for (int mode = 0; mode < modes; mode++) {
        for (long k = 1; k <= total; k++) {
            scim_err e = {0};
            got[0] = '\0';
            arm(k, mode == 1);
            rc = fn(got, sizeof got, &e);
            armed = false;
            const char *how = mode ? "and every later one" : "alone";
            ck_assert_msg(n_live == 0, "%s: allocation %ld of %ld failed (%s): %zu blocks leaked (rc %s: %s)",
                          what, k, total, how, n_live, scim_status_name(rc), e.msg);
            if (rc == 0) {
                ck_assert_msg(strcmp(got, ref) == 0, "%s: allocation %ld of %ld failed (%s): success with a "
                              "different result", what, k, total, how);
            } else {
                ck_assert_msg(rc == SCIM_ENOMEM && e.code == SCIM_ENOMEM,
                              "%s: allocation %ld of %ld failed (%s): %s instead of SCIM_ENOMEM: %s", what, k,
                              total, how, scim_status_name(rc), e.msg);
                enomem++;
            }
        }
    }
    /* a scenario that shrugs off every failure exercises nothing */
    ck_assert_msg(enomem > 0, "%s: no failure was reported among %ld allocations", what, total);
}

/* Every allocation failing alone, then with every later one. */
static void exhaust(const char *what, scenario_fn fn) { exhaust_modes(what, fn, 2); }

/* Run the test's own set-up or clean-up (which allocate through Check or
 * the helpers) without failures: OOM_QUIET(tmpdir_make(d, sizeof d)); */
#define OOM_QUIET(stmt)                                                                                      \
    do {                                                                                                     \
        bool was_ = armed;                                                                                   \
        armed = false;                                                                                       \
        stmt;                                                                                                \
        armed = was_;                                                                                        \
    } while (0)

/* A simulation's result as the loops compare it: its stats.json in out,
 * or rc with the simulation's message in err. */
static inline int oom_sim_digest(scim_sim *sim, int rc, char *out, size_t len, scim_err *err)
{
    FILE *f = NULL;
    if (!rc && !(f = fmemopen(out, len, "w")))
        rc = scim_err_set(err, SCIM_EIO, "fmemopen");
    if (f) {
        rc = scim_stats_write_json(scim_sim_stats(sim), f, err);
        fclose(f);
    } else if (rc) {
        scim_err_set(err, rc, "%s", scim_sim_errmsg(sim));
    }
    return rc;
}

/* A simulation loaded by `load` and built with no failures armed (Check's
 * own assertions allocate: none while failures are armed). */
static inline scim_sim *oom_built(int (*load)(scim_sim *))
{
    scim_sim *sim = NULL;
    int rc;
    OOM_QUIET(sim = scim_sim_create(); rc = load(sim); if (!rc) rc = scim_sim_build(sim);
              ck_assert_msg(rc == 0, "%s", scim_sim_errmsg(sim)));
    return sim;
}

/* The scenario of a run under failures: built without them (oom_built),
 * run under them, digested (oom_sim_digest). */
static inline int oom_run_built(int (*load)(scim_sim *), char *out, size_t len, scim_err *err)
{
    scim_sim *sim = oom_built(load);
    int rc = scim_sim_run(sim);
    rc = oom_sim_digest(sim, rc, out, len, err);
    OOM_QUIET(scim_sim_destroy(sim));
    return rc;
}

#endif
