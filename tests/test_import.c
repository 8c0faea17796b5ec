/* Log importers (workload/import.h) on small hand-written logs: the
 * records, times and config each must give (worked out by hand in the
 * comments), and bad logs: truncated, malformed, not from the right tool,
 * corrupt gzip. Every error names FILE:LINE (and the column where there is
 * one) and leaves no output file behind. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "scimitar/trace.h"
#include "workload/import.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

/* ------------------------------------------------------------------------ */
/* lackey                                                                     */

/* ipns 2, syscall 1000 ns: time = floor(instructions / 2) + 1000 x calls before.
 *   S after I #1            t = 0                 CPU +0 write
 *   L, M after I #2         t = 1                 CPU +1 read, +0 write (the modify: one record)
 *   read (call 0)           t = 1                 device @1 write (it fills the buffer), io=1
 *   L after I #3            t = 1 + 1000          CPU +1000 read (crosses into page 0x602)
 *   write (call 1)          t = 1001              device @1001 read, io=2
 *   writev (call 2)         vectored: no record
 *   read of 0 (call 3)      no record
 *   pread64 (call 4)        t = 1 + 4000          device @4001 write 8192, io=3
 *   S after I #4            t = 2 + 5000          CPU +4001 write
 *   sendto (call 5)         t = 5002              device @5002 read, io=4
 * Pages: 0x1fff000 (CPU), 0x601-0x604 -> regions 0x601000 16 KiB, 0x1fff000000 4 KiB. */
static const char lackey_log[] =
    "==7== Lackey, an example Valgrind tool\n"
    "==7== Command: ./a\n"
    "I  04000000,3\n"
    " S 1fff000ff8,8\n"
    "I  04000003,4\n"
    " L 00601000,4\n"
    " M 00601004,4\n"
    "SYSCALL[7,1](0) sys_read ( 3, 0x601000, 5000 ) --> [async] ... \n"
    "SYSCALL[7,1](0) ... [async] --> Success(0x1388) \n"
    "I  04000007,2\n"
    " L 00601ffc,8\n"
    "SYSCALL[7,1](1) sys_write ( 1, 0x602000, 100 )[sync] --> Success(0x64) \n"
    "SYSCALL[7,1](20) sys_writev ( 1, 0x1fff000f00, 2 ) --> [async] ... \n"
    "SYSCALL[7,1](0) sys_read ( 3, 0x601000, 0 ) --> [async] ... \n"
    "an unknown line\n"
    "SYSCALL[7,1](17) sys_pread64 ( 3, 0x603000, 8192, 0 ) --> [async] ... \n"
    "\n"
    "I  0400000a,1\r\n"
    " S 00603000,8\n"
    "SYSCALL[7,1](44) sys_sendto ( 5, 0x603100, 64, 0, 0x0, 0 ) --> [async] ... \n"
    " --> [pre-fail] Failure(0x26) \n"
    "==7== \n"
    "==7== Exit code:       0\n";

