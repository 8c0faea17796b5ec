/* The event kernel's side of the device fast path (core/fast.h): places
 * reserved in the order of events, events done at once when they are the
 * next, the watch on events scheduled ahead, and the conflict that makes a
 * run be redone without the fast path. */
#include "core/kernel_internal.h"

scim_kernel_slot scim_kernel_reserve(scim_kernel *k, scim_time_t when, int prio)
{
    hkey key = make_key(k, &when, prio);
    show_watch(k, when, prio); /* as when it is scheduled */
    return (scim_kernel_slot){when, (uint64_t)key};
}

static inline hkey slot_key(scim_kernel_slot s) { return ((hkey)s.when << 64) | s.order; }

bool scim_kernel_take_next(scim_kernel *k, scim_kernel_slot s)
{
    if (!k->dispatching || k->stop || s.when > k->bound)
        return false;
    heap_settle(k);
    held_flush(k);
    hkey first = k->key[ROOT]; /* HKEY_NONE when empty */
    if (k->dm_first < first)
        first = k->dm_first;
    if (key_lt(first, slot_key(s)))
        return false;
    k->clk.now = s.when;
    k->skipped++;
    return true;
}

bool scim_kernel_fifo_take_next(scim_kernel *k, int id, uint64_t *arg)
{
    uint32_t who = FIFO_BIT | (uint32_t)id;
    heap_settle(k);
    held_flush(k);
    if (!k->dispatching || k->stop || !k->n || k->who[ROOT] != who)
        return false;
    /* the dispatcher polls the host after the event running now or after
     * this one: leave both to it, so that it polls where it would */
    if (k->poll && ((k->executed & k->poll_mask) == 0 || ((k->executed + 1) & k->poll_mask) == 0))
        return false;
    hkey key = k->key[ROOT];
    if (key_time(key) > k->bound)
        return false;
    /* dormant events before it pass first, as the dispatcher passes them */
    while (k->dm_first < key) {
        k->clk.now = key_time(k->dm_first);
        scim_kernel_dormant_pass(k);
        if (k->stop || !k->n || k->who[ROOT] != who)
            return false;
        key = k->key[ROOT];
    }
    fifo *q = &k->fifos[id];
    k->clk.now = key_time(key);
    *arg = q->ring[q->head].arg;
    q->head = (q->head + 1) & q->mask;
    if (--q->len)
        heap_sift_root(k, q->ring[q->head].key, who);
    else
        heap_pop(k);
    k->clk.pending--;
    k->executed++;
    return true;
}

void scim_kernel_fifo_at_slot(scim_kernel *k, int id, scim_kernel_slot s, uint64_t arg)
{
    if (!scim_kernel_fifo_push(k, &k->fifos[id], slot_key(s), arg))
        return;
    k->clk.pending++;
    if (!k->clk.exact && s.when < k->wake_asked)
        scim_kernel_request_wake(k);
}

uint64_t scim_kernel_events_logical(const scim_kernel *k) { return k ? k->executed + k->skipped : 0; }
void scim_kernel_add_skipped(scim_kernel *k, uint64_t n) { k->skipped += n; }
void scim_kernel_set_fast(scim_kernel *k, bool on)
{
    if (k) {
        k->fast = on;
        k->clk.fast = on && !k->fast_conflict;
    }
}
bool scim_kernel_fast(const scim_kernel *k) { return k && k->clk.fast; }
void scim_kernel_set_watch(scim_kernel *k, scim_time_t lead, scim_watch_fn fn, void *ctx)
{
    k->watch_lead = lead;
    k->watch = fn;
    k->watch_ctx = ctx;
}
void scim_kernel_fast_conflict(scim_kernel *k, const char *what)
{
    if (k->fast_conflict)
        return;
    k->fast_conflict = true;
    k->clk.fast = false;
    scim_kernel_fail(k, SCIM_EINVARIANT, "fast path: %s (the run is redone with sim.fast_path off)", what);
}
bool scim_kernel_fast_conflicted(const scim_kernel *k) { return k && k->fast_conflict; }
