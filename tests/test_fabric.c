/* Fabric: latency sums, FIFO queueing against a tandem-queue recurrence,
 * routing, and errors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric.h"
#include "core/fast.h"
#include "core/rate.h"
#include "helpers/testutil.h"

typedef struct sink {
    scim_fabric *f;
    scim_kernel *k;
    scim_time_t at[4096];
    uint64_t tag[4096];
    size_t n;
    int reply;
} sink;

static void on_recv(void *ctx, scim_msg *m)
{
    sink *s = ctx;
    s->at[s->n] = scim_kernel_now(s->k);
    s->tag[s->n++] = m->tag;
    if (s->reply) {
        /* turn it around by hand: this test drives the bare fabric, below ports */
        scim_node_id src = m->src;
        m->src = m->dst;
        m->dst = src;
        m->type = SCIM_MSG_MEM_RESP;
        m->wire_bytes = 64;
        scim_fabric_send(s->f, m);
        s->reply = 0;
        return;
    }
    scim_msg_free(s->f, m);
}

static scim_fabric *make(scim_kernel **k, uint64_t header, uint64_t mps)
{
    scim_err err = {0};
    *k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert_msg(*k, "%s", err.msg);
    scim_fabric_params p = {header, mps};
    scim_fabric *f = scim_fabric_create(*k, &p, &err);
    ck_assert_msg(f, "%s", err.msg);
    return f;
}

static void send(scim_fabric *f, scim_node_id a, scim_node_id b, uint32_t bytes, uint64_t tag)
{
    scim_msg *m = scim_msg_alloc(f);
    m->type = SCIM_MSG_MEM_WRITE;
    m->src = a;
    m->dst = b;
    m->wire_bytes = bytes;
    m->tag = tag;
    scim_fabric_send(f, m);
}

START_TEST(single_link_latency_and_fifo)
{
    scim_kernel *k;
    scim_fabric *f = make(&k, 24, 256);
    sink sa = {0}, sb = {0};
    sa.f = sb.f = f;
    sa.k = sb.k = k;
    scim_node_id a, b;
    ck_assert_int_eq(scim_fabric_add_node(f, "a", on_recv, &sa, &a, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "b", on_recv, &sb, &b, NULL), 0);
    /* 1 GB/s: 1 byte per ns */
    ck_assert_int_eq(scim_fabric_add_link(f, a, b, SCIM_NS(100), 1000000000ull, NULL), 0);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, NULL), 0);
    send(f, a, b, 1000, 1);
    send(f, a, b, 1000, 2);
    send(f, a, b, 500, 3);
    send(f, b, a, 1000, 4); /* the other direction does not queue */
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert_uint_eq(sb.n, 3);
    ck_assert_uint_eq(sb.at[0], SCIM_NS(1100));
    ck_assert_uint_eq(sb.at[1], SCIM_NS(2100));
    ck_assert_uint_eq(sb.at[2], SCIM_NS(2600));
    ck_assert_uint_eq(sb.tag[2], 3);
    ck_assert_uint_eq(sa.n, 1);
    ck_assert_uint_eq(sa.at[0], SCIM_NS(1100));
    ck_assert_uint_eq(scim_fabric_unloaded_latency(f, a, b, 1000), SCIM_NS(1100));
    ck_assert_uint_eq(scim_fabric_in_flight(f), 0);
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

typedef struct drv {
    scim_fabric *f;
    scim_node_id a, d;
    uint32_t *size;
} drv;

static void go(void *ctx, uint64_t i)
{
    drv *dv = ctx;
    send(dv->f, dv->a, dv->d, dv->size[i], i);
}

/* Random traffic down a line a-b-c-d: arrival times must follow the tandem
 * queue recurrence start = max(ready, previous finish), computed here
 * independently of the fabric. */
