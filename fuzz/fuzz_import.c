/* libFuzzer target: a log through both importers (valgrind lackey and
 * strace), as `scimitar trace import` reads it.
 *
 * The input is written to a file (the importers read a path, plain or
 * gzip) and parsed as each kind. Properties, any violation traps:
 *   - a failed parse has an error code and a located message
 *     ("LOG:LINE:COL: error: ..."), and a code the API documents;
 *   - a parse that succeeds sent exactly as many events to the sink as its
 *     counts say: accesses = loads + stores + modifies, I/O records =
 *     io_calls, of which io_dev_writes read-like; every record has a
 *     length and a known access kind.
 *
 * Built with -fsanitize=fuzzer by CMake (-DSCIM_FUZZ=ON); tests/
 * test_fuzz_corpus.c compiles this same file without libFuzzer to replay
 * fuzz/corpus/import under the sanitizers in CI. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_import_seen {
    uint64_t accesses, io, io_dev_writes;
} fz_import_seen;

static int fz_import_access(void *ctx, const scim_import_access *a, scim_err *err)
{
    (void)err;
    fz_import_seen *s = ctx;
    if ((a->kind != 'L' && a->kind != 'S' && a->kind != 'M') || a->size == 0)
        __builtin_trap();
    s->accesses++;
    return 0;
}

static int fz_import_io(void *ctx, const scim_import_io *io, scim_err *err)
{
    (void)err;
    fz_import_seen *s = ctx;
    if (io->size == 0 || !io->call || io->seq != s->io + 1)
        __builtin_trap();
    s->io++;
    s->io_dev_writes += io->dev_writes;
    return 0;
}

/* One file per process, rewritten for every input, removed at exit. */
static char fz_import_file[64];
static void fz_import_remove(void) { unlink(fz_import_file); }
static const char *fz_import_path(void)
{
    if (!fz_import_file[0]) {
        snprintf(fz_import_file, sizeof fz_import_file, "/tmp/scim_fuzz_import.%ld.log", (long)getpid());
        atexit(fz_import_remove);
    }
    return fz_import_file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_import_path();
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    if (fclose(f) != 0)
        return 0;
    for (int k = 0; k < 2; k++) {
        scim_import_kind kind = k ? SCIM_IMPORT_STRACE : SCIM_IMPORT_LACKEY;
        scim_import_opts o;
        scim_import_opts_default(&o);
        fz_import_seen seen = {0};
        scim_import_sink sink = {&seen, fz_import_access, fz_import_io};
        scim_import_counts c;
        memset(&c, 0, sizeof c);
        scim_err err = {0};
        int rc = scim_import_parse(kind, path, &o, &sink, &c, &err);
        if (rc != 0) {
            if (err.code != rc || rc >= 0 || !strstr(err.msg, path)) {
                fprintf(stderr, "import %d: status %d with error %d '%s'\n", k, rc, err.code, err.msg);
                __builtin_trap();
            }
            continue;
        }
        if (seen.accesses != c.loads + c.stores + c.modifies || seen.io != c.io_calls ||
            seen.io_dev_writes != c.io_dev_writes) {
            fprintf(stderr, "import %d: sink saw %llu accesses, %llu I/O; counts say %llu, %llu\n", k,
                    (unsigned long long)seen.accesses, (unsigned long long)seen.io,
                    (unsigned long long)(c.loads + c.stores + c.modifies), (unsigned long long)c.io_calls);
            __builtin_trap();
        }
    }
    return 0;
}
