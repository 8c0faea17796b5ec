/* IOMMU context structures (iommu/ctxfmt.h): what the OS side writes,
 * word by word, against values composed here by hand from the
 * specifications, and what the IOMMU side's lookup reads (how many reads,
 * of which sizes) and concludes, including every fault it reports.
 *   VT-d     spec rev 3+, 9.4-9.6 (scalable-mode PASID directory and PASID
 *            table; the model's 8-byte simplification in iommu/ctx_vtd.h)
 *   SMMUv3   IHI 0070: 5.2 STE (V, Config, S1Fmt, S1ContextPtr, S1CDMax,
 *            EATS), 5.3 L1 CD (V, L2Ptr), 5.4 CD (T0SZ, TG0, EPD1, V, IPS,
 *            AA64, HD, HA, R, A, ASID, TTB0, MAIR)
 *   RISC-V   IOMMU spec 1.0: 2.1 device context (tc, fsc = pdtp), 2.2
 *            process directory (non-leaf V/PPN, process context ta/fsc),
 *            2.3 the lookup
 */
#include <check.h>
#include <stdlib.h>

#include "iommu/ctxfmt.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
typedef unsigned long long ull;

typedef struct fx {
    scim_physmem *pm;
    scim_ctx_mem m;
    scim_ctx_tables t;
    uint64_t frames;
} fx;

static int fx_alloc(void *cookie, unsigned order, uint64_t *pa, scim_err *err)
{
    fx *f = cookie;
    uint64_t pfn;
    int rc = scim_physmem_alloc(f->pm, order, &pfn, err);
    if (!rc) {
        *pa = pfn << 12;
        f->frames += 1ull << order;
    }
    return rc;
}

static void fx_init(fx *f, const scim_ctx_format *cf)
{
    scim_err err = {0};
    f->pm = scim_physmem_create(64ull << 20, &err);
    ck_assert_ptr_nonnull(f->pm);
    f->m = (scim_ctx_mem){f->pm, fx_alloc, f};
    f->frames = 0;
    ck_assert_int_eq(cf->create(&f->m, &f->t, &err), 0);
}

static uint64_t rd(fx *f, uint64_t pa) { return scim_physmem_read64(f->pm, pa); }
static void wr(fx *f, uint64_t pa, uint64_t v) { scim_physmem_write64(f->pm, pa, v); }

/* The lookup as the IOMMU runs it, every read served from memory. */
typedef struct result {
    scim_ctx_step end;
    int reads;
    uint32_t len[8];
    uint64_t root;
    const scim_pt_format *fmt;
} result;

static result lookup(fx *f, const scim_ctx_format *cf, uint32_t dev, uint32_t pasid)
{
    result r = {0};
    scim_ctx_walk w = {.dev = dev, .pasid = pasid};
    cf->start(f->t.root, &w);
    for (;;) {
        ck_assert_int_lt(r.reads, 8);
        ck_assert_uint_le(w.words, SCIM_MEM_RESP_WORDS);
        ck_assert_uint_eq(w.len % 8, 0);
        ck_assert_uint_ge(w.len / 8, w.words);
        r.len[r.reads++] = w.len;
        uint64_t words[SCIM_MEM_RESP_WORDS] = {0};
        for (unsigned i = 0; i < w.words; i++)
            words[i] = rd(f, w.pa + i * 8);
        r.end = cf->step(&w, words);
        if (r.end != SCIM_CTX_READ)
            break;
    }
    r.root = w.root;
    r.fmt = w.fmt;
    return r;
}

static void expect(const result *r, const char *what, scim_ctx_step end, int reads, const uint32_t *lens)
{
    ck_assert_msg(r->end == end && r->reads == reads, "%s: ended %d after %d reads, expected %d after %d", what,
                  r->end, r->reads, end, reads);
    for (int i = 0; i < reads; i++)
        ck_assert_msg(r->len[i] == lens[i], "%s: read %d is %u bytes, expected %u", what, i, r->len[i], lens[i]);
}

/* ------------------------------------------------------------------------ */

