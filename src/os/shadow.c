/* Walk placement shadow: a device keeps a synchronized copy of a PASID's
 * tables. Every entry the page table writes is remembered; before an
 * answer or a shootdown that depends on them, the updates go to every copy
 * (SCIM_MSG_SYNC) and the OS continues only once each acknowledged. */
#include "os/os_internal.h"

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

bool os_sync_flush(scim_os *os, uint32_t pasid, enum sync_kind kind, void *ptr, uint64_t arg, int32_t status)
{
    process *p = os_find_process(os, pasid);
    if (!p || !p->n_sync || !has_shadow(os, pasid))
        return false;
    size_t i;
    for (i = 0; i < os->n_syncs && os->syncs[i].used; i++)
        ;
    if (i == os->n_syncs) {
        sync_wait *n = os_grow_or_fail(os, os->syncs, &os->n_syncs, i + 1, sizeof *n, 8);
        if (!n)
            return true;
        os->syncs = n;
    }
    sync_wait *w = &os->syncs[i];
    *w = (sync_wait){true, kind, 0, status, ptr, arg, scim_kernel_now(os->k), malloc(p->n_sync * sizeof(uint64_t))};
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
    switch (done.kind) {
    case SK_ANSWER: os_answer_fault_now(os, done.ptr, done.status); break;
    case SK_SHOOTDOWN: os_start_shootdown_now(os, done.arg); break;
    case SK_REPLY: os_reply_now(os, done.ptr, done.status); break;
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
