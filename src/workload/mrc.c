/* Miss-ratio curves (workload/mrc.h).
 *
 * Fully associative LRU: Mattson et al. (1970) showed that an LRU cache of
 * C entries hits exactly the references whose stack distance (distinct
 * pages since the previous reference to the same page) is < C, so one
 * pass that measures every distance gives the miss count of every size.
 * The distance of the reference at position i to a page last used at j is
 * the number of positions in (j, i) that are the latest use of their page:
 * a Fenwick tree over positions holds a 1 at each latest use (Bennett and
 * Kruskal 1975; Almasi, Cascaval and Padua 2002), O(log n) per reference.
 *
 * Set-associative LRU: simulated directly, every power-of-two number of
 * sets at once; each set keeps its ways in recency order (most recent
 * first), so a miss shifts the set down by one and the victim, the least
 * recently used way or an empty one, falls off the end.
 */
#include "workload/mrc.h"

#include <stdlib.h>
#include <string.h>

#include "core/u64map.h"

int scim_mrc_stack_hist(const uint64_t *stream, size_t n, size_t distinct, uint64_t *hist, uint64_t *cold,
                        scim_err *err)
{
    if (n >= UINT32_MAX)
        return scim_err_set(err, SCIM_ERANGE, "page stream of %zu entries is too long (at most 2^32 - 2)", n);
    uint32_t *tree = calloc(n + 1, sizeof *tree);
    scim_u64map last;
    scim_u64map_init(&last);
    if (!tree)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory for the stack-distance tree");
    int rc = 0;
    for (size_t i = 1; i <= n; i++) {
        uint64_t *prev = scim_u64map_upsert(&last, stream[i - 1], 0);
        if (!prev) {
            rc = scim_err_set(err, SCIM_ENOMEM, "out of host memory for the stack-distance map");
            break;
        }
        if (*prev) {
            /* latest uses in (prev, i): prefix(i - 1) - prefix(prev) */
            uint64_t d = 0;
            for (size_t k = i - 1; k > 0; k -= k & -k)
                d += tree[k];
            for (size_t k = (size_t)*prev; k > 0; k -= k & -k)
                d -= tree[k];
            if (d >= distinct) {
                rc = scim_err_set(err, SCIM_ERANGE, "stack distance %llu with %zu distinct pages: wrong count",
                                  (unsigned long long)d, distinct);
                break;
            }
            hist[d]++;
            for (size_t k = (size_t)*prev; k <= n; k += k & -k)
                tree[k]--;
        } else {
            (*cold)++;
        }
        for (size_t k = i; k <= n; k += k & -k)
            tree[k]++;
        *prev = i;
    }
    free(tree);
    scim_u64map_free(&last);
    return rc;
}

int scim_mrc_set_assoc(const uint64_t *stream, size_t n, uint64_t ways, size_t n_sizes, uint64_t *misses,
                       scim_err *err)
{
    if (ways == 0 || n_sizes == 0 || n_sizes > 40)
        return scim_err_set(err, SCIM_EINVAL, "set-associative curve: %llu ways, %zu sizes",
                            (unsigned long long)ways, n_sizes);
    uint64_t **sets = calloc(n_sizes, sizeof *sets);
    int rc = sets ? 0 : scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    for (size_t s = 0; rc == 0 && s < n_sizes; s++) {
        size_t len = ((size_t)1 << s) * (size_t)ways;
        if (!(sets[s] = malloc(len * sizeof *sets[s])))
            rc = scim_err_set(err, SCIM_ENOMEM, "out of host memory for a %zu-entry cache", len);
        else
            memset(sets[s], 0xff, len * sizeof *sets[s]); /* UINT64_MAX: empty (no page number is) */
        misses[s] = 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t p = stream[i];
        for (size_t s = 0; s < n_sizes; s++) {
            uint64_t *set = sets[s] + (size_t)(p & (((uint64_t)1 << s) - 1)) * ways;
            size_t k = 0;
            while (k < ways && set[k] != p)
                k++;
            if (k == ways) {
                misses[s]++;
                k = (size_t)ways - 1;
            }
            memmove(set + 1, set, k * sizeof *set);
            set[0] = p;
        }
    }
    for (size_t s = 0; sets && s < n_sizes; s++)
        free(sets[s]);
    free(sets);
    return rc;
}