START_TEST(vtd)
{
    fx f;
    const scim_ctx_format *cf = &scim_ctx_vtd;
    fx_init(&f, cf);
    scim_err err = {0};
    ck_assert_uint_eq(f.frames, 4); /* 2048 directory entries of 8 B */
    ck_assert_int_eq(cf->bind_device(&f.m, &f.t, 3, &err), 0);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0x12345, 0x7000, &scim_pt_x86_5l, &err), 0);
    ck_assert_uint_eq(f.frames, 5);
    /* directory entry 0x12345 >> 9 = 0x91 -> a table | P; table entry 0x145 = root | P | L5 (bit 2) */
    uint64_t de = rd(&f, f.t.root + 0x91 * 8);
    ck_assert_uint_eq(de & 0xfff, 1);
    ck_assert_uint_eq(rd(&f, (de & ~0xfffull) + 0x145 * 8), 0x7005);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0x12346, 0x8000, &scim_pt_x86_4l, &err), 0);
    ck_assert_uint_eq(rd(&f, (de & ~0xfffull) + 0x146 * 8), 0x8001);
    ck_assert_uint_eq(f.frames, 5); /* same table */
    static const uint32_t two[] = {8, 8};
    result r = lookup(&f, cf, 0, 0x12345);
    expect(&r, "vtd 5-level", SCIM_CTX_DONE, 2, two);
    ck_assert_uint_eq(r.root, 0x7000);
    ck_assert_ptr_eq(r.fmt, &scim_pt_x86_5l);
    r = lookup(&f, cf, 9, 0x12346); /* any device: one table for all */
    ck_assert_ptr_eq(r.fmt, &scim_pt_x86_4l);
    r = lookup(&f, cf, 0, 0x12347); /* table entry not present */
    expect(&r, "vtd no table entry", SCIM_CTX_FAULT, 2, two);
    r = lookup(&f, cf, 0, 0x22345); /* directory entry not present */
    expect(&r, "vtd no directory entry", SCIM_CTX_FAULT, 1, two);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 7, 0x7000, &scim_pt_sv48, &err), SCIM_EINVAL);
    scim_physmem_destroy(f.pm);
}
END_TEST

/* SMMUv3 values, composed from 5.2 and 5.4:
 *   STE w0 = V (1) | Config 0b101 << 1 (0xa) | S1Fmt 2 << 4 (0x20) | S1CDMax 20 << 59 (0xa000000000000000)
 *            | S1ContextPtr;  w1 = EATS 0b01 << 28
 *   CD w0  = T0SZ 16 (0x10) | IRGN0 1 << 8 | ORGN0 1 << 10 | SH0 3 << 12 | EPD1 1 << 30 | V 1 << 31
 *            (low word 0xc0003510) | IPS 0b101 << 32 | AA64 << 41 | HD << 42 | HA << 43 | R << 45 | A << 46
 *            | ASID 0x2345 << 48 (high word 0x23456e05)
 *   CD w1  = TTB0, w3 = MAIR0 attribute 0 = 0xff */
#define STE0 0xa00000000000002bull
#define CD0_VA48 0x23456e05c0003510ull
#define CD0_VA39 0x23556e05c0003519ull /* T0SZ 25, ASID 0x2355 */

