/* Configurations that are well-formed YAML but not a model: each is
 * refused at load or build with its status and its exact message,
 * FILE:LINE:COL pointing at the offending node, what was expected and how
 * to fix it. The sections (fabric links, processes and regions, devices
 * and cores, tenants, settings of the wrong shape, schemes' limits on
 * devices, inject rules, YAML tags) are each tested where they are read.
 * Every case is a whole configuration given to scim_sim_load_string and
 * scim_sim_build, as the CLI does. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "scimitar/scimitar.h"

/* One process (line 1) the other lines may refer to. */
#define PROC "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB}]}}\n"

typedef struct bad_config {
    const char *yaml;
    int code;
    const char *msg; /* the whole message */
} bad_config;

static const bad_config cases[] = {
    /* fabric.links */
    {PROC "fabric: {links: 3}\n", SCIM_ECONFIG,
     "test.yaml:2:17: error: fabric.links must be a list of {a, b, latency, bandwidth}"},
    {PROC "fabric: {links: [3]}\n", SCIM_ECONFIG,
     "test.yaml:2:18: error: 'fabric.links.0' must be a map of settings, not a single value"},
    {PROC "fabric: {links: [{a: nic0, b: nowhere, latency: 1ns}]}\ndevices: {nic0: {source: host, pasid: 1}}\n",
     SCIM_ECONFIG, "test.yaml:2:31: error: fabric.links.0.b: no node is named 'nowhere'; nodes are: mem, os, iommu, nic0"},
    {"fabric: {links: [{a: nowhere, b: mem, latency: 1ns}]}\n", SCIM_ECONFIG,
     "test.yaml:1:22: error: fabric.links.0.a: no node is named 'nowhere'; nodes are: mem, os, iommu"},
    /* the fabric refuses these links: still the configuration's error */
    {PROC "fabric: {links: [{a: os, b: os, latency: 1ns}]}\n", SCIM_ECONFIG,
     "test.yaml:2:18: error: fabric.links.0: a link from node 'os' to itself is not allowed"},
    {PROC "fabric: {links: [{a: os, b: mem, latency: 1ns}, {a: mem, b: os, latency: 2ns}]}\n", SCIM_ECONFIG,
     "test.yaml:2:49: error: fabric.links.1: two links join 'mem' and 'os'; keep one"},
    /* processes and regions */
    {"processes: 3\n", SCIM_ECONFIG,
     "test.yaml:1:12: error: 'processes' must be a map of processes name to settings, e.g. processes: {x0: {...}}"},
    {"processes: {app: 3}\n", SCIM_ECONFIG, "test.yaml:1:18: error: 'processes.app' must be a map of settings, not a "
                                            "single value"},
    {"processes: {app: {pasid: 1, regions: 3}}\n", SCIM_ECONFIG,
     "test.yaml:1:38: error: processes.app.regions must be a list of {va, size, populate}"},
    {"processes: {app: {pasid: 1, regions: [3]}}\n", SCIM_ECONFIG,
     "test.yaml:1:39: error: 'processes.app.regions.0' must be a map of settings, not a single value"},
    {"processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB, bogus: 1}]}}\n", SCIM_ECONFIG,
     "test.yaml:1:68: error: unknown key 'processes.app.regions.0.bogus'; valid here: va, size, populate, page_size, "
     "prot, static_dma"},
    {PROC "  b: {pasid: 1}\n", SCIM_EPARSE, NULL}, /* a flow map cannot continue: YAML's error */
    {"processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB}]}, b: {pasid: 1}}\n", SCIM_EEXIST,
     "test.yaml:1:74: error: processes.b: two processes use pasid 1; PASIDs must be unique"},
    /* regions the OS cannot map (its own status: overlap, alignment, canonical form) */
    {"processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB}, {va: 0x10100000, size: 2MiB}]}}\n",
     SCIM_EEXIST,
     "test.yaml:1:69: error: processes.app.regions.1: region [0x10100000, 0x10300000) of pasid 1 overlaps "
     "[0x10000000, 0x10200000)"},
    {"processes: {app: {pasid: 1, regions: [{va: 0x10001000, size: 2MiB, page_size: 2M}]}}\n", SCIM_EINVAL,
     "test.yaml:1:39: error: processes.app.regions.0: region va 0x10001000 size 0x200000 must be non-empty and "
     "aligned to its page size (2048 KiB)"},
    {"processes: {app: {pasid: 1, regions: [{va: 0xfffffffffffff000, size: 8KiB}]}}\n", SCIM_EINVAL,
     "test.yaml:1:39: error: processes.app.regions.0: region va 0xfffffffffffff000 size 0x2000 must be non-empty "
     "and aligned to its page size (4 KiB)"},
    {"processes: {app: {pasid: 1, regions: [{va: 0x800000000000, size: 4KiB}]}}\n", SCIM_EINVAL,
     "test.yaml:1:39: error: processes.app.regions.0: region [0x800000000000, 0x800000001000) is not canonical for "
     "x86-64 4-level paging"},
    {"system: {isa: riscv, paging: sv39}\n"
     "processes: {app: {pasid: 1, regions: [{va: 0x4000000000, size: 4KiB}]}}\n", SCIM_EINVAL,
     "test.yaml:2:39: error: processes.app.regions.0: region [0x4000000000, 0x4000001000) is not canonical for "
     "riscv sv39 paging"},
    {"scheme: pin\nprocesses: {app: {pasid: 1, regions: [{va: 0x10000000, size: 2MiB, static_dma: true}]}}\n"
     "devices: {nic0: {source: host, pasid: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:80: error: processes.app.regions.0.static_dma: a driver sets the region up when it binds a "
     "device, so its pages must be present; add populate: true"},
    {"system: {isa: riscv, paging: sv32}\n" PROC, SCIM_ECONFIG,
     "test.yaml:1:30: error: key 'system.paging': expected one of: default, 4-level, 5-level, va39, va48, sv39, "
     "sv48, sv57 (did you mean 'sv39'?), got 'sv32'"},
    /* a range's bounds in full, not as 1.44115188075856e+17 */
    {"processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 0}]}}\n", SCIM_ECONFIG,
     "test.yaml:1:62: error: key 'processes.app.regions.0.size': value 0 is outside the allowed range "
     "1..144115188075855872 (in bytes), got '0'"},
    /* a process's paging levels that its ISA has not (the choices named) */
    {"processes: {app: {pasid: 1, levels: 3, regions: [{va: 0x10000000, size: 2MiB}]}}\n", SCIM_EINVAL,
     "test.yaml:1:18: error: processes.app: process 'app': x86-64 has no 3-level paging (4 levels or 5)"},
    {"system: {isa: riscv}\nprocesses: {app: {pasid: 1, levels: 2, regions: [{va: 0x10000000, size: 2MiB}]}}\n",
     SCIM_EINVAL,
     "test.yaml:2:18: error: processes.app: process 'app': riscv has no 2-level paging (3 levels: sv39, 4: sv48, or "
     "5: sv57)"},
    {"system: {isa: armv8}\nprocesses: {app: {pasid: 1, levels: 5, regions: [{va: 0x10000000, size: 2MiB}]}}\n",
     SCIM_EINVAL,
     "test.yaml:2:18: error: processes.app: process 'app': armv8 has no 5-level paging (3 levels: va39, or 4: "
     "va48)"},
    /* devices and cores */
    {PROC "devices: 3\n", SCIM_ECONFIG,
     "test.yaml:2:10: error: 'devices' must be a map of devices name to settings, e.g. devices: {x0: {...}}"},
    {PROC "cpus: 3\n", SCIM_ECONFIG,
     "test.yaml:2:7: error: 'cpus' must be a map of cpus name to settings, e.g. cpus: {x0: {...}}"},
    {PROC "devices: {Nic: {source: host, pasid: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:11: error: bad device name 'Nic': use 1-40 characters from [a-z0-9_], other than mem, os and iommu"},
    {PROC "devices: {mem: {source: host, pasid: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:11: error: bad device name 'mem': use 1-40 characters from [a-z0-9_], other than mem, os and iommu"},
    {PROC "devices: {n23456789012345678901234567890123456789012: {source: host, pasid: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:11: error: bad device name 'n23456789012345678901234567890123456789012': use 1-40 characters from "
     "[a-z0-9_], other than mem, os and iommu"},
    {PROC "cpus: {nic0: {trace: x.trace, pasid: 1}}\ndevices: {nic0: {source: host, pasid: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:8: error: bad core name 'nic0': use 1-40 characters from [a-z0-9_], not mem, os, iommu or a "
     "device's name"},
    {PROC "devices: {nic0: {source: host, pasid: 7}}\n", SCIM_ECONFIG,
     "test.yaml:2:39: error: devices.nic0.pasid is 7 but no process has that pasid; add processes.<name>.pasid: 7 or "
     "change the device's pasid"},
    {PROC "cpus: {cpu0: {trace: x.trace, pasid: 7}}\n", SCIM_ECONFIG,
     "test.yaml:2:38: error: cpus.cpu0.pasid is 7 but no process has that pasid; add processes.<name>.pasid: 7 or "
     "change the core's pasid"},
    /* tenants */
    {PROC "devices: {nic0: {source: host, pasid: 1, tenants: 3}}\n", SCIM_ECONFIG,
     "test.yaml:2:51: error: devices.nic0.tenants must be a list of PASIDs, e.g. [2, 3]"},
    {PROC "devices: {nic0: {source: host, pasid: 1, tenants: [x]}}\n", SCIM_ECONFIG,
     "test.yaml:2:52: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {PROC "devices: {nic0: {source: host, pasid: 1, tenants: [0]}}\n", SCIM_ECONFIG,
     "test.yaml:2:52: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {PROC "devices: {nic0: {source: host, pasid: 1, tenants: [1048576]}}\n", SCIM_ECONFIG,
     "test.yaml:2:52: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {PROC "devices: {nic0: {source: host, pasid: 1, tenants: [2]}}\n", SCIM_ECONFIG,
     "test.yaml:2:52: error: devices.nic0.tenants[0] is 2 but no process has that pasid; add processes.<name>.pasid: 2 "
     "or remove it from the list"},
    {PROC "devices: {nic0: {source: host, pasid: 1, walk: device, tenants: [2]}}\n", SCIM_ECONFIG,
     "test.yaml:2:65: error: devices.nic0.tenants: a device serves several address spaces only under scheme scimitar "
     "with walk iommu or software (its own walker and a shadow copy follow one page table)"},
    {"scheme: pin\n" PROC "devices: {nic0: {source: host, pasid: 1, tenants: [2]}}\n", SCIM_ECONFIG,
     "test.yaml:3:51: error: devices.nic0.tenants: a device serves several address spaces only under scheme scimitar "
     "with walk iommu or software (its own walker and a shadow copy follow one page table)"},
    /* a device without an ATC under iommu-map has none of its parts */
    {"scheme: iommu-map\n" PROC "devices: {nic0: {source: host, pasid: 1, ats: false, prefault: 4}}\n", SCIM_ECONFIG,
     "test.yaml:3:17: error: devices.nic0.prefault: a device without an ATC sends no page requests (the IOMMU asks for "
     "the faulting page); expected prefault: 0 (ats: false)"},
    {"scheme: iommu-map\n" PROC "devices: {nic0: {source: host, pasid: 1, ats: false, iotlb: {prefetch: 1}}}\n",
     SCIM_ECONFIG,
     "test.yaml:3:17: error: devices.nic0.iotlb: a device without an ATC has no IOTLB to prefetch into; expected "
     "iotlb.prefetch: 0 (ats: false)"},
    {"scheme: iommu-map\n" PROC "devices: {nic0: {source: host, pasid: 1, ats: false, utlb: {entries: 4}}}\n",
     SCIM_ECONFIG,
     "test.yaml:3:17: error: devices.nic0.utlb: a device without an ATC has no micro-TLB; expected utlb.entries: 0 "
     "(ats: false)"},
    /* settings of the wrong shape */
    {PROC "memory: {size: [1, 2]}\n", SCIM_ECONFIG,
     "test.yaml:2:16: error: key 'memory.size': expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB, got a list"},
    {PROC "memory: {size: {a: 1}}\n", SCIM_ECONFIG,
     "test.yaml:2:16: error: key 'memory.size': expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB, got a map"},
    {PROC "memory: {size: }\n", SCIM_ECONFIG,
     "test.yaml:2:16: error: key 'memory.size': expected a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB, got "
     "nothing"},
    {PROC "memory: 3\n", SCIM_ECONFIG, "test.yaml:2:9: error: 'memory' must be a map of settings, not a single value"},
    {PROC "memory: [1]\n", SCIM_ECONFIG, "test.yaml:2:9: error: 'memory' must be a map of settings, not a list"},
    {PROC "devices: {nic0: {source: host, pasid: 1, walk: own}}\n", SCIM_ECONFIG,
     "test.yaml:2:48: error: key 'devices.nic0.walk': expected one of: iommu, device, software, shadow, got 'own'"},
    {PROC "system: {paging: sv39}\n", SCIM_ECONFIG,
     "test.yaml:2:18: error: system.paging: sv39 is not a paging mode of system.isa x86-64"},
    /* YAML tags: the standard ones are read as plain values, others refused */
    {PROC "memory: {size: !custom 64MiB}\n", SCIM_EPARSE, "test.yaml:2:16: error: unsupported YAML tag '!custom'; remove it"},
};

