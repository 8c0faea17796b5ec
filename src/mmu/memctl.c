/* Memory controller. Modelling notes in include/scimitar/memctl.h. */
#include "mmu/memctl.h"

#include <stdlib.h>

#include "mmu/pagetable.h"

typedef struct memctl_stats {
    uint64_t reads;
    uint64_t writes;
    uint64_t pte_reads;
    uint64_t ad_updates;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t busy_ps;
    scim_hist *queue_delay;
} memctl_stats;

struct scim_memctl {
    scim_kernel *k;
    scim_fabric *f;
    scim_physmem *pm;
    scim_memctl_params p;
    scim_node_id node;
    scim_time_t busy_until;
    memctl_stats st;
};

const scim_stat_decl scim_memctl_stat_decls[] = {
    {"reads", SCIM_STAT_COUNTER, "count", "Read requests served (PTE reads included).",
     offsetof(memctl_stats, reads)},
    {"writes", SCIM_STAT_COUNTER, "count", "Write requests served.", offsetof(memctl_stats, writes)},
    {"pte_reads", SCIM_STAT_COUNTER, "count", "Page-table entry reads by hardware walkers.",
     offsetof(memctl_stats, pte_reads)},
    {"ad_updates", SCIM_STAT_COUNTER, "count",
     "PTE reads that set an accessed or dirty bit (atomic update at the memory).",
     offsetof(memctl_stats, ad_updates)},
    {"bytes_read", SCIM_STAT_COUNTER, "bytes", "Payload bytes read.", offsetof(memctl_stats, bytes_read)},
    {"bytes_written", SCIM_STAT_COUNTER, "bytes", "Payload bytes written.",
     offsetof(memctl_stats, bytes_written)},
    {"busy_ps", SCIM_STAT_COUNTER, "ps", "Time the data bus was transferring; divide by sim.time_ps for utilisation.",
     offsetof(memctl_stats, busy_ps)},
    {"queue_delay", SCIM_STAT_HIST, "ps", "Time a request waited for the data bus.",
     offsetof(memctl_stats, queue_delay)},
};
const size_t scim_memctl_stat_decl_count = SCIM_COUNT_OF(scim_memctl_stat_decls);

const scim_param_decl scim_memctl_param_decls[] = {
    {"size", SCIM_P_SIZE, "4GiB", "bytes", true, 65536, 1ull << 46, NULL, offsetof(scim_memctl_params, size),
     "Simulated physical memory: the frame pool for data and page tables.", "assumption"},
    {"latency", SCIM_P_TIME, "90ns", "ns", false, 0, 0, NULL, offsetof(scim_memctl_params, latency),
     "DRAM access latency, from the controller receiving a request to the data being ready.",
     "local DRAM latency ~80-100 ns (FIGURES.md, Fabric)"},
    {"bandwidth", SCIM_P_BANDWIDTH, "25.6GB/s", "B/s", false, 0, 0, NULL,
     offsetof(scim_memctl_params, bytes_per_s), "Data bandwidth of the memory (0 = unlimited).",
     "derived: one DDR4-3200 channel, 3200 MT/s x 8 B"},
};
const size_t scim_memctl_param_decl_count = SCIM_COUNT_OF(scim_memctl_param_decls);

typedef struct pending {
    scim_memctl *mc;
    scim_msg *m;
} pending;

static void respond(void *ctx, uint64_t arg)
{
    scim_memctl *mc = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    uint32_t wire = m->type == SCIM_MSG_MEM_READ ? scim_fabric_wire_bytes(mc->f, m->len)
                                                 : scim_fabric_wire_bytes(mc->f, 0);
    if (m->type == SCIM_MSG_MEM_READ && (m->flags & SCIM_MEMF_PTE)) {
        /* The entry is read when the access completes at the DRAM, so a
         * walker sees every update the OS made before that moment. */
        uint64_t pte = scim_physmem_read64(mc->pm, m->addr);
        if (m->flags & SCIM_MEMF_SET_AD) {
            uint64_t marked = scim_pte_mark_accessed(pte, (int)SCIM_MEMF_GET_LEVEL(m->flags),
                                                     (m->flags & SCIM_MEMF_WRITE) != 0);
            if (marked != pte) {
                scim_physmem_write64(mc->pm, m->addr, marked);
                mc->st.ad_updates++;
                pte = marked;
            }
        }
        m->data = pte;
    } else if (m->type == SCIM_MSG_MEM_READ && (m->flags & SCIM_MEMF_VALUE)) {
        m->data = scim_physmem_read64(mc->pm, m->addr);
    }
    scim_fabric_reply(mc->f, m, SCIM_MSG_MEM_RESP, wire, 0);
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_memctl *mc = ctx;
    if (m->type != SCIM_MSG_MEM_READ && m->type != SCIM_MSG_MEM_WRITE) {
        scim_kernel_fail(mc->k, SCIM_EINVARIANT, "memory controller got a %s message from '%s'",
                         scim_msg_type_name(m->type), scim_fabric_node_name(mc->f, m->src));
        scim_msg_free(mc->f, m);
        return;
    }
    scim_time_t now = scim_kernel_now(mc->k);
    scim_time_t start = mc->busy_until > now ? mc->busy_until : now;
    scim_time_t xfer = 0;
    if (mc->p.bytes_per_s)
        xfer = (scim_time_t)(((unsigned __int128)m->len * 1000000000000ull + mc->p.bytes_per_s - 1) /
                             mc->p.bytes_per_s);
    mc->busy_until = start + xfer;
    mc->st.busy_ps += xfer;
    scim_hist_record(mc->st.queue_delay, start - now);
    if (m->type == SCIM_MSG_MEM_READ) {
        mc->st.reads++;
        mc->st.bytes_read += m->len;
        if (m->flags & SCIM_MEMF_PTE)
            mc->st.pte_reads++;
    } else {
        mc->st.writes++;
        mc->st.bytes_written += m->len;
    }
    scim_kernel_schedule_at(mc->k, start + xfer + mc->p.latency, SCIM_PRIO_DEFAULT, respond, mc,
                            (uint64_t)(uintptr_t)m);
}

scim_memctl *scim_memctl_create(scim_kernel *k, scim_fabric *f, scim_physmem *pm,
                                const char *name, const scim_memctl_params *p,
                                scim_stats *stats, scim_err *err)
{
    scim_memctl *mc = calloc(1, sizeof *mc);
    if (!mc) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the memory controller");
        return NULL;
    }
    mc->k = k;
    mc->f = f;
    mc->pm = pm;
    mc->p = *p;
    if (scim_fabric_add_node(f, name, on_recv, mc, &mc->node, err) != 0 ||
        scim_stats_register(stats, name, scim_memctl_stat_decls, scim_memctl_stat_decl_count, &mc->st,
                            err) != 0) {
        free(mc);
        return NULL;
    }
    return mc;
}

void scim_memctl_destroy(scim_memctl *mc) { free(mc); }

scim_node_id scim_memctl_node(const scim_memctl *mc) { return mc->node; }