START_TEST(lackey_golden)
{
    char path[512];
    write_file(dir, "a.log", lackey_log, path, sizeof path);
    scim_import_opts o;
    scim_import_opts_default(&o);
    ck_assert_double_eq(o.ipns, 0.05);
    ck_assert_uint_eq(o.syscall_ns, 1000);
    o.ipns = 2;
    o.text = _i;
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_LACKEY, path, path_in(dir, "a"), &o, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "a.dev.trace.gz")), *cpu = trace_records(path_in(dir, "a.cpu.trace.gz"));
    ck_assert_str_eq(dev, "@1 write 0x601000 5000 io=1\n"
                          "@1001 read 0x602000 100 io=2\n"
                          "@4001 write 0x603000 8192 io=3\n"
                          "@5002 read 0x603100 64 io=4\n");
    ck_assert_str_eq(cpu, "+0 write 0x1fff000ff8 8\n"
                          "+1 read 0x601000 4\n"
                          "+0 write 0x601004 4\n"
                          "+1000 read 0x601ffc 8\n"
                          "+4001 write 0x603000 8\n");
    free(dev);
    free(cpu);
    const scim_import_counts *c = &r.counts;
    ck_assert_uint_eq(c->lines, 23);
    ck_assert_uint_eq(c->unknown, 1);
    ck_assert_uint_eq(c->first_unknown, 15);
    ck_assert_uint_eq(c->instrs, 4);
    ck_assert_uint_eq(c->loads, 2);
    ck_assert_uint_eq(c->stores, 2);
    ck_assert_uint_eq(c->modifies, 1);
    ck_assert_uint_eq(c->syscalls, 6);
    ck_assert_uint_eq(c->io_calls, 4);
    ck_assert_uint_eq(c->io_dev_writes, 2);
    ck_assert_uint_eq(c->io_bytes, 5000 + 100 + 8192 + 64);
    ck_assert_uint_eq(c->vectored, 1);
    ck_assert_uint_eq(c->zero_len, 1);
    ck_assert_uint_eq(r.regions, 2);
    ck_assert_uint_eq(r.cpu_pages, 4); /* 0x1fff000, 0x601, 0x602, 0x603 */
    ck_assert_uint_eq(r.dev_pages, 4); /* 0x601 .. 0x604 */
    char *cfg = slurp(path_in(dir, "a.yaml"), NULL);
    ck_assert_ptr_nonnull(cfg);
    ck_assert(strstr(cfg, "scheme: scimitar\n") != NULL);
    ck_assert(strstr(cfg, "    regions:\n      - {va: 0x601000, size: 16KiB}\n"
                          "      - {va: 0x1fff000000, size: 4KiB}\ncpus:\n") != NULL);
    ck_assert(strstr(cfg, "  cpu0: {trace: a.cpu.trace.gz, pasid: 1, max_outstanding: 16}\ndevices:\n"
                          "  dev0: {trace: a.dev.trace.gz, pasid: 1}\n") != NULL);
    free(cfg);
    /* the config runs, and every transfer lands */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run %s --quiet --set sim.check_invariants=true --out %s/out", SCIM_CLI,
             path_in(dir, "a.yaml"), dir);
    ck_assert_int_eq(run_cmd(cmd), 0);
    char *stats = slurp(path_in(dir, "out/stats.csv"), NULL);
    ck_assert(strstr(stats, "dev0.dma.requests,4,") != NULL);
    ck_assert(strstr(stats, "dev0.dma.errors,0,") != NULL);
    ck_assert(strstr(stats, "cpu0.mem.requests,5,") != NULL);
    free(stats);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* strace                                                                     */

/* Times from the first line, in ns; the unfinished read is timed at its
 * entry and completed by its resumed line; the failed read still counts
 * (the buffer as passed); writev is vectored; close is another call. */
static const char strace_log[] =
    "100 10:00:00.000000 read(0x3, 0x7f0000001000, 0x340) = 0x340\n"
    "100 10:00:00.000250 pread64(0x3, 0x7f0000002000, 0x1000, 0x40) = 0x1000\n"
    "101 10:00:00.000300 write(0x1, 0x7f0000003000, 0x10 <unfinished ...>\n"
    "100 10:00:00.000310 read(0x4, <unfinished ...>\n"
    "101 10:00:00.000400 <... write resumed>) = 0x10\n"
    "100 10:00:00.000500 <... read resumed>0x7f0000004000, 0x20) = 0x20\n"
    "100 10:00:00.000600 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---\n"
    "[pid   100] 10:00:00.000700 writev(0x1, 0x7ffd0000, 0x2) = 0x20\n"
    "100 10:00:00.000800 read(0x63, 0x7f0000001000, 0xa) = -1 EBADF (Bad file descriptor)\n"
    "something odd\n"
    "100 10:00:00.000900 close(0x3) = 0\n"
    "strace: Process 101 detached\n"
    "101 10:00:00.000950 +++ exited with 0 +++\n"
    "100 10:00:00.001000 +++ exited with 0 +++\n";

START_TEST(strace_golden)
{
    char path[512];
    write_file(dir, "s.log", strace_log, path, sizeof path);
    scim_import_result r;
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "s"), NULL, &r, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "s.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 write 0x7f0000001000 832 io=1\n"
                          "@250000 write 0x7f0000002000 4096 io=2\n"
                          "@300000 read 0x7f0000003000 16 io=3\n"
                          "@310000 write 0x7f0000004000 32 io=4\n"
                          "@800000 write 0x7f0000001000 10 io=5\n");
    free(dev);
    ck_assert_uint_eq(r.counts.unknown, 1);
    ck_assert_uint_eq(r.counts.first_unknown, 10);
    ck_assert_uint_eq(r.counts.syscalls, 7);
    ck_assert_uint_eq(r.counts.vectored, 1);
    ck_assert_uint_eq(r.counts.io_calls, 5);
    ck_assert(access(path_in(dir, "s.cpu.trace.gz"), F_OK) != 0);
    char *cfg = slurp(path_in(dir, "s.yaml"), NULL);
    ck_assert(strstr(cfg, "      - {va: 0x7f0000001000, size: 16KiB}\ndevices:\n"
                          "  dev0: {trace: s.dev.trace.gz, pasid: 1}\n") != NULL);
    ck_assert(strstr(cfg, "cpus:") == NULL);
    free(cfg);

    /* --pid: one process's calls */
    scim_import_opts o;
    scim_import_opts_default(&o);
    o.pid = 101;
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "p"), &o, &r, &err) == 0, "%s", err.msg);
    dev = trace_records(path_in(dir, "p.dev.trace.gz"));
    ck_assert_str_eq(dev, "@300000 read 0x7f0000003000 16 io=1\n");
    free(dev);
    ck_assert_uint_eq(r.counts.skipped_pid, 4);
}
END_TEST

