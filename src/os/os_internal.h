/* Private to the OS (src/os/) and to the host driver above it
 * (src/driver/): the OS's state and the functions its files share. The
 * builder and the agents use os/os.h only.
 *
 * The OS by job, one file each:
 *   os.c        life cycle, message dispatch, parameter and statistic tables
 *   regions.c   address spaces (processes), regions, mapping a page
 *   frames.c    frame pool accounting, page-table frames, pins, CLOCK list
 *   shadow.c    walk placement shadow: entry updates sent to device copies
 *   fault.c     fault jobs: handlers, batching, joining, resolving, answering
 *   shootdown.c shootdown rounds: IPIs, invalidations, completion
 *   unmap.c     the unmap round shared by munmap, mprotect, migrate, reclaim
 *   reclaim.c   kswapd (CLOCK) rounds and the trace's reclaim operation
 *   swap.c      the swap device and its slots
 *   ops.c       the OS operations of traces, and answering them
 *   hyp.c       the hypervisor of VMs: guest-physical memory, stage-2
 *               tables, stage-2 faults on their own queue
 *   warm.c      functional warm-up (sim.warmup): faults, software walks,
 *               kswapd's reclaim and shadow syncs at once, leaving the
 *               state the timed paths would (warm_internal.h)
 *   warm_ops.c  the same for the trace's OS operations
 *
 * Internal functions shared between files are named os_*; everything
 * else is static. The driver reaches the OS through these functions too. */
#ifndef SCIM_OS_INTERNAL_H
#define SCIM_OS_INTERNAL_H

#include "core/inject.h"
#include "os/os.h"

#include "core/fifo.h"
#include "core/page.h"
#include "core/port.h"
#include "core/u64map.h"
#include "mmu/pagetable.h"
#include "scimitar/kernel.h"

/* ---------- pages ---------- */

#define OS_PAGE_SHIFT 12u                    /* frames and base pages: 4 KiB */
#define OS_PAGE_SIZE (1ull << OS_PAGE_SHIFT)
#define OS_PAGE_MASK (OS_PAGE_SIZE - 1)
#define OS_SHIFT_2M 21u
#define OS_SHIFT_1G 30u
#define OS_PTE_BYTES 8u                      /* one page-table entry, or one physical address */
#define OS_INV_DESC_BYTES 16u                /* an invalidation descriptor on the wire */

static inline uint64_t os_vpn(uint64_t va) { return va >> OS_PAGE_SHIFT; }
static inline uint64_t os_pfn(uint64_t pa) { return pa >> OS_PAGE_SHIFT; }
static inline uint64_t os_frame_pa(uint64_t pfn) { return pfn << OS_PAGE_SHIFT; }
static inline uint64_t os_page_down(uint64_t a) { return a & ~OS_PAGE_MASK; }
static inline uint64_t os_page_up(uint64_t a) { return (a + OS_PAGE_MASK) & ~OS_PAGE_MASK; }
/* Frames in a page of 2^shift bytes, as a buddy order. */
static inline unsigned os_order(unsigned page_shift) { return page_shift - OS_PAGE_SHIFT; }

/* The write bit of a trace/region protection (SCIM_PROT_RW = R | W). */
#define OS_PROT_W (SCIM_PROT_RW & ~SCIM_PROT_R)

/* os.shootdown */
enum os_shootdown { OS_SD_SYNC = 0, OS_SD_BROADCAST = 1 };

/* ---------- address spaces ---------- */

typedef struct region {
    uint64_t start, end;
    unsigned prot;
    unsigned page_shift;
} region;

typedef struct pt_cookie {
    scim_os *os;
    uint32_t pasid;
    struct os_vm *vm; /* a guest's page table: guest-physical table and leaf addresses */
} pt_cookie;

