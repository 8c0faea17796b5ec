/* Fault policies: what a request to a page being faulted in does
 * meanwhile (devices.<name>.fault_policy). Each is an ops table:
 *   stall   waits for the page response (PCIe PRI behaviour);
 *   retry   is NACKed and retried after retry_backoff;
 *   drop    is lost, and its source resends after drop_timeout;
 *   backup  writes land in a pinned backup buffer (a CPU copies them once
 *           the page is mapped, os.backup_copy_cost); reads stall, and so
 *           do writes when every slot is taken. */
#include "device/device_internal.h"

static void come_back(void *ctx, uint64_t ci)
{
    scim_device *d = ctx;
    scim_dev_restart_chunk(d, (int32_t)ci);
}

/* retry/drop: the request goes away and comes back. */
static void bounce(scim_device *d, int32_t ci, scim_time_t after, uint64_t *counter)
{
    (*counter)++;
    d->chunks[ci].state = CH_RETRY;
    scim_kernel_schedule(d->k, after, SCIM_PRIO_DEFAULT, come_back, d, (uint64_t)ci);
}

static bool keep(scim_device *d, int32_t ci) { return true; }
static bool join(scim_device *d, int32_t ci) { return false; }

static bool retry(scim_device *d, int32_t ci)
{
    bounce(d, ci, d->p.retry_backoff, &d->st.retries);
    return false;
}
static bool retry_pending(scim_device *d, int32_t ci) { return !retry(d, ci); }

static bool drop(scim_device *d, int32_t ci)
{
    bounce(d, ci, d->p.drop_timeout, &d->st.drops);
    return false;
}
static bool drop_pending(scim_device *d, int32_t ci) { return !drop(d, ci); }

/* A write goes to a free slot of the backup buffer (a physical write:
 * nothing to translate or check). */
static bool backup(scim_device *d, int32_t ci)
{
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    if (!rc->write)
        return true;
    if (!d->n_free_backup) {
        d->st.backup_full++;
        return true;
    }
    chunk *c = &d->chunks[ci];
    c->slot = d->free_backup[--d->n_free_backup];
    c->state = CH_BACKUP;
    d->st.backup_writes++;
    scim_hist_record(d->st.translation_latency, scim_kernel_now(d->k) - c->t_start);
    scim_msg *m = scim_port_msg(d->port, SCIM_MSG_MEM_WRITE, d->mem);
    if (!m)
        return false;
    uint64_t pa = d->backup_base + (uint64_t)c->slot * SCIM_PAGE_SIZE + scim_page_offset(rc->va, SCIM_PAGE_SHIFT);
    m->u.mem = (scim_mem_req){.pa = pa, .len = rc->len};
    m->wire_bytes = scim_port_wire(d->port, rc->len);
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_CHUNK, ci), m);
    return false;
}

static const fault_policy policies[] = {
    [SCIM_FAULT_STALL] = {.name = "stall", .on_fault = keep, .on_pending = join},
    [SCIM_FAULT_RETRY] = {.name = "retry", .on_fault = retry, .on_pending = retry_pending},
    [SCIM_FAULT_DROP] = {.name = "drop", .on_fault = drop, .on_pending = drop_pending},
    [SCIM_FAULT_BACKUP] = {.name = "backup", .on_fault = backup, .on_pending = join},
};

const fault_policy *scim_dev_policy(int which)
{
    return which >= 0 && which < (int)SCIM_COUNT_OF(policies) ? &policies[which] : &policies[SCIM_FAULT_STALL];
}
