/* A slot pool: fixed-size elements with stable indices and a free list,
 * for the models' tables of things in flight (port tags, translations,
 * walks, invalidation rounds). Allocation reuses the most recently freed
 * slot first, so the order is deterministic; the pool grows by doubling. */
#ifndef SCIM_CORE_POOL_H
#define SCIM_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SCIM_POOL_NONE UINT32_MAX

typedef struct scim_pool {
    unsigned char *buf;
    uint32_t *next_free; /* per slot: next free slot; SCIM_POOL_NONE ends the list */
    uint8_t *used;
    size_t elem;
    uint32_t cap, len;   /* slots, slots in use */
    uint32_t free_head;
} scim_pool;

void scim_pool_init(scim_pool *p, size_t elem);
void scim_pool_free(scim_pool *p);
/* Make room for more slots (pool.c); false if out of host memory. */
bool scim_pool_grow(scim_pool *p);
void scim_pool_release(scim_pool *p, uint32_t i);
static inline void *scim_pool_at(const scim_pool *p, uint32_t i) { return p->buf + (size_t)i * p->elem; }

/* A slot as its last user left it, for a caller that sets every byte it
 * reads (a port's tag sets the whole record); SCIM_POOL_NONE if out of
 * host memory. Inline: ports take one per request. */
static inline uint32_t scim_pool_take(scim_pool *p)
{
    if (p->free_head == SCIM_POOL_NONE && !scim_pool_grow(p))
        return SCIM_POOL_NONE;
    uint32_t i = p->free_head;
    p->free_head = p->next_free[i];
    p->used[i] = 1;
    p->len++;
    return i;
}

/* A zeroed slot; SCIM_POOL_NONE if out of host memory. */
static inline uint32_t scim_pool_alloc(scim_pool *p)
{
    uint32_t i = scim_pool_take(p);
    if (i != SCIM_POOL_NONE)
        memset(scim_pool_at(p, i), 0, p->elem);
    return i;
}

static inline bool scim_pool_used(const scim_pool *p, uint32_t i) { return i < p->cap && p->used[i]; }
static inline uint32_t scim_pool_len(const scim_pool *p) { return p->len; }
static inline uint32_t scim_pool_cap(const scim_pool *p) { return p->cap; }

#endif
