/* Simulated physical memory: a frame pool with a buddy allocator, and the
 * contents of the frames that hold data the simulator reads back (page
 * tables, PASID tables).
 *
 *   - Frames are 4 KiB; frame 0 is reserved and never handed out, so a
 *     physical address of 0 is never a valid allocation.
 *   - Allocation (orders 0..18: 4 KiB .. 1 GiB) always returns the
 *     lowest-addressed free block of the smallest order that can satisfy
 *     the request, splitting it; freeing coalesces with free buddies. The
 *     result is deterministic and independent of host addresses.
 *   - Creation does not touch memory proportional to the pool (bitmaps are
 *     calloc'ed and stay untouched zero pages until used), so a 64 GiB pool
 *     is instant.
 *   - Only written frames have storage; unwritten memory reads as zero and
 *     a freed frame's contents are dropped (the next owner sees zeros, as if
 *     the OS zeroed it).
 */
#ifndef SCIMITAR_PHYSMEM_H
#define SCIMITAR_PHYSMEM_H

#include <stdbool.h>

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCIM_PHYSMEM_MAX_ORDER 18

typedef struct scim_physmem scim_physmem;

scim_physmem *scim_physmem_create(uint64_t bytes, scim_err *err);
void scim_physmem_destroy(scim_physmem *pm);
/* 0, or SCIM_ENOMEM with the free and largest-free figures in the message. */
int scim_physmem_alloc(scim_physmem *pm, unsigned order, uint64_t *pfn, scim_err *err);
void scim_physmem_free(scim_physmem *pm, uint64_t pfn, unsigned order);
uint64_t scim_physmem_frames_total(const scim_physmem *pm); /* frame 0 excluded */
uint64_t scim_physmem_frames_free(const scim_physmem *pm);
bool scim_physmem_is_free(const scim_physmem *pm, uint64_t pfn); /* order-0 view */
/* The checker's frame probe (a cookie of pm): the frame is allocated. */
bool scim_physmem_frame_in_use(void *pm, uint64_t pfn);
uint64_t scim_physmem_read64(const scim_physmem *pm, uint64_t pa);
/* A write to a frame never written before allocates the frame's host
 * copy; if the host has no memory the write is lost, and this says so
 * from then on (the simulation reports it: its results are not valid). */
void scim_physmem_write64(scim_physmem *pm, uint64_t pa, uint64_t value);
bool scim_physmem_write_lost(const scim_physmem *pm);
uint64_t scim_physmem_backed_frames(const scim_physmem *pm);

#ifdef __cplusplus
}
#endif
#endif