START_TEST(smmuv3)
{
    fx f;
    const scim_ctx_format *cf = &scim_ctx_smmuv3;
    fx_init(&f, cf);
    scim_err err = {0};
    ck_assert_uint_eq(f.frames, 4 + 2); /* 256 STEs of 64 B; 1024 L1 descriptors of 8 B */
    uint64_t l1 = f.t.aux;
    ck_assert_int_eq(cf->bind_device(&f.m, &f.t, 3, &err), 0);
    ck_assert_uint_eq(rd(&f, f.t.root + 3 * 64), STE0 | l1);
    ck_assert_uint_eq(rd(&f, f.t.root + 3 * 64 + 8), 0x10000000);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0x12345, 0x7000, &scim_pt_armv8_va48, &err), 0);
    ck_assert_uint_eq(f.frames, 6 + 16); /* a leaf table of 1024 CDs of 64 B */
    uint64_t desc = rd(&f, l1 + (0x12345 >> 10) * 8);
    ck_assert_uint_eq(desc & 0xfff, 1);
    uint64_t cd = (desc & ~0xfffull) + (0x12345 & 1023) * 64;
    ck_assert_uint_eq(rd(&f, cd), CD0_VA48);
    ck_assert_uint_eq(rd(&f, cd + 8), 0x7000);
    ck_assert_uint_eq(rd(&f, cd + 24), 0xff);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0x12355, 0x9000, &scim_pt_armv8_va39, &err), 0);
    ck_assert_uint_eq(rd(&f, (desc & ~0xfffull) + (0x12355 & 1023) * 64), CD0_VA39);
    static const uint32_t three[] = {64, 8, 64};
    result r = lookup(&f, cf, 3, 0x12345);
    expect(&r, "smmu va48", SCIM_CTX_DONE, 3, three);
    ck_assert_uint_eq(r.root, 0x7000);
    ck_assert_ptr_eq(r.fmt, &scim_pt_armv8_va48);
    r = lookup(&f, cf, 3, 0x12355);
    ck_assert_ptr_eq(r.fmt, &scim_pt_armv8_va39);
    ck_assert_uint_eq(r.root, 0x9000);
    /* faults: an unbound stream (C_BAD_STE), a CD not written, an L1 descriptor absent */
    r = lookup(&f, cf, 4, 0x12345);
    expect(&r, "smmu unbound stream", SCIM_CTX_FAULT, 1, three);
    r = lookup(&f, cf, 3, 0x12346);
    expect(&r, "smmu invalid CD", SCIM_CTX_FAULT, 3, three);
    r = lookup(&f, cf, 3, 0x52345);
    expect(&r, "smmu invalid L1 CD", SCIM_CTX_FAULT, 2, three);
    /* hand-made: S1CDMax 10 (C_BAD_SUBSTREAMID), a bypass STE, a 64 KiB granule CD, T0SZ 20 */
    wr(&f, f.t.root + 5 * 64, 0x500000000000002bull | l1);
    r = lookup(&f, cf, 5, 0x12345);
    expect(&r, "smmu SubstreamID beyond S1CDMax", SCIM_CTX_FAULT, 1, three);
    r = lookup(&f, cf, 5, 0x345);
    ck_assert_int_eq(r.end, SCIM_CTX_FAULT); /* L1 descriptor 0 absent */
    wr(&f, f.t.root + 6 * 64, 0xa000000000000009ull | l1); /* Config 0b100: bypass */
    r = lookup(&f, cf, 6, 0x12345);
    expect(&r, "smmu bypass STE", SCIM_CTX_FAULT, 1, three);
    wr(&f, cd, CD0_VA48 | (1ull << 6)); /* TG0 0b01: 64 KiB */
    r = lookup(&f, cf, 3, 0x12345);
    expect(&r, "smmu 64 KiB granule", SCIM_CTX_FAULT, 3, three);
    wr(&f, cd, (CD0_VA48 & ~0x3full) | 20);
    r = lookup(&f, cf, 3, 0x12345);
    expect(&r, "smmu T0SZ 20", SCIM_CTX_FAULT, 3, three);
    wr(&f, cd, CD0_VA48 & ~(1ull << 41)); /* AArch32 */
    r = lookup(&f, cf, 3, 0x12345);
    expect(&r, "smmu not AA64", SCIM_CTX_FAULT, 3, three);
    ck_assert_int_eq(cf->bind_device(&f.m, &f.t, 256, &err), SCIM_ERANGE);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 7, 0x7000, &scim_pt_x86_4l, &err), SCIM_EINVAL);
    scim_physmem_destroy(f.pm);
}
END_TEST

/* RISC-V IOMMU values, from 2.1 and 2.2:
 *   DC.tc  = V | EN_ATS << 1 | EN_PRI << 2 | PDTV << 5 | SADE << 8 = 0x127
 *   DC.fsc = MODE PD20 (3) << 60 | PPN of the root directory
 *   PDT non-leaf = PPN << 10 | V;  PC.ta = V | PSCID << 12;  PC.fsc = MODE (Sv39 8) << 60 | PPN
 *   process_id 0xabcde: PDI[2] = 0x5, PDI[1] = 0xbc, PDI[0] = 0xde */
