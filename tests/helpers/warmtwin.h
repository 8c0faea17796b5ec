/* Twins for the OS's functional warm-up (tests/test_warm_os*.c): two OSes
 * built alike (same parameters, memory, regions and mocks); one is driven
 * through its port as an agent would (page requests, CPU faults, trace
 * operations) and its kernel run to completion, the other through the
 * warm-up calls; then everything the OS keeps is compared (same_state).
 * Mocks stand for the IOMMU, an agent ("dev0"), a core ("cpu0") and the
 * memory ("mem"); they answer at once (ECHO), so shootdowns complete, and
 * log what they were sent (the shootdown's invalidations among it:
 * sent_since gathers them, to compare with the warm scopes).
 * Header-only, as helpers/devrig.h: a runner uses what it needs. */
#ifndef SCIM_TEST_WARMTWIN_H
#define SCIM_TEST_WARMTWIN_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "core/u64map.h"
#include "helpers/mockport.h"
#include "mmu/physmem.h"
#include "os/os_internal.h" /* the CLOCK list and swap slots are compared too */

#define PASID 1u
#define PG SCIM_PAGE_SIZE
#define HUGE_PG (1ull << SCIM_SHIFT_2M)
#define PAGES_IN_HUGE (HUGE_PG / PG)
#define REG_A 0x10000000ull /* populated at set-up */
#define REG_A_PAGES 64u
#define REG_B 0x20000000ull /* 4 KiB pages, not populated */
#define REG_B_PAGES 256u
#define REG_C 0x28000000ull /* another page table's worth away */
#define REG_C_PAGES 256u
#define REG_R 0x30000000ull /* read-only */
#define REG_R_PAGES 16u
#define REG_H 0x40000000ull /* 2 MiB pages */
#define REG_H_HUGE 2u
#define REG_M 0x60000000ull /* left to the mmap cases */
#define REG_M_PAGES 24u
#define REG_MH 0x80000000ull
#define REG_MR 0x90000000ull
#define NOWHERE 0x50000000ull
#define NO_PASID 99u

#define MEM_BIG (64ull << 20)
#define MEM_SMALL (1ull << 20)
#define MEM_RECLAIM (4ull << 20)
#define LINK SCIM_NS(100)
#define ACK SCIM_NS(500)
#define MEM_DELAY SCIM_NS(90)

typedef struct side {
    test_rig r;
    scim_physmem *pm;
    scim_os *os;
    mock_ep *iommu, *dev, *cpu0, *mem;
    scim_node_id osn;
    uint64_t next_id;
} side;

/* How the timed twin gets its pages: page requests (new frames zeroed at
 * the memory or not), or CPU faults (never zeroed by the handler). */
enum via { VIA_PRI, VIA_PRI_ZEROED, VIA_CPU, VIA_COUNT };

static inline scim_os_params os_defaults(void)
{
    scim_os_params p;
    memset(&p, 0, sizeof p);
    scim_err err = {0};
    ck_assert_msg(scim_cfg_bind(NULL, "os", scim_os_param_decls, scim_os_param_decl_count, &p, NULL, &err) == 0,
                  "binding the OS defaults: %s", err.msg);
    return p;
}

static inline void add_region(side *s, uint64_t va, uint64_t size, unsigned shift, unsigned prot, bool populate)
{
    scim_err err = {0};
    ck_assert_msg(scim_os_add_region(s->os, PASID, va, size, shift, prot, populate, &err) == 0, "region 0x%llx: %s",
                  (unsigned long long)va, err.msg);
}