START_TEST(tandem_queue_matches_recurrence)
{
    enum { N = 2000, HOPS = 3 };
    scim_kernel *k;
    scim_fabric *f = make(&k, 24, 256);
    sink s[4] = {0};
    scim_node_id id[4];
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        s[i].f = f;
        s[i].k = k;
        ck_assert_int_eq(scim_fabric_add_node(f, names[i], on_recv, &s[i], &id[i], NULL), 0);
    }
    const scim_time_t lat[HOPS] = {SCIM_NS(10), SCIM_NS(250), SCIM_NS(5)};
    const uint64_t bw[HOPS] = {64000000000ull, 16000000000ull, 32000000000ull};
    for (int i = 0; i < HOPS; i++)
        ck_assert_int_eq(scim_fabric_add_link(f, id[i], id[i + 1], lat[i], bw[i], NULL), 0);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, NULL), 0);
    ck_assert_int_eq(scim_fabric_hops(f, id[0], id[3]), 3);

    static uint32_t size[N];
    static scim_time_t send_t[N];
    uint64_t x = 12345;
    scim_time_t t = 0;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1;
        size[i] = 24 + (uint32_t)((x >> 33) % 4096);
        t += (x >> 20) % 200000; /* 0..200 ns apart: links often busy */
        send_t[i] = t;
    }
    drv dv = {f, id[0], id[3], size};
    for (int i = 0; i < N; i++)
        scim_kernel_schedule_at(k, send_t[i], SCIM_PRIO_DEFAULT, go, &dv, (uint64_t)i);
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert_uint_eq(s[3].n, N);

    scim_time_t finish[HOPS] = {0};
    for (int i = 0; i < N; i++) {
        scim_time_t ready = send_t[i];
        for (int h = 0; h < HOPS; h++) {
            scim_time_t start = ready > finish[h] ? ready : finish[h];
            scim_time_t ser = ((unsigned __int128)size[i] * 1000000000000ull + bw[h] - 1) / bw[h];
            finish[h] = start + ser;
            ready = finish[h] + lat[h];
        }
        ck_assert_uint_eq(s[3].tag[i], (uint64_t)i);
        ck_assert_uint_eq(s[3].at[i], ready);
    }
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

START_TEST(routes_take_lowest_latency_and_reply_returns)
{
    scim_kernel *k;
    scim_fabric *f = make(&k, 24, 256);
    sink s[3] = {0};
    scim_node_id id[3];
    const char *names[3] = {"dev", "rc", "mem"};
    for (int i = 0; i < 3; i++) {
        s[i].f = f;
        s[i].k = k;
        ck_assert_int_eq(scim_fabric_add_node(f, names[i], on_recv, &s[i], &id[i], NULL), 0);
    }
    ck_assert_int_eq(scim_fabric_add_link(f, id[0], id[2], SCIM_NS(900), 0, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, id[0], id[1], SCIM_NS(300), 0, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, id[1], id[2], SCIM_NS(50), 0, NULL), 0);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, NULL), 0);
    ck_assert_int_eq(scim_fabric_hops(f, id[0], id[2]), 2);
    ck_assert_uint_eq(scim_fabric_unloaded_latency(f, id[0], id[2], 100), SCIM_NS(350));
    s[2].reply = 1;
    send(f, id[0], id[2], 100, 77);
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert_uint_eq(s[2].at[0], SCIM_NS(350));
    ck_assert_uint_eq(s[0].n, 1);
    ck_assert_uint_eq(s[0].tag[0], 77);
    ck_assert_uint_eq(s[0].at[0], SCIM_NS(700));
    /* self-delivery is immediate */
    send(f, id[1], id[1], 8, 5);
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert_uint_eq(s[1].at[0], SCIM_NS(700));
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

/* Serialisation without 128-bit division (core/rate.h): the same ps as
 * ceil(bytes * 10^12 / bps) computed in 128 bits and truncated to 64, for
 * bandwidths from 1 B/s to 2^64-1 and sizes from 0 to 2^64-1 (overflowing
 * ones included), in sequences that hit and miss the memo. */
START_TEST(rate_matches_128bit_division)
{
    static const uint64_t bws[] = {0, 1, 3, 7, 1000, 999999937, 1000000000000ull, 4000000000ull, 25600000000ull,
                                   64000000000ull, 1ull << 40, 1ull << 63, UINT64_MAX};
    uint64_t s = 12345;
    for (size_t b = 0; b < SCIM_COUNT_OF(bws) + 40; b++) {
        uint64_t bps = b < SCIM_COUNT_OF(bws) ? bws[b] : rng_next(&s) >> rnd(&s, 64);
        scim_rate rt;
        scim_rate_init(&rt, bps);
        uint64_t prev = 0, prev2 = 0;
        for (int i = 0; i < 3000; i++) {
            uint64_t pick = rnd(&s, 8), bytes;
            if (pick == 0)
                bytes = prev; /* the memo */
            else if (pick >= 6)
                bytes = prev2; /* its other entry: two sizes alternating */
            else if (pick == 1)
                bytes = rnd(&s, 300);
            else if (pick == 2)
                bytes = rnd(&s, 1ull << 32);
            else if (pick == 3)
                bytes = rng_next(&s) >> rnd(&s, 64);
            else if (pick == 4)
                bytes = 18446744ull + rnd(&s, 100); /* bytes * 10^12 near 2^64 */
            else
                bytes = UINT64_MAX - rnd(&s, 3);
            prev2 = prev;
            prev = bytes;
            uint64_t want =
                bps ? (uint64_t)(((unsigned __int128)bytes * 1000000000000ull + bps - 1) / bps) : 0;
            uint64_t got = scim_rate_time(&rt, bytes);
            CHECK(got == want, "bps %llu bytes %llu: %llu ps, expected %llu", (unsigned long long)bps,
                  (unsigned long long)bytes, (unsigned long long)got, (unsigned long long)want);
        }
    }
}
END_TEST

