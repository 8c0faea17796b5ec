/* Statistics: the public API's refusals (NULL arguments it documents,
 * bad tables, bad names), the empty registry, and writing to a stream or
 * a directory that cannot take the output — each with its exact code and
 * message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/stats.h"
#include "helpers/testutil.h"

typedef struct comp {
    uint64_t hits;
} comp;

START_TEST(registration_refusals)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    comp c = {3};
    static const scim_stat_decl one[] = {{"hits", SCIM_STAT_COUNTER, "count", "Hits.", 0}};
    /* an empty table registers nothing, even with nothing to read from */
    ck_assert_int_eq(scim_stats_register(s, "x", NULL, 0, NULL, &err), SCIM_OK);
    ck_assert_uint_eq(scim_stats_flat_count(s), 0);
    /* the empty registry has no row of any name */
    double v = -1;
    ck_assert_int_eq(scim_stats_lookup(s, "x.hits", &v), SCIM_ENOENT);
    ck_assert_int_eq(scim_stats_lookup(s, NULL, &v), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_lookup(NULL, "x.hits", &v), SCIM_EINVAL);
    ck_assert(v == -1);
    ck_assert_int_eq(scim_stats_register(s, "x", NULL, 1, &c, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: registering prefix \"x\": the table is NULL; fix: pass the "
                              "declaration table and the component struct");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_register(s, NULL, one, 1, NULL, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: registering prefix \"\": the component struct is NULL; fix: pass "
                              "the declaration table and the component struct");
    scim_err_clear(&err);
    /* a kind that is neither counter nor histogram */
    static const scim_stat_decl odd[] = {{"hits", (scim_stat_kind)7, "count", "Hits.", 0}};
    ck_assert_int_eq(scim_stats_register(s, "x", odd, 1, &c, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: entry \"hits\" under prefix \"x\" has kind 7; expected "
                              "SCIM_STAT_COUNTER, SCIM_STAT_HIST or SCIM_STAT_LEVEL");
    scim_err_clear(&err);
    /* no registry */
    ck_assert_int_eq(scim_stats_add_counter(NULL, "n", "count", "N.", &c.hits, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: NULL registry passed to registration");
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_stats_add_hist(NULL, "h", "ps", "H.", &err));
    scim_err_clear(&err);
    /* an empty name */
    ck_assert_int_eq(scim_stats_add_counter(s, "", "count", "N.", &c.hits, &err), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "the name is empty"));
    scim_err_clear(&err);
    ck_assert_uint_eq(scim_stats_flat_count(s), 0);
    /* a NULL prefix is the empty prefix; NULL unit and description are empty */
    ck_assert_int_eq(scim_stats_register(s, NULL, one, 1, &c, &err), SCIM_OK);
    ck_assert_int_eq(scim_stats_add_counter(s, "bare", NULL, NULL, &c.hits, &err), SCIM_OK);
    ck_assert_int_eq(scim_stats_lookup(s, "hits", &v), SCIM_OK);
    ck_assert(v == 3);
    const char *name;
    ck_assert_int_eq(scim_stats_flat_get(s, 0, &name, &v, NULL, NULL), SCIM_OK);
    ck_assert_str_eq(name, "bare");
    /* reset clears what it registered; reset of no registry is a no-op */
    scim_stats_reset(s);
    scim_stats_reset(NULL);
    ck_assert_uint_eq(c.hits, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(scim_stats_write_csv(s, f, &err), SCIM_OK);
    fclose(f);
    ck_assert_str_eq(buf, "name,value,unit\nbare,0,\nhits,0,count\n");
    free(buf);
    scim_stats_destroy(s);
}
END_TEST

/* A stream that takes nothing (/dev/full) fails the write with EIO. */
START_TEST(a_full_stream_fails_the_write)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    uint64_t n = 1;
    ck_assert_int_eq(scim_stats_add_counter(s, "n", "count", "N.", &n, &err), SCIM_OK);
    FILE *f = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(scim_stats_write_json(s, f, &err), SCIM_EIO);
    ck_assert_str_eq(err.msg, "could not write statistics JSON: No space left on device");
    scim_err_clear(&err);
    clearerr(f);
    ck_assert_int_eq(scim_stats_write_csv(s, f, &err), SCIM_EIO);
    ck_assert_str_eq(err.msg, "could not write statistics CSV: No space left on device");
    scim_err_clear(&err);
    fclose(f);
    ck_assert_int_eq(scim_stats_write_json(s, NULL, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: NULL stream passed to scim_stats_write_json");
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_csv(NULL, stdout, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "stats: NULL registry passed to scim_stats_write_csv");
    scim_stats_destroy(s);
}
END_TEST

/* An output directory below a regular file cannot be made; NULL and ""
 * are refused before anything is touched. */
START_TEST(a_directory_below_a_file_is_refused)
{
    scim_stats *s = scim_stats_create();
    scim_err err = {0};
    char base[] = "/tmp/scim_stats_api_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(base));
    char file[128], sub[160];
    snprintf(file, sizeof file, "%s/plain", base);
    snprintf(sub, sizeof sub, "%s/sub", file);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(scim_stats_write_dir(s, sub, &err), SCIM_EIO);
    char want[512];
    snprintf(want, sizeof want,
             "could not write %s/stats.json: cannot create directory \"%s\": Not a directory; fix: "
             "choose an output directory whose path is free or already a directory",
             sub, sub);
    ck_assert_str_eq(err.msg, want);
    scim_err_clear(&err);
    /* the path itself a file: mkdir says it exists, but it is no directory */
    ck_assert_int_eq(scim_stats_write_dir(s, file, &err), SCIM_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "Not a directory"));
    scim_err_clear(&err);
    const char *none = "stats: scim_stats_write_dir needs a registry and a non-empty directory name";
    ck_assert_int_eq(scim_stats_write_dir(s, "", &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, none);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(s, NULL, &err), SCIM_EINVAL);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(NULL, base, &err), SCIM_EINVAL);
    unlink(file);
    rmdir(base);
    scim_stats_destroy(s);
}
END_TEST

/* The reference table's refusals, and its cells: a NULL prefix and unit
 * print nothing, a line break in a description becomes a space. */
START_TEST(doc_markdown_edges)
{
    static const scim_stat_decl d[] = {{"drops", SCIM_STAT_COUNTER, NULL, "Lost\r\nrequests.", 0}};
    static const scim_stat_decl unnamed[] = {{NULL, SCIM_STAT_COUNTER, "count", "X.", 0}};
    ck_assert_int_eq(scim_stats_doc_markdown(NULL, "p", d, 1), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_doc_markdown(stdout, "p", NULL, 1), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_doc_markdown(stdout, "p", unnamed, 1), SCIM_EINVAL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(scim_stats_doc_markdown(f, NULL, NULL, 0), SCIM_OK);
    ck_assert_int_eq(scim_stats_doc_markdown(f, NULL, d, 1), SCIM_OK);
    fclose(f);
    ck_assert_str_eq(buf, "| name | kind | unit | description |\n|---|---|---|---|\n"
                          "| name | kind | unit | description |\n|---|---|---|---|\n"
                          "| `drops` | counter |  | Lost  requests. |\n");
    free(buf);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("stats_api");
    TCase *tc = tcase_create("stats_api");
    tcase_add_test(tc, registration_refusals);
    tcase_add_test(tc, a_full_stream_fails_the_write);
    tcase_add_test(tc, a_directory_below_a_file_is_refused);
    tcase_add_test(tc, doc_markdown_edges);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