/* One OS of a twin; with_vm adds VM "vm0" and its guest process (pasid 2). */
static inline void side_init(side *s, const scim_os_params *p, uint64_t mem_bytes, bool zeroing, bool with_vm)
{
    memset(s, 0, sizeof *s);
    rig_init(&s->r);
    scim_err err = {0};
    s->pm = scim_physmem_create(mem_bytes, &err);
    ck_assert_msg(s->pm, "physmem: %s", err.msg);
    s->os = scim_os_create(s->r.k, s->r.f, s->pm, "os", p, s->r.stats, &err);
    ck_assert_msg(s->os, "os: %s", err.msg);
    s->iommu = mock_add(&s->r, "iommu", MOCK_ECHO, ACK);
    s->dev = mock_add(&s->r, "dev0", MOCK_ECHO, ACK);
    s->cpu0 = mock_add(&s->r, "cpu0", MOCK_ECHO, ACK);
    s->mem = mock_add(&s->r, "mem", MOCK_MEMORY, MEM_DELAY);
    rig_link(&s->r, "dev0", "os", LINK, 0);
    rig_link(&s->r, "iommu", "os", LINK, 0);
    rig_link(&s->r, "cpu0", "os", LINK, 0);
    rig_link(&s->r, "mem", "os", LINK, 0);
    ck_assert_msg(scim_os_add_process(s->os, "app", PASID, 4, &err) == 0, "process: %s", err.msg);
    add_region(s, REG_A, REG_A_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, true);
    add_region(s, REG_B, REG_B_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, false);
    add_region(s, REG_C, REG_C_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, false);
    add_region(s, REG_R, REG_R_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_R, false);
    add_region(s, REG_H, REG_H_HUGE * HUGE_PG, SCIM_SHIFT_2M, SCIM_PROT_RW, false);
    if (with_vm) {
        scim_vm_params vp;
        memset(&vp, 0, sizeof vp);
        ck_assert_msg(scim_cfg_bind(NULL, "vms.vm0", scim_vm_param_decls, scim_vm_param_decl_count, &vp, NULL,
                                    &err) == 0,
                      "VM defaults: %s", err.msg);
        vp.memory = MEM_SMALL;
        ck_assert_msg(scim_os_add_vm(s->os, "vm0", &vp, false, s->r.stats, &err) == 0, "vm: %s", err.msg);
        ck_assert_msg(scim_os_add_guest_process(s->os, "guest", PASID + 1, 4, "vm0", &err) == 0, "guest: %s",
                      err.msg);
    }
    s->osn = scim_os_node(s->os);
    scim_os_set_iommu(s->os, rig_node(&s->r, "iommu"));
    if (zeroing)
        scim_os_set_memory(s->os, rig_node(&s->r, "mem"));
    ck_assert(scim_os_bind_cpu(s->os, rig_node(&s->r, "cpu0"), PASID, &err) == 0);
    ck_assert(scim_os_bind_device(s->os, rig_node(&s->r, "dev0"), PASID, &err) == 0);
    rig_finalize(&s->r);
}

static inline void side_free(side *s)
{
    mock_free(s->iommu);
    mock_free(s->dev);
    mock_free(s->cpu0);
    mock_free(s->mem);
    scim_os_destroy(s->os);
    rig_free(&s->r);
    scim_physmem_destroy(s->pm);
}

static inline void twin_init(side *timed, side *warm, const scim_os_params *p, uint64_t mem_bytes, enum via via)
{
    side_init(timed, p, mem_bytes, via == VIA_PRI_ZEROED, false);
    side_init(warm, p, mem_bytes, via == VIA_PRI_ZEROED, false);
}

static inline process *proc(const side *s) { return os_find_process(s->os, PASID); }

/* The status of the answer with tag id among ep's messages of type. */
static inline int32_t answer_status(const mock_ep *ep, scim_msg_type type, uint64_t id)
{
    for (size_t k = 0;; k++) {
        const mock_log *l = mock_find(ep, type, k);
        ck_assert_msg(l, "%s: no %s for request %llu", scim_port_name(ep->port), scim_msg_type_name(type),
                      (unsigned long long)id);
        if (l->m.tag == id)
            return l->m.status;
    }
}

