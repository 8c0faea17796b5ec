/* The hypervisor's stage-2 reclaim (vms.<n>.s2_reclaim.*): on its timer,
 * it takes guest pages back from stage 2, moving each to a new host frame
 * once the shootdown of its translations is over. */
#include "os/hyp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "os/warm_internal.h"

/* Every acknowledgement is in: no cache holds the old translations; the
 * old host frames go back to the host. */
static void s2_round_done(scim_os *os, size_t idx, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < os->ops[idx].n_pages; i++) {
        os->st.frames_transit--;
        os_release_frame(os, os->ops[idx].pages[i].old_pfn, 0);
    }
    sd_op *op = &os->ops[idx]; /* freeing wakes faults, which may start rounds */
    os_frame_list_free(&op->data);
    os_frame_list_free(&op->tables);
    op->used = false;
}

/* Guest page (pasid, va) at host frame h (guest frame g) moves to host
 * frame h2: its stage-2 entry removed, the new frame behind g, its place
 * on the CLOCK list the newest, the old frame in transit until the
 * shootdown is over. False when the host is out of memory. */
static bool s2_move(scim_os *os, os_vm *vm, uint32_t pasid, uint64_t va, uint64_t h, uint64_t g, uint64_t h2)
{
    scim_pgtable_unmap(vm->s2, os_frame_pa(g), NULL, NULL);
    scim_u64map_remove(&os->vm_frames, h);
    if (!scim_u64map_upsert(&os->vm_frames, h2, (uint64_t)vm->index << VM_GPFN_BITS | g))
        return false;
    vm->back[g] = h2 + 1;
    os_lru_remove(os, h);
    os_lru_add(os, pasid, va, h2);
    os->st.frames_transit++;
    os_update_free(os);
    vm->st.s2_reclaimed++;
    return true;
}

/* s2_move in the shootdown round *idx of its PASID (created at its first
 * page). False if no frame is free. */
static bool s2_take(scim_os *os, os_vm *vm, uint32_t pasid, uint64_t va, uint64_t h, uint64_t g, size_t *idx,
                    bool *have)
{
    uint64_t h2;
    if (scim_physmem_alloc(os->pm, 0, &h2, NULL) != 0)
        return false;
    if (!*have && !os_new_op(os, pasid, NULL, s2_round_done, vm, idx)) {
        scim_physmem_free(os->pm, h2, 0);
        return false;
    }
    *have = true;
    sd_op *op = &os->ops[*idx];
    if (os->checker)
        scim_obs_stale_page(os->checker, op->checker_id, pasid, va, os_frame_pa(h), OS_PAGE_SHIFT);
    if (!os_op_add_page(os, op, va, OS_PAGE_SIZE, h))
        return false;
    if (!s2_move(os, vm, pasid, va, h, g, h2)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return false;
    }
    return true;
}

#define S2_ROUND_PASIDS 16 /* PASIDs one round shoots down (further ones wait for the next round) */
#define WARM_VICTIMS_FIRST_CAP 8 /* a warm round's first list of pages (it grows) */

/* The round's candidates: guest pages of vm with a stage-2 entry, neither
 * pinned nor in transition, in the CLOCK list's order, at most
 * s2_reclaim.pages; taken before any is moved (a move reorders the list).
 * NULL when out of host memory. */
static lru_page *candidates(scim_os *os, const os_vm *vm, size_t *n)
{
    lru_page *cand = calloc(vm->p.s2_reclaim_pages, sizeof *cand);
    *n = 0;
    for (size_t i = 0; cand && i < os->n_lru && *n < vm->p.s2_reclaim_pages; i++) {
        const lru_page *e = &os->lru[i];
        uint64_t g;
        process *p = os_find_process(os, (uint32_t)e->pasid);
        if (os_hyp_vm_of_frame(os, e->pfn, &g) == vm && s2_present(vm, g) && !os_pin_count(os, e->pfn) && p &&
            !os_busy_get(p, e->va))
            cand[(*n)++] = *e;
    }
    return cand;
}

/* The round of candidate i's PASID among r[0..*nr), added if there is
 * room; -1 when S2_ROUND_PASIDS rounds are open already. */
static int round_of(uint32_t *pasids, size_t *nr, uint32_t pasid)
{
    size_t k = 0;
    while (k < *nr && pasids[k] != pasid)
        k++;
    if (k == *nr && *nr == S2_ROUND_PASIDS)
        return -1;
    if (k == *nr)
        pasids[(*nr)++] = pasid;
    return (int)k;
}

