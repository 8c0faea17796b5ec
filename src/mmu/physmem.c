/* Physical memory: buddy allocator over per-order three-level bitmaps, and
 * sparse frame contents. Contract in include/scimitar/physmem.h. */
#include "mmu/physmem.h"

#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "core/u64map.h"

/* A bitset with a find-lowest-set-bit in three word scans: l1 summarises
 * which l0 words are non-zero, l2 which l1 words are. */
typedef struct fbits {
    uint64_t nbits;
    uint64_t *l0, *l1, *l2;
    uint64_t n0, n1, n2;
    uint64_t hint; /* l2 words below this are zero: a populate that fills memory from the bottom does not
                      rescan them for every frame */
} fbits;

static bool fbits_init(fbits *b, uint64_t nbits)
{
    b->nbits = nbits;
    b->hint = 0;
    b->n0 = (nbits + 63) / 64;
    b->n1 = (b->n0 + 63) / 64;
    b->n2 = (b->n1 + 63) / 64;
    b->l0 = calloc(b->n0 ? b->n0 : 1, 8);
    b->l1 = calloc(b->n1 ? b->n1 : 1, 8);
    b->l2 = calloc(b->n2 ? b->n2 : 1, 8);
    return b->l0 && b->l1 && b->l2;
}

static void fbits_free(fbits *b)
{
    free(b->l0);
    free(b->l1);
    free(b->l2);
}

/* words of l0 one bit of l2 stands for: 64 bits of l1, each 64 words */
#define L2_WORDS (64u * 64u)

static inline bool fbits_test(const fbits *b, uint64_t i) { return (b->l0[i / 64] >> (i % 64)) & 1; }

static inline void fbits_set(fbits *b, uint64_t i)
{
    uint64_t w = i / 64;
    b->l0[w] |= 1ull << (i % 64);
    b->l1[w / 64] |= 1ull << (w % 64);
    b->l2[w / L2_WORDS] |= 1ull << ((w / 64) % 64);
    if (w / L2_WORDS < b->hint)
        b->hint = w / L2_WORDS;
}

static inline void fbits_clear(fbits *b, uint64_t i)
{
    uint64_t w = i / 64;
    b->l0[w] &= ~(1ull << (i % 64));
    if (b->l0[w] == 0) {
        b->l1[w / 64] &= ~(1ull << (w % 64));
        if (b->l1[w / 64] == 0)
            b->l2[w / L2_WORDS] &= ~(1ull << ((w / 64) % 64));
    }
}

static uint64_t fbits_first(fbits *b)
{
    for (uint64_t k = b->hint; k < b->n2; k++) {
        if (!b->l2[k]) {
            b->hint = k + 1;
            continue;
        }
        uint64_t j = k * 64 + (uint64_t)__builtin_ctzll(b->l2[k]);
        uint64_t w = j * 64 + (uint64_t)__builtin_ctzll(b->l1[j]);
        return w * 64 + (uint64_t)__builtin_ctzll(b->l0[w]);
    }
    return UINT64_MAX;
}

/* A direct-mapped cache of frame contents in front of the map: a walk
 * reads its tables' entries (and sets their accessed bits) over and over,
 * and a hit costs one compare where the map hashes and probes. A slot
 * holds a frame with storage; frames are freed through
 * scim_physmem_free, which empties their slots. */
#define FRAME_CACHE_SLOTS 256u /* a power of two: the slot is the frame number's low bits */
#define FRAME_WORDS (SCIM_PAGE_SIZE / sizeof(uint64_t))
#define NO_FRAME UINT64_MAX    /* an empty slot: no frame has this number */

typedef struct frame_slot {
    uint64_t pfn;
    uint64_t *words;
} frame_slot;

struct scim_physmem {
    frame_slot cache[FRAME_CACHE_SLOTS];
    uint64_t frames;      /* pool size in frames, frame 0 included */
    uint64_t free_frames;
    fbits free[SCIM_PHYSMEM_MAX_ORDER + 1]; /* bit i of order o: block i (frames i<<o ..) is free */
    scim_u64map contents; /* pfn -> (uint64_t *) the frame's FRAME_WORDS words */
    bool write_lost;      /* a write found no host memory to back its frame */
};

static inline bool block_in_pool(const scim_physmem *pm, uint64_t block, unsigned order)
{
    return ((block + 1) << order) <= pm->frames;
}

static void free_block(scim_physmem *pm, uint64_t pfn, unsigned order)
{
    uint64_t block = pfn >> order;
    while (order < SCIM_PHYSMEM_MAX_ORDER) {
        uint64_t buddy = block ^ 1;
        if (!block_in_pool(pm, buddy, order) || !fbits_test(&pm->free[order], buddy))
            break;
        fbits_clear(&pm->free[order], buddy);
        block >>= 1;
        order++;
    }
    fbits_set(&pm->free[order], block);
}

