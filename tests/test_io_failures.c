/* Host I/O that fails after the output file was opened: a disk that fills
 * up while a file is written (its temporary name is a symlink to
 * /dev/full, where every write that reaches the device fails with ENOSPC),
 * and a final name that a directory holds (rename(2) fails with EISDIR,
 * whoever runs the test: root included). Every writer that publishes
 * under a temporary name "<path>.tmp.<pid>" and renames it into place
 * (the configuration as run, a trace, the files of `trace import`, the
 * statistics directory) must report SCIM_EIO with the file's name and the
 * system's reason, leave no temporary file, and leave the file it would
 * have replaced as it was (the previous run's output survives a failed
 * one). test_short_writes covers the same writers into a stream that
 * fills up; these are the paths after a successful open. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/stats.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "scimitar/trace.h"
#include "workload/import.h"
#include "workload/tracegen.h"
#include "helpers/testutil.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

static const char *in_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The temporary name the library gives `path` in this process. */
static const char *tmp_of(const char *path)
{
    static char buf[600];
    snprintf(buf, sizeof buf, "%s.tmp.%ld", path, (long)getpid());
    return buf;
}

/* `path`'s temporary name leads to a full disk. */
static void full_disk_at(const char *path)
{
    const char *tmp = tmp_of(path);
    ck_assert_msg(symlink("/dev/full", tmp) == 0, "symlink %s: %s", tmp, strerror(errno));
}

/* `path`'s temporary name leads nowhere: a symlink into a directory that
 * does not exist, so opening it fails (ENOENT). */
static void nowhere_at(const char *path)
{
    const char *tmp = tmp_of(path);
    ck_assert_msg(symlink("/nonexistent-scimitar-dir/file", tmp) == 0, "symlink %s: %s", tmp, strerror(errno));
}

