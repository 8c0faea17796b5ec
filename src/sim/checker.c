/* Safety checker. Rules and role in include/scimitar/checker.h. */
#include "sim/checker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "core/u64map.h"

typedef struct stale {
    uint64_t shootdown;
    uint32_t pasid;
    unsigned shift;
    uint64_t va;   /* page base */
    uint64_t pa;   /* page base */
} stale;

typedef struct tlb_ref {
    char name[64];
    const scim_tlb *t;
} tlb_ref;

struct scim_checker {
    scim_kernel *k;
    scim_resolve_fn resolve;
    void *resolve_ctx;
    bool (*frame_in_use)(void *ctx, uint64_t pfn);
    void *frame_ctx;
    tlb_ref *tlbs;
    size_t n_tlbs;
    scim_u64map inflight; /* pfn -> accesses in flight */
    stale *stale;
    size_t n_stale, cap_stale;
    uint64_t next_shootdown;
    uint64_t open_shootdowns;
    uint64_t accesses, stale_accesses, frames_checked;
    scim_observer observer;
};

scim_checker *scim_checker_create(scim_kernel *k, scim_err *err)
{
    scim_checker *c = calloc(1, sizeof *c);
    if (!c) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the checker");
        return NULL;
    }
    c->k = k;
    scim_u64map_init(&c->inflight);
    return c;
}

void scim_checker_destroy(scim_checker *c)
{
    if (!c)
        return;
    scim_u64map_free(&c->inflight);
    free(c->tlbs);
    free(c->stale);
    free(c);
}

void scim_checker_set_resolver(scim_checker *c, scim_resolve_fn fn, void *ctx)
{
    c->resolve = fn;
    c->resolve_ctx = ctx;
}

