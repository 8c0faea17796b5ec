/* The IOMMU context family of each ISA. */
#include "iommu/ctxfmt.h"

const scim_ctx_format *scim_ctx_format_of(scim_isa isa)
{
    switch (isa) {
    case SCIM_ISA_ARMV8: return &scim_ctx_smmuv3;
    case SCIM_ISA_RISCV: return &scim_ctx_riscv;
    default: return &scim_ctx_vtd;
    }
}