START_TEST(riscv)
{
    fx f;
    const scim_ctx_format *cf = &scim_ctx_riscv;
    fx_init(&f, cf);
    scim_err err = {0};
    ck_assert_uint_eq(f.frames, 2);
    ck_assert_int_eq(cf->bind_device(&f.m, &f.t, 5, &err), 0);
    ck_assert_uint_eq(rd(&f, f.t.root + 5 * 32), 0x127);
    ck_assert_uint_eq(rd(&f, f.t.root + 5 * 32 + 24), 0x3000000000000000ull | (f.t.aux >> 12));
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0xabcde, 0x9000, &scim_pt_sv39, &err), 0);
    ck_assert_uint_eq(f.frames, 4);
    uint64_t e2 = rd(&f, f.t.aux + 0x5 * 8);
    ck_assert_uint_eq(e2 & 0x3ff, 1);
    uint64_t mid = (e2 >> 10) << 12;
    uint64_t e1 = rd(&f, mid + 0xbc * 8);
    ck_assert_uint_eq(e1 & 0x3ff, 1);
    uint64_t pc = ((e1 >> 10) << 12) + 0xde * 16;
    ck_assert_uint_eq(rd(&f, pc), 0xabcde001);
    ck_assert_uint_eq(rd(&f, pc + 8), 0x8000000000000009ull);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 0xabcdf, 0xa000, &scim_pt_sv57, &err), 0);
    ck_assert_uint_eq(f.frames, 4); /* same directories */
    ck_assert_uint_eq(rd(&f, pc + 16 + 8), 0xa00000000000000aull);
    static const uint32_t four[] = {32, 8, 8, 16};
    result r = lookup(&f, cf, 5, 0xabcde);
    expect(&r, "riscv sv39", SCIM_CTX_DONE, 4, four);
    ck_assert_uint_eq(r.root, 0x9000);
    ck_assert_ptr_eq(r.fmt, &scim_pt_sv39);
    r = lookup(&f, cf, 5, 0xabcdf);
    ck_assert_ptr_eq(r.fmt, &scim_pt_sv57);
    /* faults: DDT entry invalid (258), PDT entry or PC invalid (266) */
    r = lookup(&f, cf, 6, 0xabcde);
    expect(&r, "riscv unbound device", SCIM_CTX_FAULT, 1, four);
    r = lookup(&f, cf, 5, 0x0bcde);
    expect(&r, "riscv no first-level PDT entry", SCIM_CTX_FAULT, 2, four);
    r = lookup(&f, cf, 5, 0xab0de);
    expect(&r, "riscv no second-level PDT entry", SCIM_CTX_FAULT, 3, four);
    r = lookup(&f, cf, 5, 0xabce0);
    expect(&r, "riscv PC not valid", SCIM_CTX_FAULT, 4, four);
    /* hand-made: an iosatp of Bare (267); a DC without PDTV; a PD8 directory */
    wr(&f, pc + 8, 0);
    r = lookup(&f, cf, 5, 0xabcde);
    expect(&r, "riscv Bare iosatp", SCIM_CTX_FAULT, 4, four);
    wr(&f, f.t.root + 7 * 32, 0x107); /* V, ATS, PRI, SADE; no PDTV */
    wr(&f, f.t.root + 7 * 32 + 24, 0x3000000000000000ull | (f.t.aux >> 12));
    r = lookup(&f, cf, 7, 0xabcde);
    expect(&r, "riscv no PDTV", SCIM_CTX_FAULT, 1, four);
    /* PD8: the DC points at 256 process contexts; process 0x12 is at +0x120 */
    uint64_t pcs = 0x200000;
    wr(&f, f.t.root + 8 * 32, 0x127);
    wr(&f, f.t.root + 8 * 32 + 24, 0x1000000000000000ull | (pcs >> 12));
    wr(&f, pcs + 0x12 * 16, 0x12001);
    wr(&f, pcs + 0x12 * 16 + 8, 0x9000000000000042ull);
    static const uint32_t pd8[] = {32, 16};
    r = lookup(&f, cf, 8, 0x12);
    expect(&r, "riscv PD8", SCIM_CTX_DONE, 2, pd8);
    ck_assert_uint_eq(r.root, 0x42000);
    ck_assert_ptr_eq(r.fmt, &scim_pt_sv48);
    r = lookup(&f, cf, 8, 0x112); /* beyond PD8's 8 bits */
    expect(&r, "riscv process_id beyond PD8", SCIM_CTX_FAULT, 1, pd8);
    ck_assert_int_eq(cf->bind_device(&f.m, &f.t, 128, &err), SCIM_ERANGE);
    ck_assert_int_eq(cf->set_pasid(&f.m, &f.t, 7, 0x7000, &scim_pt_armv8_va48, &err), SCIM_EINVAL);
    scim_physmem_destroy(f.pm);
}
END_TEST

START_TEST(families)
{
    ck_assert_ptr_eq(scim_ctx_format_of(SCIM_ISA_X86_64), &scim_ctx_vtd);
    ck_assert_ptr_eq(scim_ctx_format_of(SCIM_ISA_ARMV8), &scim_ctx_smmuv3);
    ck_assert_ptr_eq(scim_ctx_format_of(SCIM_ISA_RISCV), &scim_ctx_riscv);
    ck_assert(!scim_ctx_vtd.per_device && scim_ctx_smmuv3.per_device && scim_ctx_riscv.per_device);
}
END_TEST

static Suite *ctxfmt_suite(void)
{
    Suite *s = suite_create("ctxfmt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, vtd);
    tcase_add_test(tc, smmuv3);
    tcase_add_test(tc, riscv);
    tcase_add_test(tc, families);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(ctxfmt_suite()); }
