/* Address spaces (processes, published in the PASID table the IOMMU
 * reads), their regions (VMAs), and mapping a page of a region. */
#include "os/os_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* What a page table asks of the OS: its table frames, and (for the walk
 * placement shadow) every entry it writes. */
static const scim_pt_alloc_ops pt_ops = {
    .alloc_table = os_pt_alloc,
    .free_table = os_pt_free,
    .entry_written = os_shadow_entry_written,
};

/* Without system.paging a process has the ISA's 4-level, 48-bit format. */
#define OS_DEFAULT_LEVELS 4

static const char *os_paging_choices(scim_isa isa)
{
    switch (isa) {
    case SCIM_ISA_ARMV8: return "3 levels: va39, or 4: va48";
    case SCIM_ISA_RISCV: return "3 levels: sv39, 4: sv48, or 5: sv57";
    default: return "4 levels or 5";
    }
}

process *os_find_process(const scim_os *os, uint32_t pasid)
{
    for (size_t i = 0; i < os->n_procs; i++)
        if (os->procs[i].pasid == pasid)
            return &os->procs[i];
    return NULL;
}

const region *os_find_region(const process *p, uint64_t va)
{
    size_t lo = 0, hi = p->n_regions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->regions[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->n_regions && p->regions[lo].start <= va)
        return &p->regions[lo];
    return NULL;
}

/* Room for one more region; false if out of host memory. */
static bool region_room(process *p)
{
    region *n = os_grow(p->regions, &p->cap_regions, p->n_regions + 1, sizeof *n, 8);
    if (!n)
        return false;
    p->regions = n;
    return true;
}

static int insert_region(process *p, uint64_t start, uint64_t end, unsigned prot, unsigned shift, scim_err *err)
{
    for (size_t i = 0; i < p->n_regions; i++)
        if (start < p->regions[i].end && p->regions[i].start < end)
            return scim_err_set(err, SCIM_EEXIST, "region [0x%llx, 0x%llx) of pasid %u overlaps [0x%llx, 0x%llx)",
                                (unsigned long long)start, (unsigned long long)end, p->pasid,
                                (unsigned long long)p->regions[i].start, (unsigned long long)p->regions[i].end);
    if (!region_room(p))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a region");
    size_t at = 0;
    while (at < p->n_regions && p->regions[at].start < start)
        at++;
    memmove(&p->regions[at + 1], &p->regions[at], (p->n_regions - at) * sizeof *p->regions);
    p->regions[at] = (region){start, end, prot, shift};
    p->n_regions++;
    return 0;
}

int os_remove_regions(process *p, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < p->n_regions;) {
        region *r = &p->regions[i];
        if (r->end <= start || r->start >= end) {
            i++;
            continue;
        }
        if (r->start < start && r->end > end) {
            region tail = *r;
            tail.start = end;
            r->end = start;
            if (!region_room(p))
                return SCIM_ENOMEM;
            memmove(&p->regions[i + 2], &p->regions[i + 1], (p->n_regions - i - 1) * sizeof *p->regions);
            p->regions[i + 1] = tail;
            p->n_regions++;
            return 0;
        }
        if (r->start < start) {
            r->end = start;
            i++;
        } else if (r->end > end) {
            r->start = end;
            i++;
        } else {
            memmove(r, r + 1, (p->n_regions - i - 1) * sizeof *r);
            p->n_regions--;
        }
    }
    return 0;
}

int os_protect_regions(process *p, uint64_t start, uint64_t end, unsigned prot)
{
    for (size_t i = 0; i < p->n_regions; i++) {
        region r = p->regions[i];
        if (r.end <= start || r.start >= end || r.prot == prot)
            continue;
        uint64_t lo = r.start > start ? r.start : start, hi = r.end < end ? r.end : end;
        if (os_remove_regions(p, lo, hi) || insert_region(p, lo, hi, prot, r.page_shift, NULL))
            return SCIM_ENOMEM;
        i = (size_t)-1; /* the list changed: rescan; regions done are skipped by the prot test */
    }
    return 0;
}

