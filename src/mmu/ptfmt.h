/* Page-table formats: the seam between the radix tables in simulated memory
 * (mmu/pagetable.h, written by the OS) and the hardware that walks them
 * (mmu/walker.h; the memory controller's accessed/dirty update), after
 * Linux's io-pgtable (include/linux/io-pgtable.h): one ops table per
 * format, chosen per address space, and nothing above it knows a bit
 * position.
 *
 * A format gives the geometry (levels, index bits per level, leaf sizes
 * per level, which virtual addresses are valid) and pure functions on
 * 64-bit entry values: decode an entry at a level; encode a table entry or
 * a leaf from format-neutral attributes (SCIM_PTA_*); change a leaf's
 * attributes or address; and the update a hardware walker makes when it
 * uses a leaf (accessed, and dirty for a write). Levels count from 1 (the
 * last-level table) to `levels` (the root), whatever the architecture
 * calls them.
 *
 * Formats (one file pair each):
 *   pt_x86.c    x86-64 4- and 5-level paging (Intel SDM Vol. 3A 4.5)
 *   pt_armv8.c  Armv8-A VMSAv8-64 stage 1, 4 KiB granule, 39- and 48-bit
 *               VA (Arm ARM D8)
 *   pt_riscv.c  RISC-V Sv39, Sv48, Sv57 (Privileged spec 10.3-10.6)
 * and the stage-2 formats of mmu/pt_stage2.h (EPT, Arm stage 2, RISC-V
 * G-stage Sv39x4 and Sv48x4). Tables are 4 KiB, 512 8-byte entries,
 * except the G-stage root: 2048 entries, 16 KiB (index_bits of its level
 * 11; scim_pt_table_order says how many frames a table takes). A walk of
 * an L-level format reads at most L entries.
 *
 * Table addresses: an entry holds the address of the next table in the
 * format's output address space. For a nested (two-stage) translation the
 * tables of stage 1 sit at guest-physical addresses; the walker then passes
 * every table address through its table-address hook
 * (scim_walker_set_table_xlate) and the OS's page table through
 * scim_pt_alloc_ops.table_addr. The formats themselves never touch memory.
 */
#ifndef SCIM_MMU_PTFMT_H
#define SCIM_MMU_PTFMT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/page.h"
#include "core/proto.h"

/* The instruction set a system is modelled after: its page-table formats
 * and its IOMMU's context structures (VT-d, SMMUv3, RISC-V IOMMU). */
typedef enum scim_isa { SCIM_ISA_X86_64, SCIM_ISA_ARMV8, SCIM_ISA_RISCV, SCIM_ISA_COUNT } scim_isa;

/* Format-neutral attributes of a leaf: what the OS asks for and reads back.
 * A present leaf is always readable by the supervisor; USER lets a user
 * access (every device and core access of the model) through. */
#define SCIM_PTA_WRITE (1u << 0)    /* writable (Arm: DBM, clean until written) */
#define SCIM_PTA_USER (1u << 1)     /* user (EL0, U-mode) access */
#define SCIM_PTA_ACCESSED (1u << 2) /* set by a walker's use */
#define SCIM_PTA_DIRTY (1u << 3)    /* set by a walker's write */
#define SCIM_PTA_GLOBAL (1u << 4)   /* not tagged by address space */
#define SCIM_PTA_NOEXEC (1u << 5)   /* no instruction fetch */
#define SCIM_PTA_ALL 0x3fu

typedef enum scim_pte_kind {
    SCIM_PTE_NOT_PRESENT, /* nothing mapped: a page fault the OS resolves */
    SCIM_PTE_TABLE,
    SCIM_PTE_LEAF,
    SCIM_PTE_RESERVED /* a malformed entry the OS never writes (reserved bits, a leaf where none may be) */
} scim_pte_kind;

/* One decoded entry. */
typedef struct scim_pte_info {
    scim_pte_kind kind;
    uint64_t addr;  /* TABLE: the next table; LEAF: the first byte of the page */
    unsigned shift; /* LEAF: log2 of the page size */
    unsigned perms; /* SCIM_PERM_R/W a user access keeps through this entry (a walk ANDs every level) */
    unsigned attrs; /* LEAF: SCIM_PTA_* */
} scim_pte_info;

/* Bytes of an entry; 2^SCIM_PT_INDEX_BITS entries fill a 4 KiB table. */
#define SCIM_PTE_BYTES 8u
#define SCIM_PT_INDEX_BITS 9u
#define SCIM_PT_ENTRIES (1u << SCIM_PT_INDEX_BITS)
#define SCIM_PT_MAX_LEVELS 5

