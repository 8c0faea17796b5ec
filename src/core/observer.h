/* The seam between the model and the observers that watch it without
 * taking part (the safety checker in src/sim/). A block that performs
 * accesses, shoots down translations or frees frames reports it here; with
 * no observer attached (NULL) every call is a no-op that allows the
 * action. Observers never change timing, so attaching one cannot change a
 * statistic (sim.check_invariants). The ops table with a cookie keeps the
 * blocks below src/sim/ in the include order (the io-pgtable pattern). */
#ifndef SCIM_CORE_OBSERVER_H
#define SCIM_CORE_OBSERVER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct scim_observer_ops {
    /* An access by virtual address begins (translated to pa) / an access
     * by physical address begins; false stops the run (a violation). */
    bool (*access_begin)(void *ctx, const char *agent, uint32_t pasid, uint64_t va, uint64_t pa, uint64_t len);
    bool (*physical_begin)(void *ctx, const char *agent, uint64_t pa, uint64_t len);
    void (*access_end)(void *ctx, uint64_t pa);
    /* A shootdown: its id, each page's old translation, its end. */
    uint64_t (*shootdown_begin)(void *ctx);
    void (*stale_page)(void *ctx, uint64_t shootdown, uint32_t pasid, uint64_t va, uint64_t pa, unsigned page_shift);
    void (*shootdown_end)(void *ctx, uint64_t shootdown);
    /* A frame is freed; false stops the run (still in use). */
    bool (*frame_free)(void *ctx, uint64_t pfn, unsigned order);
} scim_observer_ops;

typedef struct scim_observer {
    const scim_observer_ops *ops;
    void *ctx;
} scim_observer;

static inline bool scim_obs_access_begin(const scim_observer *o, const char *agent, uint32_t pasid, uint64_t va,
                                         uint64_t pa, uint64_t len)
{
    return !o || o->ops->access_begin(o->ctx, agent, pasid, va, pa, len);
}
static inline bool scim_obs_physical_begin(const scim_observer *o, const char *agent, uint64_t pa, uint64_t len)
{
    return !o || o->ops->physical_begin(o->ctx, agent, pa, len);
}
static inline void scim_obs_access_end(const scim_observer *o, uint64_t pa)
{
    if (o)
        o->ops->access_end(o->ctx, pa);
}
static inline uint64_t scim_obs_shootdown_begin(const scim_observer *o)
{
    return o ? o->ops->shootdown_begin(o->ctx) : 0;
}
static inline void scim_obs_stale_page(const scim_observer *o, uint64_t sd, uint32_t pasid, uint64_t va, uint64_t pa,
                                       unsigned page_shift)
{
    if (o)
        o->ops->stale_page(o->ctx, sd, pasid, va, pa, page_shift);
}
static inline void scim_obs_shootdown_end(const scim_observer *o, uint64_t sd)
{
    if (o)
        o->ops->shootdown_end(o->ctx, sd);
}
static inline bool scim_obs_frame_free(const scim_observer *o, uint64_t pfn, unsigned order)
{
    return !o || o->ops->frame_free(o->ctx, pfn, order);
}

#endif
