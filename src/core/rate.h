/* Transfer time at a bandwidth, ceil(bytes * 10^12 / bytes_per_s) ps,
 * without a 128-bit division on the common path.
 *
 * With 10^12 = q * bps + r (precomputed), bytes * 10^12 / bps =
 * bytes * q + bytes * r / bps, so the ceiling is bytes * q +
 * ceil(bytes * r / bps): one 64-bit multiply-add and one 64-bit division,
 * exact whenever nothing overflows 64 bits (every realistic size and
 * bandwidth). Otherwise the 128-bit formula, truncated to 64 bits as
 * before, gives the same result as it always did. A memo of the last two
 * sizes skips even that when a link carries one or two message sizes
 * (reads' and writes' requests or answers) one after another.
 */
#ifndef SCIM_CORE_RATE_H
#define SCIM_CORE_RATE_H

#include "scimitar/scimitar.h"

#define SCIM_PS_PER_S 1000000000000ull

typedef struct scim_rate {
    uint64_t bps; /* 0: unlimited, every transfer takes 0 ps */
    uint64_t q, r; /* 10^12 = q * bps + r */
    uint64_t memo_bytes, memo2_bytes; /* the last two sizes: requests and answers alternate */
    scim_time_t memo_ps, memo2_ps;
} scim_rate;

static inline void scim_rate_init(scim_rate *rt, uint64_t bytes_per_s)
{
    *rt = (scim_rate){bytes_per_s, 0, 0, 0, 0, 0, 0};
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

static inline scim_time_t scim_rate_time(scim_rate *rt, uint64_t bytes)
{
    if (bytes == rt->memo_bytes || rt->bps == 0)
        return rt->memo_ps; /* 0 ps for bytes 0 and for unlimited bandwidth */
    if (bytes == rt->memo2_bytes) {
        scim_time_t t = rt->memo2_ps;
        rt->memo2_bytes = rt->memo_bytes;
        rt->memo2_ps = rt->memo_ps;
        rt->memo_bytes = bytes;
        rt->memo_ps = t;
        return t;
    }
    uint64_t whole, part, num;
    scim_time_t t;
    if (__builtin_mul_overflow(bytes, rt->q, &whole) || __builtin_mul_overflow(bytes, rt->r, &part) ||
        __builtin_add_overflow(part, rt->bps - 1, &num) || __builtin_add_overflow(whole, num / rt->bps, &t))
        t = scim_rate_time_ref(rt->bps, bytes);
    rt->memo2_bytes = rt->memo_bytes;
    rt->memo2_ps = rt->memo_ps;
    rt->memo_bytes = bytes;
    rt->memo_ps = t;
    return t;
}

#endif
