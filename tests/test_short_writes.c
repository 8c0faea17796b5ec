/* Output that does not fit: every writer of the library (statistics as
 * JSON, CSV and Markdown, the configuration dump and reference, the trace
 * summary, the generated docs) into a stream that holds only the first n
 * bytes, for every n short of the whole output (every n up to 1 KiB, then
 * a few hundred spread over the rest): each must report an error, SCIM_EIO
 * with a message where it takes an error object, and what reached the
 * stream must be the start of the full output. With room for all of it,
 * it succeeds with the full output. The reference is the writer's own
 * output into an unbounded stream. Also the statistics directory: its
 * files cannot be renamed into place, or the directory cannot be made. */
#define _GNU_SOURCE /* fopencookie */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/stats.h"
#include "helpers/simtest.h"
#include "scimitar/trace.h"
#include "sim/sim.h"
#include "helpers/testutil.h"

/* A stream into buf that takes `room` bytes and fails every write after
 * (a full disk): a short write, then errors. */
typedef struct limited {
    char *buf;
    size_t used, room;
} limited;

static ssize_t limited_write(void *cookie, const char *data, size_t n)
{
    limited *l = cookie;
    size_t take = n < l->room - l->used ? n : l->room - l->used;
    memcpy(l->buf + l->used, data, take);
    l->used += take;
    if (take < n)
        errno = ENOSPC;
    return take ? (ssize_t)take : -1;
}

/* A writer under test: returns 0 or an error code; err may be NULL when the
 * writer takes none. */
typedef int (*writer_fn)(FILE *out, scim_err *err);

static void every_short_stream(const char *what, writer_fn fn, bool has_err)
{
    char *ref = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&ref, &len);
    ck_assert_ptr_nonnull(m);
    scim_err err = {0};
    int rc = fn(m, &err);
    ck_assert_int_eq(fclose(m), 0);
    ck_assert_msg(rc == 0, "%s into an unbounded stream: %s", what, err.msg);
    ck_assert_msg(len > 16, "%s wrote only %zu bytes", what, len);
    char *buf = malloc(len + 2);
    ck_assert_ptr_nonnull(buf);
    for (size_t room = 0;;) {
        memset(buf, 0, len + 2);
        limited l = {buf, 0, room};
        FILE *f = fopencookie(&l, "w", (cookie_io_functions_t){.write = limited_write});
        ck_assert_ptr_nonnull(f);
        setvbuf(f, NULL, _IONBF, 0); /* every write meets the limit at once */
        scim_err e = {0};
        rc = fn(f, &e);
        fclose(f);
        if (room < len) {
            ck_assert_msg(rc != 0, "%s: a stream with room for %zu of %zu bytes, and no error", what, room, len);
            if (has_err)
                ck_assert_msg(rc == SCIM_EIO && e.code == SCIM_EIO && e.msg[0],
                              "%s: room for %zu of %zu bytes: %s (%s) instead of SCIM_EIO", what, room, len,
                              scim_status_name(rc), e.msg);
            else
                ck_assert_msg(rc == SCIM_EIO, "%s: room for %zu of %zu bytes: %s instead of SCIM_EIO", what, room,
                              len, scim_status_name(rc));
        } else {
            ck_assert_msg(rc == 0, "%s with room for all %zu bytes: %s", what, len, e.msg);
        }
        size_t got = room < len ? room : len;
        ck_assert_msg(memcmp(buf, ref, got) == 0, "%s: room for %zu bytes: not the start of the output", what, room);
        if (room == len)
            break;
        size_t next = room < 1024 || room + 64 >= len ? room + 1 : room + len / 300 + 1;
        room = next < len ? next : len;
    }
    free(buf);
    free(ref);
}

/* ------------------------------------------------------------------------ */
/* the writers                                                              */

typedef struct comp {
    uint64_t hits, misses;
    scim_hist *lat;
} comp;

