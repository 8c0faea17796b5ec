/* The OS's functional warm-up (sim.warmup: scim_os_warm_fault,
 * scim_os_warm_op) against its timed path, by twins: two OSes built alike
 * (same parameters, same memory size, same regions, same mocks). One is
 * sent page requests (or CPU faults, or OS operations) through its port as
 * an agent would and its kernel is run to completion; the other is given
 * the same pages, in the same order, through the warm-up calls. Then
 * everything the OS keeps is compared: each page's translation (so the
 * frames came out of the allocator alike), the page size and attributes
 * of each leaf, every page-table entry in memory, the frame accounting,
 * the CLOCK list reclaim scans, the swapped-out pages and the swap slots,
 * and the regions. One twin pair is then run on, timed, alike, until
 * reclaim evicts: the same future follows.
 *
 * The OS alone, as in test_os_unit.c: mocks stand for the IOMMU, an agent
 * ("dev0"), a core ("cpu0") and the memory ("mem": where new frames are
 * zeroed, when a case turns zeroing on); they all answer at once (ECHO), so
 * shootdowns complete. The twins and the comparison are in
 * helpers/warmtwin.h; munmap and mprotect in test_warm_os_ops.c; the
 * warm-up's own reclaim in test_warm_os_reclaim.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/warmtwin.h"

/* ---------- faults of 4 KiB pages ---------- */

/* A fixed pseudo-random walk over B and C (reads and writes, repeats),
 * plus a populated page (present), a read-only page, a write after a read
 * and an address inside a page. */
START_TEST(twin_4k_faults_match)
{
    enum via via = (enum via)_i;
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, via);
    same_state(&t, &w, "after set-up");
    uint64_t x = 12345;
    for (int k = 0; k < 48; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t page = (x >> 33) % (REG_B_PAGES + REG_C_PAGES);
        uint64_t va = page < REG_B_PAGES ? REG_B + page * PG : REG_C + (page - REG_B_PAGES) * PG;
        both_fault(&t, &w, via, va + ((x >> 20) & (PG - 1)), (x >> 60) & 1);
    }
    both_fault(&t, &w, via, REG_A + 3 * PG, true);
    both_fault(&t, &w, via, REG_R + 2 * PG + 0x10, false);
    both_fault(&t, &w, via, REG_B + 40 * PG, false);
    both_fault(&t, &w, via, REG_B + 40 * PG + 8, true);
    same_state(&t, &w, "after the faults");
    unsigned attrs = 0;
    ck_assert(scim_pgtable_lookup(proc(&w)->pt, REG_R + 2 * PG, NULL, NULL, &attrs) == 1);
    ck_assert_msg(!(attrs & SCIM_PTA_WRITE) && (attrs & SCIM_PTA_USER), "read-only page: attrs 0x%x", attrs);
    side_free(&t);
    side_free(&w);
}
END_TEST

/* 2 MiB pages: an order-9 frame each, one leaf of the region's size, not
 * on the CLOCK list (huge pages are not reclaimed). */
START_TEST(twin_huge_faults_match)
{
    enum via via = (enum via)_i;
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, via);
    size_t lru0 = w.os->n_lru;
    both_fault(&t, &w, via, REG_H + 0x1234, false);
    both_fault(&t, &w, via, REG_H + HUGE_PG + 5 * PG, true);
    both_fault(&t, &w, via, REG_H + 7 * PG, true);
    same_state(&t, &w, "2 MiB pages");
    unsigned shift = 0;
    uint64_t pa = 0;
    ck_assert(scim_pgtable_lookup(proc(&w)->pt, REG_H + HUGE_PG + 9 * PG, &pa, &shift, NULL) == 1);
    ck_assert_msg(shift == SCIM_SHIFT_2M, "leaf shift %u", shift);
    ck_assert_msg(scim_page_offset(pa, SCIM_SHIFT_2M) == 9 * PG, "pa 0x%llx", (unsigned long long)pa);
    ck_assert_uint_eq(w.os->n_lru, lru0);
    side_free(&t);
    side_free(&w);
}
END_TEST

