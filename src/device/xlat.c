/* The device's outstanding translations: a miss joins the translation of
 * its 4 KiB page if one is out, or starts one through the walk placement's
 * backend; every answer, whoever walked, lands in scim_dev_xlat_result:
 * a usable translation is cached and serves every waiter; a not-present
 * page (or a missing write right) becomes a page request, and the fault
 * policy decides what the waiters do meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "device/device_internal.h"

static bool usable(unsigned perms, bool write) { return (perms & SCIM_PERM_R) && (!write || (perms & SCIM_PERM_W)); }

static int32_t xlat_find(const scim_device *d, uint32_t pasid, uint64_t page)
{
    const uint64_t *pages = d->xlat_pages;
    size_t i = 0, n = d->n_xlats;
    /* four pages per step without a branch each (most misses find none);
     * from the first group holding the page on, one by one */
    for (; i + 4 <= n; i += 4)
        if ((pages[i] == page) | (pages[i + 1] == page) | (pages[i + 2] == page) | (pages[i + 3] == page))
            break;
    for (; i < n; i++)
        if (pages[i] == page && d->xlats[i].used && d->xlats[i].pasid == pasid)
            return (int32_t)i;
    return NONE;
}

static int32_t xlat_new(scim_device *d, uint32_t pasid, uint64_t page, bool write, bool prefetch)
{
    size_t i;
    for (i = 0; i < d->n_xlats && d->xlats[i].used; i++)
        ;
    if (i == d->n_xlats) {
        enum { GROW = 16 };
        xlat *n = realloc(d->xlats, (d->n_xlats + GROW) * sizeof *n);
        if (!n) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return NONE;
        }
        memset(n + d->n_xlats, 0, GROW * sizeof *n);
        d->xlats = n;
        uint64_t *pages = realloc(d->xlat_pages, (d->n_xlats + GROW) * sizeof *pages);
        if (!pages) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return NONE;
        }
        for (size_t j = d->n_xlats; j < d->n_xlats + GROW; j++)
            pages[j] = UINT64_MAX; /* no page: no miss matches a slot never used */
        d->xlat_pages = pages;
        d->n_xlats += GROW;
    }
    uint32_t gen = d->xlats[i].pri_gen;
    d->xlats[i] = (xlat){.used = true, .write = write, .prefetch = prefetch, .state = XL_XLATE, .pasid = pasid,
                         .page = page, .head = NONE, .tail = NONE, .pri_gen = gen};
    d->xlat_pages[i] = page;
    return (int32_t)i;
}

void scim_dev_request_translation(scim_device *d, int32_t xi)
{
    d->xlats[xi].state = XL_XLATE;
    d->backend->request(d, xi);
}

static void append_waiter(scim_device *d, xlat *x, int32_t ci)
{
    d->chunks[ci].next = NONE;
    if (x->tail == NONE)
        x->head = ci;
    else
        d->chunks[x->tail].next = ci;
    x->tail = ci;
}

static void fail_waiters(scim_device *d, xlat *x)
{
    int32_t ci = x->head;
    x->used = false;
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        scim_dev_chunk_complete(d, ci, true);
        ci = next;
    }
}

void scim_dev_xlat_result(scim_device *d, int32_t xi, int32_t status, uint64_t page_pa, unsigned shift,
                          unsigned perms)
{
    xlat *x = &d->xlats[xi];
    if (status == SCIM_RESP_INVALID || scim_dev_failed(d)) {
        fail_waiters(d, x); /* a reset device uses no translation */
        return;
    }
    bool ok = status == SCIM_RESP_OK && (perms & SCIM_PERM_R);
    if (ok)
        scim_dev_cache_translation(d, x->pasid, x->page << SCIM_PAGE_SHIFT, page_pa, shift, perms);
    if (x->prefetch) {
        x->used = false; /* nobody waits; a missing page will fault when needed */
        return;
    }
    /* Serve every waiter the answer allows; keep the rest. */
    int32_t ci = x->head, keep_head = NONE, keep_tail = NONE;
    x->head = NONE;
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
        if (ok && usable(perms, rc->write)) {
            scim_dev_to_memory(d, ci, scim_page_base(page_pa, shift) + scim_page_offset(rc->va, shift), shift);
        } else {
            d->chunks[ci].next = NONE;
            if (keep_tail == NONE)
                keep_head = ci;
            else
                d->chunks[keep_tail].next = ci;
            keep_tail = ci;
        }
        ci = next;
    }
    if (keep_head == NONE) {
        x->used = false;
        return;
    }
    /* Not present, or not writable: ask the OS for the page (a page
     * request group, pri.c), and let the fault policy decide what the
     * waiting requests do meanwhile. */
    d->st.faults++;
    x->write = false;
    x->head = NONE;
    x->tail = NONE;
    /* the group asks for the rest of this DMA, even if the policy takes
     * the request away meanwhile (retry, drop, backup) */
    x->fault_end = scim_replay_request_end(d->replay, (uint32_t)keep_head);
    for (ci = keep_head; ci != NONE;) {
        int32_t next = d->chunks[ci].next;
        x->write |= scim_dev_chunk_of(d, ci)->write;
        if (d->policy->on_fault(d, ci))
            append_waiter(d, x, ci);
        ci = next;
    }
    scim_dev_fault(d, xi);
}

void scim_dev_need_translation(scim_device *d, int32_t ci)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    uint64_t page = scim_vpn(rc->va);
    c->state = CH_XLAT_WAIT;
    c->next = NONE;
    uint32_t space = c->space;
    int32_t xi = xlat_find(d, space, page);
    if (xi != NONE) {
        xlat *x = &d->xlats[xi];
        if (x->state != XL_XLATE && d->policy->on_pending(d, ci))
            return; /* its page request is still out: the policy took it */
        d->st.xlat_merged++;
        x->prefetch = false;
        append_waiter(d, x, ci);
        x->write |= rc->write;
        return;
    }
    /* a page request group already asks for this page: wait for its
     * response rather than asking for a translation the IOMMU cannot give */
    int32_t gi = scim_dev_group_of(d, space, page);
    if (gi != NONE && d->policy->on_pending(d, ci))
        return;
    xi = xlat_new(d, space, page, rc->write, false);
    if (xi == NONE)
        return;
    d->xlats[xi].head = d->xlats[xi].tail = ci;
    if (gi != NONE) {
        scim_dev_join_group(d, gi, xi);
        return;
    }
    d->st.xlat_requests++;
    scim_dev_request_translation(d, xi);
    if (!d->backend->prefetches)
        return;
    for (uint64_t k = 1; k <= d->p.prefetch; k++) {
        uint64_t va = (page + k) << SCIM_PAGE_SHIFT;
        if (scim_tlb_probe(d->iotlb, space, va, NULL) || xlat_find(d, space, page + k) != NONE)
            continue;
        int32_t pi = xlat_new(d, space, page + k, false, true);
        if (pi == NONE)
            return;
        d->st.xlat_prefetches++;
        scim_dev_request_translation(d, pi);
    }
}

void scim_dev_xlat_counts(const scim_device *d, size_t *xlating, size_t *faulting)
{
    *xlating = *faulting = 0;
    for (size_t i = 0; i < d->n_xlats; i++) {
        if (d->xlats[i].used && d->xlats[i].state == XL_XLATE)
            (*xlating)++;
        if (d->xlats[i].used && d->xlats[i].state != XL_XLATE)
            (*faulting)++;
    }
}
