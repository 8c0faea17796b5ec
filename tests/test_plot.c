/* The sweep's SVG plot (tools/plot.c): axis ticks where a hand count puts
 * them, and no hang on values too large for their step (a tick loop that
 * added a step below the values' precision never moved). */
#define _GNU_SOURCE /* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* The SVG for one series; malloc'ed. */
static char *svg_of(const double *x, const double *y, size_t n, const double *ticks, size_t n_ticks)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    plot_series s = {"run", x, y, n};
    plot_spec spec = {.title = "t", .x_label = "x", .y_label = "y", .x_ticks = ticks, .n_x_ticks = n_ticks,
                      .series = &s, .n_series = 1};
    ck_assert_int_eq(plot_write_svg(f, &spec), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(len > 7 && strcmp(buf + len - 7, "</svg>\n") == 0, "the SVG is not closed");
    return buf;
}

/* The text of every <text> label inside <g class="cls">, joined by '|'. */
static void labels(const char *svg, const char *cls, char *out, size_t len)
{
    char open[64];
    snprintf(open, sizeof open, "<g class=\"%s\">", cls);
    const char *p = strstr(svg, open), *end = p ? strstr(p, "</g>") : NULL;
    ck_assert_msg(p && end, "no %s group", cls);
    out[0] = '\0';
    while ((p = strstr(p, "<text")) && p < end) {
        const char *a = strchr(p, '>') + 1, *b = strstr(a, "</text>");
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%.*s", n ? "|" : "", (int)(b - a), a);
        p = b;
    }
}

START_TEST(ticks_by_hand)
{
    /* x 0..100 by 10 (11 points, no given ticks); y up to 37: the y step is
     * the nice step for 37/5 = 7.4 (5), from 0 to 40; the x step for
     * 100/8 = 12.5 is 10, from 0 to 100 */
    double x[11], y[11];
    for (int i = 0; i < 11; i++)
        x[i] = 10.0 * i, y[i] = 37.0 * i / 10;
    char *svg = svg_of(x, y, 11, NULL, 0);
    char got[512];
    labels(svg, "y-axis", got, sizeof got);
    ck_assert_str_eq(got, "0|5|10|15|20|25|30|35|40");
    labels(svg, "x-axis", got, sizeof got);
    ck_assert_str_eq(got, "0|10|20|30|40|50|60|70|80|90|100");
    free(svg);
    /* given ticks: exactly those */
    double t[3] = {16, 64, 256}, tx[3] = {16, 64, 256}, ty[3] = {1, 2, 3};
    svg = svg_of(tx, ty, 3, t, 3);
    labels(svg, "x-axis", got, sizeof got);
    ck_assert_str_eq(got, "16|64|256");
    free(svg);
}
END_TEST

START_TEST(huge_values_end)
{
    /* one x value of 1e300 (x +- 1 is the same number) and y values of
     * -1e300 (y + 1 too): both tick loops used to add a step of 1 forever */
    double x[13], y[13];
    for (int i = 0; i < 13; i++)
        x[i] = 1e300, y[i] = -1e300;
    char *svg = svg_of(x, y, 13, NULL, 0);
    char got[4096];
    labels(svg, "y-axis", got, sizeof got);
    ck_assert_str_eq(got, "-1e+300");
    labels(svg, "x-axis", got, sizeof got);
    ck_assert_str_eq(got, "1e+300");
    free(svg);
    /* values 2 apart at 1e16 (2 is one unit in the last place there) */
    double x2[2] = {1e16, 1e16 + 2}, y2[2] = {1, 2};
    svg = svg_of(x2, y2, 2, NULL, 0);
    free(svg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("ticks");
    tcase_set_timeout(tc, 10); /* a hang fails here, not at ctest's limit */
    tcase_add_test(tc, ticks_by_hand);
    tcase_add_test(tc, huge_values_end);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
