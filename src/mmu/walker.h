/* Hardware page walker: a pool of concurrent walkers with per-level
 * paging-structure caches, shared by every block that walks page tables
 * (CPU cores, the IOMMU, devices that walk for themselves), in any format of
 * mmu/ptfmt.h (x86-64, Armv8-A, RISC-V). Intel SDM Vol. 3A 4.10.3
 * describes the caches (Arm's walk caches and RISC-V's are alike); they are
 * named after x86's entries whatever the format: pwc.pde holds pointers to
 * last-level tables, pwc.pdpte to the tables above, and so on.
 *
 * A walk starts from (root, format), looks up the paging-structure caches
 * (one lookup of pwc_latency for every level; the deepest hit wins), then
 * reads one entry per remaining level (accessed/dirty bits set at the
 * memory, as the format updates them). Walks that find every walker busy wait in FIFO order, in a
 * queue of at most `queue` walks (0: unbounded); a full queue refuses the
 * walk and the owner holds it until a walk completes. An invalidation
 * restarts walks in flight that overlap it, so a walk that read an entry
 * before the OS changed it can never complete with it, and drops the
 * cached table pointers of the PASID.
 *
 * Entries are read through a reader (an ops table with a cookie, after
 * Linux's io-pgtable): scim_walker_attach_port() reads them with memory
 * requests through the owner's port, where the walker is a client; a test
 * plugs in a dummy memory instead.
 *
 * Table addresses pass through an optional hook before each read
 * (scim_walker_set_table_xlate): the seam where a two-stage walk
 * translates every guest table pointer through stage 2. Without it the
 * address an entry holds is the address read.
 */
#ifndef SCIM_MMU_WALKER_H
#define SCIM_MMU_WALKER_H

#include <stdbool.h>

#include "core/port.h"
#include "core/stats.h"
#include "mmu/physmem.h"
#include "mmu/ptfmt.h"
#include "mmu/tlb.h"

typedef enum scim_walk_status {
    SCIM_WALK_OK,          /* a present leaf (perms may still forbid the access) */
    SCIM_WALK_NOT_PRESENT, /* some level was not present */
    SCIM_WALK_RESERVED     /* a malformed entry */
} scim_walk_status;

typedef struct scim_walk_result {
    scim_walk_status status;
    uint8_t stage;      /* not OK: the stage whose entry failed (1, or 2 in a nested walk) */
    uint64_t page_pa;   /* start of the page */
    unsigned shift;     /* log2 of the page size */
    unsigned perms;     /* SCIM_PERM_R/W: effective rights, the AND over every level, user access */
    uint32_t reads;     /* entries read from memory */
} scim_walk_result;

typedef void (*scim_walk_done_fn)(void *owner, uint64_t cookie, const scim_walk_result *r);

/* One entry read: where, for whom, and what the memory is to update. */
typedef struct scim_pte_read {
    uint64_t pa;
    uint32_t pasid;
    int level;
    uint8_t fmt;     /* the format's id: how the memory applies set_ad */
    bool set_ad;     /* the format's accessed/dirty update, atomically at the memory */
    bool write;      /* the walk is for a write */
} scim_pte_read;

/* How a walker reads one entry: read(cookie, walk, r) and, later,
 * scim_walker_pte(w, walk, value) with the 64-bit entry as stored when the
 * read was served. */
typedef struct scim_pte_reader_ops {
    void (*read)(void *cookie, uint32_t walk, const scim_pte_read *r);
} scim_pte_reader_ops;

/* The table-address hook: the memory address of a table whose address an
 * entry (or the root pointer) holds. Returns true with *pa now, or false
 * and calls scim_walker_table_ready(w, walk, pa) later (a stage-2 walk). */
typedef struct scim_pt_xlate_ops {
    bool (*table_addr)(void *cookie, uint32_t walk, uint32_t pasid, uint64_t addr, uint64_t *pa);
} scim_pt_xlate_ops;

typedef struct scim_walker_params {
    uint64_t walkers;
    uint64_t pwc_entries;     /* per level; 0: no caches */
    scim_time_t pwc_latency;
    uint64_t queue;           /* walks that may wait for a walker; 0: unbounded */
    uint64_t seed;            /* the run's seed (streams are seeded by path) */
    bool nested;              /* may walk two stages: statistics <prefix>.walk.s2_* */
    uint64_t s2tlb_entries;   /* nested: the stage-2 TLB (gPA -> hPA pages); 0: none */
    uint64_t s2pwc_entries;   /* nested: stage-2 paging-structure caches, per level; 0: none */
} scim_walker_params;

/* The second stage of a nested walk: the hypervisor's table of the VM
 * (root host-physical address, format: EPT, Arm stage 2) and the VM's
 * id, which tags the stage-2 TLB. */
typedef struct scim_stage2 {
    uint64_t root;
    const scim_pt_format *fmt;
    uint32_t vmid;
} scim_stage2;

