#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

void scim_pool_init(scim_pool *p, size_t elem)
{
    memset(p, 0, sizeof *p);
    p->elem = elem;
    p->free_head = SCIM_POOL_NONE;
}

void scim_pool_free(scim_pool *p)
{
    free(p->buf);
    free(p->next_free);
    free(p->used);
    scim_pool_init(p, p->elem);
}

/* Not inlined (link-time optimisation would): growing is rare, and inline
 * its realloc calls would give every allocation's caller a stack frame. */
__attribute__((noinline)) bool scim_pool_grow(scim_pool *p)
{
    uint32_t nc = p->cap ? p->cap * 2 : 16;
    unsigned char *b = realloc(p->buf, (size_t)nc * p->elem);
    if (!b)
        return false;
    p->buf = b;
    uint32_t *n = realloc(p->next_free, nc * sizeof *n);
    if (!n)
        return false;
    p->next_free = n;
    uint8_t *u = realloc(p->used, nc);
    if (!u)
        return false;
    p->used = u;
    memset(p->used + p->cap, 0, nc - p->cap);
    /* new slots join the free list in index order */
    for (uint32_t i = nc; i-- > p->cap;) {
        p->next_free[i] = p->free_head;
        p->free_head = i;
    }
    p->cap = nc;
    return true;
}

void scim_pool_release(scim_pool *p, uint32_t i)
{
    if (!scim_pool_used(p, i))
        return;
    p->used[i] = 0;
    p->len--;
    p->next_free[i] = p->free_head;
    p->free_head = i;
}
