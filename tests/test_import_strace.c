/* The strace importer on the forms test_import does not cover: a second
 * unfinished call of a process replaces the first (strace shows only the
 * latest), fractions longer than nanoseconds, -t timestamps without a
 * fraction, a time that goes back made non-decreasing, invalid clock
 * fields, timestamps that are not one and lines of other tools counted as
 * unknown, '[pid N]' prefixes,
 * and the malformed lines each with their FILE:LINE:COL message and no
 * output left behind. The records and times are worked out by hand in the
 * comments (a read fills its buffer: the device writes memory). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "scimitar/trace.h"
#include "workload/import.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

/* t0 = 1000.000000100 s (-ttt).
 *   read 0x40 at t0                        @0 write 0x7f0000001000 64
 *   write at 50 ns before t0: raw time before the start -> 0, and
 *     never before the previous record      @0 read 0x7f0000002000 16
 *   pread64 at 1000.0000010001234: digits past the 9th dropped,
 *     1000.000001000 - t0 = 900 ns          @900 write 0x7f0000003000 32
 *   pid 101: read(0x4, <unfinished> at 2000.., then read(0x6, <unfinished>
 *     at 2500..: the first is dropped, the second resumed with its
 *     buffer -> at its start, 2500 - 100    @2400 write 0x7f0000006000 8
 *   a line with an invalid clock field (10:61:00) and another tool's line
 *     are unknown lines (2, the first is line 7)
 *   pid 100 is killed: the log ends properly. */
static const char edge_log[] =
    "100 1000.000000100 read(0x3, 0x7f0000001000, 0x40) = 0x40\n"
    "100 1000.000000050 write(0x1, 0x7f0000002000, 0x10) = 0x10\n"
    "100 1000.0000010001234 pread64(0x3, 0x7f0000003000, 0x20, 0x0) = 0x20\n"
    "[pid 101] 1000.000002000 read(0x4, <unfinished ...>\n"
    "[pid   101] 1000.000002500 read(0x6, <unfinished ...>\n"
    "[pid 101] 1000.000003000 <... read resumed>0x7f0000006000, 0x8) = 0x8\n"
    "100 10:61:00.000000 read(0x3, 0x7f0000001000, 0x40) = 0x40\n"
    "ltrace: something else\n"
    "100 1000.000004000 +++ killed by SIGKILL +++\n";

START_TEST(edge_forms)
{
    char path[512];
    write_file(dir, "e.log", edge_log, path, sizeof path);
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "e"), NULL, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "e.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 write 0x7f0000001000 64 io=1\n"
                          "@0 read 0x7f0000002000 16 io=2\n"
                          "@900 write 0x7f0000003000 32 io=3\n"
                          "@2400 write 0x7f0000006000 8 io=4\n");
    free(dev);
    ck_assert_uint_eq(r.counts.io_calls, 4);
    ck_assert_uint_eq(r.counts.unknown, 2);
    ck_assert_uint_eq(r.counts.first_unknown, 7);
}
END_TEST

/* -t: whole seconds, no fraction; strace's own lines ("strace: ...") are
 * the tool's, not unknown. */
START_TEST(seconds_only)
{
    char path[512];
    write_file(dir, "t.log",
               "strace: Process 5 attached\n"
               "5 10:00:00 read(0x3, 0x1000, 0x10) = 0x10\n"
               "5 10:00:02 write(0x3, 0x2000, 0x10) = 0x10\n"
               "5 10:00:03 +++ exited with 0 +++\n",
               path, sizeof path);
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "t"), NULL, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "t.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 write 0x1000 16 io=1\n@2000000000 read 0x2000 16 io=2\n");
    free(dev);
    ck_assert_uint_eq(r.counts.unknown, 0);
}
END_TEST

/* After a pid, something that is not a timestamp (no fraction in the
 * seconds form, an empty fraction, seconds beyond 2^64 ns) makes the line
 * unknown: counted and skipped, as any line of another tool. */