START_TEST(refused_with_location)
{
    const bad_config *c = &cases[_i];
    char msg[1024];
    int rc = build_yaml(c->yaml, msg, sizeof msg);
    ck_assert_msg(rc == c->code, "case %d: status %d, expected %d (%s)", _i, rc, c->code, msg);
    if (c->msg)
        ck_assert_msg(strcmp(msg, c->msg) == 0, "case %d:\n  got      %s\n  expected %s", _i, msg, c->msg);
    else
        ck_assert_msg(strncmp(msg, "test.yaml:", 7) == 0, "case %d: no location: %s", _i, msg);
}
END_TEST

/* More than 64 inject rules: the list is refused at its start. */
START_TEST(too_many_inject_rules)
{
    size_t cap = 8192, n = 0;
    char *y = malloc(cap);
    n += (size_t)snprintf(y + n, cap - n, PROC "inject:\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(y + n, cap - n, "  - {fault: swap_read_error, nth: %d}\n", i + 1);
    char msg[512];
    ck_assert_int_eq(build_yaml(y, msg, sizeof msg), SCIM_ECONFIG);
    ck_assert_str_eq(msg, "test.yaml:3:3: error: inject has more than 64 rules");
    /* 64 are fine */
    y[strlen(y) - strlen("  - {fault: swap_read_error, nth: 65}\n")] = '\0';
    ck_assert_msg(build_yaml(y, msg, sizeof msg) == 0, "%s", msg);
    free(y);
}
END_TEST

/* The standard tags are values like any other: the same model. */
START_TEST(standard_tags)
{
    char msg[512];
    ck_assert_msg(build_yaml(PROC "memory: {size: !!str 64MiB}\nseed: !!int 5\n", msg, sizeof msg) == 0, "%s", msg);
    scim_sim *a = run_yaml(PROC "memory: {size: !!str 64MiB}\nseed: !!int 5\n");
    scim_sim *b = run_yaml(PROC "memory: {size: 64MiB}\nseed: 5\n");
    ck_assert_uint_eq(scim_sim_seed(a), 5);
    scim_frame_counts fa, fb;
    ck_assert_int_eq(scim_sim_frames(a, &fa), 0);
    ck_assert_int_eq(scim_sim_frames(b, &fb), 0);
    ck_assert_uint_eq(fa.total, fb.total);
    scim_sim_destroy(a);
    scim_sim_destroy(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_errors");
    TCase *tc = tcase_create("all");
    tcase_add_loop_test(tc, refused_with_location, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, too_many_inject_rules);
    tcase_add_test(tc, standard_tags);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
