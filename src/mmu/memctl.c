/* Memory controller. Modelling notes in include/scimitar/memctl.h. */
#include "mmu/memctl.h"

#include <stdlib.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/rate.h"
#include "mmu/pte_ad.h"
#include "mmu/ptfmt.h"

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
    scim_port *port;
    scim_physmem *pm;
    scim_memctl_params p;
    scim_time_t busy_until;
    scim_rate rate;
    int fifo; /* responses, in the order requests took the bus */
    scim_time_t ahead; /* fast path: 1 + the latest time the bus was booked ahead of (core/fast.h) */
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
    {"queue", SCIM_P_U64, "96", "requests", true, 0, 1e9, NULL, offsetof(scim_memctl_params, queue),
     "Requests the controller holds at once (queued for the bus or in DRAM access); further ones wait at "
     "their senders for a place (<sender>.port.credit_wait). 0: unbounded.",
     "gem5's DRAM controller queues 32 reads + 64 writes (src/mem/MemCtrl.py); here one entry per request "
     "(up to a 4 KiB chunk). The bundled configurations peak at 34 (mem.queue.requests.peak)"},
};
const size_t scim_memctl_param_decl_count = SCIM_COUNT_OF(scim_memctl_param_decls);

static void respond(void *ctx, uint64_t arg)
{
    scim_memctl *mc = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    if (m->ghost) {
        scim_fabric_ghost_done(scim_port_fabric(mc->port), m);
        return;
    }
    m->in_svc = false;
    /* The answer overwrites the request (one union): the fields needed
     * are read first, one by one (copying the whole request cost more). */
    const scim_mem_req *q = &m->u.mem;
    bool read = m->type == SCIM_MSG_MEM_READ;
    uint32_t wire = scim_port_wire(mc->port, read ? q->len : 0);
    uint64_t pa = q->pa;
    uint64_t value = 0;
    if (read && q->pte) {
        /* The entry is read when the access completes at the DRAM, so a
         * walker sees every update the OS made before that moment. */
        if (q->set_ad) {
            bool updated;
            value = scim_pte_walk_read(mc->pm, pa, scim_pt_format_by_id(q->fmt), q->level, q->walk_write, &updated);
            mc->st.ad_updates += updated;
        } else {
            value = scim_physmem_read64(mc->pm, pa);
        }
    } else if (read && q->value) {
        value = scim_physmem_read64(mc->pm, pa);
    }
    unsigned words = read ? q->words : 0;
    if (words == 0) {
        /* the readers of a single-word answer look at `value` alone: the
         * rest of the answer is left as it is */
        m->u.mem_resp.value = value;
    } else {
        m->u.mem_resp = (scim_mem_resp){.value = value};
        for (unsigned i = 0; i < words && i < SCIM_MEM_RESP_WORDS; i++)
            m->u.mem_resp.words[i] = scim_physmem_read64(mc->pm, pa + i * sizeof(uint64_t));
    }
    scim_port_reply(mc->port, m, SCIM_MSG_MEM_RESP, wire, SCIM_RESP_OK);
}

/* A request takes the data bus at `now` (FIFO): its answer's time. */
static scim_time_t book(scim_memctl *mc, bool read, bool pte, uint64_t len, scim_time_t now)
{
    scim_time_t start = mc->busy_until > now ? mc->busy_until : now;
    scim_time_t xfer = scim_rate_time(&mc->rate, len);
    mc->busy_until = start + xfer;
    mc->st.busy_ps += xfer;
    scim_hist_record(mc->st.queue_delay, start - now);
    if (read) {
        mc->st.reads++;
        mc->st.bytes_read += len;
        if (pte)
            mc->st.pte_reads++;
    } else {
        mc->st.writes++;
        mc->st.bytes_written += len;
    }
    return start + xfer + mc->p.latency;
}

static void on_request(void *ctx, scim_msg *m)
{
    scim_memctl *mc = ctx;
    if (m->type != SCIM_MSG_MEM_READ && m->type != SCIM_MSG_MEM_WRITE) {
        scim_kernel_fail(mc->k, SCIM_EINVARIANT, "memory controller got a %s message",
                         scim_msg_type_name(m->type));
        scim_port_free(mc->port, m);
        return;
    }
    scim_time_t now = scim_kernel_time(mc->k);
    if (now < mc->ahead)
        scim_kernel_fast_conflict(mc->k, "the memory was booked ahead of a request that reached it earlier");
    m->due = book(mc, m->type == SCIM_MSG_MEM_READ, m->u.mem.pte, m->u.mem.len, now);
    m->svc_at = now;
    m->in_svc = true;
    /* start + xfer never decreases, so responses are due in this order */
    scim_kernel_fifo_at(mc->k, mc->fifo, m->due, SCIM_PRIO_DEFAULT, (uint64_t)(uintptr_t)m);
}

/* The fast path books a DMA's access ahead of time (core/fast.h). */
static scim_time_t fast_book(void *ctx, scim_msg_type type, uint64_t len, scim_time_t at, uint32_t *resp_wire)
{
    scim_memctl *mc = ctx;
    bool read = type == SCIM_MSG_MEM_READ;
    if (at + 1 > mc->ahead)
        mc->ahead = at + 1;
    *resp_wire = scim_port_wire(mc->port, read ? len : 0);
    return book(mc, read, false, len, at);
}

static void on_response(void *ctx, scim_msg *m)
{
    scim_memctl *mc = ctx;
    scim_kernel_fail(mc->k, SCIM_EINVARIANT, "memory controller got an unexpected %s", scim_msg_type_name(m->type));
    scim_port_free(mc->port, m);
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
    mc->pm = pm;
    mc->p = *p;
    scim_rate_init(&mc->rate, p->bytes_per_s);
    if ((mc->fifo = scim_kernel_fifo_create(k, respond, mc)) < 0) {
        free(mc);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the memory controller");
        return NULL;
    }
    if (!(mc->port = scim_port_create(f, name, on_request, on_response, mc, stats, err)) ||
        scim_port_queue(mc->port, "requests", 1u << SCIM_MSG_MEM_READ | 1u << SCIM_MSG_MEM_WRITE, p->queue, stats,
                        err) != 0 ||
        scim_stats_register(stats, name, scim_memctl_stat_decls, scim_memctl_stat_decl_count, &mc->st, err) != 0) {
        scim_memctl_destroy(mc);
        return NULL;
    }
    scim_fabric_set_fast_svc(f, scim_port_node(mc->port), fast_book, mc);
    return mc;
}

void scim_memctl_destroy(scim_memctl *mc)
{
    if (!mc)
        return;
    scim_port_destroy(mc->port);
    free(mc);
}

scim_node_id scim_memctl_node(const scim_memctl *mc) { return scim_port_node(mc->port); }

const scim_port *scim_memctl_port(const scim_memctl *mc) { return mc->port; }