scim_physmem *scim_physmem_create(uint64_t bytes, scim_err *err)
{
    if (bytes % SCIM_PAGE_SIZE || bytes < 16 * SCIM_PAGE_SIZE) {
        scim_err_set(err, SCIM_ERANGE, "memory size %llu bytes must be a multiple of 4 KiB and at least 64 KiB",
                     (unsigned long long)bytes);
        return NULL;
    }
    scim_physmem *pm = calloc(1, sizeof *pm);
    if (!pm) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating physical memory");
        return NULL;
    }
    pm->frames = bytes / SCIM_PAGE_SIZE;
    scim_u64map_init(&pm->contents);
    for (unsigned i = 0; i < FRAME_CACHE_SLOTS; i++)
        pm->cache[i].pfn = NO_FRAME;
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        if (!fbits_init(&pm->free[o], (pm->frames >> o) + 1)) {
            scim_physmem_destroy(pm);
            scim_err_set(err, SCIM_ENOMEM, "out of host memory creating physical memory");
            return NULL;
        }
    }
    /* Carve [1, frames) into maximal aligned blocks. */
    uint64_t f = 1;
    while (f < pm->frames) {
        unsigned o = (unsigned)__builtin_ctzll(f);
        if (o > SCIM_PHYSMEM_MAX_ORDER)
            o = SCIM_PHYSMEM_MAX_ORDER;
        while (f + (1ull << o) > pm->frames)
            o--;
        fbits_set(&pm->free[o], f >> o);
        f += 1ull << o;
    }
    pm->free_frames = pm->frames - 1;
    return pm;
}

static void drop_contents(void *ctx, uint64_t key, uint64_t val)
{
    free((void *)(uintptr_t)val);
}

void scim_physmem_destroy(scim_physmem *pm)
{
    if (!pm)
        return;
    scim_u64map_foreach(&pm->contents, drop_contents, NULL);
    scim_u64map_free(&pm->contents);
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        fbits_free(&pm->free[o]);
    free(pm);
}

int scim_physmem_alloc(scim_physmem *pm, unsigned order, uint64_t *pfn, scim_err *err)
{
    if (order > SCIM_PHYSMEM_MAX_ORDER)
        return scim_err_set(err, SCIM_EINVAL, "allocation order %u is above the maximum %u", order,
                            SCIM_PHYSMEM_MAX_ORDER);
    for (unsigned o = order; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        uint64_t block = fbits_first(&pm->free[o]);
        if (block == UINT64_MAX)
            continue;
        fbits_clear(&pm->free[o], block);
        while (o > order) {
            o--;
            block <<= 1;
            fbits_set(&pm->free[o], block | 1);
        }
        *pfn = block << order;
        pm->free_frames -= 1ull << order;
        return 0;
    }
    int largest = -1;
    for (int o = SCIM_PHYSMEM_MAX_ORDER; o >= 0 && largest < 0; o--)
        if (fbits_first(&pm->free[o]) != UINT64_MAX)
            largest = o;
    return scim_err_set(err, SCIM_ENOMEM,
                        "out of simulated memory: no free block of order %u (%llu KiB); %llu of %llu frames "
                        "free, largest free block order %d",
                        order, (unsigned long long)(4ull << order), (unsigned long long)pm->free_frames,
                        (unsigned long long)(pm->frames - 1), largest);
}

void scim_physmem_free(scim_physmem *pm, uint64_t pfn, unsigned order)
{
    for (uint64_t f = pfn; f < pfn + (1ull << order); f++) {
        uint64_t *v = scim_u64map_get(&pm->contents, f);
        if (v) {
            free((void *)(uintptr_t)*v);
            scim_u64map_remove(&pm->contents, f);
            frame_slot *s = &pm->cache[f % FRAME_CACHE_SLOTS];
            if (s->pfn == f)
                s->pfn = NO_FRAME;
        }
    }
    pm->free_frames += 1ull << order;
    free_block(pm, pfn, order);
}

uint64_t scim_physmem_frames_total(const scim_physmem *pm) { return pm->frames - 1; }
uint64_t scim_physmem_frames_free(const scim_physmem *pm) { return pm->free_frames; }

bool scim_physmem_is_free(const scim_physmem *pm, uint64_t pfn)
{
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        if (block_in_pool(pm, pfn >> o, o) && fbits_test(&pm->free[o], pfn >> o))
            return true;
    return false;
}

bool scim_physmem_frame_in_use(void *pm, uint64_t pfn) { return !scim_physmem_is_free(pm, pfn); }

/* The words of frame pfn, NULL if it has no storage (reads as zero). The
 * cache is not part of what pm holds: reads through a const pm fill it. */
static inline uint64_t *frame_words(const scim_physmem *pm, uint64_t pfn)
{
    frame_slot *s = (frame_slot *)&pm->cache[pfn % FRAME_CACHE_SLOTS];
    if (s->pfn == pfn)
        return s->words;
    const uint64_t *v = scim_u64map_get(&pm->contents, pfn);
    if (!v)
        return NULL;
    s->pfn = pfn;
    s->words = (uint64_t *)(uintptr_t)*v;
    return s->words;
}

static inline unsigned word_of(uint64_t pa) { return (unsigned)((pa & SCIM_PAGE_MASK) / sizeof(uint64_t)); }

uint64_t scim_physmem_read64(const scim_physmem *pm, uint64_t pa)
{
    const uint64_t *words = frame_words(pm, scim_pfn(pa));
    return words ? words[word_of(pa)] : 0;
}

void scim_physmem_write64(scim_physmem *pm, uint64_t pa, uint64_t value)
{
    uint64_t *words = frame_words(pm, scim_pfn(pa));
    if (!words) {
        if (value == 0)
            return; /* still reads as zero */
        words = calloc(FRAME_WORDS, sizeof *words);
        if (!words || !scim_u64map_upsert(&pm->contents, scim_pfn(pa), (uint64_t)(uintptr_t)words)) {
            /* the frame would read back as zero: the model is no longer
             * what it simulates, which the run reports at its end */
            free(words);
            pm->write_lost = true;
            return;
        }
    }
    words[word_of(pa)] = value;
}

uint64_t scim_physmem_backed_frames(const scim_physmem *pm) { return pm->contents.len; }

bool scim_physmem_write_lost(const scim_physmem *pm) { return pm->write_lost; }