/* The timed path: one fault, the kernel run until nothing is left. */
static inline int32_t timed_fault(side *s, enum via via, uint64_t va, bool write)
{
    uint64_t id = ++s->next_id;
    scim_msg proto = {0};
    if (via == VIA_CPU) {
        proto.u.os = (scim_os_req){.op = SCIM_OS_CPU_FAULT, .pasid = PASID, .addr = va, .write = write};
        mock_request(s->cpu0, s->osn, SCIM_MSG_OS_REQ, &proto, id);
        rig_run(&s->r);
        return answer_status(s->cpu0, SCIM_MSG_OS_RESP, id);
    }
    proto.u.page = (scim_page_req){.pasid = PASID, .va = va, .pages = 1, .write = write};
    mock_request(s->dev, s->osn, SCIM_MSG_PRI_REQ, &proto, id);
    rig_run(&s->r);
    return answer_status(s->dev, SCIM_MSG_PRI_RESP, id);
}

/* A page request group: one page and `prefault` more after it. */
static inline int32_t timed_group(side *s, uint64_t va, bool write, uint32_t prefault)
{
    uint64_t id = ++s->next_id;
    scim_msg proto = {0};
    proto.u.page = (scim_page_req){.pasid = PASID, .va = va, .pages = 1, .prefault = prefault, .write = write};
    mock_request(s->dev, s->osn, SCIM_MSG_PRI_REQ, &proto, id);
    rig_run(&s->r);
    return answer_status(s->dev, SCIM_MSG_PRI_RESP, id);
}

/* A trace's OS operation, sent by dev0 as an agent does. */
static inline int32_t timed_op(side *s, const scim_trace_rec *rec)
{
    uint64_t id = ++s->next_id;
    scim_msg proto = {0};
    proto.u.os = (scim_os_req){.op = SCIM_OS_TRACE_OP, .pasid = PASID, .addr = rec->addr, .len = rec->size,
                               .rec = *rec};
    mock_request(s->dev, s->osn, SCIM_MSG_OS_REQ, &proto, id);
    rig_run(&s->r);
    return answer_status(s->dev, SCIM_MSG_OS_RESP, id);
}

static inline void warm_ok(side *s, uint64_t va, bool write)
{
    scim_err err = {0};
    int rc = scim_os_warm_fault(s->os, PASID, va, write, &err);
    ck_assert_msg(rc == 0, "warm fault at 0x%llx (%s): rc %d: %s", (unsigned long long)va, write ? "write" : "read",
                  rc, err.msg);
}

/* Both twins fault va: the timed one through its port, the other warm. */
static inline void both_fault(side *timed, side *warm, enum via via, uint64_t va, bool write)
{
    int32_t st = timed_fault(timed, via, va, write);
    ck_assert_msg(st == SCIM_RESP_OK, "timed fault at 0x%llx: status %d", (unsigned long long)va, st);
    warm_ok(warm, va, write);
}

static inline scim_trace_rec mmap_rec(uint64_t va, uint64_t size, unsigned shift, unsigned prot, bool populate)
{
    return (scim_trace_rec){.op = SCIM_OP_MMAP, .addr = va, .size = size, .pasid = PASID, .prot = (uint8_t)prot,
                            .populate = populate, .page_shift = (uint8_t)shift,
                            .has = SCIM_TRACE_HAS_PASID | SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_POPULATE |
                                   SCIM_TRACE_HAS_PAGESIZE};
}

/* ---------- the invalidations the timed twin sent ---------- */

/* How many invalidations each mock had been sent before an operation. */
typedef struct marks {
    size_t iommu, cpu_ipi, cpu_inv, dev_inv;
} marks;

static inline marks mark(const side *s)
{
    return (marks){mock_count(s->iommu, SCIM_MSG_INV_REQ), mock_count(s->cpu0, SCIM_MSG_IPI),
                   mock_count(s->cpu0, SCIM_MSG_INV_REQ), mock_count(s->dev, SCIM_MSG_INV_REQ)};
}

#define SENT_MAX 256

typedef struct sent {
    scim_inv_scope v[SENT_MAX];
    size_t n;
    size_t iommu; /* of which the IOMMU's (the first ones) */
} sent;

static inline void sent_from(sent *out, const mock_ep *ep, scim_msg_type type, size_t since)
{
    for (const mock_log *l; (l = mock_find(ep, type, since)) != NULL; since++) {
        ck_assert(out->n < SENT_MAX);
        out->v[out->n++] = l->m.u.inv.scope;
    }
}

