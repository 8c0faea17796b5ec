/* The device's outstanding translations: a miss joins the translation of
 * its 4 KiB page if one is out, or starts one through the walk placement's
 * backend; every answer, whoever walked, lands in scim_dev_xlat_result:
 * a usable translation is cached and serves every waiter; a not-present
 * page (or a missing write right) becomes a page request, and the fault
 * policy decides what the waiters do meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "device/device_internal.h"

static uint32_t index_home(const scim_device *d, uint32_t pasid, uint64_t page)
{
    uint64_t h = (page ^ ((uint64_t)pasid << 40)) * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    return (uint32_t)(h >> 32) & d->xlat_index_mask;
}

static int32_t xlat_find(const scim_device *d, uint32_t pasid, uint64_t page)
{
    const uint32_t *t = d->xlat_index;
    if (!t)
        return NONE;
    for (uint32_t i = index_home(d, pasid, page);; i = (i + 1) & d->xlat_index_mask) {
        if (!t[i])
            return NONE;
        const xlat *x = &d->xlats[t[i] - 1];
        if (x->page == page && x->pasid == pasid)
            return (int32_t)(t[i] - 1);
    }
}

static void index_put(scim_device *d, uint32_t xi)
{
    const xlat *x = &d->xlats[xi];
    uint32_t i = index_home(d, x->pasid, x->page);
    while (d->xlat_index[i])
        i = (i + 1) & d->xlat_index_mask;
    d->xlat_index[i] = xi + 1;
}

/* Room for n slots: the index at most a quarter full (short probe runs), rebuilt from the slots in use. */
static bool index_resize(scim_device *d, size_t n)
{
    uint32_t cap = 16;
    while (cap < 4 * n)
        cap *= 2;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    free(d->xlat_index);
    d->xlat_index = t;
    d->xlat_index_mask = cap - 1;
    for (size_t i = 0; i < d->n_xlats; i++)
        if (d->xlats[i].used)
            index_put(d, (uint32_t)i);
    return true;
}

/* Slot xi is no longer in use: out of the index (backward-shift deletion,
 * so that every entry stays reachable from its home without tombstones). */
void scim_dev_xlat_release(scim_device *d, int32_t xi)
{
    xlat *x = &d->xlats[xi];
    if (!x->used)
        return; /* already free: several paths may end one translation */
    x->used = false;
    d->xlat_free[xi / 64] |= 1ull << (xi % 64);
    uint32_t *t = d->xlat_index, mask = d->xlat_index_mask;
    uint32_t hole = index_home(d, x->pasid, x->page);
    while (t[hole] != (uint32_t)xi + 1)
        hole = (hole + 1) & mask;
    for (uint32_t j = (hole + 1) & mask; t[j]; j = (j + 1) & mask) {
        const xlat *y = &d->xlats[t[j] - 1];
        uint32_t home = index_home(d, y->pasid, y->page);
        /* the entry at j may fill the hole if the hole lies on its probe path */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t[hole] = t[j];
            hole = j;
        }
    }
    t[hole] = 0;
}

static bool grow(scim_device *d)
{
    enum { GROW = 16 };
    size_t old = d->n_xlats, n = old + GROW, words = (n + 63) / 64;
    xlat *x = realloc(d->xlats, n * sizeof *x);
    if (!x)
        return false;
    memset(x + old, 0, GROW * sizeof *x);
    d->xlats = x;
    uint64_t *free_bits = realloc(d->xlat_free, words * sizeof *free_bits);
    if (!free_bits)
        return false;
    for (size_t w = (old + 63) / 64; w < words; w++)
        free_bits[w] = 0;
    d->xlat_free = free_bits;
    if (!index_resize(d, n))
        return false;
    /* only now, with room everywhere, do the new slots exist */
    for (size_t i = old; i < n; i++)
        free_bits[i / 64] |= 1ull << (i % 64);
    d->n_xlats = n;
    return true;
}

static int32_t xlat_new(scim_device *d, uint32_t pasid, uint64_t page, bool write, bool prefetch)
{
    size_t words = (d->n_xlats + 63) / 64, w = 0;
    while (w < words && !d->xlat_free[w])
        w++;
    if (w == words) {
        if (!grow(d)) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return NONE;
        }
        return xlat_new(d, pasid, page, write, prefetch);
    }
    size_t i = w * 64 + (size_t)__builtin_ctzll(d->xlat_free[w]);
    d->xlat_free[w] &= d->xlat_free[w] - 1;
    uint32_t gen = d->xlats[i].pri_gen;
    d->xlats[i] = (xlat){.used = true, .write = write, .prefetch = prefetch, .state = XL_XLATE, .pasid = pasid,
                         .page = page, .head = NONE, .tail = NONE, .pri_gen = gen};
    index_put(d, (uint32_t)i);
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
    scim_dev_xlat_release(d, (int32_t)(x - d->xlats));
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
        scim_dev_xlat_release(d, xi); /* nobody waits; a missing page will fault when needed */
        return;
    }
    /* Serve every waiter the answer allows; keep the rest. */
    int32_t ci = x->head, keep_head = NONE, keep_tail = NONE;
    x->head = NONE;
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
        if (ok && scim_dev_usable(perms, rc->write)) {
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
        scim_dev_xlat_release(d, xi);
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
