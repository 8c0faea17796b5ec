/* The functional walk (sim.warmup): what a timed walk of the same request
 * leaves behind, at once (mmu/walker.h, scim_walker_walk_now). */
#include "mmu/pte_ad.h"
#include "mmu/walker_internal.h"

/* The memory's read for a walk: the entry with its accessed/dirty bits set
 * (set_ad), as memctl.c answers a walker's read. */
static uint64_t physmem_entry(void *pm, uint64_t pa, const scim_pt_format *fmt, int level, bool write)
{
    bool updated;
    return scim_pte_walk_read(pm, pa, fmt, level, write, &updated);
}

/* s2_translate and s2_pte at once: gpa's host address and stage-2 rights
 * and page, or the status of a walk that fails at stage 2. */
static scim_walk_status s2_now(scim_walker *w, scim_walk_entry_fn entry, void *ctx, const scim_stage2 *s2,
                               uint64_t gpa, bool write, uint32_t *reads, uint64_t *hpa, unsigned *perms,
                               unsigned *shift)
{
    if (!scim_pt_va_valid(s2->fmt, gpa))
        return SCIM_WALK_RESERVED;
    scim_tlb_entry c;
    if (w->s2tlb && scim_tlb_lookup(w->s2tlb, s2->vmid, scim_pfn_addr(scim_pfn(gpa)), &c) == 1) {
        *hpa = scim_pfn_addr(c.pfn) + scim_page_offset(gpa, SCIM_SHIFT_4K);
        *perms = c.perms;
        *shift = SCIM_SHIFT_4K;
        return SCIM_WALK_OK;
    }
    int level = s2->fmt->levels;
    uint64_t table = s2->root;
    unsigned p = SCIM_PERM_R | SCIM_PERM_W;
    for (int l = 1; l < s2->fmt->levels; l++) {
        if (w->s2pwc[l] && scim_tlb_lookup(w->s2pwc[l], s2->vmid, pwc_key(s2->fmt, gpa, l), &c) == 1) {
            level = l;
            table = scim_pfn_addr(c.pfn);
            p = c.perms;
            break;
        }
    }
    for (;; level--) {
        (*reads)++;
        w->st.pte_reads++;
        w->nst.s2_reads++;
        scim_pte_info e;
        s2->fmt->decode(entry(ctx, scim_pt_entry_addr(s2->fmt, table, gpa, level), s2->fmt, level, write), level, &e);
        if (e.kind == SCIM_PTE_NOT_PRESENT || e.kind == SCIM_PTE_RESERVED)
            return e.kind == SCIM_PTE_RESERVED ? SCIM_WALK_RESERVED : SCIM_WALK_NOT_PRESENT;
        p &= e.perms;
        if (e.kind == SCIM_PTE_TABLE) {
            if (w->s2pwc[level - 1]) {
                c = (scim_tlb_entry){.pasid = s2->vmid, .page_shift = SCIM_SHIFT_4K, .perms = (uint8_t)p,
                                     .vpn = scim_vpn(pwc_key(s2->fmt, gpa, level - 1)), .pfn = scim_pfn(e.addr)};
                scim_tlb_insert(w->s2pwc[level - 1], &c, NULL);
            }
            table = e.addr;
            continue;
        }
        *hpa = e.addr + scim_page_offset(gpa, e.shift);
        if (w->s2tlb) {
            c = (scim_tlb_entry){.pasid = s2->vmid, .page_shift = SCIM_SHIFT_4K, .perms = (uint8_t)p,
                                 .vpn = scim_vpn(gpa), .pfn = scim_pfn(*hpa)};
            scim_tlb_insert(w->s2tlb, &c, NULL);
        }
        *perms = p;
        *shift = e.shift;
        return SCIM_WALK_OK;
    }
}

static scim_walk_result failed_now(scim_walker *w, scim_walk_status status, int stage, uint32_t reads)
{
    if (stage == 2)
        w->nst.s2_faults++;
    return (scim_walk_result){.status = status, .stage = (uint8_t)stage, .reads = reads};
}

