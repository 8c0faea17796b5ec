/* The walker's state, shared by the timed walk (walker.c) and the
 * functional one (walker_now.c). Not an interface: mmu/walker.h is. */
#ifndef SCIM_MMU_WALKER_INTERNAL_H
#define SCIM_MMU_WALKER_INTERNAL_H

#include "core/fifo.h"
#include "mmu/walker.h"

#define MAX_LEVELS SCIM_PT_MAX_LEVELS

typedef struct walk {
    bool busy;
    bool poisoned;
    bool nocache;   /* an invalidation of its PASID arrived: cache no pointer it read before */
    bool write;
    int level;
    const scim_pt_format *fmt;
    unsigned perms;
    uint32_t pasid;
    uint32_t reads;
    uint64_t va;
    uint64_t root;
    uint64_t table;
    uint64_t cookie;
    scim_time_t started;
    /* a nested walk (walker_nested.c): stage 2 of the VM, NULL if none */
    const scim_pt_format *s2fmt;
    uint64_t s2root;
    uint32_t vmid;
    bool table_host;  /* `table` is host-physical already (a combined paging-structure cache hit) */
    bool in_s2;       /* reading the stage-2 entries of gpa */
    bool s2_final;    /* gpa is the final guest-physical address, not a table's */
    int s2level;
    unsigned s1shift; /* the stage-1 leaf's page */
    unsigned s2perms;
    uint64_t gpa;
    uint64_t s2table;
} walk;

typedef struct queued {
    uint32_t pasid;
    bool write;
    const scim_pt_format *fmt;
    uint64_t va, root, cookie;
    scim_time_t at;
    scim_stage2 s2; /* s2.fmt NULL: one stage */
} queued;

typedef struct walker_stats {
    uint64_t walks;
    uint64_t restarts;
    uint64_t pte_reads;
    uint64_t waits;
    scim_hist *latency;
    scim_hist *wait;
} walker_stats;

/* Registered only for a walker that may walk two stages. */
typedef struct nested_stats {
    uint64_t walks;
    uint64_t s2_reads;
    uint64_t s2_faults;
} nested_stats;

struct scim_walker {
    scim_kernel *k;
    int begin_fifo; /* the kernel FIFO of walk starts: a fixed delay (pwc_latency), so in order */
    scim_walker_params p;
    scim_walk_done_fn done;
    void *owner;
    const scim_pte_reader_ops *reader;
    void *reader_cookie;
    const scim_pt_xlate_ops *xlate;
    void *xlate_cookie;
    scim_port *port;  /* the fabric reader: requests through the owner's port */
    int client;
    scim_node_id mem;
    walk *walks;
    scim_tlb *pwc[MAX_LEVELS]; /* pwc[l]: pointer to a level-l table, keyed by the VA bits above what it maps */
    scim_fifo q;               /* of queued */
    scim_tlb *s2tlb;           /* nested: gPA -> hPA pages, tagged by VM id */
    scim_tlb *s2pwc[MAX_LEVELS]; /* nested: pointer to a level-l stage-2 table, keyed by the gPA bits above it */
    walker_stats st;
    nested_stats nst;
};

/* Key of the pointer to a level-`level` table: the VA bits above what it maps. */
static inline uint64_t pwc_key(const scim_pt_format *f, uint64_t va, int level)
{
    return scim_pfn_addr(va >> scim_pt_level_shift(f, level + 1));
}

/* The deepest table on va's path the paging-structure caches know: its
 * level, with *table and *perms (the rights of the levels above, cached
 * with the pointer) set; the root's level, both untouched, if none. The
 * caches are looked up from the last level up to the first hit, so the
 * levels above a hit see no lookup (their replacement state stays). */
static inline int pwc_deepest(scim_walker *w, uint32_t pasid, uint64_t va, const scim_pt_format *f, uint64_t *table,
                       unsigned *perms)
{
    for (int l = 1; l < f->levels; l++) {
        scim_tlb_entry e;
        if (w->pwc[l] && scim_tlb_lookup(w->pwc[l], pasid, pwc_key(f, va, l), &e) == 1) {
            *table = scim_pfn_addr(e.pfn);
            *perms = e.perms;
            return l;
        }
    }
    return f->levels;
}

/* Cache the pointer to the level-`level` table on va's path. */
static inline void pwc_fill(scim_walker *w, int level, uint32_t pasid, const scim_pt_format *f, uint64_t va, unsigned perms,
                     uint64_t table)
{
    if (!w->pwc[level])
        return;
    scim_tlb_entry c = {.pasid = pasid, .page_shift = SCIM_SHIFT_4K, .perms = (uint8_t)perms,
                        .vpn = scim_vpn(pwc_key(f, va, level)), .pfn = scim_pfn(table), .aux = 0};
    scim_tlb_insert(w->pwc[level], &c, NULL);
}

/* A stage-1 entry read at `level`, decoded into *e: its kind. A table or
 * a leaf narrows *perms: effective rights are the AND over every level
 * (SDM 4.6, Arm's APTable; RISC-V's tables pass everything); devices and
 * user code access as user. */
static inline scim_pte_kind s1_entry(const scim_pt_format *f, uint64_t pte, int level, unsigned *perms, scim_pte_info *e)
{
    f->decode(pte, level, e);
    if (e->kind == SCIM_PTE_TABLE || e->kind == SCIM_PTE_LEAF)
        *perms &= e->perms;
    return e->kind;
}

#endif
