/* Growable FIFO (fifo.h). */
#include "core/fifo.h"

#include <stdlib.h>
#include <string.h>

void scim_fifo_init(scim_fifo *q, size_t elem) { *q = (scim_fifo){.elem = elem}; }

void scim_fifo_free(scim_fifo *q)
{
    free(q->buf);
    q->buf = NULL;
    q->head = q->len = q->cap = 0;
}

void *scim_fifo_at(const scim_fifo *q, size_t i)
{
    return i < q->len ? q->buf + ((q->head + i) % q->cap) * q->elem : NULL;
}

bool scim_fifo_push(scim_fifo *q, const void *v)
{
    if (q->len == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 16;
        unsigned char *n = malloc(nc * q->elem);
        if (!n)
            return false;
        for (size_t i = 0; i < q->len; i++)
            memcpy(n + i * q->elem, scim_fifo_at(q, i), q->elem);
        free(q->buf);
        q->buf = n;
        q->head = 0;
        q->cap = nc;
    }
    memcpy(q->buf + ((q->head + q->len++) % q->cap) * q->elem, v, q->elem);
    return true;
}

bool scim_fifo_pop(scim_fifo *q, void *out)
{
    if (!q->len)
        return false;
    if (out)
        memcpy(out, scim_fifo_at(q, 0), q->elem);
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return true;
}
