/* The trace generator's public calls at their edges: kind names out of
 * range and a NULL kind; a missing output, an option without a name or a
 * value (each refused with its message, nothing written); a PASID base
 * other than 1 with one tenant (records then carry pasid=); traces that
 * cannot be created (a directory that does not exist, with and without an
 * err to fill: the status either way); CPU trace names with a '%' that is
 * not %t, that expand to nothing or past a path's length. Expected values:
 * the kinds the header lists, the exact messages, the files left. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "scimitar/trace.h"
#include "workload/tracegen.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

START_TEST(kind_names)
{
    static const char *const want[] = {"nic-rx", "nic-tx", "storage", "kv", "stream"};
    ck_assert_int_eq(scim_tracegen_kind_count(), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(scim_tracegen_kind_name(i), want[i]);
    ck_assert_ptr_null(scim_tracegen_kind_name(-1));
    ck_assert_ptr_null(scim_tracegen_kind_name(5));
    ck_assert(!scim_tracegen_kind_exists(NULL));
    ck_assert(scim_tracegen_kind_exists("kv"));
}
END_TEST

/* err starts empty each call: its first message is kept */
static int gen(const char *kind, const scim_tracegen_opt *o, size_t n, const scim_tracegen_output *out, scim_err *e)
{
    if (e)
        *e = (scim_err){0};
    return scim_tracegen_write(kind, o, n, out, NULL, e);
}

START_TEST(refused_calls)
{
    scim_err err = {0};
    char dev[512];
    snprintf(dev, sizeof dev, "%s", path_in(dir, "d.trace"));
    scim_tracegen_output out = {.path = dev};
    ck_assert_int_eq(gen(NULL, NULL, 0, &out, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen: unknown kind ''; expected one of nic-rx, nic-tx, storage, kv, stream");
    ck_assert_int_eq(gen("kv", NULL, 0, NULL, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen kv: no output file; give -o FILE");
    scim_tracegen_output no_path = {0};
    ck_assert_int_eq(gen("kv", NULL, 0, &no_path, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen kv: no output file; give -o FILE");
    scim_tracegen_opt unnamed[] = {{"count", "10"}, {NULL, "3"}};
    ck_assert_int_eq(gen("kv", unnamed, 2, &out, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen kv: option 2 has no name");
    scim_tracegen_opt no_value[] = {{"count", NULL}};
    ck_assert_int_eq(gen("kv", no_value, 1, &out, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen kv: --count needs a value");
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

/* One tenant in PASID 5: every record says so (2 operations of stream). */
START_TEST(pasid_base_alone_keys_records)
{
    char dev[512];
    snprintf(dev, sizeof dev, "%s", path_in(dir, "p.trace"));
    scim_tracegen_output out = {.path = dev};
    scim_tracegen_opt o[] = {{"pasid-base", "5"}, {"count", "2"}};
    scim_tracegen_summary s;
    scim_err err = {0};
    ck_assert_msg(scim_tracegen_write("stream", o, 2, &out, &s, &err) == 0, "%s", err.msg);
    ck_assert(s.pasid_keys);
    char *txt = trace_records(dev);
    size_t lines = 0;
    for (char *l = strtok(txt, "\n"); l; l = strtok(NULL, "\n"), lines++)
        ck_assert_msg(strstr(l, " pasid=5") != NULL, "record without pasid=5: %s", l);
    free(txt);
    ck_assert_uint_eq(lines, s.records);
    ck_assert_uint_gt(lines, 0);
}
END_TEST

START_TEST(outputs_that_cannot_be_created)
{
    char dev[512], cpu[512];
    snprintf(dev, sizeof dev, "%s/no/such/dir/d.trace", dir);
    scim_tracegen_output out = {.path = dev};
    scim_err err = {0};
    int rc = gen("kv", NULL, 0, &out, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(rc, err.code);
    ck_assert_msg(strstr(err.msg, dev) != NULL, "%s", err.msg);
    /* without an err to fill, the status alone */
    ck_assert_int_lt(gen("kv", NULL, 0, &out, NULL), 0);
    /* the CPU trace's directory does not exist: no device trace either */
    snprintf(dev, sizeof dev, "%s", path_in(dir, "d.trace"));
    snprintf(cpu, sizeof cpu, "%s/no/such/dir/c.trace", dir);
    out.cpu_path = cpu;
    err = (scim_err){0};
    rc = gen("kv", NULL, 0, &out, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(rc, err.code);
    ck_assert_msg(strstr(err.msg, cpu) != NULL, "%s", err.msg);
    ck_assert_int_lt(gen("kv", NULL, 0, &out, NULL), 0);
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

START_TEST(cpu_trace_names)
{
    char dev[512], cpu[512];
    snprintf(dev, sizeof dev, "%s", path_in(dir, "d.trace"));
    /* '%' not followed by t is itself: tenants 0 and 1 write c%x0 and c%x1 */
    snprintf(cpu, sizeof cpu, "%s/c%%x%%t.trace", dir);
    scim_tracegen_output out = {.path = dev, .cpu_path = cpu};
    scim_tracegen_opt two[] = {{"tenants", "2"}, {"count", "4"}};
    scim_err err = {0};
    ck_assert_msg(gen("kv", two, 2, &out, &err) == 0, "%s", err.msg);
    char *c0 = slurp(path_in(dir, "c%x0.trace"), NULL), *c1 = slurp(path_in(dir, "c%x1.trace"), NULL);
    ck_assert_ptr_nonnull(c0);
    ck_assert_ptr_nonnull(c1);
    free(c0);
    free(c1);
    ck_assert_int_eq(dir_entries(dir), 3);
    /* an empty name is no file */
    snprintf(dev, sizeof dev, "%s", path_in(dir, "e.trace"));
    out.cpu_path = "";
    ck_assert_int_lt(gen("kv", NULL, 0, &out, &err), 0);
    ck_assert_int_eq(dir_entries(dir), 3);
    /* %t growing a name past the 4096 bytes of a path */
    char *longname = malloc(4200);
    memset(longname, 'a', 4095);
    strcpy(longname + 4095, "%t");
    out.cpu_path = longname;
    ck_assert_int_eq(gen("kv", two, 2, &out, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "trace gen kv: CPU trace name too long");
    free(longname);
    ck_assert_int_eq(dir_entries(dir), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tracegen_api");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kind_names);
    tcase_add_test(tc, refused_calls);
    tcase_add_test(tc, pasid_base_alone_keys_records);
    tcase_add_test(tc, outputs_that_cannot_be_created);
    tcase_add_test(tc, cpu_trace_names);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
