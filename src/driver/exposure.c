/* Stale-translation exposure probe. Role in include/scimitar/exposure.h. */
#include "driver/exposure.h"

#include <stdlib.h>

#include "core/u64map.h"

struct scim_exposure {
    scim_u64map open; /* pasid -> translations removed but maybe cached */
};

scim_exposure *scim_exposure_create(void)
{
    scim_exposure *e = calloc(1, sizeof *e);
    if (e)
        scim_u64map_init(&e->open);
    return e;
}

void scim_exposure_destroy(scim_exposure *e)
{
    if (!e)
        return;
    scim_u64map_free(&e->open);
    free(e);
}

void scim_exposure_add(scim_exposure *e, uint32_t pasid, int64_t delta)
{
    uint64_t *n = scim_u64map_upsert(&e->open, pasid, 0);
    if (!n)
        return;
    *n = (uint64_t)((int64_t)*n + delta);
    if (*n == 0)
        scim_u64map_remove(&e->open, pasid);
}

uint64_t scim_exposure_active(const scim_exposure *e, uint32_t pasid)
{
    const uint64_t *n = scim_u64map_get(&e->open, pasid);
    return n ? *n : 0;
}
