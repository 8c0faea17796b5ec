/* Latency histograms. Contract in core/stats.h.
 *
 * Histogram model (HDR-style log-linear buckets):
 *   - values 0..255 have a bucket each (exact);
 *   - a value v >= 256 with e = floor(log2 v) falls in the bucket of its top
 *     8 significant bits: width w = 2^(e-7), lower bound L = v - v mod w.
 *     v - L <= w - 1 and v >= L >= 128 w, so the reported lower bound
 *     satisfies L <= v and (v - L) / v <= (w - 1) / (129 w - 1) < 1/129,
 *     which is below the 1/128 the header promises (and (v - L) / L < 1/128).
 *   - bucket index = (s << 7) + (v >> s) with s = max(e - 7, 0): 0..255 for
 *     the exact values, then 128 buckets per exponent 8..63: 7424 buckets,
 *     58 rows of 128.
 *   - rows are allocated on the first sample that lands in them. A flat
 *     7424-bucket array is 58 KiB per histogram; latencies in picoseconds
 *     typically span 15-25 exponents, so lazy rows cost 15-25 KiB, and a
 *     run has many histograms (several per device, many devices). The hot
 *     path pays one well-predicted NULL test for that.
 *   - if a row cannot be allocated the sample is counted as lost and the
 *     writers report SCIM_ENOMEM instead of printing wrong percentiles.
 *   - count, min, max are exact; sum is 128-bit, so 2^64 samples of 2^64-1
 *     cannot overflow it; mean = sum / count rounded to double.
 *   - percentile q: rank r = ceil(q/100 * count) clamped to [1, count], with
 *     q first rounded to 1e-6 (so that 99.9 means 999/1000 and not
 *     99.900000000000006/100) and the product computed in exact integer
 *     arithmetic. The result is the lower bound of the first bucket whose
 *     cumulative count reaches r (the bucket holding the r-th smallest
 *     sample), raised to min if below it. Hence the exact r-th smallest
 *     sample x satisfies result <= x, relative error < 1/129, and exactness
 *     below 256; a one-sample histogram reports that sample for every q.
 */
#include "core/stats_internal.h"

#include <stdlib.h>
#include <string.h>

#define HIST_ROW_BITS SCIM_HIST_ROW_BITS
#define HIST_ROW_LEN (1u << HIST_ROW_BITS) /* 128 buckets per row */
#define HIST_ROWS SCIM_HIST_ROWS

/* struct scim_hist and the recording fast path are in core/stats.h. */

static uint64_t hist_bucket_lower(unsigned idx)
{
    unsigned r = idx >> HIST_ROW_BITS;
    if (r < 2)
        return idx;
    unsigned s = r - 1u;
    uint64_t m = HIST_ROW_LEN + (idx & (HIST_ROW_LEN - 1u));
    return m << s;
}

scim_hist *scim_hist_new(void)
{
    scim_hist *h = calloc(1, sizeof *h);
    if (h)
        h->min = UINT64_MAX;
    return h;
}

void scim_hist_free(scim_hist *h)
{
    if (!h)
        return;
    for (unsigned r = 0; r < HIST_ROWS; r++)
        free(h->rows[r]);
    free(h);
}

void scim_hist_clear(scim_hist *h)
{
    for (unsigned r = 0; r < HIST_ROWS; r++)
        if (h->rows[r])
            memset(h->rows[r], 0, HIST_ROW_LEN * sizeof h->rows[r][0]);
    h->count = 0;
    h->sum = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->lost = 0;
    h->memo_b = NULL; /* min and max no longer hold its value */
    h->memo_run = 0;
}

void scim_hist_settle(scim_hist *h)
{
    *h->memo_b += h->memo_run;
    h->count += h->memo_run;
    h->sum += (unsigned __int128)h->memo_v * h->memo_run;
    h->memo_run = 0;
}

/* count and sum with the repeats not yet settled */
static uint64_t hist_count(const scim_hist *h) { return h->count + h->memo_run; }
static unsigned __int128 hist_sum(const scim_hist *h) { return h->sum + (unsigned __int128)h->memo_v * h->memo_run; }

void scim_hist_record_new_row(scim_hist *h, uint64_t value)
{
    unsigned idx = scim_hist_index(value);
    h->rows[idx >> HIST_ROW_BITS] = calloc(HIST_ROW_LEN, sizeof h->rows[0][0]);
    if (!h->rows[idx >> HIST_ROW_BITS]) {
        h->lost++;
        return;
    }
    scim_hist_record(h, value);
}

uint64_t scim_hist_count(const scim_hist *h) { return h ? hist_count(h) : 0; }
uint64_t scim_hist_min(const scim_hist *h) { return h && hist_count(h) ? h->min : 0; }
uint64_t scim_hist_max(const scim_hist *h) { return h && hist_count(h) ? h->max : 0; }

double scim_hist_mean(const scim_hist *h)
{
    if (!h || hist_count(h) == 0)
        return 0.0;
    return (double)((long double)hist_sum(h) / (long double)hist_count(h));
}

uint64_t scim_hist_percentile(const scim_hist *h, double q)
{
    uint64_t count = h ? hist_count(h) : 0;
    if (count == 0)
        return 0;
    if (!(q > 0.0)) /* also NaN */
        q = 0.0;
    if (q > 100.0)
        q = 100.0;
    /* q in units of 1e-6 percent, i.e. q/100 in units of 1e-8 */
    uint64_t qm = (uint64_t)(q * 1e6 + 0.5);
    const uint64_t denom = 100000000u;
    unsigned __int128 num = (unsigned __int128)qm * count;
    uint64_t rank = (uint64_t)((num + denom - 1u) / denom);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;

    uint64_t cum = 0;
    for (unsigned r = 0; r < HIST_ROWS; r++) {
        const uint64_t *b = h->rows[r];
        if (!b)
            continue;
        for (unsigned c = 0; c < HIST_ROW_LEN; c++) {
            cum += b[c] + (&b[c] == h->memo_b ? h->memo_run : 0);
            if (cum >= rank) {
                uint64_t v = hist_bucket_lower((r << HIST_ROW_BITS) + c);
                if (v < h->min)
                    v = h->min;
                if (v > h->max)
                    v = h->max;
                return v;
            }
        }
    }
    return h->max; /* unreachable: the buckets hold count samples */
}

uint64_t scim_hist_lost(const scim_hist *h) { return h->lost; }
