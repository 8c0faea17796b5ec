/* A measurement probe: how many translations that the OS has removed may
 * still sit in some device's TLB, per address space (the deferred
 * invalidation window of the iommu-map scheme). The OS opens and closes the
 * windows; a device counts the DMAs it issues while one is open ("DMAs that
 * could have used a stale translation"). Like the checker it is an
 * observer: it never changes timing. */
#ifndef SCIMITAR_EXPOSURE_H
#define SCIMITAR_EXPOSURE_H

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_exposure scim_exposure;

scim_exposure *scim_exposure_create(void);
void scim_exposure_destroy(scim_exposure *e);
void scim_exposure_add(scim_exposure *e, uint32_t pasid, int64_t delta);
uint64_t scim_exposure_active(const scim_exposure *e, uint32_t pasid);

#ifdef __cplusplus
}
#endif
#endif