int os_map_new_page(scim_os *os, process *p, uint64_t va, const region *r, uint64_t pfn_given, bool have_pfn,
                    scim_err *err)
{
    unsigned order = os_order(r->page_shift);
    uint64_t pfn = pfn_given;
    int rc = 0;
    if (!have_pfn && (rc = os_frame_alloc(os, p, order, &pfn, err)) != 0)
        return rc;
    unsigned attrs = SCIM_PTA_USER | ((r->prot & OS_PROT_W) ? SCIM_PTA_WRITE : 0);
    if (r->prot == SCIM_PROT_NONE)
        attrs = 0;
    rc = scim_pgtable_map(p->pt, va, os_frame_pa(pfn), r->page_shift, attrs, err);
    if (rc) {
        if (!have_pfn)
            os_frame_give_back(os, pfn, order);
        os_update_free(os);
        return rc;
    }
    os->st.frames_data += 1ull << order;
    if (order == 0)
        os_lru_add(os, p->pasid, va, pfn);
    os_update_free(os);
    return 0;
}

void os_forget_swapped(scim_os *os, process *p, uint64_t va)
{
    uint64_t *slot = scim_u64map_get(&p->swapped, os_vpn(va));
    if (slot) {
        os_slot_free(os, *slot - 1);
        scim_u64map_remove(&p->swapped, os_vpn(va));
    }
}

static int check_region_args(uint64_t va, uint64_t size, unsigned shift, scim_err *err)
{
    if (shift != OS_PAGE_SHIFT && shift != OS_SHIFT_2M && shift != OS_SHIFT_1G)
        return scim_err_set(err, SCIM_EINVAL, "page size must be 4K, 2M or 1G");
    uint64_t mask = (1ull << shift) - 1;
    if (size == 0 || (va & mask) || (size & mask) || va + size < va)
        return scim_err_set(err, SCIM_EINVAL,
                            "region va 0x%llx size 0x%llx must be non-empty and aligned to its page size "
                            "(%llu KiB)",
                            (unsigned long long)va, (unsigned long long)size, (unsigned long long)((mask + 1) >> 10));
    return 0;
}

int os_add_region(scim_os *os, process *p, uint64_t va, uint64_t size, unsigned shift, unsigned prot,
                  bool populate, scim_err *err)
{
    int rc = check_region_args(va, size, shift, err);
    if (rc)
        return rc;
    const scim_pt_format *f = scim_pgtable_format(p->pt);
    if (!scim_pt_va_valid(f, va) || !scim_pt_va_valid(f, va + size - 1))
        return scim_err_set(err, SCIM_EINVAL, "region [0x%llx, 0x%llx) is not %s for %s %s paging",
                            (unsigned long long)va, (unsigned long long)(va + size),
                            f->sign_extended ? "canonical" : "a valid address range", scim_isa_name(f->isa),
                            f->name);
    rc = insert_region(p, va, va + size, prot, shift, err);
    if (rc || !populate)
        return rc;
    region r = *os_find_region(p, va);
    for (uint64_t a = va; a < va + size; a += 1ull << shift)
        if ((rc = os_map_new_page(os, p, a, &r, 0, false, err)) != 0)
            return rc;
    return 0;
}

/* ---------- set-up and queries ---------- */

int scim_os_add_process(scim_os *os, const char *name, uint32_t pasid, int levels, scim_err *err)
{
    return scim_os_add_guest_process(os, name, pasid, levels, NULL, err);
}

