/* scimitar trace cat|pack|convert|stats|gen|import|locality — a thin argv
 * layer over the trace library (src/core/trace_*.c). */
#include "trace_cmd.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "scimitar/trace.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: scimitar trace cat FILE [-o OUT]                 any format -> canonical text\n"
                 "       scimitar trace pack FILE -o OUT [--gzip]          any format -> binary\n"
                 "       scimitar trace convert FILE -o OUT [--format text|binary] [--gzip]\n"
                 "       scimitar trace stats FILE                         records, bytes, footprint, rate\n"
                 "       scimitar trace gen KIND [options] -o OUT          synthetic workloads (trace gen --help)\n"
                 "       scimitar trace import lackey|strace LOG -o PREFIX real programs' logs (trace import --help)\n"
                 "       scimitar trace locality DEV [--cpu-trace CPU]     I/O locality (trace locality --help)\n");
}

static int convert(const char *in, const char *out, scim_trace_format fmt, bool gzip)
{
    scim_err err = {0};
    char why[1200];
    if (cli_check_out_file(out, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar: %s\n", why);
        return 1;
    }
    scim_trace_reader *r = scim_trace_open(in, &err);
    if (!r) {
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    scim_trace_writer *w = scim_trace_create(out, fmt, gzip, &err);
    if (!w) {
        scim_trace_close(r);
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    scim_trace_rec rec;
    int rc;
    while ((rc = scim_trace_next(r, &rec, &err)) == 1)
        if ((rc = scim_trace_write(w, &rec, &err)) != 0)
            break;
    scim_trace_close(r);
    if (rc < 0) {
        scim_trace_abort(w);
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    if (scim_trace_finish(w, &err) != 0) {
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int scim_cli_trace(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gen"))
        return scim_cli_trace_gen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "import"))
        return scim_cli_trace_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "locality"))
        return scim_cli_trace_locality(argc - 1, argv + 1);
    const char *sub = argv[1], *in = NULL, *out = NULL;
    bool gzip = false;
    scim_trace_format fmt = SCIM_TRACE_TEXT;
    bool fmt_given = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--gzip")) {
            gzip = true;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "text"))
                fmt = SCIM_TRACE_TEXT;
            else if (!strcmp(f, "binary"))
                fmt = SCIM_TRACE_BINARY;
            else {
                fprintf(stderr, "scimitar: unknown trace format '%s'; expected text or binary\n", f);
                return 2;
            }
            fmt_given = true;
        } else if (cli_missing_value("scimitar", argv[i], (const char *const[]){"-o", "--format", NULL})) {
            return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "scimitar: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!in) {
            in = argv[i];
        } else {
            fprintf(stderr, "scimitar: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "scimitar: trace %s needs an input file\n", sub);
        usage(stderr);
        return 2;
    }
    if (!strcmp(sub, "cat"))
        return convert(in, out ? out : "-", SCIM_TRACE_TEXT, gzip);
    if (!strcmp(sub, "pack") || !strcmp(sub, "convert")) {
        if (!out) {
            fprintf(stderr, "scimitar: trace %s needs -o OUT\n", sub);
            return 2;
        }
        return convert(in, out, !strcmp(sub, "pack") || (fmt_given && fmt == SCIM_TRACE_BINARY)
                                    ? SCIM_TRACE_BINARY : SCIM_TRACE_TEXT, gzip);
    }
    if (!strcmp(sub, "stats")) {
        scim_trace_summary s;
        scim_err err = {0};
        if (scim_trace_summarize(in, &s, &err) != 0) {
            fprintf(stderr, "scimitar: %s\n", err.msg);
            return 1;
        }
        if (scim_trace_summary_print(&s, stdout) != 0) {
            fprintf(stderr, "scimitar: cannot write the summary of %s\n", in);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "scimitar: unknown trace command '%s'\n", sub);
    usage(stderr);
    return 2;
}
