/* Ports: tags route responses to the client that asked, with its id;
 * a bounded input queue makes senders wait in FIFO order and counts the
 * wait; the oldest unanswered request is reported; seeds by path. */
#include <check.h>
#include <string.h>

#include "core/fifo.h"
#include "core/pool.h"
#include "core/rng.h"
#include "helpers/mockport.h"

#define NS SCIM_NS

/* A client of a mock's port that logs its responses. */
typedef struct client_log {
    uint64_t ids[16];
    scim_time_t at[16];
    size_t n;
    scim_port *port;
    scim_kernel *k;
} client_log;

static void on_client_response(void *ctx, scim_msg *m)
{
    client_log *c = ctx;
    c->at[c->n] = scim_kernel_now(c->k);
    c->ids[c->n++] = m->tag;
    scim_port_free(c->port, m);
}

START_TEST(responses_reach_the_client_that_asked)
{
    test_rig r;
    rig_init(&r);
    mock_ep *a = mock_add(&r, "a", MOCK_HOLD, 0);
    mock_ep *b = mock_add(&r, "b", MOCK_ECHO, NS(5));
    rig_link(&r, "a", "b", NS(10), 0);
    rig_finalize(&r);
    client_log cl = {.port = a->port, .k = r.k};
    int c = scim_port_add_client(a->port, on_client_response, &cl);
    ck_assert_int_gt(c, 0);
    scim_msg *m = scim_port_msg(a->port, SCIM_MSG_OS_REQ, rig_node(&r, "b"));
    scim_port_request(a->port, c, 777, m);
    mock_request(a, rig_node(&r, "b"), SCIM_MSG_OS_REQ, NULL, 42);
    ck_assert_uint_eq(scim_port_outstanding(a->port), 2);
    rig_run(&r);
    /* the client got its id back, the owner its own, each once */
    ck_assert_uint_eq(cl.n, 1);
    ck_assert_uint_eq(cl.ids[0], 777);
    ck_assert_uint_eq(cl.at[0], NS(10) + NS(5) + NS(10));
    ck_assert_uint_eq(mock_count(a, SCIM_MSG_OS_RESP), 1);
    ck_assert_uint_eq(mock_find(a, SCIM_MSG_OS_RESP, 0)->m.tag, 42);
    ck_assert_uint_eq(scim_port_outstanding(a->port), 0);
    mock_free(a);
    mock_free(b);
    rig_free(&r);
}
END_TEST

/* Three senders, a receiver holding two requests at most: the third
 * waits at its sender until the first answer frees a place, and leaves
 * then; the wait is counted at the sender. */
START_TEST(a_full_receiver_makes_the_sender_wait)
{
    test_rig r;
    rig_init(&r);
    mock_ep *rx = mock_add(&r, "rx", MOCK_HOLD, 0);
    mock_ep *s[3];
    const char *names[3] = {"s0", "s1", "s2"};
    for (int i = 0; i < 3; i++)
        s[i] = mock_add(&r, names[i], MOCK_HOLD, 0);
    scim_err err = {0};
    ck_assert_int_eq(scim_port_queue(rx->port, "in", 1u << SCIM_MSG_INV_REQ, 2, r.stats, &err), 0);
    for (int i = 0; i < 3; i++)
        rig_link(&r, names[i], "rx", NS(100), 0);
    rig_finalize(&r);
    for (int i = 0; i < 3; i++)
        mock_request(s[i], rig_node(&r, "rx"), SCIM_MSG_INV_REQ, NULL, (uint64_t)i);
    rig_run(&r);
    ck_assert_uint_eq(mock_count(rx, SCIM_MSG_INV_REQ), 2); /* s2 waits */
    ck_assert_uint_eq(scim_port_outstanding(s[2]->port), 1);
    scim_msg_type t;
    scim_node_id dst;
    scim_time_t since;
    ck_assert(scim_port_oldest(s[2]->port, &t, &dst, &since));
    ck_assert_int_eq(t, SCIM_MSG_INV_REQ);
    ck_assert_uint_eq(dst, rig_node(&r, "rx"));
    ck_assert_uint_eq(since, 0);
    /* answer s0's request at 1 us: s2's request leaves then */
    scim_kernel_run_until(r.k, NS(1000), &err);
    mock_answer(rx, 0, SCIM_RESP_OK, NULL);
    rig_run(&r);
    ck_assert_uint_eq(mock_count(rx, SCIM_MSG_INV_REQ), 3);
    ck_assert_uint_eq(mock_find(rx, SCIM_MSG_INV_REQ, 2)->at, NS(1000) + NS(100));
    ck_assert_uint_eq(mock_find(rx, SCIM_MSG_INV_REQ, 2)->m.src, rig_node(&r, "s2"));
    ck_assert_uint_eq((uint64_t)rig_stat(&r, "s2.port.credit_waits"), 1);
    ck_assert_uint_eq((uint64_t)rig_stat(&r, "s2.port.credit_wait.max"), NS(1000));
    ck_assert_uint_eq((uint64_t)rig_stat(&r, "s0.port.credit_waits"), 0);
    ck_assert_uint_eq((uint64_t)rig_stat(&r, "rx.queue.in.peak"), 2);
    /* answer the rest: every sender got its completion with its id */
    mock_answer(rx, 1, SCIM_RESP_OK, NULL);
    mock_answer(rx, 2, SCIM_RESP_OK, NULL);
    rig_run(&r);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(mock_count(s[i], SCIM_MSG_INV_DONE), 1);
        ck_assert_uint_eq(mock_find(s[i], SCIM_MSG_INV_DONE, 0)->m.tag, (uint64_t)i);
        mock_free(s[i]);
    }
    mock_free(rx);
    rig_free(&r);
}
END_TEST

