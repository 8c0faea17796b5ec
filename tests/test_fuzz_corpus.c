/* Replays the fuzz corpora (fuzz/corpus/config, trace, cli, import) through
 * the fuzz targets' own entry functions, compiled here without libFuzzer,
 * so that every saved input (seeds and crash regressions) runs under the
 * sanitizers in CI without clang. Each file is its own forked run. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_trace_one
#include "../fuzz/fuzz_trace.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cli_one
#include "../fuzz/fuzz_cli.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_import_one
#include "../fuzz/fuzz_import.c"
#include "helpers/testutil.h"
#undef LLVMFuzzerTestOneInput

typedef int (*entry_fn)(const uint8_t *data, size_t size);

static int replay_dir(const char *sub, entry_fn fn)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", SCIM_SOURCE_DIR, sub);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no corpus directory %s", dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        ck_assert_msg(len >= 0 && len <= (1 << 20), "%s: bad size", path);
        /* exactly len bytes, so that ASan sees any read past the input */
        uint8_t *buf = malloc(len ? (size_t)len : 1);
        ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        fprintf(stderr, "replaying %s (%ld bytes)\n", path, len);
        fn(buf, (size_t)len);
        free(buf);
        files++;
    }
    closedir(d);
    return files;
}

START_TEST(test_config_corpus) { ck_assert_int_ge(replay_dir("config", fuzz_config_one), 5); }
END_TEST

START_TEST(test_trace_corpus) { ck_assert_int_ge(replay_dir("trace", fuzz_trace_one), 5); }
END_TEST

START_TEST(test_cli_corpus) { ck_assert_int_ge(replay_dir("cli", fuzz_cli_one), 5); }
END_TEST

START_TEST(test_import_corpus) { ck_assert_int_ge(replay_dir("import", fuzz_import_one), 5); }
END_TEST

/* The targets on a few inputs no corpus file holds: empty, one byte, NULs. */
START_TEST(test_degenerate_inputs)
{
    static const uint8_t nul[16] = {0};
    static const uint8_t one[1] = {'+'};
    fuzz_config_one(nul, 0);
    fuzz_config_one(nul, sizeof nul);
    fuzz_config_one(one, 1);
    fuzz_trace_one(nul, 0);
    fuzz_trace_one(nul, sizeof nul);
    fuzz_trace_one(one, 1);
    fuzz_cli_one(nul, 0);
    fuzz_cli_one(nul, sizeof nul);
    fuzz_cli_one(one, 1);
    fuzz_cli_one((const uint8_t *)"--set ", 6);
    fuzz_cli_one((const uint8_t *)"--set \n--set x=1", 16);
    fuzz_import_one(nul, 0);
    fuzz_import_one(nul, sizeof nul);
    fuzz_import_one(one, 1);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("fuzz_corpus");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_config_corpus);
    tcase_add_test(tc, test_trace_corpus);
    tcase_add_test(tc, test_cli_corpus);
    tcase_add_test(tc, test_import_corpus);
    tcase_add_test(tc, test_degenerate_inputs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(corpus_suite()); }