typedef struct process {
    char name[48];
    pt_cookie *cookie;   /* what the page table hands to the allocator ops */
    uint64_t *sync;      /* walk shadow: (entry pa, value) pairs not yet sent */
    size_t n_sync, cap_sync;
    uint32_t pasid;
    int levels;
    scim_pgtable *pt;
    region *regions; /* sorted, disjoint */
    size_t n_regions, cap_regions;
    scim_u64map swapped; /* vpn -> swap slot + 1 */
    scim_u64map busy;    /* vpn -> (busy_page *) */
    scim_u64map queued;  /* vpn -> (fault_job *) of a page request waiting for a handler */
    /* vpn -> pfn << PIN_COUNT_BITS | pins: the frames the trace's pin (or
     * scim_sim_os_call) pinned at each page, so that unpin finds them by
     * address even after an munmap took the page out (as Linux's
     * unpin_user_pages works on the pages the pin returned) */
    scim_u64map pinned_at;
    struct os_range { uint64_t start, end; } *static_dma; /* regions a driver sets up once (scim_os_add_static_dma) */
    size_t n_static_dma;
    struct os_vm *vm;    /* the VM the process runs in (hyp.c), NULL on the host */
} process;

/* ---------- fault jobs ---------- */

enum job_kind {
    JOB_IO,     /* an I/O page fault (page request via the IOMMU) */
    JOB_CPU,    /* a CPU page fault (a trap) */
    JOB_SW,     /* walk placement software: a walk in an interrupt handler */
    JOB_BACKUP, /* fault policy backup: copy a buffered write into its page */
    JOB_DRIVER  /* a driver faulting a buffer's page in (get_user_pages) */
};

/* A driver's fault-in has been answered (m is the driver's request). */
typedef void (*os_fault_done_fn)(void *ctx, scim_msg *m, int32_t status);

/* How a page of an I/O fault group was resolved (fault.c -> iopf.c). */
enum page_outcome { PAGE_PRESENT, PAGE_ZEROED, PAGE_SWAPPED_IN };

typedef struct fault_job {
    scim_msg *m;
    enum job_kind kind;
    bool write;
    /* JOB_IO: a page request group: pages [group_va, +pages) the DMA needs,
     * then prefault more; `handled` pages so far; the group's
     * response is sent once the needed ones are (answered) */
    uint64_t group_va;
    uint32_t pages, prefault, handled;
    bool answered;
    bool follower;     /* joined another group for the same page: answered with it */
    enum page_outcome outcome; /* of the page just resolved */
    struct fault_job *followers; /* page requests for the same page that joined this one */
    uint32_t pasid;
    uint64_t va;       /* the faulting address */
    uint64_t frame;    /* a major fault: the frame reserved before the swap read; a new page being
                        * zeroed (zeroing): its frame, mapped at frame_va only once zeroed */
    uint64_t frame_va; /* zeroing: the page (aligned to frame_shift) the frame is for */
    unsigned frame_shift;
    bool zeroing;      /* JOB_IO: j->frame is being zeroed for frame_va, not mapped yet */
    bool installing;   /* zeroing done, the mapping waits for a page-table frame */
    scim_time_t arrived;
    os_fault_done_fn done; /* JOB_DRIVER: whom to tell, with done_ctx */
    void *done_ctx;
    struct fault_job *next;
    struct fault_job *batch_next; /* JOB_IO: the next group of its handler's batch */
    struct fault_job *live_prev, *live_next; /* every job alive, so a run stopped early frees them */
} fault_job;

/* A FIFO of jobs linked through next. */
typedef struct job_queue {
    fault_job *head, *tail;
} job_queue;

/* A page in transition: faults on it wait. BUSY_ZERO: a fault handler
 * zeroes the page's new frame; it is mapped only after that. */
enum busy_state { BUSY_NONE, BUSY_SWAPIN, BUSY_SWAPOUT, BUSY_MIGRATE, BUSY_ZERO };

typedef struct busy_page {
    enum busy_state state;
    fault_job *waiters;
} busy_page;

/* ---------- shootdown rounds ---------- */

typedef struct frame_ref {
    uint64_t pfn;
    unsigned order;
} frame_ref;

typedef struct frame_list {
    frame_ref *v;
    size_t n, cap;
} frame_list;

typedef struct page_ref {
    uint64_t va;
    uint64_t len;      /* the leaf's size */
    uint64_t old_pfn;
    uint64_t new_pfn;  /* migrate: the copy */
    uint64_t slot;     /* reclaim: the swap slot */
    scim_time_t unmapped_at; /* a driver's deferred unmap: when the page was queued */
} page_ref;

/* What follows a round's last acknowledgement (after the page-table
 * frames it emptied are freed): the round's owner continues. */
