/* The safety checker: an observer that proves, while the model runs, that
 * no access uses a stale or unmapped translation and no frame is freed while
 * anything may still use it.
 *
 * It is not a hardware block: it reads the page tables (through the OS's
 * resolver) and every registered TLB directly, and nothing in the model
 * reads it back, so turning it off (sim.check_invariants: false) cannot
 * change any statistic — only speed.
 *
 * Rules (DESIGN.md "Measuring ourselves"):
 *   1. At every access (DMA or CPU load/store) the frame used is the one the
 *      page table maps at that moment, or a shootdown covering the page is
 *      still in flight and the frame is the one the page was mapped to when
 *      the shootdown began (the stale window, which is counted, not hidden).
 *   2. A frame may be freed only when no access to it is in flight and no
 *      registered TLB holds a translation to it.
 * A violation stops the run with SCIM_EINVARIANT and a report naming the
 * agent, the PASID, the addresses and the rule.
 */
#ifndef SCIMITAR_CHECKER_H
#define SCIMITAR_CHECKER_H

#include <stdbool.h>

#include "scimitar/kernel.h"
#include "core/observer.h"
#include "mmu/tlb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_checker scim_checker;

/* Returns 1 and the translated physical address of va if mapped, else 0. */
typedef int (*scim_resolve_fn)(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa);

scim_checker *scim_checker_create(scim_kernel *k, scim_err *err);
void scim_checker_destroy(scim_checker *c);
void scim_checker_set_resolver(scim_checker *c, scim_resolve_fn fn, void *ctx);
int scim_checker_add_tlb(scim_checker *c, const char *name, const scim_tlb *t, scim_err *err);

/* Accesses: begin when the translated request leaves the agent, end when it
 * completes. Returns false (and fails the kernel) on a violation. */
bool scim_checker_access_begin(scim_checker *c, const char *agent, uint32_t pasid, uint64_t va,
                               uint64_t pa, uint64_t len);
void scim_checker_access_end(scim_checker *c, uint64_t pa);
/* An access by physical address (scheme pin: the driver translated at pin
 * time). Rule 1 has no page table to consult; the frame must be allocated
 * (the buffer stayed pinned), and rule 2 then keeps it so until the access
 * ends (scim_checker_access_end). */
bool scim_checker_physical_begin(scim_checker *c, const char *agent, uint64_t pa, uint64_t len);
void scim_checker_set_frame_probe(scim_checker *c, bool (*in_use)(void *ctx, uint64_t pfn), void *ctx);

/* Shootdowns: the OS declares the old translation of each page it is about
 * to change (before it changes the PTE), then ends the shootdown when every
 * invalidation has completed. */
uint64_t scim_checker_shootdown_begin(scim_checker *c);
void scim_checker_stale_page(scim_checker *c, uint64_t shootdown, uint32_t pasid, uint64_t va,
                             uint64_t pa, unsigned page_shift);
void scim_checker_shootdown_end(scim_checker *c, uint64_t shootdown);

/* Frames: returns false (and fails the kernel) if the frame is still in use. */
bool scim_checker_frame_free(scim_checker *c, uint64_t pfn, unsigned order);

/* The checker as the observer the blocks report to. */
const scim_observer *scim_checker_observer(scim_checker *c);

/* Counters, for tests and the summary. */
uint64_t scim_checker_accesses(const scim_checker *c);
uint64_t scim_checker_stale_accesses(const scim_checker *c);
uint64_t scim_checker_frames_checked(const scim_checker *c);

#ifdef __cplusplus
}
#endif
#endif