int scim_os_add_guest_process(scim_os *os, const char *name, uint32_t pasid, int levels, const char *vm_name,
                              scim_err *err)
{
    struct os_vm *vm = vm_name ? os_find_vm(os, vm_name) : NULL;
    if (vm_name && !vm)
        return scim_err_set(err, SCIM_ENOENT, "process '%s': no VM is named '%s'; add vms.%s", name, vm_name,
                            vm_name);
    if (pasid == 0 || pasid > SCIM_PASID_MAX)
        return scim_err_set(err, SCIM_ERANGE, "process '%s': pasid %u is out of range 1..%u", name, pasid,
                            SCIM_PASID_MAX);
    if (os_find_process(os, pasid))
        return scim_err_set(err, SCIM_EEXIST, "two processes use pasid %u; PASIDs must be unique", pasid);
    const scim_pt_format *fmt = levels ? scim_pt_format_of(os->p.isa, levels)
                                : os->p.paging ? os->p.paging
                                               : scim_pt_format_of(os->p.isa, OS_DEFAULT_LEVELS);
    if (!fmt || fmt->isa != os->p.isa)
        return scim_err_set(err, SCIM_EINVAL, "process '%s': %s has no %d-level paging (%s)", name,
                            scim_isa_name(os->p.isa), levels, os_paging_choices(os->p.isa));
    process *n = realloc(os->procs, (os->n_procs + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a process");
    os->procs = n;
    process *p = &os->procs[os->n_procs];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->pasid = pasid;
    p->levels = fmt->levels;
    scim_u64map_init(&p->swapped);
    scim_u64map_init(&p->busy);
    scim_u64map_init(&p->queued);
    scim_u64map_init(&p->pinned_at);
    p->cookie = malloc(sizeof *p->cookie);
    if (!p->cookie)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a process");
    *p->cookie = (pt_cookie){os, pasid, vm};
    p->vm = vm;
    p->pt = scim_pgtable_create(os->pm, fmt, vm ? &os_guest_pt_ops : &pt_ops, p->cookie, err);
    if (!p->pt) {
        free(p->cookie);
        return err && err->code ? err->code : SCIM_ENOMEM;
    }
    os->n_procs++;
    /* Publish the address space in the context structures the IOMMU reads. */
    scim_ctx_mem cm = os_ctx_mem(os);
    return os->ctxf->set_pasid(&cm, &os->ctx, pasid, scim_pgtable_root(p->pt), fmt, err);
}

int scim_os_add_static_dma(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, scim_err *err)
{
    process *p = os_find_process(os, pasid);
    if (!p)
        return scim_err_set(err, SCIM_ENOENT, "no process with pasid %u", pasid);
    struct os_range *n = realloc(p->static_dma, (p->n_static_dma + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    p->static_dma = n;
    n[p->n_static_dma++] = (struct os_range){os_page_down(va), os_page_up(va + size)};
    return 0;
}

int scim_os_add_region(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, unsigned page_shift,
                       unsigned prot, bool populate, scim_err *err)
{
    process *p = os_find_process(os, pasid);
    if (!p)
        return scim_err_set(err, SCIM_ENOENT, "no process has pasid %u", pasid);
    if (p->vm && page_shift != OS_PAGE_SHIFT)
        return scim_err_set(err, SCIM_EINVAL,
                            "process '%s' runs in a VM, whose pages are 4 KiB in this model; set page_size: 4K",
                            p->name);
    os->setup_touch = true; /* populating touches the pages: stage 2 maps them now */
    int rc = os_add_region(os, p, va, size, page_shift, prot, populate, err);
    os->setup_touch = false;
    return rc;
}

int scim_os_address_space(const scim_os *os, uint32_t pasid, uint64_t *root_pa, const scim_pt_format **fmt)
{
    const process *p = os_find_process(os, pasid);
    if (!p)
        return SCIM_ENOENT;
    *root_pa = scim_pgtable_root(p->pt);
    *fmt = scim_pgtable_format(p->pt);
    return 0;
}

int scim_os_resolve(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    scim_os *os = ctx;
    process *p = os_find_process(os, pasid);
    if (!p)
        return 0;
    return scim_pgtable_lookup(p->pt, va, pa, NULL, NULL) == 1;
}
