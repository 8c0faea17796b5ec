/* Page-table formats (mmu/ptfmt.h) on entries written by hand from the
 * architecture manuals, table-driven (io-pgtable-arm selftest style): one
 * table of decode cases, one of encode cases, one of hardware
 * accessed/dirty updates, one of attribute and address changes, and the
 * geometry of every format. The hex literals are composed here from the
 * manuals' bit positions, not from the headers:
 *   x86-64   Intel SDM Vol. 3A 4.5 (tables 4-15..4-20: PML5E/PML4E, PDPTE
 *            1 GiB, PDE 2 MiB, PTE), 4.6 (rights), 4.8 (A and D)
 *   Armv8-A  Arm ARM DDI 0487 D8.3 (VMSAv8-64 table, block and page
 *            descriptors, 4 KiB granule, 48-bit OA), D8.4 (AP[2:1],
 *            APTable), D8.5 (hardware AF and dirty state with DBM)
 *   RISC-V   Privileged Architecture 10.3.1 (PTE: V R W X U G A D, PPN at
 *            bit 10), 10.3.2 (the walk: reserved encodings, superpage
 *            alignment, A/D), 10.4-10.6 (Sv39, Sv48, Sv57)
 */
#include <check.h>
#include <stdlib.h>

#include "core/proto.h"
#include "mmu/ptfmt.h"
#include "mmu/pt_stage2.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
typedef unsigned long long ull;

#define W SCIM_PTA_WRITE
#define U SCIM_PTA_USER
#define A SCIM_PTA_ACCESSED
#define D SCIM_PTA_DIRTY
#define G SCIM_PTA_GLOBAL
#define NX SCIM_PTA_NOEXEC
#define RW (SCIM_PERM_R | SCIM_PERM_W)
#define RO SCIM_PERM_R
#define NP SCIM_PTE_NOT_PRESENT
#define TB SCIM_PTE_TABLE
#define LF SCIM_PTE_LEAF
#define RS SCIM_PTE_RESERVED

static const scim_pt_format *const X4 = &scim_pt_x86_4l, *const X5 = &scim_pt_x86_5l;
static const scim_pt_format *const A39 = &scim_pt_armv8_va39, *const A48 = &scim_pt_armv8_va48;
static const scim_pt_format *const S39 = &scim_pt_sv39, *const S48 = &scim_pt_sv48, *const S57 = &scim_pt_sv57;
static const scim_pt_format *const E4 = &scim_pt_ept4, *const AS2 = &scim_pt_arm_s2_48;

/* ------------------------------------------------------------------------ */
/* decode                                                                    */

