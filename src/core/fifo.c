/* Growable FIFO (fifo.h). */
#include "core/fifo.h"

#include <stdlib.h>

void scim_fifo_init(scim_fifo *q, size_t elem) { *q = (scim_fifo){.elem = elem}; }

void scim_fifo_free(scim_fifo *q)
{
    free(q->buf);
    q->buf = NULL;
    q->head = q->len = q->cap = 0;
}

/* Not inlined (link-time optimisation would): growing is rare, and inline
 * its malloc call would give every push's caller a stack frame. */
__attribute__((noinline)) bool scim_fifo_grow(scim_fifo *q)
{
    size_t nc = q->cap ? q->cap * 2 : 16; /* a power of two: positions are masks */
    unsigned char *n = malloc(nc * q->elem);
    if (!n)
        return false;
    for (size_t i = 0; i < q->len; i++)
        memcpy(n + i * q->elem, scim_fifo_at(q, i), q->elem);
    free(q->buf);
    q->buf = n;
    q->head = 0;
    q->cap = nc;
    return true;
}
