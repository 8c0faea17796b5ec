/* Fault profiles. Role and rules in os/profile.h; the figures behind each
 * value are in docs/defaults.md ("Fault profiles"). */
#include "os/profile.h"

#include <string.h>

#include "os/os.h"

const char *const scim_os_fault_profile_names[] = {"sva", "odp", "uvm", "swap", NULL};

static const scim_profile_value sva_values[] = {{NULL, NULL}};

/* ODP: one fault resolves the faulting range (the RDMA operation, not a
 * page); 220 us for 4 KiB and 350 us for 4 MiB give a fixed ~218 us (after
 * the interrupt) and 0.13 us per page. The pages were resident in the
 * process (the NIC's translation was missing), so nothing is zeroed. */
static const scim_profile_value odp_values[] = {{"iopf.wakeup", "2us"},
                                                {"iopf_cost", "218us"},
                                                {"iopf_page_cost", "130ns"},
                                                {"iopf.zero_pages", "false"},
                                                {NULL, NULL}};

/* UVM: one servicing context per GPU takes batches of 256 faults. Two
 * figures fix the two costs, as the GPU sees a fault (device: page request
 * to response, default links and memory):
 *   one fault  31.8 us = 0.9 messaging + 2 wake-up + batch + 1 page
 *   256 faults 313 us  = the same + 255 pages more
 * so a page costs (313 - 31.8) / 255 = 1.1 us, of which zeroing the frame
 * at the memory is ~0.4 us: iopf_page_cost 0.7 us; and the batch 31.8 -
 * 0.9 - 2 - 1.1 = 27.8 us (the ~30 us fixed part is wake-up and batch).
 * scimitar validate: 31.82 us and 337 us (memory contention). */
static const scim_profile_value uvm_values[] = {{"iopf.wakeup", "2us"},       {"iopf_cost", "27.8us"},
                                                {"iopf_page_cost", "700ns"},  {"fault_batch", "256"},
                                                {"fault_handlers", "1"},      {NULL, NULL}};

/* A swap-in from a NAND NVMe SSD: a 4 KiB random read of 85 us. */
static const scim_profile_value swap_values[] = {{"swap.read_latency", "85us"}, {NULL, NULL}};

const scim_fault_profile scim_fault_profiles[] = {
    {"sva", "A software SVA minor fault on a CPU host (Linux io-pgfault): the defaults of the os.* table.",
     "see the os.* rows of docs/config.md", sva_values},
    {"odp", "A NIC's page fault with on-demand paging (RDMA ODP): a fixed cost per fault, the faulting range "
            "mapped at once, pages resident.",
     "Lesokhin et al., \"Page Fault Support for Network Controllers\", ASPLOS'17: 220 us for a 4 KB fault, 350 us "
     "for a 4 MB one (secondary); the fixed and per-page split derived",
     odp_values},
    {"uvm", "A GPU's far fault under unified memory: the driver services batches of up to 256 faults in one "
            "context.",
     "NVIDIA open-gpu-kernel-modules 595.45.04, UVM_PERF_FAULT_BATCH_COUNT_DEFAULT 256 (seen); one fault 31.8 us "
     "(MSched, arXiv 2512.24637, secondary); 313 us median per batch of 256 (Kim et al. ASPLOS'20, secondary); "
     "derived: per fault (313 - 31.8) / 255 = 1.1 us = 0.7 us + ~0.4 us zeroing; per batch 31.8 - 0.9 us "
     "messaging - 2 us wake-up - 1.1 us = 27.8 us",
     uvm_values},
    {"swap", "A major fault: sva, the page read back from a NAND NVMe swap device.",
     "Intel P4500 product guide: 85 us random 4 KB read (1-2 TB models)", swap_values},
};
const size_t scim_fault_profile_count = sizeof scim_fault_profiles / sizeof scim_fault_profiles[0];

void scim_os_profile_decls(const scim_cfg_node *os_section, scim_param_decl *out)
{
    memcpy(out, scim_os_param_decls, scim_os_param_decl_count * sizeof *out);
    const scim_cfg_node *n = os_section ? scim_cfg_map_get(os_section, "fault_profile") : NULL;
    const char *name = n ? scim_cfg_node_scalar(n) : NULL;
    for (size_t i = 0; name && i < scim_fault_profile_count; i++) {
        if (strcmp(scim_fault_profiles[i].name, name) != 0)
            continue;
        for (const scim_profile_value *v = scim_fault_profiles[i].values; v->key; v++)
            for (size_t d = 0; d < scim_os_param_decl_count; d++)
                if (strcmp(out[d].key, v->key) == 0)
                    out[d].def = v->value;
    }
}

void scim_vm_profile_decls(const scim_cfg_node *vm_section, scim_param_decl *out)
{
    memcpy(out, scim_vm_param_decls, scim_vm_param_decl_count * sizeof *out);
    const scim_cfg_node *n = vm_section ? scim_cfg_get_path(vm_section, "guest.fault_profile") : NULL;
    const char *name = n ? scim_cfg_node_scalar(n) : NULL;
    static const char prefix[] = "guest.";
    for (size_t i = 0; name && i < scim_fault_profile_count; i++) {
        if (strcmp(scim_fault_profiles[i].name, name) != 0)
            continue;
        /* a profile's keys the guest has (its swap latency is the host's) */
        for (const scim_profile_value *v = scim_fault_profiles[i].values; v->key; v++)
            for (size_t d = 0; d < scim_vm_param_decl_count; d++)
                if (strncmp(out[d].key, prefix, sizeof prefix - 1) == 0 &&
                    strcmp(out[d].key + sizeof prefix - 1, v->key) == 0)
                    out[d].def = v->value;
    }
}

int scim_fault_profiles_markdown(FILE *out)
{
    fprintf(out, "| profile | what it models | keys it sets | source |\n|---|---|---|---|\n");
    for (size_t i = 0; i < scim_fault_profile_count; i++) {
        const scim_fault_profile *p = &scim_fault_profiles[i];
        fprintf(out, "| `%s` | %s | ", p->name, p->doc);
        if (!p->values->key)
            fprintf(out, "(the table's defaults)");
        for (const scim_profile_value *v = p->values; v->key; v++)
            fprintf(out, "%s`os.%s: %s`", v == p->values ? "" : ", ", v->key, v->value);
        fprintf(out, " | %s |\n", p->source);
    }
    return ferror(out) ? SCIM_EIO : 0;
}
