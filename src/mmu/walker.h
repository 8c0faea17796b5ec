/* Hardware page walker: a pool of concurrent walkers with per-level
 * paging-structure caches, shared by every block that walks x86-64 page
 * tables (CPU cores, the IOMMU, devices that walk for themselves). Intel
 * SDM Vol. 3A 4.10.3 describes the caches.
 *
 * A walk starts from (root, levels), looks up the paging-structure caches
 * (one lookup of pwc_latency for every level; the deepest hit wins), then
 * reads one entry per remaining level (accessed/dirty bits set at the
 * memory). Walks that find every walker busy wait in FIFO order, in a
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
 */
#ifndef SCIM_MMU_WALKER_H
#define SCIM_MMU_WALKER_H

#include <stdbool.h>

#include "core/port.h"
#include "core/stats.h"
#include "mmu/tlb.h"

typedef enum scim_walk_status {
    SCIM_WALK_OK,          /* a present leaf (perms may still forbid the access) */
    SCIM_WALK_NOT_PRESENT, /* some level was not present */
    SCIM_WALK_RESERVED     /* a malformed entry */
} scim_walk_status;

typedef struct scim_walk_result {
    scim_walk_status status;
    uint64_t page_pa;   /* start of the page */
    unsigned shift;     /* 12, 21, 30 */
    unsigned perms;     /* SCIM_PERM_R/W: effective rights, the AND over every level, user access */
    uint32_t reads;     /* entries read from memory */
} scim_walk_result;

typedef void (*scim_walk_done_fn)(void *owner, uint64_t cookie, const scim_walk_result *r);

/* How a walker reads one entry: read(cookie, walk, pa, ...) and, later,
 * scim_walker_pte(w, walk, value) with the 64-bit entry as stored when the
 * read was served. */
typedef struct scim_pte_reader_ops {
    void (*read)(void *cookie, uint32_t walk, uint64_t pa, uint32_t pasid, int level, bool set_ad, bool write);
} scim_pte_reader_ops;

typedef struct scim_walker_params {
    uint64_t walkers;
    uint64_t pwc_entries;     /* per level; 0: no caches */
    scim_time_t pwc_latency;
    uint64_t queue;           /* walks that may wait for a walker; 0: unbounded */
    uint64_t seed;            /* the run's seed (streams are seeded by path) */
} scim_walker_params;

typedef struct scim_walker scim_walker;

/* Statistics go under "<prefix>.walks", "<prefix>.walk.*", "<prefix>.pwc.*". */
scim_walker *scim_walker_create(scim_kernel *k, const char *prefix, const scim_walker_params *p,
                                scim_walk_done_fn done, void *owner, scim_stats *stats, scim_err *err);
void scim_walker_destroy(scim_walker *w);
void scim_walker_set_reader(scim_walker *w, const scim_pte_reader_ops *ops, void *cookie);
/* The usual reader: memory requests to `mem` through `port`. */
int scim_walker_attach_port(scim_walker *w, scim_port *port, scim_node_id mem, scim_err *err);
void scim_walker_set_memory(scim_walker *w, scim_node_id mem);
/* Walk va of pasid from (root, levels); done(owner, cookie, result) later.
 * False if every walker is busy and the queue is full (nothing started). */
bool scim_walker_walk(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root, int levels,
                      uint64_t cookie);
bool scim_walker_can_accept(const scim_walker *w);
void scim_walker_pte(scim_walker *w, uint32_t walk, uint64_t value);
void scim_walker_invalidate(scim_walker *w, const scim_inv_scope *s);
/* The paging-structure caches, for the checker. */
size_t scim_walker_caches(const scim_walker *w, const scim_tlb **out, const char **names, size_t max);
uint64_t scim_walker_busy(const scim_walker *w); /* walks in flight or queued */

extern const scim_stat_decl scim_walker_stat_decls[];
extern const size_t scim_walker_stat_decl_count;

#endif