/* units and descriptions that need quoting in CSV and escaping in Markdown */
static const scim_stat_decl decls[] = {
    {"hits", SCIM_STAT_COUNTER, "count", "lookups that hit", offsetof(comp, hits)},
    {"misses", SCIM_STAT_COUNTER, "\"misses\", per lookup", "lookups | that miss\nover two lines",
     offsetof(comp, misses)},
    {"latency", SCIM_STAT_HIST, "ps", "time from request to response", offsetof(comp, lat)},
};

static scim_stats *stats;
static comp comps[2];

static void stats_setup(void)
{
    stats = scim_stats_create();
    ck_assert_ptr_nonnull(stats);
    scim_err err = {0};
    ck_assert_int_eq(scim_stats_register(stats, "nic0.iotlb", decls, 3, &comps[0], &err), 0);
    ck_assert_int_eq(scim_stats_register(stats, "nic1.iotlb", decls, 3, &comps[1], &err), 0);
    for (uint64_t v = 1; v < 100000; v = v * 5 + 3) {
        comps[0].hits += v;
        comps[1].misses += v / 3;
        scim_hist_record(comps[0].lat, v);
        scim_hist_record(comps[1].lat, v * 7);
    }
}

static void stats_teardown(void) { scim_stats_destroy(stats); }

static int stats_json(FILE *out, scim_err *err) { return scim_stats_write_json(stats, out, err); }
static int stats_csv(FILE *out, scim_err *err) { return scim_stats_write_csv(stats, out, err); }
static int stats_doc(FILE *out, scim_err *err) { return scim_stats_doc_markdown(out, "<device>.iotlb", decls, 3); }

static const char *const policies[] = {"lru", "fifo", NULL};
typedef struct params {
    uint64_t entries;
    int policy;
} params;
static const scim_param_decl params_decls[] = {
    {"entries", SCIM_P_U64, "64", "entries", true, 1, 65536, NULL, offsetof(params, entries),
     "IOTLB entries | per device", "PCIe ATS spec"},
    {"policy", SCIM_P_ENUM, "lru", NULL, false, 0, 0, policies, offsetof(params, policy), "Replacement.", NULL},
    {"latency", SCIM_P_TIME, NULL, "ns", false, 0, 0, NULL, 0, "Lookup time.", NULL},
    {"walker", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, 0, "A sub-tree.", NULL},
};

static int cfg_doc(FILE *out, scim_err *err) { return scim_cfg_doc_markdown(out, "devices.<name>.", params_decls, 4); }

static const char yaml[] = "seed: 1\n"
                           "name: \"quote \\\" and \\\\ backslash\"\n"
                           "empty: ''\n"
                           "nothing: ~\n"
                           "unicode: \"caf\\u00e9 \\u2028 line\"\n"
                           "list: [1, 'two words', {a: b}]\n"
                           "nested: {x: {y: [[1, 2], []], z: {}}}\n";

static int cfg_dump(FILE *out, scim_err *err)
{
    scim_err e = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, strlen(yaml), "dump.yaml", &e);
    ck_assert_msg(cfg != NULL, "%s", e.msg);
    int rc = scim_cfg_dump(cfg, out, err);
    scim_cfg_destroy(cfg);
    return rc;
}

static scim_trace_summary summary;
static int trace_summary(FILE *out, scim_err *err) { return scim_trace_summary_print(&summary, out); }

static int doc_config(FILE *out, scim_err *err) { return scim_doc_config(out); }
static int doc_stats(FILE *out, scim_err *err) { return scim_doc_stats(out); }

