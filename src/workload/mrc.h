/* Miss-ratio curves of a page stream (workload/locality.h): LRU stack
 * distances for a fully associative cache of every size in one pass, and
 * set-associative LRU caches of one associativity and every power-of-two
 * number of sets in one pass. */
#ifndef SCIMITAR_MRC_H
#define SCIMITAR_MRC_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

/* hist[d] (d < distinct) += entries whose previous use of the same page was
 * d distinct pages ago; *cold = first uses. `distinct` must be the number of
 * distinct pages of the stream. O(n log n) time, O(n) memory. */
int scim_mrc_stack_hist(const uint64_t *stream, size_t n, size_t distinct, uint64_t *hist, uint64_t *cold,
                        scim_err *err);

/* Misses of LRU caches of `ways` ways and sets[i] = 2^i sets, i < n_sizes
 * (page p in set p mod sets), on the stream: misses[i]. */
int scim_mrc_set_assoc(const uint64_t *stream, size_t n, uint64_t ways, size_t n_sizes, uint64_t *misses,
                       scim_err *err);

#endif