/* Requests a queue does not hold (other types) and responses never wait. */
START_TEST(other_types_and_responses_need_no_credit)
{
    test_rig r;
    rig_init(&r);
    mock_ep *rx = mock_add(&r, "rx", MOCK_HOLD, 0);
    mock_ep *tx = mock_add(&r, "tx", MOCK_HOLD, 0);
    scim_err err = {0};
    ck_assert_int_eq(scim_port_queue(rx->port, "in", 1u << SCIM_MSG_INV_REQ, 1, r.stats, &err), 0);
    rig_link(&r, "tx", "rx", NS(10), 0);
    rig_finalize(&r);
    mock_request(tx, rig_node(&r, "rx"), SCIM_MSG_INV_REQ, NULL, 1);
    for (int i = 0; i < 4; i++)
        mock_request(tx, rig_node(&r, "rx"), SCIM_MSG_OS_REQ, NULL, 10 + (uint64_t)i);
    rig_run(&r);
    ck_assert_uint_eq(mock_count(rx, SCIM_MSG_OS_REQ), 4);
    ck_assert_uint_eq((uint64_t)rig_stat(&r, "tx.port.credit_waits"), 0);
    mock_free(rx);
    mock_free(tx);
    rig_free(&r);
}
END_TEST

START_TEST(seeds_by_path_are_distinct_and_stable)
{
    const char *paths[] = {"nic0.iotlb", "nic0.utlb", "nic1.iotlb", "nic1.utlb", "iommu.iotlb", "cpu0.l1tlb"};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(scim_seed_for(1, paths[i]) != scim_seed_for(1, paths[j]), "%s and %s share a seed",
                          paths[i], paths[j]);
    ck_assert_uint_eq(scim_seed_for(1, "nic0.iotlb"), scim_seed_for(1, "nic0.iotlb"));
    ck_assert_uint_ne(scim_seed_for(1, "nic0.iotlb"), scim_seed_for(2, "nic0.iotlb"));
}
END_TEST

/* What a port refuses: a ninth client, a fifth queue, a queue name too
 * long, a queue whose statistics are already there (with and without an
 * error record: the code is the registry's, not a guess). */