typedef void (*os_round_done_fn)(scim_os *os, size_t idx, void *ctx);

typedef struct sd_op {
    bool used;
    bool whole;        /* invalidate the whole PASID whatever the pages */
    uint32_t pasid;
    uint32_t cpu_pending, dev_pending;
    uint32_t writes_pending;
    scim_time_t started;
    scim_time_t charged;  /* initiator time already counted (sending IPIs or broadcasts) */
    scim_time_t cpus_done, devs_done;
    uint64_t checker_id;
    scim_msg *req; /* the request to answer, NULL for the reclaimer and deferred flushes */
    os_round_done_fn done;
    void *done_ctx;
    frame_list data, tables;
    page_ref *pages;
    size_t n_pages, cap_pages;
} sd_op;

/* An I/O fault handler thread (iopf.c): asleep, being woken, or working
 * through a batch of groups. */
enum handler_state { HANDLER_IDLE, HANDLER_WAKING, HANDLER_BUSY };

typedef struct fault_handler {
    enum handler_state state;
    struct fault_domain *dom; /* whose queue it serves */
    fault_job *batch;     /* the groups it took, linked through next; the first is being handled */
    scim_time_t zero_started;
} fault_handler;

/* A kernel's I/O page fault handling (iopf.c): its page request queue,
 * handler threads and costs. The host's OS has one (os.*); the guest
 * kernel of each VM has its own (vms.<n>.guest.*, guest.c), so a guest's
 * faults wait for the guest's threads, not the host's. */
typedef struct fault_domain_counts {
    uint64_t requests, batches, wakeups;
    scim_hist *queue_delay;
} fault_domain_counts;

typedef struct fault_domain {
    scim_time_t wakeup;     /* interrupt delivery and waking a sleeping handler */
    scim_time_t batch_cost; /* per batch of groups */
    scim_time_t page_cost;  /* per page mapped, zeroing not included */
    uint64_t batch;         /* groups per batch at most */
    uint64_t n_handlers;
    scim_time_t cpu_fault_cost; /* a core's page fault, handled on the core */
    bool zero;              /* new frames are zeroed before they are mapped */
    size_t first;           /* its handlers: os->handlers[first .. first + n_handlers) */
    job_queue fq;           /* page request groups waiting for a handler */
    uint64_t fq_len;
    fault_domain_counts *own; /* a guest's own statistics (NULL: the host's, os.* only) */
} fault_domain;

/* ---------- the rest of the state ---------- */

typedef struct binding {
    scim_node_id node;
    uint32_t pasid;
} binding;

/* 16 bytes: populating millions of pages keeps one per page. A frame
 * number fits 44 bits (memory.size <= 2^46 bytes), a PASID 20. */
typedef struct lru_page {
    uint64_t va;
    uint64_t pfn : 44;
    uint64_t pasid : 20;
} lru_page;

typedef struct swap_io {
    bool write;
    size_t op;
    size_t page;       /* index into the op's pages (writes) */
    fault_job *job;    /* reads */
    scim_time_t queued;
} swap_io;

/* What waits for the shadow copies' acknowledgement. */
enum sync_kind { SK_ANSWER, SK_SHOOTDOWN, SK_REPLY };

typedef struct sync_wait {
    bool used;
    enum sync_kind kind;
    uint32_t pending;  /* acknowledgements still to come; 0: waits for `after` alone */
    int32_t status;
    void *ptr;
    uint64_t arg;
    scim_time_t sent;
    uint64_t *pairs;   /* the update every copy applies; freed on the last acknowledgement */
    uint32_t pasid;
    uint64_t seq;      /* its place among the waits begun (os.sync_seq) */
    uint64_t after;    /* nothing of its own to send: done when update `after` is */
} sync_wait;

