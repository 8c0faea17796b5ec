/* A small open-addressing hash map from uint64_t to uint64_t (linear
 * probing, backward-shift deletion, no tombstones), for the simulator's
 * internal bookkeeping: in-flight frames, pending translations. */
#ifndef SCIM_U64MAP_H
#define SCIM_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct scim_u64map {
    uint64_t *keys;
    uint64_t *vals;
    uint8_t *used;
    size_t cap;   /* power of two */
    size_t len;
} scim_u64map;

void scim_u64map_init(scim_u64map *m);
void scim_u64map_free(scim_u64map *m);
/* Pointer to the value of key, or NULL. Valid until the next insert/remove. */
uint64_t *scim_u64map_get(const scim_u64map *m, uint64_t key);
/* Pointer to the value of key, inserting `init` if absent; NULL if out of
 * host memory. */
uint64_t *scim_u64map_upsert(scim_u64map *m, uint64_t key, uint64_t init);
bool scim_u64map_remove(scim_u64map *m, uint64_t key);
/* Visit every entry (order unspecified: do not let it reach output). */
void scim_u64map_foreach(const scim_u64map *m, void (*fn)(void *ctx, uint64_t key, uint64_t val),
                         void *ctx);

#endif
