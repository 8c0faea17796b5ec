/* A growable FIFO of fixed-size elements (a ring buffer that doubles when
 * full), for the models' queues: requests waiting for a busy server.
 *
 * The capacity is a power of two (16, then doubling), so a position is a
 * mask rather than a division; push, pop and at are inline (a port's
 * credit queue does one of each per fast access), only growing is not. */
#ifndef SCIM_FIFO_H
#define SCIM_FIFO_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct scim_fifo {
    unsigned char *buf;
    size_t elem;  /* bytes per element */
    size_t head, len, cap;
} scim_fifo;

void scim_fifo_init(scim_fifo *q, size_t elem);
void scim_fifo_free(scim_fifo *q);
/* Double the capacity (fifo.c); false if out of host memory. */
bool scim_fifo_grow(scim_fifo *q);

/* The i-th element from the front (0: the oldest); NULL past the end. */
static inline void *scim_fifo_at(const scim_fifo *q, size_t i)
{
    return i < q->len ? q->buf + ((q->head + i) & (q->cap - 1)) * q->elem : NULL;
}

/* Append a copy of *v; false if out of host memory (nothing changed). */
static inline bool scim_fifo_push(scim_fifo *q, const void *v)
{
    if (q->len == q->cap && !scim_fifo_grow(q))
        return false;
    memcpy(q->buf + ((q->head + q->len++) & (q->cap - 1)) * q->elem, v, q->elem);
    return true;
}

/* Copy the front element to *out (if out) and remove it; false if empty. */
static inline bool scim_fifo_pop(scim_fifo *q, void *out)
{
    if (!q->len)
        return false;
    if (out)
        memcpy(out, q->buf + q->head * q->elem, q->elem);
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    return true;
}

static inline size_t scim_fifo_len(const scim_fifo *q) { return q->len; }

/* Typed access without a copy of run-time size: a caller that knows its
 * element type writes the new back element in place, and reads the front
 * one before dropping it (a port's credit queues do one of each per
 * request that waits or place the fast path frees). */

/* The next push must grow the FIFO (a caller may take that rare case out
 * of line, and use scim_fifo_push_slot_room otherwise). */
static inline bool scim_fifo_full(const scim_fifo *q) { return q->len == q->cap; }

/* Append an element and return it, for the caller to fill, in a FIFO that
 * is not full: no growing, never NULL. */
static inline void *scim_fifo_push_slot_room(scim_fifo *q)
{
    return q->buf + ((q->head + q->len++) & (q->cap - 1)) * q->elem;
}

/* Append an element and return it, for the caller to fill; NULL if out of
 * host memory (nothing changed). */
static inline void *scim_fifo_push_slot(scim_fifo *q)
{
    if (q->len == q->cap && !scim_fifo_grow(q))
        return NULL;
    return scim_fifo_push_slot_room(q);
}

/* The front element of a FIFO that is not empty (scim_fifo_at(q, 0)
 * without its bounds test). */
static inline void *scim_fifo_front(const scim_fifo *q) { return q->buf + q->head * q->elem; }

/* Remove the front element (which must exist). */
static inline void scim_fifo_drop(scim_fifo *q)
{
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
}

#endif