typedef struct os_stats {
    uint64_t iopf_requests;
    uint64_t iopf_mapped;
    uint64_t iopf_spurious;
    uint64_t iopf_invalid;
    uint64_t iopf_joined;
    uint64_t iopf_pages;
    uint64_t iopf_batches;
    uint64_t iopf_wakeups;
    uint64_t iopf_zeroed;
    uint64_t prefaulted;
    uint64_t sw_walks;
    uint64_t backup_copies;
    uint64_t backup_lost;
    uint64_t cpu_faults;
    uint64_t faults_minor;
    uint64_t faults_major;
    uint64_t faults_waited;
    uint64_t frame_waits;
    uint64_t ops_mmap;
    uint64_t ops_munmap;
    uint64_t ops_mprotect;
    uint64_t ops_migrate;
    uint64_t ops_reclaim;
    uint64_t ops_pin;
    uint64_t ops_unpin;
    uint64_t ops_errors;
    uint64_t shootdowns;
    uint64_t ipis_sent;
    uint64_t inv_units;
    uint64_t broadcasts;
    uint64_t pages_unmapped;
    uint64_t pages_migrated;
    uint64_t reclaim_rounds;
    uint64_t reclaim_scanned;
    uint64_t reclaim_referenced;
    uint64_t reclaim_evicted;
    uint64_t swap_reads;
    uint64_t swap_read_errors;
    uint64_t device_resets;
    uint64_t swap_writes;
    uint64_t frames_free;
    uint64_t frames_data;
    uint64_t frames_page_tables;
    uint64_t frames_pasid_table;
    uint64_t frames_transit;
    uint64_t frames_reserved;
    uint64_t shadow_syncs;
    uint64_t shadow_sync_waits;
    uint64_t frames_pinned;
    uint64_t frames_pinned_peak;
    uint64_t pinned_integral;
    /* the driver's (src/driver/), kept here under os.io.* */
    uint64_t io_pins;
    uint64_t io_pin_cache_hits;
    uint64_t io_unpins;
    uint64_t io_maps;
    uint64_t io_unmaps;
    uint64_t io_flushes;
    uint64_t io_static;
    uint64_t busy_ps;
    scim_hist *iopf_latency;
    scim_hist *iopf_queue_delay;
    scim_hist *cpu_fault_latency;
    scim_hist *shootdown_latency;
    scim_hist *shootdown_cpu_wait;
    scim_hist *shootdown_dev_wait;
    scim_hist *op_latency;
    scim_hist *swap_queue_delay;
    scim_hist *shadow_sync_latency;
    scim_hist *stale_window;
} os_stats;

/* What the OS's own requests are, in their port ids: (kind << 32) | index. */
enum os_request_kind { OSR_CPU_INV = 1, OSR_DEV_INV = 2, OSR_SYNC = 3, OSR_ZERO = 4, OSR_RESET = 5 };
#define OSR_ID(kind, index) ((uint64_t)(kind) << 32 | (uint32_t)(index))
#define OSR_KIND(id) ((enum os_request_kind)((id) >> 32))
#define OSR_INDEX(id) ((uint32_t)(id))

