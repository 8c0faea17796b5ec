/* Walk placement shadow: the device keeps a synchronized copy of the
 * process's page tables in its own memory. The copy answers the walker's
 * reads behind its own port ("<device>_shadow"), shadow.latency per entry;
 * the OS sends every entry update (SYNC), applied in order, shadow.latency
 * per entry, and then acknowledged. */
#include <stdio.h>

#include "core/kclock.h"
#include "device/device_internal.h"

static void shadow_reply(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    const uint64_t *v = scim_u64map_get(&d->shadow, m->u.mem.pa);
    m->u.mem_resp = (scim_mem_resp){.value = v ? *v : 0};
    scim_port_reply(d->shadow_port, m, SCIM_MSG_MEM_RESP, scim_port_wire(d->shadow_port, sizeof(uint64_t)),
                    SCIM_RESP_OK);
}

static void on_shadow_request(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    if (m->type != SCIM_MSG_MEM_READ) {
        scim_kernel_fail(d->k, SCIM_EINVARIANT, "%s's shadow memory got a %s message", d->name,
                         scim_msg_type_name(m->type));
        scim_port_free(d->shadow_port, m);
        return;
    }
    scim_kernel_schedule(d->k, d->p.shadow_latency, SCIM_PRIO_DEFAULT, shadow_reply, d, (uint64_t)(uintptr_t)m);
}

static void on_shadow_response(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    scim_kernel_fail(d->k, SCIM_EINVARIANT, "%s's shadow memory got a %s", d->name, scim_msg_type_name(m->type));
    scim_port_free(d->shadow_port, m);
}

int scim_dev_shadow_create(scim_device *d, scim_fabric *f, scim_stats *stats, scim_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s_shadow", d->name);
    if (!(d->shadow_port = scim_port_create(f, name, on_shadow_request, on_shadow_response, d, NULL, err)))
        return err ? err->code : SCIM_ENOMEM;
    scim_walker_set_memory(d->walker, scim_port_node(d->shadow_port));
    return 0;
}

int scim_device_shadow_load(scim_device *d, uint64_t entry_pa, uint64_t value)
{
    if (value == 0) {
        scim_u64map_remove(&d->shadow, entry_pa);
        return 0;
    }
    uint64_t *v = scim_u64map_upsert(&d->shadow, entry_pa, value);
    if (!v)
        return SCIM_ENOMEM;
    *v = value;
    return 0;
}

/* An update of the copy: (pa, value) pairs, applied after shadow.latency
 * per entry, then acknowledged. */
static void sync_apply(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    const scim_sync *s = &m->u.sync;
    for (uint32_t i = 0; i < s->entries; i++)
        if (scim_device_shadow_load(d, s->pairs[2 * i], s->pairs[2 * i + 1]) != 0)
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
    d->st.shadow_syncs += s->entries;
    scim_port_reply(d->port, m, SCIM_MSG_SYNC_ACK, scim_port_wire(d->port, 0), SCIM_RESP_OK);
}

/* Updates are applied one message after another, in the order they came:
 * a short update must not overtake a long one sent before it (it would be
 * overwritten by an older value: the copy would keep an unmapped entry
 * for a page the OS has mapped again since, and the device would fault on
 * it for ever). */
void scim_dev_shadow_sync(scim_device *d, scim_msg *m)
{
    uint32_t n = m->u.sync.entries ? m->u.sync.entries : 1;
    scim_time_t now = scim_kernel_time(d->k);
    scim_time_t start = d->shadow_sync_until > now ? d->shadow_sync_until : now;
    d->shadow_sync_until = start + d->p.shadow_latency * n;
    scim_kernel_schedule(d->k, d->shadow_sync_until - now, SCIM_PRIO_DEFAULT, sync_apply, d,
                         (uint64_t)(uintptr_t)m);
}
