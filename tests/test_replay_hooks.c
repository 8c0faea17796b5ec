/* The replay engine's per-request paths made cheap in issue 11: the
 * request hooks and the tenants' PASID check.
 *
 * The request hooks (scim_replay_set_request_hooks): an
 * owner with nothing to do in them turns them off, and the engine then
 * behaves as if they returned true and did nothing. The reference is the
 * same host-fed run with the hooks on and doing nothing: the same chunk
 * completions at the same times and the same statistics; the hooks are
 * called once per request exactly while on, also when turned on or off
 * in the middle of a run. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "mmu/replay.h"
#include "scimitar/kernel.h"
#include "helpers/testutil.h"

enum { MAX_OUT = 3, RECORDS = 40, CHUNK_NS = 7 };

typedef struct owner {
    scim_kernel *k;
    scim_replay *r;
    unsigned begins, ends, chunks;
    uint64_t log[4 * RECORDS]; /* (chunk id, completion time) of every chunk */
    int toggle_at;             /* turn the hooks over when this many requests began (-1: never) */
    bool hooks_on;
} owner;

static void chunk_done_ev(void *ctx, uint64_t arg)
{
    owner *o = ctx;
    o->log[o->chunks++] = arg * 1000003u + scim_kernel_now(o->k);
    scim_replay_chunk_done(o->r, (uint32_t)arg, false);
}

static void chunk(void *ctx, uint32_t id, const scim_replay_chunk *c)
{
    owner *o = ctx;
    /* a page-dependent time, so that chunks finish out of order */
    scim_time_t t = SCIM_NS(CHUNK_NS + (c->va >> 12) % 5);
    scim_kernel_schedule_at(o->k, scim_kernel_now(o->k) + t, SCIM_PRIO_DEFAULT, chunk_done_ev, o, id);
}

static void os_op(void *ctx, const scim_trace_rec *rec, uint32_t pasid) { ck_abort_msg("no OS operation was pushed"); }

static bool begin(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    owner *o = ctx;
    ck_assert(o->hooks_on);
    if (++o->begins == (unsigned)o->toggle_at) {
        o->hooks_on = !o->hooks_on;
        scim_replay_set_request_hooks(o->r, o->hooks_on);
    }
    return true;
}

static void end(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    owner *o = ctx;
    ck_assert(o->hooks_on);
    o->ends++;
}

/* Run RECORDS host-fed reads and writes of 1-3 pages; the stats as JSON. */
static void run(owner *o, bool hooks, int toggle_at, char *json, size_t len)
{
    memset(o, 0, sizeof *o);
    scim_err err = {0};
    o->k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    scim_stats *st = scim_stats_create();
    ck_assert_ptr_nonnull(o->k);
    static const scim_replay_ops ops = {.chunk = chunk, .os_op = os_op, .request_begin = begin, .request_end = end};
    scim_replay_params p = {NULL, MAX_OUT, 1, "dma", NULL, 0, NULL};
    o->r = scim_replay_create(o->k, "dev", &p, &ops, o, st, &err);
    ck_assert_msg(o->r != NULL, "%s", err.msg);
    o->toggle_at = toggle_at;
    o->hooks_on = hooks;
    scim_replay_set_request_hooks(o->r, hooks);
    ck_assert_int_eq(scim_replay_start(o->r, &err), 0);
    for (unsigned i = 0; i < RECORDS; i++) {
        scim_trace_rec rec = {.op = i % 3 ? SCIM_OP_READ : SCIM_OP_WRITE,
                              .addr = 0x10000 + (uint64_t)i * 0x3000 + (i % 4) * 0x800,
                              .size = 0x1000 * (1 + i % 3) - 0x400};
        ck_assert_int_eq(scim_replay_push(o->r, &rec, SCIM_NS(3 * i), i, false, &err), 0);
    }
    ck_assert_int_eq(scim_kernel_run(o->k, &err), 0);
    ck_assert(scim_replay_finished(o->r));
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ck_assert_int_eq(scim_stats_write_json(st, f, &err), 0);
    fclose(f);
    ck_assert_uint_lt(n, len);
    memcpy(json, buf, n + 1);
    free(buf);
    scim_replay_destroy(o->r);
    scim_stats_destroy(st);
    scim_kernel_destroy(o->k);
}

