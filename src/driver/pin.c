/* Scheme pin: the pages of an I/O are pinned for it and registered (the
 * registration cache, os.pin.cache_pages, keeps its own pin on the most
 * recently used pages; 0: none kept), and the request's descriptor list
 * gets one physical address per page, which the device reads instead of
 * translating. The static regions (rings) are pinned once at bind and the
 * device holds their pages' addresses. */
#include "driver/driver_internal.h"

#include <stdlib.h>

/* The registration cache's entries grow by this many at a time. */
#define REG_GROW 64u
/* A page's key: its vpn, with the PASID folded in above any vpn of 4-level paging. */
#define REG_PASID_SHIFT 44

static uint64_t reg_key(uint32_t pasid, uint64_t vpn) { return vpn ^ ((uint64_t)pasid << REG_PASID_SHIFT); }

void drv_reg_init(reg_cache *c)
{
    c->head = c->tail = c->free_list = -1;
    scim_u64map_init(&c->index);
}

void drv_reg_free(reg_cache *c)
{
    free(c->e);
    scim_u64map_free(&c->index);
}

static void reg_unlink(reg_cache *c, int64_t i)
{
    reg_entry *e = &c->e[i];
    if (e->prev >= 0)
        c->e[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next >= 0)
        c->e[e->next].prev = e->prev;
    else
        c->tail = e->prev;
}

static void reg_push_front(reg_cache *c, int64_t i)
{
    c->e[i].prev = -1;
    c->e[i].next = c->head;
    if (c->head >= 0)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail < 0)
        c->tail = i;
}

/* Look a page up in the cache (refreshing it); true on a hit. */
static bool reg_touch(reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn)
{
    uint64_t *idx = scim_u64map_get(&c->index, reg_key(pasid, vpn));
    if (!idx || c->e[*idx].pfn != pfn)
        return false;
    reg_unlink(c, (int64_t)*idx);
    reg_push_front(c, (int64_t)*idx);
    return true;
}

/* A free entry (the cache grows by REG_GROW); -1 if out of host memory. */
static int64_t reg_alloc(reg_cache *c)
{
    if (c->free_list < 0) {
        reg_entry *n = realloc(c->e, (c->cap + REG_GROW) * sizeof *n);
        if (!n)
            return -1;
        c->e = n;
        for (size_t k = c->cap; k < c->cap + REG_GROW; k++) {
            c->e[k].next = c->free_list;
            c->free_list = (int64_t)k;
        }
        c->cap += REG_GROW;
    }
    int64_t i = c->free_list;
    c->free_list = c->e[i].next;
    return i;
}

/* Insert a registered page; returns the number of pages evicted (unpinned). */
static uint64_t reg_insert(scim_os *os, reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn)
{
    uint64_t evicted = 0;
    while (c->n >= os->p.pin_cache_pages && c->tail >= 0) {
        int64_t t = c->tail;
        reg_unlink(c, t);
        scim_u64map_remove(&c->index, reg_key(c->e[t].pasid, c->e[t].vpn));
        os_unpin_frame(os, c->e[t].pfn);
        c->e[t].next = c->free_list;
        c->free_list = t;
        c->n--;
        evicted++;
    }
    int64_t i = reg_alloc(c);
    if (i < 0) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return evicted;
    }
    c->e[i] = (reg_entry){pasid, vpn, pfn, -1, -1};
    reg_push_front(c, i);
    if (!scim_u64map_upsert(&c->index, reg_key(pasid, vpn), (uint64_t)i))
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
    c->n++;
    return evicted;
}

/* Every page of the buffer registered, with its current frame: the I/O
 * needs no system call. */
bool drv_pin_all_registered(const scim_driver *d, const scim_msg *m, const process *p)
{
    uint64_t start = os_page_down(drv_req(m)->addr), n = drv_io_pages(m);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pa;
        const uint64_t *idx = scim_u64map_get(&d->reg.index, reg_key(p->pasid, os_vpn(start) + i));
        if (!idx || scim_pgtable_lookup(p->pt, start + i * OS_PAGE_SIZE, &pa, NULL, NULL) != 1 ||
            d->reg.e[*idx].pfn != os_pfn(pa))
            return false;
    }
    return true;
}

