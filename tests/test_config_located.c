/* Refused configurations whose checks live in a block's constructor (the
 * OS's reclaim watermarks, the IOMMU's TLB geometry), in the fabric's
 * routing (a node the links leave unreachable) or in the scheme
 * (iommu-map's reserved PASIDs): the message must still carry
 * FILE:LINE:COL of the key (or of its section), in a file and in a --set,
 * like every other configuration error (the first three had no location). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

static const struct {
    const char *yaml, *set; /* set: a --set applied after loading, or NULL */
    int code;
    const char *msg;
} cases[] = {
    {"os: {reclaim: {high_watermark: 10, low_watermark: 20}}\n", NULL, SCIM_ECONFIG,
     "test.yaml:1:32: error: os.reclaim.high_watermark (10) must be >= os.reclaim.low_watermark (20): reclaim stops "
     "at the high mark and starts below the low one"},
    {"os:\n  reclaim:\n    low_watermark: 600\n", NULL, SCIM_ECONFIG, /* the default high (512) is below it: at os */
     "test.yaml:2:3: error: os.reclaim.high_watermark (512) must be >= os.reclaim.low_watermark (600): reclaim "
     "stops at the high mark and starts below the low one"},
    {"os: {reclaim: {low_watermark: 20}}\n", "os.reclaim.high_watermark=5", SCIM_ECONFIG,
     "--set:1:27: error: os.reclaim.high_watermark (5) must be >= os.reclaim.low_watermark (20): reclaim stops at "
     "the high mark and starts below the low one"},
    {"iommu: {iotlb: {entries: 3, ways: 2}}\n", NULL, SCIM_ERANGE,
     "test.yaml:1:8: error: iommu: TLB of 3 entries cannot have 2 ways: entries must be a multiple of ways"},
    {"kernel: {backend: native}\n", "iommu.iotlb.ways=7", SCIM_ERANGE,
     "--set:1:1: error: iommu: TLB of 64 entries cannot have 7 ways: entries must be a multiple of ways"},
    /* links that leave the IOMMU unreachable from memory: found when the fabric computes its routes */
    {"fabric: {links: [{a: os, b: mem, latency: 1ns}]}\n", NULL, SCIM_ECONFIG,
     "test.yaml:1:17: error: fabric.links: fabric node 'mem' cannot reach 'iommu': add a link (fabric.links) that "
     "connects them"},
    {"scheme: iommu-map\nprocesses:\n  app: {pasid: 0xF0000}\n", NULL, SCIM_ECONFIG,
     "test.yaml:3:8: error: processes.app.pasid: scheme iommu-map keeps PASIDs 0xf0000 and up for the devices' I/O "
     "address spaces; use a PASID below 983040"},
    /* a core may not take a fixed node's name: at the name */
    {"processes: {app: {pasid: 1}}\ncpus:\n  os: {trace: /dev/null, pasid: 1}\n", NULL, SCIM_ECONFIG,
     "test.yaml:3:3: error: bad core name 'os': use 1-40 characters from [a-z0-9_], not mem, os, iommu or a "
     "device's name"},
    {"processes: {app: {pasid: 1}}\ncpus:\n  iommu: {trace: /dev/null, pasid: 1}\n", NULL, SCIM_ECONFIG,
     "test.yaml:3:3: error: bad core name 'iommu': use 1-40 characters from [a-z0-9_], not mem, os, iommu or a "
     "device's name"},
    /* tenants that are no PASID (not a number, empty, a map, 0, past 20 bits), at the item:
     * "  nic0: {trace: /dev/null, pasid: 1, tenants: [" is 47 characters */
    {"processes: {app: {pasid: 1}}\ndevices:\n  nic0: {trace: /dev/null, pasid: 1, tenants: [abc]}\n", NULL,
     SCIM_ECONFIG, "test.yaml:3:48: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {"processes: {app: {pasid: 1}}\ndevices:\n  nic0: {trace: /dev/null, pasid: 1, tenants: [2, '']}\n", NULL,
     SCIM_ECONFIG, "test.yaml:3:51: error: devices.nic0.tenants[1]: expected a PASID from 1 to 1048575"},
    {"processes: {app: {pasid: 1}}\ndevices:\n  nic0: {trace: /dev/null, pasid: 1, tenants: [{a: 1}]}\n", NULL,
     SCIM_ECONFIG, "test.yaml:3:48: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {"processes: {app: {pasid: 1}}\ndevices:\n  nic0: {trace: /dev/null, pasid: 1, tenants: [0]}\n", NULL,
     SCIM_ECONFIG, "test.yaml:3:48: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
    {"processes: {app: {pasid: 1}}\ndevices:\n  nic0: {trace: /dev/null, pasid: 1, tenants: [0x100000]}\n", NULL,
     SCIM_ECONFIG, "test.yaml:3:48: error: devices.nic0.tenants[0]: expected a PASID from 1 to 1048575"},
};

START_TEST(located)
{
    scim_sim *sim = scim_sim_create();
    int rc = scim_sim_load_string(sim, cases[_i].yaml, "test.yaml");
    ck_assert_msg(rc == 0, "%s", scim_sim_errmsg(sim));
    if (cases[_i].set)
        ck_assert_msg(scim_sim_set(sim, cases[_i].set) == 0, "%s", scim_sim_errmsg(sim));
    rc = scim_sim_build(sim);
    ck_assert_msg(rc == cases[_i].code, "case %d: status %d, expected %d (%s)", _i, rc, cases[_i].code,
                  scim_sim_errmsg(sim));
    ck_assert_str_eq(scim_sim_errmsg(sim), cases[_i].msg);
    scim_sim_destroy(sim);
}
END_TEST

/* The edges that build: equal watermarks; one PASID below the reserved range. */
START_TEST(edges_build)
{
    char msg[1024];
    ck_assert_msg(build_yaml("os: {reclaim: {high_watermark: 20, low_watermark: 20}}\n", msg, sizeof msg) == 0, "%s",
                  msg);
    ck_assert_msg(build_yaml("scheme: iommu-map\nprocesses:\n  app: {pasid: 0xEFFFF}\n", msg, sizeof msg) == 0, "%s",
                  msg);
    ck_assert_msg(build_yaml("iommu: {iotlb: {entries: 6, ways: 2}}\n", msg, sizeof msg) == 0, "%s", msg);
    ck_assert_msg(build_yaml("fabric: {links: [{a: os, b: mem, latency: 1ns}, {a: iommu, b: os, latency: 1ns}]}\n", msg,
                             sizeof msg) == 0,
                  "%s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_located");
    TCase *tc = tcase_create("located");
    tcase_add_loop_test(tc, located, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, edges_build);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
