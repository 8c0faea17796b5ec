/* The safety checker (src/sim/checker.h) alone, fed the events of a broken
 * model: each rule violation stops the run with SCIM_EINVARIANT and a
 * report naming the agent, the addresses and the rule, and the legal
 * cases right next to each do not. The "page table" is a map the test
 * owns (pasid 1: va 0x1000 -> pa 0x5000); every scenario runs as one
 * event of a native kernel, as the blocks call the checker.
 *   rule 1: an access through a pa the page table does not give, with and
 *     without a mapping, is caught; one through the old frame while a
 *     shootdown of that page is in flight is counted as stale, and caught
 *     again once the shootdown ended; a large page's stale window covers
 *     every 4 KiB inside it, for its PASID only;
 *   pinned (physical) accesses: to a free frame caught;
 *   an access that ends without beginning is caught;
 *   rule 2: freeing a frame with an access in flight, or that a registered
 *     TLB still translates to (inside a 2 MiB entry), is caught; freeing it
 *     after the access ended and the entry went is not. */
#include <check.h>
#include <string.h>

#include "helpers/testutil.h"
#include "mmu/tlb.h"
#include "sim/checker.h"

#define VA 0x1000ull
#define PA 0x5000ull
#define OLD_PA 0x9000ull

static int resolve(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    const int *mapped = ctx;
    if (!*mapped || pasid != 1 || (va & ~0xfffull) != VA)
        return 0;
    *pa = PA + (va & 0xfff);
    return 1;
}

static bool frame_in_use(void *ctx, uint64_t pfn)
{
    (void)ctx;
    return pfn == PA >> 12;
}

typedef struct scenario {
    scim_checker *c;
    int mapped;
    scim_tlb *tlb;
    int which;
    bool ok; /* what the checker call returned */
} scenario;

static void run_scenario(void *ctx, uint64_t arg)
{
    (void)arg;
    scenario *s = ctx;
    scim_checker *c = s->c;
    switch (s->which) {
    case 0: /* the page table maps VA elsewhere */
        s->ok = scim_checker_access_begin(c, "nic0", 1, VA + 8, OLD_PA + 8, 64);
        break;
    case 1: /* no mapping at all */
        s->mapped = 0;
        s->ok = scim_checker_access_begin(c, "cpu0", 1, VA, PA, 8);
        break;
    case 2: { /* a shootdown in flight makes the old frame legal, counted as stale */
        uint64_t sd = scim_checker_shootdown_begin(c);
        scim_checker_stale_page(c, sd, 1, VA, OLD_PA, 12);
        s->ok = scim_checker_access_begin(c, "nic0", 1, VA + 16, OLD_PA + 16, 8);
        CHECK(s->ok && scim_checker_stale_accesses(c) == 1, "a stale access in the window");
        scim_checker_access_end(c, OLD_PA + 16);
        scim_checker_shootdown_end(c, sd);
        s->ok = scim_checker_access_begin(c, "nic0", 1, VA + 16, OLD_PA + 16, 8);
        break;
    }
    case 3: { /* a 2 MiB page's window covers its 4 KiB pages */
        uint64_t sd = scim_checker_shootdown_begin(c);
        scim_checker_stale_page(c, sd, 1, 0x200000 + 0x1234, 0x40000000, 21);
        CHECK(scim_checker_access_begin(c, "nic0", 1, 0x200000 + 0x5008, 0x40000000 + 0x5008, 8),
              "inside the large page's window");
        s->ok = scim_checker_access_begin(c, "nic0", 2, 0x200000 + 0x5008, 0x40000000 + 0x5008, 8);
        break;
    }
    case 4: /* a pinned buffer's frame must be allocated */
        scim_checker_set_frame_probe(c, frame_in_use, NULL);
        CHECK(scim_checker_physical_begin(c, "nic0", PA + 64, 64), "an allocated frame");
        scim_checker_access_end(c, PA + 64);
        s->ok = scim_checker_physical_begin(c, "nic0", OLD_PA, 64);
        break;
    case 5: /* an end without a begin */
        scim_checker_access_end(c, PA);
        s->ok = false;
        break;
    case 6: /* freeing a frame with an access in flight */
        CHECK(scim_checker_access_begin(c, "nic0", 1, VA, PA, 8), "a legal access");
        s->ok = scim_checker_frame_free(c, (PA >> 12) - 1, 1); /* an order-1 block holding it */
        break;
    case 7: { /* freeing a frame a TLB still translates to (inside a 2 MiB entry) */
        scim_tlb_entry e = {.pasid = 3, .page_shift = 21, .perms = 3, .vpn = 0x7, .pfn = 0x800};
        scim_tlb_insert(s->tlb, &e, NULL);
        CHECK(scim_checker_access_begin(c, "nic0", 1, VA, PA, 8), "a legal access");
        scim_checker_access_end(c, PA);
        CHECK(scim_checker_frame_free(c, PA >> 12, 0), "freed after the access ended");
        s->ok = scim_checker_frame_free(c, 0x800 + 17, 0);
        break;
    }
    }
}

