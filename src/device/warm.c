/* Functional warm-up of the device's caches (sim.warmup): the lookups,
 * answers and page request groups of xlat.c and pri.c for one request at
 * a time, with nothing in flight, so none of their merging applies: a
 * miss asks for its page, then prefetches; an answer is cached if it is
 * usable at all (readable), as scim_dev_xlat_result caches it. */
#include "core/page.h"
#include "device/device_internal.h"

int scim_device_warm_next(scim_device *d, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err)
{
    return scim_replay_warm_next(d->replay, rec, pasid, at, err);
}

void scim_device_limit_records(scim_device *d, uint64_t records, scim_time_t until)
{
    scim_replay_limit(d->replay, records, until);
}

scim_replay *scim_device_replay(scim_device *d) { return d->replay; }

void scim_device_warm_unread(scim_device *d, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin)
{
    scim_replay_warm_unread(d->replay, rec, at, origin);
}

bool scim_device_warm_lookup(scim_device *d, uint32_t pasid, uint64_t va, bool write)
{
    scim_tlb_entry e;
    if (d->utlb && scim_tlb_lookup(d->utlb, pasid, va, &e) == 1 && scim_dev_usable(e.perms, write))
        return true;
    if (scim_tlb_lookup(d->iotlb, pasid, va, &e) == 1 && scim_dev_usable(e.perms, write)) {
        if (d->utlb)
            scim_tlb_insert(d->utlb, &e, NULL);
        return true;
    }
    return false;
}

/* shadow.c's answer to the walker's read: the copy's value, no
 * accessed/dirty update (the copy is the device's, not the OS's table) */
static uint64_t shadow_entry(void *ctx, uint64_t pa, const scim_pt_format *fmt, int level, bool write)
{
    const uint64_t *v = scim_u64map_get(&((scim_device *)ctx)->shadow, pa);
    return v ? *v : 0;
}

bool scim_device_warm_walk(scim_device *d, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write,
                           int32_t *status, uint64_t *page_pa, unsigned *shift, unsigned *perms)
{
    if (d->p.walk != SCIM_WALK_DEVICE && d->p.walk != SCIM_WALK_SHADOW)
        return false;
    uint64_t page = scim_page_base(va, SCIM_PAGE_SHIFT);
    scim_walk_result r = d->p.walk == SCIM_WALK_SHADOW
                             ? scim_walker_walk_now_from(d->walker, shadow_entry, d, pasid, page, write, d->root, d->fmt)
                             : scim_walker_walk_now(d->walker, pm, pasid, page, write, d->root, d->fmt);
    *status = scim_dev_walk_status(&r);
    *page_pa = r.page_pa;
    *shift = r.shift;
    *perms = r.perms;
    return true;
}

bool scim_device_warm_answer(scim_device *d, uint32_t pasid, uint64_t va, bool write, int32_t status,
                             uint64_t page_pa, unsigned shift, unsigned perms)
{
    if (status != SCIM_RESP_OK || !(perms & SCIM_PERM_R))
        return false;
    scim_dev_cache_translation(d, pasid, scim_page_base(va, SCIM_PAGE_SHIFT), page_pa, shift, perms);
    return scim_dev_usable(perms, write);
}

uint64_t scim_device_warm_prefetch(const scim_device *d) { return d->backend->prefetches ? d->p.prefetch : 0; }

bool scim_device_warm_cached(const scim_device *d, uint32_t pasid, uint64_t va)
{
    return scim_tlb_probe(d->iotlb, pasid, va, NULL) == 1;
}

/* pri.c's group_size and send_group with no other group out: the DMA's
 * pages from the fault on, within pri.group_pages and the allocation;
 * then as many prefault pages as the allocation leaves. */
void scim_device_warm_group(const scim_device *d, uint64_t va, uint64_t dma_end, uint32_t *pages, uint32_t *prefault)
{
    uint64_t page = scim_vpn(va), last = scim_vpn(dma_end - 1);
    uint64_t n = last >= page ? last - page + 1 : 1;
    if (d->p.pri_group_pages && n > d->p.pri_group_pages)
        n = d->p.pri_group_pages;
    if (n > d->p.pri_allocation)
        n = d->p.pri_allocation;
    if (n == 0)
        n = 1;
    uint64_t pf = d->p.prefault, room = d->p.pri_allocation > n ? d->p.pri_allocation - n : 0;
    if (pf > room)
        pf = room;
    *pages = (uint32_t)n;
    *prefault = (uint32_t)pf;
}

/* inval.c's processing of one request, with no access in flight to wait for */
void scim_device_warm_invalidate(scim_device *d, const scim_inv_scope *s)
{
    scim_tlb_invalidate_scope(d->iotlb, s);
    scim_tlb_invalidate_scope(d->utlb, s);
    if (d->walker)
        scim_walker_invalidate(d->walker, s);
}