/* ---------- swap-in, write upgrade ---------- */

/* Both twins fault 8 pages of B and reclaim them (timed, alike); then a
 * page is read back and another written: timed (two major faults), warm. */
START_TEST(twin_swap_in_matches)
{
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, VIA_PRI);
    scim_trace_rec rec = {.op = SCIM_OP_RECLAIM, .addr = REG_B, .size = 8 * PG, .pasid = PASID,
                          .has = SCIM_TRACE_HAS_PASID};
    for (side *s = &t; s; s = s == &t ? &w : NULL) {
        for (uint64_t i = 0; i < 8; i++)
            ck_assert_int_eq(timed_fault(s, VIA_PRI, REG_B + i * PG, i & 1), SCIM_RESP_OK);
        ck_assert_int_eq(timed_op(s, &rec), SCIM_RESP_OK);
        ck_assert_uint_eq(proc(s)->swapped.len, 8);
    }
    same_state(&t, &w, "after the reclaim");
    both_fault(&t, &w, VIA_PRI, REG_B + 2 * PG, false);
    both_fault(&t, &w, VIA_PRI, REG_B + 5 * PG + 0x40, true);
    ck_assert_double_eq(rig_stat(&t.r, "os.faults.major"), 2);
    ck_assert_uint_eq(proc(&w)->swapped.len, 6);
    same_state(&t, &w, "after the swap-ins");
    side_free(&t);
    side_free(&w);
}
END_TEST

/* A present page without the write right in a writable region (as a
 * leaf left read-only): a write fault sets it, in place. */
START_TEST(twin_write_upgrade_matches)
{
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, VIA_CPU);
    uint64_t va = REG_B + 3 * PG;
    both_fault(&t, &w, VIA_CPU, va, false);
    ck_assert(scim_pgtable_update(proc(&t)->pt, va, 0, SCIM_PTA_WRITE, NULL) == 0);
    ck_assert(scim_pgtable_update(proc(&w)->pt, va, 0, SCIM_PTA_WRITE, NULL) == 0);
    both_fault(&t, &w, VIA_CPU, va, true);
    same_state(&t, &w, "after the upgrade");
    unsigned attrs = 0;
    ck_assert(scim_pgtable_lookup(proc(&w)->pt, va, NULL, NULL, &attrs) == 1);
    ck_assert_msg(attrs & SCIM_PTA_WRITE, "attrs 0x%x", attrs);
    side_free(&t);
    side_free(&w);
}
END_TEST

/* Page request groups with prefault pages: the group's page is a fault,
 * the prefault pages are mapped only where plainly missing (a present
 * page, a swapped-out one, one past the region's end and the pages of a
 * 2 MiB region are left alone; a read-only region's pages are mapped
 * read-only). */
START_TEST(twin_prefault_matches)
{
    enum via via = (enum via)_i;
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, via);
    scim_trace_rec out = {.op = SCIM_OP_RECLAIM, .addr = REG_B + 14 * PG, .size = PG, .pasid = PASID,
                          .has = SCIM_TRACE_HAS_PASID};
    for (side *s = &t; s; s = s == &t ? &w : NULL) {
        ck_assert_int_eq(timed_fault(s, VIA_PRI, REG_B + 12 * PG, false), SCIM_RESP_OK);
        ck_assert_int_eq(timed_fault(s, VIA_PRI, REG_B + 14 * PG, true), SCIM_RESP_OK);
        ck_assert_int_eq(timed_op(s, &out), SCIM_RESP_OK);
    }
    const struct {
        uint64_t va;
        bool write;
        uint32_t prefault;
    } groups[] = {{REG_B + 10 * PG + 0x30, true, 6},
                  {REG_B + (REG_B_PAGES - 2) * PG, false, 4},
                  {REG_R + PG, false, 3},
                  {REG_H + 5 * PG, true, 2}};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        ck_assert_int_eq(timed_group(&t, groups[g].va, groups[g].write, groups[g].prefault), SCIM_RESP_OK);
        warm_ok(&w, groups[g].va, groups[g].write);
        for (uint32_t k = 1; k <= groups[g].prefault; k++) {
            scim_err err = {0};
            int rc = scim_os_warm_prefault(w.os, PASID, scim_page_base(groups[g].va, SCIM_SHIFT_4K) + k * PG, &err);
            ck_assert_msg(rc == 0, "prefault: rc %d: %s", rc, err.msg);
        }
    }
    ck_assert_double_eq(rig_stat(&t.r, "os.prefaulted"), 4 + 1 + 3);
    same_state(&t, &w, "after the groups");
    ck_assert(mapped(&w, REG_B + 16 * PG) && !mapped(&w, REG_B + 14 * PG) && mapped(&w, REG_R + 4 * PG));
    side_free(&t);
    side_free(&w);
}
END_TEST