/* `path` is a directory with a file in it: nothing can be renamed onto it. */
static void directory_at(const char *path)
{
    ck_assert_int_eq(mkdir(path, 0777), 0);
    char keep[600];
    snprintf(keep, sizeof keep, "%s/keep", path);
    FILE *f = fopen(keep, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
}

static void put(const char *name, const char *text)
{
    char path[512];
    write_file(dir, name, text, path, sizeof path);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The names in dir, sorted, space-separated ("a b c"). */
static char *listing(void)
{
    static char out[1024];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' ' | sed 's/ $//'", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static void assert_file_is(const char *path, const char *text)
{
    char *got = slurp(path, NULL);
    ck_assert_msg(got != NULL, "%s is gone", path);
    ck_assert_str_eq(got, text);
    free(got);
}

/* ------------------------------------------------------------------------ */
/* the configuration as run (scim_sim_write_config)                          */

static scim_sim *built_sim(void)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_ptr_nonnull(sim);
    ck_assert_int_eq(scim_sim_load_string(sim,
                                          "seed: 1\n"
                                          "memory: {size: 16MiB}\n"
                                          "processes:\n"
                                          "  app: {pasid: 1, regions: [{va: 0x10000000, size: 16KiB}]}\n",
                                          "io.yaml"),
                     0);
    ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
    return sim;
}

START_TEST(config_on_a_full_disk)
{
    const char *path = in_dir("run.yaml");
    put("run.yaml", "# the previous run's\n");
    full_disk_at(path);
    scim_sim *sim = built_sim();
    ck_assert_int_eq(scim_sim_write_config(sim, path), SCIM_EIO);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), strerror(ENOSPC)) != NULL, "%s", scim_sim_errmsg(sim));
    assert_file_is(path, "# the previous run's\n");
    ck_assert_str_eq(listing(), "run.yaml");
    /* the same simulation writes it once the disk has room */
    ck_assert_int_eq(scim_sim_write_config(sim, path), 0);
    char *text = slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(text, "# The configuration as run by scimitar"));
    free(text);
    ck_assert_str_eq(listing(), "run.yaml");
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(config_name_held_by_a_directory)
{
    const char *path = in_dir("run.yaml");
    directory_at(path);
    scim_sim *sim = built_sim();
    ck_assert_int_eq(scim_sim_write_config(sim, path), SCIM_EIO);
    char want[700];
    snprintf(want, sizeof want, "could not write %s: %s", path, strerror(EISDIR));
    ck_assert_str_eq(scim_sim_errmsg(sim), want);
    ck_assert_str_eq(listing(), "run.yaml");
    ck_assert(exists(in_dir("run.yaml/keep")));
    scim_sim_destroy(sim);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* a trace (scim_trace_create ... scim_trace_finish)                         */

/* 100 reads, text or binary, gzip or not, into path. */
static int write_trace(const char *path, int variant, scim_err *err)
{
    scim_trace_writer *w = scim_trace_create(path, variant & 1 ? SCIM_TRACE_BINARY : SCIM_TRACE_TEXT,
                                             variant & 2, err);
    ck_assert_msg(w != NULL, "%s", err->msg);
    for (uint64_t i = 0; i < 100; i++) {
        scim_trace_rec r = {.timing = SCIM_TIMING_REL, .time_ns = 10, .op = SCIM_OP_READ,
                            .addr = 0x10000000 + i * 64, .size = 64};
        ck_assert_msg(scim_trace_write(w, &r, err) == 0, "%s", err->msg);
    }
    ck_assert_int_eq(scim_trace_comment(w, "done", err), 0);
    return scim_trace_finish(w, err);
}

/* loop: text/binary x plain/gzip */
START_TEST(trace_on_a_full_disk)
{
    const char *path = in_dir("t.trace");
    put("t.trace", "@0 read 0x1000 64\n");
    full_disk_at(path);
    scim_err err = {0};
    ck_assert_int_eq(write_trace(path, _i, &err), SCIM_EIO);
    ck_assert_int_eq(err.code, SCIM_EIO);
    char want[700];
    snprintf(want, sizeof want, "cannot write trace %s", path);
    ck_assert_str_eq(err.msg, want);
    assert_file_is(path, "@0 read 0x1000 64\n");
    ck_assert_str_eq(listing(), "t.trace");
    /* with room, the same records make a trace a reader reads back */
    scim_err_clear(&err);
    ck_assert_msg(write_trace(path, _i, &err) == 0, "%s", err.msg);
    scim_trace_reader *r = scim_trace_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    scim_trace_rec rec;
    int n = 0, got;
    while ((got = scim_trace_next(r, &rec, &err)) == 1)
        ck_assert_uint_eq(rec.addr, 0x10000000 + (uint64_t)n++ * 64);
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(n, 100);
    scim_trace_close(r);
}
END_TEST

/* A trace larger than the compressor's buffers: the write that makes it
 * flush fails (zlib's 8 KiB input buffer, 16 KiB of output with gzip
 * fills long before 20,000 records), then so does the comment; the
 * writer, abandoned, leaves no file. */
START_TEST(long_trace_on_a_full_disk)
{
    const char *path = in_dir("t.trace");
    full_disk_at(path);
    scim_err err = {0};
    scim_trace_writer *w =
        scim_trace_create(path, _i & 1 ? SCIM_TRACE_BINARY : SCIM_TRACE_TEXT, _i & 2, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    int rc = 0;
    uint64_t i;
    for (i = 0; i < 200000 && rc == 0; i++) {
        /* addresses that do not repeat, so that gzip cannot shrink them to nothing */
        scim_trace_rec r = {.timing = SCIM_TIMING_REL, .time_ns = i * 7919 % 1000, .op = SCIM_OP_READ,
                            .addr = 0x10000000 + (i * 2654435761u % (1u << 30)) * 64, .size = 64};
        rc = scim_trace_write(w, &r, &err);
    }
    ck_assert_int_eq(rc, SCIM_EIO);
    ck_assert_uint_gt(i, 1);
    char want[700];
    snprintf(want, sizeof want, "cannot write trace %s", path);
    ck_assert_str_eq(err.msg, want);
    if (!(_i & 1)) {
        scim_err_clear(&err);
        ck_assert_int_eq(scim_trace_comment(w, "after the failure", &err), SCIM_EIO);
        ck_assert_str_eq(err.msg, want);
    }
    scim_trace_abort(w);
    ck_assert_str_eq(listing(), "");
}
END_TEST

START_TEST(trace_name_held_by_a_directory)
{
    const char *path = in_dir("t.trace");
    directory_at(path);
    scim_err err = {0};
    ck_assert_int_eq(write_trace(path, _i, &err), SCIM_EIO);
    char want[700];
    snprintf(want, sizeof want, "cannot write trace %s: %s", path, strerror(EISDIR));
    ck_assert_str_eq(err.msg, want);
    ck_assert_str_eq(listing(), "t.trace");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* `trace import` (scim_import_write): two traces and a configuration        */

static const char *const lackey_log = "I  04000000,3\n"
                                      " L 00601000,4\n"
                                      "SYSCALL[7,1](0) sys_read ( 3, 0x601000, 5000 ) --> [async] ... \n"
                                      "SYSCALL[7,1](0) ... [async] --> Success(0x1388) \n"
                                      "I  04000003,4\n"
                                      " S 00603000,8\n"
                                      "==7== Exit code:       0\n";

/* Each of the three outputs fails in turn (full disk) and then has its
 * name held by a directory: the import fails naming it, and none of the
 * outputs is left (the ones published before the failure are removed
 * again), only the log and the directory in the way. */
START_TEST(import_outputs_fail_one_by_one)
{
    static const struct {
        const char *output;
        bool full; /* full disk, else a directory at the final name */
        const char *msg; /* %s: the output's path (its temporary name for the configuration's write) */
    } cases[] = {
        {"x.yaml", true, "cannot write %s"},
        {"x.yaml", false, "cannot rename %s"},
        {"x.dev.trace.gz", true, "cannot write trace %s"},
        {"x.dev.trace.gz", false, "cannot write trace %s: Is a directory"},
        {"x.cpu.trace.gz", true, "cannot write trace %s"},
        {"x.cpu.trace.gz", false, "cannot write trace %s: Is a directory"},
    };
    const char *out = cases[_i].output, *path = in_dir(out);
    put("a.log", lackey_log);
    char want[800], listed[200];
    if (cases[_i].full) {
        full_disk_at(path);
        snprintf(want, sizeof want, cases[_i].msg, strstr(out, "yaml") ? tmp_of(path) : path);
        snprintf(listed, sizeof listed, "a.log");
    } else {
        directory_at(path);
        if (strstr(out, "yaml"))
            snprintf(want, sizeof want, cases[_i].msg, tmp_of(path));
        else
            snprintf(want, sizeof want, cases[_i].msg, path);
        snprintf(listed, sizeof listed, "a.log %s", out);
    }
    if (strstr(out, "yaml") && !cases[_i].full) {
        /* "cannot rename TMP to FINAL" */
        snprintf(want + strlen(want), sizeof want - strlen(want), " to %s", path);
    }
    scim_import_opts o;
    scim_import_opts_default(&o);
    scim_err err = {0};
    int rc = scim_import_write(SCIM_IMPORT_LACKEY, in_dir("a.log"), in_dir("x"), &o, NULL, &err);
    ck_assert_msg(rc == SCIM_EIO, "%s: %s", scim_status_name(rc), err.msg);
    ck_assert_str_eq(err.msg, want);
    /* ls sorts: "a.log x.cpu..." etc. */
    ck_assert_str_eq(listing(), listed);
    /* nothing in the way: all three, and the configuration runs */
    if (cases[_i].full) {
        scim_err_clear(&err);
        scim_import_result r;
        ck_assert_msg(scim_import_write(SCIM_IMPORT_LACKEY, in_dir("a.log"), in_dir("x"), &o, &r, &err) == 0, "%s",
                      err.msg);
        ck_assert_str_eq(listing(), "a.log x.cpu.trace.gz x.dev.trace.gz x.yaml");
        ck_assert_uint_eq(r.counts.io_calls, 1);
    }
}
END_TEST

/* The configuration's temporary file cannot be created: the import fails
 * naming it, and neither trace is published. */
START_TEST(import_config_cannot_be_created)
{
    const char *path = in_dir("x.yaml");
    put("a.log", lackey_log);
    nowhere_at(path);
    scim_err err = {0};
    int rc = scim_import_write(SCIM_IMPORT_LACKEY, in_dir("a.log"), in_dir("x"), NULL, NULL, &err);
    ck_assert_msg(rc == SCIM_EIO, "%s: %s", scim_status_name(rc), err.msg);
    char want[700], listed[200];
    snprintf(want, sizeof want, "cannot create %s", tmp_of(path));
    ck_assert_str_eq(err.msg, want);
    /* only the log and the test's own symlink */
    snprintf(listed, sizeof listed, "a.log %s", strrchr(tmp_of(path), '/') + 1);
    ck_assert_str_eq(listing(), listed);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* `trace gen` (scim_tracegen_write): a NIC's trace and one CPU trace per   */
/* tenant, the device trace published last                                  */

static int tracegen(const char *count, scim_err *err)
{
    char dev[512], cpu[512];
    snprintf(dev, sizeof dev, "%s/g.trace", dir);
    snprintf(cpu, sizeof cpu, "%s/g.cpu%%t.trace", dir);
    const scim_tracegen_opt opts[] = {{"count", count}, {"tenants", "2"}};
    scim_tracegen_output o = {dev, cpu, SCIM_TRACE_TEXT, SCIM_TRACE_TEXT, false, false};
    return scim_tracegen_write("nic-rx", opts, 2, &o, NULL, err);
}

/* Each output in turn: tenant 1's CPU trace on a full disk (tenant 0's,
 * already in place, is removed again), the device trace on a full disk
 * (20,000 packets: the writes fail before the end), tenant 0's CPU trace
 * that cannot be created. Nothing is left but what the test put there. */
START_TEST(tracegen_outputs_fail)
{
    static const struct {
        const char *file, *count;
        bool full;
        const char *reason; /* after "cannot write trace PATH" */
    } cases[] = {
        {"g.cpu1.trace", "16", true, ""},
        {"g.trace", "20000", true, ""},
        {"g.cpu0.trace", "16", false, ": No such file or directory"},
    };
    const char *path = in_dir(cases[_i].file);
    if (cases[_i].full)
        full_disk_at(path);
    else
        nowhere_at(path);
    scim_err err = {0};
    int rc = tracegen(cases[_i].count, &err);
    ck_assert_msg(rc == SCIM_EIO, "%s: %s", scim_status_name(rc), err.msg);
    char want[700];
    snprintf(want, sizeof want, "cannot write trace %s%s", path, cases[_i].reason);
    ck_assert_str_eq(err.msg, want);
    /* a failed finish removes the temporary name; a failed open leaves it */
    char listed[200] = "";
    if (!cases[_i].full || strcmp(cases[_i].file, "g.trace") == 0)
        snprintf(listed, sizeof listed, "%s", cases[_i].full ? "" : strrchr(tmp_of(path), '/') + 1);
    ck_assert_str_eq(listing(), listed);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the statistics directory                                                  */

/* The JSON's and then the CSV's temporary name on a full disk: the error
 * names the file and ENOSPC, the previous run's pair stays as it was. */
START_TEST(statistics_on_a_full_disk)
{
    scim_sim *sim = built_sim();
    ck_assert_int_eq(scim_sim_run(sim), 0);
    const scim_stats *st = scim_sim_stats(sim);
    put("stats.json", "old json\n");
    put("stats.csv", "old csv\n");
    const char *file = _i ? "stats.csv" : "stats.json";
    full_disk_at(in_dir(file));
    scim_err err = {0};
    ck_assert_int_eq(scim_stats_write_dir(st, dir, &err), SCIM_EIO);
    char want[700];
    snprintf(want, sizeof want, "could not write %s: %s", in_dir(file), strerror(ENOSPC));
    ck_assert_str_eq(err.msg, want);
    assert_file_is(in_dir("stats.json"), "old json\n");
    assert_file_is(in_dir("stats.csv"), "old csv\n");
    ck_assert_str_eq(listing(), "stats.csv stats.json");
    scim_sim_destroy(sim);
}
END_TEST

/* The JSON's temporary file cannot be created: the error names the JSON
 * and the reason; the CSV is not written either. */
START_TEST(statistics_cannot_be_created)
{
    scim_sim *sim = built_sim();
    ck_assert_int_eq(scim_sim_run(sim), 0);
    nowhere_at(in_dir("stats.json"));
    scim_err err = {0};
    ck_assert_int_eq(scim_stats_write_dir(scim_sim_stats(sim), dir, &err), SCIM_EIO);
    char want[700];
    snprintf(want, sizeof want, "could not write %s: %s", in_dir("stats.json"), strerror(ENOENT));
    ck_assert_str_eq(err.msg, want);
    /* the temporary name goes too (the test's symlink, here) */
    ck_assert_str_eq(listing(), "");
    scim_sim_destroy(sim);
}
END_TEST

static Suite *io_failures_suite(void)
{
    Suite *s = suite_create("io_failures");
    TCase *tc = tcase_create("writers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_on_a_full_disk);
    tcase_add_test(tc, config_name_held_by_a_directory);
    tcase_add_loop_test(tc, trace_on_a_full_disk, 0, 4);
    tcase_add_loop_test(tc, long_trace_on_a_full_disk, 0, 4);
    tcase_add_loop_test(tc, trace_name_held_by_a_directory, 0, 4);
    tcase_add_loop_test(tc, import_outputs_fail_one_by_one, 0, 6);
    tcase_add_test(tc, import_config_cannot_be_created);
    tcase_add_loop_test(tc, tracegen_outputs_fail, 0, 3);
    tcase_add_loop_test(tc, statistics_on_a_full_disk, 0, 2);
    tcase_add_test(tc, statistics_cannot_be_created);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(io_failures_suite()); }