struct scim_os {
    scim_kernel *k;
    scim_port *port;
    scim_physmem *pm;
    scim_os_params p;
    scim_node_id iommu, mem;
    const scim_observer *checker;
    process *procs;
    size_t n_procs;
    const scim_ctx_format *ctxf; /* the IOMMU context structures' family */
    scim_ctx_tables ctx;         /* and the OS's handles on them */
    frame_list *collect; /* page-table frames freed now go here (deferred) */
    uint64_t deferred;
    binding *cpus, *devs, *shadows;
    size_t n_cpus, n_devs, n_shadows;
    sync_wait *syncs;
    size_t n_syncs;
    uint64_t sync_seq; /* shadow waits begun so far (sync_wait.seq) */
    /* the driver of the pin and iommu-map schemes, if one registered */
    const scim_os_io_driver *io_ops;
    void *io_ctx;
    scim_time_t pinned_since;
    fault_job *live;  /* every fault job not yet answered, wherever it waits */
    fault_domain host_fd; /* the host kernel's I/O fault handling */
    job_queue irq_q;  /* software walks waiting for the interrupt handler */
    bool irq_busy;    /* the interrupt handler is walking */
    fault_handler *handlers; /* of every fault domain (the host's, then each VM's guest's) */
    size_t n_handlers;
    job_queue fw;     /* faults waiting for a free frame */
    /* fault injection (swap read errors), and the IOMMU's failure reports
     * of devices being reset (devfail.c) */
    scim_inject *inj;
    scim_msg **resets;
    size_t n_resets;
    /* OS calls from the host program (host.c): a client of our own port */
    int host_client;
    struct host_call *host_calls;
    size_t n_host_calls;
    sd_op *ops;
    size_t n_ops;
    size_t ops_next;  /* where the search for a free op starts (rounds end roughly in order) */
    /* reclaim */
    lru_page *lru;
    size_t n_lru, cap_lru, hand;
    /* pfn -> lru index + 1 (0: not on the list): a two-level array whose
     * leaves of OS_LRU_LEAF frames are allocated on first use, 4 bytes per
     * frame (a hash map cost about 35 per page, and twice that while it
     * grew, when populating millions of pages) */
    uint32_t **lru_pos;
    size_t n_lru_pos;
    bool reclaiming;
    scim_u64map pins;      /* pfn -> pin count */
    scim_u64map orphans;   /* pinned frames whose mapping is gone (freed at the last unpin) */
    /* swap */
    uint64_t *free_slots;
    size_t n_free_slots, cap_free_slots;
    uint64_t next_slot, total_slots;
    scim_fifo swapq;           /* of swap_io, waiting for the swap device */
    uint64_t swap_busy;
    swap_io *in_service;       /* swap_parallel slots: what the device is serving */
    uint32_t *in_service_free;
    uint32_t n_in_service_free;
    /* VMs (hyp.c) and the host frames that back their memory */
    struct os_vm **vms;
    size_t n_vms;
    scim_u64map vm_frames;     /* host pfn -> (VM index << 40 | guest pfn) */
    bool setup_touch;          /* setting up (populate): a guest's frames are touched now */
    /* functional warm-up (warm.c): where its reclaim's shootdowns go */
    scim_os_warm_inv_fn warm_inv;
    void *warm_inv_ctx;
    os_stats st;
};

/* Fault handlers zero a new frame (a 4 KiB write at the memory controller)
 * before mapping it: os.iopf.zero_pages, and a memory node to write to (a
 * unit test of the OS may have none). */
static inline bool os_zeroing(const scim_os *os, const fault_domain *d)
{
    return d->zero && os->mem != SCIM_NODE_NONE;
}

/* An array v of *cap elements of `size` bytes, grown to hold `need`
 * (capacity doubling, from `first`; new elements zeroed): the array to use
 * from now on, or NULL if out of host memory (v and *cap unchanged). */
void *os_grow(void *v, size_t *cap, size_t need, size_t size, size_t first);
/* host.c */
void os_host_free(scim_os *os);
/* devfail.c */
void os_on_dev_fail(scim_os *os, scim_msg *m);
void os_on_reset_done(scim_os *os, scim_msg *m);
void os_devfail_free(scim_os *os);
/* fault.c: a swap-in read failed */
void os_swap_read_failed(scim_os *os, fault_job *j);
/* os_grow, and out of host memory stops the run. */
void *os_grow_or_fail(scim_os *os, void *v, size_t *cap, size_t need, size_t size, size_t first);
/* A new message from the OS (NULL if out of host memory: the run stops). */
scim_msg *os_msg(scim_os *os, scim_msg_type type, scim_node_id dst);

/* Spend `cost` of OS CPU time (os.busy_ps), then run fn(ctx, arg). */
void os_spend(scim_os *os, scim_time_t cost, scim_event_fn fn, void *ctx, uint64_t arg);

/* ---------- frames.c ---------- */

int os_frame_list_add(frame_list *l, uint64_t pfn, unsigned order);
void os_frame_list_free(frame_list *l);
void os_update_free(scim_os *os);
/* Free a data or table frame for good (the checker proves nothing still
 * uses it); waiting faults may now get it. */
void os_release_frame(scim_os *os, uint64_t pfn, unsigned order);
int os_pt_alloc(void *cookie, uint64_t *pfn, scim_err *err);
/* How the IOMMU context structures get their frames (counted in frames.pasid_table). */
scim_ctx_mem os_ctx_mem(scim_os *os);
void os_pt_free(void *cookie, uint64_t pfn);
void os_lru_add(scim_os *os, uint32_t pasid, uint64_t va, uint64_t pfn);
void os_lru_remove(scim_os *os, uint64_t pfn);
uint64_t os_pin_count(const scim_os *os, uint64_t pfn);
bool os_pin_frame(scim_os *os, uint64_t pfn);
void os_unpin_frame(scim_os *os, uint64_t pfn);