/* ---------- the same future ---------- */

/* A memory small enough that reclaim starts soon after the warm-up: 100
 * pages warmed on one twin and faulted timed on the other (reclaim not
 * started on either: free frames stay above the low watermark), then 300
 * more faulted timed on both. kswapd scans the CLOCK list the warm-up
 * filled: the same victims, the same swap slots, the same end. (Nothing
 * sets accessed bits here, and an eviction moves the list's last page
 * into the hole under the hand, so kswapd takes the newest pages first:
 * the high watermark is set so that a round goes past the pages faulted
 * after the warm-up into the warmed ones.) */
START_TEST(twin_reclaim_after_warmup_matches)
{
    side t, w;
    scim_os_params p = os_defaults();
    p.reclaim_low = 800;
    p.reclaim_high = 900;
    twin_init(&t, &w, &p, MEM_RECLAIM, VIA_PRI);
    for (uint64_t i = 0; i < 100; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, i % 3 == 0);
    ck_assert_msg(scim_physmem_frames_free(w.pm) > p.reclaim_low, "%llu free frames: the rig's memory is too small",
                  (unsigned long long)scim_physmem_frames_free(w.pm));
    ck_assert_double_eq(rig_stat(&t.r, "os.reclaim.rounds"), 0);
    same_state(&t, &w, "after the warm-up");
    for (uint64_t i = 100; i < 400; i++) {
        uint64_t va = i < REG_B_PAGES ? REG_B + i * PG : REG_C + (i - REG_B_PAGES) * PG;
        ck_assert_int_eq(timed_fault(&t, VIA_PRI, va, i & 1), SCIM_RESP_OK);
        ck_assert_int_eq(timed_fault(&w, VIA_PRI, va, i & 1), SCIM_RESP_OK);
    }
    uint64_t warmed_out = 0;
    for (uint64_t i = 0; i < 100; i++)
        warmed_out += scim_u64map_get(&proc(&t)->swapped, scim_vpn(REG_B + i * PG)) != NULL;
    ck_assert_msg(warmed_out > 0, "reclaim took none of the warmed pages: the case tests nothing");
    ck_assert_double_eq(rig_stat(&t.r, "os.reclaim.evicted"), rig_stat(&w.r, "os.reclaim.evicted"));
    same_state(&t, &w, "after reclaim");
    side_free(&t);
    side_free(&w);
}
END_TEST

/* ---------- refusals ---------- */

/* Outside every region, an unknown PASID, a write to a read-only region:
 * Invalid, and nothing changes (the twin is left alone). The timed path
 * answers the same. A read of the read-only region maps it. */