int scim_checker_add_tlb(scim_checker *c, const char *name, const scim_tlb *t, scim_err *err)
{
    tlb_ref *n = realloc(c->tlbs, (c->n_tlbs + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory registering a TLB with the checker");
    c->tlbs = n;
    tlb_ref *r = &c->tlbs[c->n_tlbs++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->t = t;
    return 0;
}

static const stale *find_stale(const scim_checker *c, uint32_t pasid, uint64_t va)
{
    for (size_t i = 0; i < c->n_stale; i++) {
        const stale *s = &c->stale[i];
        if (s->pasid == pasid && va >= s->va && va - s->va < (1ull << s->shift))
            return s;
    }
    return NULL;
}

bool scim_checker_access_begin(scim_checker *c, const char *agent, uint32_t pasid, uint64_t va,
                               uint64_t pa, uint64_t len)
{
    c->accesses++;
    uint64_t mapped = 0;
    int present = c->resolve ? c->resolve(c->resolve_ctx, pasid, va, &mapped) : 0;
    if (!(present == 1 && mapped == pa)) {
        const stale *s = find_stale(c, pasid, va);
        if (s && s->pa + (va - s->va) == pa) {
            c->stale_accesses++;
        } else {
            char now_maps[64];
            if (present == 1)
                snprintf(now_maps, sizeof now_maps, "maps it to pa 0x%llx", (unsigned long long)mapped);
            else
                snprintf(now_maps, sizeof now_maps, "has no mapping for it");
            scim_kernel_fail(c->k, SCIM_EINVARIANT,
                             "invariant violated at t=%llu ps: %s accessed pasid %u va 0x%llx through pa "
                             "0x%llx (%llu bytes), but the page table %s and no shootdown of that page is "
                             "in flight: a stale or wrong translation was used",
                             (unsigned long long)scim_kernel_now(c->k), agent, pasid,
                             (unsigned long long)va, (unsigned long long)pa, (unsigned long long)len,
                             now_maps);
            return false;
        }
    }
    uint64_t *n = scim_u64map_upsert(&c->inflight, scim_pfn(pa), 0);
    if (!n) {
        scim_kernel_fail(c->k, SCIM_ENOMEM, "out of host memory in the checker");
        return false;
    }
    (*n)++;
    return true;
}

void scim_checker_set_frame_probe(scim_checker *c, bool (*in_use)(void *ctx, uint64_t pfn), void *ctx)
{
    c->frame_in_use = in_use;
    c->frame_ctx = ctx;
}

bool scim_checker_physical_begin(scim_checker *c, const char *agent, uint64_t pa, uint64_t len)
{
    c->accesses++;
    if (c->frame_in_use && !c->frame_in_use(c->frame_ctx, scim_pfn(pa))) {
        scim_kernel_fail(c->k, SCIM_EINVARIANT,
                         "invariant violated at t=%llu ps: %s accessed pa 0x%llx (%llu bytes) by physical address, "
                         "but that frame is free: the buffer was not kept pinned",
                         (unsigned long long)scim_kernel_now(c->k), agent, (unsigned long long)pa,
                         (unsigned long long)len);
        return false;
    }
    uint64_t *n = scim_u64map_upsert(&c->inflight, scim_pfn(pa), 0);
    if (!n) {
        scim_kernel_fail(c->k, SCIM_ENOMEM, "out of host memory in the checker");
        return false;
    }
    (*n)++;
    return true;
}

void scim_checker_access_end(scim_checker *c, uint64_t pa)
{
    uint64_t *n = scim_u64map_get(&c->inflight, scim_pfn(pa));
    if (!n || *n == 0) {
        scim_kernel_fail(c->k, SCIM_EINVARIANT, "checker: access to pa 0x%llx ended but never began",
                         (unsigned long long)pa);
        return;
    }
    if (--*n == 0)
        scim_u64map_remove(&c->inflight, scim_pfn(pa));
}

uint64_t scim_checker_shootdown_begin(scim_checker *c)
{
    c->open_shootdowns++;
    return ++c->next_shootdown;
}

void scim_checker_stale_page(scim_checker *c, uint64_t shootdown, uint32_t pasid, uint64_t va,
                             uint64_t pa, unsigned page_shift)
{
    if (c->n_stale == c->cap_stale) {
        size_t nc = c->cap_stale ? c->cap_stale * 2 : 64;
        stale *n = realloc(c->stale, nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(c->k, SCIM_ENOMEM, "out of host memory in the checker");
            return;
        }
        c->stale = n;
        c->cap_stale = nc;
    }
    uint64_t mask = (1ull << page_shift) - 1;
    c->stale[c->n_stale++] = (stale){shootdown, pasid, page_shift, va & ~mask, pa & ~mask};
}

void scim_checker_shootdown_end(scim_checker *c, uint64_t shootdown)
{
    size_t j = 0;
    for (size_t i = 0; i < c->n_stale; i++)
        if (c->stale[i].shootdown != shootdown)
            c->stale[j++] = c->stale[i];
    c->n_stale = j;
    c->open_shootdowns--;
}

typedef struct frame_probe {
    uint64_t lo, hi; /* pfn range being freed */
    const scim_tlb_entry *hit;
    scim_tlb_entry copy;
} frame_probe;

static void probe_entry(void *ctx, const scim_tlb_entry *e)
{
    frame_probe *p = ctx;
    uint64_t first = e->pfn, last = e->pfn + (1ull << (e->page_shift - 12)) - 1;
    if (!p->hit && first <= p->hi && last >= p->lo) {
        p->copy = *e;
        p->hit = &p->copy;
    }
}

bool scim_checker_frame_free(scim_checker *c, uint64_t pfn, unsigned order)
{
    c->frames_checked++;
    uint64_t n = 1ull << order;
    for (uint64_t f = pfn; f < pfn + n; f++) {
        uint64_t *busy = scim_u64map_get(&c->inflight, f);
        if (busy && *busy) {
            scim_kernel_fail(c->k, SCIM_EINVARIANT,
                             "invariant violated at t=%llu ps: frame 0x%llx (pa 0x%llx) was freed while "
                             "%llu access(es) to it were still in flight",
                             (unsigned long long)scim_kernel_now(c->k), (unsigned long long)f,
                             (unsigned long long)scim_pfn_addr(f), (unsigned long long)*busy);
            return false;
        }
    }
    for (size_t i = 0; i < c->n_tlbs; i++) {
        frame_probe p = {pfn, pfn + n - 1, NULL, {0}};
        scim_tlb_foreach(c->tlbs[i].t, probe_entry, &p);
        if (p.hit) {
            scim_kernel_fail(c->k, SCIM_EINVARIANT,
                             "invariant violated at t=%llu ps: frame 0x%llx was freed while %s still "
                             "translates pasid %u va 0x%llx to it: the shootdown missed that TLB",
                             (unsigned long long)scim_kernel_now(c->k), (unsigned long long)pfn,
                             c->tlbs[i].name, p.hit->pasid,
                             (unsigned long long)(p.hit->vpn << p.hit->page_shift));
            return false;
        }
    }
    return true;
}

uint64_t scim_checker_accesses(const scim_checker *c) { return c->accesses; }
uint64_t scim_checker_stale_accesses(const scim_checker *c) { return c->stale_accesses; }
uint64_t scim_checker_frames_checked(const scim_checker *c) { return c->frames_checked; }

/* The observer the blocks call (core/observer.h). */
static bool obs_access_begin(void *c, const char *agent, uint32_t pasid, uint64_t va, uint64_t pa, uint64_t len)
{
    return scim_checker_access_begin(c, agent, pasid, va, pa, len);
}
static bool obs_physical_begin(void *c, const char *agent, uint64_t pa, uint64_t len)
{
    return scim_checker_physical_begin(c, agent, pa, len);
}
static void obs_access_end(void *c, uint64_t pa) { scim_checker_access_end(c, pa); }
static uint64_t obs_shootdown_begin(void *c) { return scim_checker_shootdown_begin(c); }
static void obs_stale_page(void *c, uint64_t sd, uint32_t pasid, uint64_t va, uint64_t pa, unsigned shift)
{
    scim_checker_stale_page(c, sd, pasid, va, pa, shift);
}
static void obs_shootdown_end(void *c, uint64_t sd) { scim_checker_shootdown_end(c, sd); }
static bool obs_frame_free(void *c, uint64_t pfn, unsigned order) { return scim_checker_frame_free(c, pfn, order); }

static const scim_observer_ops checker_observer_ops = {
    .access_begin = obs_access_begin, .physical_begin = obs_physical_begin, .access_end = obs_access_end,
    .shootdown_begin = obs_shootdown_begin, .stale_page = obs_stale_page, .shootdown_end = obs_shootdown_end,
    .frame_free = obs_frame_free,
};

const scim_observer *scim_checker_observer(scim_checker *c)
{
    c->observer = (scim_observer){&checker_observer_ops, c};
    return &c->observer;
}