/* ---------- regions.c ---------- */

process *os_find_process(const scim_os *os, uint32_t pasid);
const region *os_find_region(const process *p, uint64_t va);
int os_add_region(scim_os *os, process *p, uint64_t va, uint64_t size, unsigned shift, unsigned prot,
                  bool populate, scim_err *err);
int os_remove_regions(process *p, uint64_t start, uint64_t end);
int os_protect_regions(process *p, uint64_t start, uint64_t end, unsigned prot);
/* Map va (aligned to the region's page size) to a fresh frame, or to pfn
 * when have_pfn; SCIM_ENOMEM without side effects when no frame is free. */
int os_map_new_page(scim_os *os, process *p, uint64_t va, const region *r, uint64_t pfn, bool have_pfn,
                    scim_err *err);
/* Forget the swapped-out copy of a page, if any. */
void os_forget_swapped(scim_os *os, process *p, uint64_t va);

/* ---------- shadow.c ---------- */

void os_shadow_entry_written(void *cookie, uint64_t pa, uint64_t value);
/* Send a process's accumulated entry updates to its shadow copies and
 * continue with (kind, ptr, arg, status) once every copy acknowledged;
 * false when there is nothing to wait for. */
bool os_sync_flush(scim_os *os, uint32_t pasid, enum sync_kind kind, void *ptr, uint64_t arg, int32_t status);
void os_on_sync_ack(scim_os *os, scim_msg *m);

/* ---------- fault.c ---------- */

void os_job_free(scim_os *os, fault_job *j);
void os_answer_fault_now(scim_os *os, fault_job *j, int32_t status);
busy_page *os_busy_get(process *p, uint64_t va);
busy_page *os_busy_set(scim_os *os, process *p, uint64_t va, enum busy_state state);
/* The page is stable again: every fault that waited on it runs again. */
void os_busy_clear(scim_os *os, process *p, uint64_t va);
void os_wake_frame_waiters(scim_os *os);
void os_swap_read_done(scim_os *os, fault_job *j);
void os_on_pri_req(scim_os *os, scim_msg *m);
/* A page request for the OS's fault handlers (a guest's, after the hypervisor forwarded it). */
void os_queue_page_request(scim_os *os, scim_msg *m);
/* Resolve the fault job's current page (j->va) after its handler time. */
void os_resolve(scim_os *os, fault_job *j);
void os_job_push(job_queue *q, fault_job *j);
fault_job *os_new_job(scim_os *os, scim_msg *m, enum job_kind kind);
void os_sw_handled(scim_os *os, fault_job *j);
/* An I/O fault with zeroing on needs a new page at va (of region r): take
 * a frame for it and mark the page in transition (BUSY_ZERO) until
 * os_install_zeroed maps it. SCIM_ENOMEM (nothing changed) if no frame is
 * free. */
int os_zero_first(scim_os *os, process *p, fault_job *j, uint64_t va, const region *r, scim_err *err);
/* The frame of j is zeroed: map it, and let the faults that waited on the
 * page run again; then os_iopf_page_installed. Waits for a frame if the
 * page table needs one. */
void os_install_zeroed(scim_os *os, fault_job *j);

/* ---------- iopf.c ---------- */

/* Wake d's handlers for what waits in its queue. */
void os_iopf_kick(scim_os *os, fault_domain *d);
/* Add d's handlers (d's costs and n_handlers set; before the run). */
int os_fault_domain_add(scim_os *os, fault_domain *d, scim_err *err);
/* The fault domain of p's kernel: its VM's guest, or the host. */
fault_domain *os_fault_domain(scim_os *os, const process *p);
/* A page of an I/O fault group is resolved (fault.c calls this instead of
 * answering). */
void os_iopf_page_resolved(scim_os *os, fault_job *j, int32_t status);
/* The group's response left (after the shadow copies caught up). */
void os_iopf_answered(scim_os *os, fault_job *j);
void os_iopf_zeroed(scim_os *os, scim_msg *m);
/* The zeroed page of j's group is mapped (or, mapped false, its region went
 * away meanwhile): the handler goes on. */
