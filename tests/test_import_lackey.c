/* The lackey importer on the forms test_import does not cover: tabs after
 * 'I', valgrind's '--PID--' and '**PID**' messages (the tool's lines, not
 * unknown ones), markers that only look like them (unknown), a system
 * call named without the sys_ prefix, and malformed SYSCALL and access
 * lines, each with its FILE:LINE:COL message and no output left behind.
 * Times are worked out by hand in the comments. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "scimitar/trace.h"
#include "workload/import.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

/* ipns 1, 100 ns per system call: time = instructions before + 100 x calls before.
 *   L after I #1 (a tab after I)          t = 1        CPU +1 read 0x2000 8
 *   read (no sys_ prefix), call 0         t = 1        device @1 write 0x5000 16 (it fills the buffer)
 *   close, call 1                         no record
 *   S after I #2                          t = 2 + 200  CPU +201 write 0x2008 8
 * Lines 2 and 3 are valgrind's (--9--, **9**); lines 8 and 9 only look
 * like its markers: 2 unknown lines, the first is line 8. */
static const char log_text[] =
    "==9== Lackey, an example Valgrind tool\n"
    "--9-- a warning of valgrind's core\n"
    "**9** a message of valgrind's core\n"
    "I\t04000000,2\n"
    " L 2000,8\n"
    "SYSCALL[9,1](0) read ( 3, 0x5000, 16 ) --> [async] ... \n"
    "SYSCALL[9,1](3) sys_close ( 3 ) --> Success(0x0) \n"
    "==x== not a pid\n"
    "--9- one dash short\n"
    "I  04000002,2\n"
    " S 2008,8\n"
    "==9== Exit code: 0\n";

START_TEST(tool_lines_and_names)
{
    char path[512];
    write_file(dir, "a.log", log_text, path, sizeof path);
    scim_import_opts o;
    scim_import_opts_default(&o);
    o.ipns = 1;
    o.syscall_ns = 100;
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_LACKEY, path, path_in(dir, "a"), &o, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "a.dev.trace.gz")), *cpu = trace_records(path_in(dir, "a.cpu.trace.gz"));
    ck_assert_str_eq(dev, "@1 write 0x5000 16 io=1\n");
    ck_assert_str_eq(cpu, "+1 read 0x2000 8\n+201 write 0x2008 8\n");
    free(dev);
    free(cpu);
    ck_assert_uint_eq(r.counts.instrs, 2);
    ck_assert_uint_eq(r.counts.syscalls, 2);
    ck_assert_uint_eq(r.counts.io_calls, 1);
    ck_assert_uint_eq(r.counts.unknown, 2);
    ck_assert_uint_eq(r.counts.first_unknown, 8);
}
END_TEST

static const struct {
    const char *log, *want; /* want: what follows "DIR/bad.log" */
} bad[] = {
    {"I  04000000,3\nSYSCALL[1,1](0)  ( 3 )\n", ":2:18: error: expected the system call's name after SYSCALL[...](NUMBER)"},
    {"I  04000000,3\nSYSCALL[1,1](0) sys_read 3, 0x1000, 4\n", ":2:26: error: expected '( ARGUMENTS )' after read"},
    {"I  04000000,3\nSYSCALL[1,1](0) sys_read ( 3, 0x1000, 4\n", ":2:26: error: expected '( ARGUMENTS )' after read"},
    {"I  04000000,3\nSYSCALL[1,x](0) sys_read ( 3, 0x1000, 4 )\n", ":2:11: error: expected SYSCALL[PID,TID](NUMBER)"},
    {"I  04000000,3\nSYSCALL[1,1]0) sys_read ( 3, 0x1000, 4 )\n", ":2:13: error: expected SYSCALL[PID,TID](NUMBER)"},
    {"I  04000000,3\n L 1000,8x\n", ":2:9: error: expected a decimal size and the end of the line"},
    {"I  04000000,3\n M 1000;8\n", ":2:8: error: expected ADDRESS,SIZE"},
};

START_TEST(bad_logs)
{
    char path[512];
    write_file(dir, "bad.log", bad[_i].log, path, sizeof path);
    scim_err err = {0};
    ck_assert_int_eq(scim_import_write(SCIM_IMPORT_LACKEY, path, path_in(dir, "out"), NULL, NULL, &err), SCIM_EPARSE);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", path, bad[_i].want);
    ck_assert_msg(!strncmp(err.msg, want, strlen(want)), "case %d: got\n  %s\nwanted it to start with\n  %s", _i,
                  err.msg, want);
    ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("import_lackey");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tool_lines_and_names);
    tcase_add_loop_test(tc, bad_logs, 0, (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
