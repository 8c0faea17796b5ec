/* Frame pool accounting: data and page-table frames, frames freed only
 * after the shootdown that released them, pins, and the CLOCK list of
 * reclaimable 4 KiB pages. */
#include "os/os_internal.h"

#include <stdlib.h>
#include <string.h>

int os_frame_list_add(frame_list *l, uint64_t pfn, unsigned order)
{
    frame_ref *v = os_grow(l->v, &l->cap, l->n + 1, sizeof *v, 32);
    if (!v)
        return SCIM_ENOMEM;
    l->v = v;
    l->v[l->n++] = (frame_ref){pfn, order};
    return 0;
}

void os_frame_list_free(frame_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

void os_update_free(scim_os *os) { os->st.frames_free = scim_physmem_frames_free(os->pm); }

void os_release_frame(scim_os *os, uint64_t pfn, unsigned order)
{
    if (os->checker && !scim_obs_frame_free(os->checker, pfn, order))
        return;
    os_frame_give_back(os, pfn, order);
    os_update_free(os);
    os_wake_frame_waiters(os);
}

/* ---------- page-table frames (the page table's allocator ops) ---------- */

/* A frame block for the IOMMU context structures (never freed: processes
 * live as long as the run). */
static int ctx_alloc(void *cookie, unsigned order, uint64_t *pa, scim_err *err)
{
    scim_os *os = cookie;
    uint64_t pfn;
    int rc = scim_physmem_alloc(os->pm, order, &pfn, err);
    if (rc)
        return rc;
    *pa = os_frame_pa(pfn);
    os->st.frames_pasid_table += 1ull << order;
    os_update_free(os);
    return 0;
}

scim_ctx_mem os_ctx_mem(scim_os *os) { return (scim_ctx_mem){os->pm, ctx_alloc, os}; }

int os_pt_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    scim_os *os = ((pt_cookie *)cookie)->os;
    int rc = scim_physmem_alloc(os->pm, 0, pfn, err);
    if (rc == 0) {
        os->st.frames_page_tables++;
        os_update_free(os);
    }
    return rc;
}

void os_pt_free(void *cookie, uint64_t pfn)
{
    scim_os *os = ((pt_cookie *)cookie)->os;
    os->st.frames_page_tables--;
    /* A walker may still be reading this table: free it only after the
     * shootdown that made it empty (Linux: tlb_remove_table). */
    if (os->collect) {
        if (os_frame_list_add(os->collect, pfn, 0) == 0) {
            os->deferred++;
            return;
        }
        /* Freed now, it could be reused while a walker still reads it (the
         * checker's use after free): the run stops here instead. */
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory freeing a page-table frame");
        return;
    }
    os_release_frame(os, pfn, 0);
}

/* ---------- reclaimable pages (CLOCK) ---------- */

#define OS_LRU_LEAF_BITS 12
#define OS_LRU_LEAF (1u << OS_LRU_LEAF_BITS)

/* The lru position slot of pfn (index + 1, 0 when absent); NULL when its
 * leaf does not exist and `make` is false, or host memory ran out. */
static uint32_t *lru_pos(scim_os *os, uint64_t pfn, bool make)
{
    uint64_t li = pfn >> OS_LRU_LEAF_BITS;
    if (li >= os->n_lru_pos) {
        if (!make)
            return NULL;
        size_t n = os->n_lru_pos ? os->n_lru_pos : 64;
        while (n <= li)
            n *= 2;
        uint32_t **t = realloc(os->lru_pos, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + os->n_lru_pos, 0, (n - os->n_lru_pos) * sizeof *t);
        os->lru_pos = t;
        os->n_lru_pos = n;
    }
    if (!os->lru_pos[li] && (!make || !(os->lru_pos[li] = calloc(OS_LRU_LEAF, sizeof(uint32_t)))))
        return NULL;
    return &os->lru_pos[li][pfn & (OS_LRU_LEAF - 1)];
}

