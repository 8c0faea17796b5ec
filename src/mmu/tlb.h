/* The one generic translation cache of scimitar: CPU L1/L2 TLBs, the IOMMU
 * IOTLB and PASID cache, and device IOTLBs are all instances of it.
 *
 * Structure: sets x ways (entries must be a multiple of ways; ways ==
 * entries is fully associative; sets need not be a power of two). Tags are
 * (PASID, virtual page number, page size). An entry of page size 2^s lives in
 * set (va >> s) mod sets, so miss counts can be checked against an exact
 * reference. A lookup probes each page size the TLB holds, smallest first.
 *
 * Replacement (per set): an invalid way is always used first (lowest
 * index); otherwise lru evicts the least recently used (hits and inserts
 * are uses), fifo the oldest insertion, random a way drawn from a
 * splitmix64 generator seeded from params.seed, plru the way a binary
 * tree of bits points to (ways must be a power of two, at most 64; each
 * use flips the bits on its path to point away from it). Re-inserting a
 * present tag updates it in place and counts as a use.
 *
 * The TLB does not model time; its owner charges params.latency_cycles.
 *
 * Two implementations of the same contract (params.index): a linear scan
 * of the set, for few ways, and a hash index for many (a fully
 * associative IOTLB of 1024+ entries): hash chains from tag to way, a
 * per-set bitmap of valid ways (the lowest invalid one), and per set the
 * lru/fifo order as a circular list from the victim (the oldest) to the
 * newest, so that a replacement only moves the list's start on. Both give
 * the same hits, victims and contents for every policy (test_tlb checks
 * each against a brute-force reference). Either probes only the page sizes
 * it holds at the time (a count per size).
 */
#ifndef SCIMITAR_TLB_H
#define SCIMITAR_TLB_H

#include "core/common.h"
#include "core/proto.h"
#include "core/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum scim_tlb_repl {
    SCIM_REPL_LRU = 0,
    SCIM_REPL_FIFO = 1,
    SCIM_REPL_RANDOM = 2,
    SCIM_REPL_PLRU = 3
} scim_tlb_repl;

#define SCIM_PAGE_4K (1u << 0)
#define SCIM_PAGE_2M (1u << 1)
#define SCIM_PAGE_1G (1u << 2)

typedef struct scim_tlb_params {
    uint64_t entries, ways;  /* entries 0: disabled (lookups miss, inserts are dropped) */
    int repl;                /* scim_tlb_repl */
    uint64_t page_sizes;     /* SCIM_PAGE_* mask; 0 means 4K only */
    uint64_t seed;           /* random replacement */
    uint64_t latency_cycles; /* charged by the owner */
    int index;               /* scim_tlb_index; 0 (auto) unless a test compares them */
} scim_tlb_params;

typedef enum scim_tlb_index {
    SCIM_TLB_INDEX_AUTO = 0, /* hash index from SCIM_TLB_HASH_MIN_WAYS ways */
    SCIM_TLB_INDEX_SCAN = 1,
    SCIM_TLB_INDEX_HASH = 2
} scim_tlb_index;

#define SCIM_TLB_HASH_MIN_WAYS 8

typedef struct scim_tlb_entry {
    uint32_t pasid;
    uint8_t page_shift; /* 12, 21 or 30 */
    uint8_t perms;      /* owner-defined (SCIM_PERM_R/W) */
    uint64_t vpn;       /* va >> page_shift */
    uint64_t pfn;       /* physical frame (4 KiB units) where the page starts */
    uint64_t aux;       /* owner-defined */
} scim_tlb_entry;

typedef struct scim_tlb_counters {
    uint64_t accesses, hits, misses, inserts, evictions, invalidations, flushes;
} scim_tlb_ctrs;

typedef struct scim_tlb scim_tlb;

scim_tlb *scim_tlb_create(const scim_tlb_params *p, scim_err *err);
void scim_tlb_destroy(scim_tlb *t);

/* 1 on a hit (fills *out if non-NULL; updates replacement state and
 * counters), 0 on a miss (counted). */
int scim_tlb_lookup(scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out);
/* Same without side effects. */
int scim_tlb_probe(const scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out);
/* 1 if a valid entry was evicted (copied to *evicted if non-NULL), 0
 * otherwise; SCIM_EINVAL if e's page size is not held by this TLB. */
int scim_tlb_insert(scim_tlb *t, const scim_tlb_entry *e, scim_tlb_entry *evicted);

/* Invalidation; each returns the number of entries removed. */
uint64_t scim_tlb_invalidate_page(scim_tlb *t, uint32_t pasid, uint64_t va);
uint64_t scim_tlb_invalidate_range(scim_tlb *t, uint32_t pasid, uint64_t va, uint64_t len);
uint64_t scim_tlb_invalidate_pasid(scim_tlb *t, uint32_t pasid);
uint64_t scim_tlb_invalidate_all(scim_tlb *t);
/* The one invalidation every owner uses: the entries `s` covers (NULL t: 0). */
uint64_t scim_tlb_invalidate_scope(scim_tlb *t, const scim_inv_scope *s);

/* Every valid entry, in set/way order. */
void scim_tlb_foreach(const scim_tlb *t, void (*fn)(void *ctx, const scim_tlb_entry *e), void *ctx);
uint64_t scim_tlb_sets(const scim_tlb *t);
uint64_t scim_tlb_valid_entries(const scim_tlb *t);
const scim_tlb_ctrs *scim_tlb_counters(const scim_tlb *t);

/* Registered as "<owner>.<name>" from the counters struct. */
extern const scim_stat_decl scim_tlb_stat_decls[];
extern const size_t scim_tlb_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif
