/* One run of nic0's trace under a scheme, for the scheme tests
 * (test_schemes.c, test_baselines.c): hand-derivable parts, unlimited
 * bandwidth, 1 GHz clocks, the safety checker on.
 *
 *   links: nic0-iommu 400 ns, iommu-mem 20 ns, os-iommu 50 ns, os-mem 50 ns;
 *   DRAM 90 ns; device IOTLB 1 ns; IOMMU IOTLB 2 ns, walk caches 3 ns;
 *   a device <-> OS message (a doorbell, a release) takes 450 ns, an IOMMU
 *   memory read 130 ns, a device memory access 930 ns.
 *   Driver costs: syscall S = 1 us, pin P = 200 ns, unpin U = 100 ns,
 *   registration-cache lookup L = 50 ns, IOMMU map M = 300 ns, unmap
 *   N = 150 ns, IOVA allocation A = 40 ns, IOVA free R = 20 ns, CPU fault
 *   F = 1.7 us.
 *   Regions of process app (pasid 1): 8 MiB of buffers at 0x10000000
 *   (populated or not), and with `ring` a 64 KiB static_dma ring at
 *   0x20000000 (populated). */
#ifndef SCIM_TEST_SCHEMERIG_H
#define SCIM_TEST_SCHEMERIG_H

#include <stdbool.h>

#include "helpers/simtest.h"

#define HOP 450.0
#define RT 130.0
#define FAR 930.0
#define S 1000.0
#define P 200.0
#define U 100.0
#define L 50.0
#define M 300.0
#define N 150.0
#define A 40.0
#define R 20.0
#define F 1700.0
/* a cold IOMMU translation for an ATS device: lookup, link, IOTLB, 2
 * PASID-table reads, walk caches, 4 table reads, link back */
#define XLATE_COLD (1 + 400 + 2 + 2 * RT + 3 + 4 * RT + 400)
#define RING 0x20000000u

typedef struct scheme_case {
    const char *scheme;
    const char *trace;  /* nic0's trace, as text */
    bool populate;      /* the buffer region */
    bool ring;          /* add the static_dma ring region */
    unsigned queues;    /* os.driver.queues; 0: 1 */
    const char *os;     /* more keys of os:, e.g. "fault_handlers: 2" */
    const char *costs;  /* replaces the driver costs above (syscall_cost, ..., cpu_fault_cost) */
    const char *pin;    /* more keys of os.pin: */
    const char *map;    /* more keys of os.iommu_map: */
    const char *device; /* more keys of nic0:, e.g. "ats: false" */
} scheme_case;

/* Build and run (a failure fails the test). */
scim_sim *scheme_run(const scheme_case *c);
/* Build only: the status, and the message in msg. */
int scheme_build(const scheme_case *c, char *msg, size_t len);

#endif
