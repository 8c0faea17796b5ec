/* Configuration keys shared by every TLB-like structure (CPU TLBs, IOMMU
 * IOTLB, PASID cache, device IOTLBs): one macro emits the same five keys
 * with owner-specific defaults, so each owner's table stays the single
 * declaration of its keys. */
#ifndef SCIMITAR_TLBCFG_H
#define SCIMITAR_TLBCFG_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "mmu/tlb.h"

typedef struct scim_tlb_keys {
    uint64_t entries;
    uint64_t ways;
    int repl;       /* index into scim_tlb_repl_names */
    int page_sizes; /* index into scim_tlb_page_size_names */
    uint64_t latency;
} scim_tlb_keys;

extern const char *const scim_tlb_repl_names[];
extern const char *const scim_tlb_page_size_names[];

/* Fill TLB creation parameters from bound keys. */
void scim_tlb_keys_to_params(const scim_tlb_keys *k, uint64_t seed, scim_tlb_params *out);

#define SCIM_TLB_KEY_DECLS(PFX, STRUCT, MEMBER, WHAT, ENTRIES, WAYS, REPL, SIZES, LATENCY, SRC_SIZE,   \
                           SRC_LAT)                                                                    \
    {PFX "entries", SCIM_P_U64, ENTRIES, "entries", true, 0, 1048576, NULL,                           \
     offsetof(STRUCT, MEMBER.entries), "Entries of the " WHAT "; 0 disables it (every lookup misses).", \
     SRC_SIZE},                                                                                        \
    {PFX "ways", SCIM_P_U64, WAYS, "ways", true, 1, 1048576, NULL, offsetof(STRUCT, MEMBER.ways),       \
     "Associativity of the " WHAT "; entries/ways sets, indexed by virtual page number mod sets. "     \
     "Equal to entries for a fully associative " WHAT ".",                                            \
     SRC_SIZE},                                                                                        \
    {PFX "replacement", SCIM_P_ENUM, REPL, NULL, false, 0, 0, scim_tlb_repl_names,                     \
     offsetof(STRUCT, MEMBER.repl),                                                                    \
     "Replacement policy of the " WHAT " (random uses the run's seed; plru needs power-of-two ways).",  \
     NULL},                                                                                            \
    {PFX "page_sizes", SCIM_P_ENUM, SIZES, NULL, false, 0, 0, scim_tlb_page_size_names,                \
     offsetof(STRUCT, MEMBER.page_sizes), "Page sizes the " WHAT " can hold.", NULL},                  \
    {PFX "latency", SCIM_P_U64, LATENCY, "cycles", true, 0, 1000000, NULL,                             \
     offsetof(STRUCT, MEMBER.latency), "Lookup latency of the " WHAT ", in its owner's clock cycles.", \
     SRC_LAT}

#endif