/* The invalidations the timed twin sent since m. */
static inline sent sent_since(const side *t, const marks *m)
{
    sent s = {0};
    sent_from(&s, t->iommu, SCIM_MSG_INV_REQ, m->iommu);
    s.iommu = s.n;
    sent_from(&s, t->cpu0, SCIM_MSG_IPI, m->cpu_ipi);
    sent_from(&s, t->cpu0, SCIM_MSG_INV_REQ, m->cpu_inv);
    sent_from(&s, t->dev, SCIM_MSG_INV_REQ, m->dev_inv);
    return s;
}

static inline bool same_scope(const scim_inv_scope *a, const scim_inv_scope *b)
{
    return a->kind == b->kind && a->pasid == b->pasid && a->addr == b->addr && a->len == b->len;
}

/* ---------- the comparison ----------
 *
 * Silent while it holds: Check logs every assertion that passes (a write
 * each), and comparing fault by fault makes millions of them. */
#define TWIN_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            ck_abort_msg(__VA_ARGS__);                                                                                 \
    } while (0)

typedef struct entries {
    uint64_t *v; /* (entry pa, value) pairs */
    size_t n, cap;
} entries;

static inline void collect(void *ctx, uint64_t pa, uint64_t value)
{
    entries *e = ctx;
    if (e->n + 2 > e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
        TWIN_CHECK(e->v, "out of host memory");
    }
    e->v[e->n++] = pa;
    e->v[e->n++] = value;
}

static inline void same_tables(const side *a, const side *b, const char *what)
{
    entries ea = {0}, eb = {0};
    TWIN_CHECK(scim_os_shadow_snapshot(a->os, PASID, collect, &ea) == 0 &&
                   scim_os_shadow_snapshot(b->os, PASID, collect, &eb) == 0,
               "%s: no snapshot of the tables", what);
    TWIN_CHECK(ea.n == eb.n, "%s: %zu page-table entries against %zu", what, ea.n / 2, eb.n / 2);
    for (size_t i = 0; i < ea.n; i += 2)
        TWIN_CHECK(ea.v[i] == eb.v[i] && ea.v[i + 1] == eb.v[i + 1],
                      "%s: page-table entry %zu: [0x%llx] = 0x%llx against [0x%llx] = 0x%llx", what, i / 2,
                      (unsigned long long)ea.v[i], (unsigned long long)ea.v[i + 1], (unsigned long long)eb.v[i],
                      (unsigned long long)eb.v[i + 1]);
    free(ea.v);
    free(eb.v);
}

static const struct span {
    uint64_t va, pages;
} spans[] = {{REG_A, REG_A_PAGES},           {REG_B, REG_B_PAGES}, {REG_C, REG_C_PAGES},
             {REG_R, REG_R_PAGES},           {REG_H, REG_H_HUGE * PAGES_IN_HUGE},
             {REG_M, REG_M_PAGES},           {REG_MH, 2 * PAGES_IN_HUGE},
             {REG_MR, REG_M_PAGES},          {NOWHERE, 4}};

/* Every 4 KiB page of every span: mapped alike, to the same address, with
 * the same leaf size and attributes. */
static inline void same_translations(const side *a, const side *b, const char *what)
{
    for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++)
        for (uint64_t i = 0; i < spans[s].pages; i++) {
            uint64_t va = spans[s].va + i * PG, pa_a = 0, pa_b = 0;
            unsigned sh_a = 0, sh_b = 0, at_a = 0, at_b = 0;
            int ma = scim_pgtable_lookup(proc(a)->pt, va, &pa_a, &sh_a, &at_a);
            int mb = scim_pgtable_lookup(proc(b)->pt, va, &pa_b, &sh_b, &at_b);
            TWIN_CHECK(ma == mb, "%s: va 0x%llx mapped %d against %d", what, (unsigned long long)va, ma, mb);
            TWIN_CHECK(pa_a == pa_b && sh_a == sh_b && at_a == at_b,
                          "%s: va 0x%llx -> 0x%llx (shift %u, attrs 0x%x) against 0x%llx (shift %u, attrs 0x%x)",
                          what, (unsigned long long)va, (unsigned long long)pa_a, sh_a, at_a,
                          (unsigned long long)pa_b, sh_b, at_b);
            uint64_t ra = 0, rb = 0;
            TWIN_CHECK(scim_os_resolve(a->os, PASID, va, &ra) == ma && scim_os_resolve(b->os, PASID, va, &rb) == mb &&
                           ra == rb,
                       "%s: va 0x%llx resolves differently", what, (unsigned long long)va);
        }
}