typedef struct scim_pt_format {
    const char *name;      /* the system.paging value: "4-level", "va48", "sv39", ... */
    scim_isa isa;
    uint8_t id;            /* index in the format table; memory requests carry it */
    int levels;            /* 1 = last-level table .. levels = root */
    unsigned va_bits;      /* translated virtual address bits */
    bool sign_extended;    /* valid VAs: bits above va_bits-1 copy it (x86, RISC-V), else zero (Arm TTBR0) */
    unsigned index_bits[SCIM_PT_MAX_LEVELS + 1]; /* per level */
    unsigned leaf_levels;  /* bit l set: a leaf (page, block, superpage) may sit at level l */
    void (*decode)(uint64_t pte, int level, scim_pte_info *out);
    uint64_t (*make_table)(uint64_t table_pa, int level);
    uint64_t (*make_leaf)(uint64_t pa, int level, unsigned attrs);
    /* A leaf's attributes changed; the address and the kind stay. */
    uint64_t (*set_attrs)(uint64_t pte, int level, unsigned set, unsigned clear);
    /* A leaf pointed at another page of the same size; attributes stay. */
    uint64_t (*set_addr)(uint64_t pte, int level, uint64_t pa);
    /* What a hardware walker's use of the entry leaves in memory: accessed
     * (and dirty on a writable leaf for a write), done atomically at the
     * memory as the entry is read. Not present or reserved: unchanged. */
    uint64_t (*hw_update)(uint64_t pte, int level, bool write);
} scim_pt_format;

/* Every format, in id order (system.paging values after "default"). */
enum scim_pt_format_id {
    SCIM_PT_X86_4L,
    SCIM_PT_X86_5L,
    SCIM_PT_ARMV8_VA39,
    SCIM_PT_ARMV8_VA48,
    SCIM_PT_SV39,
    SCIM_PT_SV48,
    SCIM_PT_SV57,
    SCIM_PT_STAGE1_COUNT, /* stage-2 formats (mmu/pt_stage2.h) follow: no system.paging value */
    SCIM_PT_EPT4 = SCIM_PT_STAGE1_COUNT,
    SCIM_PT_ARM_S2_48,
    SCIM_PT_SV39X4,
    SCIM_PT_SV48X4,
    SCIM_PT_FORMAT_COUNT
};

extern const scim_pt_format scim_pt_x86_4l, scim_pt_x86_5l;
extern const scim_pt_format scim_pt_armv8_va39, scim_pt_armv8_va48;
extern const scim_pt_format scim_pt_sv39, scim_pt_sv48, scim_pt_sv57;

const scim_pt_format *scim_pt_format_by_id(unsigned id);
/* The format of an ISA with `levels` levels (x86 4/5, Arm 3/4, RISC-V
 * 3/4/5); NULL if it has none. */
const scim_pt_format *scim_pt_format_of(scim_isa isa, int levels);
const char *scim_isa_name(scim_isa isa);
/* system.isa and system.paging values (NULL-terminated). */
extern const char *const scim_isa_names[];
extern const char *const scim_paging_names[];

/* The rights a user access has through a leaf with these attributes
 * (what a walk of the format reports for it, every level allowing). */
static inline unsigned scim_pta_perms(unsigned attrs)
{
    return (attrs & SCIM_PTA_USER) ? SCIM_PERM_R | ((attrs & SCIM_PTA_WRITE) ? SCIM_PERM_W : 0) : 0;
}

/* Bits of VA translated at and below `level` (12 for the last level's
 * pages, + the index bits of every level below). */
static inline unsigned scim_pt_level_shift(const scim_pt_format *f, int level)
{
    unsigned s = SCIM_PAGE_SHIFT;
    for (int l = 1; l < level; l++)
        s += f->index_bits[l];
    return s;
}
static inline uint64_t scim_pt_index(const scim_pt_format *f, uint64_t va, int level)
{
    return (va >> scim_pt_level_shift(f, level)) & ((1ull << f->index_bits[level]) - 1);
}
static inline uint64_t scim_pt_entry_addr(const scim_pt_format *f, uint64_t table_pa, uint64_t va, int level)
{
    return table_pa + scim_pt_index(f, va, level) * SCIM_PTE_BYTES;
}
static inline uint64_t scim_pt_table_entries(const scim_pt_format *f, int level)
{
    return 1ull << f->index_bits[level];
}
/* log2 of the frames a level-`level` table takes, aligned to its size: 0
 * for 512 entries (one frame), 2 for the G-stage root's 2048 (16 KiB). */
static inline unsigned scim_pt_table_order(const scim_pt_format *f, int level)
{
    return f->index_bits[level] > SCIM_PT_INDEX_BITS ? f->index_bits[level] - SCIM_PT_INDEX_BITS : 0;
}
/* The level a leaf of `shift` sits at, or 0 if the format has no such leaf. */
int scim_pt_leaf_level(const scim_pt_format *f, unsigned shift);
/* A virtual address the format translates (canonical for x86 and RISC-V,
 * below 2^va_bits for Arm). */
bool scim_pt_va_valid(const scim_pt_format *f, uint64_t va);
/* The VA of table index `index` at `level` above `base` (sign-extended
 * where the format is). */
uint64_t scim_pt_va_of(const scim_pt_format *f, uint64_t base, uint64_t index, int level);

#endif
