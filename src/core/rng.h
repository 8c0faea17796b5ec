/* Random streams of the model. Every stream is seeded from the run's seed
 * and the path of the component that owns it ("nic0.iotlb"), so adding,
 * removing or reordering components never shifts another component's
 * stream, and two components never share one (a hash of the path, not an
 * index). The generator is splitmix64 (Steele, Lea, Flood, OOPSLA'14). */
#ifndef SCIM_CORE_RNG_H
#define SCIM_CORE_RNG_H

#include <stdint.h>

/* The seed of the stream named `path` in a run seeded with `seed`. */
uint64_t scim_seed_for(uint64_t seed, const char *path);
/* Next value of a splitmix64 stream with state *s. */
uint64_t scim_splitmix64(uint64_t *s);

#endif