typedef struct scim_walker scim_walker;

/* Statistics go under "<prefix>.walks", "<prefix>.walk.*", "<prefix>.pwc.*". */
scim_walker *scim_walker_create(scim_kernel *k, const char *prefix, const scim_walker_params *p,
                                scim_walk_done_fn done, void *owner, scim_stats *stats, scim_err *err);
void scim_walker_destroy(scim_walker *w);
void scim_walker_set_reader(scim_walker *w, const scim_pte_reader_ops *ops, void *cookie);
/* The usual reader: memory requests to `mem` through `port`. */
int scim_walker_attach_port(scim_walker *w, scim_port *port, scim_node_id mem, scim_err *err);
void scim_walker_set_memory(scim_walker *w, scim_node_id mem);
void scim_walker_set_table_xlate(scim_walker *w, const scim_pt_xlate_ops *ops, void *cookie);
void scim_walker_table_ready(scim_walker *w, uint32_t walk, uint64_t pa);
/* Walk va of pasid from root in format fmt; done(owner, cookie, result)
 * later. False if every walker is busy and the queue is full (nothing
 * started). */
bool scim_walker_walk(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root,
                      const scim_pt_format *fmt, uint64_t cookie);
/* A two-dimensional walk: root and every table address of stage 1 are
 * guest-physical, each translated through s2 before it is read, and so is
 * the final guest-physical address; the result is host-physical, its page
 * the smaller of the two stages' pages. A cold walk of an n-level stage 1
 * over an m-level stage 2 reads (n+1)(m+1)-1 entries. The paging-structure
 * caches hold host-physical table addresses (combined entries, SDM Vol. 3C
 * 29.4.1); the stage-2 TLB caches gPA -> hPA pages of tables and data;
 * the stage-2 paging-structure caches give the deepest stage-2 table of a
 * gPA the TLB misses (looked up with it, at no extra latency). */
bool scim_walker_walk_nested(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root,
                             const scim_pt_format *fmt, const scim_stage2 *s2, uint64_t cookie);
/* Functional walk (sim.warmup): at once, what a timed walk of the same
 * request leaves behind: the paging-structure caches looked up and filled
 * as a timed walk fills them, each entry read from pm directly with its
 * accessed/dirty bits set as the memory sets them for a walk (set_ad), no
 * event and no time. A walker with a table-address hook is refused
 * (status SCIM_WALK_RESERVED, nothing read, reads 0: the hook may answer
 * only later). The statistics walks and walk.pte_reads (and a nested
 * walker's walk.nested, walk.s2_reads, walk.s2_faults) count a walk and
 * the caches' counters its lookups; the latency and wait histograms do
 * not see it. Meant for an idle walker: it does not look at walks in
 * flight. */
scim_walk_result scim_walker_walk_now(scim_walker *w, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write,
                                      uint64_t root, const scim_pt_format *fmt);
/* The functional twin of scim_walker_walk_nested: the stage-2 TLB and
 * paging-structure caches looked up and filled as the timed 2D walk does,
 * the combined entries too. Refused (as above) on a walker made without
 * params.nested. */
scim_walk_result scim_walker_walk_now_nested(scim_walker *w, scim_physmem *pm, uint32_t pasid, uint64_t va,
                                             bool write, uint64_t root, const scim_pt_format *fmt,
                                             const scim_stage2 *s2);
/* The same walk over another memory: entry() answers each read as that
 * memory would answer the walker's (a device's shadow copy: the value, no
 * accessed/dirty update). */
typedef uint64_t (*scim_walk_entry_fn)(void *ctx, uint64_t pa, const scim_pt_format *fmt, int level, bool write);
scim_walk_result scim_walker_walk_now_from(scim_walker *w, scim_walk_entry_fn entry, void *ctx, uint32_t pasid,
                                           uint64_t va, bool write, uint64_t root, const scim_pt_format *fmt);
bool scim_walker_can_accept(const scim_walker *w);
void scim_walker_pte(scim_walker *w, uint32_t walk, uint64_t value);
void scim_walker_invalidate(scim_walker *w, const scim_inv_scope *s);
/* The stage-2 TLB entries of VM vmid only (data pages of stage 2
 * changed, table pointers did not); its nested walks in flight restart. */
void scim_walker_invalidate_s2tlb(scim_walker *w, uint32_t vmid);
/* The paging-structure caches, for the checker. */
size_t scim_walker_caches(const scim_walker *w, const scim_tlb **out, const char **names, size_t max);
uint64_t scim_walker_busy(const scim_walker *w); /* walks in flight or queued */

extern const scim_stat_decl scim_walker_stat_decls[];
extern const size_t scim_walker_stat_decl_count;
extern const scim_stat_decl scim_walker_nested_stat_decls[]; /* a nested walker's, under the same prefix */
extern const size_t scim_walker_nested_stat_decl_count;

#endif
