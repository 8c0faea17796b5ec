/* A growable FIFO of fixed-size elements (a ring buffer that doubles when
 * full), for the models' queues: requests waiting for a busy server. */
#ifndef SCIM_FIFO_H
#define SCIM_FIFO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct scim_fifo {
    unsigned char *buf;
    size_t elem;  /* bytes per element */
    size_t head, len, cap;
} scim_fifo;

void scim_fifo_init(scim_fifo *q, size_t elem);
void scim_fifo_free(scim_fifo *q);
/* Append a copy of *v; false if out of host memory (nothing changed). */
bool scim_fifo_push(scim_fifo *q, const void *v);
/* The i-th element from the front (0: the oldest); NULL past the end. */
void *scim_fifo_at(const scim_fifo *q, size_t i);
/* Copy the front element to *out (if out) and remove it; false if empty. */
bool scim_fifo_pop(scim_fifo *q, void *out);
static inline size_t scim_fifo_len(const scim_fifo *q) { return q->len; }

#endif
