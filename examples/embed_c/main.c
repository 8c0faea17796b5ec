/* Embedding scimitar in a C program: load a configuration, override a
 * key, drive a device from the program with callbacks, unmap a buffer
 * from the program and watch the device's invalidation, read statistics.
 *
 *   cc main.c $(pkg-config --cflags --libs scimitar) -o embed_c
 *   ./embed_c nic.yaml
 */
#include <stdio.h>
#include <stdlib.h>

#include "scimitar/host.h"
#include "scimitar/scimitar.h"

#define RING 0x10000000ull
#define HEAP 0x20000000ull

static void on_done(void *ctx, scim_dev *dev, const scim_dev_completion *c)
{
    (void)ctx;
    printf("completion  %-5s tag %llu: %s %llu bytes at va 0x%llx -> pa 0x%llx, %.3f us\n", scim_dev_name(dev),
           (unsigned long long)c->tag, c->op == SCIM_DEV_WRITE ? "write" : "read", (unsigned long long)c->size,
           (unsigned long long)c->va, (unsigned long long)(c->n_pages ? c->pa[0] : 0), c->latency * 1e-6);
    if (c->status != SCIM_OK)
        printf("            tag %llu failed: %s\n", (unsigned long long)c->tag, scim_status_name(c->status));
}

static void on_fault(void *ctx, scim_dev *dev, const scim_dev_fault *f)
{
    (void)ctx;
    if (!f->resolved)
        printf("fault       %-5s tag %llu: I/O page fault at va 0x%llx (%u page(s))\n", scim_dev_name(dev),
               (unsigned long long)f->tag, (unsigned long long)f->va, f->pages);
    else
        printf("fault       %-5s va 0x%llx %s after %.3f us\n", scim_dev_name(dev), (unsigned long long)f->va,
               f->ok ? "resolved" : "refused", f->latency * 1e-6);
}

static void on_inval(void *ctx, scim_dev *dev, const scim_dev_invalidation *inv)
{
    (void)ctx;
    printf("invalidate  %-5s pasid %u va 0x%llx + %llu bytes: %llu entries removed in %.3f us\n", scim_dev_name(dev),
           inv->pasid, (unsigned long long)inv->va, (unsigned long long)inv->len, (unsigned long long)inv->entries,
           (inv->completed - inv->arrived) * 1e-6);
}

static void on_os(void *ctx, uint64_t tag, int status, scim_time_t submitted, scim_time_t completed)
{
    (void)ctx;
    printf("os call     tag %llu: %s in %.3f us (shootdowns included)\n", (unsigned long long)tag,
           status == SCIM_OK ? "done" : scim_status_name(status), (completed - submitted) * 1e-6);
}

static int fail(scim_sim *sim)
{
    fprintf(stderr, "embed_c: %s\n", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    return 1;
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1] : "nic.yaml";
    scim_sim *sim = scim_sim_create();
    if (!sim)
        return 1;
    if (scim_sim_load_file(sim, config) || scim_sim_set(sim, "devices.nic0.iotlb.entries=64") ||
        scim_sim_build(sim))
        return fail(sim);
    scim_dev *nic = scim_sim_device(sim, "nic0");
    scim_dev_callbacks cb = {.completion = on_done, .fault = on_fault, .invalidation = on_inval};
    if (!nic || scim_dev_set_callbacks(nic, &cb, NULL))
        return fail(sim);

    /* four packets into the ring, one every microsecond, and a write to
     * the heap that faults */
    for (uint64_t i = 0; i < 4; i++) {
        scim_dev_request r = {SCIM_DEV_WRITE, 0, RING + i * 2048, 1500, i, SCIM_US(i)};
        if (scim_dev_submit_request(nic, &r))
            return fail(sim);
    }
    if (scim_dev_submit(nic, SCIM_DEV_WRITE, HEAP, 256, 100) || scim_sim_run_until(sim, SCIM_US(50)))
        return fail(sim);

    /* the program unmaps the first ring page: the device's IOTLB entry goes */
    scim_os_call unmap = {.op = SCIM_OP_MUNMAP, .pasid = 1, .va = RING, .len = 4096, .tag = 1, .at = scim_sim_now(sim)};
    if (scim_sim_os_call(sim, &unmap, on_os, NULL) || scim_sim_run_until(sim, SCIM_US(100)))
        return fail(sim);

    /* a DMA to the unmapped page fails (the OS refuses the fault) */
    if (scim_dev_submit(nic, SCIM_DEV_READ, RING, 64, 200) || scim_sim_run(sim) || scim_sim_finish(sim))
        return fail(sim);

    double dmas, mean, misses;
    scim_stats *st = scim_sim_stats(sim);
    scim_stats_lookup(st, "nic0.dma.requests", &dmas);
    scim_stats_lookup(st, "nic0.dma.latency.mean", &mean);
    scim_stats_lookup(st, "nic0.iotlb.misses", &misses);
    printf("stats       %.0f DMAs, mean latency %.3f us, %.0f IOTLB misses\n", dmas, mean * 1e-6, misses);
    if (argc > 2 && scim_sim_write_stats(sim, argv[2]))
        return fail(sim);
    scim_sim_destroy(sim);
    return 0;
}