/* -ttt and -t forms; the clock crossing midnight moves on; a resumed line
 * may come out of time order and is made non-decreasing. */
START_TEST(strace_clocks)
{
    char path[512];
    write_file(dir, "m.log",
               "23:59:59.999000 write(0x1, 0x1000, 0x1) = 0x1\n"
               "00:00:00.001000 write(0x1, 0x2000, 0x1) = 0x1\n"
               "00:00:01 read(0, 0x3000, 0x5) = 0x5\n"
               "+++ exited with 0 +++\n",
               path, sizeof path);
    scim_err err = {0};
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "m"), NULL, NULL, &err) == 0, "%s", err.msg);
    char *dev = trace_records(path_in(dir, "m.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 read 0x1000 1 io=1\n@2000000 read 0x2000 1 io=2\n@1001000000 write 0x3000 5 io=3\n");
    free(dev);
    write_file(dir, "e.log",
               "7 1701467000.500000000 read(0x3, 0x1000, 0x10 <unfinished ...>\n"
               "8 1701467000.600000 write(0x3, 0x2000, 0x10) = 0x10\n"
               "7 1701467000.700000 <... read resumed>) = 0x10\n"
               "7 1701467000.800000 +++ killed by SIGKILL +++\n",
               path, sizeof path);
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "e"), NULL, NULL, &err) == 0, "%s", err.msg);
    dev = trace_records(path_in(dir, "e.dev.trace.gz"));
    ck_assert_str_eq(dev, "@0 write 0x1000 16 io=1\n@100000000 read 0x2000 16 io=2\n");
    free(dev);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* bad logs                                                                   */