static inline void same_frames(const side *a, const side *b, const char *what)
{
    scim_os_frames fa, fb;
    scim_os_frames_get(a->os, &fa);
    scim_os_frames_get(b->os, &fb);
    const struct {
        const char *name;
        uint64_t a, b;
    } f[] = {{"total", fa.total, fb.total},
             {"free", fa.free, fb.free},
             {"data", fa.data, fb.data},
             {"page_tables", fa.page_tables, fb.page_tables},
             {"pasid_table", fa.pasid_table, fb.pasid_table},
             {"deferred", fa.deferred, fb.deferred},
             {"transit", fa.transit, fb.transit},
             {"reserved", fa.reserved, fb.reserved},
             {"os.frames.free", a->os->st.frames_free, b->os->st.frames_free}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        TWIN_CHECK(f[i].a == f[i].b, "%s: frames.%s %llu against %llu", what, f[i].name,
                      (unsigned long long)f[i].a, (unsigned long long)f[i].b);
    TWIN_CHECK(fb.free + fb.data + fb.page_tables + fb.pasid_table + fb.deferred + fb.transit + fb.reserved ==
                      fb.total,
                  "%s: the warm twin's frames do not add up", what);
}

/* The CLOCK list (in order: it is the order reclaim scans), its hand. */
static inline void same_clock(const side *a, const side *b, const char *what)
{
    const scim_os *oa = a->os, *ob = b->os;
    TWIN_CHECK(oa->n_lru == ob->n_lru, "%s: %zu pages on the CLOCK list against %zu", what, oa->n_lru, ob->n_lru);
    TWIN_CHECK(oa->hand == ob->hand, "%s: CLOCK hand %zu against %zu", what, oa->hand, ob->hand);
    for (size_t i = 0; i < oa->n_lru; i++)
        TWIN_CHECK(oa->lru[i].va == ob->lru[i].va && oa->lru[i].pfn == ob->lru[i].pfn &&
                          oa->lru[i].pasid == ob->lru[i].pasid,
                      "%s: CLOCK list entry %zu: va 0x%llx pfn 0x%llx against va 0x%llx pfn 0x%llx", what, i,
                      (unsigned long long)oa->lru[i].va, (unsigned long long)oa->lru[i].pfn,
                      (unsigned long long)ob->lru[i].va, (unsigned long long)ob->lru[i].pfn);
}

typedef struct map_pair {
    const scim_u64map *other;
    const char *what;
} map_pair;

static inline void in_other(void *ctx, uint64_t key, uint64_t val)
{
    const map_pair *mp = ctx;
    const uint64_t *v = scim_u64map_get(mp->other, key);
    TWIN_CHECK(v && *v == val, "%s: swapped page vpn 0x%llx (slot %llu) differs", mp->what,
                  (unsigned long long)key, (unsigned long long)val);
}

/* Swapped-out pages, the swap slots, pages in transition, the regions. */
static inline void same_swap_and_regions(const side *a, const side *b, const char *what)
{
    const process *pa = proc(a), *pb = proc(b);
    TWIN_CHECK(pa->swapped.len == pb->swapped.len, "%s: %zu swapped pages against %zu", what, pa->swapped.len,
                  pb->swapped.len);
    map_pair mp = {&pb->swapped, what};
    scim_u64map_foreach(&pa->swapped, in_other, &mp);
    TWIN_CHECK(pa->busy.len == 0 && pb->busy.len == 0, "%s: pages left in transition", what);
    TWIN_CHECK(a->os->next_slot == b->os->next_slot && a->os->n_free_slots == b->os->n_free_slots,
                  "%s: swap slots differ", what);
    for (size_t i = 0; i < a->os->n_free_slots; i++)
        TWIN_CHECK(a->os->free_slots[i] == b->os->free_slots[i], "%s: free swap slot %zu differs", what, i);
    TWIN_CHECK(pa->n_regions == pb->n_regions, "%s: %zu regions against %zu", what, pa->n_regions,
                  pb->n_regions);
    for (size_t i = 0; i < pa->n_regions; i++)
        TWIN_CHECK(!memcmp(&pa->regions[i], &pb->regions[i], sizeof pa->regions[i]), "%s: region %zu differs",
                      what, i);
}

static inline void same_state(const side *a, const side *b, const char *what)
{
    same_frames(a, b, what);
    same_translations(a, b, what);
    same_tables(a, b, what);
    same_clock(a, b, what);
    same_swap_and_regions(a, b, what);
}

static inline bool mapped(const side *s, uint64_t va)
{
    uint64_t pa;
    return scim_os_resolve(s->os, PASID, va, &pa) == 1;
}

/* ---- walk placement shadow: the device's copy as the warm-up keeps it ----
 * The table's entries at bind (scim_os_shadow_snapshot, as the driver
 * loads a copy), then every update scim_os_warm_sync_shadows hands over,
 * applied as the device applies a sync (a 0 value removes the entry). */
typedef struct shadow_copy {
    scim_u64map m;
    scim_node_id node; /* the device the updates must be addressed to */
    uint64_t updates, clears, wrong_node;
} shadow_copy;

static inline void shadow_set(void *ctx, uint64_t pa, uint64_t value)
{
    scim_u64map *m = ctx;
    if (!value) {
        scim_u64map_remove(m, pa);
        return;
    }
    *scim_u64map_upsert(m, pa, 0) = value;
}

static inline void shadow_sync(void *ctx, scim_node_id node, const uint64_t *pairs, size_t n)
{
    shadow_copy *c = ctx;
    c->wrong_node += node != c->node;
    for (size_t i = 0; i < n; i++) {
        shadow_set(&c->m, pairs[2 * i], pairs[2 * i + 1]);
        c->updates++;
        c->clears += pairs[2 * i + 1] == 0;
    }
}

static inline void shadow_copy_init(shadow_copy *c, side *s, const char *dev)
{
    memset(c, 0, sizeof *c);
    scim_u64map_init(&c->m);
    c->node = rig_node(&s->r, dev);
    scim_err err = {0};
    ck_assert_msg(scim_os_bind_shadow(s->os, c->node, PASID, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(scim_os_shadow_snapshot(s->os, PASID, shadow_set, &c->m), 0);
}

typedef struct shadow_cmp {
    const scim_u64map *copy;
    size_t entries, differ;
} shadow_cmp;

static inline void shadow_cmp_entry(void *ctx, uint64_t pa, uint64_t value)
{
    shadow_cmp *k = ctx;
    if (!value)
        return;
    const uint64_t *v = scim_u64map_get(k->copy, pa);
    k->entries++;
    k->differ += !v || *v != value;
}

/* Hand over what the OS kept, then the copy must be the table, entry for
 * entry (this OS-only rig has no walker setting accessed/dirty bits). */
static inline void shadow_copy_check(shadow_copy *c, side *s, const char *when)
{
    scim_os_warm_sync_shadows(s->os, shadow_sync, c);
    ck_assert_msg(c->wrong_node == 0, "%s: updates sent to another node", when);
    shadow_cmp k = {.copy = &c->m};
    ck_assert_int_eq(scim_os_shadow_snapshot(s->os, PASID, shadow_cmp_entry, &k), 0);
    ck_assert_msg(k.differ == 0 && k.entries == c->m.len, "%s: %zu of %zu table entries differ in the copy (%zu held)",
                  when, k.differ, k.entries, c->m.len);
    /* handed over once: nothing more to send */
    uint64_t before = c->updates;
    scim_os_warm_sync_shadows(s->os, shadow_sync, c);
    ck_assert_msg(c->updates == before, "%s: updates handed over twice", when);
}

static inline void shadow_copy_free(shadow_copy *c) { scim_u64map_free(&c->m); }

#endif