START_TEST(off_is_hooks_doing_nothing)
{
    static owner on, off;
    static char json_on[16384], json_off[16384];
    run(&on, true, -1, json_on, sizeof json_on);
    run(&off, false, -1, json_off, sizeof json_off);
    ck_assert_uint_eq(on.begins, RECORDS);
    ck_assert_uint_eq(on.ends, RECORDS);
    ck_assert_uint_eq(off.begins, 0);
    ck_assert_uint_eq(off.ends, 0);
    ck_assert_uint_gt(on.chunks, RECORDS);
    ck_assert_uint_eq(on.chunks, off.chunks);
    ck_assert_mem_eq(on.log, off.log, on.chunks * sizeof on.log[0]);
    ck_assert_str_eq(json_on, json_off);
}
END_TEST

START_TEST(turned_off_mid_run)
{
    static owner o;
    static char json[16384];
    run(&o, true, 10, json, sizeof json);
    /* off after the 10th begin: ends only of requests that finished by then */
    ck_assert_uint_eq(o.begins, 10);
    ck_assert_uint_lt(o.ends, 10);
}
END_TEST

/* A record's PASID must be the agent's or one of its tenants' (searched
 * in a sorted copy, the ones found remembered by their low bits): every
 * PASID around the listed ones, in any order, three times over in
 * different orders, so that each is asked again after others sharing its
 * low bits, bound or not. */
START_TEST(tenants_bound_in_any_order)
{
    static const uint32_t tenants[] = {900, 2, 70, 4, 65, 1u << 19};
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    scim_stats *st = scim_stats_create();
    static const scim_replay_ops ops = {.chunk = chunk, .os_op = os_op};
    scim_replay_params p = {NULL, MAX_OUT, 1, "dma", tenants, sizeof tenants / sizeof tenants[0], "devices.d.tenants"};
    owner o = {.k = k};
    scim_replay *r = o.r = scim_replay_create(k, "dev", &p, &ops, &o, st, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(scim_replay_start(r, &err), 0);
    for (uint32_t n = 0; n < 3 * 1000; n++) {
        /* 0..999 up, down, then in a stride order (7 is prime to 1000) */
        uint32_t i = n % 1000, pasid = n < 1000 ? i : n < 2000 ? 999 - i : (i * 7) % 1000;
        bool listed = pasid == 1; /* the agent's own */
        for (size_t i = 0; i < sizeof tenants / sizeof tenants[0]; i++)
            listed |= tenants[i] == pasid;
        scim_trace_rec rec = {.op = SCIM_OP_READ, .addr = 0x1000, .size = 64, .has = SCIM_TRACE_HAS_PASID,
                              .pasid = pasid};
        int rc = scim_replay_push(r, &rec, 0, pasid, false, &err);
        ck_assert_msg(listed ? rc == 0 : rc == SCIM_EINVAL, "pasid %u: rc %d", pasid, rc);
    }
    scim_trace_rec top = {.op = SCIM_OP_READ, .addr = 0x1000, .size = 64, .has = SCIM_TRACE_HAS_PASID,
                          .pasid = 1u << 19};
    ck_assert_int_eq(scim_replay_push(r, &top, 0, 0, false, &err), 0);
    scim_replay_destroy(r);
    scim_stats_destroy(st);
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay_hooks");
    TCase *tc = tcase_create("hooks");
    tcase_add_test(tc, off_is_hooks_doing_nothing);
    tcase_add_test(tc, turned_off_mid_run);
    tcase_add_test(tc, tenants_bound_in_any_order);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
