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
/* The same, for an event that is often the very next of the run (a fixed
 * delay in a chain of steps of one request: a lookup, a walk's start, a
 * hop). Inside a dispatch the event takes its key now but is held beside
 * the queue; when the handler running now returns, the dispatcher runs it
 * at once if nothing comes before it (no heap or ring traffic), else puts
 * it in its FIFO under that key. One event is held at a time: holding
 * another puts the first in its FIFO. The order of execution, the counts
 * and what the watch sees are those of scim_kernel_fifo_at. */
void scim_kernel_fifo_at_next(scim_kernel *k, int fifo, scim_time_t when, int prio, uint64_t arg);

/* Dormant events: the kernel's cheap path for an event its owner knows
 * will find nothing to do, unless something reaches the owner first (a
 * replay engine's pump while every chunk slot is busy: only a completion
 * can give it work).
 *
 * A dormant event is scheduled as scim_kernel_schedule_at would schedule
 * it: it takes its key (time, priority, sequence) now, counts as pending,
 * and the fast path's watch sees it. It is kept beside the heap, not in
 * it. If its owner wakes it before it is due, it enters the heap with
 * that key and runs fn(ctx, arg) exactly when it would have. If not, when
 * the dispatcher reaches its key, the kernel advances now to its time,
 * counts it in sim.events (not in the events executed) and calls
 * passed(ctx, arg): the owner's bookkeeping of an event that ran and did
 * nothing. So the order of execution and every count are those of the
 * ordinary event; only its heap traffic and dispatch are saved. The owner
 * must wake it whenever its state changes in a way that would give the
 * event something to do.
 *
 * Returns a handle (>= 0), valid until the event is woken or passed, or
 * -1 (out of host memory: schedule it the ordinary way). */
int scim_kernel_schedule_dormant(scim_kernel *k, scim_time_t when, int prio, scim_event_fn fn, scim_event_fn passed,
                                 void *ctx, uint64_t arg);
/* Put dormant event h in the heap with its key (before it is due). */
void scim_kernel_wake(scim_kernel *k, int h);

#endif
