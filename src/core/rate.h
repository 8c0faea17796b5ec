/* Transfer time at a bandwidth, ceil(bytes * 10^12 / bytes_per_s) ps,
 * without a 128-bit division on the common path.
 *
 * With 10^12 = q * bps + r (precomputed), bytes * 10^12 / bps =
 * bytes * q + bytes * r / bps, so the ceiling is bytes * q +
 * ceil(bytes * r / bps): one 64-bit multiply-add and one 64-bit division,
 * exact whenever nothing overflows 64 bits (every realistic size and
 * bandwidth). Otherwise the 128-bit formula, truncated to 64 bits as
 * before, gives the same result as it always did. A memo of two sizes
 * skips even that when a link carries one or two message sizes (reads'
 * and writes' requests or answers) one after another.
 */
#ifndef SCIM_CORE_RATE_H
#define SCIM_CORE_RATE_H

#include "scimitar/scimitar.h"

#define SCIM_PS_PER_S 1000000000000ull

typedef struct scim_rate {
    uint64_t bps; /* 0: unlimited, every transfer takes 0 ps */
    uint64_t q, r; /* 10^12 = q * bps + r */
    /* the last two sizes (requests and answers alternate on a link) and
     * their times; a new size replaces the one used less recently */
    uint64_t memo_bytes[2];
    scim_time_t memo_ps[2];
    unsigned memo_next; /* the entry a new size replaces */
} scim_rate;

static inline void scim_rate_init(scim_rate *rt, uint64_t bytes_per_s)
{
    *rt = (scim_rate){.bps = bytes_per_s};
    if (bytes_per_s) {
        rt->q = SCIM_PS_PER_S / bytes_per_s;
        rt->r = SCIM_PS_PER_S % bytes_per_s;
    }
}

/* The exact reference, as the simulator always computed it. */
static inline scim_time_t scim_rate_time_ref(uint64_t bytes_per_s, uint64_t bytes)
{
    if (bytes_per_s == 0)
        return 0;
    return (scim_time_t)(((unsigned __int128)bytes * SCIM_PS_PER_S + bytes_per_s - 1) / bytes_per_s);
}

/* A size in neither memo entry: out of line, so that the common case
 * inlines to two compares and makes its caller save no registers. */
static __attribute__((noinline, unused)) scim_time_t scim_rate_time_new(scim_rate *rt, uint64_t bytes)
{
    uint64_t whole, part, num;
    scim_time_t t;
    if (__builtin_mul_overflow(bytes, rt->q, &whole) || __builtin_mul_overflow(bytes, rt->r, &part) ||
        __builtin_add_overflow(part, rt->bps - 1, &num) || __builtin_add_overflow(whole, num / rt->bps, &t))
        t = scim_rate_time_ref(rt->bps, bytes);
    unsigned i = rt->memo_next;
    rt->memo_bytes[i] = bytes;
    rt->memo_ps[i] = t;
    rt->memo_next = i ^ 1u;
    return t;
}

static inline scim_time_t scim_rate_time(scim_rate *rt, uint64_t bytes)
{
    /* both entries start as (0 bytes, 0 ps); unlimited bandwidth is 0 ps */
    if (bytes == rt->memo_bytes[0] || rt->bps == 0)
        return rt->memo_ps[0];
    if (bytes == rt->memo_bytes[1]) {
        rt->memo_next = 0;
        return rt->memo_ps[1];
    }
    return scim_rate_time_new(rt, bytes);
}

#endif
