/* An exact LRU model of one set-associative TLB of 4 KiB pages (set = vpn
 * mod sets), written apart from the simulator's TLB: the reference the
 * end-to-end tests count IOTLB misses against. */
#ifndef SCIM_TEST_LRU_H
#define SCIM_TEST_LRU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct lru_model {
    int sets, ways;
    uint64_t *tag; /* per set, most recent first */
    int *fill;
} lru_model;

static inline lru_model lru_new(int entries, int ways)
{
    lru_model l = {entries / ways, ways, calloc((size_t)entries, sizeof(uint64_t)),
                   calloc((size_t)(entries / ways), sizeof(int))};
    return l;
}

/* true on a hit; the page becomes the set's most recent either way */
static inline bool lru_access(lru_model *l, uint64_t vpn)
{
    int s = (int)(vpn % (uint64_t)l->sets);
    uint64_t *row = &l->tag[s * l->ways];
    int at = -1;
    for (int w = 0; w < l->fill[s]; w++)
        if (row[w] == vpn)
            at = w;
    bool hit = at >= 0;
    if (!hit)
        at = l->fill[s] < l->ways ? l->fill[s]++ : l->ways - 1;
    memmove(&row[1], &row[0], (size_t)at * sizeof *row);
    row[0] = vpn;
    return hit;
}

static inline void lru_free(lru_model *l)
{
    free(l->tag);
    free(l->fill);
}

#endif
