/* The inline decoder of common binary records (scim_trace_next_quick,
 * core/trace_internal.h) against the reader's own path (scim_trace_next):
 * random binary traces, well formed and corrupted byte by byte, read by
 * two readers over the same bytes, one taking the quick path wherever it
 * accepts a record: the same records (every field), the same end, the
 * same error message at the same place. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "core/trace_internal.h"
#include "helpers/testutil.h"
#include "scimitar/trace.h"

static uint64_t rng_state;
static unsigned odd_one; /* one record in odd_one is any bytes */
static uint64_t qrnd(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t put_varint(unsigned char *b, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        b[n++] = c | (v ? 0x80 : 0);
    } while (v);
    return n;
}

/* A value of a random length in bytes (one to ten) and now and then an
 * edge: 0, a length's largest, the limits the reader checks. */
static uint64_t rnd_value(void)
{
    switch (qrnd() % 8) {
    case 0: return 0;
    case 1: return qrnd() % 128;
    case 2: return SCIM_TRACE_MAX_NS + qrnd() % 3 - 1;
    case 3: return SCIM_TRACE_PASID_MAX + qrnd() % 3 - 1;
    case 4: return (1ull << (7 * (qrnd() % 9 + 1))) - qrnd() % 2;
    default: return qrnd() >> (qrnd() % 64);
    }
}

/* One record's bytes: mostly what the replay engine meets (no keys or
 * pasid= alone, small values), else any tag, keys and values. */
static size_t put_record(unsigned char *b)
{
    size_t n = 0;
    bool common = qrnd() % odd_one != 0;
    unsigned tag = common ? (unsigned)(qrnd() % 2) | (qrnd() % 2 ? 0x10u : 0) | (qrnd() % 2 ? 0x20u : 0)
                          : (unsigned)(qrnd() % 256);
    b[n++] = (unsigned char)tag;
    n += put_varint(b + n, common ? qrnd() % 300 : rnd_value());
    /* address deltas: mostly forward (an even zigzag), so that the address
     * rarely goes below 0 and wraps */
    n += put_varint(b + n, common ? (qrnd() % (1u << (qrnd() % 30))) & (qrnd() % 256 ? ~1ull : ~0ull) : rnd_value());
    n += put_varint(b + n, common ? 1 + qrnd() % 9000 : rnd_value());
    if (tag & 0x20) {
        uint64_t has = common ? SCIM_TRACE_HAS_PASID : qrnd() % 2 ? qrnd() % 64 : rnd_value();
        n += put_varint(b + n, has);
        for (uint64_t bits = has & 0x3f; bits; bits &= bits - 1)
            n += put_varint(b + n, common && qrnd() % 8 ? qrnd() % 2000 : rnd_value());
    }
    return n;
}

static bool same_rec(const scim_trace_rec *a, const scim_trace_rec *b)
{
    return a->timing == b->timing && a->time_ns == b->time_ns && a->op == b->op && a->addr == b->addr &&
           a->size == b->size && a->has == b->has && a->pasid == b->pasid && a->prot == b->prot &&
           a->populate == b->populate && a->page_shift == b->page_shift && a->io == b->io && a->node == b->node &&
           a->line == b->line;
}

/* Both readers over buf; returns how many records the quick path took. */
static uint64_t compare_readers(const unsigned char *buf, size_t len)
{
    scim_err e1 = {0}, e2 = {0};
    scim_trace_reader *slow = scim_trace_open_mem(buf, len, "t.bin", &e1);
    scim_trace_reader *quick = scim_trace_open_mem(buf, len, "t.bin", &e2);
    ck_assert_msg(slow && quick, "%s", e1.msg);
    uint64_t taken = 0;
    for (;;) {
        scim_trace_rec a, b;
        memset(&a, 0x5a, sizeof a);
        memset(&b, 0xa5, sizeof b);
        int rc1 = scim_trace_next(slow, &a, &e1);
        int rc2;
        if (scim_trace_next_quick(quick, &b)) {
            rc2 = 1;
            taken++;
        } else {
            rc2 = scim_trace_next(quick, &b, &e2);
        }
        ck_assert_int_eq(rc1, rc2);
        ck_assert_uint_eq(scim_trace_offset(slow), scim_trace_offset(quick));
        if (rc1 < 0) {
            ck_assert_str_eq(e1.msg, e2.msg);
            break;
        }
        if (rc1 == 0)
            break;
        char fa[256], fb[256];
        scim_trace_format_rec(&a, fa, sizeof fa);
        scim_trace_format_rec(&b, fb, sizeof fb);
        ck_assert_msg(same_rec(&a, &b), "record %llu: '%s' against '%s'", (unsigned long long)a.line, fa, fb);
    }
    scim_trace_close(slow);
    scim_trace_close(quick);
    return taken;
}

START_TEST(test_quick_matches_reader)
{
    enum { MAX = 1 << 16 };
    static unsigned char buf[MAX + 64];
    const unsigned char magic[8] = {'S', 'C', 'I', 'M', 'T', 'R', 'B', 1};
    uint64_t taken = 0, traces = 0;
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 400; t++) {
        memcpy(buf, magic, 8);
        size_t n = 8;
        odd_one = t % 4 == 0 ? 4 : 500;
        size_t want = 8 + qrnd() % (t % 10 == 0 ? MAX - 8 : 600);
        while (n < want)
            n += put_record(buf + n);
        /* some traces corrupted: a byte changed, or cut anywhere */
        if (t % 3 == 1 && n > 8)
            buf[8 + qrnd() % (n - 8)] = (unsigned char)qrnd();
        if (t % 5 == 2)
            n = 8 + qrnd() % (n - 8 + 1);
        taken += compare_readers(buf, n);
        traces++;
    }
    /* the quick path must have been taken (most records are common ones) */
    ck_assert_uint_gt(taken, traces * 10);
}
END_TEST

START_TEST(test_quick_declines)
{
    /* text traces and records needing the reader's checks: never taken */
    const char *text = "+1 read 0x1000 64\n";
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open_mem(text, strlen(text), "t.txt", &err);
    ck_assert_ptr_nonnull(r);
    scim_trace_rec rec;
    ck_assert(!scim_trace_next_quick(r, &rec));
    ck_assert_int_eq(scim_trace_next(r, &rec, &err), 1);
    scim_trace_close(r);
    /* the quick path's constants are the format's */
    ck_assert_uint_eq(SCIM_TRACE_PASID_MAX, scim_trace_keys[0].max);
    ck_assert_uint_eq(scim_trace_keys[0].bit, SCIM_TRACE_HAS_PASID);
    ck_assert_uint_eq(scim_trace_keys[0].ops, (1u << SCIM_OP_COUNT_) - 1); /* pasid= applies to every op */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_quick");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_quick_matches_reader);
    tcase_add_test(tc, test_quick_declines);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