void os_iopf_page_installed(scim_os *os, fault_job *j, bool mapped);
int os_iopf_init(scim_os *os, scim_err *err);
void os_on_sw_walk(scim_os *os, scim_msg *m);
void os_on_cpu_fault(scim_os *os, scim_msg *m);
void os_on_backup(scim_os *os, scim_msg *m);
/* A driver faults a page of its request m in on a CPU (get_user_pages):
 * os.cpu_fault_cost, then done(ctx, m, status). */
bool os_fault_in(scim_os *os, scim_msg *m, uint64_t va, bool write, os_fault_done_fn done, void *ctx);

/* ---------- shootdown.c ---------- */

/* A new round for pasid, answering req (or NULL); done runs when the last
 * acknowledgement is in. NULL if out of host memory (the run stops). */
sd_op *os_new_op(scim_os *os, uint32_t pasid, scim_msg *req, os_round_done_fn done, void *ctx, size_t *index);
page_ref *os_op_add_page(scim_os *os, sd_op *op, uint64_t va, uint64_t len, uint64_t old_pfn);
/* Invalidate the op's pages everywhere they may be cached (after the
 * shadow copies learned of the change). */
void os_start_shootdown(scim_os *os, size_t idx);
void os_start_shootdown_now(scim_os *os, size_t idx);
void os_on_inv_done(scim_os *os, scim_msg *m);

/* ---------- unmap.c ---------- */

typedef struct leaf {
    uint64_t va, pa; /* pa: the page's first byte */
    unsigned attrs;  /* SCIM_PTA_* */
    unsigned shift;
} leaf;

typedef struct leaf_list {
    leaf *v;
    size_t n, cap;
    bool oom;
} leaf_list;

static inline uint64_t os_leaf_pfn(const leaf *lf) { return os_pfn(lf->pa); }

/* The mapped leaves of [start, end); false if out of host memory. */
bool os_leaves_in(const process *p, uint64_t start, uint64_t end, leaf_list *out);
/* A 4 KiB page that may change frames (migrate, reclaim): not huge, not
 * pinned, not in transition. */
bool os_leaf_movable(const scim_os *os, process *p, const leaf *lf);
/* Clear the PTE of va in p for round op: the checker learns the old
 * translation; page-table frames emptied now are deferred into the op. */
void os_unmap_pte(scim_os *os, process *p, sd_op *op, uint64_t va, uint64_t pa, unsigned shift);

/* One round that removes (or, for mprotect, downgrades) translations of a
 * process and shoots them down: munmap, mprotect, migrate and reclaim. */
typedef struct unmap_round {
    process *p;
    scim_msg *req;            /* answered when the round is over (NULL: kswapd) */
    os_round_done_fn done;    /* the round's continuation (os_new_op) */
    enum busy_state busy;     /* what the pages taken become (BUSY_NONE: nothing) */
    bool keep;                /* mprotect: the translations stay, only their rights shrink */
    sd_op *op;                /* created with the first page taken */
    size_t idx;
} unmap_round;

/* Take a leaf into the round: add it to the op (created at the first),
 * mark the page busy, unmap it (or, keep, tell the checker its rights
 * shrink). NULL if out of host memory. */
page_ref *os_round_take(scim_os *os, unmap_round *r, const leaf *lf);
/* For each leaf of an operation's range: take it (os_round_take) or not;
 * false stops the round here. */
typedef bool (*os_leaf_fn)(scim_os *os, unmap_round *r, const leaf *lf);
/* Before any leaf is taken: false when the operation is refused or
 * failed (check answered the request, or stopped the run). */
typedef bool (*os_range_check_fn)(scim_os *os, unmap_round *r, uint64_t start, uint64_t end, const leaf_list *l);
/* The skeleton of munmap, mprotect, migrate and reclaim: collect the
 * leaves of [start, end), check (if any), hand each to fn, start the
 * round's shootdown; with no page taken, answer the request at once.
 * True if a shootdown started. `what` names the operation in errors. */
bool os_unmap_range(scim_os *os, unmap_round *r, uint64_t start, uint64_t end, const char *what,
                    os_range_check_fn check, os_leaf_fn fn);

/* ---------- reclaim.c ---------- */