START_TEST(invalid_changes_nothing)
{
    side t, w, idle;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, VIA_PRI);
    side_init(&idle, &p, MEM_BIG, false, false);
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, NOWHERE, false, &err), SCIM_RESP_INVALID);
    ck_assert_int_eq(scim_os_warm_fault(w.os, NO_PASID, REG_B, false, &err), SCIM_RESP_INVALID);
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_R + PG, true, &err), SCIM_RESP_INVALID);
    ck_assert_msg(err.code == 0, "Invalid is an answer, not an error: %s", err.msg);
    same_state(&w, &idle, "after refused faults");
    ck_assert_int_eq(timed_fault(&t, VIA_PRI, NOWHERE, false), SCIM_RESP_INVALID);
    ck_assert_int_eq(timed_fault(&t, VIA_PRI, REG_R + PG, true), SCIM_RESP_INVALID);
    same_state(&t, &w, "the timed path refused them too");
    warm_ok(&w, REG_R + PG, false);
    ck_assert(mapped(&w, REG_R + PG));
    side_free(&t);
    side_free(&w);
    side_free(&idle);
}
END_TEST

/* A 2 MiB page that does not fit: reclaim frees 4 KiB pages, and the
 * timed fault stops the run too; an error that says which keys to change,
 * and nothing changes. (Reclaim of 4 KiB pages, and its own errors:
 * test_warm_os_reclaim.c.) */
START_TEST(huge_page_without_frames_is_enomem)
{
    side w, idle;
    scim_os_params p = os_defaults();
    side_init(&w, &p, MEM_SMALL, false, false);
    side_init(&idle, &p, MEM_SMALL, false, false);
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_H, true, &err), SCIM_ENOMEM);
    ck_assert_msg(strstr(err.msg, "sim.warmup") && strstr(err.msg, "memory.size"), "message: %s", err.msg);
    same_state(&w, &idle, "a huge page that does not fit");
    side_free(&w);
    side_free(&idle);
}
END_TEST

/* ---------- mmap ---------- */

/* mmap with populate (4 KiB and 2 MiB pages) and without, and one that
 * overlaps (Invalid): timed on one twin, warm on the other; then a fault
 * in the unpopulated one on both. */
START_TEST(twin_mmap_matches)
{
    side t, w;
    scim_os_params p = os_defaults();
    twin_init(&t, &w, &p, MEM_BIG, VIA_PRI);
    const scim_trace_rec recs[] = {
        mmap_rec(REG_M + 0x10, REG_M_PAGES * PG - 0x20, SCIM_SHIFT_4K, SCIM_PROT_RW, true),
        mmap_rec(REG_MH, 2 * HUGE_PG, SCIM_SHIFT_2M, SCIM_PROT_RW, true),
        mmap_rec(REG_MR, REG_M_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_R, false),
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        scim_err err = {0};
        ck_assert_int_eq(timed_op(&t, &recs[i]), SCIM_RESP_OK);
        scim_inv_scope inv = {SCIM_INV_GLOBAL, 0, 0, 1};
        ck_assert_msg(scim_os_warm_op(w.os, &recs[i], PASID, &inv, &err) == 0, "mmap %zu: %s", i, err.msg);
        ck_assert_msg(inv.kind == SCIM_INV_RANGE && inv.len == 0, "mmap %zu drops nothing", i);
    }
    for (uint64_t i = 0; i < REG_M_PAGES; i++)
        ck_assert_msg(mapped(&w, REG_M + i * PG) && !mapped(&w, REG_MR + i * PG), "page %llu", (unsigned long long)i);
    for (uint64_t i = 0; i < 2 * PAGES_IN_HUGE; i++)
        ck_assert(mapped(&w, REG_MH + i * PG));
    same_state(&t, &w, "after mmap");
    scim_trace_rec overlap = mmap_rec(REG_B + PG, PG, SCIM_SHIFT_4K, SCIM_PROT_RW, true);
    scim_err err = {0};
    ck_assert_int_eq(timed_op(&t, &overlap), SCIM_RESP_INVALID);
    ck_assert_int_eq(scim_os_warm_op(w.os, &overlap, PASID, NULL, &err), SCIM_RESP_INVALID);
    ck_assert_int_eq(scim_os_warm_op(w.os, &recs[0], NO_PASID, NULL, &err), SCIM_RESP_INVALID);
    both_fault(&t, &w, VIA_PRI, REG_MR + 5 * PG, false);
    ck_assert_int_eq(timed_fault(&t, VIA_PRI, REG_MR + 6 * PG, true), SCIM_RESP_INVALID);
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_MR + 6 * PG, true, &err), SCIM_RESP_INVALID);
    same_state(&t, &w, "after the faults in the new regions");
    side_free(&t);
    side_free(&w);
}
END_TEST