/* Wire bytes: one header per max_payload bytes or part of it (at least
 * one), whether max_payload is a power of two (a shift) or not. */
START_TEST(wire_bytes_one_header_per_packet)
{
    static const uint64_t mps[] = {1, 7, 200, 256, 4096};
    for (size_t i = 0; i < SCIM_COUNT_OF(mps); i++) {
        scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, NULL);
        scim_fabric_params fp = {.header_bytes = 24, .max_payload = mps[i]};
        scim_fabric *f = scim_fabric_create(k, &fp, NULL);
        ck_assert_ptr_nonnull(f);
        for (uint64_t p = 0; p < 20000; p += 1 + p / 100) {
            uint64_t packets = 0;
            for (uint64_t left = p; left > 0; left -= left < mps[i] ? left : mps[i])
                packets++;
            if (packets == 0)
                packets = 1;
            CHECK(scim_fabric_wire_bytes(f, p) == p + 24 * packets, "mps %llu payload %llu: %u", (unsigned long long)mps[i],
                  (unsigned long long)p, scim_fabric_wire_bytes(f, p));
        }
        scim_fabric_destroy(f);
        scim_kernel_destroy(k);
    }
}
END_TEST

START_TEST(topology_errors)
{
    scim_kernel *k;
    scim_fabric *f = make(&k, 24, 256);
    sink s = {0};
    scim_node_id a, b, c;
    scim_err err = {0};
    ck_assert_int_eq(scim_fabric_add_node(f, "a", on_recv, &s, &a, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "b", on_recv, &s, &b, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "island", on_recv, &s, &c, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "a", on_recv, &s, NULL, &err), SCIM_EEXIST);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_node(f, "Bad-Name", on_recv, &s, NULL, &err), SCIM_EINVAL);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, a, b, 1, 0, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, b, a, 1, 0, &err), SCIM_EEXIST);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, &err), SCIM_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "island"));
    ck_assert_ptr_nonnull(strstr(err.msg, "fabric.links"));
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 0), 24);
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 256), 280);
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 4096), 4096 + 16 * 24);
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 257), 257 + 48);
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

static scim_time_t never_serves(void *ctx, scim_msg_type type, uint64_t len, scim_time_t at, uint32_t *resp_wire)
{
    return at;
}

/* Every refusal a user's topology can meet, with its code and message;
 * ids past the last node answer "none" instead of reading past the table. */
