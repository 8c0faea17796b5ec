/* scimitar trace import lackey|strace LOG -o PREFIX — argv layer over the
 * importers (src/workload/import*.c). */
#include "trace_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload/import.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: scimitar trace import lackey LOG -o PREFIX [--ipns N] [--syscall-ns N] [--text] [--quiet]\n"
            "       scimitar trace import strace LOG -o PREFIX [--pid N] [--text] [--quiet]\n"
            "Writes PREFIX.dev.trace.gz (the device's transfers of every I/O system call on a buffer),\n"
            "PREFIX.cpu.trace.gz (lackey: the program's data accesses) and PREFIX.yaml (a config that\n"
            "replays them under scheme scimitar). LOG (plain or gzip) comes from\n"
            "  valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes --log-file=LOG PROGRAM\n"
            "  strace -f -tt -e trace=read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2,\n"
            "         recvfrom,sendto,recvmsg,sendmsg,recvmmsg,sendmmsg -e raw=all -o LOG PROGRAM\n"
            "options:\n"
            "  --ipns N        lackey: instructions the CPU runs per ns (default 0.05: a pace the modelled\n"
            "                  core, which has no data cache, keeps up with; docs/locality.md)\n"
            "  --syscall-ns N  lackey: ns each system call takes (default 1000, at least 1)\n"
            "  --pid N         strace: import only this process's (thread's) calls\n"
            "  --text          text traces (default binary; both gzip-compressed)\n"
            "  --quiet         print nothing but errors and warnings\n");
}

/* A whole number; false if s is not one. */
static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno)
        return false;
    *v = x;
    return true;
}

int scim_cli_positional(const char *cmd, const char *a, bool value_follows, const char **slot,
                        void (*print_usage)(FILE *))
{
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "scimitar: %s: unknown option '%s'%s\n", cmd, a,
                value_follows ? "" : " (or its value is missing)");
        print_usage(stderr);
        return 2;
    }
    if (*slot) {
        fprintf(stderr, "scimitar: %s: unexpected argument '%s'\n", cmd, a);
        return 2;
    }
    *slot = a;
    return 0;
}

/* The warnings every use of a log shares: skipped lines and calls. */
void scim_cli_import_warnings(const char *log, const scim_import_counts *c)
{
    if (c->unknown)
        fprintf(stderr, "scimitar: warning: %s: %llu unknown line%s skipped (the first is line %llu)\n", log,
                (unsigned long long)c->unknown, c->unknown == 1 ? "" : "s", (unsigned long long)c->first_unknown);
    if (c->vectored)
        fprintf(stderr, "scimitar: warning: %s: %llu vectored call%s (readv, writev, preadv, pwritev, recvmsg, "
                        "sendmsg, ...) skipped: the log does not show the buffers of an iovec array\n",
                log, (unsigned long long)c->vectored, c->vectored == 1 ? "" : "s");
}

int scim_cli_trace_import(int argc, char **argv)
{
    /* argv[0] is "import" */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    scim_import_kind kind;
    if (!scim_import_kind_parse(argv[1], &kind)) {
        fprintf(stderr, "scimitar: trace import: unknown log kind '%s'; expected lackey or strace\n", argv[1]);
        return 2;
    }
    scim_import_opts o;
    scim_import_opts_default(&o);
    const char *log = NULL, *prefix = NULL;
    bool quiet = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        char *end;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-o") && v) {
            prefix = argv[++i];
        } else if (!strcmp(a, "--ipns") && v && kind == SCIM_IMPORT_LACKEY) {
            o.ipns = strtod(v, &end);
            if (*end || !(o.ipns > 0)) {
                fprintf(stderr, "scimitar: trace import: --ipns '%s' is not a positive number\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--syscall-ns") && v && kind == SCIM_IMPORT_LACKEY) {
            if (!parse_u64(v, &o.syscall_ns) || o.syscall_ns < 1) {
                fprintf(stderr, "scimitar: trace import: --syscall-ns '%s': expected a whole number >= 1\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--pid") && v && kind == SCIM_IMPORT_STRACE) {
            if (!parse_u64(v, &n) || n > INT64_MAX) {
                fprintf(stderr, "scimitar: trace import: --pid '%s': expected a process id\n", v);
                return 2;
            }
            o.pid = (int64_t)n;
            i++;
        } else if (!strcmp(a, "--text")) {
            o.text = true;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (scim_cli_positional("trace import", a, v != NULL, &log, usage) != 0) {
            return 2;
        }
    }
    if (!log || !prefix) {
        fprintf(stderr, "scimitar: trace import %s: needs %s\n", argv[1], !log ? "a LOG" : "-o PREFIX");
        usage(stderr);
        return 2;
    }
    scim_import_result r;
    scim_err err = {0};
    if (scim_import_write(kind, log, prefix, &o, &r, &err) != 0) {
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    scim_cli_import_warnings(log, &r.counts);
    if (r.counts.io_calls == 0)
        fprintf(stderr, "scimitar: warning: %s: no I/O call on a buffer; the device trace is empty\n", log);
    if (quiet)
        return 0;
    scim_import_counts_print(kind, &r.counts, stdout);
    printf("pages.cpu: %llu\npages.device: %llu\nconfig.regions: %llu (%llu KiB)\n",
           (unsigned long long)r.cpu_pages, (unsigned long long)r.dev_pages, (unsigned long long)r.regions,
           (unsigned long long)(r.region_bytes >> 10));
    printf("wrote: %s.dev.trace.gz", prefix);
    if (kind == SCIM_IMPORT_LACKEY)
        printf(", %s.cpu.trace.gz", prefix);
    printf(", %s.yaml\n", prefix);
    return ferror(stdout) ? 1 : 0;
}