START_TEST(bad_timestamps_are_unknown_lines)
{
    char path[512];
    write_file(dir, "u.log",
               "1 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 1000 read(0x3, 0x2000, 0x10) = 0x10\n"
               "1 1000. read(0x3, 0x3000, 0x10) = 0x10\n"
               "1 99999999999999999999.5 read(0x3, 0x4000, 0x10) = 0x10\n"
               "1 10:00:00.000001 +++ exited with 0 +++\n",
               path, sizeof path);
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "u"), NULL, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "u.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 write 0x1000 16 io=1\n");
    free(dev);
    ck_assert_uint_eq(r.counts.unknown, 3);
    ck_assert_uint_eq(r.counts.first_unknown, 2);
}
END_TEST

static const struct {
    const char *log, *want; /* want: what follows "DIR/bad.log" */
} bad[] = {
    {"[pid x] 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n", ":1:6: error: expected '[pid N]'"},
    {"[pid 12 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n", ":1:8: error: expected '[pid N]'"},
    {"1 10:00:00.000000 read(0x3, 0x1000, 0x10\n", ":1:24: error: read: expected ')' or ' <unfinished ...>' after"},
    {"1 10:00:00.000000 read(0x3, <unfinished ...>\n1 10:00:00.000001 <... read resumed 0x1000, 0x10) = 0x10\n",
     ":2:19: error: expected '<... NAME resumed>'"},
    {"1 10:00:00.000000 read(0x3, <unfinished ...>\n1 10:00:00.000001 <... read resumed>0x1000, 0x10\n",
     ":2:37: error: expected the rest of the arguments and ')'"},
    {"1 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n1 10:00:00.1 --- SIGINT {si_signo=SIGINT} ---\n",
     ":2: error: the log ends without strace's '+++ exited with N +++'"},
    {"", ": error: the log is empty; expected the output of strace -f -tt -e raw=all -o LOG"},
    /* the argument errors of a resumed call have no column: its arguments
     * were pieced together from two lines */
    {"1 10:00:00.000000 read(0x3, <unfinished ...>\n1 10:00:00.000001 <... read resumed>zzz, 0x10) = 0x10\n",
     ":2: error: read: argument 2 is not a number"},
    {"1 10:00:00.000000 read(0x3, <unfinished ...>\n1 10:00:00.000001 <... read resumed>0x1000) = 0\n",
     ":2: error: read: argument 3 is missing"},
    /* same length, other name: "1 " + 16 of time + "<... " puts it at 24 */
    {"1 10:00:00.000000 read(0x3, <unfinished ...>\n1 10:00:00.000001 <... recv resumed>0x1000, 0x10) = 0x10\n",
     ":2:24: error: 'recv resumed', but process 1's unfinished call is read"},
    {"set_robust_list(0x7f00, 0x18) = 0\n", ":1:1: error: a system call without a timestamp"},
};

START_TEST(bad_logs)
{
    char path[512];
    write_file(dir, "bad.log", bad[_i].log, path, sizeof path);
    scim_err err = {0};
    int rc = scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "out"), NULL, NULL, &err);
    ck_assert_int_eq(rc, SCIM_EPARSE);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", path, bad[_i].want);
    ck_assert_msg(!strncmp(err.msg, want, strlen(want)), "case %d: got\n  %s\nwanted it to start with\n  %s", _i,
                  err.msg, want);
    ck_assert_int_eq(dir_entries(dir), 1); /* the log alone */
}
END_TEST

/* More forms, worked out by hand (t0 = 10:00:00):
 *   pid 1's read starts at 0 unfinished; pid 2's write at 200 us is
 *     emitted first, so the resumed read (at its start, 0) is moved to
 *     200 us to keep the records in order   @200000 read 0x2000 16 io=1
 *                                           @200000 write 0x1000 32 io=2
 *   pids 3..11: nine calls unfinished at once (more than the first 8
 *     slots), never resumed: no records
 *   unknown lines, first at line 13: after a valid time, "exit", an
 *     upper-case name and a '(' with no name (3); without a valid time,
 *     hour 24, "10:x", "10:00", "10:00:x", second 61, a fraction ending
 *     in a letter, seconds beyond 2^64 ns and "~~~" (8): 11
 *   a [pid N] with nothing after it and an empty line are skipped,
 *     uncounted
 *   set_robust_list and ???? are system calls that do no I/O; a signal
 *     line with no time is strace's own. */
