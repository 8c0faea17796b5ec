/* IOMMU context structures: how an IOMMU finds the page tables of a
 * (device, PASID), one family per ISA, as an ops table (like the page-table
 * formats of mmu/ptfmt.h). The OS (privileged software) writes them in
 * simulated memory; the IOMMU reads them on a context-cache miss, one timed
 * memory read per structure, through its port.
 *
 *   ctx_vtd.c     Intel VT-d scalable mode: PASID directory + PASID table
 *                 (2 reads of 8 B; one table for every device)
 *   ctx_smmuv3.c  Arm SMMUv3: stream table entry + level-1 context
 *                 descriptor + context descriptor (64 B + 8 B + 64 B)
 *   ctx_riscv.c   RISC-V IOMMU: device context + process directory (two
 *                 non-leaf levels for 20-bit process ids) + process context
 *                 (32 B + 8 B + 8 B + 16 B)
 *
 * A lookup is a small state machine: start() names the first read; each
 * read's words go to step(), which names the next read, or ends with the
 * page-table root and format, or a fault (a missing or misconfigured
 * structure: the request is answered Invalid).
 */
#ifndef SCIM_IOMMU_CTXFMT_H
#define SCIM_IOMMU_CTXFMT_H

#include "core/common.h"
#include "core/proto.h"
#include "mmu/physmem.h"
#include "mmu/ptfmt.h"

/* One context lookup in progress. */
typedef struct scim_ctx_walk {
    uint32_t dev;    /* requester: StreamID (SMMUv3), device_id (RISC-V); unused by VT-d */
    uint32_t pasid;  /* SubstreamID / process_id */
    int stage;       /* format-private: which structure is being read */
    int left;        /* format-private: directory levels still to read */
    /* the next read */
    uint64_t pa;
    uint32_t len;    /* bytes */
    uint8_t words;   /* 64-bit words of it the format decodes */
    /* the result */
    uint64_t root;
    const scim_pt_format *fmt;
} scim_ctx_walk;

typedef enum scim_ctx_step { SCIM_CTX_READ, SCIM_CTX_DONE, SCIM_CTX_FAULT } scim_ctx_step;

/* How the OS side reaches memory: frames it allocates (zeroed, counted by
 * the OS as context-table frames) and the memory itself. */
typedef struct scim_ctx_mem {
    scim_physmem *pm;
    int (*alloc)(void *cookie, unsigned order, uint64_t *pa, scim_err *err);
    void *cookie;
} scim_ctx_mem;

/* The OS's handles on its context tables. */
typedef struct scim_ctx_tables {
    uint64_t root; /* what the IOMMU's root register holds (PASID directory, stream table, DDT) */
    uint64_t aux;  /* a table every device shares (SMMUv3 L1 CD table, RISC-V root PDT) */
} scim_ctx_tables;

typedef struct scim_ctx_format {
    const char *name;
    scim_isa isa;
    bool per_device; /* the lookup depends on the device, so the context cache is keyed by it */
    /* IOMMU side */
    void (*start)(uint64_t root, scim_ctx_walk *w);
    scim_ctx_step (*step)(scim_ctx_walk *w, const uint64_t *words);
    /* OS side */
    int (*create)(const scim_ctx_mem *m, scim_ctx_tables *t, scim_err *err);
    int (*bind_device)(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t dev, scim_err *err);
    int (*set_pasid)(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t pasid, uint64_t pt_root,
                     const scim_pt_format *fmt, scim_err *err);
} scim_ctx_format;

extern const scim_ctx_format scim_ctx_vtd, scim_ctx_smmuv3, scim_ctx_riscv;

/* The IOMMU family of an ISA. */
const scim_ctx_format *scim_ctx_format_of(scim_isa isa);

/* PASIDs are 20 bits in every family (PCIe PASID TLP prefix). */
#define SCIM_PASID_BITS 20
#define SCIM_PASID_MAX ((1u << SCIM_PASID_BITS) - 1)

#endif
