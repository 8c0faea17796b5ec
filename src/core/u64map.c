#include "core/u64map.h"

#include <stdlib.h>

static inline size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void scim_u64map_init(scim_u64map *m)
{
    m->keys = m->vals = NULL;
    m->used = NULL;
    m->cap = m->len = 0;
}

void scim_u64map_free(scim_u64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    scim_u64map_init(m);
}

uint64_t *scim_u64map_get(const scim_u64map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i])
            return NULL;
        if (m->keys[i] == key)
            return &m->vals[i];
    }
}

static bool grow(scim_u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    scim_u64map n = {calloc(ncap, 8), calloc(ncap, 8), calloc(ncap, 1), ncap, 0};
    if (!n.keys || !n.vals || !n.used) {
        free(n.keys), free(n.vals), free(n.used);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = slot_of(m->keys[i], ncap);
        while (n.used[j])
            j = (j + 1) & (ncap - 1);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
        n.len++;
    }
    scim_u64map_free(m);
    *m = n;
    return true;
}

uint64_t *scim_u64map_upsert(scim_u64map *m, uint64_t key, uint64_t init)
{
    uint64_t *v = scim_u64map_get(m, key);
    if (v)
        return v;
    if ((m->len + 1) * 4 > m->cap * 3 && !grow(m))
        return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->used[i])
        i = (i + 1) & (m->cap - 1);
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = init;
    m->len++;
    return &m->vals[i];
}

bool scim_u64map_remove(scim_u64map *m, uint64_t key)
{
    if (!m->cap)
        return false;
    size_t i = slot_of(key, m->cap);
    for (;; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i])
            return false;
        if (m->keys[i] == key)
            break;
    }
    /* backward-shift: pull later entries of the probe run into the hole */
    size_t hole = i;
    for (size_t j = (i + 1) & (m->cap - 1); m->used[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m->keys[j], m->cap);
        /* j's entry may move to hole if home is not in (hole, j] cyclically */
        bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->used[hole] = 0;
    m->len--;
    return true;
}

void scim_u64map_foreach(const scim_u64map *m, void (*fn)(void *ctx, uint64_t key, uint64_t val),
                         void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i])
            fn(ctx, m->keys[i], m->vals[i]);
}