static const struct {
    scim_import_kind kind;
    const char *log, *want; /* want: the message after "DIR/bad.log" */
} bad[] = {
    /* truncated */
    {SCIM_IMPORT_LACKEY, "==1== Lackey\nI  04000000,3\n L 1000,4\n", ":3: error: the log ends without valgrind's"},
    {SCIM_IMPORT_LACKEY, "==1== Lackey\nI  04000000,3\n L 10", ":3: error: the log ends in the middle of this line"},
    {SCIM_IMPORT_STRACE, "1 10:00:00.000000 read(0x3, 0x1000, 0x10) = 0x10\n",
     ":1: error: the log ends without strace's '+++ exited"},
    {SCIM_IMPORT_LACKEY, "", ": error: the log is empty"},
    /* malformed */
    {SCIM_IMPORT_LACKEY, "I  04000000,3\n L zz,8\n", ":2:4: error: expected ADDRESS,SIZE"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\n S 1000,0\n", ":2:9: error: size must be > 0"},
    {SCIM_IMPORT_LACKEY, "I  04000000,x\n", ":1:13: error: expected a decimal size"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\nSYSCALL[1,1](0) sys_read ( 3, 0x1000 ) --> ...\n",
     ":2:38: error: read: argument 3 is missing"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\nSYSCALL[1,1](1) sys_write ( 1, buf, 10 )\n",
     ":2:32: error: write: argument 2 is not a number"},
    {SCIM_IMPORT_LACKEY, "SYSCALL[1](0) sys_read ( 3, 0x1000, 4 )\n", ":1:10: error: expected SYSCALL[PID,TID](NUMBER)"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\n L ffffffffffffffff,8\n", ":2:4: error: access wraps around"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\n L 1000,8\n==1== Exit code: 0\n", ": error: no system calls in the log"},
    {SCIM_IMPORT_LACKEY, "SYSCALL[1,1](3) sys_close ( 3 )\n==1== Exit code: 0\n", ": error: no data accesses"},
    {SCIM_IMPORT_STRACE, "read(3, 0x1000, 10) = 10\n+++ exited with 0 +++\n",
     ":1:1: error: a system call without a timestamp"},
    {SCIM_IMPORT_STRACE, "1 10:00:00.000000 read(3, \"\\177ELF\"..., 832) = 832\n",
     ":1:27: error: read: argument 2 is not a number; capture with strace -e raw=all"},
    {SCIM_IMPORT_STRACE, "1 10:00:00.000000 write(0x1, 0x1000 <unfinished ...>\n1 10:00:00.1 <... write resumed>) = 1\n",
     ":2: error: write: argument 3 is missing"},
    {SCIM_IMPORT_STRACE, "1 10:00:00.000000 read(0x3, <unfinished ...>\n"
                         "1 10:00:00.000001 <... write resumed>) = 1\n",
     ":2:24: error: 'write resumed', but process 1's unfinished call is read"},
    {SCIM_IMPORT_STRACE, "1 10:00:00.000000 read(0x3, 0xffffffffffffff00, 0x1000) = 0x10\n",
     ":1: error: buffer 0xffffffffffffff00 of 4096 bytes wraps"},
    {SCIM_IMPORT_LACKEY, "I  04000000,3\n L 10\0\n", ":2:6: error: NUL byte in the log"},
};

START_TEST(bad_logs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.log", dir);
    FILE *f = fopen(path, "wb");
    const char *log = bad[_i].log;
    size_t len = strlen(log);
    if (strstr(bad[_i].want, "NUL"))
        len += 2; /* the NUL and the newline after it */
    fwrite(log, 1, len, f);
    fclose(f);
    scim_err err = {0};
    int rc = scim_import_write(bad[_i].kind, path, path_in(dir, "out"), NULL, NULL, &err);
    ck_assert_int_eq(rc, SCIM_EPARSE);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", path, bad[_i].want);
    ck_assert_msg(!strncmp(err.msg, want, strlen(want)), "case %d: got\n  %s\nwanted it to start with\n  %s", _i,
                  err.msg, want);
    ck_assert_int_eq(dir_entries(dir), 1); /* the log alone: no output, no temporary file */
    /* the log path of the analysis reports the same error */
    scim_err e2 = {0};
    ck_assert_int_eq(scim_import_parse(bad[_i].kind, path, NULL, NULL, NULL, &e2), SCIM_EPARSE);
    ck_assert_str_eq(e2.msg, err.msg);
}
END_TEST

/* A gzip log is read as such; one cut short is an error, never a shorter log. */
START_TEST(gzip_logs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/s.log.gz", dir);
    gzFile gz = gzopen(path, "wb");
    for (int i = 0; i < 2000; i++)
        gzprintf(gz, "1 10:00:%02d.%06d read(0x3, 0x%x, 0x100) = 0x100\n", i / 1000, i % 1000 * 1000,
                 0x10000 + (i * 7919 % 4096) * 256);
    gzprintf(gz, "1 10:00:02.000000 +++ exited with 0 +++\n");
    gzclose(gz);
    scim_err err = {0};
    scim_import_result r;
    ck_assert_msg(scim_import_write(SCIM_IMPORT_STRACE, path, path_in(dir, "g"), NULL, &r, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(r.counts.io_calls, 2000);
    size_t n;
    char *all = slurp(path, &n);
    char cut[512];
    snprintf(cut, sizeof cut, "%s/cut.log.gz", dir);
    FILE *f = fopen(cut, "wb");
    fwrite(all, 1, n / 2, f);
    fclose(f);
    free(all);
    ck_assert_int_eq(scim_import_write(SCIM_IMPORT_STRACE, cut, path_in(dir, "c"), NULL, NULL, &err), SCIM_EPARSE);
    ck_assert_msg(strstr(err.msg, "corrupt or truncated gzip") != NULL, "%s", err.msg);
    ck_assert(access(path_in(dir, "c.yaml"), F_OK) != 0 && access(path_in(dir, "c.dev.trace.gz"), F_OK) != 0);
    /* a missing log, a bad clock */
    ck_assert_int_eq(
        scim_import_write(SCIM_IMPORT_LACKEY, path_in(dir, "none.log"), path_in(dir, "x"), NULL, NULL, &err),
        SCIM_EIO);
    scim_import_opts o;
    scim_import_opts_default(&o);
    o.syscall_ns = 0;
    ck_assert_int_eq(scim_import_write(SCIM_IMPORT_LACKEY, path, path_in(dir, "x"), &o, NULL, &err), SCIM_ERANGE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, lackey_golden, 0, 2);
    tcase_add_test(tc, strace_golden);
    tcase_add_test(tc, strace_clocks);
    tcase_add_loop_test(tc, bad_logs, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, gzip_logs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
