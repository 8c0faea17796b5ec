/* Host allocation failures in the library's writers that allocate as they
 * go (helpers/oom.h): the configuration as run (scim_sim_dump_config:
 * every default filled in), `trace import` (two traces and a
 * configuration, published only when all three are complete), the
 * locality analysis of two traces (its JSON report) and `trace gen` (a
 * NIC's trace and its application's CPU traces for two tenants). Every
 * allocation fails in turn (alone, then with every later one): the output
 * of a run without failures, byte for byte, or SCIM_ENOMEM, nothing leaked,
 * and after a failure no output file left behind. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "workload/import.h"
#include "workload/locality.h"
#include "workload/tracegen.h"
#include "helpers/testutil.h"

static char dir[256];

/* a NIC with a shadow copy and backup writes, a core, swap */
static int load(scim_sim *sim)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "seed: 1\n"
             "scheme: scimitar\n"
             "memory: {size: 16MiB}\n"
             "os: {swap: {size: 4MiB}}\n"
             "processes:\n"
             "  app: {pasid: 1, regions: [{va: 0x10000000, size: 64KiB}, {va: 0x10010000, size: 16KiB, populate: true}]}\n"
             "cpus:\n"
             "  cpu0: {trace: %s/cpu.trace, pasid: 1}\n"
             "devices:\n"
             "  nic0: {trace: %s/dev.trace, pasid: 1, walk: shadow, fault_policy: backup}\n",
             dir, dir);
    return scim_sim_load_string(sim, yaml, "oom_writers.yaml");
}

static void setup(void)
{
    char p[300];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace",
               "@0 read 0x10000000 4096 io=1\n"
               "+10 write 0x10004000 8192 io=2\n"
               "+10 read 0x10010000 64 io=3\n"
               "@20000 read 0x10000000 64 io=4\n",
               p, sizeof p);
    write_file(dir, "cpu.trace",
               "@0 write 0x10010000 64\n"
               "+100 read 0x10012000 64\n"
               "+10 mmap 0x10100000 0x4000 prot=rw\n"
               "+10 write 0x10100000 8\n",
               p, sizeof p);
}

static void teardown(void) { tmpdir_remove(dir); }

/* The configuration as run. */
static int dump_scenario(char *out, size_t len, scim_err *err)
{
    scim_sim *sim = oom_built(load);
    int rc = 0;
    FILE *f = fmemopen(out, len, "w");
    if (!f)
        rc = scim_err_set(err, SCIM_EIO, "fmemopen");
    else if ((rc = scim_sim_dump_config(sim, f)) != 0)
        scim_err_set(err, rc, "%s", scim_sim_errmsg(sim));
    if (f)
        fclose(f);
    OOM_QUIET(scim_sim_destroy(sim));
    return rc;
}

START_TEST(config_as_run_under_allocation_failures)
{
    exhaust_modes("scim_sim_dump_config", dump_scenario, 1);
}
END_TEST

/* A lackey log with loads, stores and one read(2) into a buffer. */
static const char *const lackey_log = "I  04000000,3\n"
                                      " L 00601000,4\n"
                                      " S 00602008,8\n"
                                      "SYSCALL[7,1](0) sys_read ( 3, 0x601000, 5000 ) --> [async] ... \n"
                                      "SYSCALL[7,1](0) ... [async] --> Success(0x1388) \n"
                                      "I  04000003,4\n"
                                      " M 00603000,8\n"
                                      "==7== Exit code:       0\n";