/* begin(), scim_walker_pte(), the second stage and the memory's set_ad in
 * one loop: the same lookups, inserts and updates in the same order. */
static scim_walk_result walk_now(scim_walker *w, scim_walk_entry_fn entry, void *ctx, uint32_t pasid, uint64_t va,
                                 bool write, uint64_t root, const scim_pt_format *fmt, const scim_stage2 *s2)
{
    /* The table-address hook (a stage-2 translation of every table
     * pointer) may answer only later, through events: refused, not guessed. */
    if (w->xlate || (s2 && !w->p.nested))
        return failed_now(w, SCIM_WALK_RESERVED, 1, 0);
    w->st.walks++;
    if (s2)
        w->nst.walks++;
    unsigned perms = SCIM_PERM_R | SCIM_PERM_W, p2, shift2;
    uint64_t table = root, hpa;
    uint32_t reads = 0;
    int level = pwc_deepest(w, pasid, va, fmt, &table, &perms);
    bool table_host = !s2 || level < fmt->levels; /* a cached pointer is a host address (combined entries) */
    for (;; level--) {
        if (!table_host) {
            scim_walk_status st = s2_now(w, entry, ctx, s2, table, false, &reads, &hpa, &p2, &shift2);
            if (st != SCIM_WALK_OK)
                return failed_now(w, st, 2, reads);
            table = scim_page_base(hpa, SCIM_SHIFT_4K);
            if (level < fmt->levels)
                pwc_fill(w, level, pasid, fmt, va, perms, table);
        }
        reads++;
        w->st.pte_reads++;
        uint64_t pte = entry(ctx, scim_pt_entry_addr(fmt, table, va, level), fmt, level, write);
        scim_pte_info e;
        scim_pte_kind kind = s1_entry(fmt, pte, level, &perms, &e);
        if (kind == SCIM_PTE_TABLE) {
            if (!s2)
                pwc_fill(w, level - 1, pasid, fmt, va, perms, e.addr);
            table = e.addr;
            table_host = !s2;
            continue;
        }
        if (kind != SCIM_PTE_LEAF)
            return failed_now(w, kind == SCIM_PTE_RESERVED ? SCIM_WALK_RESERVED : SCIM_WALK_NOT_PRESENT, 1, reads);
        if (!s2)
            return (scim_walk_result){.status = SCIM_WALK_OK, .page_pa = e.addr, .shift = e.shift, .perms = perms,
                                      .reads = reads};
        scim_walk_status st =
            s2_now(w, entry, ctx, s2, e.addr + scim_page_offset(va, e.shift), write, &reads, &hpa, &p2, &shift2);
        if (st != SCIM_WALK_OK)
            return failed_now(w, st, 2, reads);
        unsigned s = e.shift < shift2 ? e.shift : shift2;
        return (scim_walk_result){.status = SCIM_WALK_OK, .page_pa = scim_page_base(hpa, s), .shift = s,
                                  .perms = perms & p2, .reads = reads};
    }
}

scim_walk_result scim_walker_walk_now(scim_walker *w, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write,
                                      uint64_t root, const scim_pt_format *fmt)
{
    return walk_now(w, physmem_entry, pm, pasid, va, write, root, fmt, NULL);
}

scim_walk_result scim_walker_walk_now_nested(scim_walker *w, scim_physmem *pm, uint32_t pasid, uint64_t va,
                                             bool write, uint64_t root, const scim_pt_format *fmt,
                                             const scim_stage2 *s2)
{
    return walk_now(w, physmem_entry, pm, pasid, va, write, root, fmt, s2);
}

scim_walk_result scim_walker_walk_now_from(scim_walker *w, scim_walk_entry_fn entry, void *ctx, uint32_t pasid,
                                           uint64_t va, bool write, uint64_t root, const scim_pt_format *fmt)
{
    return walk_now(w, entry, ctx, pasid, va, write, root, fmt, NULL);
}