START_TEST(port_limits_are_refused)
{
    test_rig r;
    rig_init(&r);
    mock_ep *a = mock_add(&r, "a", MOCK_HOLD, 0);
    client_log cl = {.port = a->port, .k = r.k};
    /* client 0 is the owner: 7 more fit, the next is refused */
    for (int i = 1; i < SCIM_PORT_MAX_CLIENTS; i++)
        ck_assert_int_eq(scim_port_add_client(a->port, on_client_response, &cl), i);
    ck_assert_int_eq(scim_port_add_client(a->port, on_client_response, &cl), SCIM_ERANGE);
    scim_err err = {0};
    /* 24 characters: one past the longest name */
    ck_assert_int_eq(scim_port_queue(a->port, "abcdefghijklmnopqrstuvwx", 1u << SCIM_MSG_INV_REQ, 1, NULL, &err),
                     SCIM_ERANGE);
    ck_assert_str_eq(err.msg, "port 'a': cannot add input queue 'abcdefghijklmnopqrstuvwx'");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_port_queue(a->port, "q0", 1u << SCIM_MSG_INV_REQ, 1, r.stats, &err), 0);
    ck_assert_int_eq(scim_port_queue(a->port, "q0", 1u << SCIM_MSG_OS_REQ, 1, r.stats, &err), SCIM_EEXIST);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_port_queue(a->port, "q0", 1u << SCIM_MSG_OS_REQ, 1, r.stats, NULL), SCIM_EEXIST);
    /* no statistics registry: the queue works unobserved */
    ck_assert_int_eq(scim_port_queue(a->port, "q1", 1u << SCIM_MSG_PRI_REQ, 1, NULL, &err), 0);
    ck_assert_int_eq(scim_port_queue(a->port, "q2", 1u << SCIM_MSG_ATS_REQ, 1, NULL, &err), 0);
    ck_assert_int_eq(scim_port_queue(a->port, "q3", 1u << SCIM_MSG_MEM_READ, 1, NULL, &err), 0);
    ck_assert_int_eq(scim_port_queue(a->port, "q4", 1u << SCIM_MSG_MEM_WRITE, 1, NULL, &err), SCIM_ERANGE);
    ck_assert_str_eq(err.msg, "port 'a': cannot add input queue 'q4'");
    mock_free(a);
    rig_free(&r);
}
END_TEST

/* Cancel gives up only the requests that match client, id and
 * destination, not yet sent and not given up before; the oldest request
 * then skips the abandoned ones, and their late answers are dropped. */
START_TEST(cancel_matches_client_id_and_destination)
{
    test_rig r;
    rig_init(&r);
    mock_ep *a = mock_add(&r, "a", MOCK_HOLD, 0);
    mock_ep *b = mock_add(&r, "b", MOCK_HOLD, 0);
    mock_ep *c = mock_add(&r, "c", MOCK_HOLD, 0);
    rig_link(&r, "a", "b", NS(10), 0);
    rig_link(&r, "a", "c", NS(10), 0);
    rig_finalize(&r);
    client_log cl = {.port = a->port, .k = r.k};
    int cli = scim_port_add_client(a->port, on_client_response, &cl);
    scim_node_id nb = rig_node(&r, "b"), nc = rig_node(&r, "c");
    scim_port_request(a->port, cli, 5, scim_port_msg(a->port, SCIM_MSG_OS_REQ, nb)); /* at 0 */
    scim_err err = {0};
    scim_kernel_run_until(r.k, NS(3), &err);
    scim_port_request(a->port, cli, 6, scim_port_msg(a->port, SCIM_MSG_OS_REQ, nc)); /* at 3 ns */
    scim_port_request_at(a->port, NS(50), cli, 5, scim_port_msg(a->port, SCIM_MSG_OS_REQ, nb));
    ck_assert_uint_eq(scim_port_outstanding(a->port), 3);
    ck_assert_uint_eq(scim_port_cancel(a->port, 0, 5, nb), 0);   /* another client */
    ck_assert_uint_eq(scim_port_cancel(a->port, cli, 7, nb), 0); /* another id */
    ck_assert_uint_eq(scim_port_cancel(a->port, cli, 6, nb), 0); /* another destination */
    ck_assert_uint_eq(scim_port_cancel(a->port, cli, 5, nb), 1); /* not the one still to leave */
    ck_assert_uint_eq(scim_port_cancel(a->port, cli, 5, nb), 0); /* given up already */
    ck_assert_uint_eq(scim_port_outstanding(a->port), 2);
    scim_msg_type t;
    scim_node_id dst;
    scim_time_t since;
    ck_assert(scim_port_oldest(a->port, &t, &dst, &since));
    ck_assert_uint_eq(dst, nc);
    ck_assert_uint_eq(since, NS(3));
    rig_run(&r);
    ck_assert_uint_eq(mock_count(b, SCIM_MSG_OS_REQ), 2);
    mock_answer(b, 0, SCIM_RESP_OK, NULL); /* the abandoned one: dropped */
    mock_answer(b, 1, SCIM_RESP_OK, NULL);
    mock_answer(c, 0, SCIM_RESP_OK, NULL);
    rig_run(&r);
    ck_assert_uint_eq(cl.n, 2);
    ck_assert_uint_eq(cl.ids[0] + cl.ids[1], 11);
    ck_assert_uint_eq(scim_port_outstanding(a->port), 0);
    ck_assert(!scim_port_oldest(a->port, &t, &dst, &since));
    mock_free(a);
    mock_free(b);
    mock_free(c);
    rig_free(&r);
}
END_TEST

