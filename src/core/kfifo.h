/* Event FIFOs: the kernel's cheap path for a source whose events come in
 * key order (src/core/kernel.c).
 *
 * A link direction delivers messages in the order they entered it, a
 * memory controller answers in the order it took requests, a fixed-delay
 * lookup completes in the order it began: such a source schedules its
 * events at non-decreasing times with one priority. Scheduled through a
 * FIFO, they wait in a ring and only the oldest one sits in the kernel's
 * heap, so the heap holds one entry per busy source instead of one per
 * message. Each event still takes its key (time, priority, sequence) at
 * scheduling, exactly as scim_kernel_schedule_at would give it, so the
 * order of execution is unchanged; an event that would break the FIFO's
 * order (earlier than its last) simply goes to the heap as an ordinary
 * event with the same key.
 */
#ifndef SCIM_CORE_KFIFO_H
#define SCIM_CORE_KFIFO_H

#include "scimitar/kernel.h"

/* A FIFO whose events run fn(ctx, arg): its id (>= 0), or a negative
 * error (SCIM_ENOMEM). FIFOs live as long as the kernel. */
int scim_kernel_fifo_create(scim_kernel *k, scim_event_fn fn, void *ctx);
/* As scim_kernel_schedule_at(k, when, prio, fn, ctx, arg) with the FIFO's
 * fn and ctx. */
void scim_kernel_fifo_at(scim_kernel *k, int fifo, scim_time_t when, int prio, uint64_t arg);

#endif