void os_lru_add(scim_os *os, uint32_t pasid, uint64_t va, uint64_t pfn)
{
    if (os->n_lru == os->cap_lru) { /* not os_grow: the unused tail is never read, so it is not zeroed */
        size_t cap = os->cap_lru ? os->cap_lru * 2 : 1024;
        lru_page *n = realloc(os->lru, cap * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
            return;
        }
        os->lru = n;
        os->cap_lru = cap;
    }
    uint32_t *pos = lru_pos(os, pfn, true);
    if (!pos || os->n_lru >= UINT32_MAX - 1) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
        return;
    }
    if (!*pos) /* a frame listed twice keeps its first position, as before */
        *pos = (uint32_t)os->n_lru + 1;
    os->lru[os->n_lru++] = (lru_page){va, pfn, pasid};
}

void os_lru_remove(scim_os *os, uint64_t pfn)
{
    uint32_t *pos = lru_pos(os, pfn, false);
    if (!pos || !*pos)
        return; /* huge pages are not on the list */
    size_t i = *pos - 1;
    *pos = 0;
    os->n_lru--;
    if (i != os->n_lru) {
        os->lru[i] = os->lru[os->n_lru];
        *lru_pos(os, os->lru[i].pfn, false) = (uint32_t)i + 1;
    }
    if (os->hand >= os->n_lru)
        os->hand = 0;
}

/* ---------- pins ---------- */

uint64_t os_pin_count(const scim_os *os, uint64_t pfn)
{
    const uint64_t *n = scim_u64map_get(&os->pins, pfn);
    return n ? *n : 0;
}

/* Pin counts, and the pinned-frames integral the time-average comes from. */
static void pinned_changed(scim_os *os, int64_t delta)
{
    scim_time_t now = scim_kernel_now(os->k);
    os->st.pinned_integral += os->st.frames_pinned * (now - os->pinned_since);
    os->pinned_since = now;
    os->st.frames_pinned = (uint64_t)((int64_t)os->st.frames_pinned + delta);
    if (os->st.frames_pinned > os->st.frames_pinned_peak)
        os->st.frames_pinned_peak = os->st.frames_pinned;
}

bool os_pin_frame(scim_os *os, uint64_t pfn)
{
    uint64_t *n = scim_u64map_upsert(&os->pins, pfn, 0);
    if (!n) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return false;
    }
    if ((*n)++ == 0)
        pinned_changed(os, 1);
    return true;
}

void os_unpin_frame(scim_os *os, uint64_t pfn)
{
    uint64_t *n = scim_u64map_get(&os->pins, pfn);
    if (!n)
        return;
    if (--*n == 0) {
        scim_u64map_remove(&os->pins, pfn);
        pinned_changed(os, -1);
        if (scim_u64map_get(&os->orphans, pfn)) {
            scim_u64map_remove(&os->orphans, pfn);
            os->st.frames_transit--;
            os_release_frame(os, pfn, 0);
        }
    }
}

void scim_os_sync_stats(scim_os *os) { pinned_changed(os, 0); }

/* ---------- reserved buffers and the counts ---------- */

int scim_os_alloc_backup(scim_os *os, uint64_t bytes, uint64_t *pa, scim_err *err)
{
    uint64_t pages = (bytes + OS_PAGE_MASK) / OS_PAGE_SIZE;
    unsigned order = 0;
    while ((1ull << order) < pages)
        order++;
    uint64_t pfn;
    int rc = scim_physmem_alloc(os->pm, order, &pfn, err);
    if (rc)
        return rc;
    os->st.frames_reserved += 1ull << order;
    os_update_free(os);
    *pa = os_frame_pa(pfn);
    return 0;
}

void scim_os_frames_get(const scim_os *os, scim_os_frames *out)
{
    out->total = scim_physmem_frames_total(os->pm);
    out->free = scim_physmem_frames_free(os->pm);
    out->data = os->st.frames_data;
    out->page_tables = os->st.frames_page_tables;
    out->pasid_table = os->st.frames_pasid_table;
    out->deferred = os->deferred;
    out->transit = os->st.frames_transit;
    out->reserved = os->st.frames_reserved;
}