/* A read or a write is no OS operation: refused with a message, nothing
 * done. */
START_TEST(other_ops_are_refused)
{
    side w, idle;
    scim_os_params p = os_defaults();
    side_init(&w, &p, MEM_BIG, false, false);
    side_init(&idle, &p, MEM_BIG, false, false);
    const scim_trace_op ops[] = {SCIM_OP_READ, SCIM_OP_WRITE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        scim_trace_rec rec = {.op = ops[i], .addr = REG_A, .size = 4 * PG, .pasid = PASID,
                              .has = SCIM_TRACE_HAS_PASID};
        scim_err err = {0};
        ck_assert_int_eq(scim_os_warm_op(w.os, &rec, PASID, NULL, &err), SCIM_EINVAL);
        ck_assert_msg(strstr(err.msg, scim_trace_op_name(ops[i])) &&
                          strstr(err.msg, "not an OS operation"),
                      "message: %s", err.msg);
    }
    same_state(&w, &idle, "after refused operations");
    side_free(&w);
    side_free(&idle);
}
END_TEST

/* A process of a VM: the guest's fault maps its page in the guest's
 * table, and stage 2 is filled as the hypervisor fills it. A core's fault
 * does not zero, so its page then has no stage-2 entry and the next fault
 * of it is the hypervisor's; an I/O fault's zeroing maps it in stage 2 at
 * once. Hand counts of stage-2 mappings and backing frames. */
static double vm_stat(side *s, const char *name)
{
    double v = -1;
    ck_assert_msg(scim_stats_lookup(s->r.stats, name, &v) == 0, "no statistic %s", name);
    return v;
}

START_TEST(guest_faults_fill_stage2)
{
    side w;
    scim_os_params p = os_defaults();
    side_init(&w, &p, MEM_BIG, true, true);
    const uint32_t guest = PASID + 1;
    scim_err err = {0};
    ck_assert_int_eq(scim_os_add_region(w.os, guest, REG_B, 8 * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, false, &err), 0);
    double maps = vm_stat(&w, "vm0.hyp.s2_maps"), backed = vm_stat(&w, "vm0.hyp.frames_backed");
    bool handled = true;
    /* not mapped by the guest: the guest's fault */
    ck_assert_int_eq(scim_os_warm_s2_fault(w.os, guest, REG_B, 1, &handled, &err), 0);
    ck_assert(!handled);
    /* a core's fault: the page and the table pages it needs are new guest
     * frames; the tables are touched (mapped in stage 2), the page is not */
    ck_assert_int_eq(scim_os_warm_fault(w.os, guest, REG_B, true, &err), 0);
    const process *g = os_find_process(w.os, guest);
    ck_assert_int_eq(scim_pgtable_lookup(g->pt, REG_B, NULL, NULL, NULL), 1);
    double tables = vm_stat(&w, "vm0.hyp.frames_backed") - backed - 1;
    ck_assert_double_ge(tables, 1);
    ck_assert_double_eq(vm_stat(&w, "vm0.hyp.s2_maps"), maps + tables);
    /* the retried 2D walk's stage-2 fault: the hypervisor's, the pages of
     * the request the guest maps (the second is not mapped) */
    ck_assert_int_eq(scim_os_warm_s2_fault(w.os, guest, REG_B, 2, &handled, &err), 0);
    ck_assert(handled);
    ck_assert_double_eq(vm_stat(&w, "vm0.hyp.s2_maps"), maps + tables + 1);
    ck_assert_int_eq(scim_os_warm_s2_fault(w.os, guest, REG_B, 1, &handled, &err), 0);
    ck_assert(!handled);
    /* an I/O fault: zeroed, so mapped in stage 2 with it; a prefault too */
    ck_assert_int_eq(scim_os_warm_io_fault(w.os, guest, REG_B + PG, false, &err), 0);
    ck_assert_int_eq(scim_os_warm_prefault(w.os, guest, REG_B + 2 * PG, &err), 0);
    ck_assert_double_eq(vm_stat(&w, "vm0.hyp.s2_maps"), maps + tables + 3);
    ck_assert_double_eq(vm_stat(&w, "vm0.hyp.frames_backed"), backed + tables + 3);
    for (int i = 1; i <= 2; i++) {
        ck_assert_int_eq(scim_os_warm_s2_fault(w.os, guest, REG_B + (uint64_t)i * PG, 1, &handled, &err), 0);
        ck_assert_msg(!handled, "page %d", i);
    }
    /* the host's process: never the hypervisor's */
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_B, false, &err), 0);
    ck_assert_int_eq(scim_os_warm_s2_fault(w.os, PASID, REG_B, 1, &handled, &err), 0);
    ck_assert(!handled);
    side_free(&w);
}
END_TEST