static const struct {
    const char *want[3];
} reports[] = {
    {{"nic0 accessed pasid 1 va 0x1008 through pa 0x9008 (64 bytes)", "the page table maps it to pa 0x5008",
      "a stale or wrong translation was used"}},
    {{"cpu0 accessed pasid 1 va 0x1000 through pa 0x5000 (8 bytes)", "has no mapping for it", "no shootdown"}},
    {{"nic0 accessed pasid 1 va 0x1010 through pa 0x9010", "maps it to pa 0x5010", NULL}},
    {{"nic0 accessed pasid 2 va 0x205008", "has no mapping for it", NULL}},
    {{"nic0 accessed pa 0x9000 (64 bytes) by physical address", "that frame is free", "not kept pinned"}},
    {{"checker: access to pa 0x5000 ended but never began", NULL, NULL}},
    {{"frame 0x5 (pa 0x5000) was freed while 1 access(es) to it were still in flight", NULL, NULL}},
    {{"frame 0x811 was freed while dev.iotlb still translates pasid 3 va 0xe00000 to it",
      "the shootdown missed that TLB", NULL}},
};

START_TEST(violations_are_caught)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert_ptr_nonnull(k);
    scenario s = {.mapped = 1, .which = _i};
    s.c = scim_checker_create(k, &err);
    ck_assert_ptr_nonnull(s.c);
    scim_checker_set_resolver(s.c, resolve, &s.mapped);
    scim_tlb_params tp = {.entries = 16, .ways = 4, .page_sizes = SCIM_PAGE_4K | SCIM_PAGE_2M};
    s.tlb = scim_tlb_create(&tp, &err);
    ck_assert_ptr_nonnull(s.tlb);
    ck_assert_int_eq(scim_checker_add_tlb(s.c, "dev.iotlb", s.tlb, &err), 0);
    scim_kernel_schedule(k, 1000, 0, run_scenario, &s, 0);
    int rc = scim_kernel_run(k, &err);
    ck_assert_msg(rc == SCIM_EINVARIANT, "case %d: status %d (%s)", _i, rc, err.msg);
    ck_assert_msg(!s.ok, "case %d: the call said fine", _i);
    for (int j = 0; j < 3 && reports[_i].want[j]; j++)
        ck_assert_msg(strstr(err.msg, reports[_i].want[j]) != NULL, "case %d: no '%s' in: %s", _i,
                      reports[_i].want[j], err.msg);
    if (_i != 5)
        ck_assert_msg(strstr(err.msg, "at t=1000 ps") != NULL, "case %d: no time in: %s", _i, err.msg);
    ck_assert_uint_eq(scim_checker_frames_checked(s.c), _i == 6 ? 1 : _i == 7 ? 2 : 0);
    scim_tlb_destroy(s.tlb);
    scim_checker_destroy(s.c);
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checker");
    TCase *tc = tcase_create("all");
    tcase_add_loop_test(tc, violations_are_caught, 0, (int)(sizeof reports / sizeof reports[0]));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