/* A response whose tag the receiver never gave out is an invariant
 * failure naming both ends, whether the tag is free or past 32 bits. */
START_TEST(a_response_with_an_unknown_tag_fails_the_run)
{
    static const uint64_t tags[2] = {3, (uint64_t)1 << 33};
    static const char *want[2] = {"port 'b' got a os_resp with unknown tag 3 from 'a'",
                                  "port 'b' got a os_resp with unknown tag 8589934592 from 'a'"};
    for (int i = 0; i < 2; i++) {
        test_rig r;
        rig_init(&r);
        mock_ep *a = mock_add(&r, "a", MOCK_HOLD, 0);
        mock_ep *b = mock_add(&r, "b", MOCK_HOLD, 0);
        rig_link(&r, "a", "b", NS(10), 0);
        rig_finalize(&r);
        scim_msg *m = scim_port_msg(a->port, SCIM_MSG_OS_RESP, rig_node(&r, "b"));
        m->tag = tags[i];
        scim_fabric_send(r.f, m);
        char msg[256];
        ck_assert_int_eq(rig_run_status(&r, msg, sizeof msg), SCIM_EINVARIANT);
        ck_assert_str_eq(msg, want[i]);
        mock_free(a);
        mock_free(b);
        rig_free(&r);
    }
}
END_TEST

/* A bare fabric node (no port: no input queues) takes a request without
 * any credit, and receives it after the link's latency. */
typedef struct bare {
    scim_fabric *f;
    scim_kernel *k;
    scim_time_t at;
    int n;
} bare;

static void on_bare(void *ctx, scim_msg *m)
{
    bare *b = ctx;
    b->at = scim_kernel_now(b->k);
    b->n++;
    scim_msg_free(b->f, m);
}

START_TEST(a_request_to_a_node_without_a_port_needs_no_credit)
{
    test_rig r;
    rig_init(&r);
    mock_ep *a = mock_add(&r, "a", MOCK_HOLD, 0);
    bare b = {r.f, r.k, 0, 0};
    scim_err err = {0};
    ck_assert_int_eq(scim_fabric_add_node(r.f, "raw", on_bare, &b, NULL, &err), 0);
    rig_link(&r, "a", "raw", NS(7), 0);
    rig_finalize(&r);
    mock_request(a, rig_node(&r, "raw"), SCIM_MSG_INV_REQ, NULL, 1);
    rig_run(&r);
    ck_assert_int_eq(b.n, 1);
    ck_assert_uint_eq(b.at, NS(7));
    ck_assert_uint_eq(scim_port_outstanding(a->port), 1); /* never answered */
    mock_free(a);
    rig_free(&r);
}
END_TEST

/* A small generator of its own, so that the reference models below do not
 * depend on the code under test. */
static uint32_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*x >> 33);
}

/* The slot pool a port's tags live in, against a brute-force model: a
 * new slot is the most recently released one (else the lowest never
 * used), alloc zeroes it and take leaves it as its last user did (a slot
 * never used before holds anything). */