START_TEST(more_forms)
{
    char path[512];
    write_file(dir, "m.log",
               "1 10:00:00.000000 read(0x3, <unfinished ...>\n"
               "2 10:00:00.000200 write(0x4, 0x2000, 0x10) = 0x10\n"
               "1 10:00:00.000300 <... read resumed>0x1000, 0x20) = 0x20\n"
               "3 10:00:00.000301 read(0x3, <unfinished ...>\n"
               "4 10:00:00.000302 read(0x3, <unfinished ...>\n"
               "5 10:00:00.000303 read(0x3, <unfinished ...>\n"
               "6 10:00:00.000304 read(0x3, <unfinished ...>\n"
               "7 10:00:00.000305 read(0x3, <unfinished ...>\n"
               "8 10:00:00.000306 read(0x3, <unfinished ...>\n"
               "9 10:00:00.000307 read(0x3, <unfinished ...>\n"
               "10 10:00:00.000308 read(0x3, <unfinished ...>\n"
               "11 10:00:00.000309 read(0x3, <unfinished ...>\n"
               "1 10:00:00.000400 exit\n"
               "1 10:00:00.000500 Read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 10:00:00.000600 (x)\n"
               "1 24:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 10:x read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 10:00 read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 10:00:x read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 10:00:61 read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 1000.5x read(0x3, 0x1000, 0x10) = 0x10\n"
               "1 18446744073.5 read(0x3, 0x1000, 0x10) = 0x10\n"
               "~~~\n"
               "[pid 1]\n"
               "\n"
               "1 10:00:00.000700 set_robust_list(0x7f00, 0x18) = 0\n"
               "1 10:00:00.000800 \?\?\?\?(0x1) = 0\n" /* escaped: ??( is a trigraph */
               "--- SIGCHLD {si_signo=SIGCHLD} ---\n"
               "1 10:00:00.000900 +++ exited with 0 +++\n",
               path, sizeof path);
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "m"), NULL, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "m.dev.trace.gz"));
    ck_assert_str_eq(dev, "@200000 read 0x2000 16 io=1\n"
                          "@200000 write 0x1000 32 io=2\n");
    free(dev);
    ck_assert_uint_eq(r.counts.io_calls, 2);
    ck_assert_uint_eq(r.counts.unknown, 11);
    ck_assert_uint_eq(r.counts.first_unknown, 13);
    /* read, write, 9 reads, set_robust_list, ???? */
    ck_assert_uint_eq(r.counts.syscalls, 13);
}
END_TEST

/* A line longer than the importer reads (1 MiB) is not a log. */
START_TEST(endless_line)
{
    char path[512];
    snprintf(path, sizeof path, "%s/long.log", dir);
    FILE *f = fopen(path, "w");
    fputs("1 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n1 10:00:00.000001 write(", f);
    for (int i = 0; i < (1 << 20) / 8 + 16; i++)
        fputs("0x1234, ", f);
    fputs(") = 0\n+++ exited with 0 +++\n", f);
    fclose(f);
    scim_err err = {0};
    ck_assert_int_eq(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "out"), NULL, NULL, &err), SCIM_EPARSE);
    char want[600];
    snprintf(want, sizeof want, "%s:2: error: line longer than", path);
    ck_assert_msg(!strncmp(err.msg, want, strlen(want)), "%s", err.msg);
    ck_assert(strstr(err.msg, "is this a log at all?") != NULL);
    ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("import_strace");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, edge_forms);
    tcase_add_test(tc, seconds_only);
    tcase_add_test(tc, bad_timestamps_are_unknown_lines);
    tcase_add_loop_test(tc, bad_logs, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, endless_line);
    tcase_add_test(tc, more_forms);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
