/* Walk placement shadow: a device keeps a synchronized copy of a PASID's
 * tables. Every entry the page table writes is remembered; before an
 * answer or a shootdown that depends on them, the updates go to every copy
 * (SCIM_MSG_SYNC) and the OS continues only once each acknowledged. */
#include "os/os_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool has_shadow(const scim_os *os, uint32_t pasid)
{
    for (size_t i = 0; i < os->n_shadows; i++)
        if (os->shadows[i].pasid == pasid)
            return true;
    return false;
}

/* Every entry the page table writes: remembered for the shadow copies. */
void os_shadow_entry_written(void *cookie, uint64_t pa, uint64_t value)
{
    pt_cookie *c = cookie;
    if (!has_shadow(c->os, c->pasid)) /* first: no shadow is the common case, and cheap to tell */
        return;
    process *p = os_find_process(c->os, c->pasid);
    if (!p)
        return;
    uint64_t *n = os_grow_or_fail(c->os, p->sync, &p->cap_sync, p->n_sync + 2, sizeof *n, 64);
    if (!n)
        return;
    p->sync = n;
    p->sync[p->n_sync++] = pa;
    p->sync[p->n_sync++] = value;
}

/* A free wait, the table grown if need be (NULL: out of host memory, the
 * run stops). Pointers into the table do not survive it. */
static sync_wait *new_wait(scim_os *os)
{
    size_t i;
    for (i = 0; i < os->n_syncs && os->syncs[i].used; i++)
        ;
    if (i == os->n_syncs) {
        sync_wait *n = os_grow_or_fail(os, os->syncs, &os->n_syncs, i + 1, sizeof *n, 8);
        if (!n)
            return NULL;
        os->syncs = n;
    }
    return &os->syncs[i];
}

/* The newest update of pasid's copies some copy has not acknowledged yet
 * (0: none). */
static uint64_t newest_in_flight(const scim_os *os, uint32_t pasid)
{
    uint64_t seq = 0;
    for (size_t i = 0; i < os->n_syncs; i++) {
        const sync_wait *w = &os->syncs[i];
        if (w->used && w->pending && w->pasid == pasid && w->seq > seq)
            seq = w->seq;
    }
    return seq;
}

bool os_sync_flush(scim_os *os, uint32_t pasid, enum sync_kind kind, void *ptr, uint64_t arg, int32_t status)
{
    process *p = os_find_process(os, pasid);
    if (!p || !has_shadow(os, pasid))
        return false;
    if (!p->n_sync) {
        /* Nothing of its own to send, but an update another operation sent
         * may carry the entries this one depends on (the page a fault
         * found mapped, the entries a shootdown cleared): it goes on once
         * that update is applied in every copy (copies apply updates in
         * order, so the newest one in flight is the last to wait for). */
        uint64_t after = newest_in_flight(os, pasid);
        if (!after)
            return false;
        sync_wait *w = new_wait(os);
        if (!w)
            return true;
        *w = (sync_wait){.used = true, .kind = kind, .status = status, .ptr = ptr, .arg = arg,
                         .sent = scim_kernel_now(os->k), .pasid = pasid, .seq = ++os->sync_seq, .after = after};
        os->st.shadow_sync_waits++;
        return true;
    }
    sync_wait *w = new_wait(os);
    if (!w)
        return true;
    size_t i = (size_t)(w - os->syncs);
    *w = (sync_wait){.used = true, .kind = kind, .status = status, .ptr = ptr, .arg = arg,
                     .sent = scim_kernel_now(os->k), .pairs = malloc(p->n_sync * sizeof(uint64_t)), .pasid = pasid,
                     .seq = ++os->sync_seq};
    if (!w->pairs) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return true;
    }
    memcpy(w->pairs, p->sync, p->n_sync * sizeof(uint64_t));
    for (size_t d = 0; d < os->n_shadows; d++) {
        if (os->shadows[d].pasid != pasid)
            continue;
        scim_msg *m = os_msg(os, SCIM_MSG_SYNC, os->shadows[d].node);
        if (!m)
            return true;
        m->u.sync = (scim_sync){pasid, (uint32_t)(p->n_sync / 2), w->pairs};
        m->wire_bytes = scim_port_wire(os->port, p->n_sync * OS_PTE_BYTES);
        w->pending++;
        os->st.shadow_syncs++;
        scim_port_request(os->port, SCIM_PORT_OWNER, OSR_ID(OSR_SYNC, i), m);
    }
    p->n_sync = 0;
    return true;
}

static void go_on(scim_os *os, const sync_wait *done)
{
    switch (done->kind) {
    case SK_ANSWER: os_answer_fault_now(os, done->ptr, done->status); break;
    case SK_SHOOTDOWN: os_start_shootdown_now(os, done->arg); break;
    case SK_REPLY: os_reply_now(os, done->ptr, done->status); break;
    }
}

/* The oldest wait for update `seq` alone, or SIZE_MAX. */
static size_t waiting_for(const scim_os *os, uint64_t seq)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < os->n_syncs; i++) {
        const sync_wait *w = &os->syncs[i];
        if (w->used && !w->pending && w->after == seq && (best == SIZE_MAX || w->seq < os->syncs[best].seq))
            best = i;
    }
    return best;
}

void os_on_sync_ack(scim_os *os, scim_msg *m)
{
    size_t i = OSR_INDEX(m->tag);
    scim_port_free(os->port, m);
    if (i >= os->n_syncs || !os->syncs[i].used || os->syncs[i].pending == 0) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected shadow acknowledgement");
        return;
    }
    sync_wait *w = &os->syncs[i];
    if (--w->pending)
        return;
    sync_wait done = *w;
    w->used = false;
    free(w->pairs);
    w->pairs = NULL;
    scim_hist_record(os->st.shadow_sync_latency, scim_kernel_now(os->k) - done.sent);
    go_on(os, &done);
    /* then what had nothing to send and waited for this update, oldest
     * first (each may send updates of its own: the table may move) */
    for (size_t j; (j = waiting_for(os, done.seq)) != SIZE_MAX;) {
        sync_wait after = os->syncs[j];
        os->syncs[j].used = false;
        go_on(os, &after);
    }
}

int scim_os_shadow_snapshot(const scim_os *os, uint32_t pasid,
                            void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value), void *ctx)
{
    const process *p = os_find_process(os, pasid);
    if (!p)
        return SCIM_ENOENT;
    scim_pgtable_foreach_entry(p->pt, fn, ctx);
    return 0;
}