START_TEST(statistics_json) { every_short_stream("scim_stats_write_json", stats_json, true); }
END_TEST
START_TEST(statistics_csv) { every_short_stream("scim_stats_write_csv", stats_csv, true); }
END_TEST
START_TEST(statistics_markdown) { every_short_stream("scim_stats_doc_markdown", stats_doc, false); }
END_TEST
START_TEST(configuration_dump) { every_short_stream("scim_cfg_dump", cfg_dump, true); }
END_TEST
START_TEST(configuration_markdown) { every_short_stream("scim_cfg_doc_markdown", cfg_doc, false); }
END_TEST
START_TEST(trace_summary_text)
{
    static const char text[] = "@100 mmap 0x7f0000200000 0x10000 prot=rw\n"
                               "+50 write 0x7f0000200ff0 32\n"
                               "@1000 read 0x7f0000400000 4096\n";
    char dir[256], path[300];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "s.trace", text, path, sizeof path);
    scim_err e = {0};
    ck_assert_int_eq(scim_trace_summarize(path, &summary, &e), 0);
    tmpdir_remove(dir);
    every_short_stream("scim_trace_summary_print", trace_summary, false);
}
END_TEST
START_TEST(generated_docs)
{
    every_short_stream("scim_doc_config", doc_config, false);
    every_short_stream("scim_doc_stats", doc_stats, false);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the statistics directory                                                  */

START_TEST(statistics_directory_errors)
{
    char dir[256], path[400];
    tmpdir_make(dir, sizeof dir);
    scim_err err = {0};
    /* the JSON's final name is taken by a directory: the rename fails, the
     * temporary files go, the error names the file */
    snprintf(path, sizeof path, "%s/out/stats.json", dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub' && touch '%s/sub/keep'", path, path);
    ck_assert_int_eq(run_cmd(cmd), 0);
    snprintf(path, sizeof path, "%s/out", dir);
    ck_assert_int_eq(scim_stats_write_dir(stats, path, &err), SCIM_EIO);
    ck_assert_msg(strstr(err.msg, "stats.json") != NULL, "%s", err.msg);
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s/out')\" = stats.json", dir);
    ck_assert_msg(run_cmd(cmd) == 0, "temporary files left in %s/out", dir);
    /* the CSV's name is taken: the JSON is in place, the CSV is not, no
     * temporary file is left */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/out2/stats.csv/sub'", dir);
    ck_assert_int_eq(run_cmd(cmd), 0);
    snprintf(path, sizeof path, "%s/out2", dir);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(stats, path, &err), SCIM_EIO);
    ck_assert_msg(strstr(err.msg, "stats.csv") != NULL, "%s", err.msg);
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s/out2' | tr '\\n' ' ')\" = 'stats.csv stats.json '", dir);
    ck_assert_msg(run_cmd(cmd) == 0, "unexpected files in %s/out2", dir);
    /* a path through a regular file cannot become a directory */
    write_file(dir, "plain", "x", path, sizeof path);
    snprintf(path, sizeof path, "%s/plain/deeper/still", dir);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(stats, path, &err), SCIM_EIO);
    ck_assert_msg(strstr(err.msg, "cannot create directory") && strstr(err.msg, "Not a directory"), "%s", err.msg);
    snprintf(path, sizeof path, "%s/plain", dir);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(stats, path, &err), SCIM_EIO);
    ck_assert_msg(strstr(err.msg, "Not a directory"), "%s", err.msg);
    /* no directory name, or no registry */
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(stats, "", &err), SCIM_EINVAL);
    scim_err_clear(&err);
    ck_assert_int_eq(scim_stats_write_dir(NULL, dir, &err), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_write_json(NULL, stdout, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_stats_write_csv(stats, NULL, NULL), SCIM_EINVAL);
    /* trailing slashes name the same directory */
    snprintf(path, sizeof path, "%s/out3///", dir);
    ck_assert_int_eq(scim_stats_write_dir(stats, path, &err), 0);
    snprintf(path, sizeof path, "%s/out3/stats.csv", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    tmpdir_remove(dir);
}
END_TEST

static Suite *short_writes_suite(void)
{
    Suite *s = suite_create("short_writes");
    TCase *tc = tcase_create("writers");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, stats_setup, stats_teardown);
    tcase_add_test(tc, statistics_json);
    tcase_add_test(tc, statistics_csv);
    tcase_add_test(tc, statistics_markdown);
    tcase_add_test(tc, configuration_dump);
    tcase_add_test(tc, configuration_markdown);
    tcase_add_test(tc, trace_summary_text);
    tcase_add_test(tc, generated_docs);
    tcase_add_test(tc, statistics_directory_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(short_writes_suite()); }
