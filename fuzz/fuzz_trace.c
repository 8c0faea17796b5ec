/* libFuzzer target: trace bytes through the real reader.
 *
 * The input is read three ways from memory (scim_trace_open_mem): as is
 * (text, binary or gzip, as sniffed), with the binary header prepended
 * (every input as a binary record stream) and with a newline prepended
 * (every input as text, even one that starts with the binary magic).
 * Every record the reader accepts must format to a text line that parses
 * back to the same record. A property violation traps.
 *
 * Built with -fsanitize=fuzzer by CMake (-DSCIM_FUZZ=ON); tests/
 * test_fuzz_corpus.c compiles this same file without libFuzzer to replay
 * fuzz/corpus/trace under the sanitizers in CI. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scimitar/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_trace_check_text(const scim_trace_rec *rec)
{
    char line[512];
    int n = scim_trace_format_rec(rec, line, sizeof line);
    if (n <= 0 || (size_t)n >= sizeof line)
        __builtin_trap();
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open_mem(line, (size_t)n, "line", &err);
    scim_trace_rec back;
    if (!r || scim_trace_next(r, &back, &err) != 1 || !scim_trace_rec_equal(rec, &back)) {
        fprintf(stderr, "accepted record does not survive text: '%s' (%s)\n", line, err.msg);
        __builtin_trap();
    }
    scim_trace_close(r);
}

static void fz_trace_read(const void *buf, size_t len)
{
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open_mem(buf, len, "fuzz.trace", &err);
    if (!r) {
        if (err.code == 0)
            __builtin_trap();
        return;
    }
    scim_trace_rec rec;
    int rc;
    uint64_t count = 0, last = 0;
    while ((rc = scim_trace_next(r, &rec, &err)) == 1 && count < 100000) {
        if (rec.size == 0 || rec.addr + rec.size - 1 < rec.addr || (unsigned)rec.op >= SCIM_OP_COUNT_ ||
            rec.line <= last)
            __builtin_trap();
        last = rec.line;
        fz_trace_check_text(&rec);
        count++;
    }
    if (rc < 0 && strlen(err.msg) == 0)
        __builtin_trap();
    (void)scim_trace_offset(r);
    scim_trace_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    fz_trace_read(data, size);
    unsigned char *buf = malloc(size + 8);
    if (!buf)
        return 0;
    memcpy(buf, "SCIMTRB\x01", 8);
    if (size)
        memcpy(buf + 8, data, size);
    fz_trace_read(buf, size + 8);
    buf[7] = '\n';
    fz_trace_read(buf + 7, size + 1);
    free(buf);
    return 0;
}