static const struct dec_case {
    const char *name;
    const scim_pt_format *const *f;
    int level; /* the model's: 1 = last-level table */
    uint64_t pte;
    scim_pte_kind kind;
    uint64_t addr;
    unsigned shift, perms, attrs;
} dec_cases[] = {
    /* x86, SDM table 4-20 (PTE): P0 RW1 US2 A5 D6 XD63, address [51:12] */
    {"x86 PTE rw user A D XD", &X4, 1, 0x8000000012345067ull, LF, 0x12345000, 12, RW, W | U | A | D | NX},
    {"x86 PTE P clear", &X4, 1, 0x0000000012345066ull, NP, 0, 0, 0, 0},
    {"x86 PTE bit 7 is PAT, not a size", &X4, 1, 0x0000000012345085ull, LF, 0x12345000, 12, RO, U},
    /* table 4-18 (PDE, PS=1): 2 MiB, bit 12 PAT, bits 20:13 reserved */
    {"x86 PDE 2 MiB read-only user A", &X4, 2, 0x00000000402000a5ull, LF, 0x40200000, 21, RO, U | A},
    {"x86 PDE 2 MiB PAT bit 12", &X4, 2, 0x0000000040201081ull, LF, 0x40200000, 21, 0, 0},
    {"x86 PDE 2 MiB reserved bit 13", &X4, 2, 0x0000000040202081ull, RS, 0, 0, 0, 0},
    /* table 4-16 (PDPTE, PS=1): 1 GiB, supervisor only */
    {"x86 PDPTE 1 GiB supervisor", &X4, 3, 0x0000000040000083ull, LF, 0x40000000, 30, 0, W},
    {"x86 PDPTE 1 GiB reserved bit 21", &X4, 3, 0x0000000040200083ull, RS, 0, 0, 0, 0},
    /* table 4-15: PS is reserved in a PML4E and a PML5E */
    {"x86 PML4E with PS", &X4, 4, 0x0000000000001087ull, RS, 0, 0, 0, 0},
    {"x86 PML5E with PS", &X5, 5, 0x0000000000001087ull, RS, 0, 0, 0, 0},
    {"x86 PML5E table", &X5, 5, 0x0000000000005007ull, TB, 0x5000, 0, RW, 0},
    /* 4.6: a table without R/W takes write away below it; without U/S, everything */
    {"x86 PDE table read-only", &X4, 2, 0x0000000000006005ull, TB, 0x6000, 0, RO, 0},
    {"x86 PDE table supervisor", &X4, 2, 0x0000000000006003ull, TB, 0x6000, 0, 0, 0},

    /* Arm D8.3: bits[1:0] 0b11 page at level 3 (the model's 1); AttrIndx
     * [4:2]; AP[1] bit 6 EL0; AP[2] bit 7 read-only; SH [9:8]; AF 10; nG 11;
     * DBM 51; PXN 53; UXN 54; OA [47:12] */
    {"arm page rw EL0 AF nG XN", &A48, 1, 0x0060000012345f43ull, LF, 0x12345000, 12, RW, W | U | A | D | NX},
    {"arm page DBM clean (writable, AP[2]=1)", &A48, 1, 0x0008000012345fc3ull, LF, 0x12345000, 12, RW, W | U | A},
    {"arm page read-only, AF clear", &A48, 1, 0x0000000012345bc3ull, LF, 0x12345000, 12, RO, U},
    {"arm page EL1 only", &A48, 1, 0x0000000012345f03ull, LF, 0x12345000, 12, 0, W | A | D},
    {"arm page software dirty, read-only", &A48, 1, 0x0080000012345bc3ull, LF, 0x12345000, 12, RO, U | D},
    {"arm level 3 0b01 is reserved", &A48, 1, 0x0000000012345f41ull, RS, 0, 0, 0, 0},
    {"arm invalid (bit 0 clear)", &A48, 1, 0x0000000012345f42ull, NP, 0, 0, 0, 0},
    /* blocks: level 2 (2 MiB, OA [47:21]) and level 1 (1 GiB, OA [47:30]) */
    {"arm level 2 block global", &A48, 2, 0x0000000040200741ull, LF, 0x40200000, 21, RW, W | U | A | D | G},
    {"arm level 2 block, nT (bit 16) is no address", &A48, 2, 0x0000000040210741ull, LF, 0x40200000, 21, RW,
     W | U | A | D | G},
    {"arm level 2 block, RES0 bit 12", &A48, 2, 0x0000000040201741ull, RS, 0, 0, 0, 0},
    {"arm level 1 block read-only", &A48, 3, 0x00000000400007c1ull, LF, 0x40000000, 30, RO, U | A | G},
    {"arm level 1 block, va39 root", &A39, 3, 0x00000000400007c1ull, LF, 0x40000000, 30, RO, U | A | G},
    /* 4 KiB granule: no block at level 0 */
    {"arm level 0 block", &A48, 4, 0x0000008000000741ull, RS, 0, 0, 0, 0},
    {"arm level 0 table", &A48, 4, 0x0000000000005003ull, TB, 0x5000, 0, RW, 0},
    /* OA bits [49:48] are RES0 without FEAT_LPA2 */
    {"arm RES0 bit 48", &A48, 1, 0x0001000012345f43ull, RS, 0, 0, 0, 0},
    /* D8.4: APTable[0] (bit 61) no EL0 below; APTable[1] (bit 62) no write below */
    {"arm table APTable no EL0", &A48, 3, 0x2000000000005003ull, TB, 0x5000, 0, 0, 0},
    {"arm table APTable read-only", &A48, 3, 0x4000000000005003ull, TB, 0x5000, 0, RO, 0},

    /* RISC-V 10.3.1: V0 R1 W2 X3 U4 G5 A6 D7, PPN [53:10]; 0x12345000 -> PPN 0x12345 << 10 = 0x48d1400 */
    {"rv leaf RWX U A D", &S48, 1, 0x00000000048d14dfull, LF, 0x12345000, 12, RW, W | U | A | D},
    {"rv leaf R, supervisor, no X", &S48, 1, 0x00000000048d1443ull, LF, 0x12345000, 12, 0, A | NX},
    {"rv leaf X only (not readable by U)", &S48, 1, 0x00000000048d1419ull, LF, 0x12345000, 12, 0, U},
    {"rv V clear", &S48, 1, 0x00000000048d14deull, NP, 0, 0, 0, 0},
    /* 10.3.2 step 3: R=0 with W=1 is reserved, and so are bits 63:54 */
    {"rv W without R", &S48, 1, 0x00000000048d1405ull, RS, 0, 0, 0, 0},
    {"rv reserved bit 54", &S48, 1, 0x00400000048d1403ull, RS, 0, 0, 0, 0},
    /* megapage (level 1 of the spec = the model's 2) 0x40200000 -> PPN 0x40200 << 10 = 0x10080000 */
    {"rv megapage RW U", &S39, 2, 0x0000000010080017ull, LF, 0x40200000, 21, RW, W | U | NX},
    /* 10.3.2 step 6: a superpage's low PPN must be zero */
    {"rv misaligned megapage", &S39, 2, 0x0000000010080417ull, RS, 0, 0, 0, 0},
    {"rv gigapage R U", &S39, 3, 0x0000000010000013ull, LF, 0x40000000, 30, RO, U | NX},
    /* Sv48 terapage (512 GiB) at the root: 0x8000000000 -> PPN 0x8000000 << 10 = 0x2000000000 */
    {"rv sv48 terapage", &S48, 4, 0x0000002000000003ull, LF, 0x8000000000ull, 39, 0, NX},
    {"rv sv57 petapage", &S57, 5, 0x0000400000000003ull, LF, 0x1000000000000ull, 48, 0, NX},
    /* R=W=X=0: a pointer; at the last level (i = 0) a pointer faults */
    {"rv pointer", &S48, 2, 0x0000000000001401ull, TB, 0x5000, 0, RW, 0},
    {"rv pointer at the last level", &S48, 1, 0x0000000000001401ull, RS, 0, 0, 0, 0},
};