/* A PASID whose tables a device shadows: every entry its faults and
 * prefaults write (data pages, new tables, a huge page, an mmap's
 * populated pages) reaches the copy through the warm-up's
 * sync, and the copy is the table after each. */
START_TEST(shadow_copy_follows_faults)
{
    side w;
    scim_os_params p = os_defaults();
    side_init(&w, &p, MEM_BIG, false, false);
    shadow_copy c;
    shadow_copy_init(&c, &w, "dev0");
    shadow_copy_check(&c, &w, "at bind");
    warm_ok(&w, REG_B, false);
    shadow_copy_check(&c, &w, "a read fault");
    uint64_t after_first = c.updates;
    ck_assert_uint_ge(after_first, 1);
    warm_ok(&w, REG_B, true); /* mapped with the region's rights: nothing to write */
    shadow_copy_check(&c, &w, "a write to the page");
    ck_assert_uint_eq(c.updates, after_first);
    warm_ok(&w, REG_C + 3 * PG, true);
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_prefault(w.os, PASID, REG_C + 4 * PG, &err), 0);
    shadow_copy_check(&c, &w, "a fault and a prefault");
    warm_ok(&w, REG_H, true);
    shadow_copy_check(&c, &w, "a huge page");
    scim_trace_rec rec = mmap_rec(REG_M, 4 * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, true);
    ck_assert_msg(scim_os_warm_op(w.os, &rec, PASID, NULL, &err) == 0, "%s", err.msg);
    shadow_copy_check(&c, &w, "a populated mmap");
    ck_assert(mapped(&w, REG_M + 3 * PG));
    shadow_copy_free(&c);
    side_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("warm_os");
    TCase *tc = tcase_create("warm_os");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, twin_4k_faults_match, 0, VIA_COUNT);
    tcase_add_loop_test(tc, twin_huge_faults_match, 0, VIA_COUNT);
    tcase_add_loop_test(tc, twin_prefault_matches, VIA_PRI, VIA_CPU);
    tcase_add_test(tc, twin_swap_in_matches);
    tcase_add_test(tc, twin_write_upgrade_matches);
    tcase_add_test(tc, twin_reclaim_after_warmup_matches);
    tcase_add_test(tc, invalid_changes_nothing);
    tcase_add_test(tc, huge_page_without_frames_is_enomem);
    tcase_add_test(tc, twin_mmap_matches);
    tcase_add_test(tc, other_ops_are_refused);
    tcase_add_test(tc, guest_faults_fill_stage2);
    tcase_add_test(tc, shadow_copy_follows_faults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
