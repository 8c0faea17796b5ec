/* The shared basics of src/core/common.c, against references written
 * here: each status code's name is its identifier (the preprocessor's
 * #x, not a second table), the run-time version equals the compile-time
 * one, the first error of a chain is the one reported, messages are cut
 * at the buffer and stay terminated, and human times switch unit at each
 * power of 1000 of picoseconds. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "scimitar/scimitar.h"
#include "helpers/testutil.h"

#define CODE(x) {x, #x}
static const struct {
    int code;
    const char *name;
} codes[] = {
    CODE(SCIM_OK),         CODE(SCIM_ENOMEM),   CODE(SCIM_EIO),       CODE(SCIM_EPARSE), CODE(SCIM_ECONFIG),
    CODE(SCIM_ERANGE),     CODE(SCIM_ESTATE),   CODE(SCIM_EINVARIANT), CODE(SCIM_ESYSTEMC),
    CODE(SCIM_EDEADLOCK),  CODE(SCIM_ENOENT),   CODE(SCIM_EEXIST),    CODE(SCIM_EINVAL),
};
#define N_CODES (sizeof codes / sizeof codes[0])

START_TEST(status_names_are_the_identifiers)
{
    for (size_t i = 0; i < N_CODES; i++)
        ck_assert_str_eq(scim_status_name(codes[i].code), codes[i].name);
    /* the codes are 0, -1, -2, ... with no gap, so the next one down is
     * not a code; positive values are "normal but special" outcomes */
    for (size_t i = 0; i < N_CODES; i++)
        ck_assert_int_eq(codes[i].code, -(int)i);
    ck_assert_str_eq(scim_status_name(-(int)N_CODES), "SCIM_EUNKNOWN");
    ck_assert_str_eq(scim_status_name(-1000), "SCIM_EUNKNOWN");
    ck_assert_str_eq(scim_status_name(1), "SCIM_POSITIVE");
    ck_assert_str_eq(scim_status_name(12345), "SCIM_POSITIVE");
}
END_TEST

START_TEST(version_at_run_time_is_the_compiled_one)
{
    ck_assert_int_eq(scim_version_number(), SCIM_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SCIM_VERSION_MAJOR, SCIM_VERSION_MINOR, SCIM_VERSION_PATCH);
    ck_assert_str_eq(scim_version_string(), want);
    /* the number orders versions: major, then minor, then patch */
    ck_assert_int_eq(scim_version_number(),
                     SCIM_VERSION_MAJOR * 10000 + SCIM_VERSION_MINOR * 100 + SCIM_VERSION_PATCH);
}
END_TEST

START_TEST(first_error_wins)
{
    scim_err err = {0};
    ck_assert_int_eq(scim_err_set(&err, SCIM_ECONFIG, "key %s: %d", "a.b", 7), SCIM_ECONFIG);
    ck_assert_int_eq(err.code, SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "key a.b: 7");
    /* a later error (a cleanup failing after the cause) keeps the cause but
     * still returns its own code to its caller */
    ck_assert_int_eq(scim_err_set(&err, SCIM_EIO, "cleanup failed"), SCIM_EIO);
    ck_assert_int_eq(err.code, SCIM_ECONFIG);
    ck_assert_str_eq(err.msg, "key a.b: 7");
    scim_err_clear(&err);
    ck_assert_int_eq(err.code, 0);
    ck_assert_str_eq(err.msg, "");
    ck_assert_int_eq(scim_err_set(&err, SCIM_EIO, "now %s", "this"), SCIM_EIO);
    ck_assert_str_eq(err.msg, "now this");
    /* no error object: the code still comes back */
    ck_assert_int_eq(scim_err_set(NULL, SCIM_ENOENT, "nobody listens"), SCIM_ENOENT);
    scim_err_clear(NULL);
}
END_TEST

START_TEST(long_messages_are_cut_and_terminated)
{
    scim_err err = {0};
    memset(err.msg, 'x', sizeof err.msg); /* no terminator left from before */
    char big[4 * sizeof err.msg];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    scim_err_set(&err, SCIM_EPARSE, "%s", big);
    ck_assert_uint_eq(strlen(err.msg), sizeof err.msg - 1);
    ck_assert_int_eq(err.msg[0], 'a');
}
END_TEST

START_TEST(times_change_unit_at_each_thousand)
{
    static const struct {
        double ps;
        const char *text;
    } cases[] = {
        {0, "0 ps"},
        {1, "1 ps"},
        {999, "999 ps"},
        {1000, "1.0 ns"},
        {1234, "1.2 ns"},
        {999000, "999.0 ns"},
        {1e6, "1.00 us"},
        {45880000, "45.88 us"},
        {999e6, "999.00 us"},
        {1e9, "1.000 ms"},
        {186020514878, "186.021 ms"},
        {5e12, "5000.000 ms"}, /* seconds are still ms: one unit to compare */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        scim_fmt_time(cases[i].ps, buf, sizeof buf);
        ck_assert_msg(strcmp(buf, cases[i].text) == 0, "%.0f ps: '%s', expected '%s'", cases[i].ps, buf,
                      cases[i].text);
    }
    /* a short buffer is cut, not overrun */
    char small[5] = "zzzz";
    scim_fmt_time(186020514878, small, 4);
    ck_assert_str_eq(small, "186");
    ck_assert_int_eq(small[4], '\0');
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("basics");
    tcase_add_test(tc, status_names_are_the_identifiers);
    tcase_add_test(tc, version_at_run_time_is_the_compiled_one);
    tcase_add_test(tc, first_error_wins);
    tcase_add_test(tc, long_messages_are_cut_and_terminated);
    tcase_add_test(tc, times_change_unit_at_each_thousand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(common_suite()); }