void os_maybe_reclaim(scim_os *os);
/* ops.c: a pin record's work (pin: fault in what is missing if memory
 * allows, then count a pin on every frame, all or nothing; unpin: by
 * address, whether the page is still mapped or not), at once: SCIM_RESP_OK,
 * SCIM_RESP_INVALID (nothing pinned), or SCIM_ENOMEM (out of host memory:
 * the run has stopped). A pinned frame is never reclaimed or migrated. */
int os_pin_range(scim_os *os, process *p, uint64_t start, uint64_t end, bool pin);
void os_swap_write_done(scim_os *os, size_t op_idx, size_t page);
void os_do_reclaim(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end);

/* ---------- swap.c ---------- */

int os_swap_init(scim_os *os, scim_err *err);
void os_swap_free(scim_os *os);
void os_swap_submit(scim_os *os, swap_io io);
bool os_slot_alloc(scim_os *os, uint64_t *slot);
void os_slot_free(scim_os *os, uint64_t slot);

/* ---------- hyp.c ---------- */

/* A data frame for a page of p (order: its buddy order): a host frame, or
 * for a guest the host frame behind a new guest frame. SCIM_ENOMEM when
 * none is free. */
int os_frame_alloc(scim_os *os, const process *p, unsigned order, uint64_t *pfn, scim_err *err);
/* A frame allocated with os_frame_alloc goes back: to the host pool, or,
 * if it backs guest memory, to its guest (the host frame stays behind the
 * guest frame, as a KVM guest's freed memory stays with the VM). */
void os_frame_give_back(scim_os *os, uint64_t pfn, unsigned order);
/* A guest's page-table allocator ops (the table frames are guest frames). */
extern const scim_pt_alloc_ops os_guest_pt_ops;
/* Is host frame pfn guest memory whose stage-2 entry is missing? Then the
 * guest's first touch (zeroing) takes a stage-2 fault: os_hyp_touch runs
 * resume(os, arg) once the hypervisor mapped it. */
bool os_hyp_untouched(const scim_os *os, uint64_t pfn);
void os_hyp_touch(scim_os *os, uint64_t pfn, void (*resume)(scim_os *os, uint64_t arg), uint64_t arg);
/* A page request for a guest PASID: true if the hypervisor took it (a
 * stage-2 fault, or a stage-1 one it forwards to the guest after its
 * injection cost). */
bool os_hyp_page_request(scim_os *os, scim_msg *m);
/* A guest core's fault that is the hypervisor's (a stage-2 fault): true if
 * it took it. */
bool os_hyp_cpu_fault(scim_os *os, scim_msg *m);
/* Warm-up (os/warm.c): a guest's first touch of host frame pfn maps it in
 * stage 2 at once (a zeroing's EPT violation); a fault of [va, +pages)
 * of p that stage 2 lacks (the guest maps its first page) is the
 * hypervisor's, its pages mapped at once (*handled), else the guest's. */
int os_hyp_warm_touch(scim_os *os, uint64_t pfn, scim_err *err);
int os_hyp_warm_fault(scim_os *os, const process *p, uint64_t va, uint32_t pages, bool *handled, scim_err *err);
void os_hyp_free(scim_os *os);
/* Scheme iommu-map: the vIOMMU's exit for a map or unmap call of pasid's
 * driver (0 on the host; counted). */
scim_time_t os_hyp_map_exit_cost(const scim_os *os, uint32_t pasid);
struct os_vm *os_find_vm(const scim_os *os, const char *name);
fault_domain *os_hyp_guest_domain(struct os_vm *vm);

/* ---------- guest.c: a VM's guest kernel's fault handling (vms.<n>.guest.*) */
int os_guest_domain_init(scim_os *os, const char *vm, const scim_vm_params *p, fault_domain *d,
                         fault_domain_counts *own, scim_stats *stats, scim_err *err);

/* ---------- iopf.c: the zeroing of a handler's page, again after a stage-2 fault */
void os_iopf_zero_resume(scim_os *os, uint64_t handler);

/* ---------- ops.c ---------- */

/* Answer an OS request (after the shadow copies caught up). */
void os_reply(scim_os *os, scim_msg *m, int32_t status);
void os_reply_now(scim_os *os, scim_msg *m, int32_t status);
void os_on_os_req(scim_os *os, scim_msg *m);

#endif