START_TEST(decode)
{
    const struct dec_case *c = &dec_cases[_i];
    scim_pte_info i;
    (*c->f)->decode(c->pte, c->level, &i);
    ck_assert_msg(i.kind == c->kind, "%s: kind %d, expected %d", c->name, i.kind, c->kind);
    if (c->kind == NP || c->kind == RS)
        return;
    ck_assert_msg(i.addr == c->addr, "%s: addr %#llx, expected %#llx", c->name, (ull)i.addr, (ull)c->addr);
    ck_assert_msg(i.perms == c->perms, "%s: perms %u, expected %u", c->name, i.perms, c->perms);
    if (c->kind == LF) {
        ck_assert_msg(i.shift == c->shift, "%s: shift %u, expected %u", c->name, i.shift, c->shift);
        ck_assert_msg(i.attrs == c->attrs, "%s: attrs %#x, expected %#x", c->name, i.attrs, c->attrs);
        ck_assert_msg(scim_pta_perms(i.attrs) == i.perms || (*c->f)->isa == SCIM_ISA_RISCV,
                      "%s: perms of the attributes", c->name);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* encode                                                                    */

static const struct enc_case {
    const char *name;
    const scim_pt_format *const *f;
    int level;
    bool table;
    uint64_t pa;
    unsigned attrs;
    uint64_t pte;
} enc_cases[] = {
    {"x86 table: P RW US", &X4, 3, true, 0x5000, 0, 0x5007},
    {"x86 4 KiB rw user", &X4, 1, false, 0x12345000, W | U, 0x12345007},
    {"x86 2 MiB user A: PS", &X4, 2, false, 0x40200000, U | A, 0x402000a5},
    {"x86 1 GiB G XD D", &X5, 3, false, 0x40000000, G | NX | D, 0x80000000400001c1ull},
    /* Arm tables carry no APTable/XNTable restriction */
    {"arm table", &A48, 4, true, 0x5000, 0, 0x5003},
    /* a writable page is DBM=1, clean (AP[2]=1) until written; Normal (AttrIndx 0), inner shareable, nG */
    {"arm page rw user clean", &A48, 1, false, 0x12345000, W | U, 0x0008000012345bc3ull},
    {"arm block rw user dirty A global", &A48, 2, false, 0x40200000, W | U | D | A | G, 0x0008000040200741ull},
    {"arm block 1 GiB user read-only XN", &A39, 3, false, 0x40000000, U | NX, 0x0060000040000bc1ull},
    {"arm page dirty, not writable: software bit 55", &A48, 1, false, 0x12345000, D, 0x0080000012345b83ull},
    {"rv pointer: V only", &S39, 3, true, 0x5000, 0, 0x1401},
    {"rv 4 KiB rw user: V R W X U", &S48, 1, false, 0x12345000, W | U, 0x48d141f},
    {"rv megapage user A no-exec", &S48, 2, false, 0x40200000, U | NX | A, 0x10080053},
    {"rv gigapage supervisor G D", &S57, 3, false, 0x40000000, G | D, 0x100000ab},
};

START_TEST(encode)
{
    const struct enc_case *c = &enc_cases[_i];
    const scim_pt_format *f = *c->f;
    uint64_t got = c->table ? f->make_table(c->pa, c->level) : f->make_leaf(c->pa, c->level, c->attrs);
    ck_assert_msg(got == c->pte, "%s: %#llx, expected %#llx", c->name, (ull)got, (ull)c->pte);
    /* and back */
    scim_pte_info i;
    f->decode(got, c->level, &i);
    ck_assert_msg(i.kind == (c->table ? TB : LF) && i.addr == c->pa && (c->table || i.attrs == c->attrs),
                  "%s: decodes to kind %d addr %#llx attrs %#x", c->name, i.kind, (ull)i.addr, i.attrs);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* hardware accessed / dirty                                                 */

static const struct hw_case {
    const char *name;
    const scim_pt_format *const *f;
    int level;
    uint64_t pte;
    bool write;
    uint64_t after;
} hw_cases[] = {
    /* SDM 4.8: A in every entry used, D in a leaf written */
    {"x86 table read: A", &X4, 4, 0x5007, false, 0x5027},
    {"x86 leaf write: A D", &X4, 1, 0x12345007, true, 0x12345067},
    {"x86 read-only leaf write: A only", &X4, 1, 0x12345005, true, 0x12345025},
    {"x86 2 MiB write: A D", &X4, 2, 0x40200087, true, 0x402000e7},
    {"x86 not present: unchanged", &X4, 1, 0x12345006, true, 0x12345006},
    /* D8.5: AF on use; a write through DBM clears AP[2]; only for permitted accesses */
    {"arm clean page read: AF", &A48, 1, 0x0008000012345bc3ull, false, 0x0008000012345fc3ull},
    {"arm clean page write: AF, AP[2] cleared", &A48, 1, 0x0008000012345bc3ull, true, 0x0008000012345f43ull},
    {"arm read-only page write: permission fault, unchanged", &A48, 1, 0x0000000012345bc3ull, true,
     0x0000000012345bc3ull},
    {"arm EL1 page: unchanged", &A48, 1, 0x0008000012345b83ull, false, 0x0008000012345b83ull},
    {"arm table: no AF without FEAT_HAFT", &A48, 3, 0x5003, false, 0x5003},
    {"arm block write", &A48, 2, 0x0008000040200bc1ull, true, 0x0008000040200f41ull},
    /* 10.3.2 step 7 with Svadu: A in the leaf, D for a store, after the permission check */
    {"rv leaf read: A", &S48, 1, 0x48d141f, false, 0x48d145f},
    {"rv leaf write: A D", &S48, 1, 0x48d141f, true, 0x48d14df},
    {"rv read-only leaf write: unchanged", &S48, 1, 0x48d141b, true, 0x48d141b},
    {"rv supervisor leaf: unchanged", &S48, 1, 0x48d140f, false, 0x48d140f},
    {"rv pointer: unchanged", &S48, 2, 0x1401, true, 0x1401},
};

START_TEST(hw_update)
{
    const struct hw_case *c = &hw_cases[_i];
    uint64_t got = (*c->f)->hw_update(c->pte, c->level, c->write);
    ck_assert_msg(got == c->after, "%s: %#llx, expected %#llx", c->name, (ull)got, (ull)c->after);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* attribute and address changes                                             */

static const struct chg_case {
    const char *name;
    const scim_pt_format *const *f;
    int level;
    uint64_t pte;
    unsigned set, clear;
    uint64_t pa; /* non-zero: set_addr to it instead */
    uint64_t after;
} chg_cases[] = {
    {"x86 clear RW", &X4, 1, 0x12345067, 0, W, 0, 0x12345065},
    {"x86 clear A, keep PWT", &X4, 1, 0x1234502f, 0, A, 0, 0x1234500f},
    {"x86 2 MiB to another frame, PAT kept", &X4, 2, 0x402010a5, 0, 0, 0x80000000, 0x800010a5},
    /* Linux pte_wrprotect: a dirty writable page keeps its dirty state in a software bit */
    {"arm write-protect a dirty page", &A48, 1, 0x0008000012345f43ull, 0, W, 0, 0x0080000012345fc3ull},
    {"arm make a clean page writable again", &A48, 1, 0x0000000012345fc3ull, W, 0, 0, 0x0008000012345fc3ull},
    {"arm clear AF", &A48, 1, 0x0008000012345fc3ull, 0, A, 0, 0x0008000012345bc3ull},
    {"arm block to another frame, nT kept", &A48, 2, 0x0000000040210741ull, 0, 0, 0x80000000, 0x0000000080010741ull},
    {"rv clear U", &S48, 1, 0x48d14df, 0, U, 0, 0x48d14cf},
    {"rv set no-exec and A", &S48, 1, 0x48d141f, NX | A, 0, 0, 0x48d1457},
    {"rv megapage to another frame", &S48, 2, 0x10080017, 0, 0, 0x80000000, 0x20000017},
    /* EPT (SDM Vol. 3C table 29-6): R W X, WB memory type (6 << 3), A, D */
    {"ept write-protect, D kept", &E4, 1, 0x12345337, 0, W, 0, 0x12345335},
    {"ept no-exec", &E4, 1, 0x12345337, NX, 0, 0, 0x12345333},
    {"ept clear A and D", &E4, 1, 0x12345337, 0, A | D, 0, 0x12345037},
    {"ept 2 MiB to another frame", &E4, 2, 0x402000b1, 0, 0, 0x80000000, 0x800000b1},
    /* Arm stage 2 (Arm ARM D8.3.1, D8.4.2): valid, page, MemAttr 0b1111,
     * S2AP R and W (dirty), SH inner, AF, DBM */
    {"arm s2 write-protect a dirty page: S2AP[1] and DBM", &AS2, 1, 0x00080000123457ffull, 0, W, 0,
     0x000000001234577full},
    {"arm s2 clean a dirty page", &AS2, 1, 0x00080000123457ffull, 0, D, 0, 0x000800001234577full},
    {"arm s2 block to another frame", &AS2, 2, 0x4020077dull, 0, 0, 0x80000000, 0x8000077dull},
};

START_TEST(change)
{
    const struct chg_case *c = &chg_cases[_i];
    const scim_pt_format *f = *c->f;
    uint64_t got = c->pa ? f->set_addr(c->pte, c->level, c->pa) : f->set_attrs(c->pte, c->level, c->set, c->clear);
    ck_assert_msg(got == c->after, "%s: %#llx, expected %#llx", c->name, (ull)got, (ull)c->after);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* geometry                                                                  */

START_TEST(geometry)
{
    /* (ISA, levels) -> format; names as in system.paging */
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_X86_64, 4), X4);
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_X86_64, 5), X5);
    ck_assert_ptr_null(scim_pt_format_of(SCIM_ISA_X86_64, 3));
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_ARMV8, 3), A39);
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_ARMV8, 4), A48);
    ck_assert_ptr_null(scim_pt_format_of(SCIM_ISA_ARMV8, 5));
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_RISCV, 3), S39);
    ck_assert_ptr_eq(scim_pt_format_of(SCIM_ISA_RISCV, 5), S57);
    for (unsigned id = 0; id < SCIM_PT_STAGE1_COUNT; id++) {
        const scim_pt_format *f = scim_pt_format_by_id(id);
        ck_assert_uint_eq(f->id, id);
        ck_assert_str_eq(scim_paging_names[id + 1], f->name);
        /* levels x 9 index bits over a 4 KiB page */
        ck_assert_uint_eq(scim_pt_level_shift(f, f->levels + 1), f->va_bits);
    }
    ck_assert_ptr_null(scim_pt_format_by_id(SCIM_PT_FORMAT_COUNT));
    /* indices: 9 bits per level above bit 12 */
    uint64_t va = 0x00ff123456789abcull;
    for (int l = 1; l <= 5; l++)
        ck_assert_uint_eq(scim_pt_index(S57, va, l), (va >> (12 + 9 * (l - 1))) % 512);
    ck_assert_uint_eq(scim_pt_entry_addr(A48, 0x5000, va, 1), 0x5000 + ((va >> 12) % 512) * 8);
    /* leaves: 4 KiB / 2 MiB / 1 GiB everywhere; no 512 GiB Arm level-0 block; Sv48 terapages */
    ck_assert_int_eq(scim_pt_leaf_level(X4, 30), 3);
    ck_assert_int_eq(scim_pt_leaf_level(X5, 39), 0);
    ck_assert_int_eq(scim_pt_leaf_level(A39, 30), 3);
    ck_assert_int_eq(scim_pt_leaf_level(A48, 39), 0);
    ck_assert_int_eq(scim_pt_leaf_level(S48, 39), 4);
    ck_assert_int_eq(scim_pt_leaf_level(S39, 16), 0);
    /* valid VAs: canonical on x86 (SDM 4.5) and RISC-V (10.4.2: bits 63:39 copy bit 38), below 2^va on Arm TTBR0 */
    ck_assert(scim_pt_va_valid(X4, 0x00007fffffffffffull));
    ck_assert(!scim_pt_va_valid(X4, 0x0000800000000000ull));
    ck_assert(scim_pt_va_valid(X4, 0xffff800000000000ull));
    ck_assert(!scim_pt_va_valid(X4, 0xfeff800000000000ull));
    ck_assert(scim_pt_va_valid(X5, 0x0000800000000000ull));
    ck_assert(!scim_pt_va_valid(X5, 0x0100000000000000ull));
    ck_assert(scim_pt_va_valid(A48, 0x0000ffffffffffffull));
    ck_assert(!scim_pt_va_valid(A48, 0xffff000000000000ull));
    ck_assert(scim_pt_va_valid(A39, 0x0000007fffffffffull));
    ck_assert(!scim_pt_va_valid(A39, 0x0000008000000000ull));
    ck_assert(scim_pt_va_valid(S39, 0x0000003fffffffffull));
    ck_assert(!scim_pt_va_valid(S39, 0x0000004000000000ull));
    ck_assert(scim_pt_va_valid(S39, 0xffffffc000000000ull));
    ck_assert(scim_pt_va_valid(S57, 0x00ffffffffffffffull));
    ck_assert(!scim_pt_va_valid(S57, 0x0100000000000000ull));
    ck_assert_uint_eq(scim_pt_va_of(S39, 0, 256, 3), 0xffffffc000000000ull);
    ck_assert_uint_eq(scim_pt_va_of(A39, 0, 256, 3), 0x0000004000000000ull);
}
END_TEST

static Suite *ptfmt_suite(void)
{
    Suite *s = suite_create("ptfmt");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, decode, 0, (int)COUNT_OF(dec_cases));
    tcase_add_loop_test(tc, encode, 0, (int)COUNT_OF(enc_cases));
    tcase_add_loop_test(tc, hw_update, 0, (int)COUNT_OF(hw_cases));
    tcase_add_loop_test(tc, change, 0, (int)COUNT_OF(chg_cases));
    tcase_add_test(tc, geometry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(ptfmt_suite()); }