START_TEST(refusals_and_ids_out_of_range)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    scim_fabric_params zero = {24, 0};
    ck_assert_ptr_null(scim_fabric_create(k, &zero, &err));
    ck_assert_int_eq(err.code, SCIM_ERANGE);
    ck_assert_str_eq(err.msg, "fabric.max_payload must be > 0");
    scim_err_clear(&err);
    scim_kernel_destroy(k);

    scim_fabric *f = make(&k, 24, 100); /* not a power of two: the division path */
    sink s = {0};
    /* names: empty, 48 characters (one too many), characters outside [a-z0-9_] */
    char longname[49];
    memset(longname, 'x', 48);
    longname[48] = '\0';
    const char *bad[] = {"", longname, "a:b", "a/b", "a{", "a`", "Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(scim_fabric_add_node(f, bad[i], on_recv, &s, NULL, &err), SCIM_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "use 1-47 characters from [a-z0-9_]"));
        scim_err_clear(&err);
    }
    longname[47] = '\0'; /* 47 is the longest name */
    ck_assert_int_eq(scim_fabric_add_node(f, longname, on_recv, &s, NULL, &err), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "b9_", on_recv, &s, NULL, &err), 0);
    ck_assert_uint_eq(scim_fabric_find(f, "b9_"), 1);
    ck_assert_int_eq(scim_fabric_add_node(f, "lonely", NULL, NULL, NULL, &err), 0);
    ck_assert_uint_eq(scim_fabric_node_count(f), 3);
    ck_assert_str_eq(scim_fabric_node_name(f, 3), "?");
    /* links: endpoints that are not nodes, a link to itself, twice (either order) */
    ck_assert_int_eq(scim_fabric_add_link(f, 0, 3, 1, 0, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "link endpoint is not a fabric node");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, 7, 0, 1, 0, &err), SCIM_EINVAL);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, 1, 1, 1, 0, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "a link from node 'b9_' to itself is not allowed");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, 0, 1, 5, 0, &err), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, 1, 2, 3, 0, &err), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, 0, 1, 5, 0, &err), SCIM_EEXIST);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, 2, 1, 5, 0, &err), SCIM_EEXIST);
    ck_assert_str_eq(err.msg, "two links join 'lonely' and 'b9_'; keep one");
    scim_err_clear(&err);
    /* a node nothing is attached to cannot be finalized */
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, &err), SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "fabric node 'lonely' has no component attached");
    scim_err_clear(&err);
    /* the lowest latency of a link into a node; 0 for a node with none */
    ck_assert_uint_eq(scim_fabric_min_latency_into(f, 1), 3);
    ck_assert_uint_eq(scim_fabric_min_latency_into(f, 0), 5);
    ck_assert_uint_eq(scim_fabric_min_latency_into(f, 9), 0);
    /* wire bytes: 100 B per packet; a payload past 4 GiB saturates */
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 100), 124);
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, 101), 101 + 48);
    ck_assert_uint_eq(scim_fabric_wire_bytes(f, (uint64_t)1 << 40), UINT32_MAX);
    /* ids past the last node: no port, no fast service, set calls ignored */
    ck_assert_ptr_null(scim_fabric_port(f, 3));
    scim_fabric_set_port(f, 3, (struct scim_port *)f);
    ck_assert_ptr_null(scim_fabric_port(f, 3));
    scim_fabric_set_fast_svc(f, 3, never_serves, NULL);
    ck_assert(!scim_fabric_fast_serves(f, 3));
    ck_assert(!scim_fabric_fast_serves(f, 0));
    scim_fabric_set_fast_svc(f, 0, never_serves, NULL);
    ck_assert(scim_fabric_fast_serves(f, 0));
    scim_msg_free(f, NULL); /* documented as a no-op */
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);

    /* after finalize: finalize again is a no-op, adding is refused */
    f = make(&k, 24, 256);
    ck_assert_int_eq(scim_fabric_add_node(f, "a", on_recv, &s, NULL, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "b", on_recv, &s, NULL, NULL), 0);
    ck_assert_int_eq(scim_fabric_add_link(f, 0, 1, 1, 0, NULL), 0);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, &err), 0);
    ck_assert_int_eq(scim_fabric_finalize(f, NULL, &err), 0);
    ck_assert_int_eq(scim_fabric_add_node(f, "c", on_recv, &s, NULL, &err), SCIM_ESTATE);
    ck_assert_str_eq(err.msg, "cannot add node 'c': the fabric is finalized");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_fabric_add_link(f, 0, 1, 1, 0, &err), SCIM_ESTATE);
    ck_assert_str_eq(err.msg, "cannot add a link: the fabric is finalized");
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

/* A message from the free list is blank (every field zero, endpoints
 * NONE) however its previous user left it, whether it is recycled or
 * comes from a new block; next_free is the list's own and not compared. */
START_TEST(recycled_messages_are_blank)
{
    scim_kernel *k;
    scim_fabric *f = make(&k, 24, 256);
    scim_msg blank;
    memset(&blank, 0, sizeof blank);
    blank.src = blank.dst = blank.at = SCIM_NODE_NONE;
    enum { N = 600 }; /* more than one block of the free list */
    static scim_msg *ms[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            ms[i] = scim_msg_alloc(f);
            ck_assert_ptr_nonnull(ms[i]);
            scim_msg got = *ms[i];
            got.next_free = NULL;
            ck_assert_msg(memcmp(&got, &blank, sizeof got) == 0, "message %d of round %d is not blank", i, round);
            memset(ms[i], 0xa5, sizeof *ms[i]); /* dirty every byte for the next round */
        }
        for (int i = 0; i < N; i++)
            scim_msg_free(f, ms[i]);
    }
    scim_fabric_destroy(f);
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("fabric");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, single_link_latency_and_fifo);
    tcase_add_test(tc, tandem_queue_matches_recurrence);
    tcase_add_test(tc, routes_take_lowest_latency_and_reply_returns);
    tcase_add_test(tc, topology_errors);
    tcase_add_test(tc, refusals_and_ids_out_of_range);
    tcase_add_test(tc, rate_matches_128bit_division);
    tcase_add_test(tc, wire_bytes_one_header_per_packet);
    tcase_add_test(tc, recycled_messages_are_blank);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