bool drv_reg_page(scim_os *os, reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn, bool *hit,
                  uint64_t *evicted)
{
    *hit = reg_touch(c, pasid, vpn, pfn);
    if (*hit)
        return true;
    if (!os_pin_frame(os, pfn))
        return false;
    *evicted += reg_insert(os, c, pasid, vpn, pfn);
    return true;
}

/* Register the pages and write the request's descriptor list. */
void drv_pin_pages(scim_driver *d, scim_msg *m, process *p, io_dev *io)
{
    scim_os *os = d->os;
    const host_io *x = drv_hio(io, m);
    uint64_t start = os_page_down(drv_req(m)->addr), n = drv_io_pages(m), pinned = 0, evicted = 0;
    uint64_t list = io->desc_base + x->req * OS_PAGE_SIZE;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pfn = x->frames[i];
        scim_physmem_write64(os->pm, list + i * OS_PTE_BYTES, os_frame_pa(pfn));
        if (!os->p.pin_cache_pages) {
            pinned++;
            continue;
        }
        bool hit;
        if (!drv_reg_page(os, &d->reg, p->pasid, os_vpn(start) + i, pfn, &hit, &evicted))
            return;
        if (hit) {
            os->st.io_pin_cache_hits++;
            continue;
        }
        pinned++;
    }
    os->st.io_pins += pinned;
    os->st.io_unpins += evicted;
    drv_io_reply_after(d, m, pinned * os->p.pin_page_cost + evicted * os->p.unpin_page_cost);
}

/* IO_UNPIN: drop the request's pins (the cache keeps its own). The
 * per-page cost was paid on arrival. */
void drv_unpin(scim_driver *d, scim_msg *m, process *p)
{
    const host_io *x = drv_hio(drv_io_of(d, m->src), m);
    uint64_t n = drv_io_pages(m);
    for (uint64_t i = 0; i < n && i < IO_MAX_PAGES; i++)
        os_unpin_frame(d->os, x->frames[i]);
    if (!d->os->p.pin_cache_pages)
        d->os->st.io_unpins += n;
    drv_io_finish(d, m, SCIM_RESP_OK);
}

/* The device reads the physical address of its page from the request's
 * descriptor list: one 8-byte address per page, one 4 KiB list per slot. */
static uint64_t descriptor(void *ctx, uint32_t req, uint32_t page)
{
    const io_dev *io = ctx;
    return io->desc_base + (uint64_t)req * OS_PAGE_SIZE + (uint64_t)page * OS_PTE_BYTES;
}

/* A static region (a ring): the driver gave the device its pages'
 * addresses when it bound it (as a NIC's queue context holds its ring's
 * page list), so no descriptor is read. */
static bool static_pa(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    const io_dev *io = ctx;
    const uint64_t *pfn = pasid == io->pasid ? scim_u64map_get(&io->static_pfn, os_vpn(va)) : NULL;
    if (!pfn)
        return false;
    *pa = os_frame_pa(*pfn) + (va & OS_PAGE_MASK);
    return true;
}

static const scim_dev_driver_ops pin_device_ops = {.request_begin = drv_dev_begin, .request_end = drv_dev_end,
                                                   .descriptor = descriptor, .static_pa = static_pa,
                                                   .doorbell = drv_dev_doorbell, .os_done = drv_dev_os_done,
                                                   .busy = drv_dev_busy};

/* A static region's page (already pinned): its address for the device. */
static int pin_static(io_dev *io, uint64_t va, uint64_t pfn, scim_err *err)
{
    if (!scim_u64map_upsert(&io->static_pfn, os_vpn(va), pfn))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    return 0;
}

int scim_driver_bind_pin_device(scim_driver *d, scim_device *dev, uint64_t slots, scim_err *err)
{
    uint64_t desc_pa;
    int rc = scim_os_alloc_backup(d->os, slots * OS_PAGE_SIZE, &desc_pa, err);
    if (rc)
        return rc;
    io_dev *io = drv_io_add(d, dev, slots, &pin_device_ops, err);
    if (!io)
        return SCIM_ENOMEM;
    io->pin = true;
    io->desc_base = desc_pa;
    return drv_setup_statics(d, io, pin_static, err);
}