START_TEST(pool_matches_a_reference_model)
{
    enum { ELEM = 24, OPS = 20000, MAXS = 512 };
    scim_pool p;
    scim_pool_init(&p, ELEM);
    static uint8_t shadow[MAXS][ELEM]; /* what each slot holds */
    static bool live[MAXS], known[MAXS];
    static uint32_t freed[MAXS]; /* released slots, most recent last */
    uint32_t n_freed = 0, next_new = 0, n_live = 0;
    uint64_t x = 7;
    for (int op = 0; op < OPS; op++) {
        uint32_t r = lcg(&x) % 8;
        if (r < 4 && next_new + n_freed > 0 && n_live > 0) { /* release a live slot */
            uint32_t i = lcg(&x) % MAXS;
            while (!live[i])
                i = (i + 1) % MAXS;
            scim_pool_release(&p, i);
            live[i] = false;
            n_live--;
            freed[n_freed++] = i;
            continue;
        }
        if (n_freed == 0 && next_new == MAXS)
            continue;
        uint32_t want = n_freed ? freed[--n_freed] : next_new++;
        bool zero = r & 1;
        uint32_t got = zero ? scim_pool_alloc(&p) : scim_pool_take(&p);
        ck_assert_uint_eq(got, want);
        ck_assert(scim_pool_used(&p, got));
        if (zero) {
            memset(shadow[got], 0, ELEM);
            known[got] = true;
        }
        if (known[got])
            ck_assert_msg(memcmp(scim_pool_at(&p, got), shadow[got], ELEM) == 0, "slot %u holds the wrong bytes", got);
        for (int b = 0; b < ELEM; b++) /* its user writes it */
            shadow[got][b] = (uint8_t)lcg(&x);
        memcpy(scim_pool_at(&p, got), shadow[got], ELEM);
        known[got] = live[got] = true;
        n_live++;
        ck_assert_uint_eq(scim_pool_len(&p), n_live);
    }
    scim_pool_free(&p);
}
END_TEST

/* The FIFO of a port's credit queues, through the copying (push, pop) and
 * the in-place (push_slot, push_slot_room, front, at, drop) calls mixed,
 * against an array. */
START_TEST(fifo_matches_a_reference_model)
{
    enum { OPS = 20000, MAXN = 4096 };
    typedef struct pair {
        uint64_t a, b;
    } pair;
    scim_fifo q;
    scim_fifo_init(&q, sizeof(pair));
    static pair ref[OPS];
    size_t head = 0, tail = 0;
    uint64_t x = 11;
    for (int op = 0; op < OPS; op++) {
        uint32_t r = lcg(&x) % 5;
        if (r < 2 && tail - head < MAXN) {
            pair v = {lcg(&x), (uint64_t)op};
            ref[tail++] = v;
            if (r == 0) {
                ck_assert(scim_fifo_push(&q, &v));
            } else {
                bool full = scim_fifo_full(&q); /* the next push grows it (an empty, new FIFO too) */
                pair *slot = full ? scim_fifo_push_slot(&q) : scim_fifo_push_slot_room(&q);
                ck_assert_ptr_nonnull(slot);
                *slot = v;
            }
        } else if (head < tail) {
            ck_assert_ptr_eq(scim_fifo_front(&q), scim_fifo_at(&q, 0));
            pair front = *(const pair *)scim_fifo_front(&q);
            ck_assert_uint_eq(front.a, ref[head].a);
            ck_assert_uint_eq(front.b, ref[head].b);
            size_t i = lcg(&x) % (tail - head); /* any element, through at */
            ck_assert_uint_eq(((const pair *)scim_fifo_at(&q, i))->b, ref[head + i].b);
            if (r == 2) {
                pair out;
                ck_assert(scim_fifo_pop(&q, &out));
                ck_assert_uint_eq(out.b, ref[head].b);
            } else {
                scim_fifo_drop(&q);
            }
            head++;
        } else {
            ck_assert(!scim_fifo_pop(&q, NULL));
        }
        ck_assert_uint_eq(scim_fifo_len(&q), tail - head);
        ck_assert_ptr_null(scim_fifo_at(&q, tail - head));
    }
    scim_fifo_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("port");
    TCase *tc = tcase_create("port");
    tcase_add_test(tc, responses_reach_the_client_that_asked);
    tcase_add_test(tc, a_full_receiver_makes_the_sender_wait);
    tcase_add_test(tc, other_types_and_responses_need_no_credit);
    tcase_add_test(tc, seeds_by_path_are_distinct_and_stable);
    tcase_add_test(tc, port_limits_are_refused);
    tcase_add_test(tc, cancel_matches_client_id_and_destination);
    tcase_add_test(tc, a_response_with_an_unknown_tag_fails_the_run);
    tcase_add_test(tc, a_request_to_a_node_without_a_port_needs_no_credit);
    tcase_add_test(tc, pool_matches_a_reference_model);
    tcase_add_test(tc, fifo_matches_a_reference_model);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