static int import_scenario(char *out, size_t len, scim_err *err)
{
    char log[512], prefix[512], yaml[600];
    snprintf(log, sizeof log, "%s/a.log", dir);
    snprintf(prefix, sizeof prefix, "%s/x", dir);
    snprintf(yaml, sizeof yaml, "%s.yaml", prefix);
    scim_import_result r;
    int rc = scim_import_write(SCIM_IMPORT_LACKEY, log, prefix, NULL, &r, err);
    char *text = NULL;
    OOM_QUIET(text = slurp(yaml, NULL));
    if (rc) {
        bool left = text != NULL;
        free(text);
        return left ? scim_err_set(err, SCIM_EEXIST, "%s left behind after: %s", yaml, err->msg) : rc;
    }
    snprintf(out, len, "%llu %llu %llu\n%s", (unsigned long long)r.counts.io_calls, (unsigned long long)r.cpu_pages,
             (unsigned long long)r.dev_pages, text ? text : "(no configuration)");
    free(text);
    OOM_QUIET(remove(yaml));
    return 0;
}

START_TEST(import_under_allocation_failures)
{
    char p[512];
    write_file(dir, "a.log", lackey_log, p, sizeof p);
    exhaust("scim_import_write", import_scenario);
}
END_TEST

static int locality_scenario(char *out, size_t len, scim_err *err)
{
    char dev[512], cpu[512];
    snprintf(dev, sizeof dev, "%s/dev.trace", dir);
    snprintf(cpu, sizeof cpu, "%s/cpu.trace", dir);
    scim_loc_params p;
    scim_loc_params_default(&p);
    scim_loc_result r;
    int rc = scim_loc_from_traces(dev, cpu, &p, &r, err);
    if (rc)
        return rc;
    FILE *f = fmemopen(out, len, "w");
    rc = f ? scim_loc_write_json(&r, f) : scim_err_set(err, SCIM_EIO, "fmemopen");
    if (rc && !err->code) /* the writers take no error object */
        scim_err_set(err, rc, "scim_loc_write_json");
    if (f)
        fclose(f);
    scim_loc_result_free(&r);
    return rc;
}

START_TEST(locality_under_allocation_failures) { exhaust("scim_loc_from_traces", locality_scenario); }
END_TEST

static int tracegen_scenario(char *out, size_t len, scim_err *err)
{
    char dev[512], cpu[512], cpu0[512], cpu1[512];
    snprintf(dev, sizeof dev, "%s/g.trace", dir);
    snprintf(cpu, sizeof cpu, "%s/g.cpu%%t.trace", dir);
    snprintf(cpu0, sizeof cpu0, "%s/g.cpu0.trace", dir);
    snprintf(cpu1, sizeof cpu1, "%s/g.cpu1.trace", dir);
    const scim_tracegen_opt opts[] = {{"count", "16"}, {"tenants", "2"}};
    scim_tracegen_output o = {dev, cpu, SCIM_TRACE_TEXT, SCIM_TRACE_TEXT, false, false};
    int rc = scim_tracegen_write("nic-rx", opts, 2, &o, NULL, err);
    char *d = NULL, *c0 = NULL, *c1 = NULL;
    OOM_QUIET(d = slurp(dev, NULL); c0 = slurp(cpu0, NULL); c1 = slurp(cpu1, NULL); remove(dev); remove(cpu0);
              remove(cpu1));
    if (rc == 0)
        snprintf(out, len, "%s----\n%s----\n%s", d ? d : "(none)", c0 ? c0 : "(none)", c1 ? c1 : "(none)");
    else if (d || c0 || c1)
        rc = scim_err_set(err, SCIM_EEXIST, "a trace left behind after: %s", err->msg);
    free(d);
    free(c0);
    free(c1);
    return rc;
}

START_TEST(tracegen_under_allocation_failures) { exhaust("scim_tracegen_write", tracegen_scenario); }
END_TEST

static Suite *oom_writers_suite(void)
{
    Suite *s = suite_create("oom_writers");
    TCase *tc = tcase_create("writers");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_as_run_under_allocation_failures);
    tcase_add_test(tc, import_under_allocation_failures);
    tcase_add_test(tc, locality_under_allocation_failures);
    tcase_add_test(tc, tracegen_under_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_writers_suite()); }