void os_hyp_s2_reclaim(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    os_vm *vm = os->vms[arg & ((UINT64_C(1) << S2_TIMER_GEN_SHIFT) - 1)];
    if (arg >> S2_TIMER_GEN_SHIFT != vm->timer_gen)
        return; /* superseded (the warm-up's end rescheduled the rounds) */
    if (vm->pin_all)
        return; /* pinned guest memory stays where it is */
    size_t n;
    lru_page *cand = candidates(os, vm, &n);
    if (!cand) {
        /* a round skipped would change the run's results without a word */
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    uint32_t pasids[S2_ROUND_PASIDS];
    struct s2_round { size_t idx; bool have; } r[S2_ROUND_PASIDS] = {{0, false}};
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        int k = round_of(pasids, &nr, (uint32_t)cand[i].pasid);
        if (k < 0)
            continue;
        uint64_t g = 0;
        os_hyp_vm_of_frame(os, cand[i].pfn, &g);
        if (!s2_take(os, vm, (uint32_t)cand[i].pasid, cand[i].va, cand[i].pfn, g, &r[k].idx, &r[k].have))
            break;
    }
    free(cand);
    for (size_t k = 0; k < nr; k++) {
        if (r[k].have) {
            vm->st.s2_rounds++;
            os_start_shootdown(os, r[k].idx);
        }
    }
    if (vm->p.s2_reclaim_interval)
        scim_kernel_schedule_timer(os->k, vm->p.s2_reclaim_interval, SCIM_PRIO_DEFAULT, os_hyp_s2_reclaim, os, arg);
}

/* ---------- warm-up (sim.warmup_until): rounds at once ---------- */

/* os_hyp_s2_reclaim's round at once: the same candidates and moves, each
 * PASID's shootdown through the warm-up's invalidation callback, then the
 * old frames freed, round after round in the order they were opened (the
 * timed rounds run side by side; one PASID per VM, the usual case, has
 * one). */
static int warm_s2_round(scim_os *os, os_vm *vm, scim_err *err)
{
    if (vm->pin_all)
        return 0;
    size_t n;
    lru_page *cand = candidates(os, vm, &n);
    if (!cand)
        return os_warm_out_of_memory(err, "stage-2 reclaim");
    uint32_t pasids[S2_ROUND_PASIDS];
    warm_round rd[S2_ROUND_PASIDS];
    memset(rd, 0, sizeof rd);
    size_t nr = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int k = round_of(pasids, &nr, (uint32_t)cand[i].pasid);
        uint64_t g = 0, h2;
        if (k < 0)
            continue;
        if (scim_physmem_alloc(os->pm, 0, &h2, NULL) != 0)
            break;
        victim *v = os_grow(rd[k].v, &rd[k].cap, rd[k].n + 1, sizeof *v, WARM_VICTIMS_FIRST_CAP);
        if (!v) {
            scim_physmem_free(os->pm, h2, 0);
            rc = os_warm_out_of_memory(err, "stage-2 reclaim");
            break;
        }
        rd[k].v = v;
        rd[k].v[rd[k].n++] = (victim){cand[i].va, cand[i].pfn, 0};
        rd[k].p = os_find_process(os, (uint32_t)cand[i].pasid);
        os_hyp_vm_of_frame(os, cand[i].pfn, &g);
        if (!s2_move(os, vm, (uint32_t)cand[i].pasid, cand[i].va, cand[i].pfn, g, h2))
            rc = os_warm_out_of_memory(err, "stage-2 reclaim");
    }
    free(cand);
    for (size_t k = 0; k < nr; k++) { /* even after a failure: no cache may keep what moved */
        int sd = rd[k].n ? os_warm_shoot_down(os, &rd[k], rc ? NULL : err) : 0;
        rc = rc ? rc : sd;
    }
    for (size_t k = 0; k < nr; k++) {
        for (size_t i = 0; i < rd[k].n; i++) {
            os->st.frames_transit--;
            os_warm_free_frame(os, rd[k].v[i].pfn, 0);
        }
        free(rd[k].v);
    }
    return rc;
}

int scim_os_warm_s2_reclaim(scim_os *os, scim_time_t t, scim_err *err)
{
    for (size_t i = 0; i < os->n_vms; i++) {
        os_vm *vm = os->vms[i];
        while (vm->warm_due && vm->warm_due <= t) {
            if (!os->warm_inv)
                return scim_err_set(err, SCIM_ESTATE, "sim.warmup: vm '%s': a stage-2 reclaim round needs the "
                                    "invalidation callback (scim_os_warm_set_invalidate)", vm->name);
            int rc = warm_s2_round(os, vm, err);
            if (rc)
                return rc;
            vm->warm_due = vm->p.s2_reclaim_interval ? vm->warm_due + vm->p.s2_reclaim_interval : 0;
        }
    }
    return 0;
}

void scim_os_warm_s2_reclaim_end(scim_os *os, scim_time_t origin)
{
    for (size_t i = 0; i < os->n_vms; i++) {
        os_vm *vm = os->vms[i];
        if (!vm->p.s2_reclaim_at)
            continue;
        vm->timer_gen++; /* the build's timer, at s2_reclaim.at of the detailed clock, does nothing */
        if (vm->warm_due)
            scim_kernel_schedule_timer(os->k, vm->warm_due - origin, SCIM_PRIO_DEFAULT, os_hyp_s2_reclaim, os,
                                       (uint64_t)vm->index | vm->timer_gen << S2_TIMER_GEN_SHIFT);
    }
}

const char *scim_os_vm_s2_reclaim_timed(const scim_os *os)
{
    for (size_t i = 0; i < os->n_vms; i++)
        if (os->vms[i]->p.s2_reclaim_at)
            return os->vms[i]->name;
    return NULL;
}
