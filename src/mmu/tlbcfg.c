#include "mmu/tlbcfg.h"

const char *const scim_tlb_repl_names[] = {"lru", "fifo", "random", "plru", NULL};
const char *const scim_tlb_page_size_names[] = {"4K", "4K+2M", "4K+2M+1G", "2M", "1G", "2M+1G", NULL};

static const uint64_t page_size_masks[] = {
    SCIM_PAGE_4K,
    SCIM_PAGE_4K | SCIM_PAGE_2M,
    SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G,
    SCIM_PAGE_2M,
    SCIM_PAGE_1G,
    SCIM_PAGE_2M | SCIM_PAGE_1G,
};

void scim_tlb_keys_to_params(const scim_tlb_keys *k, uint64_t seed, scim_tlb_params *out)
{
    static const int repl[] = {SCIM_REPL_LRU, SCIM_REPL_FIFO, SCIM_REPL_RANDOM, SCIM_REPL_PLRU};
    *out = (scim_tlb_params){0};
    out->entries = k->entries;
    out->ways = k->ways;
    out->repl = repl[k->repl];
    out->page_sizes = page_size_masks[k->page_sizes];
    out->seed = seed;
    out->latency_cycles = k->latency;
}
