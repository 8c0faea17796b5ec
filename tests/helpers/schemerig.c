#include "helpers/schemerig.h"

#include <stdio.h>

/* S, P, U, M, N, F of schemerig.h */
#define COSTS                                                                                                \
    "syscall_cost: 1us, pin_page_cost: 200ns, unpin_page_cost: 100ns, iommu_map_page_cost: 300ns, "          \
    "iommu_unmap_page_cost: 150ns, cpu_fault_cost: 1700ns"

static const char *opt(const char *s) { return s ? s : ""; }
static const char *sep(const char *s) { return s && *s ? ", " : ""; }

/* The configuration of case c, with its trace at trace_path. */
static void scheme_yaml(const scheme_case *c, const char *trace_path, char *yaml, size_t len)
{
    char ring[128] = "";
    if (c->ring)
        snprintf(ring, sizeof ring, "      - {va: 0x%x, size: 64KiB, populate: true, static_dma: true}\n", RING);
    snprintf(yaml, len,
             "scheme: %s\n"
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
             "iommu: {clock: 1GHz, iotlb: {latency: 2}, pwc: {latency: 3}}\n"
             "os: {%s, driver: {queues: %u},\n"
             "     pin: {lookup_cost: 50ns%s%s},\n"
             "     iommu_map: {iova_alloc_cost: 40ns, iova_free_cost: 20ns%s%s}%s%s}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n"
             "      - {va: 0x10000000, size: 8MiB, populate: %s}\n"
             "%s"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns}\n"
             "    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: iommu, latency: 50ns}\n"
             "    - {a: os, b: mem, latency: 50ns}\n"
             "devices:\n"
             "  nic0: {trace: %s, pasid: 1, clock: 1GHz, iotlb: {latency: 1}%s%s}\n",
             c->scheme, c->costs ? c->costs : COSTS, c->queues ? c->queues : 1, sep(c->pin), opt(c->pin), sep(c->map), opt(c->map), sep(c->os),
             opt(c->os), c->populate ? "true" : "false", ring, trace_path, sep(c->device), opt(c->device));
}

scim_sim *scheme_run(const scheme_case *c)
{
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic.trace", c->trace, path, sizeof path);
    scheme_yaml(c, path, yaml, sizeof yaml);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

int scheme_build(const scheme_case *c, char *msg, size_t len)
{
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic.trace", c->trace, path, sizeof path);
    scheme_yaml(c, path, yaml, sizeof yaml);
    int rc = build_yaml(yaml, msg, len);
    tmpdir_remove(dir);
    return rc;
}
